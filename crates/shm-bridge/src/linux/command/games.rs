//! `shm-bridge games`: the presets table, built-in and the user's.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::companion::CommonArgs;
use crate::linux::presets_file;

/// Prints every known title with its mappings and where their sizes come from.
pub fn run(args: CommonArgs) -> Result<ExitCode> {
    let presets = presets_file::load(&args)?;
    outln!("{}", presets.describe().trim_end())?;
    if let Some(path) = presets_file::user_presets_path() {
        outln!(
            "\nYour own titles go in {} ([[game]] entries in the same form as the built-in presets.toml).",
            path.display()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
