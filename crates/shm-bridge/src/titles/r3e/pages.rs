//! RaceRoom's page, `$R3E`: `r3e_shared` of the official SDK
//! (sector3studios/r3e-api, `sample-c/src/r3e.h`, version 3.5), packed
//! (`#pragma pack(1)`), little-endian; strings UTF-8, NUL-terminated in
//! fixed arrays. Only the fields shown are declared; the rest is padding
//! of the same size, and every offset used is checked against the
//! header's (compiled with the SDK header to read them).

use serde::{Deserialize, Serialize};
use zerocopy::little_endian::{F32, I32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// `r3e_tire_temp`.
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct TireTemp {
    /// Left, center, right of the tread, °C.
    current_temp: [F32; 3],
    optimal_temp: F32,
    cold_temp: F32,
    hot_temp: F32,
}

/// The first 2012 bytes of `r3e_shared`: everything before the drivers.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub(super) struct SharedPage {
    version_major: I32,
    version_minor: I32,
    all_drivers_offset: I32,
    driver_data_size: I32,
    game_mode: I32,
    game_paused: I32,
    game_in_menus: I32,
    game_in_replay: I32,
    game_using_vr: I32,
    game_player_in_garage: I32,
    // r3e_playerdata
    player_user_id: I32,
    game_simulation_ticks: I32,
    _player: [u8; 552],
    track_name: [u8; 64],
    layout_name: [u8; 64],
    track_id: I32,
    layout_id: I32,
    layout_length: F32,
    _sector_starts_to_event_index: [u8; 40],
    session_type: I32,
    session_iteration: I32,
    session_length_format: I32,
    session_pit_speed_limit: F32,
    session_phase: I32,
    start_lights: I32,
    tire_wear_active: I32,
    fuel_use_active: I32,
    number_of_laps: I32,
    session_time_duration: F32,
    session_time_remaining: F32,
    _incidents_to_pit: [u8; 108],
    // r3e_flags
    yellow: I32,
    _yellow_details: [u8; 28],
    blue: I32,
    black: I32,
    green: I32,
    checkered: I32,
    white: I32,
    black_and_white: I32,
    position: I32,
    position_class: I32,
    finish_status: I32,
    _penalties: [u8; 28],
    completed_laps: I32,
    _lap_state: [u8; 36],
    lap_time_best_self: F32,
    _sector_best_self: [u8; 12],
    lap_time_previous_self: F32,
    _sector_previous_self: [u8; 12],
    lap_time_current_self: F32,
    _timing: [u8; 92],
    // vehicle_info (r3e_driver_info)
    vehicle_driver_name: [u8; 64],
    car_number: I32,
    class_id: I32,
    model_id: I32,
    _vehicle_info: [u8; 52],
    player_name: [u8; 64],
    control_type: I32,
    car_speed: F32,
    engine_rps: F32,
    max_engine_rps: F32,
    upshift_rps: F32,
    gear: I32,
    num_gears: I32,
    _motion: [u8; 40],
    fuel_left: F32,
    fuel_capacity: F32,
    _fuel_to_turbo: [u8; 36],
    throttle: F32,
    throttle_raw: F32,
    brake: F32,
    brake_raw: F32,
    clutch: F32,
    clutch_raw: F32,
    steer_input_raw: F32,
    _steer_to_tires: [u8; 184],
    tire_pressure: [F32; 4],
    _tire_dirt: [u8; 16],
    tire_temp: [TireTemp; 4],
    _brakes_to_damage: [u8; 168],
    num_cars: I32,
}

// The SDK's offsets (r3e.h 3.5, compiled with pack(1)).
const _: () = {
    use std::mem::offset_of;
    assert!(offset_of!(SharedPage, game_simulation_ticks) == 44);
    assert!(offset_of!(SharedPage, track_name) == 600);
    assert!(offset_of!(SharedPage, track_id) == 728);
    assert!(offset_of!(SharedPage, session_type) == 780);
    assert!(offset_of!(SharedPage, number_of_laps) == 812);
    assert!(offset_of!(SharedPage, session_time_remaining) == 820);
    assert!(offset_of!(SharedPage, yellow) == 932);
    assert!(offset_of!(SharedPage, blue) == 964);
    assert!(offset_of!(SharedPage, black_and_white) == 984);
    assert!(offset_of!(SharedPage, position) == 988);
    assert!(offset_of!(SharedPage, completed_laps) == 1028);
    assert!(offset_of!(SharedPage, lap_time_best_self) == 1068);
    assert!(offset_of!(SharedPage, lap_time_previous_self) == 1084);
    assert!(offset_of!(SharedPage, lap_time_current_self) == 1100);
    assert!(offset_of!(SharedPage, vehicle_driver_name) == 1196);
    assert!(offset_of!(SharedPage, player_name) == 1324);
    assert!(offset_of!(SharedPage, car_speed) == 1392);
    assert!(offset_of!(SharedPage, gear) == 1408);
    assert!(offset_of!(SharedPage, fuel_left) == 1456);
    assert!(offset_of!(SharedPage, throttle) == 1500);
    assert!(offset_of!(SharedPage, steer_input_raw) == 1524);
    assert!(offset_of!(SharedPage, tire_pressure) == 1712);
    assert!(offset_of!(SharedPage, tire_temp) == 1744);
    assert!(offset_of!(SharedPage, num_cars) == 2008);
    assert!(size_of::<SharedPage>() == 2012);
};

/// `r3e_flags`, each -1 (no data), 0 or 1; `black_and_white` says why.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flags {
    /// Yellow flag.
    pub yellow: i32,
    /// Blue flag.
    pub blue: i32,
    /// Black flag.
    pub black: i32,
    /// Green flag.
    pub green: i32,
    /// Chequered flag.
    pub checkered: i32,
    /// White flag.
    pub white: i32,
    /// 1, 2 blue flag warnings, 3 wrong way, 4 cutting track.
    pub black_and_white: i32,
}

/// `r3e_shared`, the fields shown, in RaceRoom's units.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Shared {
    /// Layout version; this decoder reads 3.5.
    pub version_major: i32,
    /// Layout version, minor.
    pub version_minor: i32,
    /// Where the drivers' array is.
    pub all_drivers_offset: i32,
    /// Bytes of one driver's data.
    pub driver_data_size: i32,
    /// 1 when paused.
    pub game_paused: i32,
    /// 1 in the menus.
    pub game_in_menus: i32,
    /// 1 in a replay.
    pub game_in_replay: i32,
    /// Physics ticks (400 a second).
    pub game_simulation_ticks: i32,
    /// The track.
    pub track_name: String,
    /// Its layout.
    pub layout_name: String,
    /// 0 practice, 1 qualify, 2 race, 3 warmup; -1 none.
    pub session_type: i32,
    /// 0 time, 1 laps, 2 time and a lap.
    pub session_length_format: i32,
    /// Laps of the race, or -1.
    pub number_of_laps: i32,
    /// Seconds left, or -1.
    pub session_time_remaining: f32,
    /// The flags out.
    pub flags: Flags,
    /// Race position.
    pub position: i32,
    /// Laps completed, or -1.
    pub completed_laps: i32,
    /// Best lap, s (-1 none).
    pub lap_time_best_self: f32,
    /// Last lap, s (-1 none).
    pub lap_time_previous_self: f32,
    /// This lap so far, s (-1 none).
    pub lap_time_current_self: f32,
    /// The car's model id (RaceRoom names cars in its own data files).
    pub model_id: i32,
    /// The player.
    pub player_name: String,
    /// m/s.
    pub car_speed: f32,
    /// Engine speed, rad/s (-1 none).
    pub engine_rps: f32,
    /// Rev limit, rad/s.
    pub max_engine_rps: f32,
    /// -2 none, -1 reverse, 0 neutral, 1 first, ...
    pub gear: i32,
    /// Litres.
    pub fuel_left: f32,
    /// Litres.
    pub fuel_capacity: f32,
    /// 0 to 1 (-1 none).
    pub throttle: f32,
    /// 0 to 1 (-1 none).
    pub brake: f32,
    /// 0 to 1 (-1 none).
    pub clutch: f32,
    /// -1 to 1.
    pub steer_input_raw: f32,
    /// kPa, FL FR RL RR (-1 none).
    pub tire_pressure: [f32; 4],
    /// °C, left, center and right of each tread (-1 none).
    pub tire_temp: [[f32; 3]; 4],
    /// Cars in the session.
    pub num_cars: i32,
}

/// The text of a NUL-terminated UTF-8 field.
fn text(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// A field of `s`, NUL-terminated (cut to leave the NUL).
fn fixed<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    let mut n = s.len().min(N - 1);
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    out[..n].copy_from_slice(&s.as_bytes()[..n]);
    out
}

impl Shared {
    /// Decodes a copy of the page; `None` if it is too short.
    pub fn decode(b: &[u8]) -> Option<Shared> {
        let (p, _) = SharedPage::read_from_prefix(b).ok()?;
        Some(Shared {
            version_major: p.version_major.get(),
            version_minor: p.version_minor.get(),
            all_drivers_offset: p.all_drivers_offset.get(),
            driver_data_size: p.driver_data_size.get(),
            game_paused: p.game_paused.get(),
            game_in_menus: p.game_in_menus.get(),
            game_in_replay: p.game_in_replay.get(),
            game_simulation_ticks: p.game_simulation_ticks.get(),
            track_name: text(&p.track_name),
            layout_name: text(&p.layout_name),
            session_type: p.session_type.get(),
            session_length_format: p.session_length_format.get(),
            number_of_laps: p.number_of_laps.get(),
            session_time_remaining: p.session_time_remaining.get(),
            flags: Flags {
                yellow: p.yellow.get(),
                blue: p.blue.get(),
                black: p.black.get(),
                green: p.green.get(),
                checkered: p.checkered.get(),
                white: p.white.get(),
                black_and_white: p.black_and_white.get(),
            },
            position: p.position.get(),
            completed_laps: p.completed_laps.get(),
            lap_time_best_self: p.lap_time_best_self.get(),
            lap_time_previous_self: p.lap_time_previous_self.get(),
            lap_time_current_self: p.lap_time_current_self.get(),
            model_id: p.model_id.get(),
            player_name: text(&p.player_name),
            car_speed: p.car_speed.get(),
            engine_rps: p.engine_rps.get(),
            max_engine_rps: p.max_engine_rps.get(),
            gear: p.gear.get(),
            fuel_left: p.fuel_left.get(),
            fuel_capacity: p.fuel_capacity.get(),
            throttle: p.throttle.get(),
            brake: p.brake.get(),
            clutch: p.clutch.get(),
            steer_input_raw: p.steer_input_raw.get(),
            tire_pressure: p.tire_pressure.map(|v| v.get()),
            tire_temp: p.tire_temp.map(|t| t.current_temp.map(|v| v.get())),
            num_cars: p.num_cars.get(),
        })
    }

    /// Encodes over the start of `b` (at least 2012 bytes); the fields not
    /// shown are left as they are.
    pub fn encode(&self, b: &mut [u8]) {
        let Ok((mut p, _)) = SharedPage::read_from_prefix(b) else {
            return;
        };
        let i = I32::new;
        let f = F32::new;
        p.version_major = i(self.version_major);
        p.version_minor = i(self.version_minor);
        p.all_drivers_offset = i(self.all_drivers_offset);
        p.driver_data_size = i(self.driver_data_size);
        p.game_paused = i(self.game_paused);
        p.game_in_menus = i(self.game_in_menus);
        p.game_in_replay = i(self.game_in_replay);
        p.game_simulation_ticks = i(self.game_simulation_ticks);
        p.track_name = fixed(&self.track_name);
        p.layout_name = fixed(&self.layout_name);
        p.session_type = i(self.session_type);
        p.session_length_format = i(self.session_length_format);
        p.number_of_laps = i(self.number_of_laps);
        p.session_time_remaining = f(self.session_time_remaining);
        let fl = &self.flags;
        (p.yellow, p.blue, p.black, p.green) = (i(fl.yellow), i(fl.blue), i(fl.black), i(fl.green));
        (p.checkered, p.white, p.black_and_white) = (i(fl.checkered), i(fl.white), i(fl.black_and_white));
        p.position = i(self.position);
        p.completed_laps = i(self.completed_laps);
        p.lap_time_best_self = f(self.lap_time_best_self);
        p.lap_time_previous_self = f(self.lap_time_previous_self);
        p.lap_time_current_self = f(self.lap_time_current_self);
        p.model_id = i(self.model_id);
        p.vehicle_driver_name = fixed(&self.player_name);
        p.player_name = fixed(&self.player_name);
        p.car_speed = f(self.car_speed);
        p.engine_rps = f(self.engine_rps);
        p.max_engine_rps = f(self.max_engine_rps);
        p.gear = i(self.gear);
        p.fuel_left = f(self.fuel_left);
        p.fuel_capacity = f(self.fuel_capacity);
        p.throttle = f(self.throttle);
        p.brake = f(self.brake);
        p.clutch = f(self.clutch);
        p.steer_input_raw = f(self.steer_input_raw);
        p.tire_pressure = self.tire_pressure.map(f);
        for (t, temps) in p.tire_temp.iter_mut().zip(self.tire_temp) {
            t.current_temp = temps.map(f);
        }
        p.num_cars = i(self.num_cars);
        b[..size_of::<SharedPage>()].copy_from_slice(p.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::titles::r3e::synthetic;

    #[test]
    fn the_page_round_trips_at_the_sdk_offsets() {
        let mut page = vec![0u8; 43_996];
        let s = synthetic::shared(1234);
        s.encode(&mut page);
        assert_eq!(Shared::decode(&page), Some(s.clone()));
        let at = |o: usize| f32::from_le_bytes(page[o..o + 4].try_into().unwrap());
        assert_eq!(at(1392), s.car_speed, "CarSpeed @1392");
        assert_eq!(&page[600..603], b"Spa", "TrackName @600");
        assert_eq!(i32::from_le_bytes(page[0..4].try_into().unwrap()), 3);
        assert_eq!(Shared::decode(&page[..2011]), None);
    }
}
