//! The SCS family's known session: a Scania pulling out of a yard and
//! onto the motorway, every value a pure function of the frame. The
//! plugin's clock (`time`) is the frame number, so that frame `n` is
//! update `n`.

use super::{PLUGIN_REVISION, TELEMETRY, TELEMETRY_LEN, Telemetry};
use crate::model::{Status, Telemetry as Model};
use crate::scenario::{Publish, Scenario, Update};

/// Frames of one drive: out of the yard in reverse, then the motorway.
const DRIVE: u32 = 3000;
/// Frames of the reversing at the start of each drive.
const REVERSING: u32 = 60;
/// Frames a break lasts, at the end of every 10,000 (the game paused).
const PAUSED: u32 = 100;

/// The page at frame `n`.
pub fn telemetry(n: u32) -> Telemetry {
    let at = n % DRIVE;
    let reversing = at < REVERSING;
    let paused = n % 10_000 >= 10_000 - PAUSED;
    // m/s: a crawl back, then up to 85 km/h and cruising.
    let speed = if reversing {
        -1.5
    } else {
        (at - REVERSING).min(900) as f32 * (23.6 / 900.0)
    };
    let accelerating = !reversing && at < REVERSING + 900;
    let gear = if reversing {
        -1
    } else {
        1 + (speed / 2.1).min(11.0) as i32
    };
    let steer = match at {
        0..REVERSING => -0.25,
        _ if at % 600 < 120 => 0.04,
        _ => 0.0,
    };
    Telemetry {
        sdk_active: 1,
        paused: u8::from(paused),
        time: u64::from(n),
        simulated_time: u64::from(n),
        render_time: u64::from(n),
        telemetry_plugin_revision: PLUGIN_REVISION,
        version_major: 1,
        version_minor: 53,
        game: 1,
        time_abs: 8 * 60 + n / 600,
        gears: 12,
        gears_reverse: 4,
        gear,
        gear_dashboard: gear,
        fuel_capacity: 800.0,
        engine_rpm_max: 2500.0,
        speed,
        engine_rpm: if reversing {
            900.0
        } else {
            (1000 + (speed * 97.0) as i32 % 700) as f32
        },
        user_steer: steer,
        user_throttle: if accelerating || reversing { 0.7 } else { 0.0 },
        user_brake: 0.0,
        user_clutch: if at == REVERSING { 1.0 } else { 0.0 },
        game_steer: steer,
        game_throttle: if reversing { 0.7 } else { 0.35 },
        game_brake: 0.0,
        game_clutch: 0.0,
        cruise_control_speed: if accelerating || reversing { 0.0 } else { 23.6 },
        fuel: 640.0 - n as f32 * 0.001,
        fuel_avg_consumption: 0.32,
        fuel_range: 1950.0,
        truck_odometer: 120_345.0 + n as f32 * 0.0004,
        speed_limit: 25.0,
        truck_brand: "Scania".into(),
        truck_name: "R".into(),
        cargo: "Machinery".into(),
        city_dst: "Praha".into(),
        city_src: "Berlin".into(),
    }
}

/// The session as a [`Scenario`].
pub static SESSION: ScsSession = ScsSession;

/// The SCS family's known session.
#[derive(Debug)]
pub struct ScsSession;

impl Scenario for ScsSession {
    fn frame(&self, n: u32) -> Vec<Update> {
        let mut bytes = vec![0u8; TELEMETRY_LEN];
        telemetry(n).encode(&mut bytes);
        vec![Update {
            file: TELEMETRY,
            bytes,
            publish: Publish::Plain,
        }]
    }

    fn expected(&self, n: u32) -> Model {
        let t = telemetry(n);
        Model {
            car: Some("Scania R".into()),
            status: Some(if t.paused == 1 {
                Status::Paused
            } else {
                Status::Live
            }),
            // The speedometer's m/s as km/h, reversing or not.
            speed_kmh: Some(t.speed.abs() * 3.6),
            rpm: Some(t.engine_rpm as i32),
            max_rpm: Some(2500),
            gear: Some(t.gear_dashboard),
            throttle: Some(t.user_throttle),
            brake: Some(0.0),
            clutch: Some(t.user_clutch),
            steering: Some(-t.user_steer),
            fuel_l: Some(t.fuel),
            fuel_capacity_l: Some(800.0),
            update: Some(i64::from(n)),
            ..Model::default()
        }
    }

    fn check_page(&self, label: &str, page: &serde_json::Value) -> Result<(), String> {
        if label != "telemetry" {
            return Err(format!("no page {label}"));
        }
        let got: Telemetry = serde_json::from_value(page.clone()).map_err(|e| e.to_string())?;
        let frame = u32::try_from(got.time).map_err(|e| e.to_string())?;
        if got == telemetry(frame) {
            Ok(())
        } else {
            Err(format!("telemetry is not one frame's: {page}"))
        }
    }
}
