//! The Le Mans Ultimate family: the game's own shared memory, `LMU_Data`
//! (its `SharedMemoryInterface.hpp`), and the spin lock it writes it
//! under, `LMU_SharedMemoryLockData`. The player's vehicle is the one the
//! header marks: `playerVehicleIdx` (with `playerHasVehicle`) among the
//! telemetry records, `mIsPlayer` in scoring.
//!
//! A copy is whole by the lock, read and never taken
//! ([`Protocol::BusyLock`]): the SDK's readers take it with an interlocked
//! exchange on the game's page and wait on its event, which a reader on
//! Linux must not do to a game it could then stall. The page has no
//! counter: the model's `update` is the player's session clock in ms
//! (`mElapsedTime`), which moves with each telemetry update.
//!
//! The records and their model are rFactor 2's ([`super::rf2`]).

mod pages;
pub mod synthetic;

pub use pages::{DATA_LEN, Data, Generic, LOCK_BUSY, LOCK_LEN, Lock, Scoring, Telemetry};

use super::rf2::{model, used};
use super::{Copies, Decoded, Family, Page, Protocol};
use crate::scenario::Scenario;

/// The page's mapping name.
pub const DATA: &str = "LMU_Data";
/// The lock's mapping name.
pub const LOCK: &str = "LMU_SharedMemoryLockData";

/// The family, registered by `build.rs`.
pub static FAMILY: LmuFamily = LmuFamily;

/// The Le Mans Ultimate family's decoder.
#[derive(Debug)]
pub struct LmuFamily;

impl Family for LmuFamily {
    fn key(&self) -> &'static str {
        "lmu"
    }

    fn page(&self, file: &str) -> Option<Page> {
        Some(match file {
            DATA => Page {
                label: "data",
                len: DATA_LEN,
                needed: DATA_LEN,
                protocol: Protocol::BusyLock {
                    lock: LOCK,
                    busy: LOCK_BUSY,
                },
            },
            LOCK => Page {
                label: "lock",
                len: LOCK_LEN,
                needed: LOCK_LEN,
                protocol: Protocol::Settled,
            },
            _ => return None,
        })
    }

    fn scenario(&self) -> Option<&'static dyn Scenario> {
        Some(&synthetic::SESSION)
    }

    fn decode(&self, pages: &Copies<'_>) -> Decoded {
        let data = pages.get("data").map(Data::decode);
        let lock = pages.get("lock").and_then(Lock::decode);
        let read = data.as_ref().and_then(|d| d.as_ref());
        let car = read.and_then(|d| d.telemetry.player.as_ref());
        let mut telemetry = model::telemetry(
            read.map(|d| &d.scoring.info),
            pages::MAX_VEHICLES,
            read.and_then(|d| d.scoring.player.as_ref()),
            car,
        );
        telemetry.update = car.and_then(|c| model::ms(c.elapsed_time));
        let mut out = Decoded {
            telemetry,
            ..Decoded::default()
        };
        if let Some(d) = read {
            out.notes
                .push(("game", format!("version {}", d.generic.game_version)));
            out.notes.push(("player", player_note(d)));
        }
        if matches!(data, Some(None)) {
            out.notes
                .push(("data", "the page ends before its vehicles".into()));
        }
        if let Some(l) = lock {
            let state = if l.busy == 0 { "free" } else { "held" };
            out.notes
                .push(("lock", format!("{state}, {} waiting", l.waiters)));
        }
        let json = |value: Result<serde_json::Value, _>| value.unwrap_or_default();
        if let Some(d) = read {
            out.pages.push(("data", json(serde_json::to_value(d))));
        }
        if let Some(l) = lock {
            out.pages.push(("lock", json(serde_json::to_value(l))));
        }
        out
    }
}

/// Whose vehicle is shown, or why none is.
fn player_note(d: &Data) -> String {
    let t = &d.telemetry;
    match (&d.scoring.player, &t.player) {
        _ if used(d.scoring.info.num_vehicles, pages::MAX_VEHICLES) == 0 => {
            "no session loaded (no vehicles)".into()
        }
        (Some(s), Some(c)) if s.id != c.id => format!(
            "scoring marks slot {}, telemetry record {} is slot {}",
            s.id, t.player_vehicle_idx, c.id
        ),
        (_, Some(c)) => format!("slot {} (telemetry record {})", c.id, t.player_vehicle_idx),
        (Some(s), None) => format!("slot {} has no telemetry record", s.id),
        (None, None) => "the game marks no vehicle as the player's".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;

    fn decode(data: &[u8], lock: &[u8]) -> Decoded {
        let mut copies = Copies::default();
        copies.push("data", data);
        copies.push("lock", lock);
        FAMILY.decode(&copies)
    }

    fn note(d: &Decoded, label: &str) -> String {
        d.note(label).unwrap_or_default().to_owned()
    }

    #[test]
    fn zeros_ones_and_random_bytes_decode_to_nothing_made_up() {
        let d = decode(&vec![0; DATA_LEN], &[0; 8]);
        let t = &d.telemetry;
        assert_eq!(t.status, Some(Status::Menu));
        assert_eq!((t.speed_kmh, t.rpm, t.lap, t.update), (None, None, None, None));
        assert_eq!((t.track.as_deref(), t.cars, t.flags.as_ref()), (None, None, None));
        assert!(note(&d, "player").contains("no session loaded"), "{:?}", d.notes);
        assert_eq!(note(&d, "lock"), "free, 0 waiting");
        let d = decode(&vec![0xff; DATA_LEN], &[0xff; 8]);
        assert_eq!((d.telemetry.speed_kmh, d.telemetry.lap), (None, None));
        assert!(note(&d, "player").contains("no session"), "{:?}", d.notes);
        assert_eq!(note(&d, "lock"), "held, -1 waiting");
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..20 {
            let bytes: Vec<u8> = (0..DATA_LEN)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            decode(&bytes, &bytes[..8]);
        }
    }

    #[test]
    fn short_pages_decode_what_they_hold() {
        let frame = synthetic::SESSION.frame(6001);
        let b = &frame[0].bytes;
        let mut whole = vec![0u8; DATA_LEN];
        whole[..b.len()].copy_from_slice(b);
        let d = decode(&whole, &[0; 8]);
        assert_eq!(d.telemetry.update, Some(6001));
        assert_eq!(note(&d, "player"), "slot 7 (telemetry record 1)");
        for cut in [0, 331, 2179, 2180, 128_470, 128_468 + 2 * 1888 - 1] {
            let d = decode(&b[..cut], &[0; 4]);
            assert_eq!(d.telemetry.speed_kmh, None, "cut at {cut}");
            assert!(d.pages.iter().all(|(l, _)| *l != "lock"));
        }
        assert!(note(&decode(&b[..100], &[]), "data").contains("ends before"));
        let d = decode(&b[..128_470], &[]);
        assert_eq!(d.telemetry.lap, Some(1), "scoring without telemetry");
        assert_eq!(note(&d, "player"), "slot 7 has no telemetry record");
    }

    #[test]
    fn a_page_half_of_one_update_and_half_of_the_next_is_told_apart() {
        let (a, b) = (synthetic::SESSION.frame(700), synthetic::SESSION.frame(701));
        let mut torn = a[0].bytes.clone();
        let half = torn.len() / 2;
        torn[..half].copy_from_slice(&b[0].bytes[..half]);
        let page = |d: &Decoded| d.pages.iter().find(|(l, _)| *l == "data").unwrap().1.clone();
        let check = |bytes: &[u8]| synthetic::SESSION.check_page("data", &page(&decode(bytes, &[0; 8])));
        assert!(check(&torn).is_err());
        check(&a[0].bytes).unwrap();
    }
}
