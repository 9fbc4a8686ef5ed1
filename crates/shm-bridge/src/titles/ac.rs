//! The Assetto Corsa family: Assetto Corsa, Assetto Corsa Competizione and
//! the titles that kept their pages (`acpmf_physics`, `acpmf_graphics`,
//! `acpmf_static`).
//!
//! Layouts from the ACC shared memory SDK (Kunos, "ACC Shared Memory
//! Documentation", `SharedFileOut.h`): 4-byte packed little-endian structs;
//! strings are UTF-16, NUL-terminated inside fixed arrays. Assetto Corsa's
//! pages share these first fields. Only the fields shm-bridge shows are
//! declared; the pages are larger. The writer bumps `packetId` after each
//! update of the physics and graphics pages.

use serde::{Deserialize, Serialize};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::{Copies, Decoded, Family, Page, Protocol};
use crate::core::utf16::{from_wide, to_fixed};
use crate::model::{Session, Status, Telemetry};

/// The physics page's mapping name.
pub const PHYSICS: &str = "acpmf_physics";
/// The graphics page's mapping name.
pub const GRAPHICS: &str = "acpmf_graphics";
/// The static page's mapping name.
pub const STATIC: &str = "acpmf_static";

/// Bytes of the SDK's physics struct (ACC); mappings are 2048 bytes each.
pub const PHYSICS_LEN: usize = 800;
/// Bytes of the graphics struct (ACC; 1500 in AC).
pub const GRAPHICS_LEN: usize = 1588;
/// Bytes of the static struct (ACC; 688 in AC).
pub const STATIC_LEN: usize = 820;

/// The family, registered by `build.rs`.
pub static FAMILY: AcFamily = AcFamily;

/// The first fields of `SPageFilePhysics`.
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct PhysicsPage {
    packet_id: i32,
    gas: f32,
    brake: f32,
    fuel: f32,
    gear: i32,
    rpms: i32,
    steer_angle: f32,
    speed_kmh: f32,
    velocity: [f32; 3],
}

/// The first fields of `SPageFileGraphic`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct GraphicsPage {
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
}

/// The first fields of `SPageFileStatic`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct StaticPage {
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
    assert!(std::mem::offset_of!(PhysicsPage, speed_kmh) == 28);
    assert!(size_of::<PhysicsPage>() == 44);
    assert!(std::mem::offset_of!(GraphicsPage, completed_laps) == 132);
    assert!(std::mem::offset_of!(GraphicsPage, i_current_time) == 140);
    assert!(std::mem::offset_of!(GraphicsPage, session_time_left) == 152);
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
        };
        put(&page, b);
    }

    /// The gear as drivers read it: R, N, 1, 2, ...
    pub fn gear_label(&self) -> String {
        crate::model::gear_label(model_gear(self.gear))
    }
}

impl Graphics {
    /// Decodes a copy of the page; `None` if it is too short.
    pub fn decode(b: &[u8]) -> Option<Graphics> {
        let (g, _) = GraphicsPage::read_from_prefix(b).ok()?;
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
        })
    }

    /// Encodes into a page buffer, packet id included.
    pub fn encode(&self, b: &mut [u8]) {
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
        };
        put(&page, b);
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

/// AC's gear (0 reverse, 1 neutral, 2 first) as the model's (-1, 0, 1).
fn model_gear(gear: i32) -> i32 {
    gear.saturating_sub(1)
}

/// `AC_STATUS` as the model's status.
fn status(code: i32) -> Option<Status> {
    match code {
        0 => Some(Status::Menu),
        1 => Some(Status::Replay),
        2 => Some(Status::Live),
        3 => Some(Status::Paused),
        _ => None,
    }
}

/// `AC_SESSION_TYPE` in words.
fn session_kind(code: i32) -> Option<&'static str> {
    Some(match code {
        0 => "practice",
        1 => "qualifying",
        2 => "race",
        3 => "hotlap",
        4 => "time attack",
        5 => "drift",
        6 => "drag",
        7 => "hotstint",
        8 => "superpole",
        _ => return None,
    })
}

/// The text of a string field, or `None` when the game left it empty.
fn text(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// A lap time the game gave in ms: none before the first (0, or `i32::MAX`).
fn lap_ms(ms: i32) -> Option<i64> {
    (ms > 0 && ms != i32::MAX).then_some(i64::from(ms))
}

/// The Assetto Corsa family's decoder.
#[derive(Debug)]
pub struct AcFamily;

impl Family for AcFamily {
    fn key(&self) -> &'static str {
        "ac"
    }

    fn page(&self, file: &str) -> Option<Page> {
        let counter = Protocol::CounterAfter { offset: 0 };
        Some(match file {
            PHYSICS => Page {
                label: "physics",
                len: PHYSICS_LEN,
                needed: size_of::<PhysicsPage>(),
                protocol: counter,
            },
            GRAPHICS => Page {
                label: "graphics",
                len: GRAPHICS_LEN,
                needed: size_of::<GraphicsPage>(),
                protocol: counter,
            },
            STATIC => Page {
                label: "static",
                len: STATIC_LEN,
                needed: size_of::<StaticPage>(),
                protocol: Protocol::Settled,
            },
            _ => return None,
        })
    }

    fn decode(&self, pages: &Copies<'_>) -> Decoded {
        let physics = pages.get("physics").and_then(Physics::decode);
        let graphics = pages.get("graphics").and_then(Graphics::decode);
        let statics = pages.get("static").and_then(Static::decode);
        let mut out = Decoded {
            telemetry: telemetry(physics.as_ref(), graphics.as_ref(), statics.as_ref()),
            ..Decoded::default()
        };
        if let Some(s) = &statics {
            out.notes.push((
                "versions",
                format!(
                    "shared memory {}, game {}",
                    text(&s.sm_version).as_deref().unwrap_or("-"),
                    text(&s.ac_version).as_deref().unwrap_or("-")
                ),
            ));
        }
        let counters: Vec<String> = physics
            .iter()
            .map(|p| format!("physics {}", p.packet_id))
            .chain(graphics.iter().map(|g| format!("graphics {}", g.packet_id)))
            .collect();
        if !counters.is_empty() {
            out.notes.push(("packets", counters.join(", ")));
        }
        let json = |value: Result<serde_json::Value, _>| value.unwrap_or_default();
        if let Some(p) = &physics {
            out.pages.push(("physics", json(serde_json::to_value(p))));
        }
        if let Some(g) = &graphics {
            out.pages.push(("graphics", json(serde_json::to_value(g))));
        }
        if let Some(s) = &statics {
            out.pages.push(("static", json(serde_json::to_value(s))));
        }
        out
    }
}

/// The model from whichever pages were read.
fn telemetry(p: Option<&Physics>, g: Option<&Graphics>, s: Option<&Static>) -> Telemetry {
    let driver = s
        .map(|s| {
            [&s.player_name, &s.player_surname]
                .iter()
                .filter(|n| !n.is_empty())
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .and_then(|d| text(&d));
    Telemetry {
        car: s.and_then(|s| text(&s.car_model)),
        track: s.and_then(|s| text(&s.track)),
        driver,
        cars: s.map(|s| s.num_cars).filter(|&n| n > 0),
        max_rpm: s.map(|s| s.max_rpm).filter(|&m| m > 0),
        fuel_capacity_l: s.map(|s| s.max_fuel).filter(|&m| m > 0.0),
        speed_kmh: p.map(|p| p.speed_kmh),
        rpm: p.map(|p| p.rpm),
        gear: p.map(|p| model_gear(p.gear)),
        throttle: p.map(|p| p.gas),
        brake: p.map(|p| p.brake),
        steering: p.map(|p| p.steer_angle),
        fuel_l: p.map(|p| p.fuel),
        update: p.map(|p| i64::from(p.packet_id)),
        status: g.and_then(|g| status(g.status)),
        session: g.map(|g| Session {
            kind: session_kind(g.session).map(str::to_owned),
            time_left_s: Some(g.session_time_left / 1000.0).filter(|t| *t >= 0.0),
            laps_left: None,
        }),
        lap: g.and_then(|g| g.completed_laps.checked_add(1)),
        position: g.map(|g| g.position).filter(|&p| p > 0),
        lap_time_ms: g.map(|g| i64::from(g.i_current_time)).filter(|&t| t >= 0),
        last_lap_ms: g.and_then(|g| lap_ms(g.i_last_time)),
        best_lap_ms: g.and_then(|g| lap_ms(g.i_best_time)),
        clutch: None,
    }
}

/// The synthetic session the sim stand-in drives: every value is a pure
/// function of the packet id, so a reader can check what it decoded.
pub mod synthetic {
    use super::{Graphics, Physics, Static};
    use crate::model::lap_time;

    /// Updates per second the stand-in writes.
    pub const RATE_HZ: u32 = 60;
    /// A lap takes this many packets (100 s).
    const LAP_PACKETS: i32 = 6000;
    /// The time of every complete lap, ms.
    const LAP_MS: i32 = 138_412;

    /// The static page.
    pub fn statics() -> Static {
        Static {
            sm_version: "1.9".into(),
            ac_version: "1.10.2".into(),
            number_of_sessions: 1,
            num_cars: 24,
            car_model: "porsche_992_gt3_r".into(),
            track: "spa".into(),
            player_name: "Demo".into(),
            player_surname: "Driver".into(),
            player_nick: "DEM".into(),
            sector_count: 3,
            max_rpm: 9250,
            max_fuel: 120.0,
        }
    }

    /// The physics page for packet `id`: a car accelerating through the
    /// gears, braking for a corner every 10 s, burning fuel.
    pub fn physics(id: i32) -> Physics {
        let phase = id.rem_euclid(600); // a 10 s straight-and-corner cycle
        let (gas, brake) = if phase < 480 {
            (1.0, 0.0)
        } else if phase < 540 {
            (0.0, 0.9)
        } else {
            (0.45, 0.0)
        };
        let speed = if phase < 480 {
            80.0 + phase as f32 * 0.35
        } else if phase < 540 {
            248.0 - (phase - 480) as f32 * 2.8
        } else {
            80.0
        };
        let gear = 2 + ((speed - 40.0) / 45.0).clamp(0.0, 5.0) as i32;
        let rpm = 4500 + ((speed * 37.0) as i32 % 4600);
        Physics {
            packet_id: id,
            gas,
            brake,
            fuel: 100.0 - id as f32 * 0.0004,
            gear,
            rpm,
            steer_angle: if (480..600).contains(&phase) {
                -0.3
            } else {
                0.02
            },
            speed_kmh: speed,
            velocity: [speed / 3.6, 0.0, 0.0],
        }
    }

    /// The graphics page for packet `id`.
    pub fn graphics(id: i32) -> Graphics {
        let laps = id / LAP_PACKETS;
        let lap_ms = (id % LAP_PACKETS) * (1000 / RATE_HZ as i32);
        let done = |ms: i32| if laps > 0 { ms } else { 0 };
        let shown = |ms: i32| lap_time((ms > 0).then_some(i64::from(ms)));
        Graphics {
            packet_id: id,
            status: 2,
            session: 2,
            current_time: lap_time(Some(i64::from(lap_ms))),
            last_time: shown(done(LAP_MS)),
            best_time: shown(done(LAP_MS)),
            split: lap_time(Some(i64::from(lap_ms / 3))),
            completed_laps: laps,
            position: 3 + (laps % 3),
            i_current_time: lap_ms,
            i_last_time: done(LAP_MS),
            i_best_time: if laps > 0 { LAP_MS } else { i32::MAX },
            session_time_left: 3_600_000.0 - id as f32 * (1000.0 / RATE_HZ as f32),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn any_bytes_decode_without_panicking_and_short_pages_do_not_decode() {
        for fill in [0u8, 0xff, 0x80] {
            let page = vec![fill; 2048];
            let mut copies = Copies::default();
            for label in ["physics", "graphics", "static"] {
                copies.push(label, &page);
            }
            let decoded = FAMILY.decode(&copies);
            assert_eq!(decoded.pages.len(), 3);
        }
        assert_eq!(Physics::decode(&[0; 43]), None);
        assert_eq!(Static::decode(&[0; 419]), None);
    }

    #[test]
    fn the_model_is_in_its_own_units() {
        let mut page = vec![0u8; 2048];
        let mut copies_bytes = Vec::new();
        synthetic::physics(100).encode(&mut page);
        copies_bytes.push(page.clone());
        synthetic::graphics(7000).encode(&mut page);
        copies_bytes.push(page.clone());
        synthetic::statics().encode(&mut page);
        copies_bytes.push(page.clone());
        let mut copies = Copies::default();
        for (label, bytes) in ["physics", "graphics", "static"].into_iter().zip(&copies_bytes) {
            copies.push(label, bytes);
        }
        let t = FAMILY.decode(&copies).telemetry;
        let p = synthetic::physics(100);
        assert_eq!(t.gear, Some(p.gear - 1));
        assert_eq!(t.speed_kmh, Some(p.speed_kmh));
        assert_eq!(t.lap, Some(2));
        assert_eq!(t.last_lap_ms, Some(138_412));
        assert_eq!(t.status, Some(Status::Live));
        assert_eq!(t.max_rpm, Some(9250));
        assert_eq!(t.driver.as_deref(), Some("Demo Driver"));
        assert_eq!(t.clutch, None, "ACC's clutch is not among the fields read");
    }
}
