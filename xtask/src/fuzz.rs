//! `cargo xtask fuzz [SECONDS]`: every fuzz target of `fuzz/` in turn.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::process::{cargo, root, run as run_cmd};

/// How long each fuzz target runs in `cargo xtask test` (CI); by hand,
/// `cargo xtask fuzz 3600` runs each for an hour.
pub const SECONDS_CI: u64 = 60;

/// Runs every fuzz target for `seconds` (cargo fuzz needs the nightly
/// toolchain; both are installed if missing). A crash fails the run and
/// leaves its input in fuzz/artifacts/TARGET/.
pub fn run(seconds: u64) -> Result<()> {
    let toolchains = Command::new("rustup")
        .args(["toolchain", "list"])
        .output()?;
    if !String::from_utf8_lossy(&toolchains.stdout).contains("nightly") {
        run_cmd(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
        ]))?;
    }
    let has_cargo_fuzz = cargo()
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_cargo_fuzz {
        run_cmd(cargo().args(["install", "cargo-fuzz", "--locked"]))?;
    }
    let list = Command::new("cargo")
        .args(["+nightly", "fuzz", "list"])
        .current_dir(root())
        .output()
        .context("cargo fuzz list")?;
    let targets: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    if targets.is_empty() {
        bail!(
            "cargo fuzz list found no targets: {}",
            String::from_utf8_lossy(&list.stderr)
        );
    }
    for target in &targets {
        run_cmd(
            Command::new("cargo")
                .args(["+nightly", "fuzz", "run", target, "--"])
                .arg(format!("-max_total_time={seconds}"))
                .arg("-rss_limit_mb=4096")
                .current_dir(root()),
        )?;
    }
    eprintln!(
        "xtask: {} fuzz targets ran {seconds} s each without a crash",
        targets.len()
    );
    Ok(())
}
