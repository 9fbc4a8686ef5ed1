//! The tmpfs directory the mappings' files go in, seen from inside Wine
//! through a Linux descriptor of its own.
//!
//! The directory is usually `/dev/shm`, where every local user may write,
//! so nothing is trusted by its name: the directory is opened once (links
//! in its path resolved), its file system asked with `fstatfs` (Wine
//! reports NTFS for every drive, and the free space of the disk), and every
//! file and marker in it is opened relative to that descriptor without
//! following links, then checked on its own descriptor: type, owner, links.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::core::ledger::{Marker, marker_name};
use crate::sys::windows::linux::{self, Errno, Fd, Stat, TMPFS_MAGIC};
use crate::sys::windows::wine;

/// Bytes of a marker file read at most: a marker is a few lines.
const MARKER_MAX: usize = 4096;

/// The directory the files go in.
#[derive(Debug)]
pub struct Tmpfs {
    /// As Linux programs see it, links resolved: `/dev/shm`.
    pub unix: String,
    /// As Windows calls take it: `Z:\dev\shm`, or `\\?\unix\dev\shm`.
    pub dos: PathBuf,
    /// Bytes free for us.
    pub free: u64,
    /// The directory itself.
    dir: Fd,
    /// The user this process acts as.
    uid: u32,
}

impl Tmpfs {
    /// Opens `dir` (a Unix path, or a Windows one) and checks it is a
    /// directory on a tmpfs.
    pub fn locate(dir: &str) -> Result<Tmpfs> {
        let given = if dir.starts_with('/') {
            dir.to_owned()
        } else {
            wine::unix_path(&PathBuf::from(dir))
                .with_context(|| format!("--tmpfs {dir}: not a path Wine can map to Linux"))?
        };
        let fd = linux::open_dir(&given).map_err(|e| match e {
            Errno::ENOTDIR => anyhow::anyhow!("--tmpfs {given} is not a directory"),
            e => anyhow::anyhow!("--tmpfs {given}: cannot open it: {e}"),
        })?;
        let unix = fd
            .path()
            .with_context(|| format!("--tmpfs {given}: where does it lead?"))?;
        let fs = fd.statfs().with_context(|| format!("statfs {unix}"))?;
        if fs.kind != TMPFS_MAGIC {
            bail!(
                "{unix} is not a tmpfs directory: its files would be written to disk. Pass --tmpfs \
                 with a tmpfs directory (see `findmnt -t tmpfs`)"
            );
        }
        Ok(Tmpfs {
            dos: wine::dos_path(&unix)?,
            free: fs.free,
            unix,
            dir: fd,
            uid: linux::geteuid(),
        })
    }

    /// The Windows path of the file `name` in this directory.
    pub fn dos_file(&self, name: &str) -> PathBuf {
        self.dos.join(name)
    }

    /// The Linux path of the file `name` in this directory.
    pub fn unix_file(&self, name: &str) -> String {
        format!("{}/{name}", self.unix.trim_end_matches('/'))
    }

    /// The directory's descriptor, for creating and removing in it.
    pub fn dir(&self) -> &Fd {
        &self.dir
    }

    /// Opens the existing file `name` (for writing too if `write`), and
    /// checks it can be trusted: a regular file of ours with one name.
    /// `None` if nothing is there.
    pub fn open_own(&self, name: &str, write: bool) -> Result<Option<(Fd, Stat)>> {
        let unix = self.unix_file(name);
        let fd = match self.dir.open_at(name, write) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => return Ok(None),
            Err(Errno::ELOOP) => bail!(
                "{unix} is a symbolic link; refusing to use it (the tmpfs is open to every \
                 user: it may lead anywhere). Remove it if it is yours"
            ),
            Err(Errno::ENXIO) => {
                bail!("{unix} is not a regular file (a socket); remove it or pick another name")
            }
            Err(e) => {
                // Not ours to open: say whose it is, if it can be seen.
                if let Ok(st) = self.dir.stat_at(name) {
                    self.check_own(&unix, &st)?;
                }
                return Err(e).with_context(|| format!("opening {unix}"));
            }
        };
        let st = fd.stat().with_context(|| format!("fstat {unix}"))?;
        self.check_own(&unix, &st)?;
        Ok(Some((fd, st)))
    }

    /// Refuses a file that is not a regular file of ours with one name.
    fn check_own(&self, unix: &str, st: &Stat) -> Result<()> {
        if !st.is_file() {
            bail!(
                "{unix} is not a regular file ({}); remove it or pick another name",
                st.kind()
            );
        }
        if st.uid != self.uid {
            bail!(
                "{unix} belongs to uid {}, not to you: another user made it first, and could \
                 read the telemetry or crash the game through it. Refusing to use it; remove \
                 it (as that user or root), or pass --tmpfs with a directory of your own",
                st.uid
            );
        }
        if st.nlink != 1 {
            bail!(
                "{unix} has {} names (hard links): it may be a file of yours from elsewhere. \
                 Refusing to use it; remove it or pick another name",
                st.nlink
            );
        }
        Ok(())
    }

    /// The marker beside `name`, if there is one and it is ours. Anything
    /// else at the marker's name (another user's file, a link, a FIFO) is
    /// an error: it is in the way of ours, and not to be believed.
    pub fn marker(&self, name: &str) -> Result<Option<Marker>> {
        self.marker_at(&marker_name(name))
    }

    /// The marker at `file`, if there is one and it is ours (see [`Tmpfs::marker`]).
    pub fn marker_at(&self, file: &str) -> Result<Option<Marker>> {
        let Some((fd, _)) = self.open_own(file, false)? else {
            return Ok(None);
        };
        let text = fd
            .read_to_end(MARKER_MAX)
            .with_context(|| format!("reading {}", self.unix_file(file)))?;
        Ok(Marker::parse(&String::from_utf8_lossy(&text)))
    }

    /// Removes `name` if it is still the file `ino` of ours (never a link's
    /// target: the name itself is removed, and only after checking it).
    pub fn remove_if(&self, name: &str, ino: u64) -> Result<(), Errno> {
        let st = self.dir.stat_at(name)?;
        if st.ino != ino || st.uid != self.uid || st.is_symlink() {
            return Ok(());
        }
        self.dir.unlink_at(name)
    }

    /// Whether the file `name` is there and what it is, without following a link.
    pub fn look(&self, name: &str) -> Option<Stat> {
        self.dir.stat_at(name).ok()
    }

    /// Whether `st` belongs to the user this process acts as.
    pub fn ours(&self, st: &Stat) -> bool {
        st.uid == self.uid
    }
}
