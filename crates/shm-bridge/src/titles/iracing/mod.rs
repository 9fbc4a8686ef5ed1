//! iRacing: one page, `Local\IRSDKMemMapFileName`, self-describing. Its
//! header (iRacing SDK, `irsdk_defines.h`) says where the variable headers
//! (name, type, offset of each variable), the session info (YAML) and the
//! rotating variable buffers are; the sim fills the oldest buffer 60 times
//! a second and then sets its tick count (`irsdk_server.cpp`), so the
//! newest buffer by tick count is read, variable by name, as the SDK's
//! client (`irsdk_client.cpp`) and pyirsdk do. Names and units of the
//! variables: pyirsdk's `vars.txt`.

mod pages;
mod session;
pub mod synthetic;

use serde_json::{Map, Value as Json, json};

use super::{Copies, Decoded, Family, Page, Protocol};
use crate::model::{Flag, Session, Status, Telemetry};
use crate::scenario::Scenario;
pub use pages::{Header, Irsdk, Problem, VarBuf, VarHeader};
use pages::{Value, name};
pub use session::SessionInfo;

/// The page's mapping file name.
pub const MAP: &str = "IRSDKMemMapFileName";
/// Bytes the SDK maps (`IRSDK_MEMMAPFILESIZE`, 1164 KiB in pyirsdk).
pub const MAP_LEN: usize = 1164 * 1024;
/// `IRSDK_UNLIMITED_LAPS`: a session with no lap limit.
const UNLIMITED_LAPS: i64 = 32_767;
/// `IRSDK_UNLIMITED_TIME`, seconds: a session with no time limit.
const UNLIMITED_TIME_S: f64 = 604_800.0;

/// The family, registered by `build.rs`.
pub static FAMILY: IracingFamily = IracingFamily;

/// The variables the model is made of.
const NAMES: [&str; 29] = [
    "SessionNum",
    "SessionFlags",
    "SessionTimeRemain",
    "SessionLapsRemainEx",
    "IsOnTrack",
    "IsReplayPlaying",
    "PlayerCarPosition",
    "LapCompleted",
    "LapCurrentLapTime",
    "LapLastLapTime",
    "LapBestLapTime",
    "Speed",
    "RPM",
    "Gear",
    "Throttle",
    "Brake",
    "Clutch",
    "SteeringWheelAngle",
    "SteeringWheelAngleMax",
    "FuelLevel",
    "LFtempCM",
    "RFtempCM",
    "LRtempCM",
    "RRtempCM",
    // Only in disk telemetry so far; read when the sim offers them live.
    "LFpressure",
    "RFpressure",
    "LRpressure",
    "RRpressure",
    "Lap",
];

/// The variables of [`NAMES`] the page has, by index into it.
struct Found<'a, 'p> {
    ir: &'a Irsdk<'p>,
    vars: [Option<&'p VarHeader>; NAMES.len()],
}

impl<'a, 'p> Found<'a, 'p> {
    fn new(ir: &'a Irsdk<'p>) -> Self {
        let mut vars = [None; NAMES.len()];
        for var in ir.vars {
            let n = name(&var.name);
            if let Some(i) = NAMES.iter().position(|w| w.as_bytes() == n) {
                vars[i].get_or_insert(var);
            }
        }
        Found { ir, vars }
    }

    fn value(&self, name: &str) -> Option<Value> {
        let i = NAMES.iter().position(|n| *n == name)?;
        self.ir.value(self.vars[i]?, 0)
    }

    fn f64(&self, name: &str) -> Option<f64> {
        self.value(name).map(Value::number).filter(|v| v.is_finite())
    }

    fn f32(&self, name: &str) -> Option<f32> {
        self.f64(name).map(|v| v as f32)
    }

    fn int(&self, name: &str) -> Option<i64> {
        self.value(name).and_then(Value::int)
    }

    fn flag(&self, name: &str) -> Option<bool> {
        self.int(name).map(|v| v != 0)
    }

    /// A tyre pressure in kPa, from the unit the sim gives.
    fn kpa(&self, name: &str) -> Option<f32> {
        let i = NAMES.iter().position(|n| *n == name)?;
        let unit = pages::name(&self.vars[i]?.unit);
        let scale = match unit {
            b"kPa" => 1.0,
            b"bar" => 100.0,
            b"psi" => 6.894_757,
            _ => return None,
        };
        self.f64(name).map(|v| (v * scale) as f32)
    }

    /// The variables found, in iRacing's own units.
    fn json(&self) -> Map<String, Json> {
        NAMES
            .iter()
            .filter_map(|n| {
                let v = self.value(n)?;
                Some((n.to_string(), v.int().map_or_else(|| json!(v.number()), |i| json!(i))))
            })
            .collect()
    }
}

/// Seconds (iRacing's lap times) as whole ms; none before the first lap.
fn lap_ms(seconds: Option<f64>) -> Option<i64> {
    seconds
        .filter(|s| *s > 0.0 && *s < 1e9)
        .map(|s| (s * 1000.0).round() as i64)
}

/// `irsdk_Flags` as the model's flags, in the model's order.
fn flags(bits: u32) -> Vec<Flag> {
    let any = |mask: u32| bits & mask != 0;
    let mut out = Vec::new();
    // green, green held
    if any(0x0004 | 0x0400) {
        out.push(Flag::Green);
    }
    // yellow, yellow waving, caution, caution waving
    if any(0x0008 | 0x0100 | 0x4000 | 0x8000) {
        out.push(Flag::Yellow);
    }
    let pairs = [
        (0x0020, Flag::Blue),
        (0x0002, Flag::White),
        (0x0001, Flag::Checkered),
        (0x0001_0000 | 0x0002_0000, Flag::Black), // black, disqualify
        (0x0010, Flag::Red),
        (0x0008_0000, Flag::Penalty), // furled black: a warning
    ];
    out.extend(pairs.iter().filter(|(m, _)| any(*m)).map(|(_, f)| *f));
    out
}

/// iRacing's `SessionType` in the model's words.
fn session_kind(kind: &str) -> String {
    let lower = kind.to_lowercase();
    if lower.contains("race") {
        "race".into()
    } else if lower.contains("qualify") {
        "qualifying".into()
    } else if lower.contains("practice") {
        "practice".into()
    } else {
        lower
    }
}

/// The model from a page that checked out.
fn telemetry(f: &Found<'_, '_>, tick: i32, info: &SessionInfo) -> Telemetry {
    let player = info.player();
    let status = if f.flag("IsReplayPlaying") == Some(true) {
        Status::Replay
    } else if f.flag("IsOnTrack") == Some(true) {
        Status::Live
    } else {
        Status::Menu
    };
    let tyres = |names: [&str; 4], read: &dyn Fn(&str) -> Option<f32>| -> Option<[f32; 4]> {
        Some([read(names[0])?, read(names[1])?, read(names[2])?, read(names[3])?])
    };
    // iRacing's wheel angle is positive to the left (counter-clockwise).
    let steering = match (f.f64("SteeringWheelAngle"), f.f64("SteeringWheelAngleMax")) {
        (Some(angle), Some(max)) if max > 0.0 => Some((-angle / max) as f32),
        _ => None,
    };
    Telemetry {
        car: player.and_then(|p| p.car_screen_name.clone()),
        track: info.track.clone(),
        driver: player.and_then(|p| p.user_name.clone()),
        cars: info.cars(),
        max_rpm: info.red_line_rpm.filter(|r| *r > 0.0).map(|r| r.round() as i32),
        fuel_capacity_l: info.fuel_max_l.filter(|l| *l > 0.0).map(|l| l as f32),
        session: Some(Session {
            kind: f
                .int("SessionNum")
                .and_then(|n| info.kind_of(n))
                .map(session_kind),
            time_left_s: f
                .f64("SessionTimeRemain")
                .filter(|t| *t >= 0.0 && *t < UNLIMITED_TIME_S)
                .map(|t| t as f32),
            laps_left: f
                .int("SessionLapsRemainEx")
                .filter(|l| (0..UNLIMITED_LAPS).contains(l))
                .and_then(|l| i32::try_from(l).ok()),
        }),
        status: Some(status),
        speed_kmh: f.f32("Speed").map(|v| v * 3.6),
        rpm: f.f64("RPM").map(|r| r.round() as i32),
        gear: f.int("Gear").and_then(|g| i32::try_from(g).ok()),
        throttle: f.f32("Throttle"),
        brake: f.f32("Brake"),
        // iRacing's clutch is how engaged it is: 1 with the pedal up.
        clutch: f.f32("Clutch").map(|c| 1.0 - c),
        steering,
        fuel_l: f.f32("FuelLevel"),
        lap: f
            .int("LapCompleted")
            .filter(|l| *l >= 0)
            .map(|l| l + 1)
            .or_else(|| f.int("Lap").filter(|l| *l > 0))
            .and_then(|l| i32::try_from(l).ok()),
        position: f.int("PlayerCarPosition").filter(|p| *p > 0).and_then(|p| i32::try_from(p).ok()),
        lap_time_ms: f.f64("LapCurrentLapTime").filter(|t| *t >= 0.0 && *t < 1e9).map(|t| (t * 1000.0).round() as i64),
        last_lap_ms: lap_ms(f.f64("LapLastLapTime")),
        best_lap_ms: lap_ms(f.f64("LapBestLapTime")),
        tyre_temps_c: tyres(["LFtempCM", "RFtempCM", "LRtempCM", "RRtempCM"], &|n| f.f32(n)),
        tyre_pressures_kpa: tyres(["LFpressure", "RFpressure", "LRpressure", "RRpressure"], &|n| {
            f.kpa(n)
        }),
        flags: f.int("SessionFlags").map(|b| flags(b as u32)),
        update: Some(i64::from(tick)),
        ..Telemetry::default()
    }
}

/// The iRacing family's decoder.
#[derive(Debug)]
pub struct IracingFamily;

impl Family for IracingFamily {
    fn key(&self) -> &'static str {
        "iracing"
    }

    fn page(&self, file: &str) -> Option<Page> {
        (file == MAP).then_some(Page {
            label: "irsdk",
            len: MAP_LEN,
            needed: size_of::<Header>(),
            protocol: Protocol::NewestTick {
                count: pages::NUM_BUF_AT,
                ticks: pages::TICKS_AT,
                stride: size_of::<VarBuf>(),
                rare: pages::SESSION_UPDATE_AT,
            },
        })
    }

    fn scenario(&self) -> Option<&'static dyn Scenario> {
        Some(&synthetic::SESSION)
    }

    fn decode(&self, copies: &Copies<'_>) -> Decoded {
        let mut out = Decoded::default();
        let Some(page) = copies.get("irsdk") else {
            return out;
        };
        let Some(h) = pages::header(page) else {
            out.notes.push(("iracing", "the page is shorter than its header".into()));
            return out;
        };
        let mut view = Map::new();
        view.insert(
            "header".into(),
            json!({
                "ver": h.ver.get(),
                "status": h.status.get(),
                "tick_rate": h.tick_rate.get(),
                "session_info_update": h.session_info_update.get(),
                "num_vars": h.num_vars.get(),
                "num_buf": h.num_buf.get(),
                "buf_len": h.buf_len.get(),
            }),
        );
        match pages::parse(page) {
            Ok(ir) => {
                let info = match pages::session_text(page, &h) {
                    Ok(text) => session::read(text),
                    Err(problem) => std::sync::Arc::new(SessionInfo {
                        problem: Some(problem.to_string()),
                        ..SessionInfo::default()
                    }),
                };
                let found = Found::new(&ir);
                out.telemetry = telemetry(&found, ir.tick, &info);
                out.notes.push((
                    "iracing",
                    format!(
                        "version {}, tick {} at {} Hz, session info update {}",
                        h.ver, ir.tick, h.tick_rate, h.session_info_update
                    ),
                ));
                if let Some(problem) = &info.problem {
                    out.notes.push(("session info", problem.clone()));
                }
                view.insert("tick".into(), json!(ir.tick));
                view.insert("vars".into(), Json::Object(found.json()));
                view.insert("session".into(), info.summary());
            }
            Err(problem) => {
                if problem == Problem::NotConnected {
                    out.telemetry.status = Some(Status::Menu);
                }
                view.insert("problem".into(), json!(problem.to_string()));
                out.notes.push(("iracing", problem.to_string()));
            }
        }
        out.pages.push(("irsdk", Json::Object(view)));
        out
    }
}

#[cfg(test)]
mod tests;
