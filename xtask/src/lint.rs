//! `cargo xtask lint`: formatting, and clippy for every target we build or
//! promise to compile for.

use anyhow::Result;

use crate::process::{cargo, run as run_cmd};
use crate::setup::CHECK_ONLY;
use crate::windows::WINDOWS;

pub fn run() -> Result<()> {
    run_cmd(cargo().args(["fmt", "--all", "--", "--check"]))?;
    run_cmd(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run_cmd(cargo().args([
        "clippy",
        "--workspace",
        "--exclude",
        "xtask",
        "--all-targets",
        "--target",
        WINDOWS,
        "--",
        "-D",
        "warnings",
    ]))?;
    for target in CHECK_ONLY {
        run_cmd(cargo().args([
            "clippy",
            "-p",
            "shmem",
            "--all-targets",
            "--target",
            target,
            "--",
            "-D",
            "warnings",
        ]))?;
    }
    Ok(())
}
