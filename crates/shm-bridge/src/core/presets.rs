//! The table of sim titles and their named mappings (`presets.toml`),
//! shared by both sides, plus a user's own table on Linux.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::core::spec::{self, EventSpec, MapSpec, SpecError};

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
    /// The game's process names, its own first, then launchers that start
    /// it: how `launch` knows the game without an app id, and what `attach`
    /// names its stand-in process.
    #[serde(default)]
    pub exe_names: Vec<String>,
    /// Named events the game signals on each update.
    #[serde(default)]
    pub events: Vec<PresetEvent>,
    /// The mappings.
    pub maps: Vec<PresetMap>,
}

/// A named event a title signals on each update.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PresetEvent {
    /// The event's name.
    pub name: String,
    /// How the game creates it: `manual` (and pulses it) or `auto` reset.
    pub reset: EventReset,
    /// Where that comes from.
    pub source: String,
}

/// How a game's event resets, as its SDK creates it.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EventReset {
    /// A manual-reset event (iRacing's, pulsed each frame).
    Manual,
    /// An auto-reset event: each signal wakes one waiter.
    Auto,
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
    /// A second path in the tmpfs (`DIR/FILE`) where Linux readers look for
    /// this page: a link to the file is made there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
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
    /// Every title, alias and Steam app id, normalized, and its entry's
    /// place in `games`: `--game` is looked up, not searched for.
    index: HashMap<String, usize>,
}

/// A user's entry that took the place of a built-in one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replaced {
    /// The user's entry's title.
    pub user: String,
    /// The built-in entry's title.
    pub builtin: String,
    /// A name both answer to.
    pub key: String,
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
        problem: Box<SpecError>,
    },
    /// Two entries of one file answer to the same name.
    #[error(
        "{origin}: games {first:?} and {second:?} both answer to --game {key:?}; give each \
         title, alias and Steam app id to one game only"
    )]
    Duplicate {
        /// The file.
        origin: String,
        /// The first entry's title.
        first: String,
        /// The second entry's title.
        second: String,
        /// The name both answer to.
        key: String,
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

    /// Parses and validates a presets table (`[[game]]` entries); two
    /// entries answering to one name are an error naming both.
    pub fn parse(text: &str, origin: &str) -> Result<Presets, PresetError> {
        let file: PresetFile = toml::from_str(text).map_err(|e| PresetError::Syntax {
            origin: origin.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        let mut index = HashMap::new();
        for (at, game) in file.game.iter().enumerate() {
            game.event_specs().map_err(|problem| PresetError::Entry {
                origin: origin.to_owned(),
                title: game.title.clone(),
                problem: Box::new(problem),
            })?;
            for key in keys(game) {
                if let Some(first) = index.insert(key.clone(), at) {
                    return Err(PresetError::Duplicate {
                        origin: origin.to_owned(),
                        first: file.game[first].title.clone(),
                        second: game.title.clone(),
                        key,
                    });
                }
            }
        }
        Ok(Presets {
            games: file.game,
            index,
        })
    }

    /// Adds `other`'s entries (a user's). An entry here that answers to a
    /// name one of them answers to (title, alias or app id) is replaced by
    /// it; each replacement is returned, for the user to be told.
    pub fn extend(&mut self, other: Presets) -> Vec<Replaced> {
        let mut replaced = Vec::new();
        let mut gone = vec![false; self.games.len()];
        for game in &other.games {
            for key in keys(game) {
                if let Some(&at) = self.index.get(&key)
                    && !gone[at]
                {
                    gone[at] = true;
                    replaced.push(Replaced {
                        user: game.title.clone(),
                        builtin: self.games[at].title.clone(),
                        key,
                    });
                }
            }
        }
        let mut kept = gone.iter().map(|g| !g);
        self.games.retain(|_| kept.next().unwrap_or(false));
        self.games.extend(other.games);
        self.index = self
            .games
            .iter()
            .enumerate()
            .flat_map(|(at, game)| keys(game).map(move |key| (key, at)))
            .collect();
        replaced
    }

    /// All entries.
    pub fn games(&self) -> &[Preset] {
        &self.games
    }

    /// The entry whose title, alias or Steam app id is `query` (case and
    /// punctuation do not matter: "assetto corsa competizione", "ACC", "805550").
    pub fn find(&self, query: &str) -> Result<&Preset, PresetError> {
        self.index
            .get(&normalize(query))
            .map(|&at| &self.games[at])
            .ok_or_else(|| PresetError::Unknown(query.to_owned()))
    }

    /// The title whose Steam app id is `id`.
    pub fn by_app_id(&self, id: u32) -> Option<&Preset> {
        self.games.iter().find(|g| g.steam_app_ids.contains(&id))
    }

    /// The title one of whose programs is `exe` (a path, Unix or Windows, or
    /// a file name; case does not matter, as on Windows).
    pub fn by_exe(&self, exe: &str) -> Option<&Preset> {
        let file = exe.rsplit(['/', '\\']).next().unwrap_or(exe);
        self.games
            .iter()
            .find(|g| g.exe_names.iter().any(|n| n.eq_ignore_ascii_case(file)))
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
            for event in &game.events {
                let reset = match event.reset {
                    EventReset::Manual => "manual",
                    EventReset::Auto => "auto",
                };
                let _ = writeln!(
                    out,
                    "    {:<32} {:>8}         ({reset}-reset event; {})",
                    event.name, "event", event.source
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
                    link: m.link.as_deref().map(spec::parse_link).transpose()?,
                })
            })
            .collect::<Result<Vec<_>, SpecError>>()?;
        spec::check_unique(&specs)?;
        Ok(specs)
    }

    /// The events as validated specs, checked against the mappings.
    pub fn event_specs(&self) -> Result<Vec<EventSpec>, SpecError> {
        let names: Vec<(String, bool)> = self
            .events
            .iter()
            .map(|e| (e.name.clone(), e.reset == EventReset::Manual))
            .collect();
        spec::events(&names, &self.specs()?)
    }
}

/// The names `game` answers to, normalized, each once (an alias may
/// repeat the title); a name of no letters or digits answers to nothing.
fn keys(game: &Preset) -> impl Iterator<Item = String> + '_ {
    let mut seen = Vec::new();
    std::iter::once(normalize(&game.title))
        .chain(game.aliases.iter().map(|a| normalize(a)))
        .chain(game.steam_app_ids.iter().map(u32::to_string))
        .filter(move |key| {
            let new = !key.is_empty() && !seen.contains(key);
            if new {
                seen.push(key.clone());
            }
            new
        })
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
    fn titles_are_known_by_their_steam_app_id_and_their_programs() {
        let presets = Presets::builtin();
        let title = |p: Option<&Preset>| p.map(|p| p.title.clone());
        let acc = Some("Assetto Corsa Competizione".to_owned());
        assert_eq!(title(presets.by_app_id(805550)), acc);
        assert_eq!(title(presets.by_app_id(1)), None);
        let exe = "/games/acc/AC2/Binaries/Win64/AC2-Win64-Shipping.exe";
        assert_eq!(title(presets.by_exe(exe)), acc);
        assert_eq!(
            title(presets.by_exe(r"C:\Program Files\iRacing\IRACINGSIM64DX11.EXE")),
            Some("iRacing".to_owned())
        );
        assert_eq!(title(presets.by_exe("notepad.exe")), None);
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
        let replaced = presets.extend(user);
        assert_eq!(
            presets.find("assetto corsa competizione").unwrap().maps[0].size,
            4096
        );
        assert_eq!(replaced.len(), 1);
        assert_eq!(replaced[0].builtin, "Assetto Corsa Competizione");
        assert!(
            presets.find("acc").is_err(),
            "the built-in entry is gone, aliases and all"
        );
    }

    #[test]
    fn a_users_alias_wins_over_a_builtin_title_or_alias_and_is_told() {
        let mut presets = Presets::builtin();
        let before = presets.games().len();
        let user = Presets::parse(
            "[[game]]\ntitle = \"My ACC\"\naliases = [\"acc\", \"ets2\"]\nmaps = [{ name = \"mine\", size = 64, source = \"me\" }]\n",
            "user.toml",
        )
        .unwrap();
        let replaced = presets.extend(user);
        let builtins: Vec<&str> = replaced.iter().map(|r| r.builtin.as_str()).collect();
        assert_eq!(replaced.len(), 2, "{replaced:?}");
        assert!(
            builtins.contains(&"Assetto Corsa Competizione"),
            "{builtins:?}"
        );
        assert!(replaced.iter().all(|r| r.user == "My ACC"));
        assert_eq!(presets.find("acc").unwrap().title, "My ACC");
        assert_eq!(presets.find("ets2").unwrap().title, "My ACC");
        assert_eq!(presets.games().len(), before - 1);
    }

    #[test]
    fn two_entries_answering_to_one_name_are_an_error_naming_both() {
        let entry = |title: &str, aliases: &str| {
            format!(
                "[[game]]\ntitle = \"{title}\"\naliases = [{aliases}]\nmaps = [{{ name = \"m\", size = 1, source = \"s\" }}]\n"
            )
        };
        for (text, key) in [
            (entry("Race", "") + &entry("race", ""), "race"),
            (entry("One", "\"x\"") + &entry("Two", "\"X!\""), "x"),
            (entry("One", "") + &entry("Two", "\"one\""), "one"),
        ] {
            let err = Presets::parse(&text, "u.toml").unwrap_err().to_string();
            assert!(err.starts_with("u.toml: games"), "{err}");
            assert!(err.contains(&format!("--game {key:?}")), "{err}");
        }
        let err = Presets::parse(&(entry("One", "") + &entry("Two", "\"one\"")), "u.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"One\" and \"Two\""), "{err}");
        // An alias repeating its own title is no duplicate.
        assert!(Presets::parse(&entry("Race", "\"race\""), "u.toml").is_ok());
    }
}
