//! The synthetic session the sim stand-in drives: every value is a pure
//! function of the packet id, so a reader can check what it decoded.
use super::{
    GRAPHICS, GRAPHICS_LEN, Graphics, Layout, PHYSICS, PHYSICS_LEN, Physics, STATIC, STATIC_LEN,
    Static,
};
use crate::model::{Flag, Session, Status, Telemetry, lap_time};
use crate::scenario::{Publish, Scenario, Update, one_packet, page_as};

/// Updates per second the stand-in writes.
pub const RATE_HZ: u32 = 60;
/// A lap takes this many packets (100 s).
const LAP_PACKETS: i32 = 6000;
/// The time of every complete lap, ms.
const LAP_MS: i32 = 138_412;

/// The static page.
pub fn statics() -> Static {
    Static {
        sm_version: "1.9".into(),
        ac_version: "1.10.2".into(),
        number_of_sessions: 1,
        num_cars: 24,
        car_model: "porsche_992_gt3_r".into(),
        track: "spa".into(),
        player_name: "Demo".into(),
        player_surname: "Driver".into(),
        player_nick: "DEM".into(),
        sector_count: 3,
        max_rpm: 9250,
        max_fuel: 120.0,
    }
}

/// The physics page for packet `id`: a car accelerating through the
/// gears, braking for a corner every 10 s, burning fuel.
pub fn physics(id: i32) -> Physics {
    let phase = id.rem_euclid(600); // a 10 s straight-and-corner cycle
    let (gas, brake) = if phase < 480 {
        (1.0, 0.0)
    } else if phase < 540 {
        (0.0, 0.9)
    } else {
        (0.45, 0.0)
    };
    let speed = if phase < 480 {
        80.0 + phase as f32 * 0.35
    } else if phase < 540 {
        248.0 - (phase - 480) as f32 * 2.8
    } else {
        80.0
    };
    let gear = 2 + ((speed - 40.0) / 45.0).clamp(0.0, 5.0) as i32;
    let rpm = 4500 + ((speed * 37.0) as i32 % 4600);
    // Tyres warm through a cycle; the clutch is pressed on the downshifts.
    let warmth = phase as f32 * 0.01;
    Physics {
        packet_id: id,
        gas,
        brake,
        fuel: 100.0 - id as f32 * 0.0004,
        gear,
        rpm,
        steer_angle: if (480..600).contains(&phase) {
            -0.3
        } else {
            0.02
        },
        speed_kmh: speed,
        velocity: [speed / 3.6, 0.0, 0.0],
        wheels_pressure: [27.4, 27.6, 27.1, 27.3].map(|p| p + warmth * 0.05),
        tyre_core_temperature: [84.5, 86.0, 80.5, 81.25].map(|t| t + warmth),
        brake_temp: [310.0, 315.0, 240.0, 245.0].map(|t| t + warmth * 20.0),
        clutch: if (540..560).contains(&phase) { 0.6 } else { 0.0 },
        current_max_rpm: 0,
    }
}

/// What the physics page `p` says, as the model has it: the Assetto Corsa
/// family's decoders read these fields alike.
pub fn driven(p: &Physics) -> Telemetry {
    Telemetry {
        speed_kmh: Some(p.speed_kmh),
        rpm: Some(p.rpm),
        gear: Some(p.gear - 1),
        throttle: Some(p.gas),
        brake: Some(p.brake),
        clutch: Some(p.clutch),
        steering: Some(p.steer_angle),
        fuel_l: Some(p.fuel),
        tyre_temps_c: Some(p.tyre_core_temperature),
        // psi as kPa, written out here rather than through the decoder's conversion.
        tyre_pressures_kpa: Some(p.wheels_pressure.map(|psi| psi * 6.894_757)),
        ..Telemetry::default()
    }
}

/// The graphics page for packet `id`: a yellow flag in each braking zone,
/// a blue one at the end of every fourth lap's cycles, and a drive-through
/// for cutting through the middle of every other lap.
pub fn graphics(id: i32) -> Graphics {
    let laps = id / LAP_PACKETS;
    let phase = id.rem_euclid(600);
    let flag = if (480..540).contains(&phase) {
        2
    } else if laps % 4 == 3 && phase >= 540 {
        1
    } else {
        0
    };
    let cutting = laps % 2 == 1 && (2400..3600).contains(&(id % LAP_PACKETS));
    let lap_ms = (id % LAP_PACKETS) * (1000 / RATE_HZ as i32);
    let done = |ms: i32| if laps > 0 { ms } else { 0 };
    let shown = |ms: i32| lap_time((ms > 0).then_some(i64::from(ms)));
    Graphics {
        packet_id: id,
        status: 2,
        session: 2,
        current_time: lap_time(Some(i64::from(lap_ms))),
        last_time: shown(done(LAP_MS)),
        best_time: shown(done(LAP_MS)),
        split: lap_time(Some(i64::from(lap_ms / 3))),
        completed_laps: laps,
        position: 3 + (laps % 3),
        i_current_time: lap_ms,
        i_last_time: done(LAP_MS),
        i_best_time: if laps > 0 { LAP_MS } else { i32::MAX },
        session_time_left: 3_600_000.0 - id as f32 * (1000.0 / RATE_HZ as f32),
        flag,
        penalty: Some(i32::from(cutting)),
    }
}

/// The graphics page for packet `id` as `layout` has it (Assetto Corsa's
/// has no penalty field).
pub fn graphics_as(layout: Layout, id: i32) -> Graphics {
    let g = graphics(id);
    match layout {
        Layout::Competizione => g,
        Layout::AssettoCorsa => Graphics { penalty: None, ..g },
    }
}

/// ACC's session as a [`Scenario`]: frame `n` is packet `n`.
pub static SESSION: AcSession = AcSession {
    layout: Layout::Competizione,
};

/// Assetto Corsa's session: ACC's, with its own graphics page.
pub static SESSION_AC: AcSession = AcSession {
    layout: Layout::AssettoCorsa,
};

/// The Assetto Corsa family's known session, in one title's layout.
#[derive(Debug)]
pub struct AcSession {
    layout: Layout,
}

impl Scenario for AcSession {
    fn frame(&self, n: u32) -> Vec<Update> {
        let id = i32::try_from(n).unwrap_or(i32::MAX);
        let counter = Publish::CounterLast { offset: 0 };
        vec![
            Update::encoded(PHYSICS, PHYSICS_LEN, counter, |b| physics(id).encode(b)),
            Update::encoded(GRAPHICS, GRAPHICS_LEN, counter, |b| {
                graphics_as(self.layout, id).encode_as(self.layout, b)
            }),
            Update::encoded(STATIC, STATIC_LEN, Publish::Plain, |b| statics().encode(b)),
        ]
    }

    fn expected(&self, n: u32) -> Telemetry {
        let id = i32::try_from(n).unwrap_or(i32::MAX);
        let (p, g, s) = (physics(id), graphics_as(self.layout, id), statics());
        let laps = id / LAP_PACKETS;
        let mut flags = match g.flag {
            1 => vec![Flag::Blue],
            2 => vec![Flag::Yellow],
            _ => vec![],
        };
        if g.penalty.is_some_and(|p| p != 0) {
            flags.push(Flag::Penalty);
        }
        Telemetry {
            car: Some(s.car_model),
            track: Some(s.track),
            driver: Some("Demo Driver".into()),
            session: Some(Session {
                kind: Some("race".into()),
                time_left_s: Some(g.session_time_left / 1000.0),
                laps_left: None,
            }),
            status: Some(Status::Live),
            max_rpm: Some(9250),
            fuel_capacity_l: Some(120.0),
            lap: Some(laps + 1),
            position: Some(3 + laps % 3),
            cars: Some(24),
            lap_time_ms: Some(i64::from(g.i_current_time)),
            last_lap_ms: (laps > 0).then_some(i64::from(LAP_MS)),
            best_lap_ms: (laps > 0).then_some(i64::from(LAP_MS)),
            flags: Some(flags),
            update: Some(i64::from(id)),
            ..driven(&p)
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
                g == graphics_as(self.layout, g.packet_id)
            }
            "static" => page_as::<Static>(page)? == statics(),
            other => return Err(format!("no page {other}")),
        };
        one_packet(label, page, whole)
    }
}
