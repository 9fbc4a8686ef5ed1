//! `shm-bridge games`.

use std::process::ExitCode;

use anyhow::Result;

use crate::linux::cli::CommonArgs;

/// Runs `shm-bridge games`.
pub fn run(_args: CommonArgs) -> Result<ExitCode> {
    anyhow::bail!("shm-bridge games is not written yet")
}
