//! The SCS family: Euro Truck Simulator 2 and American Truck Simulator,
//! through the scs-sdk-plugin's page (`Local\SCSTelemetry`, one page).
//!
//! The plugin gives readers no way to tell a whole copy: it stores its
//! timestamp (`time`) when a frame starts, and then each channel's value
//! as the game hands it over, straight into the page, with nothing written
//! after the last (`scs_telemetry.cpp`: `telemetry_frame_start`, the
//! `telemetry_store_*` callbacks). A counter written first cannot vouch
//! for the fields after it, so a copy is taken as whole when two copies
//! agree ([`Protocol::Settled`]). Trucks have no laps, positions or flags:
//! those stay `None`.

mod pages;
pub mod synthetic;

use super::{Copies, Decoded, Family, Page, Protocol};
use crate::model::convert::{kmh_from_mps, whole};
use crate::model::{Status, Telemetry as Model};
use crate::scenario::Scenario;
pub use pages::{NEEDED, Telemetry};

/// The page's mapping name (its file; the bridge also links it where
/// Linux readers of the native plugin look, `SCS/SCSTelemetry`).
pub const TELEMETRY: &str = "SCSTelemetry";
/// Bytes of the plugin's struct (`scsTelemetryMap_t`, computed); the
/// mapping is `SCS_PLUGIN_MMF_SIZE`, 32 KiB.
pub const TELEMETRY_LEN: usize = 21520;
/// The plugin revision whose layout this is.
pub const PLUGIN_REVISION: u32 = 10;

/// The family, registered by `build.rs`.
pub static FAMILY: ScsFamily = ScsFamily;

/// The SCS family's decoder.
#[derive(Debug)]
pub struct ScsFamily;

impl Family for ScsFamily {
    fn key(&self) -> &'static str {
        "scs"
    }

    fn page(&self, file: &str) -> Option<Page> {
        (file == TELEMETRY).then_some(Page {
            label: "telemetry",
            len: TELEMETRY_LEN,
            needed: NEEDED,
            protocol: Protocol::Settled,
        })
    }

    fn scenario(&self) -> Option<&'static dyn Scenario> {
        Some(&synthetic::SESSION)
    }

    fn decode(&self, pages: &Copies<'_>) -> Decoded {
        let mut out = Decoded::default();
        let Some(t) = pages.get("telemetry").and_then(Telemetry::decode) else {
            return out;
        };
        out.notes.push((
            "versions",
            format!(
                "{} {}.{}, plugin revision {}",
                game_name(t.game),
                t.version_major,
                t.version_minor,
                t.telemetry_plugin_revision
            ),
        ));
        match why_not_decoded(&t) {
            Some(why) => out.notes.push(("not decoded", why)),
            None => out.telemetry = model(&t),
        }
        out.pages
            .push(("telemetry", serde_json::to_value(&t).unwrap_or_default()));
        out
    }
}

/// The plugin's game id in words.
fn game_name(game: u32) -> &'static str {
    match game {
        1 => "Euro Truck Simulator 2",
        2 => "American Truck Simulator",
        _ => "an unknown game",
    }
}

/// Why the page says its fields mean nothing, if it does.
fn why_not_decoded(t: &Telemetry) -> Option<String> {
    match t.sdk_active {
        1 => {}
        0 => {
            return Some(
                "the telemetry plugin is not running (sdkActive is 0): the game has not \
                 loaded it, or has closed"
                    .into(),
            );
        }
        other => {
            return Some(format!(
                "not the telemetry plugin's page (sdkActive is {other}, not a bool)"
            ));
        }
    }
    (t.telemetry_plugin_revision != PLUGIN_REVISION).then(|| {
        format!(
            "the plugin's revision {} is not the one whose layout shm-bridge reads \
             ({PLUGIN_REVISION}); update the scs-sdk-plugin",
            t.telemetry_plugin_revision
        )
    })
}

/// The model from a page the plugin says is live.
fn model(t: &Telemetry) -> Model {
    let car = [t.truck_brand.as_str(), t.truck_name.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let capacity = Some(t.fuel_capacity).filter(|&c| c > 0.0 && c.is_finite());
    Model {
        car: (!car.is_empty()).then_some(car),
        status: match t.paused {
            0 => Some(Status::Live),
            1 => Some(Status::Paused),
            _ => None,
        },
        // The speedometer: negative in reverse, shown as a speed.
        speed_kmh: Some(kmh_from_mps(t.speed.abs())),
        rpm: whole(t.engine_rpm),
        max_rpm: whole(t.engine_rpm_max).filter(|&m| m > 0),
        gear: Some(t.gear_dashboard),
        throttle: Some(t.user_throttle),
        brake: Some(t.user_brake),
        clutch: Some(t.user_clutch),
        // The SDK's steering is counterclockwise: left positive. (Taken
        // from 0 rather than negated, so that straight ahead is 0, not -0.)
        steering: Some(0.0 - t.user_steer),
        fuel_l: Some(t.fuel),
        fuel_capacity_l: capacity,
        update: i64::try_from(t.time).ok(),
        ..Model::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(page: &[u8]) -> Decoded {
        let mut copies = Copies::default();
        copies.push("telemetry", page);
        FAMILY.decode(&copies)
    }

    fn not_decoded(d: &Decoded) -> &str {
        d.notes
            .iter()
            .find(|(l, _)| *l == "not decoded")
            .map(|(_, n)| n.as_str())
            .unwrap_or("")
    }

    #[test]
    fn bad_pages_decode_to_nothing_with_a_note_and_never_panic() {
        let zeros = decode(&vec![0u8; TELEMETRY_LEN]);
        assert_eq!(zeros.telemetry, Model::default());
        assert!(not_decoded(&zeros).contains("not running"));
        let ones = decode(&vec![0xffu8; TELEMETRY_LEN]);
        assert_eq!(ones.telemetry, Model::default());
        assert!(not_decoded(&ones).contains("sdkActive is 255"));
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200 {
            let page: Vec<u8> = (0..TELEMETRY_LEN)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            assert_eq!(decode(&page).pages.len(), 1);
        }
        assert_eq!(decode(&vec![0u8; NEEDED]).pages.len(), 1);
        let short = decode(&vec![0u8; NEEDED - 1]);
        assert!(short.pages.is_empty() && short.notes.is_empty());
    }

    #[test]
    fn another_plugin_revision_is_not_read_as_this_one() {
        let mut t = synthetic::telemetry(5);
        t.telemetry_plugin_revision = 9;
        let mut page = vec![0u8; TELEMETRY_LEN];
        t.encode(&mut page);
        let d = decode(&page);
        assert_eq!(d.telemetry, Model::default());
        assert!(not_decoded(&d).contains("revision 9"));
    }

    #[test]
    fn the_model_is_in_its_own_units() {
        let t = synthetic::telemetry(10);
        assert!(t.speed < 0.0 && t.gear_dashboard < 0, "reversing");
        let mut page = vec![0u8; TELEMETRY_LEN];
        t.encode(&mut page);
        let m = decode(&page).telemetry;
        assert_eq!(m.speed_kmh, Some(-t.speed * 3.6));
        assert_eq!(m.gear_label().as_deref(), Some("R"));
        assert_eq!(m.steering, Some(-t.user_steer));
        assert_eq!(m.car.as_deref(), Some("Scania R"));
        assert_eq!((m.lap, m.position, m.flags), (None, None, None));
        let mut page = vec![0u8; TELEMETRY_LEN];
        synthetic::telemetry(9950).encode(&mut page);
        assert_eq!(decode(&page).telemetry.status, Some(Status::Paused));
    }
}
