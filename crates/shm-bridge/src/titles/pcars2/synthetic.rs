//! The Project CARS 2 family's known session: an Automobilista 2 race
//! where every value is a pure function of the frame, so a reader can
//! check what it decoded. Frame `n` carries the sequence number `2n`, as
//! the game's would after `n` updates.

use super::{PARTICIPANTS, Participant, SEQUENCE_OFFSET, SHARED, SHARED_LEN, Shared};
use crate::model::{Flag, Session, Status, Telemetry};
use crate::scenario::{Publish, Scenario, Update};

/// Updates a second (the game writes once per graphics frame).
pub const RATE_HZ: u32 = 50;
/// Milliseconds a frame.
const FRAME_MS: u32 = 1000 / RATE_HZ;
/// Frames a lap.
const LAP_FRAMES: u32 = 5250;
/// Every complete lap's time, s.
const LAP_S: f32 = 105.25;
/// Laps of the race.
const LAPS: u32 = 30;
/// Cars in the race.
const CARS: i32 = 20;
/// The player's slot in the participants.
const VIEWED: i32 = 3;

/// A 10 s straight-and-corner cycle.
fn phase(n: u32) -> u32 {
    n % 500
}

/// The player's position, changing every lap.
fn position(n: u32) -> u32 {
    4 + (n / LAP_FRAMES) % 3
}

/// The race's flags: green for its first seconds, yellow in each braking
/// zone, blue at the end of every fourth lap's cycles; a drive-through for
/// cutting through the middle of every other lap.
fn flag_and_schedule(n: u32) -> (u32, u32) {
    let laps = n / LAP_FRAMES;
    let colour = if n < 250 {
        1
    } else if (400..450).contains(&phase(n)) {
        6
    } else if laps % 4 == 3 && phase(n) >= 450 {
        2
    } else {
        0
    };
    let schedule = u32::from(laps % 2 == 1 && (2000..3000).contains(&(n % LAP_FRAMES)));
    (colour, schedule * 5)
}

/// The page at frame `n`.
pub fn shared(n: u32) -> Shared {
    let laps = n / LAP_FRAMES;
    let in_lap = n % LAP_FRAMES;
    let phase = phase(n);
    let (throttle, brake) = match phase {
        0..400 => (1.0, 0.0),
        400..450 => (0.0, 0.85),
        _ => (0.5, 0.0),
    };
    let kmh = match phase {
        0..400 => 90.0 + phase as f32 * 0.4,
        400..450 => 250.0 - (phase - 400) as f32 * 3.2,
        _ => 90.0,
    };
    let steering = if phase >= 400 { -0.3 } else { 0.02 };
    let warmth = phase as f32 * 0.01;
    let tyre_temp = [85.0, 86.5, 80.0, 81.0].map(|t: f32| t + warmth);
    let (flag, schedule) = flag_and_schedule(n);
    Shared {
        version: 14,
        build_version_number: 1708,
        game_state: 2,
        session_state: 5,
        race_state: 2,
        viewed_participant_index: VIEWED,
        num_participants: CARS,
        viewed: Some(Participant {
            is_active: true,
            name: "Demo Driver".into(),
            current_lap_distance: in_lap as f32 * (7004.0 / LAP_FRAMES as f32),
            race_position: position(n),
            laps_completed: laps,
            current_lap: laps + 1,
            current_sector: (in_lap * 3 / LAP_FRAMES) as i32,
        }),
        unfiltered_throttle: throttle,
        unfiltered_brake: brake,
        unfiltered_steering: steering,
        unfiltered_clutch: if (450..460).contains(&phase) { 0.7 } else { 0.0 },
        car_name: "Formula Reiza".into(),
        car_class_name: "F-Reiza".into(),
        laps_in_event: LAPS,
        track_location: "Spa-Francorchamps".into(),
        track_variation: "Grand Prix".into(),
        track_length: 7004.0,
        best_lap_time: if laps > 0 { LAP_S } else { -1.0 },
        last_lap_time: if laps > 0 { LAP_S } else { 0.0 },
        current_time: (in_lap * FRAME_MS) as f32 / 1000.0,
        event_time_remaining: -1.0,
        highest_flag_colour: flag,
        highest_flag_reason: 0,
        pit_mode: 0,
        pit_schedule: schedule,
        fuel_level: (90.0 - n as f32 * 0.0004) / 100.0,
        fuel_capacity: 100.0,
        speed: kmh / 3.6,
        rpm: (4500 + (kmh * 37.0) as i32 % 4000) as f32,
        max_rpm: 8750.0,
        brake: brake * 0.9,
        throttle,
        clutch: 0.0,
        steering: steering * 0.9,
        gear: 1 + ((kmh - 60.0) / 40.0).clamp(0.0, 5.0) as i32,
        num_gears: 6,
        tyre_temp,
        tyre_tread_temp: tyre_temp.map(|t| t + 275.15),
        tyre_carcass_temp: tyre_temp.map(|t| t + 268.15),
        air_pressure: [168.0, 169.5, 162.0, 163.0].map(|p: f32| p + warmth * 0.3),
        sequence_number: n.wrapping_mul(2),
    }
}

/// The other cars at frame `n`, in the slots around the player's.
pub fn others(n: u32) -> Vec<Participant> {
    let laps = n / LAP_FRAMES;
    let mine = position(n);
    (1..=CARS as u32)
        .filter(|&p| p != mine)
        .take(PARTICIPANTS - 1)
        .map(|p| Participant {
            is_active: true,
            name: format!("AI Driver {p}"),
            current_lap_distance: 0.0,
            race_position: p,
            laps_completed: laps,
            current_lap: laps + 1,
            current_sector: 0,
        })
        .collect()
}

/// The session as a [`Scenario`].
pub static SESSION: Pcars2Session = Pcars2Session;

/// The Project CARS 2 family's known session.
#[derive(Debug)]
pub struct Pcars2Session;

impl Scenario for Pcars2Session {
    fn frame(&self, n: u32) -> Vec<Update> {
        let mut bytes = vec![0u8; SHARED_LEN];
        shared(n).encode(&others(n), &mut bytes);
        vec![Update {
            file: SHARED,
            bytes,
            publish: Publish::OddWhileWriting {
                offset: SEQUENCE_OFFSET,
            },
        }]
    }

    fn expected(&self, n: u32) -> Telemetry {
        let s = shared(n);
        let laps = n / LAP_FRAMES;
        let mut flags = match flag_and_schedule(n).0 {
            1 => vec![Flag::Green],
            2 => vec![Flag::Blue],
            6 => vec![Flag::Yellow],
            _ => vec![],
        };
        if flag_and_schedule(n).1 != 0 {
            flags.push(Flag::Penalty);
        }
        let lap_ms = (laps > 0).then_some(105_250);
        Telemetry {
            car: Some("Formula Reiza".into()),
            track: Some("Spa-Francorchamps Grand Prix".into()),
            driver: Some("Demo Driver".into()),
            session: Some(Session {
                kind: Some("race".into()),
                time_left_s: None,
                laps_left: Some((LAPS - laps) as i32),
            }),
            status: Some(Status::Live),
            // m/s as km/h and litres from the fraction, written out here
            // rather than through the decoder's conversions.
            speed_kmh: Some(s.speed * 3.6),
            rpm: Some(s.rpm as i32),
            max_rpm: Some(8750),
            gear: Some(s.gear),
            throttle: Some(s.unfiltered_throttle),
            brake: Some(s.unfiltered_brake),
            clutch: Some(s.unfiltered_clutch),
            steering: Some(s.unfiltered_steering),
            fuel_l: Some(s.fuel_level * 100.0),
            fuel_capacity_l: Some(100.0),
            lap: Some(laps as i32 + 1),
            position: Some(position(n) as i32),
            cars: Some(CARS),
            lap_time_ms: Some(i64::from(n % LAP_FRAMES) * i64::from(FRAME_MS)),
            last_lap_ms: lap_ms,
            best_lap_ms: lap_ms,
            tyre_temps_c: Some(s.tyre_temp),
            tyre_pressures_kpa: Some(s.air_pressure),
            flags: Some(flags),
            update: Some(i64::from(n)),
            ..Telemetry::default()
        }
    }

    fn check_page(&self, label: &str, page: &serde_json::Value) -> Result<(), String> {
        if label != "shared" {
            return Err(format!("no page {label}"));
        }
        let got: Shared = serde_json::from_value(page.clone()).map_err(|e| e.to_string())?;
        if got == shared(got.sequence_number / 2) {
            Ok(())
        } else {
            Err(format!("shared is not one frame's: {page}"))
        }
    }
}
