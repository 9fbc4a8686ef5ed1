//! How large each bridged file will be and whether the tmpfs has room, decided
//! the same way by `launch` (before the game starts) and by the exe (before
//! it creates anything).
//!
//! A file that already exists keeps its bytes: a spec without a size takes
//! the file's, and a size smaller than the file is refused rather than
//! truncating someone's data. Sizes are added with overflow checks: a sum
//! that wrapped would pass the free-space check and fill the tmpfs.

use crate::core::spec::MapSpec;
use crate::core::units::human_bytes;

/// Why the mappings cannot be given their sizes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    /// No size given and no file to take one from.
    #[error("{name} has no size and {path} does not exist: give --size for it")]
    NoSize {
        /// The mapping.
        name: String,
        /// Its file.
        path: String,
    },
    /// No size given and the file is empty.
    #[error("{path} exists but is empty: give --size for {name}")]
    EmptyFile {
        /// The mapping.
        name: String,
        /// Its file.
        path: String,
    },
    /// The size given is smaller than the file, which would lose its end.
    #[error(
        "{path} already holds {len} bytes, more than --size {size} for {name}: give a size \
         of at least {len}, or none to use the file's own"
    )]
    Smaller {
        /// The mapping.
        name: String,
        /// Its file.
        path: String,
        /// The file's length.
        len: u64,
        /// The size given.
        size: u64,
    },
    /// The sizes add up to more than a 64-bit count of bytes.
    #[error("the mappings' sizes add up to more than any machine can map; give smaller sizes")]
    Overflow,
    /// The tmpfs has less room than the mappings need.
    #[error(
        "the mappings need {} more on {dir}, but it has only {} free; free some space or \
         pass --tmpfs with a larger tmpfs. Nothing was created",
        human_bytes(*needed),
        human_bytes(*free)
    )]
    NoRoom {
        /// Bytes still to be written.
        needed: u64,
        /// The directory.
        dir: String,
        /// Bytes free there.
        free: u64,
    },
}

/// The size a mapping gets, given the length of the file already at its
/// place (`None`: no file), shown to the user as `path`.
pub fn size_of(spec: &MapSpec, existing: Option<u64>, path: &str) -> Result<u64, PlanError> {
    let name = || spec.name.to_string();
    match (existing, spec.size) {
        (None, Some(size)) => Ok(size),
        (None, None) => Err(PlanError::NoSize {
            name: name(),
            path: path.to_owned(),
        }),
        (Some(0), None) => Err(PlanError::EmptyFile {
            name: name(),
            path: path.to_owned(),
        }),
        (Some(len), None) => Ok(len),
        (Some(len), Some(size)) if size < len => Err(PlanError::Smaller {
            name: name(),
            path: path.to_owned(),
            len,
            size,
        }),
        (Some(_), Some(size)) => Ok(size),
    }
}

/// The bytes still to be written for files that will be `size` long and
/// are `existing` long now, summed with overflow checks.
pub fn bytes_needed(sizes: impl IntoIterator<Item = (u64, Option<u64>)>) -> Result<u64, PlanError> {
    sizes.into_iter().try_fold(0u64, |total, (size, existing)| {
        total
            .checked_add(size.saturating_sub(existing.unwrap_or(0)))
            .ok_or(PlanError::Overflow)
    })
}

/// Refuses when `needed` bytes do not fit in the `free` bytes of `dir`.
pub fn check_room(needed: u64, free: u64, dir: &str) -> Result<(), PlanError> {
    if needed > free {
        return Err(PlanError::NoRoom {
            needed,
            dir: dir.to_owned(),
            free,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::spec;

    fn spec(size: Option<u64>) -> MapSpec {
        MapSpec {
            name: spec::parse_name("Local\\x").unwrap(),
            size,
        }
    }

    #[test]
    fn an_existing_file_keeps_its_bytes() {
        assert_eq!(size_of(&spec(Some(10)), None, "/s/x"), Ok(10));
        assert_eq!(size_of(&spec(None), Some(7), "/s/x"), Ok(7));
        assert_eq!(size_of(&spec(Some(9)), Some(7), "/s/x"), Ok(9));
        let smaller = size_of(&spec(Some(5)), Some(7), "/s/x").unwrap_err();
        assert!(
            smaller.to_string().contains("already holds 7 bytes"),
            "{smaller}"
        );
        let none = size_of(&spec(None), None, "/s/x").unwrap_err();
        assert!(none.to_string().contains("give --size"), "{none}");
        let empty = size_of(&spec(None), Some(0), "/s/x").unwrap_err();
        assert!(empty.to_string().contains("exists but is empty"), "{empty}");
    }

    #[test]
    fn sums_that_would_wrap_are_refused() {
        assert_eq!(bytes_needed([(10, None), (10, Some(4))]), Ok(16));
        let huge = i64::MAX as u64;
        assert_eq!(
            bytes_needed([(huge, None), (huge, None), (3, None)]),
            Err(PlanError::Overflow)
        );
        let room = check_room(2048, 1024, "/dev/shm").unwrap_err().to_string();
        assert!(room.contains("2.0 KiB more on /dev/shm"), "{room}");
        assert!(room.contains("Nothing was created"), "{room}");
        assert_eq!(check_room(1024, 1024, "/dev/shm"), Ok(()));
    }
}
