//! `shm-bridge attach --game T --prefix DIR`: the game's pages for Windows
//! tools that run in a Wine prefix of their own (CrewChief, SimHub).
//!
//! Named objects live in one wineserver, so a tool in another prefix cannot
//! open the game's mappings. While the game's bridge has made its files,
//! this runs a second bridge exe in the tools' prefix with `--attach`: it
//! maps those very files under the same names there (zero copies: the same
//! pages), and, since several tools only read a game's memory once they see
//! its process, a stand-in process of the game's exe name. Both end when
//! the game's pages go.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::cli::companion::AttachArgs;
use crate::core::cleanup::FileKind;
use crate::core::spec::MapSpec;
use crate::linux::tmpfs::TmpfsDir;
use crate::linux::{locate, presets_file};

/// How often the pages are looked at.
const LOOK: Duration = Duration::from_millis(250);
/// How long a Wine program may take to end when asked.
const END: Duration = Duration::from_secs(20);

/// Runs `attach` until the game's pages go or it is stopped.
pub fn run(args: AttachArgs) -> Result<ExitCode> {
    let presets = presets_file::load(&args.common)?;
    let specs = args.maps.resolve(&presets)?.context(
        "say which pages to attach: --game TITLE (see `shm-bridge games`) or --map NAMES",
    )?;
    // Wine would quietly make a new prefix of a directory that is none.
    if !args.prefix.join("drive_c").is_dir() {
        bail!(
            "{} is not a Wine prefix (it has no drive_c): give the prefix the tools run in, \
             the WINEPREFIX they are started with",
            args.prefix.display()
        );
    }
    let stand_in = match args.stand_in.as_deref() {
        Some("none") => None,
        Some(name) => Some(stand_in_name(name)?),
        None => None,
    };
    let exe = locate::windows_program("shm-bridge.exe", args.exe.as_deref())?;
    let dir = TmpfsDir::check(args.common.tmpfs())?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM, SIGHUP] {
        signal_hook::flag::register(signal, stop.clone()).context("installing signal handlers")?;
    }
    let names: Vec<&str> = specs.iter().map(|s| s.file_name()).collect();
    note!(
        "shm-bridge attach: waiting for {} in {} (start the game through shm-bridge)...",
        names.join(", "),
        dir.path.display()
    );
    let Some(pages) = wait_for_pages(&dir, &specs, &stop) else {
        return Ok(ExitCode::from(130));
    };
    let mut bridge = Wine::start(&args.prefix, &exe, |c| {
        c.args(["--attach", "--tmpfs"])
            .arg(&dir.path)
            .arg("--map")
            .args(specs.iter().map(|s| s.name.as_str()))
            .stdout(Stdio::piped());
    })?;
    if !bridge.ready("mappings exist", &stop)? {
        bridge.end();
        return Ok(ExitCode::from(130));
    }
    let standin = match &stand_in {
        Some(name) => Some(StandIn::start(&args.prefix, &exe, name)?),
        None => None,
    };
    note!(
        "shm-bridge attach: {} mapped in {}{}; until the game's pages go",
        names.join(", "),
        args.prefix.display(),
        stand_in
            .as_deref()
            .map(|n| format!(", with a stand-in {n}"))
            .unwrap_or_default()
    );
    let ended = loop {
        if stop.load(Ordering::Relaxed) {
            break Ended::Stopped;
        }
        if let Some(status) = bridge.child.try_wait()? {
            break Ended::BridgeExited(status.code());
        }
        if current(&dir, &specs).as_ref() != Some(&pages) {
            break Ended::PagesGone;
        }
        std::thread::sleep(LOOK);
    };
    drop(standin);
    bridge.end();
    match ended {
        Ended::PagesGone => {
            note!("shm-bridge attach: the game's pages are gone; detached");
            Ok(ExitCode::SUCCESS)
        }
        Ended::Stopped => Ok(ExitCode::from(130)),
        Ended::BridgeExited(code) => bail!(
            "the bridge in {} exited ({}); its messages are above",
            args.prefix.display(),
            code.map_or("by a signal".into(), |c| format!("code {c}"))
        ),
    }
}

/// Why attaching ended.
enum Ended {
    PagesGone,
    Stopped,
    BridgeExited(Option<i32>),
}

/// A stand-in exe name: a plain file name ending in `.exe`.
fn stand_in_name(name: &str) -> Result<String> {
    let plain = !name.is_empty()
        && !name.contains(['/', '\\', '\0'])
        && name != ".."
        && name.to_ascii_lowercase().ends_with(".exe");
    if !plain {
        bail!("--stand-in {name:?}: give an exe's file name, such as AC2-Win64-Shipping.exe");
    }
    Ok(name.to_owned())
}

/// The identities (device, inode) of the pages' files, once all exist as
/// regular files of ours; `None` if stopped first.
fn wait_for_pages(dir: &TmpfsDir, specs: &[MapSpec], stop: &AtomicBool) -> Option<Vec<(u64, u64)>> {
    loop {
        if let Some(pages) = current(dir, specs) {
            return Some(pages);
        }
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        std::thread::sleep(LOOK);
    }
}

/// The identities of the pages' files now, if all are there.
fn current(dir: &TmpfsDir, specs: &[MapSpec]) -> Option<Vec<(u64, u64)>> {
    specs
        .iter()
        .map(|s| {
            dir.entry(s.file_name())
                .filter(|e| e.kind == FileKind::File && e.ours && e.size > 0)
                .map(|e| e.identity)
        })
        .collect()
}

/// A Windows program run by `wine` in a prefix; its Linux pid is its own.
struct Wine {
    child: Child,
}

impl Wine {
    fn start(prefix: &Path, exe: &Path, args: impl FnOnce(&mut Command)) -> Result<Wine> {
        let mut command = Command::new("wine");
        command
            .arg(exe)
            .env("WINEPREFIX", prefix)
            .stdin(Stdio::null());
        args(&mut command);
        let child = command
            .spawn()
            .with_context(|| format!("starting wine {} (is Wine installed?)", exe.display()))?;
        Ok(Wine { child })
    }

    /// Passes its output on to stderr, and waits for a line with `sign`
    /// (`true`), or for `stop` (`false`); an error if it exits first.
    fn ready(&mut self, sign: &str, stop: &AtomicBool) -> Result<bool> {
        let out = self.child.stdout.take().context("the bridge's output")?;
        let (tx, rx) = std::sync::mpsc::channel();
        let sign = sign.to_owned();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                note!("  [wine] {line}");
                if line.contains(&sign) {
                    let _ = tx.send(());
                }
            }
        });
        loop {
            if rx.recv_timeout(LOOK).is_ok() {
                return Ok(true);
            }
            if stop.load(Ordering::Relaxed) {
                return Ok(false);
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("the bridge exe exited before it mapped the pages ({status})");
            }
        }
    }

    /// Asks it to end (Ctrl-C, as Wine turns SIGINT), then makes sure.
    fn end(&mut self) {
        let pid = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::INT);
        let deadline = Instant::now() + END;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A process named after the game's exe in the tools' prefix: `sim-standin
/// idle` copied into a private directory under that name.
struct StandIn {
    wine: Wine,
    _dir: tempfile::TempDir,
}

impl StandIn {
    fn start(prefix: &Path, bridge_exe: &Path, name: &str) -> Result<StandIn> {
        let source = locate::windows_program(
            "sim-standin.exe",
            bridge_exe
                .parent()
                .map(|d| d.join("sim-standin.exe"))
                .filter(|p| p.is_file())
                .as_deref(),
        )?;
        let dir = tempfile::Builder::new()
            .prefix("shm-bridge-stand-in-")
            .tempdir()
            .context("making a directory for the stand-in")?;
        let copy: PathBuf = dir.path().join(name);
        std::fs::copy(&source, &copy)
            .with_context(|| format!("copying {} to {}", source.display(), copy.display()))?;
        if let Some(shim) = locate::shim_beside(&source) {
            std::fs::copy(&shim, dir.path().join("bcryptprimitives.dll"))
                .with_context(|| format!("copying {}", shim.display()))?;
        }
        let wine = Wine::start(prefix, &copy, |c| {
            c.arg("idle").stdout(Stdio::null());
        })?;
        Ok(StandIn { wine, _dir: dir })
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.wine.end();
    }
}
