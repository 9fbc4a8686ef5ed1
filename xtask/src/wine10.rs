//! The second run of the under-Wine tests, on Debian trixie's Wine 10.0:
//! a chroot built with debootstrap under the target directory once (a
//! minute or two; 1.2 GB, and 0.8 GB for its prefix) and reused after,
//! whose `/usr` and `/etc` the Linux test binaries run with through
//! tools/wine-chroot-runner (the script says how: nothing is ever mounted
//! on this machine for it).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::process::{cargo, is_root, root, run as run_cmd, show, target_dir};
use crate::windows::{self, WINDOWS};

/// The Debian release whose Wine is tested.
const SUITE: &str = "trixie";
/// Wine, and what tests run beside it: bwrap for the Flatpak stand-in, a
/// C compiler and Python for the README's event waiters, Mosquitto and
/// Chromium for `serve`'s broker and dashboard.
const PACKAGES: [&str; 8] = [
    "wine",
    "wine64",
    "bubblewrap",
    "gcc",
    "libc6-dev",
    "python3",
    "mosquitto",
    "chromium",
];
/// Where debootstrap fetches from, unless SHM_DEBIAN_MIRROR says otherwise.
const MIRROR: &str = "http://deb.debian.org/debian";

/// The test binaries that start Wine programs, by package: every one that
/// runs the bridge exe, the stand-in or a Windows peer.
const UNDER_WINE: [(&str, &[&str]); 2] = [
    (
        "shm-tests",
        &["bridge_exe", "hostile_exe", "wine_file_backed"],
    ),
    (
        "shm-bridge",
        &[
            "attach",
            "launch",
            "reliability",
            "titles",
            "watch",
            "list_clean",
            "doctor_games",
            "flatpak",
            "events",
            "serve",
            "serve_dashboard",
            "decoded_titles",
            "record",
        ],
    ),
];

/// `target/wine10`: the chroot in `root`, its stamp, and the Wine prefix.
#[derive(Debug)]
struct Chroot {
    dir: PathBuf,
}

impl Chroot {
    fn new() -> Chroot {
        Chroot {
            dir: target_dir().join("wine10"),
        }
    }

    fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    /// Written last by [`Chroot::build`]: what a complete chroot holds.
    fn stamp(&self) -> PathBuf {
        self.dir.join("root.complete")
    }

    fn stamp_text() -> String {
        format!(
            "debootstrap --variant=minbase {SUITE}; apt-get install {}\n",
            PACKAGES.join(" ")
        )
    }

    fn is_complete(&self) -> bool {
        std::fs::read_to_string(self.stamp()).is_ok_and(|s| s == Self::stamp_text())
            && self.root().join("usr/bin/wine").exists()
    }

    /// Builds the chroot afresh (removing an incomplete one first).
    fn build(&self) -> Result<()> {
        let root = self.root();
        if root.exists() {
            refuse_mounts_under(&root)?;
            eprintln!("xtask: removing the incomplete chroot {}", root.display());
            std::fs::remove_dir_all(&root).with_context(|| format!("remove {}", root.display()))?;
        }
        let _ = std::fs::remove_file(self.stamp());
        std::fs::create_dir_all(&self.dir)?;
        eprintln!(
            "xtask: building a Debian {SUITE} chroot with Wine in {} (once: a minute or two, and 2 GB with its prefix)",
            root.display()
        );
        let mirror = std::env::var("SHM_DEBIAN_MIRROR").unwrap_or_else(|_| MIRROR.to_owned());
        // In a mount namespace of its own: whatever debootstrap mounts in the
        // chroot goes with it, even if it fails half-way.
        run_cmd(
            Command::new("unshare")
                .args(["--mount", "--propagation", "private", "--"])
                .args(["debootstrap", "--variant=minbase", SUITE])
                .arg(&root)
                .arg(&mirror),
        )?;
        // A mirror or cache may serve a Release file past its Valid-Until
        // date; the packages are still checked against its signature.
        std::fs::write(
            root.join("etc/apt/apt.conf.d/99shm-bridge-tests"),
            "Acquire::Check-Valid-Until \"false\";\n",
        )?;
        let install = format!(
            "apt-get update -q && apt-get install -y -q --no-install-recommends {} && apt-get clean",
            PACKAGES.join(" ")
        );
        run_cmd(
            Command::new("unshare")
                .args(["--mount", "--propagation", "private", "--"])
                .args([
                    "sh",
                    "-euc",
                    r#"mount -t proc proc "$1/proc"; exec chroot "$1" sh -c "$2""#,
                ])
                .arg("sh")
                .arg(&root)
                .arg(&install)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
        std::fs::write(self.stamp(), Self::stamp_text())?;
        Ok(())
    }
}

/// Fails if anything is mounted at or under `dir` in this mount namespace,
/// so that removing it never reaches through a mount into another tree.
fn refuse_mounts_under(dir: &Path) -> Result<()> {
    let mounts = proc_mounts::MountIter::new().context("read /proc/mounts")?;
    for mount in mounts.flatten() {
        if mount.dest.starts_with(dir) {
            bail!(
                "{} is mounted under {}: unmount it (umount -R) before the chroot is rebuilt",
                mount.dest.display(),
                dir.display()
            );
        }
    }
    Ok(())
}

/// The tool that runs a command with the chroot's /usr and /etc.
fn runner() -> PathBuf {
    root().join("tools/wine-chroot-runner")
}

/// Builds the chroot if it is not there yet, and boots its Wine prefix.
/// Returns (chroot root, prefix).
fn prepare() -> Result<(PathBuf, PathBuf)> {
    if !is_root() {
        bail!(
            "the Wine 10 run needs root (debootstrap, and a mount namespace with the chroot's \
             /usr for the tests), as the other tests that mount a tmpfs do; run as root"
        );
    }
    let chroot = Chroot::new();
    if !chroot.is_complete() {
        chroot.build()?;
    }
    let prefix = chroot.dir.join("prefix");
    let in_chroot = || {
        let mut c = Command::new(runner());
        c.env("SHM_WINE_CHROOT", chroot.root());
        c
    };
    let version = in_chroot()
        .args(["wine", "--version"])
        .env("WINEDEBUG", "-all")
        .output()
        .with_context(|| format!("run {}", runner().display()))?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    if !version.starts_with("wine-10.") {
        bail!(
            "the chroot {} has {version:?}, not Wine 10: remove it (rm -r {}) to rebuild it",
            chroot.root().display(),
            chroot.dir.display()
        );
    }
    eprintln!("xtask: the second run is on {version}");
    // A wineserver an interrupted run left would serve this run's programs
    // from the mount namespace of that run: end it (the runner ends its own).
    let _ = in_chroot()
        .args(["wineserver", "-k"])
        .env("WINEPREFIX", &prefix)
        .status();
    windows::boot_prefix(&prefix, Some(in_chroot()))?;
    Ok((chroot.root(), prefix))
}

/// Runs every test binary that starts Wine programs again, on Wine 10:
/// the Linux ones that start them, and the Windows ones, which run under
/// Wine as a whole (through tools/wine-runner, itself run by the runner).
pub fn run(windows_dir: &Path) -> Result<()> {
    let (chroot_root, prefix) = prepare()?;
    let path = windows::path_with_wine_fixed_heap()?;
    let with_wine10 = |c: &mut Command| {
        c.env("SHM_WINE_CHROOT", &chroot_root)
            .env("PATH", &path)
            .env("WINEPREFIX", &prefix)
            .env("WINEDEBUG", "-all")
            .env("SHM_BRIDGE_WIN_DIR", windows_dir);
    };
    for (package, tests) in UNDER_WINE {
        let mut test = cargo();
        test.args(["test", "-p", package]);
        for name in tests {
            test.args(["--test", name]);
        }
        test.env("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER", runner());
        with_wine10(&mut test);
        eprintln!("xtask: on Wine 10: {}", show(&test));
        run_cmd(&mut test)?;
    }
    // Cargo splits a runner given in the environment at spaces.
    let wine_runner = root().join("tools/wine-runner");
    let runners = format!("{} {}", runner().display(), wine_runner.display());
    if runners.split_whitespace().count() != 2 {
        bail!("the Wine 10 run cannot give cargo a runner under a path with spaces: {runners}");
    }
    // tools/wine-runner would build the shim beside the test binaries with
    // MinGW, which the chroot lacks: it is put there beforehand. Doctests
    // are built in a new directory each time, so they run on Wine 8 only.
    let only_tests = ["--lib", "--bins", "--tests"];
    let mut build = cargo();
    run_cmd(
        build
            .args(["test", "--no-run", "--target", WINDOWS])
            .args(windows::TEST_PACKAGES)
            .args(only_tests),
    )?;
    windows::install_shim(&windows_dir.join("deps"))?;
    let mut test = cargo();
    test.args(["test", "--target", WINDOWS])
        .args(windows::TEST_PACKAGES)
        .args(only_tests)
        .env("CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER", &runners);
    with_wine10(&mut test);
    eprintln!("xtask: on Wine 10: {}", show(&test));
    run_cmd(&mut test)
}
