//! The tmpfs directory on the Linux side: checking it, reading what is in
//! it, and removing what a bridge left behind, safely.
//!
//! The directory is usually `/dev/shm`, writable by every local user, so
//! nothing here follows a symbolic link or touches another user's file,
//! and a file is removed only when a shm-bridge marker names its inode.

use std::ffi::OsString;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::core::cleanup::{self, FileKind, Found, Mapper, Users, Verdict};
use crate::core::ledger::{self, Marker};
use crate::core::spec::{self, Link};
use crate::linux::procmaps;
use crate::linux::untrusted::{self, Owners};

/// Bytes of a marker read at most: one is a few short lines.
const MARKER_MAX: usize = 4096;

/// `statfs` type of a tmpfs.
const TMPFS_MAGIC: i64 = 0x0102_1994;

/// A checked tmpfs directory.
#[derive(Debug, Clone)]
pub struct TmpfsDir {
    /// Its path.
    pub path: PathBuf,
    /// Bytes free for an unprivileged user.
    pub free: u64,
}

impl TmpfsDir {
    /// Checks that `path` is a directory on a tmpfs.
    pub fn check(path: &Path) -> Result<TmpfsDir> {
        let meta = std::fs::metadata(path)
            .with_context(|| format!("--tmpfs {}: cannot read it", path.display()))?;
        if !meta.is_dir() {
            bail!("--tmpfs {} is not a directory", path.display());
        }
        let fs = rustix::fs::statfs(path).with_context(|| format!("statfs {}", path.display()))?;
        if fs.f_type as i64 != TMPFS_MAGIC {
            bail!(
                "{} is not on a tmpfs: files there would be written to disk. Pass --tmpfs \
                 with a tmpfs directory (see `findmnt -t tmpfs`)",
                path.display()
            );
        }
        let vfs =
            rustix::fs::statvfs(path).with_context(|| format!("statvfs {}", path.display()))?;
        Ok(TmpfsDir {
            path: path.to_owned(),
            free: vfs.f_bavail * vfs.f_frsize,
        })
    }

    /// Every name in the directory, as the OS gives it (not always UTF-8).
    pub fn names(&self) -> Result<Vec<OsString>> {
        let mut names = Vec::new();
        for item in std::fs::read_dir(&self.path)
            .with_context(|| format!("reading {}", self.path.display()))?
        {
            names.push(item?.file_name());
        }
        Ok(names)
    }

    /// The device the directory is on (every file in it is on it too).
    pub fn device(&self) -> Result<u64> {
        let meta = std::fs::metadata(&self.path)
            .with_context(|| format!("--tmpfs {}: cannot read it", self.path.display()))?;
        Ok(meta.dev())
    }

    /// Names of files whose markers exist (the bridged ones), even if the file is gone.
    pub fn marked_names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.path)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                // A marker of ours names a mapping, and mappings' names are UTF-8.
                ledger::file_of_marker(e.file_name().to_str()?).map(str::to_owned)
            })
            .collect();
        names.sort();
        names
    }

    /// What is known of the file `name`, if something by that name exists
    /// (as seen by name, without following a link).
    pub fn entry(&self, name: &str) -> Option<Entry> {
        let meta = std::fs::symlink_metadata(self.path.join(name)).ok()?;
        let file_type = meta.file_type();
        Some(Entry {
            size: meta.len(),
            kind: if file_type.is_file() {
                FileKind::File
            } else if file_type.is_symlink() {
                FileKind::Symlink
            } else {
                FileKind::Other
            },
            what: untrusted::kind_words(&file_type),
            ours: meta.uid() == untrusted::me(),
            identity: (meta.dev(), meta.ino()),
        })
    }

    /// The marker beside `name`, if there is a valid one of ours: read
    /// from a descriptor checked like any file here (no link, FIFO or
    /// other user's file), and no more of it than a marker holds.
    pub fn marker(&self, name: &str) -> Option<Marker> {
        let marker = ledger::marker_name(name);
        let file = untrusted::open(&self.path, marker.as_ref(), Owners::Mine).ok()?;
        let text = file.read_prefix(MARKER_MAX).ok()?;
        Marker::parse(std::str::from_utf8(&text).ok()?)
    }

    /// Removes `name` if a bridge made it and left it: its marker names
    /// its inode, it is ours, and (unless `force`) no process maps it.
    pub fn remove_leftover(&self, name: &str, force: bool) -> Verdict {
        cleanup::clean(self, name, force)
    }

    /// Removes the link a bridge made to `file` (if it is a link of ours
    /// leading there, in a directory of ours), and the directory if that
    /// empties it.
    fn remove_link(&self, link: &Link, file: &str) {
        let me = rustix::process::geteuid().as_raw();
        let dir = self.path.join(&link.dir);
        let ours = |path: &Path, kind: rustix::fs::FileType| {
            rustix::fs::lstat(path).is_ok_and(|st| {
                st.st_uid == me && rustix::fs::FileType::from_raw_mode(st.st_mode) == kind
            })
        };
        if !ours(&dir, rustix::fs::FileType::Directory) {
            return;
        }
        let at = dir.join(&link.file);
        let leads_here = std::fs::read_link(&at).is_ok_and(|t| t == Path::new("..").join(file));
        if leads_here && ours(&at, rustix::fs::FileType::Symlink) {
            let _ = std::fs::remove_file(&at);
        }
        let _ = std::fs::remove_dir(&dir);
    }
}

impl cleanup::Tmpfs for TmpfsDir {
    fn look(&self, file: &str) -> Option<Found> {
        self.entry(file).map(|e| Found {
            kind: e.kind,
            ours: e.ours,
            inode: e.identity.1,
        })
    }

    fn marker(&self, file: &str) -> Option<Marker> {
        TmpfsDir::marker(self, file)
    }

    fn users(&self, file: &str, found: &Found) -> Option<Users> {
        let entry = self.entry(file).filter(|e| e.identity.1 == found.inode)?;
        let mappers = entry.mappers();
        (!mappers.is_empty()).then_some(Users::Processes(mappers))
    }

    fn remove_file(&self, file: &str) -> io::Result<()> {
        // The link the bridge made to it goes first, with its directory if emptied.
        if let Some(link) = self
            .marker(file)
            .and_then(|m| spec::parse_link(m.link.as_deref()?).ok())
        {
            self.remove_link(&link, file);
        }
        std::fs::remove_file(self.path.join(file))
    }

    fn remove_marker(&self, file: &str) {
        let _ = std::fs::remove_file(self.path.join(ledger::marker_name(file)));
    }
}

/// A file in the tmpfs.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its size.
    pub size: u64,
    /// What it is.
    pub kind: FileKind,
    /// What it is, in words ("a regular file", "a FIFO").
    pub what: &'static str,
    /// Whether this user owns it.
    pub ours: bool,
    /// Device and inode.
    pub identity: (u64, u64),
}

impl Entry {
    /// The processes mapping it.
    pub fn mappers(&self) -> Vec<Mapper> {
        procmaps::mappers(self.identity.0, self.identity.1)
    }
}
