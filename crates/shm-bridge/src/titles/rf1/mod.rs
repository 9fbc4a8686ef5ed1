//! The rFactor 1 family: rFactor and Automobilista (and other titles on
//! rFactor's engine) with the rFactor shared memory map plugin
//! (dallongo/rFactorSharedMemoryMap), whose one page is `$rFactorShared$`.
//!
//! The plugin writes its fields in place as the game calls it, with no
//! counter nor lock: a copy is whole when two agree
//! ([`Protocol::Settled`]). Its session clock (`currentET`, which it moves
//! on each telemetry update) in ms is the model's `update`. The page names
//! no car, and gives no tank size: those stay `None`. Nothing is read from
//! a page whose version field is not the plugin's: a layout of another
//! version (or of another plugin) would give made-up numbers.
//!
//! Session codes, phases and flags are rFactor's Internals Plugin API's,
//! as rFactor 2's ([`super::rf2::model`]).

mod pages;
pub mod synthetic;

pub use pages::{SHARED_LEN, Shared, Vehicle, Wheel};

use super::rf2::model::{
    FlagState, finite, flags, four, kmh, lap_ms, ms, name, rpm, session_kind, status,
};
use super::rf2::used;
use super::{Copies, Decoded, Family, Page, Protocol};
use crate::model::{Session, Telemetry};
use crate::scenario::Scenario;

/// The page's mapping name.
pub const SHARED: &str = "$rFactorShared$";

/// The family, registered by `build.rs`.
pub static FAMILY: Rf1Family = Rf1Family;

/// A lap count beyond any race's marks a session without a lap limit.
const NO_LAP_LIMIT: i32 = 10_000;

/// Whether `version` is a version number as the plugin writes its own
/// at the page's start: four numbers and dots ("3.0.0.0").
fn is_version(version: &str) -> bool {
    let parts: Vec<&str> = version.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// The rFactor 1 family's decoder.
#[derive(Debug)]
pub struct Rf1Family;

impl Family for Rf1Family {
    fn key(&self) -> &'static str {
        "rf1"
    }

    fn page(&self, file: &str) -> Option<Page> {
        (file == SHARED).then_some(Page {
            label: "shared",
            len: SHARED_LEN,
            needed: SHARED_LEN,
            protocol: Protocol::Settled,
        })
    }

    fn scenario(&self) -> Option<&'static dyn Scenario> {
        Some(&synthetic::SESSION)
    }

    fn decode(&self, pages: &Copies<'_>) -> Decoded {
        let Some(bytes) = pages.get("shared") else {
            return Decoded::default();
        };
        let Some(shared) = Shared::decode(bytes) else {
            return Decoded {
                notes: vec![("shared", "the page ends before its vehicles".into())],
                ..Decoded::default()
            };
        };
        let mut out = Decoded::default();
        if is_version(&shared.version) {
            out.telemetry = telemetry(&shared);
            out.notes
                .push(("plugin", format!("version {}", shared.version)));
            out.notes.push(("player", player_note(&shared)));
        } else {
            out.notes.push((
                "plugin",
                "no version at the page's start: not the plugin's page (or it has not started)"
                    .into(),
            ));
        }
        if let Ok(value) = serde_json::to_value(&shared) {
            out.pages.push(("shared", value));
        }
        out
    }
}

/// Whose vehicle is shown, or why none is.
fn player_note(s: &Shared) -> String {
    match &s.player {
        _ if used(s.num_vehicles, pages::MAX_VEHICLES) == 0 => "no session loaded (no vehicles)".into(),
        Some(p) => format!("{} (place {})", p.driver_name, p.place),
        None => "no vehicle is the player's".into(),
    }
}

/// The model from a page of the plugin's version.
fn telemetry(s: &Shared) -> Telemetry {
    let loaded = used(s.num_vehicles, pages::MAX_VEHICLES) > 0;
    let car = loaded.then_some(s);
    let player = s.player.as_ref();
    let f = |v: f32| finite(f64::from(v)).map(|v| v as f32);
    Telemetry {
        track: car.and_then(|s| name(&s.track_name)),
        driver: player
            .and_then(|p| name(&p.driver_name))
            .or_else(|| car.and_then(|s| name(&s.player_name))),
        session: car.map(|s| Session {
            kind: session_kind(s.session).map(str::to_owned),
            time_left_s: f(s.end_et - s.current_et)
                .filter(|_| s.end_et > 0.0)
                .map(|left| left.max(0.0)),
            laps_left: player
                .filter(|_| (1..NO_LAP_LIMIT).contains(&s.max_laps))
                .map(|p| (s.max_laps - i32::from(p.total_laps)).max(0)),
        }),
        status: Some(status(loaded, s.in_realtime, s.game_phase)),
        cars: car.map(|s| s.num_vehicles),
        flags: car.map(|s| {
            flags(FlagState {
                game_phase: s.game_phase,
                yellow_flag_state: s.yellow_flag_state,
                sector_flag: s.sector_flag,
                player: player.map(|p| (p.sector, 0, p.finish_status, p.num_penalties)),
            })
        }),
        speed_kmh: car.and_then(|s| kmh(f64::from(s.speed))),
        rpm: car.and_then(|s| rpm(f64::from(s.engine_rpm))),
        max_rpm: car
            .and_then(|s| rpm(f64::from(s.engine_max_rpm)))
            .filter(|&m| m > 0),
        gear: car.map(|s| s.gear),
        throttle: car.and_then(|s| f(s.unfiltered_throttle)),
        brake: car.and_then(|s| f(s.unfiltered_brake)),
        clutch: car.and_then(|s| f(s.unfiltered_clutch)),
        steering: car.and_then(|s| f(s.unfiltered_steering)),
        fuel_l: car.and_then(|s| f(s.fuel)),
        lap: player.map(|p| i32::from(p.total_laps) + 1),
        position: player.map(|p| i32::from(p.place)).filter(|&p| p > 0),
        last_lap_ms: player.and_then(|p| lap_ms(f64::from(p.last_lap_time))),
        best_lap_ms: player.and_then(|p| lap_ms(f64::from(p.best_lap_time))),
        lap_time_ms: car
            .and_then(|s| ms(f64::from(s.current_et) - f64::from(s.lap_start_et)))
            .filter(|&t| t >= 0),
        // No core: the tread's three, averaged.
        tyre_temps_c: car.and_then(|s| {
            four(s.wheels.map(|w| {
                w.temperature.iter().map(|&t| f64::from(t)).sum::<f64>() / 3.0
            }))
        }),
        tyre_pressures_kpa: car.and_then(|s| four(s.wheels.map(|w| f64::from(w.pressure)))),
        update: ms(f64::from(s.current_et)),
        ..Telemetry::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;

    fn decode(bytes: &[u8]) -> Decoded {
        let mut copies = Copies::default();
        copies.push("shared", bytes);
        FAMILY.decode(&copies)
    }

    fn note(d: &Decoded, label: &str) -> String {
        d.note(label).unwrap_or_default().to_owned()
    }

    #[test]
    fn a_page_without_the_plugins_version_gives_nothing() {
        for fill in [0u8, 0xff, 0x37] {
            let d = decode(&vec![fill; SHARED_LEN]);
            assert_eq!(d.telemetry, Telemetry::default(), "filled with {fill:#x}");
            assert!(note(&d, "plugin").contains("no version"), "{:?}", d.notes);
            assert_eq!(d.pages.len(), 1, "the page is still shown");
        }
        let mut seed = 0xd1b5_4a32_d192_ed03_u64;
        for _ in 0..50 {
            let mut bytes: Vec<u8> = (0..SHARED_LEN)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            decode(&bytes);
            bytes[..8].copy_from_slice(b"3.0.0.0\0");
            decode(&bytes);
        }
    }

    #[test]
    fn the_plugins_empty_page_is_no_session() {
        let mut bytes = vec![0u8; SHARED_LEN];
        bytes[..8].copy_from_slice(b"3.0.0.0\0");
        let d = decode(&bytes);
        let t = &d.telemetry;
        assert_eq!(t.status, Some(Status::Menu));
        assert_eq!((t.speed_kmh, t.rpm, t.gear, t.lap, t.cars), (None, None, None, None, None));
        assert_eq!(t.update, Some(0));
        assert!(note(&d, "player").contains("no session loaded"), "{:?}", d.notes);
    }

    #[test]
    fn short_pages_decode_what_they_hold() {
        let frame = synthetic::SESSION.frame(6001);
        let b = &frame[0].bytes;
        let mut whole = vec![0u8; SHARED_LEN];
        whole[..b.len()].copy_from_slice(b);
        assert_eq!(decode(&whole).telemetry.update, Some(6001));
        let d = decode(&b[..614]);
        assert_eq!(d.telemetry, Telemetry::default());
        assert!(note(&d, "shared").contains("ends before"), "{:?}", d.notes);
        let d = decode(&b[..615 + 100]);
        assert_eq!((d.telemetry.lap, d.telemetry.gear.is_some()), (None, true));
    }

    #[test]
    fn a_page_half_of_one_update_and_half_of_the_next_is_told_apart() {
        let (a, b) = (synthetic::SESSION.frame(700), synthetic::SESSION.frame(701));
        let mut torn = a[0].bytes.clone();
        let half = torn.len() / 2;
        torn[half..].copy_from_slice(&b[0].bytes[half..]);
        let page = |bytes: &[u8]| decode(bytes).pages[0].1.clone();
        assert!(synthetic::SESSION.check_page("shared", &page(&torn)).is_err());
        synthetic::SESSION.check_page("shared", &page(&a[0].bytes)).unwrap();
    }
}
