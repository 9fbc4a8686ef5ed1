//! `shm-bridge record --out FILE`: a title's telemetry, decoded into the
//! model, one row per fresh sample: on each frame of a title whose update
//! event is bridged, else when the game's update counter moves (looked at
//! `--rate` times a second). Each row is written through at once, so a
//! recording stopped with Ctrl-C keeps every row.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::cli::companion::{RecordArgs, RecordFormat};
use crate::linux::watch::{Frames, Pace, Source, is_fresh};
use crate::linux::{places, presets_file};
use crate::model::{MODEL_VERSION, Telemetry};

/// Records until the deadline (or for good).
pub fn run(args: RecordArgs) -> Result<ExitCode> {
    let presets = presets_file::load(&args.common)?;
    if !args.maps.sizes.is_empty() {
        bail!("record reads each file whole: drop --size");
    }
    let format = args.format.unwrap_or_else(|| format_of(&args.out));
    let Source {
        watched,
        place,
        mut reader,
        frames,
    } = Source::resolve(&args.maps, &presets, places::places(&args.common))?;
    if watched.family.is_none() {
        bail!(
            "record writes the decoded telemetry, and shm-bridge does not decode {}'s pages \
             (`shm-bridge watch --json` shows their bytes)",
            watched.title
        );
    }
    let out = open(&args.out)?;
    let mut rows = Rows::new(
        format,
        out,
        &watched.title,
        &place.path.display().to_string(),
    );
    let start = Instant::now();
    let deadline = args.seconds.and_then(|s| start.checked_add(s));
    let mut pace = Pace::new(Duration::from_secs(1) / args.rate);
    let mut last: Option<Telemetry> = None;
    let mut written: u64 = 0;
    loop {
        let sample = reader.sample();
        if let Some(decoded) = sample.decoded {
            let telemetry = Telemetry {
                title: Some(watched.title.clone()),
                ..decoded.telemetry
            };
            if is_fresh(last.as_ref(), &telemetry) {
                rows.write(
                    start.elapsed(),
                    frames.as_ref().map(Frames::latest),
                    &telemetry,
                )
                .with_context(|| format!("writing {}", args.out.display()))?;
                written += 1;
                last = Some(telemetry);
            }
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        pace.wait(frames.as_ref(), deadline);
    }
    note!(
        "shm-bridge: recorded {written} sample(s) of {} to {}",
        watched.title,
        args.out.display()
    );
    if written == 0 {
        drop(rows);
        if args.out != Path::new("-") {
            // Made by this run, and empty: not left behind.
            let _ = std::fs::remove_file(&args.out);
        }
        bail!(
            "no telemetry of {} was read: is shm-bridge running, and the game in a session? \
             (`shm-bridge list` shows what is bridged)",
            watched.title
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// jsonl for a `.jsonl` or `.json` file, else csv.
fn format_of(out: &Path) -> RecordFormat {
    match out.extension().and_then(|e| e.to_str()) {
        Some("jsonl" | "json") => RecordFormat::Jsonl,
        _ => RecordFormat::Csv,
    }
}

/// Standard output for `-`, else a file made anew: an existing one is
/// someone's data, never overwritten.
fn open(out: &Path) -> Result<Box<dyn Write>> {
    if out == Path::new("-") {
        return Ok(Box::new(io::stdout()));
    }
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => anyhow::anyhow!(
                "--out {}: the file exists, and record never overwrites a file; give a new name",
                out.display()
            ),
            _ => {
                anyhow::Error::new(e).context(format!("--out {}: cannot create it", out.display()))
            }
        })?;
    Ok(Box::new(file))
}

/// Where rows go, in their format.
enum Rows {
    Csv(Box<csv::Writer<Box<dyn Write>>>, bool),
    Jsonl {
        out: Box<dyn Write>,
        game: String,
        tmpfs: String,
    },
}

impl Rows {
    fn new(format: RecordFormat, out: Box<dyn Write>, game: &str, tmpfs: &str) -> Rows {
        match format {
            RecordFormat::Csv => Rows::Csv(Box::new(csv::Writer::from_writer(out)), false),
            RecordFormat::Jsonl => Rows::Jsonl {
                out,
                game: game.to_owned(),
                tmpfs: tmpfs.to_owned(),
            },
        }
    }

    /// Writes one row, taken `t` after the start (on event frame `frame`),
    /// and flushes it.
    fn write(&mut self, t: Duration, frame: Option<u32>, telemetry: &Telemetry) -> io::Result<()> {
        let seconds = (t.as_secs_f64() * 1000.0).round() / 1000.0;
        match self {
            Rows::Csv(writer, header) => {
                if !*header {
                    writer.write_record(COLUMNS)?;
                    *header = true;
                }
                writer.write_record(csv_row(seconds, frame, telemetry))?;
                writer.flush()
            }
            Rows::Jsonl { out, game, tmpfs } => {
                let mut doc = json!({
                    "schema_version": MODEL_VERSION,
                    "game": game,
                    "tmpfs": tmpfs,
                    "t": seconds,
                    "telemetry": telemetry,
                });
                if let Some(frame) = frame {
                    doc["frame"] = json!(frame);
                }
                serde_json::to_writer(&mut *out, &doc)?;
                writeln!(out)?;
                out.flush()
            }
        }
    }
}

/// The CSV header: the model's fields, flattened, units in the names.
const COLUMNS: [&str; 37] = [
    "t_s",
    "frame",
    "title",
    "car",
    "track",
    "driver",
    "session_kind",
    "session_time_left_s",
    "session_laps_left",
    "status",
    "speed_kmh",
    "rpm",
    "max_rpm",
    "gear",
    "throttle",
    "brake",
    "clutch",
    "steering",
    "fuel_l",
    "fuel_capacity_l",
    "lap",
    "position",
    "cars",
    "lap_time_ms",
    "last_lap_ms",
    "best_lap_ms",
    "tyre_temp_fl_c",
    "tyre_temp_fr_c",
    "tyre_temp_rl_c",
    "tyre_temp_rr_c",
    "tyre_pressure_fl_kpa",
    "tyre_pressure_fr_kpa",
    "tyre_pressure_rl_kpa",
    "tyre_pressure_rr_kpa",
    "flags",
    "update",
    "schema_version",
];

/// One row of [`COLUMNS`]; an empty cell is a value the title does not
/// publish.
fn csv_row(seconds: f64, frame: Option<u32>, t: &Telemetry) -> Vec<String> {
    fn cell<T: ToString>(value: Option<T>) -> String {
        value.map(|v| v.to_string()).unwrap_or_default()
    }
    let session = t.session.as_ref();
    let tyre = |four: Option<[f32; 4]>, i: usize| cell(four.map(|f| f[i]));
    let mut row = vec![
        seconds.to_string(),
        cell(frame),
        cell(t.title.as_deref()),
        cell(t.car.as_deref()),
        cell(t.track.as_deref()),
        cell(t.driver.as_deref()),
        cell(session.and_then(|s| s.kind.as_deref())),
        cell(session.and_then(|s| s.time_left_s)),
        cell(session.and_then(|s| s.laps_left)),
        cell(t.status),
        cell(t.speed_kmh),
        cell(t.rpm),
        cell(t.max_rpm),
        cell(t.gear),
        cell(t.throttle),
        cell(t.brake),
        cell(t.clutch),
        cell(t.steering),
        cell(t.fuel_l),
        cell(t.fuel_capacity_l),
        cell(t.lap),
        cell(t.position),
        cell(t.cars),
        cell(t.lap_time_ms),
        cell(t.last_lap_ms),
        cell(t.best_lap_ms),
    ];
    row.extend((0..4).map(|i| tyre(t.tyre_temps_c, i)));
    row.extend((0..4).map(|i| tyre(t.tyre_pressures_kpa, i)));
    row.push(cell(t.flags.as_ref().map(|flags| {
        flags
            .iter()
            .map(|f| {
                serde_json::to_value(f)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
            })
            .map(Option::unwrap_or_default)
            .collect::<Vec<_>>()
            .join("|")
    })));
    row.push(cell(t.update));
    row.push(MODEL_VERSION.to_string());
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Flag, Status};

    #[test]
    fn a_row_has_a_cell_per_column_and_nothing_made_up() {
        let t = Telemetry {
            title: Some("ACC".into()),
            speed_kmh: Some(201.5),
            gear: Some(-1),
            status: Some(Status::Live),
            tyre_temps_c: Some([80.0, 81.0, 82.0, 83.5]),
            flags: Some(vec![Flag::Yellow, Flag::Blue]),
            ..Telemetry::default()
        };
        let row = csv_row(1.25, None, &t);
        assert_eq!(row.len(), COLUMNS.len());
        let at = |name: &str| &row[COLUMNS.iter().position(|c| *c == name).unwrap()];
        assert_eq!(at("speed_kmh"), "201.5");
        assert_eq!(at("gear"), "-1");
        assert_eq!(at("status"), "live");
        assert_eq!(at("tyre_temp_rr_c"), "83.5");
        assert_eq!(at("flags"), "yellow|blue");
        assert_eq!(at("rpm"), "", "not published: empty, not 0");
        assert_eq!(at("frame"), "");
    }
}
