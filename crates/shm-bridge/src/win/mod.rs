//! The bridge exe: runs in a game's Wine/Proton prefix and creates the
//! game's named mappings first, backed by files on a Linux tmpfs.

mod bridge;
mod cleanup;
mod events;
mod files;
mod link;
mod start;
mod stop;
mod tmpfs;

use std::os::windows::io::AsHandle;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};
use clap::Parser;

use crate::cli::exe::Cli;
use crate::core::presets::Presets;
use crate::core::spec::{MapSpec, SpecError};
use crate::core::units::human_bytes;
use crate::sys::windows::job::Job;
use crate::sys::windows::{sync, wine};
use files::{Origin, TmpfsFile};
use stop::Stop;
use tmpfs::Tmpfs;

/// Runs the exe; errors are printed with their causes and exit with 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("shm-bridge: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let presets = Presets::builtin();
    if cli.list_games {
        print!("{}", presets.describe());
        return Ok(ExitCode::SUCCESS);
    }
    let specs = specs(&cli, &presets)?;
    // Another prefix's tools get the pages; the game's events stay the game's.
    let events = if cli.attach {
        Vec::new()
    } else {
        cli.maps.resolve_events(cli.maps.title(&presets)?, &specs)?
    };
    let version = wine::version().context(
        "shm-bridge.exe runs inside Wine or Proton; on Windows, programs share named \
         memory without a bridge",
    )?;
    if !wine::on_linux() {
        bail!(
            "shm-bridge.exe needs Wine on x86-64 Linux, whose tmpfs it bridges to (this Wine \
             runs on {})",
            wine::host_system().unwrap_or_else(|| "an unknown system".into())
        );
    }
    let stop = Stop::install()?;
    let tmpfs = Tmpfs::locate(&cli.tmpfs)?;
    if cli.clean_up {
        let events = events.iter().map(|e| MapSpec {
            name: e.name.clone(),
            size: None,
            link: None,
        });
        let all: Vec<MapSpec> = specs.iter().cloned().chain(events).collect();
        cleanup::clean_up(&all, &tmpfs);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "shm-bridge {} on Wine {version}: tmpfs {} ({} free)",
        env!("CARGO_PKG_VERSION"),
        tmpfs.unix,
        human_bytes(tmpfs.free)
    );
    let bridged = bridge::create_all(&specs, &tmpfs, cli.mode, cli.attach)?;
    for b in &bridged {
        println!("  {}", describe(&b.file));
    }
    let forwarded = events::forward_all(&events, &tmpfs, cli.mode)?;
    for f in &forwarded {
        println!(
            "  {:<32} {:>10}        {}  event: a counter Linux programs wait on",
            f.file.name.as_str(),
            "",
            f.file.unix_path
        );
    }
    let code = if cli.command.is_empty() {
        println!(
            "All {} mappings exist. Press Ctrl-C to remove them and exit.",
            bridged.len()
        );
        stop.wait();
        ExitCode::SUCCESS
    } else {
        run_game(&cli.command, &stop, bridged.len())?
    };
    let removed = bridged
        .iter()
        .map(|b| &b.file)
        .chain(forwarded.iter().map(|f| &f.file))
        .filter(|f| f.origin != Origin::Existing)
        .count();
    drop(forwarded);
    drop(bridged);
    println!("Removed {removed} file(s); bye.");
    stop.finished();
    Ok(code)
}

/// The maps of `--map`/`--size` and of `--game`, checked.
fn specs(cli: &Cli, presets: &Presets) -> Result<Vec<MapSpec>> {
    Ok(cli.maps.resolve(presets)?.ok_or(SpecError::Empty)?)
}

fn describe(b: &TmpfsFile) -> String {
    let what = match b.origin {
        Origin::Created => "created",
        Origin::Leftover => "reused (left by an earlier shm-bridge)",
        Origin::Existing => "existing file, mapped as it is",
    };
    let also = b
        .link_path()
        .map(|l| format!(" (and {l})"))
        .unwrap_or_default();
    format!(
        "{:<32} {:>10} bytes  {}{also}  {what}",
        b.name.as_str(),
        b.size,
        b.unix_path
    )
}

/// Wrapper mode: starts the game, waits for it and for every process it
/// started (a launcher may exit before the game does), or for a stop request.
fn run_game(command: &[String], stop: &Stop, count: usize) -> Result<ExitCode> {
    let (program, args) = command.split_first().context("no program after --")?;
    let program = if program.starts_with('/') {
        wine::dos_path(program)?
    } else {
        program.into()
    };
    if stop.requested() {
        println!(
            "Stopped before {} was started; it was not started.",
            program.display()
        );
        return Ok(ExitCode::from(130));
    }
    println!("All {count} mappings exist; starting {}", program.display());
    let job = Job::join()
        .inspect_err(|e| {
            println!(
                "Cannot follow the processes {} starts ({e}); the bridge ends when it does.",
                program.display()
            )
        })
        .ok();
    let mut child = start::with_retries(&program, || Command::new(&program).args(args).spawn())?;
    let which = sync::wait_any(&[child.as_handle(), stop.event().handle()])
        .context("waiting for the game")?;
    if which != 0 {
        println!(
            "Stopping; {} keeps running without the bridge.",
            program.display()
        );
        return Ok(ExitCode::from(130));
    }
    let status = child.wait().context("waiting for the game")?;
    let code = status.code().unwrap_or(1) as u32;
    println!("{} exited with code {code}.", program.display());
    if let Some(job) = &job {
        let others = job.others().context("counting the game's processes")?;
        if others > 0 {
            println!("Waiting for the {others} process(es) it started; the bridge ends with them.");
            if !job
                .wait_for_others(stop.event())
                .context("waiting for the game's processes")?
            {
                println!("Stopping; the game's processes keep running without the bridge.");
                return Ok(ExitCode::from(130));
            }
            println!("Every process it started has exited.");
        }
    }
    Ok(ExitCode::from(unix_exit_code(code)))
}

/// Linux keeps the low 8 bits of an exit code; a failure must not read as 0.
fn unix_exit_code(code: u32) -> u8 {
    match (code & 0xff) as u8 {
        0 if code != 0 => 1,
        low => low,
    }
}
