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

mod pages;
pub mod synthetic;

use super::{Copies, Decoded, Family, Page, Protocol};
use crate::scenario::Scenario;
use crate::model::{Session, Status, Telemetry};
pub use pages::{Graphics, Physics, Static};
use pages::{GraphicsPage, PhysicsPage, StaticPage};

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

    fn scenario(&self) -> Option<&'static dyn Scenario> {
        Some(&synthetic::SESSION)
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
        ..Telemetry::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
