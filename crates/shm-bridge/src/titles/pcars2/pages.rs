//! The `$pcars2$` page's layout and its fields as shm-bridge shows them;
//! each field's offset is written once, in the layout structs.
//!
//! From the Project CARS 2 shared memory API's `SharedMemory.h` (Slightly
//! Mad Studios; version 9 in Project CARS 2, kept and extended at its end
//! by Reiza for Automobilista 2: version 14 as published with CREST2-AMS2,
//! viper4gh/CREST2-AMS2 `SharedMemory.h`). Natural (8-byte default)
//! packing, which leaves every field at its own size's alignment; the
//! offsets below were computed from that header with MinGW and are
//! asserted. Strings are 8-bit, NUL-terminated inside fixed arrays.

use serde::{Deserialize, Serialize};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::core::narrow::{from_narrow, to_fixed_narrow};

/// `STORED_PARTICIPANTS_MAX`.
pub const PARTICIPANTS: usize = 64;
/// `STRING_LENGTH_MAX`.
const STRING: usize = 64;

/// `ParticipantInfo` (100 bytes).
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub(super) struct ParticipantPage {
    is_active: u8,
    name: [u8; STRING],
    _pad: [u8; 3],
    world_position: [f32; 3],
    current_lap_distance: f32,
    race_position: u32,
    laps_completed: u32,
    current_lap: u32,
    current_sector: i32,
}

/// `SharedMemory` from its start through `mAirPressure` (the game's
/// struct is 20576 bytes in version 9, 20700 in version 14).
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub(super) struct SharedPage {
    version: u32,
    build_version_number: u32,
    game_state: u32,
    session_state: u32,
    race_state: u32,
    viewed_participant_index: i32,
    num_participants: i32,
    participants: [ParticipantPage; PARTICIPANTS],
    unfiltered_throttle: f32,
    unfiltered_brake: f32,
    unfiltered_steering: f32,
    unfiltered_clutch: f32,
    car_name: [u8; STRING],
    car_class_name: [u8; STRING],
    laps_in_event: u32,
    track_location: [u8; STRING],
    track_variation: [u8; STRING],
    track_length: f32,
    num_sectors: i32,
    lap_invalidated: u8,
    _pad: [u8; 3],
    best_lap_time: f32,
    last_lap_time: f32,
    current_time: f32,
    /// `mSplitTimeAhead`, `mSplitTimeBehind`, `mSplitTime`.
    _splits: [f32; 3],
    event_time_remaining: f32,
    /// `mPersonalFastestLapTime` to `mWorldFastestSector3Time`.
    _fastest: [f32; 14],
    highest_flag_colour: u32,
    highest_flag_reason: u32,
    pit_mode: u32,
    pit_schedule: u32,
    /// `mCarFlags` to `mFuelPressureKPa`.
    _car_state: [u32; 6],
    fuel_level: f32,
    fuel_capacity: f32,
    speed: f32,
    rpm: f32,
    max_rpm: f32,
    brake: f32,
    throttle: f32,
    clutch: f32,
    steering: f32,
    gear: i32,
    num_gears: i32,
    /// `mOdometerKM` to `mBoostAmount`, then the motion vectors
    /// (`mOrientation` to `mExtentsCentre`), then `mTyreFlags` to
    /// `mTyreSlipSpeed`.
    _to_tyre_temp: [u8; 188],
    tyre_temp: [f32; 4],
    /// `mTyreGrip` to `mBrakeTempCelsius`.
    _to_tread_temp: [u8; 112],
    tyre_tread_temp: [f32; 4],
    tyre_layer_temp: [f32; 4],
    tyre_carcass_temp: [f32; 4],
    tyre_rim_temp: [f32; 4],
    tyre_internal_air_temp: [f32; 4],
    /// `mCrashState` to `mCloudBrightness`.
    _damage_and_weather: [u8; 40],
    sequence_number: u32,
    /// `mWheelLocalPositionY`, `mSuspensionTravel`, `mSuspensionVelocity`.
    _suspension: [u8; 48],
    air_pressure: [f32; 4],
}

// The header's offsets, checked where the compiler can see them.
const _: () = {
    use std::mem::offset_of;
    assert!(size_of::<ParticipantPage>() == 100);
    assert!(offset_of!(ParticipantPage, race_position) == 84);
    assert!(offset_of!(ParticipantPage, current_sector) == 96);
    assert!(offset_of!(SharedPage, viewed_participant_index) == 20);
    assert!(offset_of!(SharedPage, participants) == 28);
    assert!(offset_of!(SharedPage, unfiltered_throttle) == 6428);
    assert!(offset_of!(SharedPage, car_name) == 6444);
    assert!(offset_of!(SharedPage, laps_in_event) == 6572);
    assert!(offset_of!(SharedPage, track_location) == 6576);
    assert!(offset_of!(SharedPage, lap_invalidated) == 6712);
    assert!(offset_of!(SharedPage, best_lap_time) == 6716);
    assert!(offset_of!(SharedPage, event_time_remaining) == 6740);
    assert!(offset_of!(SharedPage, highest_flag_colour) == 6800);
    assert!(offset_of!(SharedPage, pit_schedule) == 6812);
    assert!(offset_of!(SharedPage, fuel_level) == 6840);
    assert!(offset_of!(SharedPage, speed) == 6848);
    assert!(offset_of!(SharedPage, gear) == 6876);
    assert!(offset_of!(SharedPage, tyre_temp) == 7072);
    assert!(offset_of!(SharedPage, tyre_tread_temp) == 7200);
    assert!(offset_of!(SharedPage, tyre_carcass_temp) == 7232);
    assert!(offset_of!(SharedPage, tyre_internal_air_temp) == 7264);
    assert!(offset_of!(SharedPage, sequence_number) == 7320);
    assert!(offset_of!(SharedPage, air_pressure) == 7372);
    assert!(size_of::<SharedPage>() == 7388);
};

/// Where the game's `mSequenceNumber` is: odd while it writes.
pub const SEQUENCE_OFFSET: usize = std::mem::offset_of!(SharedPage, sequence_number);
/// Bytes the decoder reads.
pub const NEEDED: usize = size_of::<SharedPage>();

/// One participant, as shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Participant {
    /// Whether the slot holds a car.
    pub is_active: bool,
    /// The driver's name.
    pub name: String,
    /// Metres into the lap.
    pub current_lap_distance: f32,
    /// Race position, 1 for the leader (0 unset).
    pub race_position: u32,
    /// Laps completed.
    pub laps_completed: u32,
    /// The lap being driven.
    pub current_lap: u32,
    /// The sector being driven, from 0 (-1 unset).
    pub current_sector: i32,
}

/// `SharedMemory`, the fields shown (units as the header gives them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Shared {
    /// `mVersion`: 9 in Project CARS 2, 10 and later in Automobilista 2.
    pub version: u32,
    /// The game's build.
    pub build_version_number: u32,
    /// Game state (Type#1: 0 exited, 1 front end, 2 playing, 3 paused, 4
    /// in a menu with time ticking, 5 restarting, 6 replay, 7 front-end
    /// replay).
    pub game_state: u32,
    /// Session (Type#2: 0 invalid, 1 practice, 2 test, 3 qualifying, 4
    /// formation lap, 5 race, 6 time attack).
    pub session_state: u32,
    /// Race state (Type#3).
    pub race_state: u32,
    /// The participant the game shows (-1 unset).
    pub viewed_participant_index: i32,
    /// Participants (-1 unset).
    pub num_participants: i32,
    /// The viewed participant, when the index is one of the page's.
    pub viewed: Option<Participant>,
    /// The player's throttle, 0 to 1.
    pub unfiltered_throttle: f32,
    /// The player's brake, 0 to 1.
    pub unfiltered_brake: f32,
    /// The player's steering, -1 to 1.
    pub unfiltered_steering: f32,
    /// The player's clutch, 0 to 1.
    pub unfiltered_clutch: f32,
    /// The car.
    pub car_name: String,
    /// Its class.
    pub car_class_name: String,
    /// Laps of the event (0: a timed one).
    pub laps_in_event: u32,
    /// The track.
    pub track_location: String,
    /// Its layout.
    pub track_variation: String,
    /// Metres a lap.
    pub track_length: f32,
    /// Best lap, s (-1 unset).
    pub best_lap_time: f32,
    /// Last lap, s.
    pub last_lap_time: f32,
    /// The lap being driven, s.
    pub current_time: f32,
    /// Time left in the event, ms (-1 unset).
    pub event_time_remaining: f32,
    /// Flag (Type#5: 0 none, 1 green, 2 blue, 3 white: slow car, 4 white:
    /// last lap, 5 red, 6 yellow, 7 double yellow, 8 black and white, 9
    /// black with orange disc, 10 black, 11 chequered).
    pub highest_flag_colour: u32,
    /// Why (Type#6).
    pub highest_flag_reason: u32,
    /// Pit mode (Type#7).
    pub pit_mode: u32,
    /// Pit schedule (Type#8: 5 drive-through, 6 stop-go penalty).
    pub pit_schedule: u32,
    /// Fuel, a fraction of the tank.
    pub fuel_level: f32,
    /// Tank, litres.
    pub fuel_capacity: f32,
    /// Speed, m/s.
    pub speed: f32,
    /// Engine, rpm.
    pub rpm: f32,
    /// Rev limit, rpm.
    pub max_rpm: f32,
    /// The car's brake after aids, 0 to 1.
    pub brake: f32,
    /// The car's throttle after aids, 0 to 1.
    pub throttle: f32,
    /// The car's clutch, 0 to 1.
    pub clutch: f32,
    /// The car's steering, -1 to 1.
    pub steering: f32,
    /// -1 reverse, 0 neutral, 1 first, ...
    pub gear: i32,
    /// Forward gears.
    pub num_gears: i32,
    /// Tyre temperatures, °C: FL FR RL RR.
    pub tyre_temp: [f32; 4],
    /// Tread temperatures, K.
    pub tyre_tread_temp: [f32; 4],
    /// Carcass temperatures, K.
    pub tyre_carcass_temp: [f32; 4],
    /// Tyre pressures, kPa (the header says psi; the game's numbers, and
    /// its readers, are kPa).
    pub air_pressure: [f32; 4],
    /// `mSequenceNumber`: one more at the start and at the end of each
    /// update.
    pub sequence_number: u32,
}

/// Writes `page` over the start of `b` (at least as long as it).
fn put<T: IntoBytes + Immutable>(page: &T, b: &mut [u8]) {
    let bytes = page.as_bytes();
    b[..bytes.len()].copy_from_slice(bytes);
}

impl Participant {
    fn of(p: &ParticipantPage) -> Participant {
        Participant {
            is_active: p.is_active != 0,
            name: from_narrow(&p.name),
            current_lap_distance: p.current_lap_distance,
            race_position: p.race_position,
            laps_completed: p.laps_completed,
            current_lap: p.current_lap,
            current_sector: p.current_sector,
        }
    }

    fn page(&self) -> ParticipantPage {
        ParticipantPage {
            is_active: u8::from(self.is_active),
            name: to_fixed_narrow(&self.name),
            _pad: [0; 3],
            world_position: [0.0; 3],
            current_lap_distance: self.current_lap_distance,
            race_position: self.race_position,
            laps_completed: self.laps_completed,
            current_lap: self.current_lap,
            current_sector: self.current_sector,
        }
    }
}

impl Shared {
    /// Decodes a copy of the page; `None` if it is too short.
    pub fn decode(b: &[u8]) -> Option<Shared> {
        let (s, _) = SharedPage::read_from_prefix(b).ok()?;
        let viewed = usize::try_from(s.viewed_participant_index)
            .ok()
            .and_then(|i| s.participants.get(i))
            .map(Participant::of);
        Some(Shared {
            version: s.version,
            build_version_number: s.build_version_number,
            game_state: s.game_state,
            session_state: s.session_state,
            race_state: s.race_state,
            viewed_participant_index: s.viewed_participant_index,
            num_participants: s.num_participants,
            viewed,
            unfiltered_throttle: s.unfiltered_throttle,
            unfiltered_brake: s.unfiltered_brake,
            unfiltered_steering: s.unfiltered_steering,
            unfiltered_clutch: s.unfiltered_clutch,
            car_name: from_narrow(&s.car_name),
            car_class_name: from_narrow(&s.car_class_name),
            laps_in_event: s.laps_in_event,
            track_location: from_narrow(&s.track_location),
            track_variation: from_narrow(&s.track_variation),
            track_length: s.track_length,
            best_lap_time: s.best_lap_time,
            last_lap_time: s.last_lap_time,
            current_time: s.current_time,
            event_time_remaining: s.event_time_remaining,
            highest_flag_colour: s.highest_flag_colour,
            highest_flag_reason: s.highest_flag_reason,
            pit_mode: s.pit_mode,
            pit_schedule: s.pit_schedule,
            fuel_level: s.fuel_level,
            fuel_capacity: s.fuel_capacity,
            speed: s.speed,
            rpm: s.rpm,
            max_rpm: s.max_rpm,
            brake: s.brake,
            throttle: s.throttle,
            clutch: s.clutch,
            steering: s.steering,
            gear: s.gear,
            num_gears: s.num_gears,
            tyre_temp: s.tyre_temp,
            tyre_tread_temp: s.tyre_tread_temp,
            tyre_carcass_temp: s.tyre_carcass_temp,
            air_pressure: s.air_pressure,
            sequence_number: s.sequence_number,
        })
    }

    /// Encodes into a page buffer (at least [`NEEDED`] bytes): the viewed
    /// participant at its index, `others` in the slots before and after it.
    pub fn encode(&self, others: &[Participant], b: &mut [u8]) {
        let mut participants = [Participant::default().page(); PARTICIPANTS];
        let viewed = usize::try_from(self.viewed_participant_index).ok();
        let mut rest = others.iter();
        for (i, slot) in participants.iter_mut().enumerate() {
            let participant = match (&self.viewed, viewed) {
                (Some(p), Some(v)) if v == i => Some(p),
                _ => rest.next(),
            };
            if let Some(p) = participant {
                *slot = p.page();
            }
        }
        let zero = [0.0f32; 4];
        let page = SharedPage {
            version: self.version,
            build_version_number: self.build_version_number,
            game_state: self.game_state,
            session_state: self.session_state,
            race_state: self.race_state,
            viewed_participant_index: self.viewed_participant_index,
            num_participants: self.num_participants,
            participants,
            unfiltered_throttle: self.unfiltered_throttle,
            unfiltered_brake: self.unfiltered_brake,
            unfiltered_steering: self.unfiltered_steering,
            unfiltered_clutch: self.unfiltered_clutch,
            car_name: to_fixed_narrow(&self.car_name),
            car_class_name: to_fixed_narrow(&self.car_class_name),
            laps_in_event: self.laps_in_event,
            track_location: to_fixed_narrow(&self.track_location),
            track_variation: to_fixed_narrow(&self.track_variation),
            track_length: self.track_length,
            num_sectors: 3,
            lap_invalidated: 0,
            _pad: [0; 3],
            best_lap_time: self.best_lap_time,
            last_lap_time: self.last_lap_time,
            current_time: self.current_time,
            _splits: [0.0; 3],
            event_time_remaining: self.event_time_remaining,
            _fastest: [-1.0; 14],
            highest_flag_colour: self.highest_flag_colour,
            highest_flag_reason: self.highest_flag_reason,
            pit_mode: self.pit_mode,
            pit_schedule: self.pit_schedule,
            _car_state: [0; 6],
            fuel_level: self.fuel_level,
            fuel_capacity: self.fuel_capacity,
            speed: self.speed,
            rpm: self.rpm,
            max_rpm: self.max_rpm,
            brake: self.brake,
            throttle: self.throttle,
            clutch: self.clutch,
            steering: self.steering,
            gear: self.gear,
            num_gears: self.num_gears,
            _to_tyre_temp: [0; 188],
            tyre_temp: self.tyre_temp,
            _to_tread_temp: [0; 112],
            tyre_tread_temp: self.tyre_tread_temp,
            tyre_layer_temp: zero,
            tyre_carcass_temp: self.tyre_carcass_temp,
            tyre_rim_temp: zero,
            tyre_internal_air_temp: zero,
            _damage_and_weather: [0; 40],
            sequence_number: self.sequence_number,
            _suspension: [0; 48],
            air_pressure: self.air_pressure,
        };
        put(&page, b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::titles::pcars2::synthetic;

    #[test]
    fn the_page_round_trips_at_the_headers_offsets() {
        let mut page = vec![0u8; 20700];
        let s = synthetic::shared(4321);
        s.encode(&synthetic::others(4321), &mut page);
        assert_eq!(Shared::decode(&page), Some(s.clone()));
        let word = |at: usize| u32::from_le_bytes(page[at..at + 4].try_into().unwrap());
        assert_eq!(word(0), s.version, "mVersion @0");
        assert_eq!(word(7320), 8642, "mSequenceNumber @7320");
        assert_eq!(&page[6848..6852], &s.speed.to_le_bytes(), "mSpeed @6848");
        let viewed = 28 + 100 * usize::try_from(s.viewed_participant_index).unwrap();
        assert_eq!(&page[viewed + 1..viewed + 5], b"Demo", "mName @1 of the viewed");
        assert_eq!(&page[6576..6580], b"Spa-", "mTrackLocation @6576");
    }

    #[test]
    fn a_viewed_index_outside_the_page_views_no_one() {
        let mut page = vec![0u8; NEEDED];
        for index in [-1, 64, i32::MAX] {
            page[20..24].copy_from_slice(&index.to_le_bytes());
            assert_eq!(Shared::decode(&page).unwrap().viewed, None);
        }
    }
}
