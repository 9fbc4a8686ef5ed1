//! The tmpfs directory on the Linux side: checking it, reading what is in
//! it, and removing what a bridge left behind, safely.
//!
//! The directory is usually `/dev/shm`, writable by every local user, so
//! nothing here follows a symbolic link or touches another user's file,
//! and a file is removed only when a shm-bridge marker names its inode.

use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::core::cleanup::{self, FileKind, Found, Mapper, Users, Verdict};
use crate::core::ledger::{self, Marker};
use crate::linux::procmaps;

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

    /// The files in the directory (markers aside), each with its marker if any.
    pub fn entries(&self) -> Result<Vec<Entry>> {
        let mut entries = Vec::new();
        for item in std::fs::read_dir(&self.path)
            .with_context(|| format!("reading {}", self.path.display()))?
        {
            let item = item?;
            let name = item.file_name().to_string_lossy().into_owned();
            if ledger::file_of_marker(&name).is_some() {
                continue;
            }
            if let Some(entry) = self.entry(&name) {
                entries.push(entry);
            }
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// Names of files whose markers exist (the bridged ones), even if the file is gone.
    pub fn marked_names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.path)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                ledger::file_of_marker(&e.file_name().to_string_lossy()).map(str::to_owned)
            })
            .collect();
        names.sort();
        names
    }

    /// What is known of the file `name`, if something by that name exists.
    pub fn entry(&self, name: &str) -> Option<Entry> {
        let path = self.path.join(name);
        let st = rustix::fs::lstat(&path).ok()?;
        let file_type = rustix::fs::FileType::from_raw_mode(st.st_mode);
        Some(Entry {
            name: name.to_owned(),
            size: st.st_size as u64,
            kind: match file_type {
                rustix::fs::FileType::RegularFile => FileKind::File,
                rustix::fs::FileType::Symlink => FileKind::Symlink,
                _ => FileKind::Other,
            },
            ours: st.st_uid == rustix::process::geteuid().as_raw(),
            identity: (st.st_dev as u64, st.st_ino as u64),
            marker: self.marker(name),
            path,
        })
    }

    /// The marker beside `name`, if there is a valid one of ours.
    pub fn marker(&self, name: &str) -> Option<Marker> {
        let path = self.path.join(ledger::marker_name(name));
        let st = rustix::fs::lstat(&path).ok()?;
        let regular =
            rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile;
        if !regular || st.st_uid != rustix::process::geteuid().as_raw() {
            return None;
        }
        Marker::parse(&std::fs::read_to_string(&path).ok()?)
    }

    /// Removes `name` if a bridge made it and left it: its marker names
    /// its inode, it is ours, and (unless `force`) no process maps it.
    pub fn remove_leftover(&self, name: &str, force: bool) -> Verdict {
        cleanup::clean(self, name, force)
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
        std::fs::remove_file(self.path.join(file))
    }

    fn remove_marker(&self, file: &str) {
        let _ = std::fs::remove_file(self.path.join(ledger::marker_name(file)));
    }
}

/// A file in the tmpfs.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its name.
    pub name: String,
    /// Its path.
    pub path: PathBuf,
    /// Its size.
    pub size: u64,
    /// What it is.
    pub kind: FileKind,
    /// Whether this user owns it.
    pub ours: bool,
    /// Device and inode.
    pub identity: (u64, u64),
    /// The bridge's marker, if a bridge made it.
    pub marker: Option<Marker>,
}

impl Entry {
    /// Whether a shm-bridge made this very file.
    pub fn bridged(&self) -> bool {
        self.marker
            .as_ref()
            .is_some_and(|m| m.inode == self.identity.1)
    }

    /// The processes mapping it.
    pub fn mappers(&self) -> Vec<Mapper> {
        procmaps::mappers(self.identity.0, self.identity.1)
    }
}
