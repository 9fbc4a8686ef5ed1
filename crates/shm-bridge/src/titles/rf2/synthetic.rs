//! The synthetic session the sim stand-in drives for rFactor 2: three cars
//! at Spa, the player's second in both buffers' lists (so that it spans
//! the middle of what the torn writer writes). Every value is a pure
//! function of the session clock, which Le Mans Ultimate's session shares
//! at another rate: its records are the same.
use super::isi::{ScoringInfo, VehicleScoring, VehicleTelemetry, Wheel};
use super::{SCORING, ScoringBuffer, TELEMETRY, TelemetryBuffer};
use crate::model::{Flag, Session, Status, Telemetry};
use crate::scenario::{Publish, Scenario, Update, json_differences};

/// Seconds between rFactor 2's telemetry updates (50 Hz).
pub const DT: f64 = 0.02;
/// Every lap takes this long, seconds.
pub const LAP_S: f64 = 100.0;
/// When the race ends, session seconds.
pub const END_ET: f64 = 3600.0;
/// The race's laps.
pub const MAX_LAPS: i32 = 40;
/// The player's slot id.
pub const PLAYER_ID: i32 = 7;
/// The others' slot ids, in scoring's order around the player.
const OTHERS: [i32; 2] = [3, 12];
/// The player's car.
pub const CAR: &str = "Porsche 911 GT3 R #92";
/// The track.
pub const TRACK: &str = "Circuit de Spa-Francorchamps";
/// The player.
pub const DRIVER: &str = "Demo Driver";
/// The rev limit, rpm.
pub const MAX_RPM: f64 = 8800.0;
/// The tank, litres.
pub const TANK_L: f64 = 110.0;

/// A moment of the session: frame `n`, at `dt` seconds a frame.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// The frame.
    pub n: u32,
    /// Seconds a frame.
    pub dt: f64,
}

impl Clock {
    /// Session seconds.
    pub fn elapsed(self) -> f64 {
        f64::from(self.n) * self.dt
    }

    /// Laps completed.
    pub fn laps(self) -> i16 {
        i16::try_from((self.elapsed() / LAP_S) as i64).unwrap_or(i16::MAX)
    }

    /// Which 10 s stretch of straight and corner it is in.
    fn cycle(self) -> i64 {
        (self.elapsed() / 10.0) as i64
    }
}

/// Forward speed (m/s), throttle, brake and steering `t` seconds into a
/// 10 s stretch: a straight, braking, a corner.
fn drive(t: f64) -> (f64, f64, f64, f64) {
    if t < 8.0 {
        (22.0 + t * 6.0, 1.0, 0.0, 0.02)
    } else if t < 9.0 {
        (70.0 - (t - 8.0) * 48.0, 0.0, 0.9, -0.3)
    } else {
        (22.0, 0.45, 0.0, -0.3)
    }
}

/// The telemetry of the car `id` (others run 3 s behind the player).
pub fn car(clock: Clock, id: i32) -> VehicleTelemetry {
    let lag = if id == PLAYER_ID { 0.0 } else { 3.0 };
    let elapsed = clock.elapsed();
    let t = (elapsed + lag).rem_euclid(10.0);
    let (speed, throttle, brake, steering) = drive(t);
    let corner = |i: usize| i as f64;
    VehicleTelemetry {
        id,
        delta_time: clock.dt,
        elapsed_time: elapsed,
        lap_number: i32::from(clock.laps()) + 1,
        lap_start_et: f64::from(clock.laps()) * LAP_S,
        vehicle_name: if id == PLAYER_ID {
            CAR.into()
        } else {
            format!("Ferrari 296 GT3 #{id}")
        },
        track_name: TRACK.into(),
        local_vel: [0.1, 0.0, -speed],
        gear: 1 + (speed / 14.0).clamp(0.0, 5.0) as i32,
        engine_rpm: 4000.0 + (speed * 83.0) % 4500.0,
        engine_water_temp: 88.0,
        engine_oil_temp: 95.0 + t,
        unfiltered_throttle: throttle,
        unfiltered_brake: brake,
        unfiltered_steering: steering,
        unfiltered_clutch: 0.0,
        fuel: 90.0 - elapsed * 0.002,
        engine_max_rpm: MAX_RPM,
        fuel_capacity: TANK_L,
        wheels: std::array::from_fn(|i| Wheel {
            pressure_kpa: 171.0 + corner(i) + t * 0.1,
            temperature_k: [350.0 + t, 351.0 + t, 352.0 + t],
            carcass_temperature_k: 353.15 + corner(i) + t * 0.5,
            inner_layer_temperature_k: [355.0, 356.0, 357.0],
        }),
    }
}

/// The player's sector: 1, 2, then 0 (sector 3), by thirds of the lap.
fn sector(clock: Clock) -> i8 {
    match (clock.elapsed() % LAP_S / (LAP_S / 3.0)) as i32 {
        0 => 1,
        1 => 2,
        _ => 0,
    }
}

/// The scoring of the car `id`.
pub fn scoring(clock: Clock, id: i32) -> VehicleScoring {
    let laps = clock.laps();
    let player = id == PLAYER_ID;
    let lap_time = if laps > 0 { LAP_S } else { 0.0 };
    VehicleScoring {
        id,
        driver_name: if player {
            DRIVER.into()
        } else {
            format!("Rival {id}")
        },
        vehicle_name: car(clock, id).vehicle_name,
        total_laps: laps,
        sector: sector(clock),
        finish_status: 0,
        best_lap_time: lap_time,
        last_lap_time: lap_time,
        num_penalties: 0,
        is_player: player,
        control: if player { 0 } else { 1 },
        in_pits: false,
        place: if player { 3 + (laps % 3) as u8 } else { 1 },
        vehicle_class: "GT3".into(),
        // Blue for one stretch in five.
        flag: if player && clock.cycle() % 5 == 4 { 6 } else { 0 },
    }
}

/// Whether a local yellow is out in the player's sector (one stretch in seven).
fn local_yellow(clock: Clock) -> bool {
    clock.cycle() % 7 == 3
}

/// The session's scoring.
pub fn info(clock: Clock) -> ScoringInfo {
    let mut sector_flag = [0; 3];
    if local_yellow(clock) {
        sector_flag[sector(clock) as usize] = 1;
    }
    ScoringInfo {
        track_name: TRACK.into(),
        session: 10,
        current_et: clock.elapsed(),
        end_et: END_ET,
        max_laps: MAX_LAPS,
        num_vehicles: 3,
        game_phase: 5,
        yellow_flag_state: 0,
        sector_flag,
        in_realtime: true,
        player_name: DRIVER.into(),
    }
}

/// The cars in the telemetry buffer's order (the player second).
pub fn telemetry_order() -> [i32; 3] {
    [OTHERS[1], PLAYER_ID, OTHERS[0]]
}

/// The cars in scoring's order (the player second).
pub fn scoring_order() -> [i32; 3] {
    [OTHERS[0], PLAYER_ID, OTHERS[1]]
}

/// The model a reader makes of the session at `clock` (`update` left).
pub fn expected_at(clock: Clock) -> Telemetry {
    let me = car(clock, PLAYER_ID);
    let laps = clock.laps();
    let [x, y, z] = me.local_vel;
    let blue = clock.cycle() % 5 == 4;
    let mut flags = vec![if local_yellow(clock) {
        Flag::Yellow
    } else {
        Flag::Green
    }];
    if blue {
        flags.push(Flag::Blue);
    }
    Telemetry {
        car: Some(CAR.into()),
        track: Some(TRACK.into()),
        driver: Some(DRIVER.into()),
        session: Some(Session {
            kind: Some("race".into()),
            time_left_s: Some((END_ET - clock.elapsed()).max(0.0) as f32),
            laps_left: Some((MAX_LAPS - i32::from(laps)).max(0)),
        }),
        status: Some(Status::Live),
        speed_kmh: Some(((x * x + y * y + z * z).sqrt() * 3.6) as f32),
        rpm: Some(me.engine_rpm.round() as i32),
        max_rpm: Some(MAX_RPM as i32),
        gear: Some(me.gear),
        throttle: Some(me.unfiltered_throttle as f32),
        brake: Some(me.unfiltered_brake as f32),
        clutch: Some(0.0),
        steering: Some(me.unfiltered_steering as f32),
        fuel_l: Some(me.fuel as f32),
        fuel_capacity_l: Some(TANK_L as f32),
        lap: Some(i32::from(laps) + 1),
        position: Some(3 + i32::from(laps % 3)),
        cars: Some(3),
        lap_time_ms: Some(((me.elapsed_time - me.lap_start_et) * 1000.0).round() as i64),
        last_lap_ms: (laps > 0).then_some(100_000),
        best_lap_ms: (laps > 0).then_some(100_000),
        tyre_temps_c: Some(me.wheels.map(|w| (w.carcass_temperature_k - 273.15) as f32)),
        tyre_pressures_kpa: Some(me.wheels.map(|w| w.pressure_kpa as f32)),
        flags: Some(flags),
        update: None,
        title: None,
    }
}

/// Whether `page` (JSON) is `want` (JSON), numbers as JSON keeps them.
pub fn same_json<T: serde::Serialize>(page: &serde_json::Value, want: &T) -> Result<(), String> {
    let want = serde_json::to_value(want).map_err(|e| e.to_string())?;
    let wrong = json_differences(page, &want);
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!("not one update's: {wrong:?}"))
    }
}

/// The session as a [`Scenario`]: frame `n` is the buffers' version `n`.
pub static SESSION: Rf2Session = Rf2Session;

/// The rFactor 2 family's known session.
#[derive(Debug)]
pub struct Rf2Session;

fn clock(n: u32) -> Clock {
    Clock { n, dt: DT }
}

impl Scenario for Rf2Session {
    fn frame(&self, n: u32) -> Vec<Update> {
        let c = clock(n);
        let cars = telemetry_order().map(|id| car(c, id));
        let scored = scoring_order().map(|id| scoring(c, id));
        let pair = Publish::VersionPair { begin: 0, end: 4 };
        vec![
            Update {
                file: TELEMETRY,
                bytes: TelemetryBuffer::encode(n, &cars),
                publish: pair,
            },
            Update {
                file: SCORING,
                bytes: ScoringBuffer::encode(n, &info(c), &scored),
                publish: pair,
            },
        ]
    }

    fn expected(&self, n: u32) -> Telemetry {
        Telemetry {
            update: Some(i64::from(n)),
            ..expected_at(clock(n))
        }
    }

    fn check_page(&self, label: &str, page: &serde_json::Value) -> Result<(), String> {
        let of = |key: &str| page[key].as_u64().and_then(|v| u32::try_from(v).ok());
        let n = of("version_end").ok_or("no version_end")?;
        let c = clock(n);
        let found = !page["player"].is_null();
        match label {
            "telemetry" => same_json(
                page,
                &TelemetryBuffer {
                    version_begin: n,
                    version_end: n,
                    bytes_updated_hint: 16 + 3 * 1888,
                    num_vehicles: 3,
                    player: found.then(|| car(c, PLAYER_ID)),
                },
            ),
            "scoring" => same_json(
                page,
                &ScoringBuffer {
                    version_begin: n,
                    version_end: n,
                    bytes_updated_hint: 560 + 3 * 584,
                    info: info(c),
                    player: found.then(|| scoring(c, PLAYER_ID)),
                },
            ),
            other => Err(format!("no page {other}")),
        }
    }
}
