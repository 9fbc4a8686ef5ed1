//! The options that say which mappings to bridge, shared by both command
//! lines: `--game TITLE`, `--map NAME...` and `--size BYTES...`.

use clap::{ArgAction, Args};

use crate::core::presets::{PresetError, Presets};
use crate::core::spec::{self, MapSpec, SpecError};

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
}

/// Why the mappings asked for cannot be bridged.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// A `--map` or `--size` value, or their combination, is wrong.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The `--game` value names no known title.
    #[error(transparent)]
    Preset(#[from] PresetError),
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
        };
        let specs = args.resolve(&presets).unwrap().unwrap();
        assert_eq!(specs[0].file_name(), "extra");
        assert_eq!(specs.len(), 4);
        let twice = MapArgs {
            game: Some("acc".into()),
            maps: vec!["acpmf_static".into()],
            sizes: vec!["64".into()],
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
            Err(ResolveError::Preset(PresetError::Unknown(_)))
        ));
    }
}
