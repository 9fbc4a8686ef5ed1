//! `shm-bridge watch`: a title's live telemetry, decoded.
//!
//! Four ways to show it, picked by the flags and by where stdout goes:
//! - a terminal: the full-screen view ([`tui`]);
//! - `--once`: one sample as text, or as one JSON object with `--json`;
//! - `--json` alone: one JSON object per line, ten a second, and one on
//!   each frame of a title whose update event is bridged ([`frames`]);
//! - anything else (a pipe, a CI log): a one-line text summary, four a second.

mod frames;
pub mod hex;
pub mod json;
pub mod reader;
pub mod source;
mod stable;
pub mod target;
pub mod text;
mod tui;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cli::companion::WatchArgs;
use crate::linux::{places, presets_file};
pub use frames::Frames;
pub use reader::{Reader, Sample};
pub use source::{Pace, Source, is_fresh};
pub use target::Target;

/// Lines a second of the plain text summary.
const PLAIN_PERIOD: Duration = Duration::from_millis(250);
/// Between two objects of `--json` (without `--once` or `--rate`).
const JSON_PERIOD: Duration = Duration::from_millis(100);
/// How long `--once` watches a raw page to tell whether it is being written.
const CHANGE_GAP: Duration = Duration::from_millis(100);

/// How samples are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One sample, as text or JSON.
    Once {
        /// As JSON.
        json: bool,
    },
    /// JSON lines, one every `period`.
    JsonLines {
        /// Between two lines (without a frame sooner).
        period: Duration,
    },
    /// The full-screen view on a terminal, else a line of text four times a second.
    Live,
}

/// Runs `shm-bridge watch`.
pub fn run(args: WatchArgs) -> Result<ExitCode> {
    let presets = presets_file::load(&args.common)?;
    if !args.maps.sizes.is_empty() {
        bail!("watch maps each file whole: drop --size");
    }
    let places = places::places(&args.common);
    let dir = args.common.tmpfs();
    let meta = std::fs::metadata(dir)
        .with_context(|| format!("--tmpfs {}: cannot read it", dir.display()))?;
    if !meta.is_dir() {
        bail!("--tmpfs {} is not a directory", dir.display());
    }
    let Source {
        watched,
        mut reader,
        frames,
        ..
    } = Source::resolve(&args.maps, &presets, places)?;
    let target = Target::new(watched.title, watched.game, args.seconds);
    let mode = match (args.once, args.json) {
        (true, json) => Mode::Once { json },
        (false, true) => Mode::JsonLines {
            period: args
                .rate
                .map_or(JSON_PERIOD, |hz| Duration::from_secs(1) / hz),
        },
        (false, false) => Mode::Live,
    };
    show(&mut reader, &target, mode, frames.as_ref())
}

/// Shows what `reader` reads, in `mode`, until the target's deadline (or
/// the user quits the full-screen view), and on each of the game's
/// `frames` where a view keeps up with them. A timed watch that never
/// found a page fails: whoever ran it (the demo, a script) expected telemetry.
pub fn show(
    reader: &mut Reader,
    target: &Target,
    mode: Mode,
    frames: Option<&Frames>,
) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let seen = match mode {
        Mode::Once { json } => once(reader, target, json, &mut out)?,
        Mode::JsonLines { period } => live(reader, target, period, frames, &mut out, |s, t, o| {
            json::write_sample(o, s, t, &target.title, frames.map(Frames::latest))?;
            writeln!(o)
        })?,
        Mode::Live if std::io::stdout().is_terminal() => {
            drop(out);
            tui::run(reader, target, frames)?
        }
        // Four lines a second are for people: no faster with frames.
        Mode::Live => live(reader, target, PLAIN_PERIOD, None, &mut out, |s, t, o| {
            writeln!(o, "{}", text::plain_line(s, t))
        })?,
    };
    if !seen && let Some(s) = target.seconds {
        bail!(
            "no mapping of {} appeared in {} within {} s: is shm-bridge running? \
             (`shm-bridge list` shows what is bridged)",
            target.title,
            reader.dir().display(),
            s.as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `--once`: one complete sample, or the first page's error. With
/// `--seconds`, waits that long for the files to appear.
fn once(reader: &mut Reader, target: &Target, as_json: bool, out: &mut impl Write) -> Result<bool> {
    let sample = loop {
        let sample = reader.sample();
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
        sample = reader.sample().into_complete()?;
    }
    if as_json {
        json::write_sample(out, &sample, Duration::ZERO, &target.title, None)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", text::report(&sample, &target.title))?;
    }
    Ok(true)
}

/// Samples on each of the game's `frames` and every `period` without
/// one, until the deadline, handing each to `show`. Returns whether any
/// page was ever read.
fn live<W: Write>(
    reader: &mut Reader,
    target: &Target,
    period: Duration,
    frames: Option<&Frames>,
    out: &mut W,
    mut show: impl FnMut(&Sample, Duration, &mut W) -> std::io::Result<()>,
) -> Result<bool> {
    let start = Instant::now();
    let mut seen = false;
    let mut pace = Pace::new(period);
    loop {
        let sample = reader.sample();
        seen |= sample.any_read();
        show(&sample, start.elapsed(), out)?;
        out.flush()?;
        if target.deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(seen);
        }
        // The last sample is taken at the deadline, so `--seconds 2` covers 2 s.
        pace.wait(frames, target.deadline);
    }
}
