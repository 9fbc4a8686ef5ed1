//! The Assetto Corsa EVO family: its pages since the game's 0.6
//! (`acevo_pmf_physics`, `acevo_pmf_graphics`, `acevo_pmf_static`).
//!
//! Its physics page is ACC's, field for field (Kunos's `SharedFileOut.h`
//! for EVO declares the same `SPageFilePhysics`), so it is read with the
//! Assetto Corsa family's layout ([`super::ac::Physics`]); its graphics and
//! static pages are new ([`Graphics`], [`Static`]). As with ACC, the game
//! bumps each page's `packetId` after it updates the page.

mod pages;
pub mod synthetic;

use super::ac::{self, Physics};
use super::{Copies, Decoded, Family, Page, Protocol};
use crate::model::{Flag, Session, Status, Telemetry};
use crate::scenario::Scenario;
pub use pages::{GRAPHICS_NEEDED, Graphics, STATIC_NEEDED, Static, Tyre};

/// The physics page's mapping name.
pub const PHYSICS: &str = "acevo_pmf_physics";
/// The graphics page's mapping name.
pub const GRAPHICS: &str = "acevo_pmf_graphics";
/// The static page's mapping name.
pub const STATIC: &str = "acevo_pmf_static";

/// Bytes of `SPageFilePhysics` (ACC's).
pub const PHYSICS_LEN: usize = ac::PHYSICS_LEN;
/// Bytes of `SPageFileGraphicEvo` with its `car_ids` (3944 without).
pub const GRAPHICS_LEN: usize = 4900;
/// Bytes of `SPageFileStaticEvo`.
pub const STATIC_LEN: usize = STATIC_NEEDED;

/// The family, registered by `build.rs`.
pub static FAMILY: AcEvoFamily = AcEvoFamily;

/// The Assetto Corsa EVO family's decoder.
#[derive(Debug)]
pub struct AcEvoFamily;

impl Family for AcEvoFamily {
    fn key(&self) -> &'static str {
        "acevo"
    }

    fn page(&self, file: &str) -> Option<Page> {
        let counter = Protocol::CounterAfter { offset: 0 };
        Some(match file {
            // ACC's page, read as the Assetto Corsa family reads it.
            PHYSICS => ac::FAMILY.page(ac::PHYSICS)?,
            GRAPHICS => Page {
                label: "graphics",
                len: GRAPHICS_LEN,
                needed: GRAPHICS_NEEDED,
                protocol: counter,
            },
            STATIC => Page {
                label: "static",
                len: STATIC_LEN,
                needed: STATIC_NEEDED,
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
        let mut out = Decoded::default();
        if let Some(s) = &statics {
            out.notes.push((
                "versions",
                format!(
                    "shared memory {}, game {}",
                    ac::text(&s.sm_version).as_deref().unwrap_or("-"),
                    ac::text(&s.ac_evo_version).as_deref().unwrap_or("-")
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
        // A static page the game has not written is none.
        let written = statics.as_ref().filter(|s| !s.sm_version.is_empty());
        if statics.is_some() && written.is_none() {
            out.notes
                .push(("static", "not written yet (no shared memory version)".into()));
        }
        out.telemetry = telemetry(physics.as_ref(), graphics.as_ref(), written);
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

/// `ACEVO_FLAG_TYPE` as the model's flags: `Err` for a code the header
/// does not know.
fn flag(code: i32) -> Result<Option<Flag>, ()> {
    Ok(Some(match code {
        // No flag; red and yellow stripes (a slippery surface), which the
        // model has no flag for.
        0 | 10 => return Ok(None),
        1 => Flag::White,
        2 => Flag::Green,
        3 => Flag::Red,
        4 => Flag::Blue,
        5 => Flag::Yellow,
        6 => Flag::Black,
        // Black and white: unsportsmanlike conduct.
        7 => Flag::Penalty,
        8 => Flag::Checkered,
        // Black with an orange disc: called in for repairs.
        9 => Flag::Black,
        _ => return Err(()),
    }))
}

/// The player's flag and the session's; `None` if either code is unknown.
fn flags(g: &Graphics) -> Option<Vec<Flag>> {
    let mut flags = Vec::new();
    for code in [g.flag, g.global_flag] {
        if let Some(f) = flag(code).ok()?
            && !flags.contains(&f)
        {
            flags.push(f);
        }
    }
    Some(flags)
}

/// `ACEVO_SESSION_TYPE` in words.
fn session_kind(code: i32) -> Option<&'static str> {
    Some(match code {
        0 => "time attack",
        1 => "race",
        2 => "hot stint",
        3 => "cruise",
        _ => return None,
    })
}

/// A lap time in ms: none before the first (0, or `i32::MAX`).
fn lap_ms(ms: i32) -> Option<i64> {
    (ms > 0 && ms != i32::MAX).then_some(i64::from(ms))
}

/// The model from whichever pages were read.
fn telemetry(p: Option<&Physics>, g: Option<&Graphics>, s: Option<&Static>) -> Telemetry {
    let status = g.and_then(|g| ac::status(g.status));
    if status == Some(Status::Menu) {
        // No session: what the pages hold is a past one's.
        return Telemetry {
            status,
            update: p.map(|p| i64::from(p.packet_id)),
            ..Telemetry::default()
        };
    }
    let driver = g
        .map(|g| {
            [g.driver_name.as_str(), g.driver_surname.as_str()]
                .into_iter()
                .filter(|n| !n.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .and_then(|d| ac::text(&d));
    let track = s.and_then(|s| match (ac::text(&s.track), ac::text(&s.track_configuration)) {
        (Some(track), Some(layout)) => Some(format!("{track} {layout}")),
        (track, _) => track,
    });
    let session = (g.is_some() || s.is_some()).then(|| Session {
        kind: s.and_then(|s| session_kind(s.session)).map(str::to_owned),
        time_left_s: g
            .map(|g| g.time_left_ms as f32 / 1000.0)
            .filter(|t| *t >= 0.0),
        laps_left: g
            .filter(|g| g.total_lap > 0 && s.is_some_and(|s| !s.is_timed_race))
            .map(|g| g.total_lap.saturating_sub(g.total_lap_count).max(0)),
    });
    Telemetry {
        car: g.and_then(|g| ac::text(&g.car_model)),
        track,
        driver,
        session,
        status,
        speed_kmh: p.map(|p| p.speed_kmh),
        rpm: p.map(|p| p.rpm),
        max_rpm: p.map(|p| p.current_max_rpm).filter(|&m| m > 0),
        gear: p.map(|p| ac::model_gear(p.gear)),
        throttle: p.map(|p| p.gas),
        brake: p.map(|p| p.brake),
        clutch: p.map(|p| p.clutch),
        steering: p.map(|p| p.steer_angle),
        fuel_l: p.map(|p| p.fuel),
        fuel_capacity_l: g.map(|g| g.max_fuel).filter(|&m| m > 0.0),
        lap: g.and_then(|g| g.total_lap_count.checked_add(1)),
        position: g
            .and_then(|g| i32::try_from(g.current_pos).ok())
            .filter(|&p| p > 0),
        cars: g
            .and_then(|g| i32::try_from(g.total_drivers).ok())
            .filter(|&n| n > 0),
        lap_time_ms: g
            .map(|g| i64::from(g.current_lap_time_ms))
            .filter(|&t| t >= 0),
        last_lap_ms: g.and_then(|g| lap_ms(g.last_laptime_ms)),
        best_lap_ms: g.and_then(|g| lap_ms(g.best_laptime_ms)),
        tyre_temps_c: p.map(|p| ac::tyres(p).0),
        tyre_pressures_kpa: p.map(|p| ac::tyres(p).1),
        flags: g.and_then(flags),
        update: p.map(|p| i64::from(p.packet_id)),
        ..Telemetry::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(pages: &[(&'static str, &[u8])]) -> Decoded {
        let mut copies = Copies::default();
        for (label, bytes) in pages {
            copies.push(label, bytes);
        }
        FAMILY.decode(&copies)
    }

    #[test]
    fn bad_pages_never_panic_and_short_ones_do_not_decode() {
        for fill in [0u8, 0xff, 0x80] {
            let page = vec![fill; GRAPHICS_LEN];
            let d = decode(&[
                ("physics", &page[..PHYSICS_LEN]),
                ("graphics", &page),
                ("static", &page[..STATIC_LEN]),
            ]);
            assert_eq!(d.pages.len(), 3);
        }
        let mut state = 0x1234_5678_9abc_def1u64;
        for _ in 0..200 {
            let page: Vec<u8> = (0..GRAPHICS_LEN)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            let d = decode(&[("graphics", &page), ("static", &page[..STATIC_LEN])]);
            assert_eq!(d.pages.len(), 2);
        }
        for (file, label) in [(PHYSICS, "physics"), (GRAPHICS, "graphics"), (STATIC, "static")] {
            let needed = FAMILY.page(file).unwrap().needed;
            let page = vec![0u8; needed];
            assert_eq!(decode(&[(label, &page)]).pages.len(), 1, "{label}");
            assert!(decode(&[(label, &page[..needed - 1])]).pages.is_empty());
        }
    }

    #[test]
    fn pages_that_say_nothing_is_loaded_give_nothing_stale() {
        let zeros = vec![0u8; GRAPHICS_LEN];
        let mut physics = vec![0u8; PHYSICS_LEN];
        ac::synthetic::physics(77).encode(&mut physics);
        let d = decode(&[
            ("physics", &physics),
            ("graphics", &zeros),
            ("static", &zeros[..STATIC_LEN]),
        ]);
        // Graphics status 0: off.
        assert_eq!(d.telemetry.status, Some(Status::Menu));
        assert_eq!((d.telemetry.speed_kmh, d.telemetry.lap), (None, None));
        assert_eq!(d.telemetry.update, Some(77));
        assert!(d.notes.iter().any(|(l, _)| *l == "static"));
        // Unknown flag codes are no flags known, not "none".
        let mut g = synthetic::graphics(1);
        g.flag = 11;
        assert_eq!(flags(&g), None);
        g.flag = 10;
        g.global_flag = 2;
        assert_eq!(flags(&g), Some(vec![Flag::Green]));
    }
}
