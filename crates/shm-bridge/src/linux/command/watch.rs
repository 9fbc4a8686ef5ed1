//! `shm-bridge watch`: a title's live telemetry, decoded.
//!
//! Four ways to show it, picked by the flags and by where stdout goes:
//! - a terminal: the full-screen view ([`crate::linux::tui`]);
//! - `--once`: one sample as text, or as one JSON object with `--json`;
//! - `--json` alone: one JSON object per line, ten a second;
//! - anything else (a pipe, a CI log): a one-line text summary, four a second.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::acc::{Graphics, Physics, Static};
use crate::linux::cli::WatchArgs;
use crate::linux::maps;
use crate::linux::telemetry::{RawPage, Sample, Telemetry};
use crate::linux::tui;
use crate::presets::{Preset, Presets};
use crate::spec::MapSpec;

/// Lines a second of the plain text summary.
const PLAIN_PERIOD: Duration = Duration::from_millis(250);
/// Objects a second with `--json` (without `--once`).
const JSON_PERIOD: Duration = Duration::from_millis(100);
/// How long `--once` watches a raw page to tell whether it is being written.
const CHANGE_GAP: Duration = Duration::from_millis(100);
/// Bytes of a raw page shown as text (JSON has all of them).
const TEXT_DUMP: usize = 256;

/// What is being watched.
#[derive(Debug, Clone)]
pub struct Target {
    /// The title, or the names given with `--map`.
    pub title: String,
    /// What to pass to `launch --game` for it, if it is a title.
    pub game: Option<String>,
    /// When to stop.
    pub deadline: Option<Instant>,
    /// How long that is, for messages.
    pub seconds: Option<f64>,
}

/// Runs `shm-bridge watch`.
pub fn run(args: WatchArgs) -> Result<ExitCode> {
    let presets = maps::load_presets(&args.common)?;
    if !args.maps.sizes.is_empty() {
        bail!("watch maps each file whole: drop --size");
    }
    let dir = &args.common.tmpfs;
    let meta = std::fs::metadata(dir)
        .with_context(|| format!("--tmpfs {}: cannot read it", dir.display()))?;
    if !meta.is_dir() {
        bail!("--tmpfs {} is not a directory", dir.display());
    }
    let (specs, title, game) = match maps::resolve(&args.maps, &presets)? {
        Some(specs) => {
            let title = match &args.maps.game {
                Some(game) => presets.find(game)?.title.clone(),
                None => specs
                    .iter()
                    .map(|s| s.name.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            (specs, title, args.maps.game.clone())
        }
        None => {
            let found = detect(&presets, dir)?;
            eprintln!(
                "Watching {}: its mappings are in {} (--game TITLE to pick another).",
                found.title,
                dir.display()
            );
            (found.specs, found.title, found.game)
        }
    };
    let seconds = match args.seconds {
        Some(s) if !(s.is_finite() && s >= 0.0) => {
            bail!("--seconds {s}: give a number of seconds, 0 or more")
        }
        other => other,
    };
    let target = Target {
        title,
        game,
        deadline: seconds.map(|s| Instant::now() + Duration::from_secs_f64(s)),
        seconds,
    };
    let mut telemetry = Telemetry::new(dir, &specs);
    let mut out = std::io::stdout().lock();
    let result = if args.once {
        once(&mut telemetry, &target, args.json, &mut out)
    } else if args.json {
        live(&mut telemetry, &target, JSON_PERIOD, &mut out, |s, t, o| {
            writeln!(o, "{}", json(s, t, &target.title)?)?;
            Ok(())
        })
    } else if std::io::stdout().is_terminal() {
        drop(out);
        let seen = tui::run(&mut telemetry, &target)?;
        return finish(seen, &telemetry, &target);
    } else {
        live(
            &mut telemetry,
            &target,
            PLAIN_PERIOD,
            &mut out,
            |s, t, o| {
                writeln!(o, "{}", plain_line(s, t))?;
                Ok(())
            },
        )
    };
    match result {
        Ok(seen) => finish(seen, &telemetry, &target),
        // `watch | head`: the reader has seen enough.
        Err(e) if is_broken_pipe(&e) => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e),
    }
}

/// What `watch` without `--game` or `--map` found bridged.
struct Detected {
    specs: Vec<MapSpec>,
    /// The title, or the titles that share these mappings ("A / B").
    title: String,
    /// The title for `launch --game`, when only one fits.
    game: Option<String>,
}

/// The known title whose mappings are all in `dir` now. When one title's
/// mappings include another's (AC's four hold ACC's three), the one with
/// more is meant; two titles with different mappings are for the user to
/// pick between; titles with the very same mappings (ACC, AC EVO and AC
/// Rally) decode alike, so any of them will do and all are named.
fn detect(presets: &Presets, dir: &Path) -> Result<Detected> {
    let present = |spec: &MapSpec| {
        std::fs::symlink_metadata(dir.join(spec.file_name())).is_ok_and(|m| m.is_file())
    };
    let names = |specs: &[MapSpec]| -> BTreeSet<String> {
        specs.iter().map(|s| s.file_name().to_owned()).collect()
    };
    let fits: Vec<(&Preset, Vec<MapSpec>, BTreeSet<String>)> = presets
        .games()
        .iter()
        .filter_map(|game| game.specs().ok().map(|specs| (game, specs)))
        .filter(|(_, specs)| !specs.is_empty() && specs.iter().all(present))
        .map(|(game, specs)| {
            let set = names(&specs);
            (game, specs, set)
        })
        .collect();
    // A title whose mappings are a part of another's present ones is not meant.
    let fits: Vec<_> = fits
        .iter()
        .filter(|(_, _, set)| {
            !fits
                .iter()
                .any(|(_, _, other)| set.is_subset(other) && set != other)
        })
        .collect();
    let Some((_, first, first_set)) = fits.first() else {
        bail!(
            "which telemetry? No known title's mappings are in {} now; give --game TITLE \
             (`shm-bridge games` lists them) or --map NAME",
            dir.display()
        );
    };
    let titles: Vec<&str> = fits.iter().map(|(g, _, _)| g.title.as_str()).collect();
    if fits.iter().any(|(_, _, set)| set != first_set) {
        bail!(
            "which telemetry? The mappings in {} fit several titles ({}); give --game TITLE",
            dir.display(),
            titles.join(", ")
        );
    }
    Ok(Detected {
        specs: first.clone(),
        title: titles.join(" / "),
        game: (titles.len() == 1).then(|| titles[0].to_owned()),
    })
}

/// A timed watch that never found a mapping fails: whoever ran it (the
/// demo, a script) expected telemetry.
fn finish(seen: bool, telemetry: &Telemetry, target: &Target) -> Result<ExitCode> {
    if !seen && let Some(s) = target.seconds {
        bail!(
            "no mapping of {} appeared in {} within {s} s: is shm-bridge running? \
             (`shm-bridge list` shows what is bridged)",
            target.title,
            telemetry.dir().display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

/// `--once`: one complete sample, or the first page's error. With
/// `--seconds`, waits that long for the files to appear.
fn once(
    telemetry: &mut Telemetry,
    target: &Target,
    as_json: bool,
    out: &mut impl Write,
) -> Result<bool> {
    let sample = loop {
        let sample = telemetry.sample();
        let waiting =
            !sample.missing().is_empty() && target.deadline.is_some_and(|d| Instant::now() < d);
        if !waiting {
            break sample;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut sample = sample.into_complete()?;
    if sample.raw().next().is_some() {
        // A second look tells whether the raw pages are being written.
        std::thread::sleep(CHANGE_GAP);
        sample = telemetry.sample().into_complete()?;
    }
    let elapsed = Duration::ZERO;
    if as_json {
        writeln!(out, "{}", json(&sample, elapsed, &target.title)?)?;
    } else {
        write!(out, "{}", text_report(&sample, &target.title))?;
    }
    Ok(true)
}

/// Samples every `period` until the deadline, handing each to `show`.
/// Returns whether any page was ever read.
fn live<W: Write>(
    telemetry: &mut Telemetry,
    target: &Target,
    period: Duration,
    out: &mut W,
    mut show: impl FnMut(&Sample, Duration, &mut W) -> Result<()>,
) -> Result<bool> {
    let start = Instant::now();
    let mut seen = false;
    let mut tick = 0u32;
    loop {
        let sample = telemetry.sample();
        seen |= sample.any_read();
        show(&sample, start.elapsed(), out)?;
        out.flush()?;
        let now = Instant::now();
        if target.deadline.is_some_and(|d| now >= d) {
            return Ok(seen);
        }
        tick += 1;
        // The last sample is taken at the deadline, so `--seconds 2` covers 2 s.
        let mut next = start + period * tick;
        if let Some(deadline) = target.deadline {
            next = next.min(deadline);
        }
        std::thread::sleep(next.saturating_duration_since(now));
    }
}

/// The JSON shape of a sample: the decoded pages under `physics`,
/// `graphics` and `static`, other pages by name under `maps`.
#[derive(Debug, Serialize)]
struct JsonSample<'a> {
    game: &'a str,
    tmpfs: String,
    /// Seconds since the watch started (live output only).
    #[serde(skip_serializing_if = "Option::is_none")]
    t: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    physics: Option<&'a Physics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    graphics: Option<&'a Graphics>,
    #[serde(rename = "static", skip_serializing_if = "Option::is_none")]
    statics: Option<&'a Static>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    maps: BTreeMap<&'a str, JsonRaw>,
    /// Mappings whose files are not there (live output only: `--once` fails).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    missing: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<String>,
}

#[derive(Debug, Serialize)]
struct JsonRaw {
    file: String,
    size: usize,
    /// Bytes that differ from the previous sample.
    changed: usize,
    /// Whether two copies agreed.
    consistent: bool,
    hex: String,
}

fn json(sample: &Sample, elapsed: Duration, title: &str) -> Result<String> {
    let dir = sample
        .pages
        .first()
        .and_then(|p| p.path.parent())
        .unwrap_or(Path::new(""));
    let value = JsonSample {
        game: title,
        tmpfs: dir.display().to_string(),
        t: (!elapsed.is_zero()).then(|| (elapsed.as_secs_f64() * 1000.0).round() / 1000.0),
        physics: sample.physics(),
        graphics: sample.graphics(),
        statics: sample.statics(),
        maps: sample
            .raw()
            .map(|(page, raw)| {
                (
                    page.name.as_str(),
                    JsonRaw {
                        file: page.path.display().to_string(),
                        size: raw.bytes.len(),
                        changed: raw.changed,
                        consistent: raw.consistent,
                        hex: hex(&raw.bytes),
                    },
                )
            })
            .collect(),
        missing: sample.missing(),
        errors: sample.problems(),
    };
    Ok(serde_json::to_string(&value)?)
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The one-line summary for logs and pipes.
pub fn plain_line(sample: &Sample, elapsed: Duration) -> String {
    let mut line = format!("[{:6.2}s] ", elapsed.as_secs_f64());
    let missing = sample.missing();
    if !sample.any_read() {
        let dir = sample
            .pages
            .first()
            .and_then(|p| p.path.parent())
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        let _ = write!(line, "waiting for {} in {dir}...", missing.join(", "));
        for problem in sample.problems() {
            let _ = write!(line, " ({problem})");
        }
        return line;
    }
    let mut parts = Vec::new();
    if let Some(p) = sample.physics() {
        parts.push(format!(
            "{:5.1} km/h  gear {:>2}  {:>5} rpm  throttle {:3.0}%  brake {:3.0}%  fuel {:5.1} L",
            p.speed_kmh,
            p.gear_label(),
            p.rpm,
            p.gas * 100.0,
            p.brake * 100.0,
            p.fuel
        ));
    }
    if let Some(g) = sample.graphics() {
        parts.push(format!(
            "lap {}  P{}  {}  {}",
            g.completed_laps + 1,
            g.position,
            g.current_time,
            g.status_label()
        ));
    }
    if let Some(s) = sample.statics() {
        parts.push(format!("{} @ {}", or_dash(&s.car_model), or_dash(&s.track)));
    }
    if let Some(p) = sample.physics() {
        parts.push(format!("(packet {})", p.packet_id));
    }
    for (page, raw) in sample.raw() {
        parts.push(format!(
            "{}: {} bytes, {}",
            page.name,
            raw.bytes.len(),
            change_word(raw)
        ));
    }
    if !missing.is_empty() {
        parts.push(format!("waiting for {}", missing.join(", ")));
    }
    parts.extend(sample.problems().into_iter().map(|p| format!("({p})")));
    line.push_str(&parts.join("  "));
    line
}

fn change_word(raw: &RawPage) -> String {
    match raw.changed {
        0 => "still".into(),
        n => format!("changing ({n} bytes)"),
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

/// `--once` as text: what a person checks at a glance.
fn text_report(sample: &Sample, title: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{title}");
    if let Some(s) = sample.statics() {
        let _ = writeln!(
            out,
            "  car       {} at {}  ({} {}, {} cars, {} session{})",
            or_dash(&s.car_model),
            or_dash(&s.track),
            s.player_name,
            s.player_surname,
            s.num_cars,
            s.number_of_sessions,
            if s.number_of_sessions == 1 { "" } else { "s" }
        );
        let _ = writeln!(
            out,
            "  versions  shared memory {}, game {}",
            or_dash(&s.sm_version),
            or_dash(&s.ac_version)
        );
    }
    if let Some(g) = sample.graphics() {
        let _ = writeln!(
            out,
            "  session   {} ({}), P{}, lap {} ({} completed)",
            tui::session_label(g.session),
            g.status_label(),
            g.position,
            g.completed_laps + 1,
            g.completed_laps
        );
        let _ = writeln!(
            out,
            "  times     current {}  last {}  best {}  split {}",
            g.current_time, g.last_time, g.best_time, g.split
        );
    }
    if let Some(p) = sample.physics() {
        let max_rpm = sample
            .statics()
            .filter(|s| s.max_rpm > 0)
            .map(|s| format!(" of {}", s.max_rpm))
            .unwrap_or_default();
        let max_fuel = sample
            .statics()
            .filter(|s| s.max_fuel > 0.0)
            .map(|s| format!(" of {:.0}", s.max_fuel))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  driving   {:.1} km/h, gear {}, {} rpm{max_rpm}",
            p.speed_kmh,
            p.gear_label(),
            p.rpm
        );
        let _ = writeln!(
            out,
            "  pedals    throttle {:.0}%, brake {:.0}%, steering {:+.2}",
            p.gas * 100.0,
            p.brake * 100.0,
            p.steer_angle
        );
        let _ = writeln!(out, "  fuel      {:.1} L{max_fuel}", p.fuel);
    }
    let ids: Vec<String> = sample
        .physics()
        .map(|p| format!("physics {}", p.packet_id))
        .into_iter()
        .chain(
            sample
                .graphics()
                .map(|g| format!("graphics {}", g.packet_id)),
        )
        .collect();
    if !ids.is_empty() {
        let _ = writeln!(out, "  packets   {}", ids.join(", "));
    }
    for (page, raw) in sample.raw() {
        let _ = writeln!(
            out,
            "  {}  {} bytes, {}{}",
            page.path.display(),
            raw.bytes.len(),
            change_word(raw),
            if raw.consistent {
                ""
            } else {
                ", never held still while read"
            }
        );
        let shown = &raw.bytes[..raw.bytes.len().min(TEXT_DUMP)];
        for line in hexdump(shown, 0) {
            let _ = writeln!(out, "    {line}");
        }
        if raw.bytes.len() > TEXT_DUMP {
            let nonzero = raw.bytes.iter().filter(|&&b| b != 0).count();
            let _ = writeln!(
                out,
                "    ... {} more bytes ({nonzero} of all {} are not zero; --json has them all)",
                raw.bytes.len() - TEXT_DUMP,
                raw.bytes.len()
            );
        }
    }
    out
}

/// Classic hex dump lines, 16 bytes each: offset, hex, printable ASCII.
pub fn hexdump(bytes: &[u8], base: usize) -> Vec<String> {
    bytes
        .chunks(16)
        .enumerate()
        .map(|(i, chunk)| {
            let mut line = format!("{:08x}  ", base + i * 16);
            for j in 0..16 {
                match chunk.get(j) {
                    Some(b) => {
                        let _ = write!(line, "{b:02x} ");
                    }
                    None => line.push_str("   "),
                }
                if j == 7 {
                    line.push(' ');
                }
            }
            line.push(' ');
            line.extend(chunk.iter().map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            }));
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hexdump_lines_look_like_xxd() {
        let lines = hexdump(b"ACC\0\x01 telemetry page!", 0x10);
        assert_eq!(
            lines[0],
            "00000010  41 43 43 00 01 20 74 65  6c 65 6d 65 74 72 79 20  ACC.. telemetry "
        );
        assert!(
            lines[1].starts_with("00000020  70 61 67 65 21 "),
            "{}",
            lines[1]
        );
        assert!(lines[1].ends_with("page!"), "{}", lines[1]);
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
    }
}
