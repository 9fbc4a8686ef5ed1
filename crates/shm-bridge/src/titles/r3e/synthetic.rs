//! The synthetic session the sim stand-in writes: every value a pure
//! function of the physics tick, which is the frame number.

use std::f32::consts::TAU;

use super::{Flags, MAP, SHARED_LEN, Shared, VERSION};
use crate::model::{Flag, Session, Status, Telemetry};
use crate::scenario::{Publish, Scenario, Update};

/// Frames a lap takes (100 s at 60 frames a second).
const LAP_FRAMES: i32 = 6000;
/// Every complete lap, s.
const LAP_S: f32 = 138.412;
/// Laps of the race.
const RACE_LAPS: i32 = 20;

/// The page at frame `n`: a lap-based race at Spa, accelerating through
/// the gears and braking every 10 s.
pub fn shared(n: i32) -> Shared {
    let phase = n.rem_euclid(600);
    let (throttle, brake, speed_kmh) = if phase < 480 {
        (1.0, 0.0, 80.0 + phase as f32 * 0.35)
    } else if phase < 540 {
        (0.0, 0.9, 248.0 - (phase - 480) as f32 * 2.8)
    } else {
        (0.45, 0.0, 80.0)
    };
    let laps = n / LAP_FRAMES;
    let done = if laps > 0 { LAP_S } else { -1.0 };
    Shared {
        version_major: VERSION.0,
        version_minor: VERSION.1,
        all_drivers_offset: 2012,
        driver_data_size: 328,
        game_paused: 0,
        game_in_menus: 0,
        game_in_replay: 0,
        game_simulation_ticks: n,
        track_name: "Spa-Francorchamps".into(),
        layout_name: "Grand Prix".into(),
        session_type: 2,
        session_length_format: 1,
        number_of_laps: RACE_LAPS,
        session_time_remaining: -1.0,
        flags: Flags {
            yellow: 0,
            blue: i32::from((100..200).contains(&phase)),
            black: 0,
            green: 1,
            checkered: 0,
            white: 0,
            black_and_white: 0,
        },
        position: 3 + laps % 3,
        completed_laps: laps,
        lap_time_best_self: done,
        lap_time_previous_self: done,
        lap_time_current_self: (n % LAP_FRAMES) as f32 / 60.0,
        model_id: 9523,
        player_name: "Demo Driver".into(),
        car_speed: speed_kmh / 3.6,
        // 4500 to 9100 rpm, in rad/s.
        engine_rps: (4500 + ((speed_kmh * 37.0) as i32 % 4600)) as f32 * TAU / 60.0,
        max_engine_rps: 9250.0 * TAU / 60.0,
        gear: 1 + ((speed_kmh - 40.0) / 45.0).clamp(0.0, 5.0) as i32,
        fuel_left: 100.0 - n as f32 * 0.0004,
        fuel_capacity: 120.0,
        throttle,
        brake,
        clutch: 0.0,
        steer_input_raw: if (480..600).contains(&phase) { -0.3 } else { 0.02 },
        tire_pressure: [172.0, 172.5, 168.0, 168.25],
        tire_temp: [
            [84.0, 85.0 + (n % 60) as f32 / 10.0, 86.0],
            [84.5, 86.5, 85.5],
            [80.0, 82.0, 81.0],
            [80.5, 83.25, 81.5],
        ],
        num_cars: 24,
    }
}

/// The session as a [`Scenario`]: frame `n` is physics tick `n`.
pub static SESSION: R3eSession = R3eSession;

/// RaceRoom's known session.
#[derive(Debug)]
pub struct R3eSession;

impl Scenario for R3eSession {
    fn frame(&self, n: u32) -> Vec<Update> {
        let mut bytes = vec![0u8; SHARED_LEN];
        shared(i32::try_from(n).unwrap_or(i32::MAX)).encode(&mut bytes);
        vec![Update {
            file: MAP,
            bytes,
            publish: Publish::Plain,
        }]
    }

    fn expected(&self, n: u32) -> Telemetry {
        let s = shared(i32::try_from(n).unwrap_or(i32::MAX));
        let laps = s.completed_laps;
        let done = (laps > 0).then_some(138_412);
        let mut flags = vec![Flag::Green];
        if s.flags.blue == 1 {
            flags.push(Flag::Blue);
        }
        let to_rpm = |rad_s: f32| (f64::from(rad_s) * 60.0 / std::f64::consts::TAU).round() as i32;
        Telemetry {
            car: None,
            track: Some("Spa-Francorchamps - Grand Prix".into()),
            driver: Some("Demo Driver".into()),
            session: Some(Session {
                kind: Some("race".into()),
                time_left_s: None,
                laps_left: Some(RACE_LAPS - laps),
            }),
            status: Some(Status::Live),
            speed_kmh: Some(s.car_speed * 3.6),
            rpm: Some(to_rpm(s.engine_rps)),
            max_rpm: Some(9250),
            gear: Some(s.gear),
            throttle: Some(s.throttle),
            brake: Some(s.brake),
            clutch: Some(0.0),
            steering: Some(s.steer_input_raw),
            fuel_l: Some(s.fuel_left),
            fuel_capacity_l: Some(120.0),
            lap: Some(laps + 1),
            position: Some(3 + laps % 3),
            cars: Some(24),
            lap_time_ms: Some((f64::from(s.lap_time_current_self) * 1000.0).round() as i64),
            last_lap_ms: done,
            best_lap_ms: done,
            tyre_temps_c: Some(s.tire_temp.map(|t| t[1])),
            tyre_pressures_kpa: Some(s.tire_pressure),
            flags: Some(flags),
            update: Some(i64::from(n)),
            ..Telemetry::default()
        }
    }

    fn check_page(&self, label: &str, page: &serde_json::Value) -> Result<(), String> {
        if label != "r3e" {
            return Err(format!("no page {label}"));
        }
        let s: Shared = serde_json::from_value(page.clone()).map_err(|e| e.to_string())?;
        if s == shared(s.game_simulation_ticks) {
            Ok(())
        } else {
            Err(format!("r3e is not one frame's: {page}"))
        }
    }
}
