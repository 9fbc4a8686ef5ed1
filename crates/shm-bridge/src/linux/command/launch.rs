//! `shm-bridge launch`.

use std::process::ExitCode;

use anyhow::Result;

use crate::linux::cli::LaunchArgs;

/// Runs `shm-bridge launch`.
pub fn run(_args: LaunchArgs) -> Result<ExitCode> {
    anyhow::bail!("shm-bridge launch is not written yet")
}
