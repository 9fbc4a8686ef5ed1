//! `LMU_Data`, the game's `SharedMemoryObjectOut`, and its lock, from Le
//! Mans Ultimate's own header (`SharedMemoryInterface.hpp`, shipped in
//! `Support/SharedMemoryInterface`; as TinyPedal/pyLMUSharedMemory
//! `lmu_data.py` transcribes it, offsets checked against its
//! `sizeof(SharedMemoryObjectOut)` = 324820):
//!
//! - `generic`: 16 `SharedMemoryEvent` words (which events the last update
//!   was for), `gameVersion`, `FFBTorque`, `ApplicationStateV01`;
//! - `paths`: five `MAX_PATH` strings;
//! - `scoring`: `ScoringInfoV01`, `size_t scoringStreamSize` (aligned to
//!   8), 104 `VehicleScoringInfoV01`, a 64 KiB results stream;
//! - `telemetry`: `activeVehicles`, `playerVehicleIdx`, `playerHasVehicle`
//!   (a byte each), 104 `TelemInfoV01`.
//!
//! The records are rFactor 2's ([`crate::titles::rf2::isi`]).

use serde::{Deserialize, Serialize};
use zerocopy::byteorder::little_endian::{F32, I32, U32, U64};
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

use crate::titles::rf2::isi::{
    SCORING_INFO_LEN, ScoringInfo, TELEMETRY_LEN, VEHICLE_SCORING_LEN, VehicleScoring,
    VehicleTelemetry, text,
};
use crate::titles::rf2::{record, used};

/// Vehicles the page holds.
pub const MAX_VEHICLES: usize = 104;
/// `SharedMemoryEvent` values (`SME_MAX`).
pub const EVENTS: usize = 16;
/// `SME_UPDATE_SCORING`.
pub const UPDATE_SCORING: usize = 10;
/// `SME_UPDATE_TELEMETRY`.
pub const UPDATE_TELEMETRY: usize = 11;
/// `MAX_PATH`.
const PATH_LEN: usize = 260;

/// `SharedMemoryGeneric`, with `ApplicationStateV01`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct GenericLayout {
    events: [U32; EVENTS],
    game_version: I32,
    ffb_torque: F32,
    app_window: U64,
    width: U32,
    height: U32,
    refresh_rate: U32,
    windowed: U32,
    options_location: u8,
    options_page: [u8; 31],
    _expansion: [u8; 204],
}

/// The three bytes before the telemetry records (and the byte that
/// aligns those).
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct TelemetryHead {
    active_vehicles: u8,
    player_vehicle_idx: u8,
    player_has_vehicle: u8,
    _align: u8,
}

/// Where `scoring` starts.
const SCORING: usize = size_of::<GenericLayout>() + 5 * PATH_LEN;
/// Where `scoringStreamSize` is: after the info, at the next multiple of 8.
const STREAM_SIZE: usize = (SCORING + SCORING_INFO_LEN).next_multiple_of(8);
/// Where the vehicles' scoring starts.
const VEHICLES: usize = STREAM_SIZE + 8;
/// Where the results stream starts.
const STREAM: usize = VEHICLES + MAX_VEHICLES * VEHICLE_SCORING_LEN;
/// Where `telemetry` starts.
const TELEMETRY: usize = STREAM + 65_536;
/// Where the telemetry records start.
const TELEMETRY_VEHICLES: usize = TELEMETRY + size_of::<TelemetryHead>();
/// Bytes of `SharedMemoryObjectOut` (a writer may map 4 more, its tail
/// padding to 8).
pub const DATA_LEN: usize = TELEMETRY_VEHICLES + MAX_VEHICLES * TELEMETRY_LEN;
/// Bytes of the lock, `{LONG waiters; LONG busy}`.
pub const LOCK_LEN: usize = 8;
/// Where `busy` is in the lock.
pub const LOCK_BUSY: usize = 4;

// The header's offsets (lmu_data.py's, and other readers': scoring at 1632,
// vehicles at 2192, telemetry at 128464, 324820 in all).
const _: () = {
    assert!(size_of::<GenericLayout>() == 332);
    assert!(std::mem::offset_of!(GenericLayout, options_location) == 96);
    assert!(SCORING == 1632);
    assert!(STREAM_SIZE == 2184);
    assert!(VEHICLES == 2192);
    assert!(TELEMETRY == 128_464);
    assert!(DATA_LEN == 324_820);
};

/// `generic`, the fields shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Generic {
    /// Per `SharedMemoryEvent`, non-zero if the last update was for it
    /// (10: scoring, 11: telemetry).
    pub events: [u32; EVENTS],
    /// The game's build.
    pub game_version: i32,
    /// Where the player is: 0 main menu, 1 loading, 2 monitor, 3 on track.
    pub options_location: u8,
    /// The options page shown.
    pub options_page: String,
}

/// `scoring`: the session and the vehicle marked the player's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Scoring {
    /// The session.
    pub info: ScoringInfo,
    /// The vehicle `mIsPlayer` marks.
    pub player: Option<VehicleScoring>,
}

/// `telemetry`: the records in use and the player's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Telemetry {
    /// Records in use.
    pub active_vehicles: u8,
    /// Which is the player's.
    pub player_vehicle_idx: u8,
    /// Whether the player has one.
    pub player_has_vehicle: bool,
    /// The record `playerVehicleIdx` marks.
    pub player: Option<VehicleTelemetry>,
}

/// `LMU_Data`, the fields shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Data {
    /// `generic`.
    pub generic: Generic,
    /// `scoring`.
    pub scoring: Scoring,
    /// `telemetry`.
    pub telemetry: Telemetry,
}

/// `LMU_SharedMemoryLockData`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Lock {
    /// Lockers waiting on its event.
    pub waiters: i32,
    /// 1 while someone holds it.
    pub busy: i32,
}

impl Data {
    /// The page at the start of `b`; `None` if `b` ends before the
    /// vehicles' scoring. Records past its end are not there.
    pub fn decode(b: &[u8]) -> Option<Data> {
        let (g, _) = GenericLayout::read_from_prefix(b).ok()?;
        let info = ScoringInfo::decode(b.get(SCORING..)?)?;
        let player = (0..used(info.num_vehicles, MAX_VEHICLES))
            .filter_map(|i| record(b, VEHICLES, VEHICLE_SCORING_LEN, i))
            .find(|v| VehicleScoring::is_player_at(v))
            .and_then(VehicleScoring::decode);
        let head = b
            .get(TELEMETRY..)
            .and_then(|t| TelemetryHead::read_from_prefix(t).ok())
            .map_or(TelemetryHead::new_zeroed(), |(h, _)| h);
        let has = head.player_has_vehicle != 0;
        let idx = usize::from(head.player_vehicle_idx);
        let active = used(i32::from(head.active_vehicles), MAX_VEHICLES);
        let car = (has && idx < active)
            .then(|| record(b, TELEMETRY_VEHICLES, TELEMETRY_LEN, idx))
            .flatten()
            .and_then(VehicleTelemetry::decode);
        Some(Data {
            generic: Generic {
                events: g.events.map(U32::get),
                game_version: g.game_version.get(),
                options_location: g.options_location,
                options_page: text(&g.options_page),
            },
            scoring: Scoring { info, player },
            telemetry: Telemetry {
                active_vehicles: head.active_vehicles,
                player_vehicle_idx: head.player_vehicle_idx,
                player_has_vehicle: has,
                player: car,
            },
        })
    }

    /// The page's bytes up to the last active telemetry record: `generic`
    /// as `self` says, `vehicles` (scoring) and `cars` (telemetry), whose
    /// player is `cars[player]`.
    pub fn encode(
        &self,
        vehicles: &[VehicleScoring],
        cars: &[VehicleTelemetry],
        player: Option<u8>,
    ) -> Vec<u8> {
        let mut b = vec![0u8; TELEMETRY_VEHICLES + cars.len() * TELEMETRY_LEN];
        let mut g = GenericLayout::new_zeroed();
        g.events = self.generic.events.map(U32::new);
        g.game_version = I32::new(self.generic.game_version);
        g.options_location = self.generic.options_location;
        g.options_page = crate::titles::rf2::isi::fixed(&self.generic.options_page);
        b[..size_of::<GenericLayout>()].copy_from_slice(g.as_bytes());
        let put = |b: &mut [u8], at: usize, bytes: &[u8]| {
            b[at..at + bytes.len()].copy_from_slice(bytes);
        };
        put(&mut b, SCORING, &self.scoring.info.encode());
        for (i, v) in vehicles.iter().take(MAX_VEHICLES).enumerate() {
            put(&mut b, VEHICLES + i * VEHICLE_SCORING_LEN, &v.encode());
        }
        let head = TelemetryHead {
            active_vehicles: u8::try_from(cars.len()).unwrap_or(u8::MAX),
            player_vehicle_idx: player.unwrap_or(0),
            player_has_vehicle: u8::from(player.is_some()),
            _align: 0,
        };
        put(&mut b, TELEMETRY, head.as_bytes());
        for (i, c) in cars.iter().take(MAX_VEHICLES).enumerate() {
            put(&mut b, TELEMETRY_VEHICLES + i * TELEMETRY_LEN, &c.encode());
        }
        b
    }
}

impl Lock {
    /// The lock at the start of `b`; `None` if `b` is shorter.
    pub fn decode(b: &[u8]) -> Option<Lock> {
        let (words, _) = <[I32; 2]>::read_from_prefix(b).ok()?;
        Some(Lock {
            waiters: words[0].get(),
            busy: words[1].get(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_round_trips_at_the_headers_offsets() {
        let cars = [3, 7].map(|id| VehicleTelemetry {
            id,
            ..VehicleTelemetry::default()
        });
        let me = VehicleScoring {
            id: 7,
            is_player: true,
            ..VehicleScoring::default()
        };
        let data = Data {
            generic: Generic {
                game_version: 1125,
                ..Generic::default()
            },
            scoring: Scoring {
                info: ScoringInfo {
                    num_vehicles: 1,
                    ..ScoringInfo::default()
                },
                player: Some(me.clone()),
            },
            telemetry: Telemetry {
                active_vehicles: 2,
                player_vehicle_idx: 1,
                player_has_vehicle: true,
                player: Some(cars[1].clone()),
            },
        };
        let b = data.encode(&[me], &cars, Some(1));
        assert_eq!(b.len(), 128_468 + 2 * 1888);
        assert_eq!(Data::decode(&b), Some(data.clone()));
        assert_eq!(&b[64..68], &1125i32.to_le_bytes(), "gameVersion @64");
        assert_eq!(b[1632 + 104], 1, "mNumVehicles @1632+104");
        assert_eq!(b[2192 + 196], 1, "the first vehicle's mIsPlayer");
        assert_eq!(&b[128_464..128_467], &[2, 1, 1], "telemetry's three bytes");
        assert_eq!(b[128_468 + 1888], 7, "the second record's mID");
        // No vehicle for the player, or one past those in use: none.
        let mut none = b.clone();
        none[128_466] = 0;
        assert_eq!(Data::decode(&none).unwrap().telemetry.player, None);
        none[128_466] = 1;
        none[128_465] = 2;
        assert_eq!(Data::decode(&none).unwrap().telemetry.player, None);
        assert!(Data::decode(&b[..2192]).is_some_and(|d| d.telemetry.player.is_none()));
        assert_eq!(Data::decode(&b[..2179]), None);
        assert_eq!(Lock::decode(&[0, 0, 0, 0, 1, 0, 0, 0]), Some(Lock { waiters: 0, busy: 1 }));
        assert_eq!(Lock::decode(&[0; 7]), None);
    }
}
