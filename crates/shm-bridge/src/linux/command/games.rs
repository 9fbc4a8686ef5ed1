//! `shm-bridge games`: the presets table, built-in and the user's.

use std::process::ExitCode;

use anyhow::Result;

use crate::linux::cli::CommonArgs;
use crate::linux::maps;

/// Prints every known title with its mappings and where their sizes come from.
pub fn run(args: CommonArgs) -> Result<ExitCode> {
    let presets = maps::load_presets(&args)?;
    print!("{}", presets.describe());
    if let Some(path) = maps::user_presets_path() {
        println!(
            "\nYour own titles go in {} ([[game]] entries in the same form as the built-in presets.toml).",
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
