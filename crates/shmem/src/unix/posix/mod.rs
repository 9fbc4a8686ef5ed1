//! Named segments: POSIX shared memory objects, or files in a directory.
//!
//! On Linux a POSIX object is a file in `/dev/shm` (glibc's `shm_open` does
//! just that), so this backend opens it there itself, with `O_NOFOLLOW`: a
//! symlink planted in the world-writable directory is refused, never
//! followed. Elsewhere it calls `shm_open`. [`PosixShMem::create_in`] and
//! [`PosixShMem::open_in`] do the same in any directory, such as another
//! tmpfs.
//!
//! macOS's `shm_open` takes names of at most 30 bytes: longer ones are
//! shortened the same way by every process ([`ShMemName::os_base`]).
//!
//! Names outlive processes: a creator that crashes leaves its object behind.
//! The creator removes the name on drop unless [`PosixShMem::keep`] was
//! called. A name given to [`PosixShMem::create`] or [`PosixShMem::create_in`]
//! is removed only if it still points at the object this creator made
//! (programs that agree on a name may replace each other's objects); a
//! name [`PosixShMemProvider`] made up (pid, counter, time) is removed
//! without that check, which saves two system calls a segment: no other
//! program picks such a name, and in the sticky `/dev/shm` only this user
//! or root could replace the object.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

use crate::ShMem;
use crate::error::{Result, ShMemError, check_size};
use crate::id::ShMemId;
use crate::name::ShMemName;
use crate::options::{HugePages, MapOptions};
use crate::readonly::ReadOnlyShMem;
use crate::unix::{Mapping, base_page, fd_stat, fork, object_page, whole_or_fitting};

mod provider;
pub use provider::PosixShMemProvider;

/// Where a named object lives.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Location {
    /// The system's POSIX shared memory namespace.
    Shm,
    /// A directory chosen by the caller.
    Dir(PathBuf),
}

/// A named segment: a POSIX shared memory object or a file in a directory.
///
/// It holds the object's descriptor while it lives, as a memfd segment
/// does: one open file a segment. Its fields drop in the order the bare
/// system calls go (unmap, close, remove the name), which is the cheapest.
#[derive(Debug)]
pub struct PosixShMem {
    map: Mapping,
    /// Closed after the unmapping, as the bare calls do; never read.
    _fd: OwnedFd,
    object: Object,
}

/// A segment's name and where it lives; removes the name on drop where
/// this segment made it, in the process that made it.
#[derive(Debug)]
struct Object {
    name: ShMemName,
    location: Location,
    /// What to remove on drop, if anything.
    remove_on_drop: Option<Removal>,
    /// Forks counted when the object was made ([`fork::generation`]): a
    /// forked child has another count, and leaves its parent's name alone.
    generation: u64,
}

/// What a creator removes on drop.
#[derive(Debug, Clone, Copy)]
enum Removal {
    /// The name, if it still points at the object of this identity (device,
    /// inode): programs that agree on a name may have replaced ours (removed
    /// it and created theirs), and theirs is not ours to remove. Costs an
    /// `fstat` at create and an `lstat` at drop.
    IfUnchanged(u64, u64),
    /// The name, whatever it points at: one of [`PosixShMemProvider`]'s
    /// unique names (pid, counter, time), which no other program picks, and
    /// which only this user or root could replace (`/dev/shm` is sticky).
    Unique,
}

/// Whether the POSIX namespace is the tmpfs `/dev/shm` (Linux), whose
/// objects are mapped in base pages.
const SHM_IS_TMPFS: bool = cfg!(target_os = "linux");

/// Permission bits of created objects: the owner only, unless widened.
pub const DEFAULT_MODE: u32 = 0o600;

impl PosixShMem {
    /// Creates the POSIX object `name` of `size` bytes, readable and writable
    /// by this user only. Fails with [`ShMemError::AlreadyExists`] if the name is taken.
    pub fn create(name: &str, size: usize) -> Result<Self> {
        Self::create_at(
            Location::Shm,
            ShMemName::new(name)?,
            size,
            DEFAULT_MODE,
            &MapOptions::new(),
            false,
        )
    }

    /// Creates `dir/NAME` (NAME being the name's [`base`](ShMemName::base))
    /// of `size` bytes with the permission bits `mode`, and maps it.
    pub fn create_in(dir: &Path, name: &str, size: usize, mode: u32) -> Result<Self> {
        Self::create_at(
            Location::Dir(dir.to_owned()),
            ShMemName::new(name)?,
            size,
            mode,
            &MapOptions::new(),
            false,
        )
    }

    /// Opens the existing POSIX object `name` and maps all of it.
    pub fn open(name: &str) -> Result<Self> {
        Self::open_at(
            Location::Shm,
            ShMemName::new(name)?,
            None,
            false,
            &MapOptions::new(),
        )
    }

    /// Opens the existing POSIX object `name` and maps its first `size` bytes.
    pub fn open_with_size(name: &str, size: usize) -> Result<Self> {
        Self::open_at(
            Location::Shm,
            ShMemName::new(name)?,
            Some(size),
            false,
            &MapOptions::new(),
        )
    }

    /// Opens the existing file `dir/NAME` and maps all of it.
    pub fn open_in(dir: &Path, name: &str) -> Result<Self> {
        Self::open_at(
            Location::Dir(dir.to_owned()),
            ShMemName::new(name)?,
            None,
            false,
            &MapOptions::new(),
        )
    }

    /// Opens the existing file `dir/NAME`, if it belongs to this (effective)
    /// user, and maps all of it. For directories anyone may write, such as
    /// `/dev/shm`: there another user can plant a file under an expected
    /// name and feed or watch whatever uses it.
    pub fn open_own_in(dir: &Path, name: &str) -> Result<Self> {
        Self::open_at(
            Location::Dir(dir.to_owned()),
            ShMemName::new(name)?,
            None,
            true,
            &MapOptions::new(),
        )
    }

    /// Opens the existing POSIX object `name` read-only and maps all of it:
    /// the OS refuses writes to the mapping.
    pub fn open_read_only(name: &str) -> Result<ReadOnlyShMem<Self>> {
        let options = MapOptions::new().read_only();
        Self::open_at(Location::Shm, ShMemName::new(name)?, None, false, &options)
            .map(ReadOnlyShMem::new)
    }

    /// Opens the existing file `dir/NAME` read-only and maps all of it.
    pub fn open_in_read_only(dir: &Path, name: &str) -> Result<ReadOnlyShMem<Self>> {
        let options = MapOptions::new().read_only();
        let location = Location::Dir(dir.to_owned());
        Self::open_at(location, ShMemName::new(name)?, None, false, &options)
            .map(ReadOnlyShMem::new)
    }

    /// Opens the existing file `dir/NAME` read-only, if it belongs to this
    /// (effective) user, as [`open_own_in`](Self::open_own_in) does.
    pub fn open_own_in_read_only(dir: &Path, name: &str) -> Result<ReadOnlyShMem<Self>> {
        let options = MapOptions::new().read_only();
        let location = Location::Dir(dir.to_owned());
        Self::open_at(location, ShMemName::new(name)?, None, true, &options).map(ReadOnlyShMem::new)
    }

    /// The segment's name.
    pub fn name(&self) -> &ShMemName {
        &self.object.name
    }

    /// Whether this value created the object and will remove it on drop
    /// (never in a forked child: the name is its parent's).
    pub fn is_owner(&self) -> bool {
        self.object.remove_on_drop.is_some() && self.object.generation == fork::generation()
    }

    /// Leaves the object in place when this value drops, for others to open later.
    pub fn keep(&mut self) {
        self.object.remove_on_drop = None;
    }

    /// [`keep`](Self::keep), by value, as LibAFL's `persist` reads: the
    /// object outlives this value and this process, until someone removes
    /// it (`shm_unlink`, `rm /dev/shm/NAME`).
    #[must_use]
    pub fn persist(mut self) -> Self {
        self.keep();
        self
    }

    /// The file this segment lives in, where it is a file.
    pub fn path(&self) -> Option<PathBuf> {
        let Object { name, location, .. } = &self.object;
        match location {
            Location::Dir(dir) => Some(dir.join(name.base())),
            Location::Shm if SHM_IS_TMPFS => Some(Path::new(DEV_SHM).join(name.base())),
            Location::Shm => None,
        }
    }

    fn create_at(
        location: Location,
        name: ShMemName,
        size: usize,
        mode: u32,
        options: &MapOptions,
        unique: bool,
    ) -> Result<Self> {
        let size = check_size(size)?;
        if options.huge_pages() == HugePages::Hugetlb {
            return Err(ShMemError::Unsupported {
                what: "HugeTLB pages",
                backend: "POSIX (tmpfs)",
            });
        }
        let label = Label(&location, &name);
        let fd = open_object(
            &location,
            &name,
            OFlags::RDWR | OFlags::CREATE | OFlags::EXCL,
            mode,
        )
        .map_err(|e| ShMemError::os("create", label.to_string(), e))?;
        let removal = if unique {
            Ok(Removal::Unique)
        } else {
            identity(&fd).map(|(dev, ino)| Removal::IfUnchanged(dev, ino))
        };
        let sized_and_mapped = removal
            .map_err(|e| ShMemError::os("fstat", label.to_string(), e))
            .and_then(|removal| {
                rustix::fs::ftruncate(&fd, size as u64)
                    .map_err(|e| ShMemError::os("ftruncate", label.to_string(), e.into()))?;
                let map = Mapping::map_fd(&fd, size, base_page(), options, &label)?;
                Ok((removal, map))
            });
        match sized_and_mapped {
            Ok((removal, map)) => Ok(PosixShMem {
                map,
                _fd: fd,
                object: Object {
                    name,
                    location,
                    remove_on_drop: Some(removal),
                    generation: fork::generation(),
                },
            }),
            Err(e) => {
                // Leave nothing behind, but only what we made: the name may
                // already point at another program's object.
                if let Ok(created) = identity(&fd) {
                    remove_if_created(&location, &name, created);
                }
                Err(e)
            }
        }
    }

    fn open_at(
        location: Location,
        name: ShMemName,
        size: Option<usize>,
        own_only: bool,
        options: &MapOptions,
    ) -> Result<Self> {
        let label = Label(&location, &name);
        let access = if options.is_read_only() {
            OFlags::RDONLY
        } else {
            OFlags::RDWR
        };
        let fd = open_object(&location, &name, access, 0)
            .map_err(|e| ShMemError::os("open", label.to_string(), e))?;
        let (actual, page) = if own_only || !SHM_IS_TMPFS || location != Location::Shm {
            // One fstat for the owner, the size and the page size (a file of
            // a hugetlbfs directory is mapped in whole huge pages).
            let st = fd_stat(&fd, &label)?;
            if own_only {
                // Checked on the descriptor: what we map is what we checked.
                let owner = st.st_uid;
                if owner != rustix::process::geteuid().as_raw() {
                    return Err(ShMemError::NotOwned {
                        segment: label.to_string(),
                        owner,
                    });
                }
            }
            (st.st_size as u64, object_page(&fd, &st))
        } else {
            // A tmpfs object is mapped in base pages, so only the size is
            // needed, which `lseek` tells for half the cost of an `fstat`.
            let end = rustix::fs::seek(&fd, rustix::fs::SeekFrom::End(0))
                .map_err(|e| ShMemError::os("lseek", label.to_string(), e.into()))?;
            (end, base_page())
        };
        let size = whole_or_fitting(actual, size.map(check_size).transpose()?, &label)?;
        Ok(PosixShMem {
            map: Mapping::map_fd(&fd, size, page, options, &label)?,
            _fd: fd,
            object: Object {
                name,
                location,
                remove_on_drop: None,
                generation: 0,
            },
        })
    }
}

impl Drop for Object {
    fn drop(&mut self) {
        if self.remove_on_drop.is_some() && self.generation != fork::generation() {
            // A forked child's copy: the name is its parent's to remove.
            return;
        }
        match self.remove_on_drop {
            Some(Removal::IfUnchanged(dev, ino)) => {
                remove_if_created(&self.location, &self.name, (dev, ino));
            }
            Some(Removal::Unique) => {
                let _ = unlink_object(&self.location, &self.name);
            }
            None => {}
        }
    }
}

crate::segment_impls!(PosixShMem);

impl ShMem for PosixShMem {
    fn id(&self) -> ShMemId {
        let Object { name, location, .. } = &self.object;
        match location {
            Location::Shm => ShMemId::Posix(name.clone()),
            Location::Dir(dir) => ShMemId::File(dir.join(name.base())),
        }
    }
}

/// How errors name a segment: written out only when an error needs it.
struct Label<'a>(&'a Location, &'a ShMemName);

impl std::fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Location::Shm => write!(f, "posix:{}", self.1),
            Location::Dir(dir) => write!(f, "{}", dir.join(self.1.base()).display()),
        }
    }
}

/// Device and inode: what tells one file from another under the same name.
fn identity(fd: &OwnedFd) -> std::io::Result<(u64, u64)> {
    Ok(stat_identity(&rustix::fs::fstat(fd)?))
}

/// Device and inode of a `stat`, whose types differ between systems.
#[allow(clippy::unnecessary_cast)]
fn stat_identity(st: &rustix::fs::Stat) -> (u64, u64) {
    (st.st_dev as u64, st.st_ino as u64)
}

/// Removes the name if it points at the object of identity `created`.
///
/// Where the object is a file (Linux, directories), the name is first
/// moved aside to a name only this process uses (`renameat2` with
/// `RENAME_NOREPLACE`, atomic), and what was moved is looked at there:
/// ours is removed, another program's is put back. Checking first and
/// removing after would leave a moment in which another program could
/// replace our object and lose its own. Elsewhere (the `shm_open`
/// namespace of macOS and the BSDs, which has no rename) it is an
/// `shm_open` and `fstat`, then the removal: there that moment remains.
fn remove_if_created(location: &Location, name: &ShMemName, created: (u64, u64)) {
    let dir = match location {
        Location::Dir(dir) => dir.as_path(),
        #[cfg(target_os = "linux")]
        Location::Shm => Path::new(DEV_SHM),
        #[cfg(not(target_os = "linux"))]
        Location::Shm => {
            if open_object(location, name, OFlags::RDONLY, 0)
                .and_then(|fd| identity(&fd))
                .is_ok_and(|now| now == created)
            {
                let _ = unlink_object(location, name);
            }
            return;
        }
    };
    with_file_path(dir, name.base(), |path| {
        #[cfg(linux_like)]
        if let Some(done) = remove_by_moving_aside(dir, path, created) {
            return done;
        }
        let now = rustix::fs::statat(rustix::fs::CWD, path, rustix::fs::AtFlags::SYMLINK_NOFOLLOW);
        if now.is_ok_and(|st| stat_identity(&st) == created) {
            let _ = rustix::fs::unlink(path);
        }
    });
}

/// The rename-aside removal of [`remove_if_created`]; `None` where the
/// file system cannot rename without replacing (then the caller checks
/// and removes).
#[cfg(linux_like)]
fn remove_by_moving_aside(dir: &Path, path: &Path, created: (u64, u64)) -> Option<()> {
    use rustix::fs::{CWD, RenameFlags};
    use std::sync::atomic::{AtomicU64, Ordering};
    static ASIDE: AtomicU64 = AtomicU64::new(0);
    let aside = dir.join(format!(
        ".shmem-drop-{}-{}",
        std::process::id(),
        ASIDE.fetch_add(1, Ordering::Relaxed)
    ));
    match rustix::fs::renameat_with(CWD, path, CWD, &aside, RenameFlags::NOREPLACE) {
        Ok(()) => {}
        // Gone already, or not ours to move (another user's, in a sticky directory).
        Err(rustix::io::Errno::NOENT | rustix::io::Errno::PERM | rustix::io::Errno::ACCESS) => {
            return Some(());
        }
        Err(_) => return None,
    }
    let moved = rustix::fs::statat(CWD, &aside, rustix::fs::AtFlags::SYMLINK_NOFOLLOW);
    if moved.is_ok_and(|st| stat_identity(&st) == created)
        || rustix::fs::renameat_with(CWD, &aside, CWD, path, RenameFlags::NOREPLACE).is_err()
    {
        // Ours; or theirs, whose name someone took anew in the microseconds
        // it was aside: theirs is unreachable by name either way, and a name
        // left aside would hold its memory until reboot.
        let _ = rustix::fs::unlink(&aside);
    }
    Some(())
}

/// Where Linux keeps POSIX shared memory objects (as glibc's `shm_open`
/// does); used only where [`SHM_IS_TMPFS`].
const DEV_SHM: &str = "/dev/shm";

/// Calls `f` with `dir/base`, built on the stack when it fits: it runs at
/// every create, open and drop, where an allocation costs a few per cent.
fn with_file_path<R>(dir: &Path, base: &str, f: impl FnOnce(&Path) -> R) -> R {
    use std::os::unix::ffi::OsStrExt;
    let dir_bytes = dir.as_os_str().as_bytes();
    // As `Path::join`: no slash after an empty directory or one ending in `/`.
    let slash = usize::from(!dir_bytes.is_empty() && !dir_bytes.ends_with(b"/"));
    let len = dir_bytes.len() + slash + base.len();
    let mut buf = [0u8; 256];
    if len > buf.len() {
        return f(&dir.join(base));
    }
    buf[..dir_bytes.len()].copy_from_slice(dir_bytes);
    if slash == 1 {
        buf[dir_bytes.len()] = b'/';
    }
    buf[dir_bytes.len() + slash..len].copy_from_slice(base.as_bytes());
    f(Path::new(std::ffi::OsStr::from_bytes(&buf[..len])))
}

/// Opens (or with `CREATE | EXCL`, creates) a named object with the
/// access in `extra` (`RDONLY` or `RDWR`), never through a symlink.
fn open_object(
    location: &Location,
    name: &ShMemName,
    extra: OFlags,
    mode: u32,
) -> std::io::Result<OwnedFd> {
    let mode = Mode::from_raw_mode(mode as _);
    match location {
        Location::Dir(dir) => with_file_path(dir, name.base(), |p| open_file(p, extra, mode)),
        #[cfg(target_os = "linux")]
        Location::Shm => with_file_path(Path::new(DEV_SHM), name.base(), |p| {
            open_file(p, extra, mode)
        }),
        #[cfg(not(target_os = "linux"))]
        Location::Shm => {
            use rustix::shm::OFlags as ShmOFlags;
            let mut flags = if extra.contains(OFlags::RDWR) {
                ShmOFlags::RDWR
            } else {
                ShmOFlags::RDONLY
            };
            if extra.contains(OFlags::CREATE) {
                flags |= ShmOFlags::CREATE | ShmOFlags::EXCL;
            }
            Ok(rustix::shm::open(
                format!("/{}", name.os_base()),
                flags,
                mode,
            )?)
        }
    }
}

fn open_file(path: &Path, extra: OFlags, mode: Mode) -> std::io::Result<OwnedFd> {
    let flags = OFlags::NOFOLLOW | OFlags::CLOEXEC | extra;
    rustix::fs::open(path, flags, mode).map_err(|e| {
        if e == rustix::io::Errno::LOOP {
            std::io::Error::other(format!(
                "{} is a symbolic link; refusing to follow it",
                path.display()
            ))
        } else {
            e.into()
        }
    })
}

fn unlink_object(location: &Location, name: &ShMemName) -> std::io::Result<()> {
    let dir = match location {
        Location::Dir(dir) => dir.as_path(),
        #[cfg(target_os = "linux")]
        Location::Shm => Path::new(DEV_SHM),
        #[cfg(not(target_os = "linux"))]
        Location::Shm => return Ok(rustix::shm::unlink(format!("/{}", name.os_base()))?),
    };
    with_file_path(dir, name.base(), |path| Ok(rustix::fs::unlink(path)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_paths_are_what_path_join_makes() {
        let long = "d".repeat(300);
        for dir in ["/dev/shm", "/tmp/", "", "rel", long.as_str()] {
            let dir = Path::new(dir);
            let built = with_file_path(dir, "seg", Path::to_path_buf);
            assert_eq!(built, dir.join("seg"), "in {}", dir.display());
        }
    }
}
