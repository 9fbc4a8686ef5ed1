//! Finding the tmpfs the mappings' files go in, from inside Wine.
//!
//! Wine reports NTFS for every drive, so the file system type comes from
//! the Linux mount table, read through Wine's `\\?\unix` paths (which work
//! in prefixes without a `Z:` drive). The free space comes from
//! `GetDiskFreeSpaceExW` on the directory itself, which Wine answers with
//! `fstatfs` of that directory (its drive root would give the disk's).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::core::mounts::mount_of;
use crate::sys::windows::{files, wine};

/// The directory the files go in.
#[derive(Debug, Clone)]
pub struct Tmpfs {
    /// As Linux programs see it: `/dev/shm`.
    pub unix: String,
    /// As Windows calls take it: `Z:\dev\shm`, or `\\?\unix\dev\shm`.
    pub dos: PathBuf,
    /// Bytes free for us.
    pub free: u64,
}

impl Tmpfs {
    /// Checks that `dir` (a Unix path, or a Windows one) is a directory on a tmpfs.
    pub fn locate(dir: &str) -> Result<Tmpfs> {
        let (unix, dos) = if dir.starts_with('/') {
            let unix = dir.trim_end_matches('/');
            let unix = if unix.is_empty() { "/" } else { unix };
            (unix.to_owned(), wine::dos_path(unix)?)
        } else {
            let dos = PathBuf::from(dir);
            let unix = wine::unix_path(&dos)
                .with_context(|| format!("--tmpfs {dir}: not a path Wine can map to Linux"))?;
            (unix, dos)
        };
        let meta = std::fs::metadata(&dos).with_context(|| {
            format!(
                "--tmpfs {unix}: cannot reach it from Wine as {}",
                dos.display()
            )
        })?;
        if !meta.is_dir() {
            bail!("--tmpfs {unix} is not a directory");
        }
        let mounts_path = wine::dos_path("/proc/mounts")?;
        let mounts = std::fs::read_to_string(&mounts_path)
            .with_context(|| format!("reading the mount table {}", mounts_path.display()))?;
        let (mount_point, fstype) = mount_of(&mounts, &unix)
            .with_context(|| format!("{unix} is on no mount point in /proc/mounts"))?;
        if fstype != "tmpfs" {
            bail!(
                "{unix} is on {mount_point}, a {fstype} file system, not a tmpfs: its files \
                 would be written to disk. Pass --tmpfs with a tmpfs directory (see `findmnt -t tmpfs`)"
            );
        }
        Ok(Tmpfs {
            free: files::disk_free(&dos).with_context(|| format!("free space of {unix}"))?,
            unix,
            dos,
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
}
