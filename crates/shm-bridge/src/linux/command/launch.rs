//! `shm-bridge launch [--game TITLE | maps] -- %command%`: the Steam launch
//! option. Runs the game's command with the bridge exe put in front of the
//! game, so the mappings exist before the game starts, in its own prefix,
//! and are gone when it ends.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus};

use anyhow::{Context, Result, bail};

use crate::cli::companion::LaunchArgs;
use crate::core::cleanup::{FileKind, Verdict};
use crate::core::plan;
use crate::core::presets::{Preset, Presets};
use crate::core::spec::{EventSpec, MapSpec};
use crate::linux::command::serve::Serving;
use crate::linux::container::{self, Seen};
use crate::linux::gamecmd::{self, Launcher};
use crate::linux::places::Place;
use crate::linux::tmpfs::TmpfsDir;
use crate::linux::watch::{Source, target::Watched};
use crate::linux::{flatpak, locate, presets_file, procmaps};

/// Runs the bridged command and returns its exit code.
pub fn run(args: LaunchArgs) -> Result<ExitCode> {
    if args.serving.given() && !args.serve {
        bail!("--listen, --mqtt, --mqtt-rate, --max-clients and --rate go with --serve");
    }
    let presets = presets_file::load(&args.common)?;
    let (at, launcher) = gamecmd::find_game(&args.command)?;
    let (specs, title) = match args.maps.resolve(&presets)? {
        Some(specs) => (specs, args.maps.title(&presets)?),
        None => {
            let (preset, why) = recognize(&presets, &args.command[at])?;
            note!("shm-bridge: {} (recognized by {why})", preset.title);
            (preset.specs()?, Some(preset))
        }
    };
    let events = args.maps.resolve_events(title, &specs)?;
    check_game(&args.command[at])?;
    check_prefix(launcher)?;
    let exe = locate::windows_program("shm-bridge.exe", args.exe.as_deref())?;
    let dir = TmpfsDir::check(args.common.tmpfs())?;
    if flatpak::is_sandbox_dev_shm(&dir.path) {
        let app = std::env::var("FLATPAK_ID").ok();
        note!("shm-bridge: {}", flatpak::sandbox_note(app.as_deref()));
    }
    let place = if container::in_command(&args.command[..at]) {
        Placement::in_container(&exe, &dir.path)?
    } else {
        Placement {
            exe,
            tmpfs: dir.path.clone(),
            mounts: Vec::new(),
        }
    };
    let bridge = bridge_args(&place, &dir, &specs, &events)?;
    // Serving starts before the game, so that a port that is taken stops
    // everything before the game is running; it follows the pages as they come.
    let serving = if args.serve {
        let here = Place {
            path: dir.path.clone(),
            flatpak_app: None,
        };
        let watched = Watched::bridged(specs.clone(), title, &events);
        let source = Source::new(watched, here.clone(), vec![here]);
        Some(Serving::start(source, &args.serving)?)
    } else {
        None
    };
    let command = gamecmd::insert_bridge(&args.command, at, &bridge);
    note!(
        "shm-bridge: bridging {} for {} in {}",
        specs
            .iter()
            .map(|s| s.name.as_str())
            .chain(events.iter().map(|e| e.name.as_str()))
            .collect::<Vec<_>>()
            .join(", "),
        args.command[at],
        dir.path.display()
    );
    let mut child = Command::new(&command[0]);
    child.args(&command[1..]);
    if !place.mounts.is_empty() {
        let current = std::env::var(container::MOUNTS_VAR).ok();
        let value = container::mounts_with(current.as_deref(), &place.mounts);
        note!(
            "shm-bridge: asking Steam's container to share {} ({}={value})",
            place
                .mounts
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            container::MOUNTS_VAR
        );
        child.env(container::MOUNTS_VAR, value);
    }
    let status = run_forwarding_signals(child);
    if let Some(serving) = serving {
        serving.stop()?;
    }
    let status = status?;
    let files = specs.iter().map(MapSpec::file_name);
    for file in files.chain(events.iter().map(EventSpec::file_name)) {
        match dir.remove_leftover(file, false) {
            Verdict::Removed => note!("shm-bridge: removed {file} left behind"),
            v @ (Verdict::InUse(_) | Verdict::Failed(_)) => {
                note!("shm-bridge: {}: {v}", dir.path.join(file).display())
            }
            _ => {}
        }
    }
    Ok(exit_code(status))
}

/// The title of the game started by `game_exe`: by the Steam app id Steam
/// puts in the game's environment, else by the program's name (Lutris,
/// Heroic, plain Wine); with how it was recognized.
fn recognize<'p>(presets: &'p Presets, game_exe: &str) -> Result<(&'p Preset, String)> {
    let mut unknown = Vec::new();
    for var in ["SteamAppId", "SteamGameId"] {
        // 0, or a 64-bit id of a non-Steam shortcut, names no Steam app.
        let Some(id) = std::env::var(var)
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
            .filter(|&id| id != 0)
        else {
            continue;
        };
        match presets.by_app_id(id) {
            Some(preset) => return Ok((preset, format!("Steam app {id}, from {var}"))),
            None => unknown.push(format!("Steam app {id} ({var})")),
        }
    }
    let exe = game_exe.rsplit(['/', '\\']).next().unwrap_or(game_exe);
    if let Some(preset) = presets.by_exe(exe) {
        return Ok((preset, format!("the game's program, {exe}")));
    }
    unknown.push(format!("the program {exe}"));
    bail!(
        "which game is this? {} is no title shm-bridge knows. Name it in the launch \
         option, `shm-bridge launch --game TITLE -- %command%` (`shm-bridge games` lists the \
         titles), or give --map NAME --size BYTES; the game was not started",
        unknown.join(", nor ")
    )
}

/// The game's exe must exist when given as a Unix path (Steam gives one).
fn check_game(exe: &str) -> Result<()> {
    if exe.starts_with('/') && !Path::new(exe).is_file() {
        bail!(
            "the game's program {exe} does not exist; check the command (or the game's installation)"
        );
    }
    Ok(())
}

/// A prefix named in the environment must exist: Proton makes `pfx` inside
/// `$STEAM_COMPAT_DATA_PATH` on first run, but Steam makes that directory
/// itself, so its absence means a wrong path.
fn check_prefix(launcher: Launcher) -> Result<()> {
    let (var, why) = match launcher {
        Launcher::Proton => (
            "STEAM_COMPAT_DATA_PATH",
            "Steam sets it to the game's compatdata directory",
        ),
        Launcher::Wine | Launcher::Other => ("WINEPREFIX", "it names the Wine prefix to run in"),
    };
    if let Some(path) = std::env::var_os(var) {
        if !Path::new(&path).is_dir() {
            bail!(
                "{var}={} does not exist ({why}); check the path",
                Path::new(&path).display()
            );
        }
    } else if launcher == Launcher::Proton {
        bail!(
            "STEAM_COMPAT_DATA_PATH is not set: run this as a Steam launch option (`shm-bridge launch ... -- %command%`)"
        );
    }
    Ok(())
}

/// The paths the bridge exe is given, as the game's side sees them.
struct Placement {
    /// The bridge exe.
    exe: PathBuf,
    /// The tmpfs directory.
    tmpfs: PathBuf,
    /// Directories Steam's container must be asked to share.
    mounts: Vec<PathBuf>,
}

impl Placement {
    /// For a command through the Steam Linux Runtime, which runs the bridge
    /// inside its container: where the container shows the exe and the
    /// tmpfs, and what it must be asked to share.
    fn in_container(exe: &Path, tmpfs: &Path) -> Result<Placement> {
        let mut mounts = Vec::new();
        let exe_dir = exe.parent().unwrap_or(exe);
        let exe_inside = match container::seen_here(exe) {
            Seen::Same => exe.to_owned(),
            Seen::At(inside) => {
                note!(
                    "shm-bridge: Steam's container shows {} as {}",
                    exe.display(),
                    inside.display()
                );
                inside
            }
            Seen::IfMounted => {
                mounts.push(exe_dir.to_owned());
                exe.to_owned()
            }
            Seen::Never => bail!(
                "{} is where Steam's container never lets the game see it; install shm-bridge \
                 under your home (`cargo xtask install`), or give --exe (or SHM_BRIDGE_EXE_DIR) \
                 a copy of the Windows side there",
                exe.display()
            ),
        };
        // Resolved, since the path as given may run through /run (Debian's
        // /run/shm links to /dev/shm), which the container does not share.
        let tmpfs = std::fs::canonicalize(tmpfs).unwrap_or_else(|_| tmpfs.to_owned());
        match container::seen_here(&tmpfs) {
            Seen::Same => {}
            Seen::IfMounted => mounts.push(tmpfs.clone()),
            Seen::At(_) | Seen::Never => bail!(
                "--tmpfs {}: Steam's container does not show the game this directory, so Linux \
                 programs would not see the game's mappings; use /dev/shm (the default)",
                tmpfs.display()
            ),
        }
        Ok(Placement {
            exe: exe_inside,
            tmpfs,
            mounts,
        })
    }
}

/// `shm-bridge.exe --tmpfs DIR -m NAMES -s SIZES [--event NAME]... --`,
/// the sizes all given (a map without one takes its existing file's size,
/// which must exist), once they are known to fit.
fn bridge_args(
    place: &Placement,
    dir: &TmpfsDir,
    specs: &[MapSpec],
    events: &[EventSpec],
) -> Result<Vec<String>> {
    let mut sizes = Vec::with_capacity(specs.len());
    let mut planned = Vec::with_capacity(specs.len());
    for spec in specs {
        let path = dir.path.join(spec.file_name());
        let existing = check_place(dir, spec)?;
        let size = plan::size_of(spec, existing, &path.display().to_string())?;
        sizes.push(size);
        planned.push((size, existing));
    }
    let needed = plan::bytes_needed(planned)?;
    plan::check_room(needed, dir.free, &dir.path.display().to_string())
        .context("the game was not started")?;
    let mut args = vec![
        place.exe.display().to_string(),
        "--tmpfs".into(),
        place.tmpfs.display().to_string(),
        "--map".into(),
    ];
    args.extend(specs.iter().map(|s| s.name.to_string()));
    args.push("--size".into());
    args.extend(sizes.iter().map(u64::to_string));
    for event in events {
        let flag = if event.pulsed {
            "--pulsed-event"
        } else {
            "--event"
        };
        args.extend([flag.into(), event.name.to_string()]);
    }
    args.push("--".into());
    Ok(args)
}

/// What is at `spec`'s place in the tmpfs, if anything, and its size:
/// refused when the bridge could not use it (not a regular file, another
/// user's), or when a bridge that is still running made it (two bridges
/// for one mapping would each remove the other's files).
fn check_place(dir: &TmpfsDir, spec: &MapSpec) -> Result<Option<u64>> {
    let file = spec.file_name();
    let path = dir.path.join(file);
    if let Some(marker) = dir.marker(file)
        && let Some(pid) = marker.pid.filter(|&pid| procmaps::is_live_bridge(pid))
    {
        bail!(
            "{} is bridged already, by shm-bridge.exe running as pid {pid}: a second bridge              would take over its files. Start the game through that bridge, or stop it first              (`kill -INT {pid}`)",
            spec.name
        );
    }
    let Some(entry) = dir.entry(file) else {
        return Ok(None);
    };
    match entry.kind {
        FileKind::File => {}
        FileKind::Symlink => bail!(
            "{} is a symbolic link; the bridge never follows one (in a directory every user              may write to, a link can point anywhere). Remove it if it is yours, or use another              --tmpfs",
            path.display()
        ),
        FileKind::Other => bail!(
            "{} is not a regular file (it is {}); a mapping's file is a regular file. Remove              it if it is yours, or use another --tmpfs",
            path.display(),
            entry.what
        ),
    }
    if !entry.ours {
        let owner = std::fs::symlink_metadata(&path).map_or(u32::MAX, |m| m.uid());
        bail!(
            "{} belongs to uid {owner}, not to you: another user made it, and the game's \
             telemetry must not go to their file. Use another --tmpfs (a directory of your own \
             on a tmpfs)",
            path.display()
        );
    }
    Ok(Some(entry.size))
}

/// Runs `command`, passing SIGINT, SIGTERM and SIGHUP on to it, and waits.
fn run_forwarding_signals(mut command: Command) -> Result<ExitStatus> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .context("installing signal handlers")?;
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", command.get_program().to_string_lossy()))?;
    let pid = rustix::process::Pid::from_child(&child);
    let handle = signals.handle();
    let forwarder = std::thread::spawn(move || {
        for signal in signals.forever() {
            if let Some(sig) = rustix::process::Signal::from_named_raw(signal) {
                let _ = rustix::process::kill_process(pid, sig);
            }
        }
    });
    let status = child.wait().context("waiting for the game's command");
    handle.close();
    let _ = forwarder.join();
    status
}

fn exit_code(status: ExitStatus) -> ExitCode {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => ExitCode::from(code as u8),
        (None, Some(signal)) => ExitCode::from(128u8.wrapping_add(signal as u8)),
        _ => ExitCode::FAILURE,
    }
}
