//! The shared memory pages of Assetto Corsa Competizione (and, for their
//! common first fields, Assetto Corsa): layout, decoding and encoding.
//!
//! From the ACC SDK: 4-byte packed little-endian structs; strings are
//! UTF-16, NUL-terminated inside fixed arrays. Only the fields shm-bridge
//! shows are decoded; the pages are larger. The writer bumps `packet_id`
//! after each update.

use serde::{Deserialize, Serialize};

/// The physics page's mapping name.
pub const PHYSICS: &str = "acpmf_physics";
/// The graphics page's mapping name.
pub const GRAPHICS: &str = "acpmf_graphics";
/// The static page's mapping name.
pub const STATIC: &str = "acpmf_static";

/// Bytes of the SDK structs (ACC); mappings are 2048 bytes each.
pub const PHYSICS_LEN: usize = 800;
/// Bytes of the graphics struct (ACC; 1500 in AC).
pub const GRAPHICS_LEN: usize = 1588;
/// Bytes of the static struct (ACC; 688 in AC).
pub const STATIC_LEN: usize = 820;

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

fn i32_at(b: &[u8], at: usize) -> i32 {
    i32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn f32_at(b: &[u8], at: usize) -> f32 {
    f32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

/// A UTF-16 string of at most `chars` units at `at`, up to its NUL.
fn str_at(b: &[u8], at: usize, chars: usize) -> String {
    let units: Vec<u16> = b[at..at + 2 * chars]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

fn put_i32(b: &mut [u8], at: usize, v: i32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_f32(b: &mut [u8], at: usize, v: f32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Writes `s` as UTF-16 into `chars` units, truncated to leave room for the NUL.
fn put_str(b: &mut [u8], at: usize, chars: usize, s: &str) {
    let field = &mut b[at..at + 2 * chars];
    field.fill(0);
    for (i, unit) in s.encode_utf16().take(chars - 1).enumerate() {
        field[2 * i..2 * i + 2].copy_from_slice(&unit.to_le_bytes());
    }
}

impl Physics {
    /// Decodes a copy of the page (at least [`PHYSICS_LEN`] bytes).
    pub fn decode(b: &[u8]) -> Physics {
        Physics {
            packet_id: i32_at(b, 0),
            gas: f32_at(b, 4),
            brake: f32_at(b, 8),
            fuel: f32_at(b, 12),
            gear: i32_at(b, 16),
            rpm: i32_at(b, 20),
            steer_angle: f32_at(b, 24),
            speed_kmh: f32_at(b, 28),
            velocity: [f32_at(b, 32), f32_at(b, 36), f32_at(b, 40)],
        }
    }

    /// Encodes into a page buffer, packet id included.
    pub fn encode(&self, b: &mut [u8]) {
        put_i32(b, 0, self.packet_id);
        put_f32(b, 4, self.gas);
        put_f32(b, 8, self.brake);
        put_f32(b, 12, self.fuel);
        put_i32(b, 16, self.gear);
        put_i32(b, 20, self.rpm);
        put_f32(b, 24, self.steer_angle);
        put_f32(b, 28, self.speed_kmh);
        for (i, v) in self.velocity.iter().enumerate() {
            put_f32(b, 32 + 4 * i, *v);
        }
    }

    /// The gear as drivers read it: R, N, 1, 2, ...
    pub fn gear_label(&self) -> String {
        match self.gear {
            0 => "R".into(),
            1 => "N".into(),
            g => (g - 1).to_string(),
        }
    }
}

impl Graphics {
    /// Decodes a copy of the page (at least 144 bytes).
    pub fn decode(b: &[u8]) -> Graphics {
        Graphics {
            packet_id: i32_at(b, 0),
            status: i32_at(b, 4),
            session: i32_at(b, 8),
            current_time: str_at(b, 12, 15),
            last_time: str_at(b, 42, 15),
            best_time: str_at(b, 72, 15),
            split: str_at(b, 102, 15),
            completed_laps: i32_at(b, 132),
            position: i32_at(b, 136),
            i_current_time: i32_at(b, 140),
        }
    }

    /// Encodes into a page buffer, packet id included.
    pub fn encode(&self, b: &mut [u8]) {
        put_i32(b, 0, self.packet_id);
        put_i32(b, 4, self.status);
        put_i32(b, 8, self.session);
        put_str(b, 12, 15, &self.current_time);
        put_str(b, 42, 15, &self.last_time);
        put_str(b, 72, 15, &self.best_time);
        put_str(b, 102, 15, &self.split);
        put_i32(b, 132, self.completed_laps);
        put_i32(b, 136, self.position);
        put_i32(b, 140, self.i_current_time);
    }

    /// The status as words.
    pub fn status_label(&self) -> &'static str {
        match self.status {
            0 => "off",
            1 => "replay",
            2 => "live",
            3 => "pause",
            _ => "unknown",
        }
    }
}

impl Static {
    /// Decodes a copy of the page (at least 420 bytes).
    pub fn decode(b: &[u8]) -> Static {
        Static {
            sm_version: str_at(b, 0, 15),
            ac_version: str_at(b, 30, 15),
            number_of_sessions: i32_at(b, 60),
            num_cars: i32_at(b, 64),
            car_model: str_at(b, 68, 33),
            track: str_at(b, 134, 33),
            player_name: str_at(b, 200, 33),
            player_surname: str_at(b, 266, 33),
            player_nick: str_at(b, 332, 33),
            sector_count: i32_at(b, 400),
            max_rpm: i32_at(b, 412),
            max_fuel: f32_at(b, 416),
        }
    }

    /// Encodes into a page buffer.
    pub fn encode(&self, b: &mut [u8]) {
        put_str(b, 0, 15, &self.sm_version);
        put_str(b, 30, 15, &self.ac_version);
        put_i32(b, 60, self.number_of_sessions);
        put_i32(b, 64, self.num_cars);
        put_str(b, 68, 33, &self.car_model);
        put_str(b, 134, 33, &self.track);
        put_str(b, 200, 33, &self.player_name);
        put_str(b, 266, 33, &self.player_surname);
        put_str(b, 332, 33, &self.player_nick);
        put_i32(b, 400, self.sector_count);
        put_i32(b, 412, self.max_rpm);
        put_f32(b, 416, self.max_fuel);
    }
}

/// The synthetic session the sim stand-in drives: every value is a pure
/// function of the packet id, so a reader can check what it decoded.
pub mod synthetic {
    use super::{Graphics, Physics, Static};

    /// Updates per second the stand-in writes.
    pub const RATE_HZ: u32 = 60;
    /// A lap takes this many packets (100 s).
    const LAP_PACKETS: i32 = 6000;

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
        let time = |ms: i32| format!("{}:{:02}.{:03}", ms / 60_000, ms / 1000 % 60, ms % 1000);
        Graphics {
            packet_id: id,
            status: 2,
            session: 2,
            current_time: time(lap_ms),
            last_time: if laps > 0 {
                time(138_412)
            } else {
                "-:--.---".into()
            },
            best_time: if laps > 0 {
                time(138_412)
            } else {
                "-:--.---".into()
            },
            split: time(lap_ms / 3),
            completed_laps: laps,
            position: 3 + (laps % 3),
            i_current_time: lap_ms,
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
        assert_eq!(Physics::decode(&page), p);
        assert_eq!(&page[28..32], &p.speed_kmh.to_le_bytes(), "speedKmh @28");
        let g = synthetic::graphics(7000);
        g.encode(&mut page);
        assert_eq!(Graphics::decode(&page), g);
        assert_eq!(
            i32::from_le_bytes(page[132..136].try_into().unwrap()),
            1,
            "completedLaps @132"
        );
        let s = synthetic::statics();
        s.encode(&mut page);
        assert_eq!(Static::decode(&page), s);
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
        assert_eq!(Static::decode(&page).car_model, "x".repeat(32));
    }
}
