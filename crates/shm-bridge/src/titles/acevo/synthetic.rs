//! The AC EVO family's known session: the Assetto Corsa family's drive
//! (its physics, with EVO's rev limit) in EVO's graphics and static pages,
//! every value a pure function of the packet id.

use super::{
    GRAPHICS, GRAPHICS_LEN, Graphics, PHYSICS, PHYSICS_LEN, STATIC, STATIC_LEN, Static, Tyre,
};
use crate::model::{Flag, Session, Status, Telemetry};
use crate::scenario::{Publish, Scenario, Update, one_packet, page_as};
use crate::titles::ac::{Physics, synthetic as ac};

/// A lap takes this many packets.
const LAP_PACKETS: i32 = 6000;
/// Every complete lap's time, ms.
const LAP_MS: i32 = 137_904;
/// The car's rev limit.
const MAX_RPM: i32 = 9400;

/// The static page.
pub fn statics() -> Static {
    Static {
        sm_version: "0.6".into(),
        ac_evo_version: "0.9.1".into(),
        session: 1,
        session_name: "Race".into(),
        is_timed_race: true,
        is_online: false,
        number_of_sessions: 2,
        track: "spa".into(),
        track_configuration: "gp".into(),
        track_length_m: 7004.0,
    }
}

/// The physics page for packet `id`: the Assetto Corsa family's, with the
/// rev limit EVO keeps there.
pub fn physics(id: i32) -> Physics {
    Physics {
        current_max_rpm: MAX_RPM,
        ..ac::physics(id)
    }
}

/// The EVO flag codes at packet `id`: the player's (yellow in each braking
/// zone, blue at the end of every fourth lap's cycles) and the session's
/// (green for its first seconds).
fn flag_codes(id: i32) -> (i32, i32) {
    let laps = id / LAP_PACKETS;
    let phase = id.rem_euclid(600);
    let flag = if (480..540).contains(&phase) {
        5
    } else if laps % 4 == 3 && phase >= 540 {
        4
    } else {
        0
    };
    let global = if id < 300 { 2 } else { 0 };
    (flag, global)
}

/// The graphics page for packet `id`.
pub fn graphics(id: i32) -> Graphics {
    let p = ac::physics(id);
    let laps = id / LAP_PACKETS;
    let (flag, global_flag) = flag_codes(id);
    let done = |ms: i32| if laps > 0 { ms } else { 0 };
    let tyre = |i: usize| Tyre {
        pressure: p.wheels_pressure[i],
        temperature_c: p.tyre_core_temperature[i],
        brake_temperature_c: p.brake_temp[i],
    };
    Graphics {
        packet_id: id,
        status: 2,
        rpm: u16::try_from(p.rpm).unwrap_or(0),
        display_speed_kmh: p.speed_kmh as i16,
        gear_int: p.gear as i16,
        gas_percent: p.gas,
        brake_percent: p.brake,
        clutch_percent: p.clutch,
        steering_percent: p.steer_angle,
        current_lap_time_ms: (id % LAP_PACKETS) * 1000 / ac::RATE_HZ as i32,
        fuel_liter_current_quantity: p.fuel,
        tyres: [tyre(0), tyre(1), tyre(2), tyre(3)],
        total_lap_count: laps,
        current_pos: 2 + (laps % 4) as u32,
        total_drivers: 16,
        last_laptime_ms: done(LAP_MS),
        best_laptime_ms: if laps > 0 { LAP_MS } else { i32::MAX },
        flag,
        global_flag,
        max_gears: 6,
        is_last_lap: false,
        phase_name: "Race".into(),
        time_left_ms: 2_700_000 - id * 1000 / ac::RATE_HZ as i32,
        total_lap: 0,
        driver_name: "Demo".into(),
        driver_surname: "Driver".into(),
        car_model: "ks_porsche_911_gt3_r_2023".into(),
        is_in_pit_lane: false,
        is_valid_lap: true,
        max_fuel: 120.0,
    }
}

/// The session as a [`Scenario`]: frame `n` is packet `n`.
pub static SESSION: AcEvoSession = AcEvoSession;

/// The AC EVO family's known session.
#[derive(Debug)]
pub struct AcEvoSession;

impl Scenario for AcEvoSession {
    fn frame(&self, n: u32) -> Vec<Update> {
        let id = i32::try_from(n).unwrap_or(i32::MAX);
        let counter = Publish::CounterLast { offset: 0 };
        vec![
            Update::encoded(PHYSICS, PHYSICS_LEN, counter, |b| physics(id).encode(b)),
            Update::encoded(GRAPHICS, GRAPHICS_LEN, counter, |b| graphics(id).encode(b)),
            Update::encoded(STATIC, STATIC_LEN, Publish::Plain, |b| statics().encode(b)),
        ]
    }

    fn expected(&self, n: u32) -> Telemetry {
        let id = i32::try_from(n).unwrap_or(i32::MAX);
        let (p, g) = (physics(id), graphics(id));
        let laps = id / LAP_PACKETS;
        let mut flags = Vec::new();
        match flag_codes(id) {
            (5, _) => flags.push(Flag::Yellow),
            (4, _) => flags.push(Flag::Blue),
            _ => {}
        }
        if flag_codes(id).1 == 2 {
            flags.push(Flag::Green);
        }
        Telemetry {
            car: Some("ks_porsche_911_gt3_r_2023".into()),
            track: Some("spa gp".into()),
            driver: Some("Demo Driver".into()),
            session: Some(Session {
                kind: Some("race".into()),
                time_left_s: Some(g.time_left_ms as f32 / 1000.0),
                laps_left: None,
            }),
            status: Some(Status::Live),
            max_rpm: Some(MAX_RPM),
            fuel_capacity_l: Some(120.0),
            lap: Some(laps + 1),
            position: Some(2 + laps % 4),
            cars: Some(16),
            lap_time_ms: Some(i64::from(g.current_lap_time_ms)),
            last_lap_ms: (laps > 0).then_some(i64::from(LAP_MS)),
            best_lap_ms: (laps > 0).then_some(i64::from(LAP_MS)),
            flags: Some(flags),
            update: Some(i64::from(id)),
            ..ac::driven(&p)
        }
    }

    fn check_page(&self, label: &str, page: &serde_json::Value) -> Result<(), String> {
        let whole = match label {
            "physics" => {
                let p: Physics = page_as(page)?;
                p == physics(p.packet_id)
            }
            "graphics" => {
                let g: Graphics = page_as(page)?;
                g == graphics(g.packet_id)
            }
            "static" => page_as::<Static>(page)? == statics(),
            other => return Err(format!("no page {other}")),
        };
        one_packet(label, page, whole)
    }
}
