//! The Project CARS 2 family: Project CARS 2 and Automobilista 2, which
//! kept its shared memory API (`$pcars2$`, one page).
//!
//! The game makes `mSequenceNumber` odd when it starts writing and even
//! again when it is done ("to help slightly with data integrity reads",
//! `SharedMemory.h`; CrewChief's reader copies until it reads even); a copy
//! is whole when the number is even and the same before and after it.
//! The player is the viewed participant (`mViewedParticipantIndex`), as
//! the API has no other index of them (CrewChief's reader says the same).

mod pages;
pub mod synthetic;

use super::{Copies, Decoded, Family, Page, Protocol};
use crate::model::convert::{kmh_from_mps, ms_from_seconds, whole};
use crate::model::{Flag, Session, Status, Telemetry};
use crate::scenario::Scenario;
pub use pages::{NEEDED, PARTICIPANTS, Participant, SEQUENCE_OFFSET, Shared};

/// The page's mapping name.
pub const SHARED: &str = "$pcars2$";
/// Bytes of version 14's struct (Automobilista 2), the largest published.
pub const SHARED_LEN: usize = 20700;
/// The first version of the API with the sequence number and this layout
/// (Project CARS 2's).
pub const FIRST_VERSION: u32 = 9;
/// Versions past this are not the API's (it grows by one a release).
const LAST_PLAUSIBLE_VERSION: u32 = 1000;

/// The family, registered by `build.rs`.
pub static FAMILY: Pcars2Family = Pcars2Family;

/// The Project CARS 2 family's decoder.
#[derive(Debug)]
pub struct Pcars2Family;

impl Family for Pcars2Family {
    fn key(&self) -> &'static str {
        "pcars2"
    }

    fn page(&self, file: &str) -> Option<Page> {
        (file == SHARED).then_some(Page {
            label: "shared",
            len: SHARED_LEN,
            needed: NEEDED,
            protocol: Protocol::OddWhileWriting {
                offset: SEQUENCE_OFFSET,
            },
        })
    }

    fn scenario(&self) -> Option<&'static dyn Scenario> {
        Some(&synthetic::SESSION)
    }

    fn decode(&self, pages: &Copies<'_>) -> Decoded {
        let mut out = Decoded::default();
        let Some(shared) = pages.get("shared").and_then(Shared::decode) else {
            return out;
        };
        out.notes.push((
            "versions",
            format!(
                "shared memory {}, build {}",
                shared.version, shared.build_version_number
            ),
        ));
        out.notes
            .push(("sequence", shared.sequence_number.to_string()));
        match why_not_decoded(&shared) {
            Some(why) => out.notes.push(("not decoded", why)),
            None => out.telemetry = telemetry(&shared),
        }
        out.pages.push((
            "shared",
            serde_json::to_value(&shared).unwrap_or_default(),
        ));
        out
    }
}

/// Why the page says its fields mean nothing, if it does.
fn why_not_decoded(s: &Shared) -> Option<String> {
    if s.version == 0 {
        return Some("the game has not written the page (version 0)".into());
    }
    if !(FIRST_VERSION..=LAST_PLAUSIBLE_VERSION).contains(&s.version) {
        return Some(format!(
            "version {} is not Project CARS 2's shared memory ({FIRST_VERSION} or later)",
            s.version
        ));
    }
    None
}

/// Type#1 game state as the model's status; `None` while restarting.
fn status(game_state: u32) -> Option<Status> {
    match game_state {
        0 | 1 => Some(Status::Menu),
        // 4: a menu over a session whose clock still runs.
        2 | 4 => Some(Status::Live),
        3 => Some(Status::Paused),
        6 | 7 => Some(Status::Replay),
        _ => None,
    }
}

/// Type#2 session state in words.
fn session_kind(code: u32) -> Option<&'static str> {
    Some(match code {
        1 => "practice",
        2 => "test",
        3 => "qualifying",
        4 => "formation lap",
        5 => "race",
        6 => "time attack",
        _ => return None,
    })
}

/// Type#5 flag colour as the model's flags; `None` for a code the API
/// does not know.
fn flag_colour(code: u32) -> Option<Vec<Flag>> {
    Some(match code {
        0 => vec![],
        1 => vec![Flag::Green],
        2 => vec![Flag::Blue],
        // A slow car ahead, or the last lap.
        3 | 4 => vec![Flag::White],
        5 => vec![Flag::Red],
        // Yellow, double yellow.
        6 | 7 => vec![Flag::Yellow],
        // Black and white: unsportsmanlike conduct.
        8 => vec![Flag::Penalty],
        // Black with an orange disc (mechanical failure), black.
        9 | 10 => vec![Flag::Black],
        11 => vec![Flag::Checkered],
        _ => return None,
    })
}

/// The flags shown: the highest flag, and a drive-through or stop-go
/// penalty the pit schedule holds (Type#8 5 and 6).
fn flags(s: &Shared) -> Option<Vec<Flag>> {
    let mut flags = flag_colour(s.highest_flag_colour)?;
    if matches!(s.pit_schedule, 5 | 6) && !flags.contains(&Flag::Penalty) {
        flags.push(Flag::Penalty);
    }
    Some(flags)
}

/// The text of a string field, or `None` when the game left it empty.
fn text(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// A lap time the game gave in seconds: none before the first (0, or -1).
fn lap_ms(seconds: f32) -> Option<i64> {
    ms_from_seconds(seconds).filter(|&ms| ms > 0)
}

/// The viewed participant, if the index is one of the cars there are.
fn viewed(s: &Shared) -> Option<&Participant> {
    let count = usize::try_from(s.num_participants).ok()?;
    let index = usize::try_from(s.viewed_participant_index).ok()?;
    (index < count.min(PARTICIPANTS))
        .then_some(s.viewed.as_ref())
        .flatten()
}

/// The model from a page of a version this decoder knows.
fn telemetry(s: &Shared) -> Telemetry {
    let status = status(s.game_state);
    if status == Some(Status::Menu) {
        // No session: what the page holds is a past one's.
        return Telemetry {
            status,
            update: Some(i64::from(s.sequence_number / 2)),
            ..Telemetry::default()
        };
    }
    let me = viewed(s);
    let laps_done = me.map(|p| p.laps_completed);
    let track = match (text(&s.track_location), text(&s.track_variation)) {
        (Some(location), Some(variation)) => Some(format!("{location} {variation}")),
        (location, _) => location,
    };
    let capacity = Some(s.fuel_capacity).filter(|&c| c > 0.0 && c.is_finite());
    Telemetry {
        car: text(&s.car_name),
        track,
        driver: me.and_then(|p| text(&p.name)),
        session: Some(Session {
            kind: session_kind(s.session_state).map(str::to_owned),
            time_left_s: Some(s.event_time_remaining / 1000.0).filter(|t| *t >= 0.0),
            laps_left: laps_done
                .filter(|_| s.laps_in_event > 0)
                .map(|done| s.laps_in_event.saturating_sub(done))
                .and_then(|left| i32::try_from(left).ok()),
        }),
        status,
        speed_kmh: Some(kmh_from_mps(s.speed)),
        rpm: whole(s.rpm),
        max_rpm: whole(s.max_rpm).filter(|&m| m > 0),
        gear: Some(s.gear),
        throttle: Some(s.unfiltered_throttle),
        brake: Some(s.unfiltered_brake),
        clutch: Some(s.unfiltered_clutch),
        steering: Some(s.unfiltered_steering),
        fuel_l: capacity.map(|c| s.fuel_level * c),
        fuel_capacity_l: capacity,
        lap: laps_done
            .and_then(|done| i32::try_from(done).ok())
            .and_then(|done| done.checked_add(1)),
        position: me
            .and_then(|p| i32::try_from(p.race_position).ok())
            .filter(|&p| p > 0),
        cars: Some(s.num_participants).filter(|&n| n > 0),
        lap_time_ms: ms_from_seconds(s.current_time).filter(|&ms| ms >= 0),
        last_lap_ms: lap_ms(s.last_lap_time),
        best_lap_ms: lap_ms(s.best_lap_time),
        tyre_temps_c: Some(s.tyre_temp),
        tyre_pressures_kpa: Some(s.air_pressure),
        flags: flags(s),
        update: Some(i64::from(s.sequence_number / 2)),
        ..Telemetry::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(page: &[u8]) -> Decoded {
        let mut copies = Copies::default();
        copies.push("shared", page);
        FAMILY.decode(&copies)
    }

    fn note<'a>(d: &'a Decoded, label: &str) -> Option<&'a str> {
        d.notes.iter().find(|(l, _)| *l == label).map(|(_, n)| n.as_str())
    }

    #[test]
    fn bad_pages_decode_to_nothing_with_a_note_and_never_panic() {
        let zeros = decode(&vec![0u8; SHARED_LEN]);
        assert_eq!(zeros.telemetry, Telemetry::default());
        assert!(note(&zeros, "not decoded").unwrap().contains("has not written"));
        let ones = decode(&vec![0xffu8; SHARED_LEN]);
        assert_eq!(ones.telemetry, Telemetry::default());
        assert!(note(&ones, "not decoded").unwrap().contains("version 4294967295"));
        // Random bytes: whatever they hold, no panic, and JSON for the page.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..200 {
            let page: Vec<u8> = (0..SHARED_LEN)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            let decoded = decode(&page);
            assert_eq!(decoded.pages.len(), 1);
        }
        // Exactly what the decoder reads decodes; a byte less does not.
        assert_eq!(decode(&vec![0u8; NEEDED]).pages.len(), 1);
        let short = decode(&vec![0u8; NEEDED - 1]);
        assert!(short.pages.is_empty() && short.notes.is_empty());
        assert_eq!(short.telemetry, Telemetry::default());
    }

    #[test]
    fn a_page_of_a_known_version_in_menus_says_so_and_nothing_stale() {
        let mut s = synthetic::shared(100);
        s.game_state = 1;
        let mut page = vec![0u8; SHARED_LEN];
        s.encode(&[], &mut page);
        let t = decode(&page).telemetry;
        assert_eq!(t.status, Some(Status::Menu));
        assert_eq!((t.speed_kmh, t.car, t.update), (None, None, Some(100)));
    }

    #[test]
    fn the_model_is_in_its_own_units() {
        let s = synthetic::shared(6000 * 2 + 30);
        let mut page = vec![0u8; SHARED_LEN];
        s.encode(&synthetic::others(1), &mut page);
        let t = decode(&page).telemetry;
        assert_eq!(t.speed_kmh, Some(s.speed * 3.6));
        assert_eq!(t.fuel_l, Some(s.fuel_level * s.fuel_capacity));
        assert_eq!(t.last_lap_ms, Some(105_250));
        assert_eq!(t.lap, Some(3));
        assert_eq!(t.driver.as_deref(), Some("Demo Driver"));
        assert_eq!(t.track.as_deref(), Some("Spa-Francorchamps Grand Prix"));
    }

    #[test]
    fn a_viewed_participant_past_the_cars_there_are_is_no_one() {
        let mut s = synthetic::shared(10);
        s.num_participants = 2;
        let mut page = vec![0u8; SHARED_LEN];
        s.encode(&synthetic::others(10), &mut page);
        let t = decode(&page).telemetry;
        assert_eq!((t.driver, t.lap, t.position), (None, None, None));
        assert_eq!(t.cars, Some(2));
    }

    #[test]
    fn flags_and_penalties_are_the_pages_and_unknown_codes_none() {
        let with = |colour, schedule| Shared {
            highest_flag_colour: colour,
            pit_schedule: schedule,
            ..Shared::default()
        };
        assert_eq!(flags(&with(0, 0)), Some(vec![]));
        assert_eq!(flags(&with(7, 0)), Some(vec![Flag::Yellow]));
        assert_eq!(flags(&with(2, 5)), Some(vec![Flag::Blue, Flag::Penalty]));
        assert_eq!(flags(&with(8, 6)), Some(vec![Flag::Penalty]));
        assert_eq!(flags(&with(12, 0)), None);
    }
}
