//! What clean-up may remove, decided once for both sides.
//!
//! A file is removed only when a marker of ours names its very inode, it
//! is a regular file of ours, and no one still uses it (unless forced).
//! Each side tells what it sees through [`Tmpfs`]; the order of the checks
//! and the words of each verdict live here.

use std::fmt;
use std::io;

use serde::Serialize;

use crate::core::ledger::Marker;

/// What is at a file's place in the tmpfs, as seen without following a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    /// What it is.
    pub kind: FileKind,
    /// Whether the running user owns it.
    pub ours: bool,
    /// Its inode.
    pub inode: u64,
}

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file.
    File,
    /// A symbolic link (never followed).
    Symlink,
    /// A directory, FIFO, socket or device.
    Other,
}

/// A process that maps a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mapper {
    /// Its pid.
    pub pid: u32,
    /// What it runs: the program's file name (for Wine programs, the .exe).
    pub program: String,
}

/// Who still uses a file, so that it is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Users {
    /// These Linux processes map it.
    Processes(Vec<Mapper>),
    /// A program in this Wine prefix has the mapping open.
    Prefix,
}

/// One side's view of the tmpfs directory.
pub trait Tmpfs {
    /// What is at `file`'s place, if anything.
    fn look(&self, file: &str) -> Option<Found>;
    /// The marker beside `file`, if it is one of ours.
    fn marker(&self, file: &str) -> Option<Marker>;
    /// Who still uses `file`, if anyone.
    fn users(&self, file: &str, found: &Found) -> Option<Users>;
    /// Removes `file`.
    fn remove_file(&self, file: &str) -> io::Result<()>;
    /// Removes `file`'s marker, if it is there.
    fn remove_marker(&self, file: &str);
}

/// What clean-up did with one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Removed, with its marker.
    Removed,
    /// Only a marker was left; removed it.
    StaleMarker,
    /// Nothing by that name.
    NothingThere,
    /// No marker of ours: someone else made it.
    NotOurs,
    /// The marker names another inode: the file was replaced.
    Replaced,
    /// Still in use; kept.
    InUse(Users),
    /// A symbolic link.
    Symlink,
    /// Another user's file.
    OtherOwner,
    /// Removing failed.
    Failed(String),
}

/// Removes `file` if a bridge made it and left it: its marker names its
/// inode, it is ours, and (unless `force`) no one uses it.
pub fn clean(tmpfs: &impl Tmpfs, file: &str, force: bool) -> Verdict {
    let Some(found) = tmpfs.look(file) else {
        if tmpfs.marker(file).is_some() {
            tmpfs.remove_marker(file);
            return Verdict::StaleMarker;
        }
        return Verdict::NothingThere;
    };
    match found.kind {
        FileKind::Symlink => return Verdict::Symlink,
        FileKind::Other => return Verdict::NotOurs,
        FileKind::File => {}
    }
    if !found.ours {
        return Verdict::OtherOwner;
    }
    let Some(marker) = tmpfs.marker(file) else {
        return Verdict::NotOurs;
    };
    if marker.inode != found.inode {
        tmpfs.remove_marker(file);
        return Verdict::Replaced;
    }
    if let Some(users) = tmpfs.users(file, &found).filter(|_| !force) {
        return Verdict::InUse(users);
    }
    match tmpfs.remove_file(file) {
        Ok(()) => {
            tmpfs.remove_marker(file);
            Verdict::Removed
        }
        Err(e) => Verdict::Failed(e.to_string()),
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Removed => f.write_str("removed"),
            Verdict::StaleMarker => f.write_str("already gone; removed its stale marker"),
            Verdict::NothingThere => f.write_str("nothing to clean"),
            Verdict::NotOurs => f.write_str("left alone: shm-bridge did not create it"),
            Verdict::Replaced => {
                f.write_str("left alone: it was replaced after shm-bridge made it")
            }
            Verdict::InUse(Users::Processes(mappers)) => write!(
                f,
                "kept: still mapped by {} (use --force to remove it anyway)",
                describe_mappers(mappers)
            ),
            Verdict::InUse(Users::Prefix) => {
                f.write_str("left alone: a program in this prefix still has the mapping open")
            }
            Verdict::Symlink => f.write_str("left alone: it is a symbolic link"),
            Verdict::OtherOwner => f.write_str("left alone: it belongs to another user"),
            Verdict::Failed(e) => write!(f, "could not remove it: {e}"),
        }
    }
}

/// `AC2.exe (1234), shm-bridge.exe (1200)`.
pub fn describe_mappers(mappers: &[Mapper]) -> String {
    mappers
        .iter()
        .map(|m| format!("{} ({})", m.program, m.pid))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// A directory held in memory: what each check sees, and what was removed.
    #[derive(Default)]
    struct Seen {
        found: Option<Found>,
        marker: Option<u64>,
        users: Option<Users>,
        fail: bool,
        removed: RefCell<Vec<&'static str>>,
    }

    impl Tmpfs for Seen {
        fn look(&self, _: &str) -> Option<Found> {
            self.found
        }
        fn marker(&self, _: &str) -> Option<Marker> {
            self.marker.map(|inode| Marker {
                name: "x".into(),
                inode,
                size: 1,
                pid: None,
                link: None,
                event: false,
            })
        }
        fn users(&self, _: &str, _: &Found) -> Option<Users> {
            self.users.clone()
        }
        fn remove_file(&self, _: &str) -> io::Result<()> {
            if self.fail {
                return Err(io::Error::from(io::ErrorKind::PermissionDenied));
            }
            self.removed.borrow_mut().push("file");
            Ok(())
        }
        fn remove_marker(&self, _: &str) {
            self.removed.borrow_mut().push("marker");
        }
    }

    fn file(ours: bool, inode: u64) -> Option<Found> {
        Some(Found {
            kind: FileKind::File,
            ours,
            inode,
        })
    }

    #[test]
    fn only_our_own_marked_unused_file_is_removed() {
        let ours = Seen {
            found: file(true, 7),
            marker: Some(7),
            ..Seen::default()
        };
        assert_eq!(clean(&ours, "x", false), Verdict::Removed);
        assert_eq!(*ours.removed.borrow(), ["file", "marker"]);

        let cases = [
            (Seen::default(), Verdict::NothingThere),
            (
                Seen {
                    marker: Some(7),
                    ..Seen::default()
                },
                Verdict::StaleMarker,
            ),
            (
                Seen {
                    found: file(true, 7),
                    ..Seen::default()
                },
                Verdict::NotOurs,
            ),
            (
                Seen {
                    found: file(false, 7),
                    marker: Some(7),
                    ..Seen::default()
                },
                Verdict::OtherOwner,
            ),
            (
                Seen {
                    found: file(true, 8),
                    marker: Some(7),
                    ..Seen::default()
                },
                Verdict::Replaced,
            ),
            (
                Seen {
                    found: Some(Found {
                        kind: FileKind::Symlink,
                        ours: true,
                        inode: 7,
                    }),
                    marker: Some(7),
                    ..Seen::default()
                },
                Verdict::Symlink,
            ),
            (
                Seen {
                    found: file(true, 7),
                    marker: Some(7),
                    users: Some(Users::Prefix),
                    ..Seen::default()
                },
                Verdict::InUse(Users::Prefix),
            ),
        ];
        for (seen, verdict) in cases {
            assert_eq!(clean(&seen, "x", false), verdict);
            assert!(!seen.removed.borrow().contains(&"file"), "{verdict}");
        }
    }

    #[test]
    fn force_removes_a_used_file_and_failures_say_why() {
        let used = Seen {
            found: file(true, 7),
            marker: Some(7),
            users: Some(Users::Processes(vec![Mapper {
                pid: 12,
                program: "AC2.exe".into(),
            }])),
            ..Seen::default()
        };
        let kept = clean(&used, "x", false);
        assert_eq!(
            kept.to_string(),
            "kept: still mapped by AC2.exe (12) (use --force to remove it anyway)"
        );
        assert_eq!(clean(&used, "x", true), Verdict::Removed);
        let failing = Seen {
            found: file(true, 7),
            marker: Some(7),
            fail: true,
            ..Seen::default()
        };
        assert!(matches!(clean(&failing, "x", false), Verdict::Failed(_)));
        assert!(failing.removed.borrow().is_empty(), "the marker stays too");
    }
}
