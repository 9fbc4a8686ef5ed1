//! [`SharedFile`]: a file of a directory other users share, read through
//! its descriptor, never mapped.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, Mode, OFlags};

use crate::error::{Result, ShMemError};
use crate::name::ShMemName;

/// A file of a shared directory, open for reading.
///
/// A mapping of a file faults with SIGBUS, killing the reader, as soon as
/// it reads a page past the file's end; and whoever may write the file (its
/// owner, or any process of a user it is shared with) may shrink it at any
/// moment. Reading with `pread` instead, the kernel copies what the file
/// holds now: a file that shrank gives a short read, reported as an error,
/// and the reader lives on. A read costs a system call and a copy, which
/// for pages of a few KiB read tens of times a second is nothing; a reader
/// of large segments that trusts their writer maps them instead
/// ([`PosixShMem`](crate::PosixShMem)).
#[derive(Debug)]
pub struct SharedFile {
    fd: OwnedFd,
    path: PathBuf,
}

/// What tells one file from another under the same name, and its size:
/// a reader compares identities to notice a file replaced or resized.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileIdentity {
    /// The file system's device number.
    pub dev: u64,
    /// The inode number.
    pub ino: u64,
    /// The size in bytes, now.
    pub size: u64,
}

impl SharedFile {
    /// Opens `dir/NAME` for reading if it is a regular file of this
    /// (effective) user: another user's file at an expected name could feed
    /// the reader anything, or watch what it reads. Never follows a
    /// symbolic link, and never waits (a FIFO planted at the name is
    /// refused, not read).
    pub fn open_own_in(dir: &Path, name: &str) -> Result<Self> {
        Self::open(dir, name, true)
    }

    /// Opens `dir/NAME` for reading if it is a regular file, whoever owns it.
    pub fn open_in(dir: &Path, name: &str) -> Result<Self> {
        Self::open(dir, name, false)
    }

    fn open(dir: &Path, name: &str, own_only: bool) -> Result<Self> {
        let path = dir.join(ShMemName::new(name)?.base());
        let label = path.display().to_string();
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd = rustix::fs::open(&path, flags, Mode::empty()).map_err(|e| {
            if e == rustix::io::Errno::LOOP {
                ShMemError::os(
                    "open",
                    label.clone(),
                    std::io::Error::other("it is a symbolic link; refusing to follow it"),
                )
            } else {
                ShMemError::os("open", label.clone(), e.into())
            }
        })?;
        // Checked on the descriptor: what we read is what we checked.
        let st =
            rustix::fs::fstat(&fd).map_err(|e| ShMemError::os("fstat", label.clone(), e.into()))?;
        if FileType::from_raw_mode(st.st_mode as _) != FileType::RegularFile {
            return Err(ShMemError::os(
                "open",
                label,
                std::io::Error::other("it is not a regular file"),
            ));
        }
        if own_only && st.st_uid != rustix::process::geteuid().as_raw() {
            return Err(ShMemError::NotOwned {
                segment: label,
                owner: st.st_uid,
            });
        }
        Ok(SharedFile { fd, path })
    }

    /// The file's path, as opened.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Device, inode and size of the open file, now.
    pub fn identity(&self) -> Result<FileIdentity> {
        let st = rustix::fs::fstat(&self.fd)
            .map_err(|e| ShMemError::os("fstat", self.path.display().to_string(), e.into()))?;
        // The types of these fields differ between systems.
        #[allow(clippy::unnecessary_cast)]
        Ok(FileIdentity {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
            size: st.st_size as u64,
        })
    }

    /// The file's size, now.
    pub fn len(&self) -> Result<u64> {
        Ok(self.identity()?.size)
    }

    /// Whether the file is empty now.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Copies the file's bytes from `offset` into `buf`, as many as it
    /// holds there: fewer than `buf.len()` (0 at or past its end) when the
    /// file is shorter.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match rustix::io::pread(&self.fd, &mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => {
                    return Err(ShMemError::os(
                        "pread",
                        self.path.display().to_string(),
                        e.into(),
                    ));
                }
            }
        }
        Ok(done)
    }

    /// Fills `buf` from `offset`; fails with [`ShMemError::TooSmall`] if the
    /// file ends first (it shrank, or never was that long).
    pub fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let got = self.read_at(offset, buf)?;
        if got < buf.len() {
            return Err(ShMemError::TooSmall {
                segment: self.path.display().to_string(),
                actual: offset + got as u64,
                requested: offset + buf.len() as u64,
            });
        }
        Ok(())
    }

    /// The whole file as it is now (up to `limit` bytes: a file others can
    /// write could be made huge).
    pub fn read_all(&self, limit: usize) -> Result<Vec<u8>> {
        let len = usize::try_from(self.len()?)
            .unwrap_or(usize::MAX)
            .min(limit);
        let mut buf = vec![0; len];
        let got = self.read_at(0, &mut buf)?;
        buf.truncate(got);
        Ok(buf)
    }
}
