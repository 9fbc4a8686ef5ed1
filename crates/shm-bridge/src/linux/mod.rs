//! The Linux companion.

use std::process::ExitCode;

/// Runs the companion.
pub fn main() -> ExitCode {
    eprintln!("shm-bridge: the Linux side is not written yet");
    ExitCode::FAILURE
}
