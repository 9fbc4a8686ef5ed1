//! The synthetic session the sim stand-in writes: a page laid out as the
//! SDK's own server lays it (`irsdk_server.cpp`, `irsdk_memserver.h`): the
//! header, the session info right after it (`sessionStrLen`, 128 KiB),
//! room for `IRSDK_MAX_VARS` (4096) variable headers, then three buffers
//! of `IRSDK_MAX_VARS * 6` bytes; each variable registered after the
//! previous one, unaligned. Frame `n` is tick `n`, in buffer `n % 3`; the
//! two before it hold ticks `n - 1` and `n - 2`.

use serde_json::Value as Json;
use zerocopy::IntoBytes;
use zerocopy::little_endian::I32;

use super::pages::{Header, MAX_BUFS, VarBuf, VarHeader};
use super::{MAP, NAMES};
use crate::model::{Flag, Session, Status, Telemetry};
use crate::scenario::{Publish, Scenario, Update};

/// Frames a second.
pub const TICK_RATE: u32 = 60;
/// Bytes the server keeps for the session info.
const SESSION_LEN: usize = 0x20000;
/// Variable headers the server has room for.
const MAX_VARS: usize = 4096;
/// Bytes from one buffer to the next.
const BUF_SPACING: usize = MAX_VARS * 6;
/// Buffers in rotation.
const BUFFERS: usize = 3;
/// Where the session info is.
const SESSION_AT: usize = size_of::<Header>();
/// Where the variable headers are.
const VARS_AT: usize = SESSION_AT + SESSION_LEN;
/// Where the first buffer is.
const BUFS_AT: usize = VARS_AT + MAX_VARS * size_of::<VarHeader>();
/// The page's bytes, up to the end of the last buffer.
pub const PAGE_LEN: usize = BUFS_AT + BUFFERS * BUF_SPACING;

/// A lap takes this many frames (100 s).
const LAP_TICKS: u32 = 6000;
/// Every complete lap, s.
const LAP_S: f32 = 138.412;
/// The player's car index; index 0 is the pace car.
const PLAYER_IDX: usize = 5;
/// Cars racing.
const CARS: usize = 24;

/// `irsdk_VarType`s.
const CHAR: i32 = 0;
const BOOL: i32 = 1;
const INT: i32 = 2;
const BITS: i32 = 3;
const FLOAT: i32 = 4;
const DOUBLE: i32 = 5;

/// The variables, as the sim registers them: name, type, count, unit,
/// description (pyirsdk's `vars.txt`).
const VARS: &[(&str, i32, usize, &str, &str)] = &[
    ("SessionTime", DOUBLE, 1, "s", "Seconds since session start"),
    ("SessionTick", INT, 1, "", "Current update number"),
    ("SessionNum", INT, 1, "", "Session number"),
    ("SessionState", INT, 1, "irsdk_SessionState", "Session state"),
    ("SessionFlags", BITS, 1, "irsdk_Flags", "Session flags"),
    ("SessionTimeRemain", DOUBLE, 1, "s", "Seconds left till session ends"),
    ("SessionLapsRemainEx", INT, 1, "", "New improved laps left till session ends"),
    ("IsOnTrack", BOOL, 1, "", "1=Car on track physics running with player in car"),
    ("IsReplayPlaying", BOOL, 1, "", "0=replay not playing  1=replay playing"),
    ("PlayerCarIdx", INT, 1, "", "Players carIdx"),
    ("PlayerCarPosition", INT, 1, "", "Players position in race"),
    ("CarIdxLap", INT, 64, "", "Laps started by car index"),
    ("Lap", INT, 1, "", "Laps started count"),
    ("LapCompleted", INT, 1, "", "Laps completed count"),
    ("LapCurrentLapTime", FLOAT, 1, "s", "Estimate of players current lap time as shown in F3 box"),
    ("LapLastLapTime", FLOAT, 1, "s", "Players last lap time"),
    ("LapBestLapTime", FLOAT, 1, "s", "Players best lap time"),
    ("DriverMarker", CHAR, 1, "", "Driver activated flag"),
    ("Speed", FLOAT, 1, "m/s", "GPS vehicle speed"),
    ("RPM", FLOAT, 1, "revs/min", "Engine rpm"),
    ("Gear", INT, 1, "", "-1=reverse  0=neutral  1..n=current gear"),
    ("Throttle", FLOAT, 1, "%", "0=off throttle to 1=full throttle"),
    ("Brake", FLOAT, 1, "%", "0=brake released to 1=max pedal force"),
    ("Clutch", FLOAT, 1, "%", "0=disengaged to 1=fully engaged"),
    ("SteeringWheelAngle", FLOAT, 1, "rad", "Steering wheel angle"),
    ("SteeringWheelAngleMax", FLOAT, 1, "rad", "Steering wheel max angle"),
    ("FuelLevel", FLOAT, 1, "l", "Liters of fuel remaining"),
    ("LFtempCM", FLOAT, 1, "C", "LF tire middle carcass temperature"),
    ("RFtempCM", FLOAT, 1, "C", "RF tire middle carcass temperature"),
    ("LRtempCM", FLOAT, 1, "C", "LR tire middle carcass temperature"),
    ("RRtempCM", FLOAT, 1, "C", "RR tire middle carcass temperature"),
];

/// The car at tick `m`: accelerating through the gears, braking for a
/// corner every 10 s (as the AC scenario drives).
struct Car {
    speed_kmh: f32,
    gear: i32,
    rpm: f32,
    throttle: f32,
    brake: f32,
    clutch: f32,
    steer_rad: f32,
}

fn car(m: u32) -> Car {
    let phase = m % 600;
    let (throttle, brake, speed_kmh) = if phase < 480 {
        (1.0, 0.0, 80.0 + phase as f32 * 0.35)
    } else if phase < 540 {
        (0.0, 0.9, 248.0 - (phase - 480) as f32 * 2.8)
    } else {
        (0.45, 0.0, 80.0)
    };
    Car {
        speed_kmh,
        gear: 1 + ((speed_kmh - 40.0) / 45.0).clamp(0.0, 5.0) as i32,
        rpm: (4500 + ((speed_kmh * 37.0) as i32 % 4600)) as f32,
        throttle,
        brake,
        clutch: if (540..546).contains(&phase) { 0.2 } else { 1.0 },
        steer_rad: if (480..600).contains(&phase) { 1.2 } else { -0.05 },
    }
}

const WHEEL_MAX_RAD: f32 = 7.853_982; // 450 degrees to each side

/// Whether a blue flag is out at tick `m`.
fn blue(m: u32) -> bool {
    (100..200).contains(&(m % 600))
}

/// The values of variable `name` at tick `m`, as numbers (each the value
/// its type stores).
fn values(name: &str, m: u32) -> Vec<f64> {
    let c = car(m);
    let laps = m / LAP_TICKS;
    let f = |v: f32| vec![f64::from(v)];
    let i = |v: i64| vec![v as f64];
    match name {
        "SessionTime" => vec![f64::from(m) / f64::from(TICK_RATE)],
        "SessionTick" => i(i64::from(m)),
        "SessionNum" => i(2),
        "SessionState" => i(4), // racing
        "SessionFlags" => i(0x0004_0004 | if blue(m) { 0x20 } else { 0 }),
        "SessionTimeRemain" => vec![3600.0 - f64::from(m) / f64::from(TICK_RATE)],
        "SessionLapsRemainEx" => i(32_767),
        "IsOnTrack" => i(1),
        "IsReplayPlaying" | "DriverMarker" => i(0),
        "PlayerCarIdx" => i(PLAYER_IDX as i64),
        "PlayerCarPosition" => i(i64::from(3 + laps % 3)),
        "CarIdxLap" => (0..64)
            .map(|idx| if (1..=CARS).contains(&idx) { f64::from(laps + 1) } else { -1.0 })
            .collect(),
        "Lap" => i(i64::from(laps + 1)),
        "LapCompleted" => i(i64::from(laps)),
        "LapCurrentLapTime" => f((m % LAP_TICKS) as f32 / TICK_RATE as f32),
        "LapLastLapTime" | "LapBestLapTime" => f(if laps > 0 { LAP_S } else { 0.0 }),
        "Speed" => f(c.speed_kmh / 3.6),
        "RPM" => f(c.rpm),
        "Gear" => i(i64::from(c.gear)),
        "Throttle" => f(c.throttle),
        "Brake" => f(c.brake),
        "Clutch" => f(c.clutch),
        "SteeringWheelAngle" => f(c.steer_rad),
        "SteeringWheelAngleMax" => f(WHEEL_MAX_RAD),
        "FuelLevel" => f(100.0 - m as f32 * 0.0004),
        "LFtempCM" => f(85.0 + (m % 60) as f32 / 10.0),
        "RFtempCM" => f(86.5),
        "LRtempCM" => f(82.0),
        "RRtempCM" => f(83.25),
        _ => Vec::new(),
    }
}

/// The session info, in Windows-1252 as the sim writes it. The player's
/// team name is not valid YAML unquoted, as iRacing's names can be.
fn session_text() -> Vec<u8> {
    let mut text = String::from(
        "---\nWeekendInfo:\n TrackName: spa up\n TrackID: 163\n TrackLength: 6.93 km\n \
         TrackDisplayName: Circuit de Spa-Francorchamps\n TrackDisplayShortName: Spa\n \
         TrackConfigName: Grand Prix Pits\n TrackCity: Stavelot\n TrackCountry: Belgium\n \
         WeekendOptions:\n  NumStarters: 24\n  StartingGrid: 2x2 inline pole on left\n\n\
         SessionInfo:\n Sessions:\n - SessionNum: 0\n   SessionLaps: unlimited\n   \
         SessionTime: 1200.0000 sec\n   SessionType: Practice\n   SessionName: PRACTICE\n \
         - SessionNum: 1\n   SessionLaps: unlimited\n   SessionTime: 600.0000 sec\n   \
         SessionType: Lone Qualify\n   SessionName: QUALIFY\n - SessionNum: 2\n   \
         SessionLaps: unlimited\n   SessionTime: 3600.0000 sec\n   SessionType: Race\n   \
         SessionName: RACE\n   ResultsPositions:\n\n\
         DriverInfo:\n DriverCarIdx: 5\n DriverUserID: 123456\n PaceCarIdx: 0\n \
         DriverCarIdleRPM: 2500.000\n DriverCarRedLine: 9250.000\n DriverCarFuelKgPerLtr: 0.750\n \
         DriverCarFuelMaxLtr: 120.000\n DriverCarMaxFuelPct: 1.000\n DriverCarGearNumForward: 6\n \
         DriverSetupName: baseline.sto\n Drivers:\n",
    );
    for idx in 0..=CARS {
        let (user, team, car) = match idx {
            0 => ("Pace Car".to_owned(), "Pace Car".to_owned(), "Mercedes-AMG GT3 Safety Car"),
            PLAYER_IDX => ("Ren\u{e9}e Demo".to_owned(), "Demo: Racing #1".to_owned(), "Porsche 911 GT3 R (992)"),
            n => (format!("AI Driver {n}"), format!("AI Team {n}"), "BMW M4 GT3"),
        };
        text.push_str(&format!(
            " - CarIdx: {idx}\n   UserName: {user}\n   AbbrevName: {user}\n   Initials: DD\n   \
             TeamName: {team}\n   CarNumber: \"{idx}\"\n   CarScreenName: {car}\n   \
             CarIsPaceCar: {}\n   CarIsAI: {}\n   IsSpectator: 0\n",
            u8::from(idx == 0),
            u8::from(idx != PLAYER_IDX),
        ));
    }
    text.push_str("\n...\n");
    encoding_rs::WINDOWS_1252.encode(&text).0.into_owned()
}

/// The bytes of `value` stored as `var_type`.
fn encode(var_type: i32, value: f64) -> Vec<u8> {
    match var_type {
        CHAR | BOOL => vec![value as u8],
        INT => (value as i32).to_le_bytes().to_vec(),
        BITS => (value as u32).to_le_bytes().to_vec(),
        FLOAT => (value as f32).to_le_bytes().to_vec(),
        _ => value.to_le_bytes().to_vec(),
    }
}

/// Bytes of one value of `var_type`.
fn type_len(var_type: i32) -> usize {
    match var_type {
        CHAR | BOOL => 1,
        DOUBLE => 8,
        _ => 4,
    }
}

/// A fixed text field.
fn fixed<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    let n = s.len().min(N - 1);
    out[..n].copy_from_slice(&s.as_bytes()[..n]);
    out
}

/// The ticks held at tick `n`, in buffer order: buffer `t % 3` holds tick
/// `t`; -1 where nothing was written yet.
fn ticks(n: u32) -> [i32; BUFFERS] {
    let mut out = [-1; BUFFERS];
    for t in n.saturating_sub(BUFFERS as u32 - 1)..=n {
        out[t as usize % BUFFERS] = i32::try_from(t).unwrap_or(i32::MAX);
    }
    out
}

/// The page at tick `n` (`n` at least 1).
pub fn page(n: u32) -> Vec<u8> {
    let mut page = vec![0u8; PAGE_LEN];
    let mut var_headers = Vec::new();
    let mut buf_len = 0usize;
    for (name, var_type, count, unit, desc) in VARS {
        var_headers.push(VarHeader {
            var_type: I32::new(*var_type),
            offset: I32::new(buf_len as i32),
            count: I32::new(*count as i32),
            count_as_time: 0,
            pad: [0; 3],
            name: fixed(name),
            desc: fixed(desc),
            unit: fixed(unit),
        });
        buf_len += type_len(*var_type) * count;
    }
    let ticks = ticks(n);
    let mut var_buf = [VarBuf::default(); MAX_BUFS];
    for (i, tick) in ticks.iter().enumerate() {
        var_buf[i].tick_count = I32::new(*tick);
        var_buf[i].buf_offset = I32::new((BUFS_AT + i * BUF_SPACING) as i32);
        if *tick < 0 {
            continue;
        }
        let mut at = BUFS_AT + i * BUF_SPACING;
        for (name, var_type, _, _, _) in VARS {
            for value in values(name, *tick as u32) {
                let bytes = encode(*var_type, value);
                page[at..at + bytes.len()].copy_from_slice(&bytes);
                at += bytes.len();
            }
        }
    }
    let text = session_text();
    let header = Header {
        ver: I32::new(2),
        status: I32::new(1),
        tick_rate: I32::new(TICK_RATE as i32),
        session_info_update: I32::new(1),
        session_info_len: I32::new(SESSION_LEN as i32),
        session_info_offset: I32::new(SESSION_AT as i32),
        num_vars: I32::new(VARS.len() as i32),
        var_header_offset: I32::new(VARS_AT as i32),
        num_buf: I32::new(BUFFERS as i32),
        buf_len: I32::new(buf_len as i32),
        pad: [I32::new(0); 2],
        var_buf,
    };
    page[..size_of::<Header>()].copy_from_slice(header.as_bytes());
    page[SESSION_AT..SESSION_AT + text.len()].copy_from_slice(&text);
    let headers = var_headers.as_bytes();
    page[VARS_AT..VARS_AT + headers.len()].copy_from_slice(headers);
    page
}

/// The session as a [`Scenario`]: frame `n` is tick `n`.
pub static SESSION: IracingSession = IracingSession;

/// iRacing's known session.
#[derive(Debug)]
pub struct IracingSession;

/// The one value of `name` at tick `m`.
fn one(name: &str, m: u32) -> f64 {
    values(name, m).first().copied().unwrap_or(f64::NAN)
}

impl Scenario for IracingSession {
    fn frame(&self, n: u32) -> Vec<Update> {
        let slot = n as usize % BUFFERS;
        vec![Update {
            file: MAP,
            bytes: page(n),
            publish: Publish::NextBuffer {
                tick: super::pages::TICKS_AT + slot * size_of::<VarBuf>(),
                buffer: BUFS_AT + slot * BUF_SPACING,
                len: BUF_SPACING,
            },
        }]
    }

    fn expected(&self, n: u32) -> Telemetry {
        let c = car(n);
        let laps = n / LAP_TICKS;
        let last = (laps > 0).then_some(138_412);
        let mut flags = vec![Flag::Green];
        if blue(n) {
            flags.push(Flag::Blue);
        }
        Telemetry {
            car: Some("Porsche 911 GT3 R (992)".into()),
            track: Some("Circuit de Spa-Francorchamps".into()),
            driver: Some("Ren\u{e9}e Demo".into()),
            session: Some(Session {
                kind: Some("race".into()),
                time_left_s: Some(one("SessionTimeRemain", n) as f32),
                laps_left: None,
            }),
            status: Some(Status::Live),
            speed_kmh: Some(c.speed_kmh / 3.6 * 3.6),
            rpm: Some(c.rpm as i32),
            max_rpm: Some(9250),
            gear: Some(c.gear),
            throttle: Some(c.throttle),
            brake: Some(c.brake),
            clutch: Some(1.0 - c.clutch),
            steering: Some(-c.steer_rad / WHEEL_MAX_RAD),
            fuel_l: Some(one("FuelLevel", n) as f32),
            fuel_capacity_l: Some(120.0),
            lap: Some(laps as i32 + 1),
            position: Some(3 + laps as i32 % 3),
            cars: Some(CARS as i32),
            lap_time_ms: Some((one("LapCurrentLapTime", n) * 1000.0).round() as i64),
            last_lap_ms: last,
            best_lap_ms: last,
            tyre_temps_c: Some([one("LFtempCM", n) as f32, 86.5, 82.0, 83.25]),
            tyre_pressures_kpa: None,
            flags: Some(flags),
            update: Some(i64::from(n)),
            ..Telemetry::default()
        }
    }

    fn check_page(&self, label: &str, page: &Json) -> Result<(), String> {
        if label != "irsdk" {
            return Err(format!("no page {label}"));
        }
        let tick = page["tick"]
            .as_u64()
            .and_then(|t| u32::try_from(t).ok())
            .ok_or_else(|| format!("no tick in {page}"))?;
        let vars = page["vars"].as_object().ok_or_else(|| format!("no vars in {page}"))?;
        for name in NAMES {
            let want = values(name, tick).first().copied();
            let got = vars.get(name).and_then(Json::as_f64);
            // JSON may print a number to 15 digits; frames differ far more.
            let same = match (got, want) {
                (Some(g), Some(w)) => (g - w).abs() <= 1e-9 * w.abs().max(1.0),
                (g, w) => g.is_none() && w.is_none(),
            };
            if !same {
                return Err(format!("{name} is {got:?}, not {want:?} of tick {tick}: {page}"));
            }
        }
        Ok(())
    }
}
