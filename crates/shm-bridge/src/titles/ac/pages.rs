//! The pages' layouts, from the ACC SDK, and their fields as shm-bridge
//! shows them; each field's offset is written once, in the layout structs.
//!
//! Offsets are those of Kunos's `SharedFileOut.h` for ACC (the "ACC Shared
//! Memory Documentation" 1.8/1.9), 4-byte packed: computed from that header
//! with MinGW and asserted below. Assetto Corsa's own graphics page differs
//! from ACC's past `normalizedCarPosition` (its `sim_info.py` layout, AC
//! shared memory 1.7: `carCoordinates[3]`, `penaltyTime`, then `flag` at 268).

use serde::{Deserialize, Serialize};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::core::utf16::{from_wide, to_fixed};

/// The first fields of `SPageFilePhysics`, through `currentMaxRpm`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub(super) struct PhysicsPage {
    packet_id: i32,
    gas: f32,
    brake: f32,
    fuel: f32,
    gear: i32,
    rpms: i32,
    steer_angle: f32,
    speed_kmh: f32,
    velocity: [f32; 3],
    /// `accG`, `wheelSlip`, `wheelLoad`.
    _to_pressures: [u8; 44],
    /// `wheelsPressure`, psi.
    wheels_pressure: [f32; 4],
    /// `wheelAngularSpeed`, `tyreWear`, `tyreDirtyLevel`.
    _to_core_temperatures: [u8; 48],
    /// `tyreCoreTemperature`, °C.
    tyre_core_temperature: [f32; 4],
    /// `camberRAD` to `drsEnabled`.
    _to_brake_temperatures: [u8; 180],
    brake_temp: [f32; 4],
    clutch: f32,
    /// `tyreTempI` to `P2PStatus`.
    _to_current_max_rpm: [u8; 220],
    current_max_rpm: i32,
}

/// The first fields of `SPageFileGraphic`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub(super) struct GraphicsPage {
    packet_id: i32,
    status: i32,
    session: i32,
    current_time: [u16; 15],
    last_time: [u16; 15],
    best_time: [u16; 15],
    split: [u16; 15],
    completed_laps: i32,
    position: i32,
    i_current_time: i32,
    i_last_time: i32,
    i_best_time: i32,
    session_time_left: f32,
    /// `distanceTraveled` to `normalizedCarPosition`, where the titles'
    /// pages part.
    _shared_rest: [u8; 96],
}

/// Assetto Corsa's graphics page after the fields it shares with ACC.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct AcGraphicsTail {
    car_coordinates: [f32; 3],
    penalty_time: f32,
    flag: i32,
}

/// ACC's graphics page after the fields it shares with Assetto Corsa,
/// through `penalty`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct AccGraphicsTail {
    active_cars: i32,
    car_coordinates: [[f32; 3]; 60],
    car_id: [i32; 60],
    player_car_id: i32,
    penalty_time: f32,
    flag: i32,
    penalty: i32,
}

/// Which title's graphics page, past the fields they share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// ACC's, as its SDK documents it (AC Rally's pages are read alike).
    Competizione,
    /// Assetto Corsa's (the first one).
    AssettoCorsa,
}

impl Layout {
    /// Bytes of the graphics page the decoder reads.
    pub const fn graphics_needed(self) -> usize {
        size_of::<GraphicsPage>()
            + match self {
                Layout::Competizione => size_of::<AccGraphicsTail>(),
                Layout::AssettoCorsa => size_of::<AcGraphicsTail>(),
            }
    }
}

/// The first fields of `SPageFileStatic`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub(super) struct StaticPage {
    sm_version: [u16; 15],
    ac_version: [u16; 15],
    number_of_sessions: i32,
    num_cars: i32,
    car_model: [u16; 33],
    track: [u16; 33],
    player_name: [u16; 33],
    player_surname: [u16; 33],
    player_nick: [u16; 33],
    /// The SDK's 4-byte packing puts `sectorCount` at 400.
    _pad: [u8; 2],
    sector_count: i32,
    max_torque: f32,
    max_power: f32,
    max_rpm: i32,
    max_fuel: f32,
}

// The SDK's offsets, checked where the compiler can see them.
const _: () = {
    use std::mem::offset_of;
    assert!(offset_of!(PhysicsPage, speed_kmh) == 28);
    assert!(offset_of!(PhysicsPage, wheels_pressure) == 88);
    assert!(offset_of!(PhysicsPage, tyre_core_temperature) == 152);
    assert!(offset_of!(PhysicsPage, brake_temp) == 348);
    assert!(offset_of!(PhysicsPage, clutch) == 364);
    assert!(offset_of!(PhysicsPage, current_max_rpm) == 588);
    assert!(size_of::<PhysicsPage>() == 592);
    assert!(offset_of!(GraphicsPage, completed_laps) == 132);
    assert!(offset_of!(GraphicsPage, i_current_time) == 140);
    assert!(offset_of!(GraphicsPage, session_time_left) == 152);
    assert!(size_of::<GraphicsPage>() == 252);
    assert!(252 + offset_of!(AcGraphicsTail, flag) == 268);
    assert!(252 + offset_of!(AccGraphicsTail, penalty_time) == 1220);
    assert!(252 + offset_of!(AccGraphicsTail, flag) == 1224);
    assert!(252 + offset_of!(AccGraphicsTail, penalty) == 1228);
    assert!(std::mem::offset_of!(StaticPage, car_model) == 68);
    assert!(std::mem::offset_of!(StaticPage, sector_count) == 400);
    assert!(std::mem::offset_of!(StaticPage, max_rpm) == 412);
    assert!(size_of::<StaticPage>() == 420);
};

/// `SPageFilePhysics`, the fields shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Physics {
    /// Bumped by the game after each update.
    pub packet_id: i32,
    /// Throttle, 0 to 1.
    pub gas: f32,
    /// Brake, 0 to 1.
    pub brake: f32,
    /// Litres left.
    pub fuel: f32,
    /// 0 = reverse, 1 = neutral, 2 = first gear, ...
    pub gear: i32,
    /// Engine speed.
    pub rpm: i32,
    /// Steering angle, -1 to 1.
    pub steer_angle: f32,
    /// Speed in km/h.
    pub speed_kmh: f32,
    /// Velocity vector, m/s.
    pub velocity: [f32; 3],
    /// Tyre pressures, psi: FL, FR, RL, RR.
    pub wheels_pressure: [f32; 4],
    /// Tyre core temperatures, °C.
    pub tyre_core_temperature: [f32; 4],
    /// Brake temperatures, °C.
    pub brake_temp: [f32; 4],
    /// Clutch pedal, 0 to 1.
    pub clutch: f32,
    /// The rev limit now (AC EVO; not used by ACC).
    pub current_max_rpm: i32,
}

/// `SPageFileGraphic`, the fields shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Graphics {
    /// Bumped by the game after each update.
    pub packet_id: i32,
    /// 0 off, 1 replay, 2 live, 3 pause.
    pub status: i32,
    /// Session type (0 practice, 1 qualify, 2 race, ...).
    pub session: i32,
    /// Current lap time as text.
    pub current_time: String,
    /// Last lap time as text.
    pub last_time: String,
    /// Best lap time as text.
    pub best_time: String,
    /// Last split as text.
    pub split: String,
    /// Laps completed.
    pub completed_laps: i32,
    /// Race position.
    pub position: i32,
    /// Current lap time in milliseconds.
    pub i_current_time: i32,
    /// Last lap time in milliseconds.
    pub i_last_time: i32,
    /// Best lap time in milliseconds (`i32::MAX` before the first).
    pub i_best_time: i32,
    /// Session time left, milliseconds.
    pub session_time_left: f32,
    /// `AC_FLAG_TYPE` shown to the player (0 none, 1 blue, 2 yellow, 3
    /// black, 4 white, 5 chequered, 6 penalty, ACC: 7 green, 8 orange).
    pub flag: i32,
    /// ACC's `PenaltyShortcut` (0 none); absent from Assetto Corsa's page.
    pub penalty: Option<i32>,
}

/// `SPageFileStatic`, the fields shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Static {
    /// Shared memory version.
    pub sm_version: String,
    /// Game version.
    pub ac_version: String,
    /// Sessions in the event.
    pub number_of_sessions: i32,
    /// Cars in the session.
    pub num_cars: i32,
    /// The player's car.
    pub car_model: String,
    /// The track.
    pub track: String,
    /// Player's first name.
    pub player_name: String,
    /// Player's surname.
    pub player_surname: String,
    /// Player's nickname.
    pub player_nick: String,
    /// Sectors per lap.
    pub sector_count: i32,
    /// Rev limit.
    pub max_rpm: i32,
    /// Tank size in litres.
    pub max_fuel: f32,
}

/// Writes `page` over the start of `b` (at least as long as it).
fn put<T: IntoBytes + Immutable>(page: &T, b: &mut [u8]) {
    let bytes = page.as_bytes();
    b[..bytes.len()].copy_from_slice(bytes);
}

impl Physics {
    /// Decodes a copy of the page; `None` if it is too short.
    pub fn decode(b: &[u8]) -> Option<Physics> {
        let (p, _) = PhysicsPage::read_from_prefix(b).ok()?;
        Some(Physics {
            packet_id: p.packet_id,
            gas: p.gas,
            brake: p.brake,
            fuel: p.fuel,
            gear: p.gear,
            rpm: p.rpms,
            steer_angle: p.steer_angle,
            speed_kmh: p.speed_kmh,
            velocity: p.velocity,
            wheels_pressure: p.wheels_pressure,
            tyre_core_temperature: p.tyre_core_temperature,
            brake_temp: p.brake_temp,
            clutch: p.clutch,
            current_max_rpm: p.current_max_rpm,
        })
    }

    /// Encodes into a page buffer, packet id included.
    pub fn encode(&self, b: &mut [u8]) {
        let page = PhysicsPage {
            packet_id: self.packet_id,
            gas: self.gas,
            brake: self.brake,
            fuel: self.fuel,
            gear: self.gear,
            rpms: self.rpm,
            steer_angle: self.steer_angle,
            speed_kmh: self.speed_kmh,
            velocity: self.velocity,
            _to_pressures: [0; 44],
            wheels_pressure: self.wheels_pressure,
            _to_core_temperatures: [0; 48],
            tyre_core_temperature: self.tyre_core_temperature,
            _to_brake_temperatures: [0; 180],
            brake_temp: self.brake_temp,
            clutch: self.clutch,
            _to_current_max_rpm: [0; 220],
            current_max_rpm: self.current_max_rpm,
        };
        put(&page, b);
    }

    /// The gear as drivers read it: R, N, 1, 2, ...
    pub fn gear_label(&self) -> String {
        crate::model::gear_label(super::model_gear(self.gear))
    }
}

impl Graphics {
    /// Decodes a copy of ACC's page; `None` if it is too short.
    pub fn decode(b: &[u8]) -> Option<Graphics> {
        Graphics::decode_as(b, Layout::Competizione)
    }

    /// Decodes a copy of the page as `layout` has it; `None` if it is too
    /// short.
    pub fn decode_as(b: &[u8], layout: Layout) -> Option<Graphics> {
        let (g, tail) = GraphicsPage::read_from_prefix(b).ok()?;
        let (flag, penalty) = match layout {
            Layout::Competizione => {
                let (t, _) = AccGraphicsTail::read_from_prefix(tail).ok()?;
                (t.flag, Some(t.penalty))
            }
            Layout::AssettoCorsa => {
                let (t, _) = AcGraphicsTail::read_from_prefix(tail).ok()?;
                (t.flag, None)
            }
        };
        Some(Graphics {
            packet_id: g.packet_id,
            status: g.status,
            session: g.session,
            current_time: from_wide(&g.current_time),
            last_time: from_wide(&g.last_time),
            best_time: from_wide(&g.best_time),
            split: from_wide(&g.split),
            completed_laps: g.completed_laps,
            position: g.position,
            i_current_time: g.i_current_time,
            i_last_time: g.i_last_time,
            i_best_time: g.i_best_time,
            session_time_left: g.session_time_left,
            flag,
            penalty,
        })
    }

    /// Encodes ACC's page into a page buffer, packet id included.
    pub fn encode(&self, b: &mut [u8]) {
        self.encode_as(Layout::Competizione, b);
    }

    /// Encodes the page as `layout` has it into a page buffer (at least
    /// [`Layout::graphics_needed`] long), packet id included.
    pub fn encode_as(&self, layout: Layout, b: &mut [u8]) {
        let page = GraphicsPage {
            packet_id: self.packet_id,
            status: self.status,
            session: self.session,
            current_time: to_fixed(&self.current_time),
            last_time: to_fixed(&self.last_time),
            best_time: to_fixed(&self.best_time),
            split: to_fixed(&self.split),
            completed_laps: self.completed_laps,
            position: self.position,
            i_current_time: self.i_current_time,
            i_last_time: self.i_last_time,
            i_best_time: self.i_best_time,
            session_time_left: self.session_time_left,
            _shared_rest: [0; 96],
        };
        put(&page, b);
        let tail = &mut b[size_of::<GraphicsPage>()..];
        match layout {
            Layout::Competizione => put(
                &AccGraphicsTail {
                    active_cars: 0,
                    car_coordinates: [[0.0; 3]; 60],
                    car_id: [0; 60],
                    player_car_id: 0,
                    penalty_time: 0.0,
                    flag: self.flag,
                    penalty: self.penalty.unwrap_or(0),
                },
                tail,
            ),
            Layout::AssettoCorsa => put(
                &AcGraphicsTail {
                    car_coordinates: [0.0; 3],
                    penalty_time: 0.0,
                    flag: self.flag,
                },
                tail,
            ),
        }
    }
}

impl Static {
    /// Decodes a copy of the page; `None` if it is too short.
    pub fn decode(b: &[u8]) -> Option<Static> {
        let (s, _) = StaticPage::read_from_prefix(b).ok()?;
        Some(Static {
            sm_version: from_wide(&s.sm_version),
            ac_version: from_wide(&s.ac_version),
            number_of_sessions: s.number_of_sessions,
            num_cars: s.num_cars,
            car_model: from_wide(&s.car_model),
            track: from_wide(&s.track),
            player_name: from_wide(&s.player_name),
            player_surname: from_wide(&s.player_surname),
            player_nick: from_wide(&s.player_nick),
            sector_count: s.sector_count,
            max_rpm: s.max_rpm,
            max_fuel: s.max_fuel,
        })
    }

    /// Encodes into a page buffer.
    pub fn encode(&self, b: &mut [u8]) {
        let page = StaticPage {
            sm_version: to_fixed(&self.sm_version),
            ac_version: to_fixed(&self.ac_version),
            number_of_sessions: self.number_of_sessions,
            num_cars: self.num_cars,
            car_model: to_fixed(&self.car_model),
            track: to_fixed(&self.track),
            player_name: to_fixed(&self.player_name),
            player_surname: to_fixed(&self.player_surname),
            player_nick: to_fixed(&self.player_nick),
            _pad: [0; 2],
            sector_count: self.sector_count,
            max_torque: 0.0,
            max_power: 0.0,
            max_rpm: self.max_rpm,
            max_fuel: self.max_fuel,
        };
        put(&page, b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::titles::ac::synthetic;

    #[test]
    fn pages_round_trip_at_the_sdk_offsets() {
        let mut page = vec![0u8; 2048];
        let p = synthetic::physics(1234);
        p.encode(&mut page);
        assert_eq!(Physics::decode(&page), Some(p.clone()));
        assert_eq!(&page[28..32], &p.speed_kmh.to_le_bytes(), "speedKmh @28");
        let g = synthetic::graphics(7000);
        g.encode(&mut page);
        assert_eq!(Graphics::decode(&page), Some(g));
        assert_eq!(
            i32::from_le_bytes(page[132..136].try_into().unwrap()),
            1,
            "completedLaps @132"
        );
        let s = synthetic::statics();
        s.encode(&mut page);
        assert_eq!(Static::decode(&page), Some(s));
        assert_eq!(&page[68..70], &[b'p', 0], "carModel @68 in UTF-16");
        assert_eq!(
            i32::from_le_bytes(page[412..416].try_into().unwrap()),
            9250,
            "maxRpm @412"
        );
    }

    #[test]
    fn long_strings_are_cut_to_leave_their_nul() {
        let mut page = vec![0xffu8; 2048];
        let s = Static {
            car_model: "x".repeat(50),
            ..Static::default()
        };
        s.encode(&mut page);
        assert_eq!(Static::decode(&page).unwrap().car_model, "x".repeat(32));
    }
}
