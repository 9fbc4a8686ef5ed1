//! AC EVO's graphics and static pages, and their fields as shm-bridge
//! shows them; each field's offset is written once, in the layout structs.
//!
//! From Kunos's `SharedFileOut.h` for AC EVO (the 0.6 interface, with the
//! `car_ids` its later builds append to the graphics page, which make it
//! 4900 bytes), as shipped in SeriousOldMan/Simulator-Controller
//! (`Sources/Special/ACE SHM Provider/ACE SHM Provider/SharedFileOut.h`).
//! `#pragma pack(4)`; the offsets below were computed from that header
//! with MinGW and are asserted. Strings are 8-bit, NUL-terminated inside
//! fixed arrays (unlike ACC's UTF-16).

use serde::{Deserialize, Serialize};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::core::narrow::{from_narrow, to_fixed_narrow};

/// `SMEvoTyreState` (256 bytes), its first fields.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct TyreStatePage {
    slip: f32,
    lock: u8,
    _pad: [u8; 3],
    tyre_pression: f32,
    tyre_temperature_c: f32,
    brake_temperature_c: f32,
    /// `brake_pressure` to `place_holder`.
    _rest: [u8; 236],
}

/// `SMEvoSessionState` (256 bytes), its first fields.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct SessionStatePage {
    phase_name: [u8; 33],
    time_left: [u8; 15],
    time_left_ms: i32,
    wait_time: [u8; 15],
    _pad: u8,
    total_lap: i32,
    current_lap: i32,
    /// `lights_on` to `place_holder`.
    _rest: [u8; 180],
}

/// `SPageFileGraphicEvo` through `max_turbo_boost`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub(super) struct GraphicsPage {
    packet_id: i32,
    status: i32,
    /// `focused_car_id_a/b`, `player_car_id_a/b`.
    _car_ids: [u8; 32],
    rpm: u16,
    /// `is_rpm_limiter_on` to `is_max_charge_kj_per_lap_reached`, padding.
    _dash_lights: [u8; 16],
    display_speed_kmh: i16,
    /// `display_speed_mph`, `display_speed_ms`, `pitspeeding_delta`.
    _other_speeds: [u8; 8],
    gear_int: i16,
    _pad: [u8; 2],
    rpm_percent: f32,
    gas_percent: f32,
    brake_percent: f32,
    handbrake_percent: f32,
    clutch_percent: f32,
    steering_percent: f32,
    /// `ffb_strength` to `delta_time_ms`.
    _to_lap_time: [u8; 92],
    current_lap_time_ms: i32,
    predicted_lap_time_ms: i32,
    fuel_liter_current_quantity: f32,
    /// `fuel_liter_current_quantity_percent` to `current_bhp`.
    _to_tyres: [u8; 20],
    tyres: [TyreStatePage; 4],
    npos: f32,
    /// `kers_charge_perc` to `race_cut_current_delta`: damage, pit,
    /// instrumentation and electronics blocks.
    _to_laps: [u8; 1136],
    total_lap_count: i32,
    current_pos: u32,
    total_drivers: u32,
    last_laptime_ms: i32,
    best_laptime_ms: i32,
    flag: i32,
    global_flag: i32,
    max_gears: u32,
    engine_type: i32,
    has_kers: u8,
    is_last_lap: u8,
    /// `performance_mode_name` to `race_cut_current_delta`.
    _to_session: [u8; 54],
    session_state: SessionStatePage,
    /// `timing_state`, `player_ping` to `player_fps_avg`.
    _timing_and_player: [u8; 288],
    driver_name: [u8; 33],
    driver_surname: [u8; 33],
    car_model: [u8; 33],
    is_in_pit_box: u8,
    is_in_pit_lane: u8,
    is_valid_lap: u8,
    _pad2: [u8; 2],
    /// `car_coordinates[60][3]`.
    _car_coordinates: [u8; 720],
    gap_ahead: f32,
    gap_behind: f32,
    active_cars: u8,
    _pad3: [u8; 3],
    fuel_per_lap: f32,
    fuel_estimated_laps: f32,
    /// `assists_state`.
    _assists: [u8; 64],
    max_fuel: f32,
    max_turbo_boost: f32,
}

/// `SPageFileStaticEvo` (208 bytes).
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub(super) struct StaticPage {
    sm_version: [u8; 15],
    ac_evo_version: [u8; 15],
    _pad: [u8; 2],
    session: i32,
    session_name: [u8; 33],
    event_id: u8,
    session_id: u8,
    _pad2: u8,
    starting_grip: i32,
    starting_ambient_temperature_c: f32,
    starting_ground_temperature_c: f32,
    is_static_weather: u8,
    is_timed_race: u8,
    is_online: u8,
    _pad3: u8,
    number_of_sessions: i32,
    nation: [u8; 33],
    _pad4: [u8; 3],
    longitude: f32,
    latitude: f32,
    track: [u8; 33],
    track_configuration: [u8; 33],
    _pad5: [u8; 2],
    track_length_m: f32,
}

// The header's offsets, checked where the compiler can see them.
const _: () = {
    use std::mem::offset_of;
    assert!(size_of::<TyreStatePage>() == 256);
    assert!(offset_of!(TyreStatePage, tyre_temperature_c) == 12);
    assert!(size_of::<SessionStatePage>() == 256);
    assert!(offset_of!(SessionStatePage, time_left_ms) == 48);
    assert!(offset_of!(SessionStatePage, total_lap) == 68);
    assert!(offset_of!(GraphicsPage, rpm) == 40);
    assert!(offset_of!(GraphicsPage, display_speed_kmh) == 58);
    assert!(offset_of!(GraphicsPage, gear_int) == 68);
    assert!(offset_of!(GraphicsPage, gas_percent) == 76);
    assert!(offset_of!(GraphicsPage, steering_percent) == 92);
    assert!(offset_of!(GraphicsPage, current_lap_time_ms) == 188);
    assert!(offset_of!(GraphicsPage, fuel_liter_current_quantity) == 196);
    assert!(offset_of!(GraphicsPage, tyres) == 220);
    assert!(offset_of!(GraphicsPage, npos) == 1244);
    assert!(offset_of!(GraphicsPage, total_lap_count) == 2384);
    assert!(offset_of!(GraphicsPage, last_laptime_ms) == 2396);
    assert!(offset_of!(GraphicsPage, flag) == 2404);
    assert!(offset_of!(GraphicsPage, global_flag) == 2408);
    assert!(offset_of!(GraphicsPage, is_last_lap) == 2421);
    assert!(offset_of!(GraphicsPage, session_state) == 2476);
    assert!(offset_of!(GraphicsPage, driver_name) == 3020);
    assert!(offset_of!(GraphicsPage, car_model) == 3086);
    assert!(offset_of!(GraphicsPage, is_valid_lap) == 3121);
    assert!(offset_of!(GraphicsPage, gap_ahead) == 3844);
    assert!(offset_of!(GraphicsPage, active_cars) == 3852);
    assert!(offset_of!(GraphicsPage, max_fuel) == 3928);
    assert!(size_of::<GraphicsPage>() == 3936);
    assert!(offset_of!(StaticPage, session) == 32);
    assert!(offset_of!(StaticPage, starting_grip) == 72);
    assert!(offset_of!(StaticPage, number_of_sessions) == 88);
    assert!(offset_of!(StaticPage, longitude) == 128);
    assert!(offset_of!(StaticPage, track) == 136);
    assert!(offset_of!(StaticPage, track_configuration) == 169);
    assert!(offset_of!(StaticPage, track_length_m) == 204);
    assert!(size_of::<StaticPage>() == 208);
};

/// Bytes of the graphics page the decoder reads.
pub const GRAPHICS_NEEDED: usize = size_of::<GraphicsPage>();
/// Bytes of the static page (all read).
pub const STATIC_NEEDED: usize = size_of::<StaticPage>();

/// One tyre of the graphics page, as shown.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Tyre {
    /// `tyre_pression`, as the dashboard shows it.
    pub pressure: f32,
    /// °C.
    pub temperature_c: f32,
    /// Brake, °C.
    pub brake_temperature_c: f32,
}

/// `SPageFileGraphicEvo`, the fields shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Graphics {
    /// Bumped by the game after each update.
    pub packet_id: i32,
    /// `ACEVO_STATUS`: 0 off, 1 replay, 2 live, 3 pause.
    pub status: i32,
    /// The dashboard's rpm.
    pub rpm: u16,
    /// The dashboard's km/h.
    pub display_speed_kmh: i16,
    /// 0 reverse, 1 neutral, 2 first, ...
    pub gear_int: i16,
    /// Throttle, 0 to 1.
    pub gas_percent: f32,
    /// Brake, 0 to 1.
    pub brake_percent: f32,
    /// Clutch, 0 to 1.
    pub clutch_percent: f32,
    /// Steering, -1 to 1.
    pub steering_percent: f32,
    /// The lap being driven, ms.
    pub current_lap_time_ms: i32,
    /// Fuel, litres.
    pub fuel_liter_current_quantity: f32,
    /// FL, FR, RL, RR.
    pub tyres: [Tyre; 4],
    /// Laps completed.
    pub total_lap_count: i32,
    /// Race position.
    pub current_pos: u32,
    /// Drivers in the session.
    pub total_drivers: u32,
    /// Last lap, ms.
    pub last_laptime_ms: i32,
    /// Best lap, ms.
    pub best_laptime_ms: i32,
    /// `ACEVO_FLAG_TYPE` shown to the player (0 none, 1 white, 2 green, 3
    /// red, 4 blue, 5 yellow, 6 black, 7 black and white, 8 chequered, 9
    /// orange disc, 10 red and yellow stripes).
    pub flag: i32,
    /// The session's flag, same codes.
    pub global_flag: i32,
    /// Forward gears.
    pub max_gears: u32,
    /// The last lap.
    pub is_last_lap: bool,
    /// The session's phase.
    pub phase_name: String,
    /// Session time left, ms.
    pub time_left_ms: i32,
    /// Laps of the session (0: a timed one).
    pub total_lap: i32,
    /// The driver's first name.
    pub driver_name: String,
    /// The driver's surname.
    pub driver_surname: String,
    /// The car.
    pub car_model: String,
    /// In the pit lane.
    pub is_in_pit_lane: bool,
    /// The lap counts.
    pub is_valid_lap: bool,
    /// Tank, litres.
    pub max_fuel: f32,
}

/// `SPageFileStaticEvo`, the fields shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Static {
    /// Shared memory version.
    pub sm_version: String,
    /// Game version.
    pub ac_evo_version: String,
    /// `ACEVO_SESSION_TYPE`: -1 unknown, 0 time attack, 1 race, 2 hot
    /// stint, 3 cruise.
    pub session: i32,
    /// The session's name.
    pub session_name: String,
    /// A race of time rather than laps.
    pub is_timed_race: bool,
    /// Online.
    pub is_online: bool,
    /// Sessions of the event.
    pub number_of_sessions: i32,
    /// The track.
    pub track: String,
    /// Its layout.
    pub track_configuration: String,
    /// Metres a lap.
    pub track_length_m: f32,
}

/// Writes `page` over the start of `b` (at least as long as it).
fn put<T: IntoBytes + Immutable>(page: &T, b: &mut [u8]) {
    let bytes = page.as_bytes();
    b[..bytes.len()].copy_from_slice(bytes);
}

impl Graphics {
    /// Decodes a copy of the page; `None` if it is too short.
    pub fn decode(b: &[u8]) -> Option<Graphics> {
        let (g, _) = GraphicsPage::read_from_prefix(b).ok()?;
        let s = &g.session_state;
        Some(Graphics {
            packet_id: g.packet_id,
            status: g.status,
            rpm: g.rpm,
            display_speed_kmh: g.display_speed_kmh,
            gear_int: g.gear_int,
            gas_percent: g.gas_percent,
            brake_percent: g.brake_percent,
            clutch_percent: g.clutch_percent,
            steering_percent: g.steering_percent,
            current_lap_time_ms: g.current_lap_time_ms,
            fuel_liter_current_quantity: g.fuel_liter_current_quantity,
            tyres: g.tyres.map(|t| Tyre {
                pressure: t.tyre_pression,
                temperature_c: t.tyre_temperature_c,
                brake_temperature_c: t.brake_temperature_c,
            }),
            total_lap_count: g.total_lap_count,
            current_pos: g.current_pos,
            total_drivers: g.total_drivers,
            last_laptime_ms: g.last_laptime_ms,
            best_laptime_ms: g.best_laptime_ms,
            flag: g.flag,
            global_flag: g.global_flag,
            max_gears: g.max_gears,
            is_last_lap: g.is_last_lap != 0,
            phase_name: from_narrow(&s.phase_name),
            time_left_ms: s.time_left_ms,
            total_lap: s.total_lap,
            driver_name: from_narrow(&g.driver_name),
            driver_surname: from_narrow(&g.driver_surname),
            car_model: from_narrow(&g.car_model),
            is_in_pit_lane: g.is_in_pit_lane != 0,
            is_valid_lap: g.is_valid_lap != 0,
            max_fuel: g.max_fuel,
        })
    }

    /// Encodes into a page buffer (at least [`GRAPHICS_NEEDED`] bytes),
    /// packet id included.
    pub fn encode(&self, b: &mut [u8]) {
        let tyre = |t: &Tyre| TyreStatePage {
            slip: 0.0,
            lock: 0,
            _pad: [0; 3],
            tyre_pression: t.pressure,
            tyre_temperature_c: t.temperature_c,
            brake_temperature_c: t.brake_temperature_c,
            _rest: [0; 236],
        };
        let page = GraphicsPage {
            packet_id: self.packet_id,
            status: self.status,
            _car_ids: [0; 32],
            rpm: self.rpm,
            _dash_lights: [0; 16],
            display_speed_kmh: self.display_speed_kmh,
            _other_speeds: [0; 8],
            gear_int: self.gear_int,
            _pad: [0; 2],
            rpm_percent: 0.0,
            gas_percent: self.gas_percent,
            brake_percent: self.brake_percent,
            handbrake_percent: 0.0,
            clutch_percent: self.clutch_percent,
            steering_percent: self.steering_percent,
            _to_lap_time: [0; 92],
            current_lap_time_ms: self.current_lap_time_ms,
            predicted_lap_time_ms: 0,
            fuel_liter_current_quantity: self.fuel_liter_current_quantity,
            _to_tyres: [0; 20],
            tyres: [
                tyre(&self.tyres[0]),
                tyre(&self.tyres[1]),
                tyre(&self.tyres[2]),
                tyre(&self.tyres[3]),
            ],
            npos: 0.0,
            _to_laps: [0; 1136],
            total_lap_count: self.total_lap_count,
            current_pos: self.current_pos,
            total_drivers: self.total_drivers,
            last_laptime_ms: self.last_laptime_ms,
            best_laptime_ms: self.best_laptime_ms,
            flag: self.flag,
            global_flag: self.global_flag,
            max_gears: self.max_gears,
            engine_type: 0,
            has_kers: 0,
            is_last_lap: u8::from(self.is_last_lap),
            _to_session: [0; 54],
            session_state: SessionStatePage {
                phase_name: to_fixed_narrow(&self.phase_name),
                time_left: [0; 15],
                time_left_ms: self.time_left_ms,
                wait_time: [0; 15],
                _pad: 0,
                total_lap: self.total_lap,
                current_lap: self.total_lap_count.saturating_add(1),
                _rest: [0; 180],
            },
            _timing_and_player: [0; 288],
            driver_name: to_fixed_narrow(&self.driver_name),
            driver_surname: to_fixed_narrow(&self.driver_surname),
            car_model: to_fixed_narrow(&self.car_model),
            is_in_pit_box: 0,
            is_in_pit_lane: u8::from(self.is_in_pit_lane),
            is_valid_lap: u8::from(self.is_valid_lap),
            _pad2: [0; 2],
            _car_coordinates: [0; 720],
            gap_ahead: 0.0,
            gap_behind: 0.0,
            active_cars: 0,
            _pad3: [0; 3],
            fuel_per_lap: 0.0,
            fuel_estimated_laps: 0.0,
            _assists: [0; 64],
            max_fuel: self.max_fuel,
            max_turbo_boost: 0.0,
        };
        put(&page, b);
    }
}

impl Static {
    /// Decodes a copy of the page; `None` if it is too short.
    pub fn decode(b: &[u8]) -> Option<Static> {
        let (s, _) = StaticPage::read_from_prefix(b).ok()?;
        Some(Static {
            sm_version: from_narrow(&s.sm_version),
            ac_evo_version: from_narrow(&s.ac_evo_version),
            session: s.session,
            session_name: from_narrow(&s.session_name),
            is_timed_race: s.is_timed_race != 0,
            is_online: s.is_online != 0,
            number_of_sessions: s.number_of_sessions,
            track: from_narrow(&s.track),
            track_configuration: from_narrow(&s.track_configuration),
            track_length_m: s.track_length_m,
        })
    }

    /// Encodes into a page buffer (at least [`STATIC_NEEDED`] bytes).
    pub fn encode(&self, b: &mut [u8]) {
        let page = StaticPage {
            sm_version: to_fixed_narrow(&self.sm_version),
            ac_evo_version: to_fixed_narrow(&self.ac_evo_version),
            _pad: [0; 2],
            session: self.session,
            session_name: to_fixed_narrow(&self.session_name),
            event_id: 0,
            session_id: 0,
            _pad2: 0,
            starting_grip: 2,
            starting_ambient_temperature_c: 22.0,
            starting_ground_temperature_c: 30.0,
            is_static_weather: 1,
            is_timed_race: u8::from(self.is_timed_race),
            is_online: u8::from(self.is_online),
            _pad3: 0,
            number_of_sessions: self.number_of_sessions,
            nation: to_fixed_narrow("Belgium"),
            _pad4: [0; 3],
            longitude: 5.97,
            latitude: 50.44,
            track: to_fixed_narrow(&self.track),
            track_configuration: to_fixed_narrow(&self.track_configuration),
            _pad5: [0; 2],
            track_length_m: self.track_length_m,
        };
        put(&page, b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::titles::acevo::synthetic;

    #[test]
    fn pages_round_trip_at_the_headers_offsets() {
        let mut page = vec![0u8; 4900];
        let g = synthetic::graphics(6000 * 2 + 480);
        g.encode(&mut page);
        assert_eq!(Graphics::decode(&page), Some(g.clone()));
        let int = |at: usize| i32::from_le_bytes(page[at..at + 4].try_into().unwrap());
        assert_eq!(int(2384), 2, "total_lap_count @2384");
        assert_eq!(int(2404), 5, "flag @2404: yellow");
        assert_eq!(&page[3086..3090], b"ks_p", "car_model @3086");
        let mut page = vec![0u8; 256];
        let s = synthetic::statics();
        s.encode(&mut page);
        assert_eq!(Static::decode(&page), Some(s));
        assert_eq!(&page[136..139], b"spa", "track @136");
        assert_eq!(int_at(&page, 32), 1, "session @32: race");
    }

    fn int_at(page: &[u8], at: usize) -> i32 {
        i32::from_le_bytes(page[at..at + 4].try_into().unwrap())
    }
}
