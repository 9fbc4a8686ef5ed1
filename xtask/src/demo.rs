//! `cargo xtask demo [ARGS]`: the README's first command.

use anyhow::Result;

use crate::process::{cargo, run as run_cmd};
use crate::{setup, windows};

pub fn run(args: &[String]) -> Result<()> {
    setup::run(setup::Scope::WindowsSide)?;
    let windows_dir = windows::build(windows::Profile::Debug)?;
    let mut demo = cargo();
    // The README's first command should not fail by Wine's 1 in 5,000.
    demo.env("PATH", windows::path_with_wine_fixed_heap()?);
    demo.args([
        "run",
        "--quiet",
        "-p",
        "shm-bridge",
        "--",
        "demo",
        "--exe-dir",
    ])
    .arg(&windows_dir)
    .args(args);
    run_cmd(&mut demo)
}
