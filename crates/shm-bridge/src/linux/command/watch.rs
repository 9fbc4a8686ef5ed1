//! `shm-bridge watch`.

use std::process::ExitCode;

use anyhow::Result;

use crate::linux::cli::WatchArgs;

/// Runs `shm-bridge watch`.
pub fn run(_args: WatchArgs) -> Result<ExitCode> {
    anyhow::bail!("shm-bridge watch is not written yet")
}
