//! rFactor 2's mapped buffers, from TheIronWolfModding/rF2SharedMemoryMapPlugin
//! (`Include/rF2State.h`, `Include/MappedBuffer.h`): each starts with
//! `rF2MappedBufferVersionBlock` (`mVersionUpdateBegin`, then
//! `mVersionUpdateEnd`, 4-byte `unsigned long`s; the plugin raises the
//! first before it writes the buffer and the second after), then the
//! buffer's struct: `rF2Telemetry` (`mBytesUpdatedHint`, `mNumVehicles`,
//! 128 `rF2VehicleTelemetry`) and `rF2Scoring` (`mBytesUpdatedHint`,
//! `rF2ScoringInfo`, 128 `rF2VehicleScoring`).

use serde::{Deserialize, Serialize};
use zerocopy::byteorder::little_endian::{I32, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::isi::{
    SCORING_INFO_LEN, ScoringInfo, TELEMETRY_LEN, VEHICLE_SCORING_LEN, VehicleScoring,
    VehicleTelemetry,
};

/// Vehicles a buffer holds (`MAX_MAPPED_VEHICLES`).
pub const MAX_VEHICLES: usize = 128;

/// The version block and the telemetry buffer's counts.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct TelemetryHead {
    version_begin: U32,
    version_end: U32,
    bytes_updated_hint: I32,
    num_vehicles: I32,
}

/// The version block and the scoring buffer's hint; `rF2ScoringInfo`
/// follows.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct ScoringHead {
    version_begin: U32,
    version_end: U32,
    bytes_updated_hint: I32,
}

/// Where the telemetry buffer's vehicles start.
const TELEMETRY_VEHICLES: usize = size_of::<TelemetryHead>();
/// Where the scoring buffer's `rF2ScoringInfo` starts.
const SCORING_INFO: usize = size_of::<ScoringHead>();
/// Where the scoring buffer's vehicles start.
const SCORING_VEHICLES: usize = SCORING_INFO + SCORING_INFO_LEN;

/// Bytes of the version block and `rF2Telemetry`.
pub const TELEMETRY_PAGE_LEN: usize = TELEMETRY_VEHICLES + MAX_VEHICLES * TELEMETRY_LEN;
/// Bytes of the version block and `rF2Scoring`.
pub const SCORING_PAGE_LEN: usize = SCORING_VEHICLES + MAX_VEHICLES * VEHICLE_SCORING_LEN;

// The plugin's sizes (rF2State.h compiled for 64-bit Windows, plus the
// 8-byte version block): 241680 as Datalink and the presets say; 75312.
const _: () = {
    assert!(TELEMETRY_VEHICLES == 16);
    assert!(SCORING_VEHICLES == 560);
    assert!(TELEMETRY_PAGE_LEN == 241_680);
    assert!(SCORING_PAGE_LEN == 75_312);
};

/// The telemetry buffer: its counters and the player's vehicle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TelemetryBuffer {
    /// Raised before each update.
    pub version_begin: u32,
    /// Raised after it: equal to `version_begin` when the buffer is whole.
    pub version_end: u32,
    /// Bytes the last update wrote (0: unknown).
    pub bytes_updated_hint: i32,
    /// Vehicles in the buffer.
    pub num_vehicles: i32,
    /// The player's vehicle, found by the slot id its scoring gives.
    pub player: Option<VehicleTelemetry>,
}

/// The scoring buffer: its counters, the session, the player's vehicle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ScoringBuffer {
    /// Raised before each update.
    pub version_begin: u32,
    /// Raised after it.
    pub version_end: u32,
    /// Bytes the last update wrote (0: unknown).
    pub bytes_updated_hint: i32,
    /// The session.
    pub info: ScoringInfo,
    /// The vehicle marked `mIsPlayer`.
    pub player: Option<VehicleScoring>,
}

/// The `i`-th of the records of `len` bytes from `start` in `b`, if whole.
pub fn record(b: &[u8], start: usize, len: usize, i: usize) -> Option<&[u8]> {
    let at = start.checked_add(i.checked_mul(len)?)?;
    b.get(at..at.checked_add(len)?)
}

/// How many of a buffer's records a count says are used (none for a
/// count outside the buffer's).
pub fn used(count: i32, max: usize) -> usize {
    usize::try_from(count).ok().filter(|&n| n <= max).unwrap_or(0)
}

impl TelemetryBuffer {
    /// The buffer at the start of `b`, with the vehicle of slot
    /// `player_id`; `None` if `b` is shorter than its counters. A buffer
    /// whose versions differ (written while copied) gives no vehicle.
    pub fn decode(b: &[u8], player_id: Option<i32>) -> Option<TelemetryBuffer> {
        let (head, _) = TelemetryHead::read_from_prefix(b).ok()?;
        let whole = head.version_begin == head.version_end;
        let n = used(head.num_vehicles.get(), MAX_VEHICLES);
        let player = player_id.filter(|_| whole).and_then(|id| {
            (0..n)
                .filter_map(|i| record(b, TELEMETRY_VEHICLES, TELEMETRY_LEN, i))
                .find(|v| VehicleTelemetry::id_of(v) == Some(id))
                .and_then(VehicleTelemetry::decode)
        });
        Some(TelemetryBuffer {
            version_begin: head.version_begin.get(),
            version_end: head.version_end.get(),
            bytes_updated_hint: head.bytes_updated_hint.get(),
            num_vehicles: head.num_vehicles.get(),
            player,
        })
    }

    /// The buffer's bytes up to its last vehicle, under `version`.
    pub fn encode(version: u32, vehicles: &[VehicleTelemetry]) -> Vec<u8> {
        let len = TELEMETRY_VEHICLES + vehicles.len() * TELEMETRY_LEN;
        let head = TelemetryHead {
            version_begin: U32::new(version),
            version_end: U32::new(version),
            bytes_updated_hint: I32::new(i32::try_from(len).unwrap_or(0)),
            num_vehicles: I32::new(i32::try_from(vehicles.len()).unwrap_or(0)),
        };
        let mut b = head.as_bytes().to_vec();
        for v in vehicles {
            b.extend(v.encode());
        }
        b
    }
}

impl ScoringBuffer {
    /// The buffer at the start of `b`; `None` if `b` ends before its
    /// vehicles. A buffer whose versions differ gives no vehicle.
    pub fn decode(b: &[u8]) -> Option<ScoringBuffer> {
        let (head, _) = ScoringHead::read_from_prefix(b).ok()?;
        let info = ScoringInfo::decode(b.get(SCORING_INFO..)?)?;
        let whole = head.version_begin == head.version_end;
        let n = if whole {
            used(info.num_vehicles, MAX_VEHICLES)
        } else {
            0
        };
        let player = (0..n)
            .filter_map(|i| record(b, SCORING_VEHICLES, VEHICLE_SCORING_LEN, i))
            .find(|v| VehicleScoring::is_player_at(v))
            .and_then(VehicleScoring::decode);
        Some(ScoringBuffer {
            version_begin: head.version_begin.get(),
            version_end: head.version_end.get(),
            bytes_updated_hint: head.bytes_updated_hint.get(),
            info,
            player,
        })
    }

    /// The buffer's bytes up to its last vehicle, under `version`.
    pub fn encode(version: u32, info: &ScoringInfo, vehicles: &[VehicleScoring]) -> Vec<u8> {
        let len = SCORING_VEHICLES + vehicles.len() * VEHICLE_SCORING_LEN;
        let head = ScoringHead {
            version_begin: U32::new(version),
            version_end: U32::new(version),
            bytes_updated_hint: I32::new(i32::try_from(len).unwrap_or(0)),
        };
        let mut b = head.as_bytes().to_vec();
        b.extend(info.encode());
        for v in vehicles {
            b.extend(v.encode());
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_player_is_found_by_its_slot_id() {
        let car = |id| VehicleTelemetry {
            id,
            gear: id,
            ..VehicleTelemetry::default()
        };
        let b = TelemetryBuffer::encode(9, &[car(3), car(7), car(12)]);
        assert_eq!(&b[..8], &[9, 0, 0, 0, 9, 0, 0, 0], "the version block first");
        let t = TelemetryBuffer::decode(&b, Some(7)).unwrap();
        assert_eq!((t.num_vehicles, t.player.map(|p| p.gear)), (3, Some(7)));
        assert_eq!(TelemetryBuffer::decode(&b, Some(5)).unwrap().player, None);
        assert_eq!(TelemetryBuffer::decode(&b, None).unwrap().player, None);
        // Cut inside the player's vehicle: no vehicle, no panic.
        let cut = TelemetryBuffer::decode(&b[..16 + 1888 + 100], Some(7)).unwrap();
        assert_eq!(cut.player, None);
        let mut torn = b.clone();
        torn[0] = 10;
        assert_eq!(TelemetryBuffer::decode(&torn, Some(7)).unwrap().player, None);
        assert_eq!(TelemetryBuffer::decode(&b[..15], Some(7)), None);
    }

    #[test]
    fn scoring_gives_the_vehicle_marked_as_the_players() {
        let info = ScoringInfo {
            num_vehicles: 2,
            ..ScoringInfo::default()
        };
        let ai = VehicleScoring {
            id: 3,
            ..VehicleScoring::default()
        };
        let me = VehicleScoring {
            id: 7,
            is_player: true,
            ..VehicleScoring::default()
        };
        let b = ScoringBuffer::encode(4, &info, &[ai, me.clone()]);
        let s = ScoringBuffer::decode(&b).unwrap();
        assert_eq!((s.version_end, s.player), (4, Some(me)));
        let many = ScoringInfo {
            num_vehicles: 1000,
            ..info
        };
        let b = ScoringBuffer::encode(4, &many, &[]);
        assert_eq!(ScoringBuffer::decode(&b).unwrap().player, None);
        assert_eq!(ScoringBuffer::decode(&b[..559]), None);
    }
}
