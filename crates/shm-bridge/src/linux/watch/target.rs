//! What `watch` watches: the title or names asked for, or, with neither,
//! the known title whose mappings are bridged now.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::cli::maps::MapArgs;
use crate::core::presets::{Preset, Presets};
use crate::core::spec::MapSpec;
use crate::titles::{self, Family};

/// The mappings to watch and what to call them.
#[derive(Debug)]
pub struct Watched {
    /// The mappings.
    pub specs: Vec<MapSpec>,
    /// The title, the titles that share these mappings ("A / B"), or the
    /// names given.
    pub title: String,
    /// The title for `launch --game`, when one fits.
    pub game: Option<String>,
    /// Who decodes the pages, if anyone does.
    pub family: Option<&'static dyn Family>,
}

/// The mappings of `--game`/`--map`, or the title bridged in `dir` now
/// (and says so on stderr).
pub fn resolve(maps: &MapArgs, presets: &Presets, dir: &Path) -> Result<Watched> {
    let Some(specs) = maps.resolve(presets)? else {
        let found = detect(presets, dir)?;
        note!(
            "Watching {}: its mappings are in {} (--game TITLE to pick another).",
            found.title,
            dir.display()
        );
        return Ok(found);
    };
    let files: Vec<&str> = specs.iter().map(|s| s.file_name()).collect();
    let (title, family) = match &maps.game {
        Some(game) => {
            let preset = presets.find(game)?;
            (preset.title.clone(), titles::of_preset(preset))
        }
        None => (
            specs
                .iter()
                .map(|s| s.name.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            None,
        ),
    };
    Ok(Watched {
        family: family.or_else(|| titles::of_files(&files)),
        title,
        game: maps.game.clone(),
        specs,
    })
}

/// The known title whose mappings are all in `dir` now. When one title's
/// mappings include another's (AC's four hold ACC's three), the one with
/// more is meant; two titles with different mappings are for the user to
/// pick between; titles with the very same mappings (ACC, AC EVO and AC
/// Rally) decode alike, so any of them will do and all are named.
fn detect(presets: &Presets, dir: &Path) -> Result<Watched> {
    let present = |spec: &MapSpec| {
        std::fs::symlink_metadata(dir.join(spec.file_name())).is_ok_and(|m| m.is_file())
    };
    let fits: Vec<(&Preset, Vec<MapSpec>, BTreeSet<String>)> = presets
        .games()
        .iter()
        .filter_map(|game| game.specs().ok().map(|specs| (game, specs)))
        .filter(|(_, specs)| !specs.is_empty() && specs.iter().all(present))
        .map(|(game, specs)| {
            let set = specs.iter().map(|s| s.file_name().to_owned()).collect();
            (game, specs, set)
        })
        .collect();
    // A title whose mappings are a part of another's present ones is not meant.
    let fits: Vec<_> = fits
        .iter()
        .filter(|(_, _, set)| {
            !fits
                .iter()
                .any(|(_, _, other)| set.is_subset(other) && set != other)
        })
        .collect();
    let Some((first_game, first, first_set)) = fits.first() else {
        bail!(
            "which telemetry? No known title's mappings are in {} now; give --game TITLE \
             (`shm-bridge games` lists them) or --map NAME",
            dir.display()
        );
    };
    let titles: Vec<&str> = fits.iter().map(|(g, _, _)| g.title.as_str()).collect();
    if fits.iter().any(|(_, _, set)| set != first_set) {
        bail!(
            "which telemetry? The mappings in {} fit several titles ({}); give --game TITLE",
            dir.display(),
            titles.join(", ")
        );
    }
    Ok(Watched {
        specs: first.clone(),
        title: titles.join(" / "),
        game: (titles.len() == 1).then(|| titles[0].to_owned()),
        family: titles::of_preset(first_game),
    })
}

/// What is being watched, and for how long.
#[derive(Debug, Clone)]
pub struct Target {
    /// The title, or the names given with `--map`.
    pub title: String,
    /// What to pass to `launch --game` for it, if it is a title.
    pub game: Option<String>,
    /// When to stop.
    pub deadline: Option<Instant>,
    /// How long that is, for messages.
    pub seconds: Option<Duration>,
}

impl Target {
    /// A target watched for `seconds` from now (for ever without).
    pub fn new(title: String, game: Option<String>, seconds: Option<Duration>) -> Target {
        Target {
            title,
            game,
            // The parser bounds `seconds` to a year: no clock overflows.
            deadline: seconds.and_then(|s| Instant::now().checked_add(s)),
            seconds,
        }
    }
}
