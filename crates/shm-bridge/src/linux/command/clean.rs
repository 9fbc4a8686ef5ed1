//! `shm-bridge clean`.

use std::process::ExitCode;

use anyhow::Result;

use crate::linux::cli::CleanArgs;

/// Runs `shm-bridge clean`.
pub fn run(_args: CleanArgs) -> Result<ExitCode> {
    anyhow::bail!("shm-bridge clean is not written yet")
}
