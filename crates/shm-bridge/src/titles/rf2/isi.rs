//! What rFactor 2 and Le Mans Ultimate share: the records of ISI's
//! Internals Plugin API (`InternalsPlugin.hpp`, version 7) that both put in
//! their pages, one per vehicle: `TelemInfoV01` (with its four
//! `TelemWheelV01`), `ScoringInfoV01` and `VehicleScoringInfoV01`.
//!
//! Layouts from TheIronWolfModding/rF2SharedMemoryMapPlugin,
//! `Include/rF2State.h` (`rF2VehicleTelemetry`, `rF2Wheel`,
//! `rF2ScoringInfo`, `rF2VehicleScoring`, which mirror the plugin API's
//! records), packed to 4 bytes, 64-bit pointers; Le Mans Ultimate's
//! `InternalsPlugin.hpp` (shipped with the game in
//! `Support/SharedMemoryInterface`, as TinyPedal/pyLMUSharedMemory
//! `lmu_data.py` transcribes it) keeps the same sizes and every offset
//! declared here, and fills some of the reserved bytes with fields of its
//! own. Only the fields shm-bridge shows are named; the rest are kept as
//! bytes, so every offset is the SDK's. Windows' `long` is 4 bytes.

use serde::{Deserialize, Serialize};
use zerocopy::byteorder::little_endian::{F64, I16, I32};
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

/// Bytes of `TelemInfoV01` (`rF2VehicleTelemetry`).
pub const TELEMETRY_LEN: usize = 1888;
/// Bytes of `ScoringInfoV01` (`rF2ScoringInfo`).
pub const SCORING_INFO_LEN: usize = 548;
/// Bytes of `VehicleScoringInfoV01` (`rF2VehicleScoring`).
pub const VEHICLE_SCORING_LEN: usize = 584;

/// `TelemWheelV01`, 260 bytes.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct WheelLayout {
    _suspension_to_grip: [u8; 120],
    pressure: F64,
    temperature: [F64; 3],
    _wear_to_toe: [u8; 52],
    carcass_temperature: F64,
    inner_layer_temperature: [F64; 3],
    _expansion: [u8; 24],
}

/// `TelemInfoV01`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct TelemetryLayout {
    id: I32,
    delta_time: F64,
    elapsed_time: F64,
    lap_number: I32,
    lap_start_et: F64,
    vehicle_name: [u8; 64],
    track_name: [u8; 64],
    pos: [F64; 3],
    local_vel: [F64; 3],
    _accel_orientation_rotation: [u8; 144],
    gear: I32,
    engine_rpm: F64,
    engine_water_temp: F64,
    engine_oil_temp: F64,
    clutch_rpm: F64,
    unfiltered_throttle: F64,
    unfiltered_brake: F64,
    unfiltered_steering: F64,
    unfiltered_clutch: F64,
    _filtered_to_downforce: [u8; 104],
    fuel: F64,
    engine_max_rpm: F64,
    _stops_to_sector: [u8; 68],
    fuel_capacity: F64,
    _flaps_to_expansion: [u8; 232],
    wheels: [WheelLayout; 4],
}

/// `ScoringInfoV01`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct ScoringInfoLayout {
    track_name: [u8; 64],
    session: I32,
    current_et: F64,
    end_et: F64,
    max_laps: I32,
    lap_dist: F64,
    _results_stream: [u8; 8],
    num_vehicles: I32,
    game_phase: u8,
    yellow_flag_state: i8,
    sector_flag: [i8; 3],
    start_light: u8,
    num_red_lights: u8,
    in_realtime: u8,
    player_name: [u8; 32],
    _file_weather_server_expansion: [u8; 400],
}

/// `VehicleScoringInfoV01`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct VehicleScoringLayout {
    id: I32,
    driver_name: [u8; 32],
    vehicle_name: [u8; 64],
    total_laps: I16,
    sector: i8,
    finish_status: i8,
    lap_dist: F64,
    _path_lateral_to_best_sector2: [u8; 32],
    best_lap_time: F64,
    _last_sectors: [u8; 16],
    last_lap_time: F64,
    _current_sectors: [u8; 16],
    num_pitstops: I16,
    num_penalties: I16,
    is_player: u8,
    control: i8,
    in_pits: u8,
    place: u8,
    vehicle_class: [u8; 32],
    _gaps_to_estimated_lap: [u8; 272],
    flag: u8,
    under_yellow: u8,
    count_lap_flag: u8,
    in_garage_stall: u8,
    _upgrades_to_expansion: [u8; 76],
}

// The SDK's offsets (rF2State.h, compiled for 64-bit Windows; the same in
// Le Mans Ultimate's header).
const _: () = {
    use std::mem::offset_of;
    assert!(size_of::<WheelLayout>() == 260);
    assert!(offset_of!(WheelLayout, pressure) == 120);
    assert!(offset_of!(WheelLayout, carcass_temperature) == 204);
    assert!(offset_of!(WheelLayout, inner_layer_temperature) == 212);
    assert!(size_of::<TelemetryLayout>() == TELEMETRY_LEN);
    assert!(offset_of!(TelemetryLayout, elapsed_time) == 12);
    assert!(offset_of!(TelemetryLayout, vehicle_name) == 32);
    assert!(offset_of!(TelemetryLayout, local_vel) == 184);
    assert!(offset_of!(TelemetryLayout, gear) == 352);
    assert!(offset_of!(TelemetryLayout, engine_rpm) == 356);
    assert!(offset_of!(TelemetryLayout, unfiltered_throttle) == 388);
    assert!(offset_of!(TelemetryLayout, unfiltered_clutch) == 412);
    assert!(offset_of!(TelemetryLayout, fuel) == 524);
    assert!(offset_of!(TelemetryLayout, engine_max_rpm) == 532);
    assert!(offset_of!(TelemetryLayout, fuel_capacity) == 608);
    assert!(offset_of!(TelemetryLayout, wheels) == 848);
    assert!(size_of::<ScoringInfoLayout>() == SCORING_INFO_LEN);
    assert!(offset_of!(ScoringInfoLayout, session) == 64);
    assert!(offset_of!(ScoringInfoLayout, max_laps) == 84);
    assert!(offset_of!(ScoringInfoLayout, num_vehicles) == 104);
    assert!(offset_of!(ScoringInfoLayout, game_phase) == 108);
    assert!(offset_of!(ScoringInfoLayout, in_realtime) == 115);
    assert!(offset_of!(ScoringInfoLayout, player_name) == 116);
    assert!(size_of::<VehicleScoringLayout>() == VEHICLE_SCORING_LEN);
    assert!(offset_of!(VehicleScoringLayout, total_laps) == 100);
    assert!(offset_of!(VehicleScoringLayout, best_lap_time) == 144);
    assert!(offset_of!(VehicleScoringLayout, last_lap_time) == 168);
    assert!(offset_of!(VehicleScoringLayout, num_penalties) == 194);
    assert!(offset_of!(VehicleScoringLayout, is_player) == 196);
    assert!(offset_of!(VehicleScoringLayout, place) == 199);
    assert!(offset_of!(VehicleScoringLayout, vehicle_class) == 200);
    assert!(offset_of!(VehicleScoringLayout, flag) == 504);
};

/// A tyre of `TelemInfoV01`, the fields shown.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Wheel {
    /// Pressure, kPa.
    pub pressure_kpa: f64,
    /// Tread temperatures left, centre, right, Kelvin.
    pub temperature_k: [f64; 3],
    /// Carcass temperature, Kelvin.
    pub carcass_temperature_k: f64,
    /// Innermost rubber layer, left, centre, right, Kelvin.
    pub inner_layer_temperature_k: [f64; 3],
}

/// `TelemInfoV01`, the fields shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct VehicleTelemetry {
    /// Slot id, shared with the vehicle's scoring.
    pub id: i32,
    /// Seconds since the last update.
    pub delta_time: f64,
    /// Session time, seconds.
    pub elapsed_time: f64,
    /// The lap being driven.
    pub lap_number: i32,
    /// When it began, session seconds.
    pub lap_start_et: f64,
    /// The vehicle's name.
    pub vehicle_name: String,
    /// The track's name.
    pub track_name: String,
    /// Velocity in the car's axes, m/s.
    pub local_vel: [f64; 3],
    /// -1 reverse, 0 neutral, 1 first, ...
    pub gear: i32,
    /// Engine speed, rpm.
    pub engine_rpm: f64,
    /// Water, °C.
    pub engine_water_temp: f64,
    /// Oil, °C.
    pub engine_oil_temp: f64,
    /// Throttle as the driver gives it, 0 to 1.
    pub unfiltered_throttle: f64,
    /// Brake, 0 to 1.
    pub unfiltered_brake: f64,
    /// Steering, -1 (left) to 1.
    pub unfiltered_steering: f64,
    /// Clutch, 0 to 1.
    pub unfiltered_clutch: f64,
    /// Fuel, litres.
    pub fuel: f64,
    /// Rev limit, rpm.
    pub engine_max_rpm: f64,
    /// Tank, litres.
    pub fuel_capacity: f64,
    /// Front left, front right, rear left, rear right.
    pub wheels: [Wheel; 4],
}

/// `ScoringInfoV01`, the fields shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ScoringInfo {
    /// The track's name.
    pub track_name: String,
    /// 0 test day, 1-4 practice, 5-8 qualifying, 9 warm-up, 10-13 race.
    pub session: i32,
    /// Session time, seconds.
    pub current_et: f64,
    /// When the session ends, seconds (0 or less: no time limit).
    pub end_et: f64,
    /// Laps of the session.
    pub max_laps: i32,
    /// Vehicles in the session.
    pub num_vehicles: i32,
    /// 0 garage ... 5 green, 6 full-course yellow, 7 stopped, 8 over, 9 paused.
    pub game_phase: u8,
    /// Full-course yellow: -1 invalid, 0 none, 1 pending ... 6 resume.
    pub yellow_flag_state: i8,
    /// Local yellows, indexed as a vehicle's `sector` (0 is sector 3).
    pub sector_flag: [i8; 3],
    /// On track, as opposed to at the monitor.
    pub in_realtime: bool,
    /// The player's name.
    pub player_name: String,
}

/// `VehicleScoringInfoV01`, the fields shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct VehicleScoring {
    /// Slot id, shared with the vehicle's telemetry.
    pub id: i32,
    /// The driver.
    pub driver_name: String,
    /// The vehicle.
    pub vehicle_name: String,
    /// Laps completed.
    pub total_laps: i16,
    /// 0 sector 3, 1 sector 1, 2 sector 2.
    pub sector: i8,
    /// 0 none, 1 finished, 2 DNF, 3 disqualified.
    pub finish_status: i8,
    /// Best lap, seconds (0 or less: none).
    pub best_lap_time: f64,
    /// Last lap, seconds (0 or less: none).
    pub last_lap_time: f64,
    /// Penalties outstanding.
    pub num_penalties: i16,
    /// The player's vehicle.
    pub is_player: bool,
    /// -1 nobody, 0 the local player, 1 AI, 2 remote, 3 replay.
    pub control: i8,
    /// In the pit lane.
    pub in_pits: bool,
    /// Race position, from 1.
    pub place: u8,
    /// The vehicle's class.
    pub vehicle_class: String,
    /// 0 green, 6 blue.
    pub flag: u8,
}

/// A fixed array of 8-bit characters up to its NUL: UTF-8 where it is,
/// else each byte as its Latin-1 character (the games' ANSI strings).
pub fn text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let bytes = &bytes[..end];
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// `text` in a fixed array, cut to leave its NUL.
pub fn fixed<const N: usize>(text: &str) -> [u8; N] {
    let mut out = [0u8; N];
    let mut len = text.len().min(N.saturating_sub(1));
    while !text.is_char_boundary(len) {
        len -= 1;
    }
    out[..len].copy_from_slice(&text.as_bytes()[..len]);
    out
}

fn f64s<const N: usize>(values: [F64; N]) -> [f64; N] {
    values.map(F64::get)
}

fn le<const N: usize>(values: [f64; N]) -> [F64; N] {
    values.map(F64::new)
}

impl VehicleTelemetry {
    /// The record at the start of `b`; `None` if `b` is shorter.
    pub fn decode(b: &[u8]) -> Option<VehicleTelemetry> {
        let (t, _) = TelemetryLayout::read_from_prefix(b).ok()?;
        Some(VehicleTelemetry {
            id: t.id.get(),
            delta_time: t.delta_time.get(),
            elapsed_time: t.elapsed_time.get(),
            lap_number: t.lap_number.get(),
            lap_start_et: t.lap_start_et.get(),
            vehicle_name: text(&t.vehicle_name),
            track_name: text(&t.track_name),
            local_vel: f64s(t.local_vel),
            gear: t.gear.get(),
            engine_rpm: t.engine_rpm.get(),
            engine_water_temp: t.engine_water_temp.get(),
            engine_oil_temp: t.engine_oil_temp.get(),
            unfiltered_throttle: t.unfiltered_throttle.get(),
            unfiltered_brake: t.unfiltered_brake.get(),
            unfiltered_steering: t.unfiltered_steering.get(),
            unfiltered_clutch: t.unfiltered_clutch.get(),
            fuel: t.fuel.get(),
            engine_max_rpm: t.engine_max_rpm.get(),
            fuel_capacity: t.fuel_capacity.get(),
            wheels: t.wheels.map(|w| Wheel {
                pressure_kpa: w.pressure.get(),
                temperature_k: f64s(w.temperature),
                carcass_temperature_k: w.carcass_temperature.get(),
                inner_layer_temperature_k: f64s(w.inner_layer_temperature),
            }),
        })
    }

    /// The record's bytes ([`TELEMETRY_LEN`]), other fields zero.
    pub fn encode(&self) -> Vec<u8> {
        let mut t = TelemetryLayout::new_zeroed();
        t.id = I32::new(self.id);
        t.delta_time = F64::new(self.delta_time);
        t.elapsed_time = F64::new(self.elapsed_time);
        t.lap_number = I32::new(self.lap_number);
        t.lap_start_et = F64::new(self.lap_start_et);
        t.vehicle_name = fixed(&self.vehicle_name);
        t.track_name = fixed(&self.track_name);
        t.local_vel = le(self.local_vel);
        t.gear = I32::new(self.gear);
        t.engine_rpm = F64::new(self.engine_rpm);
        t.engine_water_temp = F64::new(self.engine_water_temp);
        t.engine_oil_temp = F64::new(self.engine_oil_temp);
        t.unfiltered_throttle = F64::new(self.unfiltered_throttle);
        t.unfiltered_brake = F64::new(self.unfiltered_brake);
        t.unfiltered_steering = F64::new(self.unfiltered_steering);
        t.unfiltered_clutch = F64::new(self.unfiltered_clutch);
        t.fuel = F64::new(self.fuel);
        t.engine_max_rpm = F64::new(self.engine_max_rpm);
        t.fuel_capacity = F64::new(self.fuel_capacity);
        for (layout, wheel) in t.wheels.iter_mut().zip(&self.wheels) {
            layout.pressure = F64::new(wheel.pressure_kpa);
            layout.temperature = le(wheel.temperature_k);
            layout.carcass_temperature = F64::new(wheel.carcass_temperature_k);
            layout.inner_layer_temperature = le(wheel.inner_layer_temperature_k);
        }
        t.as_bytes().to_vec()
    }

    /// The slot id of the record at the start of `b`.
    pub fn id_of(b: &[u8]) -> Option<i32> {
        I32::read_from_prefix(b).ok().map(|(id, _)| id.get())
    }
}

impl ScoringInfo {
    /// The record at the start of `b`; `None` if `b` is shorter.
    pub fn decode(b: &[u8]) -> Option<ScoringInfo> {
        let (s, _) = ScoringInfoLayout::read_from_prefix(b).ok()?;
        Some(ScoringInfo {
            track_name: text(&s.track_name),
            session: s.session.get(),
            current_et: s.current_et.get(),
            end_et: s.end_et.get(),
            max_laps: s.max_laps.get(),
            num_vehicles: s.num_vehicles.get(),
            game_phase: s.game_phase,
            yellow_flag_state: s.yellow_flag_state,
            sector_flag: s.sector_flag,
            in_realtime: s.in_realtime != 0,
            player_name: text(&s.player_name),
        })
    }

    /// The record's bytes ([`SCORING_INFO_LEN`]), other fields zero.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = ScoringInfoLayout::new_zeroed();
        s.track_name = fixed(&self.track_name);
        s.session = I32::new(self.session);
        s.current_et = F64::new(self.current_et);
        s.end_et = F64::new(self.end_et);
        s.max_laps = I32::new(self.max_laps);
        s.num_vehicles = I32::new(self.num_vehicles);
        s.game_phase = self.game_phase;
        s.yellow_flag_state = self.yellow_flag_state;
        s.sector_flag = self.sector_flag;
        s.in_realtime = u8::from(self.in_realtime);
        s.player_name = fixed(&self.player_name);
        s.as_bytes().to_vec()
    }
}

impl VehicleScoring {
    /// The record at the start of `b`; `None` if `b` is shorter.
    pub fn decode(b: &[u8]) -> Option<VehicleScoring> {
        let (v, _) = VehicleScoringLayout::read_from_prefix(b).ok()?;
        Some(VehicleScoring {
            id: v.id.get(),
            driver_name: text(&v.driver_name),
            vehicle_name: text(&v.vehicle_name),
            total_laps: v.total_laps.get(),
            sector: v.sector,
            finish_status: v.finish_status,
            best_lap_time: v.best_lap_time.get(),
            last_lap_time: v.last_lap_time.get(),
            num_penalties: v.num_penalties.get(),
            is_player: v.is_player != 0,
            control: v.control,
            in_pits: v.in_pits != 0,
            place: v.place,
            vehicle_class: text(&v.vehicle_class),
            flag: v.flag,
        })
    }

    /// The record's bytes ([`VEHICLE_SCORING_LEN`]), other fields zero.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = VehicleScoringLayout::new_zeroed();
        v.id = I32::new(self.id);
        v.driver_name = fixed(&self.driver_name);
        v.vehicle_name = fixed(&self.vehicle_name);
        v.total_laps = I16::new(self.total_laps);
        v.sector = self.sector;
        v.finish_status = self.finish_status;
        v.best_lap_time = F64::new(self.best_lap_time);
        v.last_lap_time = F64::new(self.last_lap_time);
        v.num_penalties = I16::new(self.num_penalties);
        v.is_player = u8::from(self.is_player);
        v.control = self.control;
        v.in_pits = u8::from(self.in_pits);
        v.place = self.place;
        v.vehicle_class = fixed(&self.vehicle_class);
        v.flag = self.flag;
        v.as_bytes().to_vec()
    }

    /// Whether the record at the start of `b` is the player's.
    pub fn is_player_at(b: &[u8]) -> bool {
        b.get(std::mem::offset_of!(VehicleScoringLayout, is_player))
            .is_some_and(|&p| p != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_at_the_sdk_offsets() {
        let t = VehicleTelemetry {
            id: 7,
            elapsed_time: 12.5,
            vehicle_name: "Oreca 07".into(),
            gear: 3,
            engine_rpm: 8123.5,
            fuel_capacity: 75.0,
            wheels: [Wheel {
                pressure_kpa: 171.0,
                carcass_temperature_k: 360.0,
                ..Wheel::default()
            }; 4],
            ..VehicleTelemetry::default()
        };
        let b = t.encode();
        assert_eq!(VehicleTelemetry::decode(&b), Some(t.clone()));
        assert_eq!(&b[356..364], &8123.5f64.to_le_bytes(), "mEngineRPM @356");
        assert_eq!(&b[848 + 3 * 260 + 120..][..8], &171.0f64.to_le_bytes());
        assert_eq!(VehicleTelemetry::id_of(&b), Some(7));
        assert_eq!(VehicleTelemetry::decode(&b[..TELEMETRY_LEN - 1]), None);
        let v = VehicleScoring {
            id: 7,
            is_player: true,
            place: 4,
            ..VehicleScoring::default()
        };
        let b = v.encode();
        assert_eq!(VehicleScoring::decode(&b), Some(v));
        assert!(VehicleScoring::is_player_at(&b) && b[199] == 4);
        let s = ScoringInfo {
            num_vehicles: 3,
            game_phase: 5,
            ..ScoringInfo::default()
        };
        let b = s.encode();
        assert_eq!(ScoringInfo::decode(&b), Some(s));
        assert_eq!((b[104], b[108]), (3, 5));
    }

    #[test]
    fn text_is_utf8_or_else_latin1_and_fits_with_its_nul() {
        assert_eq!(text(b"Spa\0junk"), "Spa");
        assert_eq!(text(b"N\xfcrburgring"), "Nürburgring");
        assert_eq!(text(&[0xff; 4]), "ÿÿÿÿ");
        assert_eq!(fixed::<4>("Monza"), *b"Mon\0");
        assert_eq!(fixed::<3>("éé"), *b"\xc3\xa9\0", "cut at a character");
    }
}
