//! The table of sim titles and their named mappings (`presets.toml`),
//! shared by both sides, plus a user's own table on Linux.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::core::spec::{self, MapSpec, SpecError};

/// The built-in table, embedded at build time.
const BUILTIN: &str = include_str!("../../presets.toml");

/// One title and the mappings it publishes.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    /// The title as people write it.
    pub title: String,
    /// Short names also accepted by `--game`.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Steam app ids, also accepted by `--game`.
    #[serde(default)]
    pub steam_app_ids: Vec<u32>,
    /// Anything a user should know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The module of `src/titles/` that knows this title's page layouts
    /// (`ac` for the Assetto Corsa family); none: pages are shown as bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// The mappings.
    pub maps: Vec<PresetMap>,
}

/// One mapping of a preset.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PresetMap {
    /// The mapping's name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Where the size comes from.
    pub source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PresetFile {
    #[serde(default)]
    game: Vec<Preset>,
}

/// A table of presets.
#[derive(Clone, Debug)]
pub struct Presets {
    games: Vec<Preset>,
}

/// What is wrong with a presets file or a `--game` value.
#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    /// The file is not valid TOML of the expected shape.
    #[error("{origin}: {message}")]
    Syntax {
        /// The file.
        origin: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// An entry has a bad name or size.
    #[error("{origin}: game {title:?}: {problem}")]
    Entry {
        /// The file.
        origin: String,
        /// The entry's title.
        title: String,
        /// What is wrong.
        problem: SpecError,
    },
    /// No title, alias or app id matches.
    #[error("unknown game {0:?}; {LIST_GAMES} shows the known titles, or give --map and --size")]
    Unknown(String),
}

/// How this side of the program lists the titles it knows.
#[cfg(windows)]
const LIST_GAMES: &str = "`shm-bridge.exe --list-games`";
#[cfg(not(windows))]
const LIST_GAMES: &str = "`shm-bridge games`";

impl Presets {
    /// The table that ships with shm-bridge.
    pub fn builtin() -> Presets {
        Presets::parse(BUILTIN, "built-in presets")
            .expect("the built-in presets are valid (tested)")
    }

    /// Parses and validates a presets table (`[[game]]` entries).
    pub fn parse(text: &str, origin: &str) -> Result<Presets, PresetError> {
        let file: PresetFile = toml::from_str(text).map_err(|e| PresetError::Syntax {
            origin: origin.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        for game in &file.game {
            game.specs().map_err(|problem| PresetError::Entry {
                origin: origin.to_owned(),
                title: game.title.clone(),
                problem,
            })?;
        }
        Ok(Presets { games: file.game })
    }

    /// Adds `other`'s entries; an entry with a title already here replaces it.
    pub fn extend(&mut self, other: Presets) {
        for game in other.games {
            self.games
                .retain(|g| !g.title.eq_ignore_ascii_case(&game.title));
            self.games.push(game);
        }
    }

    /// All entries.
    pub fn games(&self) -> &[Preset] {
        &self.games
    }

    /// The entry whose title, alias or Steam app id is `query` (case and
    /// punctuation do not matter: "assetto corsa competizione", "ACC", "805550").
    pub fn find(&self, query: &str) -> Result<&Preset, PresetError> {
        let wanted = normalize(query);
        self.games
            .iter()
            .find(|g| {
                normalize(&g.title) == wanted
                    || g.aliases.iter().any(|a| normalize(a) == wanted)
                    || g.steam_app_ids.iter().any(|id| id.to_string() == wanted)
            })
            .ok_or_else(|| PresetError::Unknown(query.to_owned()))
    }

    /// The table as text, for `--list-games`.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for game in &self.games {
            let mut names = vec![game.title.clone()];
            names.extend(game.aliases.iter().cloned());
            names.extend(game.steam_app_ids.iter().map(|id| id.to_string()));
            let _ = writeln!(out, "{}", names.join(" | "));
            for map in &game.maps {
                let _ = writeln!(
                    out,
                    "    {:<32} {:>8} bytes   ({})",
                    map.name, map.size, map.source
                );
            }
            if let Some(note) = &game.note {
                let _ = writeln!(out, "    note: {note}");
            }
        }
        out
    }
}

impl Preset {
    /// The mappings as validated specs.
    pub fn specs(&self) -> Result<Vec<MapSpec>, SpecError> {
        let specs = self
            .maps
            .iter()
            .map(|m| {
                Ok(MapSpec {
                    name: spec::parse_name(&m.name)?,
                    size: Some(spec::parse_size(&m.size.to_string())?),
                })
            })
            .collect::<Result<Vec<_>, SpecError>>()?;
        spec::check_unique(&specs)?;
        Ok(specs)
    }
}

fn normalize(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_is_valid_and_findable() {
        let presets = Presets::builtin();
        assert!(presets.games().len() >= 10);
        let acc = presets.find("Assetto Corsa Competizione").unwrap();
        assert_eq!(presets.find("acc").unwrap(), acc);
        assert_eq!(presets.find("805550").unwrap(), acc);
        assert_eq!(acc.maps.len(), 3);
        assert!(
            acc.maps
                .iter()
                .all(|m| m.size == 2048 && !m.source.is_empty())
        );
        let ets2 = presets.find("ets2").unwrap().specs().unwrap();
        assert_eq!(ets2[0].file_name(), "SCSTelemetry");
        assert!(matches!(
            presets.find("Gran Turismo"),
            Err(PresetError::Unknown(_))
        ));
    }

    #[test]
    fn bad_user_tables_name_the_problem() {
        let syntax = Presets::parse("[[game]\ntitle=", "user.toml").unwrap_err();
        assert!(syntax.to_string().starts_with("user.toml:"), "{syntax}");
        let entry = Presets::parse(
            "[[game]]\ntitle = \"X\"\nmaps = [{ name = \"a/b\", size = 10, source = \"me\" }]\n",
            "user.toml",
        )
        .unwrap_err();
        assert!(entry.to_string().contains("\"X\""), "{entry}");
        let zero = Presets::parse(
            "[[game]]\ntitle = \"X\"\nmaps = [{ name = \"a\", size = 0, source = \"me\" }]\n",
            "user.toml",
        )
        .unwrap_err();
        assert!(zero.to_string().contains("at least 1 byte"), "{zero}");
        let unknown_field = Presets::parse("[[game]]\ntitle = \"X\"\nmap = []\n", "u.toml");
        assert!(unknown_field.is_err());
    }

    #[test]
    fn user_entries_replace_builtin_ones_by_title() {
        let mut presets = Presets::builtin();
        let user = Presets::parse(
            "[[game]]\ntitle = \"assetto corsa competizione\"\nmaps = [{ name = \"acpmf_physics\", size = 4096, source = \"me\" }]\n",
            "user.toml",
        )
        .unwrap();
        presets.extend(user);
        assert_eq!(
            presets.find("assetto corsa competizione").unwrap().maps[0].size,
            4096
        );
    }
}
