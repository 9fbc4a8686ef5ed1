//! Map specs: which named mappings to bridge, and how large, as the user
//! gave them on the command line (`--map NAME --size BYTES`, or several
//! values after one flag) or a preset named them.

use std::collections::HashMap;
use std::fmt;

use shmem::ShMemName;

/// One mapping to bridge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapSpec {
    /// Its name; the file in the tmpfs is named after its [`ShMemName::base`].
    pub name: ShMemName,
    /// Its size; `None` to take the size of a file that already exists.
    pub size: Option<u64>,
    /// A second path in the tmpfs, `DIR/FILE`, where a link to the file goes.
    pub link: Option<Link>,
}

/// A second place for a page in the tmpfs: the file `file` in the
/// directory `dir` (both plain names), a link to the page's file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// The directory, made by the bridge if it is not there.
    pub dir: String,
    /// The link's name in it.
    pub file: String,
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.dir, self.file)
    }
}

impl MapSpec {
    /// The file name in the tmpfs.
    pub fn file_name(&self) -> &str {
        self.name.base()
    }
}

impl fmt::Display for MapSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.size {
            Some(size) => write!(f, "{} ({size} bytes)", self.name),
            None => write!(f, "{} (size of the existing file)", self.name),
        }
    }
}

/// What is wrong with the maps asked for.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpecError {
    /// A name breaks the naming rules.
    #[error("--map {name:?}: {reason}")]
    BadName {
        /// The name as given.
        name: String,
        /// Why it was refused.
        reason: String,
    },
    /// A size is not a positive whole number of bytes.
    #[error("--size {text:?}: {reason}")]
    BadSize {
        /// The size as given.
        text: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The counts of maps and sizes differ.
    #[error(
        "{maps} map(s) but {sizes} size(s): give one --size per --map, in the same order \
         (or no size at all to use the sizes of files that already exist)"
    )]
    CountMismatch {
        /// How many maps.
        maps: usize,
        /// How many sizes.
        sizes: usize,
    },
    /// Two maps would share a file.
    #[error("{first:?} and {second:?} are the same mapping (file {file:?}); give each name once")]
    Duplicate {
        /// The first spelling.
        first: String,
        /// The second spelling.
        second: String,
        /// The file both would use.
        file: String,
    },
    /// An event name breaks the naming rules.
    #[error("--event {name:?}: {reason}")]
    BadEvent {
        /// The name as given.
        name: String,
        /// Why it was refused.
        reason: String,
    },
    /// An event would share its counter file with a mapping or another event.
    #[error(
        "--event {event:?}: the {other_kind} {other:?} of the same run has the file {file:?} \
         already; an event needs a name no mapping or other event has"
    )]
    EventClash {
        /// The event.
        event: String,
        /// `mapping` or `event`.
        other_kind: &'static str,
        /// The mapping or event it clashes with.
        other: String,
        /// The file both would use.
        file: String,
    },
    /// A link path that is not `DIR/FILE` of two plain names.
    #[error("link {link:?}: give a directory and a file name, such as SCS/SCSTelemetry")]
    BadLink {
        /// The link as given.
        link: String,
    },
    /// Nothing to bridge.
    #[error("no mappings given: use --map NAME --size BYTES, or --game TITLE (see --list-games)")]
    Empty,
}

/// Parses a size in bytes: digits only, more than zero.
pub fn parse_size(text: &str) -> Result<u64, SpecError> {
    let bad = |reason| SpecError::BadSize {
        text: text.to_owned(),
        reason,
    };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("a size is a whole number of bytes, such as 2048"));
    }
    match text.parse::<u64>() {
        Ok(0) => Err(bad("a mapping needs at least 1 byte")),
        Ok(size) if size > i64::MAX as u64 => Err(bad("that is more than any machine can map")),
        Ok(size) => Ok(size),
        Err(_) => Err(bad("that is more than any machine can map")),
    }
}

/// Validates a mapping name: the library's rules for a name, and two of
/// the bridge's own, since the name becomes a file the exe opens under Wine
/// and an argument of the exe's command line.
pub fn parse_name(text: &str) -> Result<ShMemName, SpecError> {
    let bad = |reason: String| SpecError::BadName {
        name: text.to_owned(),
        reason,
    };
    let name = ShMemName::new(text).map_err(|e| {
        bad(match e {
            shmem::ShMemError::InvalidName { reason, .. } => reason.to_owned(),
            other => other.to_string(),
        })
    })?;
    let file = name.base();
    if file.starts_with('-') {
        return Err(bad(
            "a name may not start with `-`, which a command line reads as an option".into(),
        ));
    }
    if let Some(device) = dos_device(file) {
        return Err(bad(format!(
            "{device} is a Windows device name (as are CON, PRN, AUX, NUL, COM0-COM9 and \
             LPT0-LPT9, with any extension): Wine would open the device, not a file. Use \
             another name"
        )));
    }
    Ok(name)
}

/// The Windows device `file` names, if it names one: Windows (and Wine)
/// open `COM1`, `com1.txt` and `NUL .log` as the device, whatever the case
/// and extension, trailing spaces and dots ignored
/// (Microsoft's "Naming Files, Paths, and Namespaces").
fn dos_device(file: &str) -> Option<String> {
    let stem = file.split('.').next().unwrap_or(file).trim_end_matches(' ');
    let upper = stem.to_ascii_uppercase();
    let device = match upper.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" => true,
        _ => ["COM", "LPT"].iter().any(|prefix| {
            upper.strip_prefix(prefix).is_some_and(|digit| {
                matches!(
                    digit,
                    "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9"
                ) || matches!(digit, "\u{b9}" | "\u{b2}" | "\u{b3}")
            })
        }),
    };
    device.then(|| stem.to_owned())
}

/// A named event the game signals, forwarded by the bridge to a counter
/// file in the tmpfs named after it (its [`ShMemName::base`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventSpec {
    /// The event's name.
    pub name: ShMemName,
    /// Whether the game pulses it (a manual-reset event that `PulseEvent`
    /// leaves reset, as iRacing's); else the bridge resets it after each
    /// signal, as an auto-reset event would be.
    pub pulsed: bool,
}

impl EventSpec {
    /// The counter file's name in the tmpfs.
    pub fn file_name(&self) -> &str {
        self.name.base()
    }
}

/// Parses event names (each with whether the game pulses it) and checks
/// them against the mappings of the same run: an event's file may be no
/// mapping's, nor another event's.
pub fn events(names: &[(String, bool)], maps: &[MapSpec]) -> Result<Vec<EventSpec>, SpecError> {
    let events = names
        .iter()
        .map(|(n, pulsed)| {
            parse_name(n)
                .map(|name| EventSpec {
                    name,
                    pulsed: *pulsed,
                })
                .map_err(|e| match e {
                    SpecError::BadName { name, reason } => SpecError::BadEvent { name, reason },
                    other => other,
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut seen: HashMap<&str, (&'static str, &str)> = maps
        .iter()
        .map(|m| (m.file_name(), ("mapping", m.name.as_str())))
        .collect();
    for event in &events {
        if let Some((other_kind, first)) =
            seen.insert(event.file_name(), ("event", event.name.as_str()))
        {
            return Err(SpecError::EventClash {
                event: event.name.to_string(),
                other_kind,
                other: first.to_owned(),
                file: event.file_name().to_owned(),
            });
        }
    }
    Ok(events)
}

/// Parses a link path: `DIR/FILE`, two plain names.
pub fn parse_link(text: &str) -> Result<Link, SpecError> {
    let bad = || SpecError::BadLink {
        link: text.to_owned(),
    };
    let (dir, file) = text.split_once('/').ok_or_else(bad)?;
    for part in [dir, file] {
        let name = ShMemName::new(part).map_err(|_| bad())?;
        if name.as_str() != part {
            return Err(bad());
        }
    }
    Ok(Link {
        dir: dir.to_owned(),
        file: file.to_owned(),
    })
}

/// Pairs `--map` values with `--size` values in order.
pub fn from_flags(maps: &[String], sizes: &[String]) -> Result<Vec<MapSpec>, SpecError> {
    if !sizes.is_empty() && sizes.len() != maps.len() {
        return Err(SpecError::CountMismatch {
            maps: maps.len(),
            sizes: sizes.len(),
        });
    }
    let names = maps
        .iter()
        .map(|m| parse_name(m))
        .collect::<Result<Vec<_>, _>>()?;
    let sizes = sizes
        .iter()
        .map(|s| parse_size(s).map(Some))
        .collect::<Result<Vec<_>, _>>()?;
    let sizes = if sizes.is_empty() {
        vec![None; names.len()]
    } else {
        sizes
    };
    Ok(names
        .into_iter()
        .zip(sizes)
        .map(|(name, size)| MapSpec {
            name,
            size,
            link: None,
        })
        .collect())
}

/// Refuses an empty list and two specs that would share a file
/// (`Local\X` and `X` are one mapping; `Global\X` would be another
/// mapping but the same file).
pub fn check_unique(specs: &[MapSpec]) -> Result<(), SpecError> {
    if specs.is_empty() {
        return Err(SpecError::Empty);
    }
    let mut seen: HashMap<&str, &ShMemName> = HashMap::new();
    for spec in specs {
        if let Some(first) = seen.insert(spec.file_name(), &spec.name) {
            return Err(SpecError::Duplicate {
                first: first.to_string(),
                second: spec.name.to_string(),
                file: spec.file_name().to_owned(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn maps_and_sizes_pair_in_order() {
        let specs = from_flags(&strings(&["a", "Local\\b"]), &strings(&["10", "20"])).unwrap();
        assert_eq!(specs[0].size, Some(10));
        assert_eq!(specs[1].file_name(), "b");
        assert_eq!(specs[1].size, Some(20));
        let no_sizes = from_flags(&strings(&["a"]), &[]).unwrap();
        assert_eq!(no_sizes[0].size, None);
    }

    #[test]
    fn events_are_checked_against_the_runs_mappings() {
        let maps = from_flags(&strings(&["Local\\LMU_Data"]), &strings(&["8"])).unwrap();
        let named = |names: &[&str]| {
            names
                .iter()
                .map(|n| (n.to_string(), false))
                .collect::<Vec<_>>()
        };
        let ok = events(&named(&["LMU_Data_Event"]), &maps).unwrap();
        assert_eq!(ok[0].file_name(), "LMU_Data_Event");
        for (names, expected) in [
            (
                vec!["LMU_Data"],
                "the mapping \"Local\\\\LMU_Data\" of the same run",
            ),
            (vec!["e", "Local\\e"], "the event \"e\" of the same run"),
            (vec![""], "--event \"\""),
            (vec!["a/b"], "--event \"a/b\""),
            (vec![".."], "--event \"..\""),
        ] {
            let err = events(&named(&names), &maps).unwrap_err().to_string();
            assert!(err.contains(expected), "{names:?}: {err}");
        }
        let long = "x".repeat(300);
        assert!(events(&[(long, true)], &maps).is_err());
    }

    #[test]
    fn bad_input_is_refused_with_its_reason() {
        assert_eq!(
            from_flags(&strings(&["a", "b"]), &strings(&["1"])),
            Err(SpecError::CountMismatch { maps: 2, sizes: 1 })
        );
        for size in ["0", "-1", "1k", "", " 5", "99999999999999999999999"] {
            assert!(parse_size(size).is_err(), "{size:?}");
        }
        for name in [
            "", "a/b", "..", "x..y", "a\0b", "a\\b", "Local\\", "Foo\\bar",
        ] {
            assert!(parse_name(name).is_err(), "{name:?}");
        }
        for name in [
            "COM1",
            "com1.txt",
            "Local\\aux",
            "NUL .log",
            "lpt9.x.y",
            "con",
            "Global\\PRN.",
            "COM\u{b9}",
            "conout$",
        ] {
            let err = parse_name(name).unwrap_err().to_string();
            assert!(err.contains("Windows device name"), "{name}: {err}");
        }
        for name in [
            "COM10",
            "comet",
            "console",
            "nul_page",
            "LPT",
            "acpmf_physics",
        ] {
            assert!(parse_name(name).is_ok(), "{name}");
        }
        for name in ["-foo", "Local\\-x", "--map"] {
            let err = parse_name(name).unwrap_err().to_string();
            assert!(err.contains("may not start with `-`"), "{name}: {err}");
        }
        let dup = from_flags(&strings(&["x", "Global\\x"]), &strings(&["1", "2"])).unwrap();
        assert!(matches!(
            check_unique(&dup),
            Err(SpecError::Duplicate { .. })
        ));
        assert_eq!(check_unique(&[]), Err(SpecError::Empty));
    }
}
