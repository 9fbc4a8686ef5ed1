//! `$rFactorShared$`, the page of the rFactor shared memory map plugin
//! (dallongo/rFactorSharedMemoryMap, `Include/rfSharedStruct.hpp`,
//! `RF_SHARED_MEMORY_VERSION` "3.0.0.0"; the layout CrewChief, simapi and
//! vAzhure's reader use): `rfShared`, packed to 1 byte, `float`s and
//! 4-byte `long`s; the player's telemetry, then the session's scoring,
//! then 64 `rfVehicleInfo`. Temperatures are °C and pressures kPa (the
//! plugin copies rFactor's `TelemWheelV2`, whose header says so).

use serde::{Deserialize, Serialize};
use zerocopy::byteorder::little_endian::{F32, I16, I32};
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

use crate::titles::rf2::isi::{fixed, text};
use crate::titles::rf2::{record, used};

/// Vehicles the page holds (`RF_SHARED_MEMORY_MAX_VSI_SIZE`).
pub const MAX_VEHICLES: usize = 64;

/// `rfWheel`, 67 bytes.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct WheelLayout {
    _rotation_to_grip: [u8; 24],
    brake_temp: F32,
    pressure: F32,
    temperature: [F32; 3],
    wear: F32,
    _terrain_name: [u8; 16],
    _surface_type: u8,
    flat: u8,
    detached: u8,
}

/// `rfVehicleInfo`, 168 bytes.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct VehicleLayout {
    driver_name: [u8; 32],
    total_laps: I16,
    sector: i8,
    finish_status: i8,
    lap_dist: F32,
    _path_to_best_sector2: [u8; 16],
    best_lap_time: F32,
    _last_sectors: [u8; 8],
    last_lap_time: F32,
    _current_sectors: [u8; 8],
    num_pitstops: I16,
    num_penalties: I16,
    is_player: u8,
    control: i8,
    in_pits: u8,
    place: u8,
    vehicle_class: [u8; 32],
    _gaps_to_speed: [u8; 48],
}

/// `rfShared` up to its vehicles.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct SharedLayout {
    version: [u8; 8],
    delta_time: F32,
    lap_number: I32,
    lap_start_et: F32,
    track_name: [u8; 64],
    pos: [F32; 3],
    local_vel: [F32; 3],
    _accel_orientation_rotation: [u8; 72],
    speed: F32,
    gear: I32,
    engine_rpm: F32,
    engine_water_temp: F32,
    engine_oil_temp: F32,
    clutch_rpm: F32,
    unfiltered_throttle: F32,
    unfiltered_brake: F32,
    unfiltered_steering: F32,
    unfiltered_clutch: F32,
    steering_arm_force: F32,
    fuel: F32,
    engine_max_rpm: F32,
    _stops_to_impact: [u8; 31],
    wheels: [WheelLayout; 4],
    session: I32,
    current_et: F32,
    end_et: F32,
    max_laps: I32,
    lap_dist: F32,
    num_vehicles: I32,
    game_phase: u8,
    yellow_flag_state: i8,
    sector_flag: [i8; 3],
    start_light: u8,
    num_red_lights: u8,
    in_realtime: u8,
    player_name: [u8; 32],
    ambient_temp: F32,
    track_temp: F32,
    wind: [F32; 3],
}

/// Where the vehicles start.
const VEHICLES: usize = size_of::<SharedLayout>();
/// Bytes of `rfShared`.
pub const SHARED_LEN: usize = VEHICLES + MAX_VEHICLES * size_of::<VehicleLayout>();

// The plugin's offsets (computed from its header, packed to 1): 11367 in
// all, as the presets and simapi's rfdata.h have it.
const _: () = {
    use std::mem::offset_of;
    assert!(size_of::<WheelLayout>() == 67);
    assert!(size_of::<VehicleLayout>() == 168);
    assert!(offset_of!(VehicleLayout, best_lap_time) == 56);
    assert!(offset_of!(VehicleLayout, is_player) == 84);
    assert!(offset_of!(VehicleLayout, vehicle_class) == 88);
    assert!(offset_of!(SharedLayout, track_name) == 20);
    assert!(offset_of!(SharedLayout, speed) == 180);
    assert!(offset_of!(SharedLayout, engine_rpm) == 188);
    assert!(offset_of!(SharedLayout, fuel) == 224);
    assert!(offset_of!(SharedLayout, wheels) == 263);
    assert!(offset_of!(SharedLayout, session) == 531);
    assert!(offset_of!(SharedLayout, num_vehicles) == 551);
    assert!(offset_of!(SharedLayout, in_realtime) == 562);
    assert!(VEHICLES == 615);
    assert!(SHARED_LEN == 11_367);
};

/// `rfWheel`, the fields shown.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Wheel {
    /// Brake, °C.
    pub brake_temp: f32,
    /// Pressure, kPa.
    pub pressure: f32,
    /// Tread left, centre, right, °C.
    pub temperature: [f32; 3],
    /// Wear, 0 to 1.
    pub wear: f32,
    /// Whether the tyre is flat.
    pub flat: bool,
    /// Whether the wheel came off.
    pub detached: bool,
}

/// `rfVehicleInfo`, the fields shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Vehicle {
    /// The driver.
    pub driver_name: String,
    /// Laps completed.
    pub total_laps: i16,
    /// 0 sector 3, 1 sector 1, 2 sector 2.
    pub sector: i8,
    /// 0 none, 1 finished, 2 DNF, 3 disqualified.
    pub finish_status: i8,
    /// Distance around the lap, metres.
    pub lap_dist: f32,
    /// Best lap, seconds (0 or less: none).
    pub best_lap_time: f32,
    /// Last lap, seconds (0 or less: none).
    pub last_lap_time: f32,
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
}

/// `rfShared`, the fields shown, with the vehicle marked the player's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Shared {
    /// The plugin's layout version ("3.0.0.0").
    pub version: String,
    /// Seconds since the last scoring update.
    pub delta_time: f32,
    /// The lap being driven.
    pub lap_number: i32,
    /// When it began, session seconds.
    pub lap_start_et: f32,
    /// The track.
    pub track_name: String,
    /// Velocity in the car's axes, m/s.
    pub local_vel: [f32; 3],
    /// Speed, m/s.
    pub speed: f32,
    /// -1 reverse, 0 neutral, 1 first, ...
    pub gear: i32,
    /// Engine speed, rpm.
    pub engine_rpm: f32,
    /// Water, °C.
    pub engine_water_temp: f32,
    /// Oil, °C.
    pub engine_oil_temp: f32,
    /// Throttle, 0 to 1.
    pub unfiltered_throttle: f32,
    /// Brake, 0 to 1.
    pub unfiltered_brake: f32,
    /// Steering, -1 (left) to 1.
    pub unfiltered_steering: f32,
    /// Clutch, 0 to 1.
    pub unfiltered_clutch: f32,
    /// Fuel, litres.
    pub fuel: f32,
    /// Rev limit, rpm.
    pub engine_max_rpm: f32,
    /// Front left, front right, rear left, rear right.
    pub wheels: [Wheel; 4],
    /// 0 test day, 1-4 practice, 5-8 qualifying, 9 warm-up, 10-13 race.
    pub session: i32,
    /// Session time, seconds.
    pub current_et: f32,
    /// When the session ends, seconds.
    pub end_et: f32,
    /// Laps of the session.
    pub max_laps: i32,
    /// Vehicles in the session.
    pub num_vehicles: i32,
    /// 0 garage ... 5 green, 6 full-course yellow, 7 stopped, 8 over.
    pub game_phase: u8,
    /// Full-course yellow: -1 invalid, 0 none, 1 pending ... 6 resume.
    pub yellow_flag_state: i8,
    /// Local yellows, indexed as a vehicle's `sector`.
    pub sector_flag: [i8; 3],
    /// On track, as opposed to at the monitor.
    pub in_realtime: bool,
    /// The player's name.
    pub player_name: String,
    /// The vehicle marked `isPlayer`.
    pub player: Option<Vehicle>,
}

fn f32s<const N: usize>(values: [F32; N]) -> [f32; N] {
    values.map(F32::get)
}

impl Vehicle {
    fn decode(b: &[u8]) -> Option<Vehicle> {
        let (v, _) = VehicleLayout::read_from_prefix(b).ok()?;
        Some(Vehicle {
            driver_name: text(&v.driver_name),
            total_laps: v.total_laps.get(),
            sector: v.sector,
            finish_status: v.finish_status,
            lap_dist: v.lap_dist.get(),
            best_lap_time: v.best_lap_time.get(),
            last_lap_time: v.last_lap_time.get(),
            num_penalties: v.num_penalties.get(),
            is_player: v.is_player != 0,
            control: v.control,
            in_pits: v.in_pits != 0,
            place: v.place,
            vehicle_class: text(&v.vehicle_class),
        })
    }

    fn encode(&self) -> Vec<u8> {
        let mut v = VehicleLayout::new_zeroed();
        v.driver_name = fixed(&self.driver_name);
        v.total_laps = I16::new(self.total_laps);
        v.sector = self.sector;
        v.finish_status = self.finish_status;
        v.lap_dist = F32::new(self.lap_dist);
        v.best_lap_time = F32::new(self.best_lap_time);
        v.last_lap_time = F32::new(self.last_lap_time);
        v.num_penalties = I16::new(self.num_penalties);
        v.is_player = u8::from(self.is_player);
        v.control = self.control;
        v.in_pits = u8::from(self.in_pits);
        v.place = self.place;
        v.vehicle_class = fixed(&self.vehicle_class);
        v.as_bytes().to_vec()
    }
}

impl Shared {
    /// The page at the start of `b`; `None` if `b` ends before its
    /// vehicles. Vehicles past its end are not there.
    pub fn decode(b: &[u8]) -> Option<Shared> {
        let (s, _) = SharedLayout::read_from_prefix(b).ok()?;
        let player = (0..used(s.num_vehicles.get(), MAX_VEHICLES))
            .filter_map(|i| record(b, VEHICLES, size_of::<VehicleLayout>(), i))
            .find(|v| v[std::mem::offset_of!(VehicleLayout, is_player)] != 0)
            .and_then(Vehicle::decode);
        Some(Shared {
            version: text(&s.version),
            delta_time: s.delta_time.get(),
            lap_number: s.lap_number.get(),
            lap_start_et: s.lap_start_et.get(),
            track_name: text(&s.track_name),
            local_vel: f32s(s.local_vel),
            speed: s.speed.get(),
            gear: s.gear.get(),
            engine_rpm: s.engine_rpm.get(),
            engine_water_temp: s.engine_water_temp.get(),
            engine_oil_temp: s.engine_oil_temp.get(),
            unfiltered_throttle: s.unfiltered_throttle.get(),
            unfiltered_brake: s.unfiltered_brake.get(),
            unfiltered_steering: s.unfiltered_steering.get(),
            unfiltered_clutch: s.unfiltered_clutch.get(),
            fuel: s.fuel.get(),
            engine_max_rpm: s.engine_max_rpm.get(),
            wheels: s.wheels.map(|w| Wheel {
                brake_temp: w.brake_temp.get(),
                pressure: w.pressure.get(),
                temperature: f32s(w.temperature),
                wear: w.wear.get(),
                flat: w.flat != 0,
                detached: w.detached != 0,
            }),
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
            player,
        })
    }

    /// The page's bytes up to its last vehicle: `self` but its player, and
    /// `vehicles`.
    pub fn encode(&self, vehicles: &[Vehicle]) -> Vec<u8> {
        let mut s = SharedLayout::new_zeroed();
        s.version = fixed(&self.version);
        s.delta_time = F32::new(self.delta_time);
        s.lap_number = I32::new(self.lap_number);
        s.lap_start_et = F32::new(self.lap_start_et);
        s.track_name = fixed(&self.track_name);
        s.local_vel = self.local_vel.map(F32::new);
        s.speed = F32::new(self.speed);
        s.gear = I32::new(self.gear);
        s.engine_rpm = F32::new(self.engine_rpm);
        s.engine_water_temp = F32::new(self.engine_water_temp);
        s.engine_oil_temp = F32::new(self.engine_oil_temp);
        s.unfiltered_throttle = F32::new(self.unfiltered_throttle);
        s.unfiltered_brake = F32::new(self.unfiltered_brake);
        s.unfiltered_steering = F32::new(self.unfiltered_steering);
        s.unfiltered_clutch = F32::new(self.unfiltered_clutch);
        s.fuel = F32::new(self.fuel);
        s.engine_max_rpm = F32::new(self.engine_max_rpm);
        for (layout, w) in s.wheels.iter_mut().zip(&self.wheels) {
            layout.brake_temp = F32::new(w.brake_temp);
            layout.pressure = F32::new(w.pressure);
            layout.temperature = w.temperature.map(F32::new);
            layout.wear = F32::new(w.wear);
            layout.flat = u8::from(w.flat);
            layout.detached = u8::from(w.detached);
        }
        s.session = I32::new(self.session);
        s.current_et = F32::new(self.current_et);
        s.end_et = F32::new(self.end_et);
        s.max_laps = I32::new(self.max_laps);
        s.num_vehicles = I32::new(self.num_vehicles);
        s.game_phase = self.game_phase;
        s.yellow_flag_state = self.yellow_flag_state;
        s.sector_flag = self.sector_flag;
        s.in_realtime = u8::from(self.in_realtime);
        s.player_name = fixed(&self.player_name);
        let mut b = s.as_bytes().to_vec();
        for v in vehicles.iter().take(MAX_VEHICLES) {
            b.extend(v.encode());
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_round_trips_at_the_plugins_offsets() {
        let me = Vehicle {
            driver_name: "Demo".into(),
            is_player: true,
            place: 2,
            ..Vehicle::default()
        };
        let ai = Vehicle {
            driver_name: "AI".into(),
            ..Vehicle::default()
        };
        let shared = Shared {
            version: "3.0.0.0".into(),
            speed: 50.0,
            engine_rpm: 7000.0,
            num_vehicles: 2,
            player: Some(me.clone()),
            ..Shared::default()
        };
        let b = shared.encode(&[ai, me]);
        assert_eq!(b.len(), 615 + 2 * 168);
        assert_eq!(Shared::decode(&b), Some(shared));
        assert_eq!(&b[..8], b"3.0.0.0\0");
        assert_eq!(&b[180..184], &50f32.to_le_bytes(), "speed @180");
        assert_eq!(&b[188..192], &7000f32.to_le_bytes(), "engineRPM @188");
        assert_eq!((b[551], b[615 + 168 + 84]), (2, 1), "numVehicles, isPlayer");
        assert!(Shared::decode(&b[..615]).is_some_and(|s| s.player.is_none()));
        assert_eq!(Shared::decode(&b[..614]), None);
    }
}
