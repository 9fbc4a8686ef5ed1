//! The options that say which mappings to bridge, shared by both command
//! lines: `--game TITLE`, `--map NAME...` and `--size BYTES...`.

use clap::{ArgAction, Args};

use crate::core::presets::{EventReset, Preset, PresetError, Presets};
use crate::core::spec::{self, EventSpec, MapSpec, SpecError};

/// Which mappings: a title, or names (and sizes) given one by one.
#[derive(Debug, Args, Clone, Default)]
pub struct MapArgs {
    /// Take the mappings of a known title (see the list of games).
    #[arg(short = 'g', long, value_name = "TITLE")]
    pub game: Option<String>,

    /// Mapping name(s); several may follow one flag. A leading `Local\` or
    /// `Global\` selects the Windows namespace and is not part of the file name.
    #[arg(short = 'm', long = "map", value_name = "NAME", num_args = 1.., action = ArgAction::Append)]
    pub maps: Vec<String>,

    /// Size(s) in bytes, one per --map, in the same order. Optional for
    /// files that already exist in the tmpfs (made by a Linux program).
    #[arg(short = 's', long = "size", value_name = "BYTES", num_args = 1..,
          action = ArgAction::Append, allow_negative_numbers = true)]
    pub sizes: Vec<String>,

    /// A named event the game sets on each update (repeatable), forwarded as
    /// a counter in the file of its name that Linux programs wait on. The
    /// bridge resets it after each signal, as an auto-reset event would be;
    /// a title's auto-reset events are forwarded only when named here (see
    /// the README: Windows readers may then wake twice for one signal).
    #[arg(long = "event", value_name = "NAME", action = ArgAction::Append)]
    pub events: Vec<String>,

    /// A named manual-reset event the game pulses on each update (repeatable),
    /// forwarded as --event is, left to the game to reset; a title's pulsed
    /// events (iRacing's) come with --game.
    #[arg(long = "pulsed-event", value_name = "NAME", action = ArgAction::Append)]
    pub pulsed_events: Vec<String>,
}

/// Why the mappings asked for cannot be bridged.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// A `--map` or `--size` value, or their combination, is wrong.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The `--game` value names no known title.
    #[error(transparent)]
    Preset(Box<PresetError>),
}

impl From<PresetError> for ResolveError {
    fn from(e: PresetError) -> Self {
        ResolveError::Preset(Box::new(e))
    }
}

impl MapArgs {
    /// Whether any of the options was given.
    pub fn given(&self) -> bool {
        self.game.is_some() || !self.maps.is_empty() || !self.sizes.is_empty()
    }

    /// The specs of `--map`/`--size` followed by those of `--game`, checked
    /// (no two for one file, at least one); `None` if no option was given.
    pub fn resolve(&self, presets: &Presets) -> Result<Option<Vec<MapSpec>>, ResolveError> {
        if !self.given() {
            return Ok(None);
        }
        let mut specs = spec::from_flags(&self.maps, &self.sizes)?;
        if let Some(game) = &self.game {
            specs.extend(presets.find(game)?.specs()?);
        }
        spec::check_unique(&specs)?;
        Ok(Some(specs))
    }

    /// The title of `--game`, if given.
    pub fn title<'p>(&self, presets: &'p Presets) -> Result<Option<&'p Preset>, ResolveError> {
        Ok(self.game.as_deref().map(|g| presets.find(g)).transpose()?)
    }

    /// The events of `--event` and `--pulsed-event`, then the pulsed events
    /// of `title` (its auto-reset events only when named), checked against
    /// `maps`, the mappings of the same run.
    pub fn resolve_events(
        &self,
        title: Option<&Preset>,
        maps: &[MapSpec],
    ) -> Result<Vec<EventSpec>, ResolveError> {
        let preset = title;
        let pulsed_by_title = |name: &str| {
            preset.is_some_and(|p| {
                p.events.iter().any(|e| {
                    e.reset == EventReset::Manual && base(&e.name).eq_ignore_ascii_case(base(name))
                })
            })
        };
        let mut names: Vec<(String, bool)> = self
            .events
            .iter()
            .map(|n| (n.clone(), pulsed_by_title(n)))
            .chain(self.pulsed_events.iter().map(|n| (n.clone(), true)))
            .collect();
        if let Some(preset) = preset {
            for event in preset
                .events
                .iter()
                .filter(|e| e.reset == EventReset::Manual)
            {
                if !names
                    .iter()
                    .any(|(n, _)| base(n).eq_ignore_ascii_case(base(&event.name)))
                {
                    names.push((event.name.clone(), true));
                }
            }
        }
        Ok(spec::events(&names, maps)?)
    }

    /// The tmpfs files of what is named: the mappings, the events given
    /// and every event of the title; `None` if nothing is named.
    pub fn files(&self, presets: &Presets) -> Result<Option<Vec<String>>, ResolveError> {
        let events_given = !self.events.is_empty() || !self.pulsed_events.is_empty();
        let specs = match self.resolve(presets)? {
            Some(specs) => specs,
            None if events_given => Vec::new(),
            None => return Ok(None),
        };
        let mut files: Vec<String> = specs.iter().map(|s| s.file_name().to_owned()).collect();
        files.extend(self.event_files(presets, &specs)?);
        Ok(Some(files))
    }

    /// The files of the events given and of every event of the title (an
    /// auto-reset one is forwarded when a run names it), each once,
    /// checked against `maps`.
    pub fn event_files(
        &self,
        presets: &Presets,
        maps: &[MapSpec],
    ) -> Result<Vec<String>, ResolveError> {
        let title = self.title(presets)?;
        let of_title = title.map(Preset::event_specs).transpose()?;
        let given = self.resolve_events(title, maps)?;
        let mut files: Vec<String> = Vec::new();
        for event in given.iter().chain(of_title.iter().flatten()) {
            if !files.iter().any(|f| f == event.file_name()) {
                files.push(event.file_name().to_owned());
            }
        }
        Ok(files)
    }
}

/// A name without its namespace (`Local\`, `Global\`).
fn base(name: &str) -> &str {
    name.rsplit('\\').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_come_first_then_the_title_and_nothing_is_none() {
        let presets = Presets::builtin();
        assert!(MapArgs::default().resolve(&presets).unwrap().is_none());
        let args = MapArgs {
            game: Some("acc".into()),
            maps: vec!["extra".into()],
            sizes: vec!["64".into()],
            events: Vec::new(),
            pulsed_events: Vec::new(),
        };
        let specs = args.resolve(&presets).unwrap().unwrap();
        assert_eq!(specs[0].file_name(), "extra");
        assert_eq!(specs.len(), 4);
        let twice = MapArgs {
            game: Some("acc".into()),
            maps: vec!["acpmf_static".into()],
            sizes: vec!["64".into()],
            events: Vec::new(),
            pulsed_events: Vec::new(),
        };
        assert!(matches!(
            twice.resolve(&presets),
            Err(ResolveError::Spec(SpecError::Duplicate { .. }))
        ));
        let unknown = MapArgs {
            game: Some("nope".into()),
            ..MapArgs::default()
        };
        assert!(matches!(
            unknown.resolve(&presets),
            Err(ResolveError::Preset(e)) if matches!(*e, PresetError::Unknown(_))
        ));
    }

    #[test]
    fn a_titles_pulsed_events_come_with_it_and_auto_reset_ones_when_named() {
        let presets = Presets::builtin();
        let events = |args: MapArgs| {
            let maps = args.resolve(&presets).unwrap().unwrap();
            args.resolve_events(args.title(&presets).unwrap(), &maps)
                .map(|e| {
                    e.iter()
                        .map(|e| (e.file_name().to_owned(), e.pulsed))
                        .collect::<Vec<_>>()
                })
        };
        let game = |g: &str| MapArgs {
            game: Some(g.into()),
            ..MapArgs::default()
        };
        assert_eq!(
            events(game("iracing")).unwrap(),
            [("IRSDKDataValidEvent".into(), true)]
        );
        assert_eq!(events(game("lmu")).unwrap(), []);
        let named = MapArgs {
            events: vec!["LMU_Data_Event".into()],
            ..game("lmu")
        };
        assert_eq!(events(named).unwrap(), [("LMU_Data_Event".into(), false)]);
        let mine = MapArgs {
            pulsed_events: vec!["Frame".into()],
            ..game("acc")
        };
        assert_eq!(events(mine).unwrap(), [("Frame".into(), true)]);
        let clash = MapArgs {
            events: vec!["acpmf_physics".into()],
            ..game("acc")
        };
        assert!(
            events(clash)
                .unwrap_err()
                .to_string()
                .contains("the mapping \"acpmf_physics\" of the same run")
        );
    }

    #[test]
    fn the_files_of_a_title_include_all_its_events_and_events_alone_name_files() {
        let presets = Presets::builtin();
        let lmu = MapArgs {
            game: Some("lmu".into()),
            ..MapArgs::default()
        };
        let files = lmu.files(&presets).unwrap().unwrap();
        assert!(files.contains(&"LMU_Data_Event".to_owned()), "{files:?}");
        assert!(files.contains(&"LMU_Data".to_owned()), "{files:?}");
        let alone = MapArgs {
            events: vec!["Local\\Frame".into()],
            ..MapArgs::default()
        };
        assert_eq!(alone.files(&presets).unwrap().unwrap(), ["Frame"]);
        assert!(MapArgs::default().files(&presets).unwrap().is_none());
    }
}
