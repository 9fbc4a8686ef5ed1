//! The synthetic session the sim stand-in drives for rFactor 1 and
//! Automobilista: rFactor 2's three cars at Spa
//! ([`crate::titles::rf2::synthetic`]) in the plugin's page, on a clock of
//! 1 ms a frame so that the model's `update` (the session clock in ms) is
//! the frame number. The page keeps the clock in an `f32`: whole ms for
//! the first hour of a session, which is all any test runs.
use super::{SHARED, Shared, Vehicle, Wheel};
use crate::model::{Flag, Session, Status, Telemetry};
use crate::scenario::{Publish, Scenario, Update};
use crate::titles::rf2::synthetic::{
    Clock, DRIVER, END_ET, LAP_S, MAX_LAPS, MAX_RPM, PLAYER_ID, TRACK, car, info, same_json,
    scoring, scoring_order,
};

/// Seconds a frame.
pub const DT: f64 = 0.001;
/// The lap's length, metres.
const TRACK_M: f64 = 7004.0;

fn clock(n: u32) -> Clock {
    Clock { n, dt: DT }
}

/// The vehicle `id` as the plugin lists it.
pub fn vehicle(c: Clock, id: i32) -> Vehicle {
    let s = scoring(c, id);
    let ahead = if id == PLAYER_ID { 0.0 } else { 0.25 };
    Vehicle {
        driver_name: s.driver_name,
        total_laps: s.total_laps,
        sector: s.sector,
        finish_status: s.finish_status,
        lap_dist: ((c.elapsed() / LAP_S + ahead).fract() * TRACK_M) as f32,
        best_lap_time: s.best_lap_time as f32,
        last_lap_time: s.last_lap_time as f32,
        num_penalties: s.num_penalties,
        is_player: s.is_player,
        control: s.control,
        in_pits: s.in_pits,
        place: s.place,
        vehicle_class: s.vehicle_class,
    }
}

/// The page as the family shows it, at frame `n`.
pub fn shared(n: u32) -> Shared {
    let c = clock(n);
    let me = car(c, PLAYER_ID);
    let session = info(c);
    let [x, y, z] = me.local_vel;
    Shared {
        version: "3.0.0.0".into(),
        delta_time: (c.elapsed() % 0.5) as f32,
        lap_number: me.lap_number,
        lap_start_et: me.lap_start_et as f32,
        track_name: TRACK.into(),
        local_vel: me.local_vel.map(|v| v as f32),
        speed: (x * x + y * y + z * z).sqrt() as f32,
        gear: me.gear,
        engine_rpm: me.engine_rpm as f32,
        engine_water_temp: me.engine_water_temp as f32,
        engine_oil_temp: me.engine_oil_temp as f32,
        unfiltered_throttle: me.unfiltered_throttle as f32,
        unfiltered_brake: me.unfiltered_brake as f32,
        unfiltered_steering: me.unfiltered_steering as f32,
        unfiltered_clutch: me.unfiltered_clutch as f32,
        fuel: me.fuel as f32,
        engine_max_rpm: me.engine_max_rpm as f32,
        // rFactor gives °C: the same tyres as rFactor 2's, less 273.15.
        wheels: me.wheels.map(|w| Wheel {
            brake_temp: 420.0,
            pressure: w.pressure_kpa as f32,
            temperature: w.temperature_k.map(|k| (k - 273.15) as f32),
            wear: 0.97,
            flat: false,
            detached: false,
        }),
        session: session.session,
        current_et: session.current_et as f32,
        end_et: session.end_et as f32,
        max_laps: session.max_laps,
        num_vehicles: session.num_vehicles,
        game_phase: session.game_phase,
        yellow_flag_state: session.yellow_flag_state,
        sector_flag: session.sector_flag,
        in_realtime: session.in_realtime,
        player_name: session.player_name,
        player: Some(vehicle(c, PLAYER_ID)),
    }
}

/// The session as a [`Scenario`].
pub static SESSION: Rf1Session = Rf1Session;

/// The rFactor 1 family's known session.
#[derive(Debug)]
pub struct Rf1Session;

impl Scenario for Rf1Session {
    fn frame(&self, n: u32) -> Vec<Update> {
        let vehicles = scoring_order().map(|id| vehicle(clock(n), id));
        vec![Update {
            file: SHARED,
            bytes: shared(n).encode(&vehicles),
            publish: Publish::Plain,
        }]
    }

    fn expected(&self, n: u32) -> Telemetry {
        let s = shared(n);
        let me = vehicle(clock(n), PLAYER_ID);
        let laps = i32::from(me.total_laps);
        let local_yellow = s.sector_flag.iter().any(|&f| f != 0);
        Telemetry {
            car: None,
            track: Some(TRACK.into()),
            driver: Some(DRIVER.into()),
            session: Some(Session {
                kind: Some("race".into()),
                time_left_s: Some((END_ET as f32 - s.current_et).max(0.0)),
                laps_left: Some((MAX_LAPS - laps).max(0)),
            }),
            status: Some(Status::Live),
            speed_kmh: Some((f64::from(s.speed) * 3.6) as f32),
            rpm: Some(s.engine_rpm.round() as i32),
            max_rpm: Some(MAX_RPM as i32),
            gear: Some(s.gear),
            throttle: Some(s.unfiltered_throttle),
            brake: Some(s.unfiltered_brake),
            clutch: Some(0.0),
            steering: Some(s.unfiltered_steering),
            fuel_l: Some(s.fuel),
            fuel_capacity_l: None,
            lap: Some(laps + 1),
            position: Some(i32::from(me.place)),
            cars: Some(3),
            lap_time_ms: Some(
                ((f64::from(s.current_et) - f64::from(s.lap_start_et)) * 1000.0).round() as i64,
            ),
            last_lap_ms: (laps > 0).then_some(100_000),
            best_lap_ms: (laps > 0).then_some(100_000),
            tyre_temps_c: Some(
                s.wheels
                    .map(|w| (w.temperature.iter().map(|&t| f64::from(t)).sum::<f64>() / 3.0) as f32),
            ),
            tyre_pressures_kpa: Some(s.wheels.map(|w| w.pressure)),
            flags: Some(vec![if local_yellow {
                Flag::Yellow
            } else {
                Flag::Green
            }]),
            update: Some(i64::from(n)),
            title: None,
        }
    }

    fn check_page(&self, label: &str, page: &serde_json::Value) -> Result<(), String> {
        if label != "shared" {
            return Err(format!("no page {label}"));
        }
        let et = page["current_et"].as_f64().ok_or("no current_et")?;
        let n = u32::try_from((et * 1000.0).round() as i64)
            .map_err(|_| format!("current_et {et} is no frame's"))?;
        same_json(page, &shared(n))
    }
}
