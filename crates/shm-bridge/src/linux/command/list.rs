//! `shm-bridge list`.

use std::process::ExitCode;

use anyhow::Result;

use crate::linux::cli::ListArgs;

/// Runs `shm-bridge list`.
pub fn run(_args: ListArgs) -> Result<ExitCode> {
    anyhow::bail!("shm-bridge list is not written yet")
}
