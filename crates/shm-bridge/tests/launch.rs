//! `shm-bridge launch` with a command line shaped like Steam's: stand-ins
//! for `reaper`, `steam-launch-wrapper` and `proton` (which does what
//! `waitforexitandrun` does: prefix from `STEAM_COMPAT_DATA_PATH`, then
//! `wine`), see [`steam`], and under them the real Wine, bridge exe, game
//! stand-in and a Linux reader (this test).
#![cfg(target_os = "linux")]

mod steam;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use shm_tests::standin::CounterPage;
use shm_tests::tmpfs::Tmpfs;
use shm_tests::wine::{self, PrivatePrefix, Running, ShmDir};
use shm_tests::{nonce, wait_for};
use shmem::PosixShMem;
use steam::FakeSteam;

const SHM_BRIDGE: &str = env!("CARGO_BIN_EXE_shm-bridge");
const TIMEOUT: Duration = Duration::from_secs(60);

/// Checks the game stand-in writes the bridged file and reads what Linux
/// writes, then asks it to quit.
fn drive_the_game(dir: &Path, name: &str) {
    let mem = wait_for("the bridged file", TIMEOUT, || {
        PosixShMem::open_in(dir, name).ok()
    });
    let page = CounterPage(&mem);
    page.assert_advancing();
    page.assert_game_reads(4242);
    page.quit();
}

/// Starts `shm-bridge launch` (with `options`) bridging `name` in `tmpfs`
/// for the counter stand-in, run through Steam's command (in its container
/// or not); the game exits with 3.
fn launch_counter(
    steam: &FakeSteam,
    in_container: bool,
    options: &[&OsStr],
    tmpfs: &Path,
    name: &str,
) -> Running {
    let maps: [&OsStr; 4] = [
        "--map".as_ref(),
        name.as_ref(),
        "--size".as_ref(),
        "4096".as_ref(),
    ];
    launch_counter_with(steam, in_container, &[options, &maps].concat(), tmpfs, name)
}

/// [`launch_counter`], the mappings said by `options` alone.
fn launch_counter_with(
    steam: &FakeSteam,
    in_container: bool,
    options: &[&OsStr],
    tmpfs: &Path,
    name: &str,
) -> Running {
    Running::spawn(&mut launch_command(
        steam,
        in_container,
        options,
        tmpfs,
        name,
    ))
}

/// The command [`launch_counter_with`] runs, not started.
fn launch_command(
    steam: &FakeSteam,
    in_container: bool,
    options: &[&OsStr],
    tmpfs: &Path,
    name: &str,
) -> Command {
    let standin = wine::exe("sim-standin");
    let map = format!("Local\\{name}");
    let args = ["counter", "--map", &map, "--size", "64", "--exit-code", "3"];
    let game = if in_container {
        steam.command_in_container(&standin, &args)
    } else {
        steam.command(&standin, &args)
    };
    let mut command = Command::new(SHM_BRIDGE);
    command
        .arg("launch")
        .args(options)
        .arg("--tmpfs")
        .arg(tmpfs)
        .arg("--")
        .args(&game)
        .env("STEAM_COMPAT_DATA_PATH", steam.compatdata())
        .env_remove("STEAM_COMPAT_MOUNTS")
        .env_remove("SteamAppId")
        .env_remove("SteamGameId")
        .env("WINEDEBUG", "-all");
    command
}

/// Plays the launched counter game to its end: its exit code comes back
/// through `launch`, and nothing is left in `dir`.
fn play_to_the_end(mut launch: Running, dir: &ShmDir, name: &str) {
    launch.expect_line("already existed (bridged)", TIMEOUT);
    drive_the_game(&dir.path, name);
    assert_eq!(
        launch.wait_exit(TIMEOUT),
        Some(3),
        "the game's exit code: {}",
        launch.output()
    );
    assert_eq!(
        dir.entries(),
        Vec::<String>::new(),
        "nothing left after the game exits"
    );
}

#[test]
fn a_steam_shaped_launch_bridges_the_game_and_leaves_nothing() {
    let steam = FakeSteam::new();
    let dir = ShmDir::new();
    let name = format!("shm-test-{}", nonce());
    let launch = launch_counter(&steam, false, &[], &dir.path, &name);
    play_to_the_end(launch, &dir, &name);
}

/// A symbolic link of the test's own, removed after.
struct Link(PathBuf);

impl Link {
    /// A new link in `dir` to `target`.
    fn new(dir: &Path, target: &Path) -> Link {
        let link = dir.join(format!("shm-test-link-{}", nonce()));
        std::os::unix::fs::symlink(target, &link).unwrap();
        Link(link)
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The Windows side installed in a directory of its own under `base` (as a
/// package or `cargo xtask install --prefix` would), removed after.
struct Installed {
    dir: PathBuf,
}

impl Installed {
    fn under(base: &str) -> Installed {
        let built = wine::exe("shm-bridge");
        let dir = Path::new(base).join(format!("shm-bridge-test-{}", nonce()));
        std::fs::create_dir_all(&dir).unwrap();
        for file in ["shm-bridge.exe", "bcryptprimitives.dll"] {
            let from = built.with_file_name(file);
            std::fs::copy(&from, dir.join(file)).unwrap();
        }
        Installed { dir }
    }

    fn exe(&self) -> PathBuf {
        self.dir.join("shm-bridge.exe")
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn in_steams_container_the_bridge_runs_from_opt_or_usr() {
    assert!(
        rustix::process::geteuid().is_root(),
        "this test installs the bridge exe under /opt and /usr/local, which needs root \
         (CI runs as root)"
    );
    // Proton's wineserver runs in the container and opens the programs it
    // starts, so this prefix's must start there: a prefix of the test's own.
    let prefix = PrivatePrefix::boot();
    let _ = prefix.stop_wineserver();
    let steam = FakeSteam::with_prefix(&prefix.path);
    let standin = wine::exe("sim-standin");

    // A tmpfs under /run (as /run/user/UID is) is one the container keeps to itself.
    let run_tmpfs = Tmpfs::mount_in(Path::new("/run"), "64k");
    let (code, _, err) = wine::run(
        Command::new(SHM_BRIDGE)
            .args(["launch", "--game", "acc", "--tmpfs"])
            .arg(&run_tmpfs.path)
            .arg("--")
            .args(steam.command_in_container(&standin, &["counter"]))
            .env("STEAM_COMPAT_DATA_PATH", steam.compatdata()),
    );
    assert!(code.is_some_and(|c| c != 0), "exited {code:?}: {err}");
    assert!(
        err.contains("Steam's container does not show the game this directory"),
        "{err}"
    );
    assert_eq!(run_tmpfs.entries(), 0, "nothing was created");

    for (base, says) in [
        ("/opt", "STEAM_COMPAT_MOUNTS=/opt/shm-bridge-test-"),
        (
            "/usr/local/share",
            "as /run/host/usr/local/share/shm-bridge-test-",
        ),
    ] {
        let installed = Installed::under(base);
        let dir = ShmDir::new();
        let name = format!("shm-test-{}", nonce());
        let exe = installed.exe();
        let options = [OsStr::new("--exe"), exe.as_os_str()];
        // Named through a link under /run, which the container keeps to
        // itself: the bridge must be given the path the link resolves to.
        let link = Link::new(Path::new("/run"), &dir.path);
        let mut launch = launch_counter(&steam, true, &options, &link.0, &name);
        launch.expect_line(says, TIMEOUT);
        play_to_the_end(launch, &dir, &name);
        let _ = prefix.stop_wineserver();
    }
}

#[test]
fn a_plain_wine_command_is_bridged_too() {
    let dir = ShmDir::new();
    let name = format!("shm-test-{}", nonce());
    let standin = wine::exe("sim-standin");
    let mut launch = Running::spawn(
        Command::new(SHM_BRIDGE)
            .args([
                "launch",
                "-m",
                &name,
                "-s",
                "8192",
                "--tmpfs",
                &dir.arg(),
                "--",
                "wine",
            ])
            .arg(&standin)
            .args(["counter", "--map", &name, "--size", "64"])
            .env("WINEPREFIX", wine::prefix())
            .env("WINEDEBUG", "-all"),
    );
    launch.expect_line("already existed (bridged)", TIMEOUT);
    let len = std::fs::metadata(dir.path.join(&name)).unwrap().len();
    assert_eq!(len, 8192);
    drive_the_game(&dir.path, &name);
    assert_eq!(launch.wait_exit(TIMEOUT), Some(0), "{}", launch.output());
    assert_eq!(dir.entries(), Vec::<String>::new());
}

/// A presets file naming a title for the counter stand-in: Steam app 4242,
/// its program `sim-standin.exe`, its page `name` and its pulsed event
/// `name-event`.
fn standin_title(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(format!("presets-{}.toml", nonce()));
    std::fs::write(
        &path,
        format!(
            "[[game]]\ntitle = \"Stand-in Racing\"\nsteam_app_ids = [4242]\n\
             exe_names = [\"sim-standin.exe\"]\n\
             maps = [{{ name = \"{name}\", size = 4096, source = \"the test\" }}]\n\
             events = [{{ name = \"Local\\\\{name}-event\", reset = \"manual\", \
             source = \"the test\" }}]\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn without_game_the_title_comes_from_steams_app_id_or_the_games_program() {
    let steam = FakeSteam::new();
    let presets_dir = tempfile::tempdir().unwrap();
    for (app_id, why) in [
        (
            Some("4242"),
            "recognized by Steam app 4242, from SteamAppId",
        ),
        (None, "recognized by the game's program, sim-standin.exe"),
    ] {
        let dir = ShmDir::new();
        let name = format!("shm-test-{}", nonce());
        let presets = standin_title(presets_dir.path(), &name);
        let options: [&OsStr; 2] = ["--presets".as_ref(), presets.as_ref()];
        let mut command = launch_command(&steam, false, &options, &dir.path, &name);
        if let Some(id) = app_id {
            command.env("SteamAppId", id);
        }
        let mut launch = Running::spawn(&mut command);
        launch.expect_line(why, TIMEOUT);
        // The title's event comes with it: its counter is there while the game runs.
        launch.expect_line("mappings exist; starting", TIMEOUT);
        let event = dir.path.join(format!("{name}-event"));
        assert_eq!(std::fs::metadata(&event).map(|m| m.len()).ok(), Some(4096));
        play_to_the_end(launch, &dir, &name);
    }
    // A title it cannot know: said, and the game is not started.
    let dir = ShmDir::new();
    let mut unknown = Running::spawn(
        launch_command(&steam, false, &[], &dir.path, "x").env("SteamAppId", "999999"),
    );
    assert_eq!(unknown.wait_exit(TIMEOUT), Some(1), "{}", unknown.output());
    let out = unknown.output();
    assert!(
        out.contains(
            "which game is this? Steam app 999999 (SteamAppId), nor the program sim-standin.exe"
        ) && out.contains("the game was not started"),
        "{out}"
    );
    assert!(!out.contains("mapping"), "the game ran: {out}");
    assert!(dir.entries().is_empty());
}

#[test]
fn bad_launches_say_what_is_wrong_and_start_nothing() {
    let dir = ShmDir::new();
    let steam = FakeSteam::new();
    let bad_presets = dir.path.join("bad-presets.toml");
    std::fs::write(
        &bad_presets,
        "[[game]]\ntitle = \"Mine\"\nmaps = [{ name = \"x/y\", size = 5, source = \"me\" }]\n",
    )
    .unwrap();
    let standin = wine::exe("sim-standin").display().to_string();
    let steam_game = steam.command(Path::new(&standin), &["counter"]);
    let with = |extra: &[&str], cmd: &[String]| {
        let mut c = Command::new(SHM_BRIDGE);
        c.arg("launch")
            .args(extra)
            .args(["--tmpfs", &dir.arg(), "--"])
            .args(cmd);
        c.env("STEAM_COMPAT_DATA_PATH", steam.compatdata());
        c
    };
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let cases: Vec<(Command, &str)> = vec![
        (
            with(&["--game", "Gran Turismo 7"], &steam_game),
            "unknown game",
        ),
        (with(&[], &steam_game), "which game is this?"),
        (
            with(&["--game", "acc"], &strings(&["/bin/true", "--fullscreen"])),
            "found no Windows program",
        ),
        (
            with(
                &["--game", "acc"],
                &strings(&["wine", "/nonexistent/dir/game.exe"]),
            ),
            "does not exist",
        ),
        (
            with(
                &["--game", "acc", "--exe", "/nonexistent/shm-bridge.exe"],
                &steam_game,
            ),
            "/nonexistent/shm-bridge.exe does not exist",
        ),
        (
            with(
                &[
                    "--game",
                    "Mine",
                    "--presets",
                    &bad_presets.display().to_string(),
                ],
                &steam_game,
            ),
            "bad-presets.toml",
        ),
        (
            with(&["-m", "a", "b", "-s", "1"], &steam_game),
            "2 map(s) but 1 size(s)",
        ),
        (
            {
                let mut c = with(&["--game", "acc"], &strings(&["wine", &standin]));
                c.env("WINEPREFIX", "/nonexistent/prefix");
                c
            },
            "WINEPREFIX=/nonexistent/prefix does not exist",
        ),
        (
            {
                let mut c = with(&["--game", "acc"], &steam_game);
                c.env("STEAM_COMPAT_DATA_PATH", "/nonexistent/compatdata");
                c
            },
            "STEAM_COMPAT_DATA_PATH=/nonexistent/compatdata does not exist",
        ),
    ];
    for (mut cmd, expected) in cases {
        let (code, out, err) = wine::run(&mut cmd);
        assert!(
            code.is_some_and(|c| c != 0),
            "{cmd:?} exited {code:?}: {out}"
        );
        assert!(
            err.contains(expected),
            "{cmd:?}: expected {expected:?} in: {err}"
        );
    }
    assert_eq!(dir.entries(), ["bad-presets.toml"], "nothing was created");
}
