//! Opening files in a directory every local user may write to (`/dev/shm`).
//!
//! A name there proves nothing: another user can put a file, a link, a FIFO
//! or a socket under it, swap one for another between two looks, and
//! truncate a file while it is read. So a file is opened once, without
//! following a link and without waiting on a FIFO, and what was opened is
//! checked on its descriptor (type, owner, number of names). It is then
//! read with `pread`, never through a mapping: a file truncated under a
//! read gives a short read, where a mapping gives SIGBUS.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Whose files may be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owners {
    /// Only the running (effective) user's: their bytes are read as theirs.
    Mine,
    /// Anyone's, for listing them.
    Anyone,
}

/// Why a file was not opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Nothing by that name.
    #[error("{} does not exist", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// A symbolic link, which is never followed.
    #[error(
        "{} is a symbolic link; refusing to follow it (in a directory every user may \
         write to, a link can point anywhere). Remove it if it is yours",
        path.display()
    )]
    Link {
        /// The file.
        path: PathBuf,
    },
    /// A FIFO, socket, directory or device.
    #[error(
        "{} is not a regular file (it is {kind}); a mapping's file is a regular file. \
         Remove it if it is yours, or use another name",
        path.display()
    )]
    NotRegular {
        /// The file.
        path: PathBuf,
        /// What it is, in words ("a FIFO").
        kind: &'static str,
    },
    /// Another user's file.
    #[error(
        "{} belongs to uid {owner}, not to you; refusing to read it (in a directory every \
         user may write to, anyone can put a file under an expected name)",
        path.display()
    )]
    NotOwned {
        /// The file.
        path: PathBuf,
        /// Its owner.
        owner: u32,
    },
    /// A file with more than one name: someone linked it in from elsewhere.
    #[error(
        "{} has {links} names (hard links); refusing it: a mapping's file has one",
        path.display()
    )]
    Links {
        /// The file.
        path: PathBuf,
        /// How many names it has.
        links: u64,
    },
    /// Anything else the OS said.
    #[error("cannot open {}: {source}", path.display())]
    Os {
        /// The file.
        path: PathBuf,
        /// The OS's words.
        source: io::Error,
    },
}

/// A regular file, opened read-only and checked on its descriptor.
#[derive(Debug)]
pub struct CheckedFile {
    file: File,
    /// Device and inode: which file it is, whatever its name now.
    pub identity: (u64, u64),
    /// Its size when opened.
    pub len: u64,
    /// Its owner.
    pub owner: u32,
}

/// The running (effective) user.
pub fn me() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Opens `dir/name` if it is a regular file with one name (of this user's,
/// for [`Owners::Mine`]).
pub fn open(dir: &Path, name: &OsStr, owners: Owners) -> Result<CheckedFile, OpenError> {
    let path = dir.join(name);
    let opened = std::fs::OpenOptions::new()
        .read(true)
        // No link followed, no wait for a FIFO's writer, no controlling
        // terminal taken from a device (std adds O_CLOEXEC itself).
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(&path);
    let file = match opened {
        Ok(file) => file,
        Err(e) => return Err(why_not_opened(path, e)),
    };
    let meta = match file.metadata() {
        Ok(meta) => meta,
        Err(source) => return Err(OpenError::Os { path, source }),
    };
    let kind = meta.file_type();
    if !kind.is_file() {
        return Err(OpenError::NotRegular {
            kind: kind_words(&kind),
            path,
        });
    }
    if owners == Owners::Mine && meta.uid() != me() {
        return Err(OpenError::NotOwned {
            owner: meta.uid(),
            path,
        });
    }
    if meta.nlink() > 1 {
        return Err(OpenError::Links {
            links: meta.nlink(),
            path,
        });
    }
    Ok(CheckedFile {
        file,
        identity: (meta.dev(), meta.ino()),
        len: meta.len(),
        owner: meta.uid(),
    })
}

/// The error for an `open` that failed, in the words of what is there.
fn why_not_opened(path: PathBuf, e: io::Error) -> OpenError {
    let there = std::fs::symlink_metadata(&path);
    match (e.kind(), e.raw_os_error(), there) {
        (io::ErrorKind::NotFound, _, _) => OpenError::Missing { path },
        (_, Some(libc::ELOOP), _) => OpenError::Link { path },
        // A socket cannot be opened (ENXIO); say what it is.
        (_, _, Ok(meta)) if meta.file_type().is_symlink() => OpenError::Link { path },
        (_, _, Ok(meta)) if !meta.file_type().is_file() => OpenError::NotRegular {
            kind: kind_words(&meta.file_type()),
            path,
        },
        (io::ErrorKind::PermissionDenied, _, Ok(meta)) if meta.uid() != me() => {
            OpenError::NotOwned {
                owner: meta.uid(),
                path,
            }
        }
        (_, _, _) => OpenError::Os { path, source: e },
    }
}

/// What a file is, in words ("a FIFO").
pub fn kind_words(kind: &std::fs::FileType) -> &'static str {
    if kind.is_file() {
        "a regular file"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else {
        "not a file"
    }
}

impl CheckedFile {
    /// Its size now (another process may have changed it).
    pub fn len_now(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    /// Fills `buf` from `offset` on; returns how many bytes there were,
    /// fewer than asked when the file ends before (it may have shrunk).
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            let at = offset.saturating_add(done as u64);
            match self.file.read_at(&mut buf[done..], at) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    /// At most `limit` bytes from the start: for small files such as markers.
    pub fn read_prefix(&self, limit: usize) -> io::Result<Vec<u8>> {
        let wanted = usize::try_from(self.len).map_or(limit, |len| len.min(limit));
        let mut buf = vec![0u8; wanted];
        let n = self.read_at(&mut buf, 0)?;
        buf.truncate(n);
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_fifos_and_second_names_are_refused_and_files_read() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("file"), b"0123456789").unwrap();
        std::os::unix::fs::symlink(d.join("file"), d.join("link")).unwrap();
        std::fs::hard_link(d.join("file"), d.join("second")).unwrap();
        std::fs::create_dir(d.join("dir")).unwrap();
        let fifo = rustix::fs::mknodat(
            rustix::fs::CWD,
            d.join("fifo"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        );
        fifo.unwrap();
        let open = |name: &str| open(d, OsStr::new(name), Owners::Mine);
        assert!(matches!(open("link"), Err(OpenError::Link { .. })));
        assert!(matches!(open("nothing"), Err(OpenError::Missing { .. })));
        let err = open("fifo").unwrap_err();
        assert!(
            err.to_string()
                .contains("not a regular file (it is a FIFO)")
        );
        assert!(matches!(
            open("dir"),
            Err(OpenError::NotRegular {
                kind: "a directory",
                ..
            })
        ));
        assert!(matches!(
            open("second"),
            Err(OpenError::Links { links: 2, .. })
        ));
        std::fs::remove_file(d.join("second")).unwrap();
        let file = open("file").unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(file.read_at(&mut buf, 8).unwrap(), 2, "short at the end");
        assert_eq!(&buf[..2], b"89");
        assert_eq!(file.read_prefix(3).unwrap(), b"012");
        assert_eq!(file.read_prefix(100).unwrap(), b"0123456789");
    }
}
