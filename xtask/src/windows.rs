//! The Windows side: building its programs with the bcryptprimitives shim
//! beside them, the tests' Wine prefix, and the `wine` every task starts.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;

use crate::process::{cargo, root, run, target_dir};

pub const WINDOWS: &str = "x86_64-pc-windows-gnu";
/// The packages whose tests run for Windows, under Wine, as `-p` arguments.
pub const TEST_PACKAGES: [&str; 6] = ["-p", "shmem", "-p", "shm-bridge", "-p", "shm-tests"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Debug,
    Release,
}

/// Builds the Windows programs; returns their directory, the shim in it.
pub fn build(profile: Profile) -> Result<PathBuf> {
    let mut build = cargo();
    build.args([
        "build",
        "--target",
        WINDOWS,
        "--workspace",
        "--exclude",
        "xtask",
        "--bins",
    ]);
    if profile == Profile::Release {
        build.arg("--release");
    }
    run(&mut build)?;
    let dir = target_dir().join(WINDOWS).join(match profile {
        Profile::Debug => "debug",
        Profile::Release => "release",
    });
    install_shim(&dir)?;
    Ok(dir)
}

/// Builds the shim into `dir` unless an up-to-date one is there.
pub fn install_shim(dir: &Path) -> Result<()> {
    let dll = dir.join("bcryptprimitives.dll");
    let source = root().join("tools/bcryptprimitives/bcryptprimitives.c");
    let fresh = dll
        .metadata()
        .and_then(|d| Ok(d.modified()? >= source.metadata()?.modified()?))
        .unwrap_or(false);
    if !fresh {
        run(Command::new(root().join("tools/build-shim")).arg(&dll))?;
    }
    Ok(())
}

/// A Wine prefix of our own under the target directory, booted once.
pub fn prefix() -> Result<PathBuf> {
    let prefix = target_dir().join("wine-prefix");
    boot_prefix(&prefix, None)?;
    Ok(prefix)
}

/// Boots the Wine prefix `prefix` unless it has been (it takes a while),
/// through `runner` (a command that runs its arguments) if given, and waits
/// for its wineserver to save it.
pub fn boot_prefix(prefix: &Path, runner: Option<Command>) -> Result<()> {
    if prefix.join("system.reg").exists() {
        return Ok(());
    }
    eprintln!(
        "booting a Wine prefix in {} (once; takes a while)",
        prefix.display()
    );
    let boot = "wineboot -i && wineserver -w";
    let mut cmd = match runner {
        Some(mut runner) => {
            runner.arg("sh");
            runner
        }
        None => Command::new("sh"),
    };
    run(cmd
        .args(["-c", boot])
        .env("WINEPREFIX", prefix)
        .env("WINEDEBUG", "-all"))
}

/// `PATH` with tools/wine-fixed-heap first, so that every `wine` started
/// goes through it: it keeps Debian's Wine from losing one start in 5,000 to
/// where Linux puts its heap (the script says how).
pub fn path_with_wine_fixed_heap() -> Result<OsString> {
    Ok(env::join_paths(
        std::iter::once(root().join("tools/wine-fixed-heap"))
            .chain(env::split_paths(&env::var_os("PATH").unwrap_or_default())),
    )?)
}
