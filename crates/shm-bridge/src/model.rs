//! The telemetry every view shows, whatever the title: one model that each
//! title family's decoder fills from its own pages, in units named in the
//! fields. A value a title does not publish is `None`, never a made-up 0.

pub mod convert;

use std::fmt;

use serde::{Deserialize, Serialize};

/// The model's version, in every JSON document (`schema_version`): raised
/// when a field changes meaning or goes; new fields keep it. The JSON
/// Schema is `crates/shm-bridge/schema/telemetry.schema.json`.
pub const MODEL_VERSION: u32 = 1;

/// One sample of a title's telemetry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Telemetry {
    /// The title, as the presets table names it (set by the reader).
    pub title: Option<String>,
    /// The car, as the game names it.
    pub car: Option<String>,
    /// The track, as the game names it.
    pub track: Option<String>,
    /// The player's name.
    pub driver: Option<String>,
    /// What kind of session, and how much of it is left.
    pub session: Option<Session>,
    /// Whether the car is being driven.
    pub status: Option<Status>,
    /// Speed, km/h.
    pub speed_kmh: Option<f32>,
    /// Engine speed, revolutions a minute.
    pub rpm: Option<i32>,
    /// The rev limit.
    pub max_rpm: Option<i32>,
    /// -1 reverse, 0 neutral, 1 first gear, ...
    pub gear: Option<i32>,
    /// Throttle pedal, 0 (released) to 1 (fully pressed).
    pub throttle: Option<f32>,
    /// Brake pedal, 0 (released) to 1 (fully pressed).
    pub brake: Option<f32>,
    /// Clutch pedal, 0 (released: engaged) to 1 (fully pressed: disengaged).
    pub clutch: Option<f32>,
    /// Steering, -1 (full left) to 1 (full right).
    pub steering: Option<f32>,
    /// Fuel left, litres.
    pub fuel_l: Option<f32>,
    /// Tank size, litres.
    pub fuel_capacity_l: Option<f32>,
    /// The lap being driven: laps completed + 1.
    pub lap: Option<i32>,
    /// Race position, 1 for the leader.
    pub position: Option<i32>,
    /// Cars in the session.
    pub cars: Option<i32>,
    /// Time into the current lap, ms.
    pub lap_time_ms: Option<i64>,
    /// The last complete lap, ms.
    pub last_lap_ms: Option<i64>,
    /// The best lap of the session, ms.
    pub best_lap_ms: Option<i64>,
    /// Tyre core (or, where the title has no core, tread) temperatures, °C:
    /// front left, front right, rear left, rear right.
    pub tyre_temps_c: Option<[f32; 4]>,
    /// Tyre pressures, kPa, in the same order.
    pub tyre_pressures_kpa: Option<[f32; 4]>,
    /// The flags shown to the player now; empty when none is.
    pub flags: Option<Vec<Flag>>,
    /// A counter the game moves with each update, to tell fresh samples
    /// from stale ones (AC's packet id, rF2's version, iRacing's tick).
    pub update: Option<i64>,
}

/// The kind of session and what is left of it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// `practice`, `qualifying`, `race`, ... as the title names them.
    pub kind: Option<String>,
    /// Seconds left, for a timed session.
    pub time_left_s: Option<f32>,
    /// Laps left, for a session of laps.
    pub laps_left: Option<i32>,
}

/// A flag shown to the player.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Flag {
    /// Green: racing.
    Green,
    /// Yellow: danger ahead, no overtaking.
    Yellow,
    /// Blue: a faster car is about to lap the player.
    Blue,
    /// White: a slow car ahead, or the last lap (as the title uses it).
    White,
    /// Chequered: the session is over.
    Checkered,
    /// Black: the player is called in or disqualified.
    Black,
    /// Red: the session is stopped.
    Red,
    /// A penalty for the player (black and white, drive-through, ...).
    Penalty,
}

/// Whether the car is being driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// On track, the clock running.
    Live,
    /// The game is paused.
    Paused,
    /// A replay is playing.
    Replay,
    /// In the menus: no session loaded.
    Menu,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Live => "live",
            Status::Paused => "paused",
            Status::Replay => "replay",
            Status::Menu => "menu",
        })
    }
}

impl Telemetry {
    /// The gear as drivers read it: R, N, 1, 2, ...
    pub fn gear_label(&self) -> Option<String> {
        self.gear.map(gear_label)
    }

    /// Laps completed.
    pub fn laps_completed(&self) -> Option<i32> {
        self.lap.map(|lap| lap.saturating_sub(1))
    }
}

/// A gear of the model as drivers read it: R, N, 1, 2, ...
pub fn gear_label(gear: i32) -> String {
    match gear {
        g if g < 0 => "R".into(),
        0 => "N".into(),
        g => g.to_string(),
    }
}

/// A lap time as drivers read it: `1:23.456`; `-:--.---` for none.
pub fn lap_time(ms: Option<i64>) -> String {
    match ms {
        Some(ms) if ms >= 0 => format!("{}:{:02}.{:03}", ms / 60_000, ms / 1000 % 60, ms % 1000),
        _ => "-:--.---".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gears_and_lap_times_read_as_drivers_say_them() {
        assert_eq!(gear_label(-1), "R");
        assert_eq!(gear_label(i32::MIN), "R");
        assert_eq!(gear_label(0), "N");
        assert_eq!(gear_label(3), "3");
        assert_eq!(lap_time(Some(138_412)), "2:18.412");
        assert_eq!(lap_time(Some(0)), "0:00.000");
        assert_eq!(lap_time(None), "-:--.---");
        let t = Telemetry {
            lap: Some(i32::MIN),
            ..Telemetry::default()
        };
        assert_eq!(t.laps_completed(), Some(i32::MIN));
    }
}
