//! Steam as a Flatpak: a bwrap stand-in for its sandbox shares `/dev/shm`
//! and the home directory as flatpak does for `com.valvesoftware.Steam`,
//! and `launch`, installed in the sandbox as `doctor` says, runs a game
//! there through Steam's command (see [`steam`]); on the host, `list`,
//! `watch` and `clean` find the game's pages in Flatpak Steam's own
//! `/dev/shm`.
//!
//! What the stand-in copies from flatpak (`common/flatpak-run.c`,
//! `common/flatpak-instance.c`, `common/flatpak-context.c`) for the
//! manifest's `--device=all`, `--allow=per-app-dev-shm` and `--persist=.`:
//! - `/dev/shm` is a directory of the host's `/dev/shm` named
//!   `flatpak-com.valvesoftware.Steam-XXXXXX`, holding a `.flatpak-tmpdir`
//!   flag file, pointed at by `$XDG_RUNTIME_DIR/.flatpak/APPID/dev-shm`;
//! - the home directory is the host's `~/.var/app/com.valvesoftware.Steam`,
//!   which is also shown at its own path, and the rest of `~/.var/app` is
//!   hidden;
//! - `FLATPAK_ID` names the app.
//!
//! The rest of the host is shared as it is, but the build's Windows
//! programs are hidden: the bridge exe can only be the one installed in
//! the sandbox's home, and the game is in Steam's library there.
#![cfg(target_os = "linux")]

mod steam;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use shm_tests::standin::CounterPage;
use shm_tests::wine::{self, PrivatePrefix, Running};
use shm_tests::{nonce, wait_for};
use shmem::PosixShMem;
use steam::FakeSteam;

const SHM_BRIDGE: &str = env!("CARGO_BIN_EXE_shm-bridge");
const TIMEOUT: Duration = Duration::from_secs(60);
const APP_ID: &str = "com.valvesoftware.Steam";

/// A host with Flatpak Steam: a home with its `~/.var/app` directory, a
/// runtime directory, and its per-app `/dev/shm` made as flatpak makes it.
struct FlatpakHost {
    home: tempfile::TempDir,
    runtime: tempfile::TempDir,
    dev_shm: tempfile::TempDir,
}

impl FlatpakHost {
    fn new() -> FlatpakHost {
        let home = tempfile::Builder::new()
            .prefix("shm-test-home-")
            .tempdir()
            .unwrap();
        let runtime = tempfile::Builder::new()
            .prefix("shm-test-runtime-")
            .tempdir()
            .unwrap();
        // mkdtemp's directory, mode 0700, with the flag file in it.
        let dev_shm = tempfile::Builder::new()
            .prefix(&format!("flatpak-{APP_ID}-"))
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir_in("/dev/shm")
            .unwrap();
        std::fs::write(dev_shm.path().join(".flatpak-tmpdir"), "").unwrap();
        let per_app = runtime.path().join(".flatpak").join(APP_ID);
        std::fs::create_dir_all(&per_app).unwrap();
        std::os::unix::fs::symlink(dev_shm.path(), per_app.join("dev-shm")).unwrap();
        std::fs::create_dir_all(app_home(home.path())).unwrap();
        FlatpakHost {
            home,
            runtime,
            dev_shm,
        }
    }

    fn app_home(&self) -> PathBuf {
        app_home(self.home.path())
    }

    /// The per-app `/dev/shm` directory, on the host.
    fn dev_shm(&self) -> &Path {
        self.dev_shm.path()
    }

    /// Names in the per-app `/dev/shm`, sorted.
    fn dev_shm_entries(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dev_shm())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// The companion on the host, as this user with this home.
    fn companion(&self, args: &[&str]) -> Command {
        let mut c = Command::new(SHM_BRIDGE);
        c.args(args)
            .env("HOME", self.home.path())
            .env("XDG_RUNTIME_DIR", self.runtime.path())
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("SHM_BRIDGE_EXE_DIR")
            .env_remove("FLATPAK_USER_DIR")
            .env(
                "FLATPAK_SYSTEM_DIR",
                self.home.path().join("no-system-flatpak"),
            );
        c
    }

    /// `program ARGS` in the sandbox stand-in; killed with bwrap.
    fn sandboxed(&self, program: &Path, args: &[String]) -> Command {
        let home = self.home.path();
        let app_home = self.app_home();
        let mut c = Command::new("bwrap");
        c.args(["--die-with-parent", "--dev-bind", "/", "/"])
            .arg("--bind")
            .args([self.dev_shm(), Path::new("/dev/shm")])
            .arg("--bind")
            .args([&app_home, home])
            .arg("--tmpfs")
            .arg(home.join(".var/app"))
            .arg("--bind")
            .args([&app_home, &app_home])
            .arg("--tmpfs")
            .arg(wine::windows_dir())
            .arg("--")
            .arg(program)
            .args(args)
            .env("HOME", home)
            .env("FLATPAK_ID", APP_ID)
            .env("XDG_DATA_HOME", app_home.join(".local/share"))
            // The sandbox shows no flatpak installation.
            .env_remove("FLATPAK_USER_DIR")
            .env("FLATPAK_SYSTEM_DIR", home.join("no-system-flatpak"))
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("SHM_BRIDGE_EXE_DIR")
            .env_remove("STEAM_COMPAT_MOUNTS")
            .env_remove("SteamAppId")
            .env_remove("SteamGameId")
            .env("WINEDEBUG", "-all");
        c
    }
}

fn app_home(home: &Path) -> PathBuf {
    home.join(".var/app").join(APP_ID)
}

/// Copies `from` to `to` by another process, so that no child forked
/// meanwhile by a concurrent test inherits it open for writing (executing
/// it would fail with ETXTBSY).
fn install(from: &Path, to: &Path) {
    let status = Command::new("install")
        .args(["-D", "-m", "0755"])
        .args([from, to])
        .status()
        .unwrap();
    assert!(status.success(), "install {}", to.display());
}

/// Runs `doctor` and returns its output.
fn doctor(host: &FlatpakHost) -> (Option<i32>, String) {
    let (code, out, err) = wine::run(&mut host.companion(&["doctor"]));
    (code, format!("{out}{err}"))
}

/// Does what `doctor` tells the user: installs both sides where it says,
/// and returns the program its launch option names.
fn install_as_doctor_says(host: &FlatpakHost) -> PathBuf {
    let (_, out) = doctor(host);
    assert!(
        out.contains(&format!(
            "ok       Flatpak Steam: {}",
            host.app_home().display()
        )),
        "{out}"
    );
    let said = "`cargo xtask install --prefix ";
    let prefix = out
        .split_once(said)
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(prefix, _)| PathBuf::from(prefix))
        .unwrap_or_else(|| panic!("doctor says where to install: {out}"));
    assert_eq!(prefix, host.app_home().join(".local"));
    // What `cargo xtask install --prefix` puts there.
    install(Path::new(SHM_BRIDGE), &prefix.join("bin/shm-bridge"));
    let windows = wine::windows_dir();
    for file in ["shm-bridge.exe", "bcryptprimitives.dll"] {
        install(
            &windows.join(file),
            &prefix.join("share/shm-bridge").join(file),
        );
    }
    let (code, out) = doctor(host);
    assert!(
        out.contains("ok       shm-bridge in Flatpak Steam"),
        "{out}"
    );
    assert_eq!(code, Some(0), "{out}");
    let option = "Flatpak Steam's launch option (the same path inside its sandbox and out):\n  ";
    let program = out
        .split_once(option)
        .and_then(|(_, rest)| rest.split_once(" launch "))
        .map(|(program, _)| PathBuf::from(program))
        .unwrap_or_else(|| panic!("doctor gives the launch option: {out}"));
    assert_eq!(program, prefix.join("bin/shm-bridge"));
    program
}

/// The counter stand-in, installed as a game in the library of the
/// sandbox's Steam; its path as the sandbox sees it (under the home).
fn install_game(host: &FlatpakHost) -> PathBuf {
    let game_dir = Path::new(".local/share/Steam/steamapps/common/Stand-in");
    let windows = wine::windows_dir();
    for file in ["sim-standin.exe", "bcryptprimitives.dll"] {
        install(
            &windows.join(file),
            &host.app_home().join(game_dir).join(file),
        );
    }
    host.home.path().join(game_dir).join("sim-standin.exe")
}

/// `launch` run by the sandbox's Steam, bridging `name` for the counter
/// stand-in (which exits with 3), through Steam's container.
fn launch_in_sandbox(
    host: &FlatpakHost,
    steam: &FakeSteam,
    program: &Path,
    game: &Path,
    name: &str,
) -> Running {
    let map = format!("Local\\{name}");
    let game_args = ["counter", "--map", &map, "--size", "64", "--exit-code", "3"];
    let mut args: Vec<String> = ["launch", "--map", name, "--size", "4096", "--"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(steam.command_in_container(game, &game_args));
    let mut launch = Running::spawn(
        host.sandboxed(program, &args)
            .env("STEAM_COMPAT_DATA_PATH", steam.compatdata()),
    );
    launch.expect_line(
        &format!(
            "/dev/shm here is {APP_ID}'s own: on the host the pages are in /dev/shm/flatpak-{APP_ID}-XXXXXX"
        ),
        TIMEOUT,
    );
    launch.expect_line("already existed (bridged)", TIMEOUT);
    launch
}

/// The one line of `list --json` for `name`.
fn listed(host: &FlatpakHost, name: &str, runtime_dir: bool) -> Value {
    let mut list = host.companion(&["list", "--json"]);
    if !runtime_dir {
        list.env_remove("XDG_RUNTIME_DIR");
    }
    let (code, out, err) = wine::run(&mut list);
    assert_eq!(code, Some(0), "{err}");
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|row: &Value| row["name"] == name)
        .collect();
    assert_eq!(rows.len(), 1, "one file {name}: {out}");
    rows[0].clone()
}

#[test]
fn a_game_of_flatpak_steam_is_bridged_and_found_in_its_dev_shm() {
    assert!(
        rustix::process::geteuid().is_root(),
        "this test runs a bwrap sandbox, which needs root (CI runs as root)"
    );
    let host = FlatpakHost::new();
    let program = install_as_doctor_says(&host);
    let game = install_game(&host);
    // In the sandbox, the program finds the Windows side beside it and
    // knows /dev/shm there for Flatpak Steam's own.
    let (code, out, err) = wine::run(&mut host.sandboxed(&program, &["doctor".into()]));
    let exe = host
        .app_home()
        .join(".local/share/shm-bridge/shm-bridge.exe");
    assert!(
        out.contains(&format!("ok       bridge exe: {}", exe.display())),
        "{out}{err}"
    );
    assert!(
        out.contains(&format!("note     tmpfs: /dev/shm here is {APP_ID}'s own")),
        "{out}"
    );
    assert_eq!(code, Some(0), "{out}");
    // The wineserver runs in the sandbox and opens the programs it starts
    // there: a prefix of the test's own, whose wineserver starts inside.
    let prefix = PrivatePrefix::boot();
    let _ = prefix.stop_wineserver();
    let steam = FakeSteam::with_prefix(&prefix.path);
    let name = format!("shm-test-{}", nonce());
    let host_dev_shm = Path::new("/dev/shm");

    let mut launch = launch_in_sandbox(&host, &steam, &program, &game, &name);
    assert!(host.dev_shm().join(&name).is_file());
    assert!(
        !host_dev_shm.join(&name).exists(),
        "not in the host's /dev/shm"
    );
    let mem = wait_for("the bridged file", TIMEOUT, || {
        PosixShMem::open_in(host.dev_shm(), &name).ok()
    });
    let page = CounterPage(&mem);
    page.assert_advancing();
    page.assert_game_reads(4242);

    // list: found through the dev-shm link, and without a runtime directory.
    for runtime_dir in [true, false] {
        let row = listed(&host, &name, runtime_dir);
        let path = host.dev_shm().join(&name).display().to_string();
        assert_eq!(row["path"], Value::from(path), "{row}");
        assert_eq!(row["flatpak_app"], APP_ID, "{row}");
        assert_eq!(row["bridged"], true, "{row}");
        assert_eq!(row["written"], true, "{row}");
        let mappers = row["mapped_by"].as_array().unwrap();
        assert!(
            mappers.iter().any(|m| m["program"] == "sim-standin.exe"),
            "the game maps it: {row}"
        );
    }
    let (code, table, _) = wine::run(&mut host.companion(&["list"]));
    assert_eq!(code, Some(0));
    assert!(
        table.contains(&format!(
            "In {} (Flatpak Steam's /dev/shm):",
            host.dev_shm().display()
        )) && table.contains(&name)
            && table.contains("flatpak override --user --device=shm com.valvesoftware.Steam"),
        "{table}"
    );

    // watch reads the page where it is.
    let (code, out, err) =
        wine::run(&mut host.companion(&["watch", "--map", &name, "--once", "--json"]));
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("Flatpak Steam's /dev/shm"), "{err}");
    let sample: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        sample["tmpfs"],
        Value::from(host.dev_shm().display().to_string())
    );
    assert!(sample["maps"][&name].is_object(), "{sample}");
    assert!(sample.get("missing").is_none(), "{sample}");

    // clean keeps a page the game maps.
    let (code, out, _) = wine::run(&mut host.companion(&["clean", "--map", &name]));
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "{} (Flatpak Steam's /dev/shm): kept: still mapped by",
            host.dev_shm().join(&name).display()
        )),
        "{out}"
    );
    assert!(host.dev_shm().join(&name).is_file());

    // The game ends: its exit code comes back, nothing is left.
    page.quit();
    drop(mem);
    assert_eq!(launch.wait_exit(TIMEOUT), Some(3), "{}", launch.output());
    assert_eq!(host.dev_shm_entries(), [".flatpak-tmpdir"]);

    // Steam killed with its game: clean removes what the bridge left.
    let name = format!("shm-test-{}", nonce());
    let launch = launch_in_sandbox(&host, &steam, &program, &game, &name);
    launch.signal(rustix::process::Signal::KILL);
    assert!(prefix.stop_wineserver(), "wineserver -k");
    wait_for("the killed game's mappings to go", TIMEOUT, || {
        let row = listed(&host, &name, true);
        row["mapped_by"].as_array()?.is_empty().then_some(())
    });
    let (code, out, _) = wine::run(&mut host.companion(&["clean", "--map", &name]));
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "{} (Flatpak Steam's /dev/shm): removed",
            host.dev_shm().join(&name).display()
        )),
        "{out}"
    );
    assert_eq!(host.dev_shm_entries(), [".flatpak-tmpdir"]);
}
