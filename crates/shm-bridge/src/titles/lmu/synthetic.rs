//! The synthetic session the sim stand-in drives for Le Mans Ultimate:
//! rFactor 2's three cars at Spa ([`crate::titles::rf2::synthetic`]),
//! written into `LMU_Data` under the game's lock, on a clock of 1 ms a
//! frame, so that the model's `update` (the session clock in ms) is the
//! frame number.
use super::pages::{EVENTS, UPDATE_SCORING, UPDATE_TELEMETRY};
use super::{DATA, Data, Generic, LOCK, LOCK_BUSY, Scoring, Telemetry};
use crate::model;
use crate::scenario::{Publish, Scenario, Update};
use crate::titles::rf2::synthetic::{
    Clock, PLAYER_ID, car, expected_at, info, same_json, scoring, scoring_order, telemetry_order,
};

/// Seconds a frame.
pub const DT: f64 = 0.001;
/// The game's build the page says.
pub const GAME_VERSION: i32 = 1125;

fn clock(n: u32) -> Clock {
    Clock { n, dt: DT }
}

/// Where the player's record is among the telemetry records.
fn player_idx() -> u8 {
    let at = telemetry_order().iter().position(|&id| id == PLAYER_ID);
    at.and_then(|i| u8::try_from(i).ok()).unwrap_or(0)
}

/// The page as the family shows it, at frame `n`.
pub fn data(n: u32) -> Data {
    let c = clock(n);
    let mut events = [0; EVENTS];
    events[UPDATE_SCORING] = 1;
    events[UPDATE_TELEMETRY] = 1;
    Data {
        generic: Generic {
            events,
            game_version: GAME_VERSION,
            options_location: 3,
            options_page: String::new(),
        },
        scoring: Scoring {
            info: info(c),
            player: Some(scoring(c, PLAYER_ID)),
        },
        telemetry: Telemetry {
            active_vehicles: 3,
            player_vehicle_idx: player_idx(),
            player_has_vehicle: true,
            player: Some(car(c, PLAYER_ID)),
        },
    }
}

/// The session as a [`Scenario`].
pub static SESSION: LmuSession = LmuSession;

/// The Le Mans Ultimate family's known session.
#[derive(Debug)]
pub struct LmuSession;

impl Scenario for LmuSession {
    fn frame(&self, n: u32) -> Vec<Update> {
        let c = clock(n);
        let vehicles = scoring_order().map(|id| scoring(c, id));
        let cars = telemetry_order().map(|id| car(c, id));
        vec![Update {
            file: DATA,
            bytes: data(n).encode(&vehicles, &cars, Some(player_idx())),
            publish: Publish::UnderLock {
                lock: LOCK,
                busy: LOCK_BUSY,
            },
        }]
    }

    fn expected(&self, n: u32) -> model::Telemetry {
        model::Telemetry {
            update: Some(i64::from(n)),
            ..expected_at(clock(n))
        }
    }

    fn check_page(&self, label: &str, page: &serde_json::Value) -> Result<(), String> {
        match label {
            "data" => {
                // The frame the player's clock says (ms).
                let elapsed = page["telemetry"]["player"]["elapsed_time"]
                    .as_f64()
                    .ok_or("no player's elapsed_time")?;
                let n = u32::try_from((elapsed * 1000.0).round() as i64)
                    .map_err(|_| format!("elapsed_time {elapsed} is no frame's"))?;
                same_json(page, &data(n))
            }
            // The lock is the game's and its readers', no frame's.
            "lock" => serde_json::from_value::<super::Lock>(page.clone())
                .map(drop)
                .map_err(|e| e.to_string()),
            other => Err(format!("no page {other}")),
        }
    }
}
