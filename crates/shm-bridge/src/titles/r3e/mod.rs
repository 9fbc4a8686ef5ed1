//! RaceRoom Racing Experience: one page, `$R3E` (layout in `pages.rs`).
//!
//! The layout moves between minor versions (3.1 to 3.5 inserted fields in
//! the middle), so only the version this decoder declares, 3.5, is read;
//! another says so in the views. The game publishes no update protocol:
//! no counter, no sequence, only its version fields, and the most used
//! readers (CrewChief's `R3ESharedMemoryReader`, the SDK's own sample)
//! copy the struct once and use it. A copy is taken as whole here when two
//! copies agree (`Settled`), the most a reader can know of a page written
//! without a protocol. The physics tick (`Player.GameSimulationTicks`) is
//! the model's update counter.

mod pages;
pub mod synthetic;

use super::{Copies, Decoded, Family, Page, Protocol};
use crate::model::{Flag, Session, Status, Telemetry};
use crate::scenario::Scenario;
pub use pages::{Flags, Shared};

/// The page's mapping file name.
pub const MAP: &str = "$R3E";
/// Bytes of `r3e_shared` (r3e.h 3.5).
pub const SHARED_LEN: usize = 43_996;
/// The layout read (`R3E_VERSION_MAJOR`, `R3E_VERSION_MINOR`).
pub const VERSION: (i32, i32) = (3, 5);

/// The family, registered by `build.rs`.
pub static FAMILY: R3eFamily = R3eFamily;

/// rad/s to revolutions a minute.
fn rpm(rad_s: f32) -> Option<i32> {
    (rad_s >= 0.0 && rad_s.is_finite())
        .then(|| (f64::from(rad_s) * 60.0 / std::f64::consts::TAU).round() as i32)
}

/// Seconds (-1: none) as ms.
fn ms(seconds: f32) -> Option<i64> {
    (seconds > 0.0 && seconds < 1e9).then(|| (f64::from(seconds) * 1000.0).round() as i64)
}

/// A value RaceRoom gives as -1 (or less) when it has none.
fn known(v: f32) -> Option<f32> {
    (v >= 0.0 && v.is_finite()).then_some(v)
}

/// `r3e_session` in the model's words.
fn session_kind(code: i32) -> Option<&'static str> {
    Some(match code {
        0 => "practice",
        1 => "qualifying",
        2 => "race",
        3 => "warmup",
        _ => return None,
    })
}

/// The flags out, in the model's order.
fn flags(f: &Flags) -> Vec<Flag> {
    [
        (f.green, Flag::Green),
        (f.yellow, Flag::Yellow),
        (f.blue, Flag::Blue),
        (f.white, Flag::White),
        (f.checkered, Flag::Checkered),
        (f.black, Flag::Black),
        (i32::from(f.black_and_white > 0), Flag::Penalty),
    ]
    .into_iter()
    .filter(|(on, _)| *on == 1)
    .map(|(_, flag)| flag)
    .collect()
}

/// The model from a page of the version read.
fn telemetry(s: &Shared) -> Telemetry {
    let status = if s.game_in_menus == 1 {
        Status::Menu
    } else if s.game_in_replay == 1 {
        Status::Replay
    } else if s.game_paused == 1 {
        Status::Paused
    } else {
        Status::Live
    };
    let text = |t: &str| (!t.is_empty()).then(|| t.to_owned());
    let track = match (text(&s.track_name), text(&s.layout_name)) {
        (Some(t), Some(l)) => Some(format!("{t} - {l}")),
        (t, _) => t,
    };
    let all = |v: [f32; 4]| v.iter().all(|x| known(*x).is_some()).then_some(v);
    let laps_left = (s.session_length_format == 1 && s.number_of_laps > 0 && s.completed_laps >= 0)
        .then(|| (s.number_of_laps - s.completed_laps).max(0));
    Telemetry {
        car: None, // RaceRoom gives a model id; names are in its data files
        track,
        driver: text(&s.player_name),
        session: Some(Session {
            kind: session_kind(s.session_type).map(str::to_owned),
            time_left_s: known(s.session_time_remaining),
            laps_left,
        }),
        status: Some(status),
        speed_kmh: Some(s.car_speed * 3.6).filter(|v| v.is_finite()),
        rpm: rpm(s.engine_rps),
        max_rpm: rpm(s.max_engine_rps).filter(|r| *r > 0),
        gear: (s.gear >= -1).then_some(s.gear),
        throttle: known(s.throttle),
        brake: known(s.brake),
        clutch: known(s.clutch),
        steering: Some(s.steer_input_raw).filter(|v| (-1.0..=1.0).contains(v)),
        fuel_l: known(s.fuel_left),
        fuel_capacity_l: known(s.fuel_capacity).filter(|c| *c > 0.0),
        lap: (s.completed_laps >= 0).then(|| s.completed_laps.saturating_add(1)),
        position: (s.position > 0).then_some(s.position),
        cars: (s.num_cars > 0).then_some(s.num_cars),
        lap_time_ms: known(s.lap_time_current_self).map(|t| (f64::from(t) * 1000.0).round() as i64),
        last_lap_ms: ms(s.lap_time_previous_self),
        best_lap_ms: ms(s.lap_time_best_self),
        // No core temperature: the centre of the tread.
        tyre_temps_c: all(s.tire_temp.map(|t| t[1])),
        tyre_pressures_kpa: all(s.tire_pressure),
        flags: Some(flags(&s.flags)),
        update: Some(i64::from(s.game_simulation_ticks)),
        ..Telemetry::default()
    }
}

/// RaceRoom's decoder.
#[derive(Debug)]
pub struct R3eFamily;

impl Family for R3eFamily {
    fn key(&self) -> &'static str {
        "r3e"
    }

    fn page(&self, file: &str) -> Option<Page> {
        (file == MAP).then_some(Page {
            label: "r3e",
            len: SHARED_LEN,
            needed: size_of::<pages::SharedPage>(),
            protocol: Protocol::Settled,
        })
    }

    fn scenario(&self) -> Option<&'static dyn Scenario> {
        Some(&synthetic::SESSION)
    }

    fn decode(&self, copies: &Copies<'_>) -> Decoded {
        let mut out = Decoded::default();
        let Some(s) = copies.get("r3e").and_then(Shared::decode) else {
            return out;
        };
        let version = (s.version_major, s.version_minor);
        if version == VERSION {
            out.telemetry = telemetry(&s);
            out.notes.push((
                "raceroom",
                format!("shared memory {}.{}, physics tick {}", version.0, version.1, s.game_simulation_ticks),
            ));
        } else if version == (0, 0) {
            out.notes.push(("raceroom", "no RaceRoom data yet (version 0.0): is a session loaded?".into()));
        } else {
            out.notes.push((
                "raceroom",
                format!(
                    "shared memory version {}.{}; shm-bridge reads {}.{} (the fields move between versions)",
                    version.0, version.1, VERSION.0, VERSION.1
                ),
            ));
        }
        out.pages.push(("r3e", serde_json::to_value(&s).unwrap_or_default()));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(page: &[u8]) -> Decoded {
        let mut copies = Copies::default();
        copies.push("r3e", page);
        FAMILY.decode(&copies)
    }

    #[test]
    fn garbage_and_other_versions_give_nothing_and_say_why() {
        let mut seed = 11u64;
        let noise: Vec<u8> = (0..SHARED_LEN)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        for page in [vec![0u8; SHARED_LEN], vec![0xff; SHARED_LEN], noise] {
            let d = decode(&page);
            assert_eq!(d.telemetry, Telemetry::default());
            assert_eq!(d.notes.len(), 1);
        }
        assert!(decode(&[0; SHARED_LEN]).notes[0].1.contains("no RaceRoom data yet"));
        let mut page = vec![0u8; SHARED_LEN];
        let mut old = synthetic::shared(5);
        old.version_minor = 4;
        old.encode(&mut page);
        let d = decode(&page);
        assert_eq!(d.telemetry, Telemetry::default());
        assert!(d.notes[0].1.contains("version 3.4; shm-bridge reads 3.5"), "{:?}", d.notes);
        let short = decode(&page[..size_of::<pages::SharedPage>() - 1]);
        assert!(short.pages.is_empty() && short.notes.is_empty());
    }

    #[test]
    fn what_raceroom_does_not_know_is_none() {
        let mut s = synthetic::shared(5);
        (s.gear, s.engine_rps, s.clutch, s.completed_laps) = (-2, -1.0, -1.0, -1);
        s.tire_temp[2][1] = -1.0;
        (s.lap_time_previous_self, s.session_time_remaining) = (-1.0, -1.0);
        s.game_paused = 1;
        let mut page = vec![0u8; SHARED_LEN];
        s.encode(&mut page);
        let t = decode(&page).telemetry;
        assert_eq!((t.gear, t.rpm, t.clutch, t.lap), (None, None, None, None));
        assert_eq!((t.tyre_temps_c, t.last_lap_ms), (None, None));
        assert_eq!(t.session.unwrap().time_left_s, None);
        assert_eq!(t.status, Some(Status::Paused));
        assert_eq!(t.rpm, None);
        assert_eq!(rpm(std::f32::consts::TAU * 100.0), Some(6000));
    }

    #[test]
    fn flags_are_the_models() {
        let f = Flags {
            yellow: 1,
            blue: -1,
            black_and_white: 4,
            green: 0,
            ..Flags::default()
        };
        assert_eq!(flags(&f), [Flag::Yellow, Flag::Penalty]);
    }
}
