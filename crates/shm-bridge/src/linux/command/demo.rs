//! `shm-bridge demo`.

use std::process::ExitCode;

use anyhow::Result;

use crate::linux::cli::DemoArgs;

/// Runs `shm-bridge demo`.
pub fn run(_args: DemoArgs) -> Result<ExitCode> {
    anyhow::bail!("shm-bridge demo is not written yet")
}
