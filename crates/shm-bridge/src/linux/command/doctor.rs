//! `shm-bridge doctor`.

use std::process::ExitCode;

use anyhow::Result;

use crate::linux::cli::CommonArgs;

/// Runs `shm-bridge doctor`.
pub fn run(_args: CommonArgs) -> Result<ExitCode> {
    anyhow::bail!("shm-bridge doctor is not written yet")
}
