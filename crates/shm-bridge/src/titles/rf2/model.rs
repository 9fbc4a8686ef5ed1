//! How the Internals Plugin's records become the model, for every title
//! built on it (rFactor 2 and Le Mans Ultimate here; rFactor 1's plugin
//! keeps the same codes): session codes, game phases and flags, and the
//! one place where their units become the model's.

use super::isi::{ScoringInfo, VehicleScoring, VehicleTelemetry};
use crate::model::{Flag, Session, Status, Telemetry};

/// m/s to km/h.
const KMH_PER_MS: f64 = 3.6;
/// 0 °C in Kelvin.
const ZERO_CELSIUS_K: f64 = 273.15;
/// A lap count beyond any race's marks a session without a lap limit.
const NO_LAP_LIMIT: i32 = 10_000;

/// `value` if it is a number (garbage reads as NaN or infinity).
pub fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

/// Seconds as whole ms.
pub fn ms(seconds: f64) -> Option<i64> {
    // Within i64's range, so the cast is exact up to the rounding.
    finite(seconds * 1000.0)
        .filter(|ms| ms.abs() < 9.0e15)
        .map(|ms| ms.round() as i64)
}

/// A lap time in seconds as ms; none before the first (0 or less).
pub fn lap_ms(seconds: f64) -> Option<i64> {
    ms(seconds).filter(|&ms| ms > 0)
}

/// An engine speed in rpm, whole.
pub fn rpm(rpm: f64) -> Option<i32> {
    finite(rpm)
        .filter(|r| r.abs() < 1.0e9)
        .map(|r| r.round() as i32)
}

/// A speed in m/s, in km/h.
pub fn kmh(metres_per_second: f64) -> Option<f32> {
    finite(metres_per_second * KMH_PER_MS).map(|s| s as f32)
}

/// A speed from its velocity vector in m/s, in km/h.
pub fn speed_kmh(velocity: [f64; 3]) -> Option<f32> {
    let [x, y, z] = velocity;
    kmh((x * x + y * y + z * z).sqrt())
}

/// Kelvin as °C.
pub fn celsius(kelvin: f64) -> f64 {
    kelvin - ZERO_CELSIUS_K
}

/// Four values, if each is a number.
pub fn four(values: [f64; 4]) -> Option<[f32; 4]> {
    values
        .iter()
        .all(|v| v.is_finite())
        .then(|| values.map(|v| v as f32))
}

/// `mSession` in words: 0 test day, 1-4 practice, 5-8 qualifying, 9 warm-up,
/// 10-13 race (`InternalsPlugin.hpp`).
pub fn session_kind(code: i32) -> Option<&'static str> {
    Some(match code {
        0 => "test day",
        1..=4 => "practice",
        5..=8 => "qualifying",
        9 => "warmup",
        10..=13 => "race",
        _ => return None,
    })
}

/// The model's status: no vehicles (`loaded` false) means no session;
/// phase 9 is the game's pause; in realtime is on track, else at the
/// monitor (menus).
pub fn status(loaded: bool, in_realtime: bool, game_phase: u8) -> Status {
    match (loaded, game_phase, in_realtime) {
        (false, _, _) => Status::Menu,
        (true, 9, _) => Status::Paused,
        (true, _, true) => Status::Live,
        (true, _, false) => Status::Menu,
    }
}

/// What the flags are made of: the session's, and the player's vehicle's.
#[derive(Debug, Clone, Copy, Default)]
pub struct FlagState {
    /// `mGamePhase`: 5 green, 6 full-course yellow, 7 stopped, 8 over.
    pub game_phase: u8,
    /// `mYellowFlagState`: 1 (pending) to 6 (resume) while a full-course
    /// yellow runs.
    pub yellow_flag_state: i8,
    /// `mSectorFlag`: local yellows, indexed as `mSector` is.
    pub sector_flag: [i8; 3],
    /// The player's `mSector` (0 is sector 3), `mFlag` (6 blue),
    /// `mFinishStatus` (1 finished, 3 disqualified), `mNumPenalties`.
    pub player: Option<(i8, u8, i8, i16)>,
}

/// The flags shown to the player. Local yellows are read at the player's
/// `mSector`, as readers index `mSectorFlag` (the SDK leaves the order to
/// be tested; vAzhure's rFactor reader does so).
pub fn flags(s: FlagState) -> Vec<Flag> {
    let mut out = Vec::new();
    let local_yellow = s
        .player
        .and_then(|(sector, ..)| usize::try_from(sector).ok())
        .and_then(|i| s.sector_flag.get(i))
        .is_some_and(|&f| f != 0);
    let full_course = s.game_phase == 6 || (1..=6).contains(&s.yellow_flag_state);
    match s.game_phase {
        7 => out.push(Flag::Red),
        8 => out.push(Flag::Checkered),
        _ if full_course || local_yellow => out.push(Flag::Yellow),
        5 => out.push(Flag::Green),
        _ => {}
    }
    if let Some((_, flag, finish, penalties)) = s.player {
        if flag == 6 {
            out.push(Flag::Blue);
        }
        if finish == 1 && !out.contains(&Flag::Checkered) {
            out.push(Flag::Checkered);
        }
        if finish == 3 {
            out.push(Flag::Black);
        }
        if penalties > 0 {
            out.push(Flag::Penalty);
        }
    }
    out
}

/// The text of a name, or `None` when the game left it empty.
pub fn name(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

/// The model from the session's scoring (a session is loaded when it
/// counts 1 to `max_vehicles` vehicles), the player's scoring and the
/// player's telemetry, whichever were read (`update` left to the title).
pub fn telemetry(
    info: Option<&ScoringInfo>,
    max_vehicles: usize,
    player: Option<&VehicleScoring>,
    car: Option<&VehicleTelemetry>,
) -> Telemetry {
    let is_loaded = |i: &&ScoringInfo| {
        usize::try_from(i.num_vehicles).is_ok_and(|n| (1..=max_vehicles).contains(&n))
    };
    let loaded = info.filter(is_loaded);
    let session = loaded.map(|i| Session {
        kind: session_kind(i.session).map(str::to_owned),
        time_left_s: finite(i.end_et - i.current_et)
            .filter(|_| i.end_et > 0.0)
            .map(|left| left.max(0.0) as f32),
        laps_left: player
            .filter(|_| (1..NO_LAP_LIMIT).contains(&i.max_laps))
            .map(|p| (i.max_laps - i32::from(p.total_laps)).max(0)),
    });
    let flag_state = info.map(|i| FlagState {
        game_phase: i.game_phase,
        yellow_flag_state: i.yellow_flag_state,
        sector_flag: i.sector_flag,
        player: player.map(|p| (p.sector, p.flag, p.finish_status, p.num_penalties)),
    });
    Telemetry {
        car: player
            .and_then(|p| name(&p.vehicle_name))
            .or_else(|| car.and_then(|c| name(&c.vehicle_name))),
        track: loaded.and_then(|i| name(&i.track_name)),
        driver: player
            .and_then(|p| name(&p.driver_name))
            .or_else(|| loaded.and_then(|i| name(&i.player_name))),
        session,
        status: info.map(|i| status(is_loaded(&i), i.in_realtime, i.game_phase)),
        cars: loaded.map(|i| i.num_vehicles),
        flags: loaded.and(flag_state).map(flags),
        lap: player.map(|p| i32::from(p.total_laps) + 1),
        position: player.map(|p| i32::from(p.place)).filter(|&p| p > 0),
        last_lap_ms: player.and_then(|p| lap_ms(p.last_lap_time)),
        best_lap_ms: player.and_then(|p| lap_ms(p.best_lap_time)),
        speed_kmh: car.and_then(|c| speed_kmh(c.local_vel)),
        rpm: car.and_then(|c| rpm(c.engine_rpm)),
        max_rpm: car.and_then(|c| rpm(c.engine_max_rpm)).filter(|&m| m > 0),
        gear: car.map(|c| c.gear),
        throttle: car.and_then(|c| finite(c.unfiltered_throttle)).map(|v| v as f32),
        brake: car.and_then(|c| finite(c.unfiltered_brake)).map(|v| v as f32),
        clutch: car.and_then(|c| finite(c.unfiltered_clutch)).map(|v| v as f32),
        steering: car.and_then(|c| finite(c.unfiltered_steering)).map(|v| v as f32),
        fuel_l: car.and_then(|c| finite(c.fuel)).map(|v| v as f32),
        fuel_capacity_l: car
            .and_then(|c| finite(c.fuel_capacity))
            .filter(|&c| c > 0.0)
            .map(|v| v as f32),
        lap_time_ms: car
            .and_then(|c| ms(c.elapsed_time - c.lap_start_et))
            .filter(|&t| t >= 0),
        // The carcass is the tyre's core.
        tyre_temps_c: car
            .and_then(|c| four(c.wheels.map(|w| celsius(w.carcass_temperature_k)))),
        tyre_pressures_kpa: car.and_then(|c| four(c.wheels.map(|w| w.pressure_kpa))),
        ..Telemetry::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_follow_the_phase_the_sector_and_the_player() {
        let green = FlagState {
            game_phase: 5,
            player: Some((1, 0, 0, 0)),
            ..FlagState::default()
        };
        assert_eq!(flags(green), [Flag::Green]);
        let local = FlagState {
            sector_flag: [0, 1, 0],
            ..green
        };
        assert_eq!(flags(local), [Flag::Yellow]);
        let elsewhere = FlagState {
            sector_flag: [1, 0, 0],
            ..green
        };
        assert_eq!(flags(elsewhere), [Flag::Green]);
        let fcy = FlagState {
            game_phase: 6,
            player: Some((1, 6, 0, 2)),
            ..green
        };
        assert_eq!(flags(fcy), [Flag::Yellow, Flag::Blue, Flag::Penalty]);
        let over = FlagState {
            game_phase: 8,
            player: Some((1, 0, 1, 0)),
            ..green
        };
        assert_eq!(flags(over), [Flag::Checkered]);
        let dq = FlagState {
            game_phase: 7,
            player: Some((-3, 0, 3, 0)),
            ..green
        };
        assert_eq!(flags(dq), [Flag::Red, Flag::Black]);
        assert!(flags(FlagState::default()).is_empty());
    }

    #[test]
    fn units_and_garbage() {
        assert_eq!(speed_kmh([3.0, 0.0, -4.0]), Some(18.0));
        assert_eq!(speed_kmh([f64::NAN, 0.0, 0.0]), None);
        assert_eq!(rpm(7999.6), Some(8000));
        assert_eq!(rpm(f64::INFINITY), None);
        assert_eq!(lap_ms(92.3456), Some(92_346));
        assert_eq!((lap_ms(-1.0), lap_ms(0.0)), (None, None));
        assert_eq!(ms(f64::MAX), None);
        assert!((celsius(373.15) - 100.0).abs() < 1e-9);
        assert_eq!(four([1.0, 2.0, f64::NAN, 4.0]), None);
        assert_eq!(session_kind(12), Some("race"));
        assert_eq!(session_kind(-1), None);
        assert_eq!(status(false, true, 5), Status::Menu);
        assert_eq!(status(true, true, 9), Status::Paused);
        assert_eq!(status(true, false, 5), Status::Menu);
        assert_eq!(status(true, true, 5), Status::Live);
    }
}
