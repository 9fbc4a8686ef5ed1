//! The rFactor 2 family: the output buffers of the rF2 Shared Memory Map
//! Plugin (TheIronWolfModding/rF2SharedMemoryMapPlugin, which CrewChief,
//! SimHub and simapi read), `$rFactor2SMMP_Telemetry$` and
//! `$rFactor2SMMP_Scoring$`. The player's vehicle is the one scoring marks
//! `mIsPlayer`; its telemetry is the record with the same slot id `mID`.
//! Each buffer's version pair tells a whole copy; the telemetry's is the
//! model's `update`.
//!
//! Its [`isi`] records and [`model`] are Le Mans Ultimate's too, whose
//! header derives from the same plugin API.

pub mod isi;
pub mod model;
mod pages;
pub mod synthetic;

pub use pages::{SCORING_PAGE_LEN, ScoringBuffer, TELEMETRY_PAGE_LEN, TelemetryBuffer};
pub use pages::{record, used};

use super::{Copies, Decoded, Family, Page, Protocol};
use crate::scenario::Scenario;

/// The telemetry buffer's mapping name.
pub const TELEMETRY: &str = "$rFactor2SMMP_Telemetry$";
/// The scoring buffer's mapping name.
pub const SCORING: &str = "$rFactor2SMMP_Scoring$";

/// The version block at each buffer's start.
const VERSION_PAIR: Protocol = Protocol::VersionPair { begin: 0, end: 4 };

/// The family, registered by `build.rs`.
pub static FAMILY: Rf2Family = Rf2Family;

/// The rFactor 2 family's decoder.
#[derive(Debug)]
pub struct Rf2Family;

impl Family for Rf2Family {
    fn key(&self) -> &'static str {
        "rf2"
    }

    fn page(&self, file: &str) -> Option<Page> {
        Some(match file {
            TELEMETRY => Page {
                label: "telemetry",
                len: TELEMETRY_PAGE_LEN,
                needed: TELEMETRY_PAGE_LEN,
                protocol: VERSION_PAIR,
            },
            SCORING => Page {
                label: "scoring",
                len: SCORING_PAGE_LEN,
                needed: SCORING_PAGE_LEN,
                protocol: VERSION_PAIR,
            },
            _ => return None,
        })
    }

    fn scenario(&self) -> Option<&'static dyn Scenario> {
        Some(&synthetic::SESSION)
    }

    fn decode(&self, pages: &Copies<'_>) -> Decoded {
        let scoring = pages.get("scoring").map(ScoringBuffer::decode);
        let scored = scoring.as_ref().and_then(|s| s.as_ref());
        let player = scored.and_then(|s| s.player.as_ref());
        let telemetry = pages
            .get("telemetry")
            .map(|b| TelemetryBuffer::decode(b, player.map(|p| p.id)));
        let driven = telemetry.as_ref().and_then(|t| t.as_ref());
        let mut model = model::telemetry(
            scored.map(|s| &s.info),
            pages::MAX_VEHICLES,
            player,
            driven.and_then(|t| t.player.as_ref()),
        );
        model.update = driven.map(|t| i64::from(t.version_end));
        let mut out = Decoded {
            telemetry: model,
            ..Decoded::default()
        };
        let versions: Vec<String> = driven
            .map(|t| format!("telemetry {}", t.version_end))
            .into_iter()
            .chain(scored.map(|s| format!("scoring {}", s.version_end)))
            .collect();
        if !versions.is_empty() {
            out.notes.push(("versions", versions.join(", ")));
        }
        if matches!(scoring, Some(None)) || matches!(telemetry, Some(None)) {
            out.notes
                .push(("pages", "a page is shorter than its header".into()));
        }
        if let Some(s) = scored {
            out.notes.push(("player", player_note(s, driven)));
        }
        let json = |value: Result<serde_json::Value, _>| value.unwrap_or_default();
        if let Some(t) = driven {
            out.pages.push(("telemetry", json(serde_json::to_value(t))));
        }
        if let Some(s) = scored {
            out.pages.push(("scoring", json(serde_json::to_value(s))));
        }
        out
    }
}

/// Whose vehicle is shown, or why none is.
fn player_note(s: &ScoringBuffer, t: Option<&TelemetryBuffer>) -> String {
    if s.version_begin != s.version_end {
        return "scoring was being written (its versions differ)".into();
    }
    if used(s.info.num_vehicles, pages::MAX_VEHICLES) == 0 {
        return "no session loaded (no vehicles in scoring)".into();
    }
    let Some(p) = &s.player else {
        return "no vehicle in scoring is the player's".into();
    };
    match t {
        Some(t) if t.player.is_none() => format!("slot {} has no telemetry", p.id),
        _ => format!("slot {}", p.id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;

    fn decode(telemetry: &[u8], scoring: &[u8]) -> Decoded {
        let mut copies = Copies::default();
        copies.push("telemetry", telemetry);
        copies.push("scoring", scoring);
        FAMILY.decode(&copies)
    }

    fn note(d: &Decoded, label: &str) -> String {
        d.note(label).unwrap_or_default().to_owned()
    }

    #[test]
    fn zeros_are_no_session_and_decode_to_nothing_made_up() {
        let d = decode(&vec![0; TELEMETRY_PAGE_LEN], &vec![0; SCORING_PAGE_LEN]);
        let t = &d.telemetry;
        assert_eq!(t.status, Some(Status::Menu));
        assert_eq!((t.speed_kmh, t.rpm, t.gear, t.lap), (None, None, None, None));
        assert_eq!((t.track.as_deref(), t.cars, t.flags.as_ref()), (None, None, None));
        assert_eq!(t.update, Some(0));
        assert!(note(&d, "player").contains("no session loaded"), "{:?}", d.notes);
    }

    #[test]
    fn ones_and_random_bytes_never_panic_nor_find_a_player_in_garbage_counts() {
        let d = decode(&vec![0xff; TELEMETRY_PAGE_LEN], &vec![0xff; SCORING_PAGE_LEN]);
        assert_eq!((d.telemetry.speed_kmh, d.telemetry.lap), (None, None));
        assert!(note(&d, "player").contains("no session"), "{:?}", d.notes);
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut random = |len: usize| -> Vec<u8> {
            (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect()
        };
        for _ in 0..20 {
            let (t, s) = (random(TELEMETRY_PAGE_LEN), random(SCORING_PAGE_LEN));
            decode(&t, &s);
        }
    }

    #[test]
    fn a_page_half_of_one_update_and_half_of_the_next_is_told_apart() {
        let (a, b) = (synthetic::SESSION.frame(700), synthetic::SESSION.frame(701));
        let page = |d: &Decoded, label| d.pages.iter().find(|(l, _)| *l == label).unwrap().1.clone();
        for (i, label) in [(0, "telemetry"), (1, "scoring")] {
            // The next update's first half over this one's, the versions kept.
            let mut pages = [a[0].bytes.clone(), a[1].bytes.clone()];
            let half = pages[i].len() / 2;
            pages[i][8..half].copy_from_slice(&b[i].bytes[8..half]);
            let torn = decode(&pages[0], &pages[1]);
            assert!(synthetic::SESSION.check_page(label, &page(&torn, label)).is_err());
            let whole = decode(&a[0].bytes, &a[1].bytes);
            synthetic::SESSION.check_page(label, &page(&whole, label)).unwrap();
        }
    }

    #[test]
    fn short_pages_decode_what_they_hold() {
        let frame = synthetic::SESSION.frame(6001);
        let (t, s) = (&frame[0].bytes, &frame[1].bytes);
        for cut in [0, 15, 16, 559, 560, 1000] {
            let d = decode(&t[..cut.min(t.len())], &s[..cut.min(s.len())]);
            assert_eq!(d.telemetry.lap, None, "cut at {cut}");
        }
        let d = decode(&t[..15], s);
        assert!(note(&d, "pages").contains("shorter"), "{:?}", d.notes);
        assert_eq!(d.telemetry.speed_kmh, None);
        assert_eq!(d.telemetry.lap, Some(2), "scoring alone still decodes");
        // Exactly the bytes needed: the whole layout.
        let mut whole_t = vec![0u8; TELEMETRY_PAGE_LEN];
        whole_t[..t.len()].copy_from_slice(t);
        let mut whole_s = vec![0u8; SCORING_PAGE_LEN];
        whole_s[..s.len()].copy_from_slice(s);
        let d = decode(&whole_t, &whole_s);
        assert_eq!(d.telemetry.update, Some(6001));
        assert_eq!(note(&d, "player"), "slot 7");
    }
}
