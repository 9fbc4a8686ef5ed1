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

/// Validates a mapping name.
pub fn parse_name(text: &str) -> Result<ShMemName, SpecError> {
    ShMemName::new(text).map_err(|e| SpecError::BadName {
        name: text.to_owned(),
        reason: match e {
            shmem::ShMemError::InvalidName { reason, .. } => reason.to_owned(),
            other => other.to_string(),
        },
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
        .map(|(name, size)| MapSpec { name, size })
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
        let dup = from_flags(&strings(&["x", "Global\\x"]), &strings(&["1", "2"])).unwrap();
        assert!(matches!(
            check_unique(&dup),
            Err(SpecError::Duplicate { .. })
        ));
        assert_eq!(check_unique(&[]), Err(SpecError::Empty));
    }
}
