//! The presets table a command works with: the built-in one, extended by
//! the user's own file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cli::companion::CommonArgs;
use crate::core::presets::Presets;
use crate::linux::xdg;

/// The user's presets file: `$XDG_CONFIG_HOME/shm-bridge/presets.toml`.
pub fn user_presets_path() -> Option<PathBuf> {
    xdg::config().map(|d| d.join("presets.toml"))
}

/// Built-in presets, extended by the user's file (`--presets`, else the
/// default path if it exists). A file given with `--presets` must exist.
pub fn load(common: &CommonArgs) -> Result<Presets> {
    let mut presets = Presets::builtin();
    let (path, required) = match &common.presets {
        Some(p) => (Some(p.clone()), true),
        None => (user_presets_path(), false),
    };
    if let Some(path) = path
        && let Some(user) = read_user_presets(&path, required)?
    {
        presets.extend(user);
    }
    Ok(presets)
}

fn read_user_presets(path: &Path, required: bool) -> Result<Option<Presets>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(None),
        Err(e) => {
            return Err(e).with_context(|| format!("reading presets file {}", path.display()));
        }
    };
    Presets::parse(&text, &path.display().to_string())
        .map(Some)
        .context("fix the presets file (see `shm-bridge games` for the built-in entries' format)")
}
