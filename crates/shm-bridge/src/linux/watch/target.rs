//! What `watch` watches: the title or names asked for, or, with neither,
//! the known title whose mappings are bridged now.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cli::maps::MapArgs;
use crate::core::presets::{Preset, Presets};
use crate::core::spec::{EventSpec, MapSpec};
use crate::linux::places::{self, Place};
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
    /// The files of the title's update events (and those given), whose
    /// counters say when a frame is written.
    pub events: Vec<String>,
}

impl Watched {
    /// The mappings `specs` that `launch` bridges, of the title `preset`
    /// if it is one, with the `events` it forwards.
    pub fn bridged(specs: Vec<MapSpec>, preset: Option<&Preset>, events: &[EventSpec]) -> Watched {
        let files: Vec<&str> = specs.iter().map(|s| s.file_name()).collect();
        Watched {
            family: preset
                .and_then(titles::of_preset)
                .or_else(|| titles::of_files(&files)),
            title: preset.map_or_else(
                || {
                    specs
                        .iter()
                        .map(|s| s.name.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                |p| p.title.clone(),
            ),
            game: preset.map(|p| p.title.clone()),
            events: events.iter().map(|e| e.file_name().to_owned()).collect(),
            specs,
        }
    }
}

/// The mappings of `--game`/`--map`, or the title bridged in one of
/// `places` now (and says so on stderr); with the place to read first:
/// the first that holds one of the mappings' files, else the first.
pub fn resolve(maps: &MapArgs, presets: &Presets, places: &[Place]) -> Result<(Watched, Place)> {
    let Some(specs) = maps.resolve(presets)? else {
        let (found, place) = detect_in(presets, places)?;
        note!(
            "Watching {}: its mappings are in {} (--game TITLE to pick another).",
            found.title,
            place.label()
        );
        return Ok((found, place.clone()));
    };
    let files: Vec<&str> = specs.iter().map(|s| s.file_name()).collect();
    let place = match places::holding(places, &files) {
        Some(place) => {
            if place.flatpak_app.is_some() {
                note!("Watching the mappings in {}.", place.label());
            }
            place.clone()
        }
        None => places.first().cloned().context("no directory to look in")?,
    };
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
    let events = maps.event_files(presets, &specs)?;
    let family = family.or_else(|| titles::of_files(&files));
    // Named one by one, every page is read; a title's come as its family
    // decodes them.
    let specs = match family {
        Some(family) if maps.maps.is_empty() => decoded_only(specs, family),
        _ => specs,
    };
    let watched = Watched {
        family,
        title,
        game: maps.game.clone(),
        events,
        specs,
    };
    Ok((watched, place))
}

/// The pages of a title that its family decodes (all of them if it
/// decodes none): the others are not read, nor written out as hex in every
/// sample (rFactor 2's nine other buffers are megabytes); `--map NAME`
/// shows one's bytes.
fn decoded_only(specs: Vec<MapSpec>, family: &dyn Family) -> Vec<MapSpec> {
    let decoded: Vec<MapSpec> = specs
        .iter()
        .filter(|s| family.page(s.file_name()).is_some())
        .cloned()
        .collect();
    if decoded.is_empty() { specs } else { decoded }
}

/// [`detect`] in the first of `places` where some title's mappings are.
fn detect_in<'p>(presets: &Presets, places: &'p [Place]) -> Result<(Watched, &'p Place)> {
    for place in places {
        if let Some(found) = detect(presets, &place.path)? {
            return Ok((found, place));
        }
    }
    bail!(
        "which telemetry? No known title's mappings are in {} now; give --game TITLE \
         (`shm-bridge games` lists them) or --map NAME",
        places
            .iter()
            .map(Place::label)
            .collect::<Vec<_>>()
            .join(", nor in ")
    );
}

/// The known title whose mappings are all in `dir` now, if one is. When
/// one title's mappings include another's (AC's four hold ACC's three),
/// the one with more is meant; two titles with different mappings are for
/// the user to pick between; titles with the very same mappings (ACC, AC
/// EVO and AC Rally) decode alike, so any of them will do and all are named.
fn detect(presets: &Presets, dir: &Path) -> Result<Option<Watched>> {
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
        return Ok(None);
    };
    let titles: Vec<&str> = fits.iter().map(|(g, _, _)| g.title.as_str()).collect();
    if fits.iter().any(|(_, _, set)| set != first_set) {
        bail!(
            "which telemetry? The mappings in {} fit several titles ({}); give --game TITLE",
            dir.display(),
            titles.join(", ")
        );
    }
    let family = titles::of_preset(first_game);
    Ok(Some(Watched {
        specs: family.map_or_else(|| first.clone(), |f| decoded_only(first.clone(), f)),
        title: titles.join(" / "),
        game: (titles.len() == 1).then(|| titles[0].to_owned()),
        family: titles::of_preset(first_game),
        events: first_game
            .event_specs()
            .map(|events| events.iter().map(|e| e.file_name().to_owned()).collect())
            .unwrap_or_default(),
    }))
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
