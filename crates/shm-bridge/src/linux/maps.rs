//! Which mappings a command is about: the built-in presets plus the
//! user's own file, a `--game`, or `--map`/`--size`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::linux::cli::{CommonArgs, MapsArgs};
use crate::presets::Presets;
use crate::spec::{self, MapSpec};

/// The user's presets file: `$XDG_CONFIG_HOME/shm-bridge/presets.toml`.
pub fn user_presets_path() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config.join("shm-bridge/presets.toml"))
}

/// Built-in presets, extended by the user's file (`--presets`, else the
/// default path if it exists). A file given with `--presets` must exist.
pub fn load_presets(common: &CommonArgs) -> Result<Presets> {
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

/// The specs of `--game` and `--map`/`--size`, checked; `None` if neither was given.
pub fn resolve(maps: &MapsArgs, presets: &Presets) -> Result<Option<Vec<MapSpec>>> {
    if maps.game.is_none() && maps.maps.is_empty() && maps.sizes.is_empty() {
        return Ok(None);
    }
    let mut specs = spec::from_flags(&maps.maps, &maps.sizes)?;
    if let Some(game) = &maps.game {
        let preset = presets.find(game)?;
        specs.extend(preset.specs().map_err(anyhow::Error::msg)?);
    }
    spec::check_unique(&specs)?;
    Ok(Some(specs))
}
