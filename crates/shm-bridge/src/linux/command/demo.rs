//! `shm-bridge demo`: the whole chain without a game. A sim stand-in (a
//! Windows program writing ACC's telemetry pages as ACC does) runs under
//! Wine behind the bridge exe in wrapper mode; `watch` shows what it
//! writes, live; at the end nothing is left behind.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cli::companion::DemoArgs;
use crate::linux::tmpfs::TmpfsDir;
use crate::linux::watch::{self, Mode, Reader, Target};
use crate::linux::{locate, presets_file, xdg};
use crate::titles;

/// How long the bridge and the stand-in may take to get going.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// Runs the demo.
pub fn run(args: DemoArgs) -> Result<ExitCode> {
    let wine = locate::wine_version().context(
        "Wine is not installed. On Debian or Ubuntu: apt install wine wine64 \
         (`cargo xtask demo` installs it for you)",
    )?;
    let program = |file: &str| match &args.exe_dir {
        Some(dir) => locate::windows_program(file, Some(&dir.join(file))),
        None => locate::windows_program(file, None),
    };
    let bridge_exe = program("shm-bridge.exe")?;
    let standin_exe = program("sim-standin.exe")?;
    let tmpfs = TmpfsDir::check(args.common.tmpfs())?;
    let presets = presets_file::load(&args.common)?;
    let acc = presets.find("acc")?;
    let prefix = xdg::cache()
        .context("neither XDG_CACHE_HOME nor HOME is set")?
        .join("demo-prefix");
    outln!("shm-bridge demo: {wine}, prefix {}", prefix.display())?;
    if !prefix.join("system.reg").exists() {
        outln!("Preparing a Wine prefix for the demo (first run only; takes a few seconds)...")?;
        boot_prefix(&prefix)?;
    }

    // A directory of the demo's own on the tmpfs: nothing of the user's is touched.
    let dir = Scratch::new(&tmpfs.path)?;
    let seconds = args.seconds.max(2);
    outln!(
        "Starting shm-bridge.exe with the ACC preset in {}, and the ACC stand-in behind it...",
        dir.0.display()
    )?;
    let mut bridge = Bridge::start(
        &prefix,
        Command::new("wine")
            .arg(&bridge_exe)
            .args(["--game", "acc", "--tmpfs"])
            .arg(&dir.0)
            .arg("--")
            .arg(&standin_exe)
            .args(["acc", "--seconds", &(seconds + 3).to_string()]),
    )?;
    let mut reader = Reader::new(&dir.0, &acc.specs()?, titles::of_preset(acc));
    wait_for_telemetry(&mut reader, &mut bridge)?;
    bridge.print_pending();
    outln!("Telemetry is flowing; watching it for {seconds} s:")?;

    let target = Target::new(
        acc.title.clone(),
        Some("acc".into()),
        Some(Duration::from_secs(seconds.into())),
    );
    let outcome = watch::show(&mut reader, &target, Mode::Live, None);
    let code = bridge.wait(START_TIMEOUT)?;
    bridge.print_pending();
    outcome?;
    if code != Some(0) {
        bail!("the bridge exited with {code:?}");
    }
    let left: Vec<String> = std::fs::read_dir(&dir.0)?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if !left.is_empty() {
        bail!(
            "the bridge left {} behind in {}",
            left.join(", "),
            dir.0.display()
        );
    }
    outln!(
        "Demo done: the stand-in wrote ACC telemetry through the bridge's mappings, watch \
         decoded it from {}, and the bridge removed its files when the stand-in exited.",
        tmpfs.path.display()
    )?;
    Ok(ExitCode::SUCCESS)
}

fn boot_prefix(prefix: &Path) -> Result<()> {
    std::fs::create_dir_all(prefix.parent().unwrap_or(prefix))?;
    let status = Command::new("wineboot")
        .arg("-i")
        .env("WINEPREFIX", prefix)
        .env("WINEDEBUG", "-all")
        .stderr(Stdio::null())
        .status()
        .context("running wineboot")?;
    if !status.success() {
        bail!("wineboot failed for {} ({status})", prefix.display());
    }
    Ok(())
}

/// The demo's directory on the tmpfs, removed (if empty) at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tmpfs: &Path) -> Result<Scratch> {
        let dir = tmpfs.join(format!("shm-bridge-demo-{}", std::process::id()));
        std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Only if empty: a file left here is reported, not hidden.
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// The bridge exe under Wine, its output collected line by line.
struct Bridge {
    child: Child,
    prefix: PathBuf,
    lines: Receiver<String>,
}

impl Bridge {
    fn start(prefix: &Path, command: &mut Command) -> Result<Bridge> {
        let mut child = command
            .env("WINEPREFIX", prefix)
            .env("WINEDEBUG", "-all")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting wine")?;
        let (tx, lines) = channel();
        for stream in [
            Box::new(child.stdout.take().expect("piped")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("piped")),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Ok(Bridge {
            child,
            prefix: prefix.to_owned(),
            lines,
        })
    }

    fn print_pending(&self) {
        while let Ok(line) = self.lines.try_recv() {
            let _ = outln!("  [wine] {line}");
        }
    }

    fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn wait(&mut self, timeout: Duration) -> Result<Option<i32>> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                std::thread::sleep(Duration::from_millis(50));
                return Ok(status.code());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("the bridge did not exit within {timeout:?}")
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if self.running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // Nothing of the demo keeps running in its prefix.
        let _ = Command::new("wineserver")
            .arg("-k")
            .env("WINEPREFIX", &self.prefix)
            .status();
    }
}

/// Waits until the stand-in's pages are being written: their update
/// counter moves.
fn wait_for_telemetry(reader: &mut Reader, bridge: &mut Bridge) -> Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    let mut first = None;
    while Instant::now() < deadline {
        if !bridge.running() {
            bridge.print_pending();
            bail!("the bridge exited before the stand-in wrote telemetry (its output is above)");
        }
        let update = reader.sample().decoded.and_then(|d| d.telemetry.update);
        match (first, update) {
            (None, Some(now)) => first = Some(now),
            (Some(then), Some(now)) if now > then => return Ok(()),
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bridge.print_pending();
    bail!("no telemetry within {START_TIMEOUT:?}")
}
