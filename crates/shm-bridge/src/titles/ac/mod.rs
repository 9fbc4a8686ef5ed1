//! The Assetto Corsa family: Assetto Corsa, Assetto Corsa Competizione and
//! the titles that kept their pages (`acpmf_physics`, `acpmf_graphics`,
//! `acpmf_static`).
//!
//! Layouts from the ACC shared memory SDK (Kunos, "ACC Shared Memory
//! Documentation", `SharedFileOut.h`): 4-byte packed little-endian structs;
//! strings are UTF-16, NUL-terminated inside fixed arrays. Assetto Corsa's
//! pages share these first fields; its graphics page differs past them
//! (its flag is elsewhere), so it has a family key of its own (`ac1`, the
//! same decoder with [`Layout::AssettoCorsa`]). Only the fields shm-bridge
//! shows are declared; the pages are larger. The writer bumps `packetId`
//! after each update of the physics and graphics pages.

mod pages;
pub mod synthetic;

use super::{Copies, Decoded, Family, Page, Protocol};
use crate::model::convert::kpa_from_psi;
use crate::model::{Flag, Session, Status, Telemetry};
use crate::scenario::Scenario;
pub use pages::{Graphics, Layout, Physics, Static};
use pages::{PhysicsPage, StaticPage};

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

/// The family of ACC and AC Rally, registered by `build.rs`.
pub static FAMILY: AcFamily = AcFamily::COMPETIZIONE;

/// AC's gear (0 reverse, 1 neutral, 2 first) as the model's (-1, 0, 1).
pub(crate) fn model_gear(gear: i32) -> i32 {
    gear.saturating_sub(1)
}

/// `AC_STATUS` as the model's status (AC EVO's `ACEVO_STATUS` alike).
pub(crate) fn status(code: i32) -> Option<Status> {
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

/// `AC_FLAG_TYPE` as the model's flag: `None` for no flag, `Err` for a
/// code the SDK does not know.
fn flag(code: i32) -> Result<Option<Flag>, ()> {
    Ok(Some(match code {
        0 => return Ok(None),
        1 => Flag::Blue,
        2 => Flag::Yellow,
        3 => Flag::Black,
        4 => Flag::White,
        5 => Flag::Checkered,
        6 => Flag::Penalty,
        7 => Flag::Green,
        // ACC's orange (black with an orange disc): called in for repairs.
        8 => Flag::Black,
        _ => return Err(()),
    }))
}

/// The flags of the graphics page: its flag, and a penalty ACC gives
/// (`PenaltyShortcut` 1 to 21); `None` when the flag's code is unknown.
fn flags(g: &Graphics) -> Option<Vec<Flag>> {
    let mut flags: Vec<Flag> = flag(g.flag).ok()?.into_iter().collect();
    if g.penalty.is_some_and(|p| (1..=21).contains(&p)) && !flags.contains(&Flag::Penalty) {
        flags.push(Flag::Penalty);
    }
    Some(flags)
}

/// The physics page's tyres in the model's terms: core temperatures (°C)
/// and pressures (kPa), FL FR RL RR.
pub(crate) fn tyres(p: &Physics) -> ([f32; 4], [f32; 4]) {
    (p.tyre_core_temperature, p.wheels_pressure.map(kpa_from_psi))
}

/// The text of a string field, or `None` when the game left it empty.
pub(crate) fn text(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// A lap time the game gave in ms: none before the first (0, or `i32::MAX`).
fn lap_ms(ms: i32) -> Option<i64> {
    (ms > 0 && ms != i32::MAX).then_some(i64::from(ms))
}

/// The Assetto Corsa family's decoder, for one title's graphics layout.
#[derive(Debug)]
pub struct AcFamily {
    key: &'static str,
    layout: Layout,
}

impl AcFamily {
    /// ACC's pages, as its SDK documents them (AC Rally's are read alike).
    pub const COMPETIZIONE: AcFamily = AcFamily {
        key: "ac",
        layout: Layout::Competizione,
    };
    /// Assetto Corsa's (the first one's) pages.
    pub const ASSETTO_CORSA: AcFamily = AcFamily {
        key: "ac1",
        layout: Layout::AssettoCorsa,
    };
}

impl Family for AcFamily {
    fn key(&self) -> &'static str {
        self.key
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
                needed: self.layout.graphics_needed(),
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
        Some(match self.layout {
            Layout::Competizione => &synthetic::SESSION,
            Layout::AssettoCorsa => &synthetic::SESSION_AC,
        })
    }

    fn decode(&self, pages: &Copies<'_>) -> Decoded {
        let physics = pages.get("physics").and_then(Physics::decode);
        let graphics = pages
            .get("graphics")
            .and_then(|b| Graphics::decode_as(b, self.layout));
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
        clutch: p.map(|p| p.clutch),
        steering: p.map(|p| p.steer_angle),
        fuel_l: p.map(|p| p.fuel),
        tyre_temps_c: p.map(|p| tyres(p).0),
        tyre_pressures_kpa: p.map(|p| tyres(p).1),
        flags: g.and_then(flags),
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
        assert_eq!(Physics::decode(&[0; 591]), None);
        assert!(Physics::decode(&[0; 592]).is_some());
        assert_eq!(Graphics::decode(&[0; 1231]), None);
        assert_eq!(Graphics::decode_as(&[0; 271], Layout::AssettoCorsa), None);
        assert_eq!(Static::decode(&[0; 419]), None);
        // Every family's `needed` is what its decoder reads.
        for family in [&FAMILY, &AcFamily::ASSETTO_CORSA] {
            for (file, label) in [(PHYSICS, "physics"), (GRAPHICS, "graphics"), (STATIC, "static")] {
                let needed = family.page(file).unwrap().needed;
                let mut copies = Copies::default();
                let page = vec![0u8; needed];
                copies.push(label, &page);
                assert_eq!(family.decode(&copies).pages.len(), 1, "{label}");
                let mut copies = Copies::default();
                copies.push(label, &page[..needed - 1]);
                assert!(family.decode(&copies).pages.is_empty(), "{label}");
            }
        }
    }

    #[test]
    fn flags_are_the_graphics_pages_and_unknown_codes_none() {
        let g = |flag, penalty| Graphics {
            flag,
            penalty,
            ..Graphics::default()
        };
        assert_eq!(flags(&g(0, Some(0))), Some(vec![]));
        assert_eq!(flags(&g(2, Some(0))), Some(vec![Flag::Yellow]));
        assert_eq!(flags(&g(1, Some(7))), Some(vec![Flag::Blue, Flag::Penalty]));
        assert_eq!(flags(&g(6, Some(7))), Some(vec![Flag::Penalty]));
        assert_eq!(flags(&g(8, None)), Some(vec![Flag::Black]));
        assert_eq!(flags(&g(0, Some(99))), Some(vec![]));
        assert_eq!(flags(&g(-1, Some(0))), None);
        assert_eq!(flags(&g(i32::MAX, None)), None);
    }

    #[test]
    fn assetto_corsas_flag_is_where_its_page_has_it() {
        let mut page = vec![0u8; 2048];
        let g = synthetic::graphics_as(Layout::AssettoCorsa, 6000 * 3 + 500);
        assert_eq!(g.flag, 2);
        g.encode_as(Layout::AssettoCorsa, &mut page);
        assert_eq!(i32::from_le_bytes(page[268..272].try_into().unwrap()), 2);
        assert_eq!(&page[1224..1232], &[0; 8], "nothing where ACC has its flag");
        assert_eq!(Graphics::decode_as(&page, Layout::AssettoCorsa), Some(g));
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
        assert_eq!(t.clutch, Some(p.clutch));
        assert_eq!(t.tyre_temps_c, Some(p.tyre_core_temperature));
        let kpa = t.tyre_pressures_kpa.unwrap();
        assert!((kpa[0] - p.wheels_pressure[0] * 6.894_757).abs() < 1e-3);
        assert_eq!(t.flags, Some(vec![]));
    }
}
