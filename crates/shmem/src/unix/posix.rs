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
//! called, and only if the name still points at the object it created.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

use crate::error::{Result, ShMemError, check_size};
use crate::id::ShMemId;
use crate::name::{ShMemName, unique_name};
use crate::unix::{Mapping, check_fits, fd_size};
use crate::{ShMem, ShMemProvider};

/// Where a named object lives.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Location {
    /// The system's POSIX shared memory namespace.
    Shm,
    /// A directory chosen by the caller.
    Dir(PathBuf),
}

/// A named segment: a POSIX shared memory object or a file in a directory.
#[derive(Debug)]
pub struct PosixShMem {
    map: Mapping,
    name: ShMemName,
    location: Location,
    /// Identity of the object we created, when we are to remove it on drop.
    remove_on_drop: Option<(u64, u64)>,
}

/// Permission bits of created objects: the owner only, unless widened.
pub const DEFAULT_MODE: u32 = 0o600;

impl PosixShMem {
    /// Creates the POSIX object `name` of `size` bytes, readable and writable
    /// by this user only. Fails with [`ShMemError::AlreadyExists`] if the name is taken.
    pub fn create(name: &str, size: usize) -> Result<Self> {
        Self::create_at(Location::Shm, ShMemName::new(name)?, size, DEFAULT_MODE)
    }

    /// Creates `dir/NAME` (NAME being the name's [`base`](ShMemName::base))
    /// of `size` bytes with the permission bits `mode`, and maps it.
    pub fn create_in(dir: &Path, name: &str, size: usize, mode: u32) -> Result<Self> {
        Self::create_at(
            Location::Dir(dir.to_owned()),
            ShMemName::new(name)?,
            size,
            mode,
        )
    }

    /// Opens the existing POSIX object `name` and maps all of it.
    pub fn open(name: &str) -> Result<Self> {
        Self::open_at(Location::Shm, ShMemName::new(name)?, None, false)
    }

    /// Opens the existing POSIX object `name` and maps its first `size` bytes.
    pub fn open_with_size(name: &str, size: usize) -> Result<Self> {
        Self::open_at(Location::Shm, ShMemName::new(name)?, Some(size), false)
    }

    /// Opens the existing file `dir/NAME` and maps all of it.
    pub fn open_in(dir: &Path, name: &str) -> Result<Self> {
        Self::open_at(
            Location::Dir(dir.to_owned()),
            ShMemName::new(name)?,
            None,
            false,
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
        )
    }

    /// The segment's name.
    pub fn name(&self) -> &ShMemName {
        &self.name
    }

    /// Whether this value created the object and will remove it on drop.
    pub fn is_owner(&self) -> bool {
        self.remove_on_drop.is_some()
    }

    /// Leaves the object in place when this value drops, for others to open later.
    pub fn keep(&mut self) {
        self.remove_on_drop = None;
    }

    /// The file this segment lives in, where it is a file.
    pub fn path(&self) -> Option<PathBuf> {
        match &self.location {
            Location::Dir(dir) => Some(dir.join(self.name.base())),
            Location::Shm if cfg!(target_os = "linux") => {
                Some(Path::new("/dev/shm").join(self.name.base()))
            }
            Location::Shm => None,
        }
    }

    fn create_at(location: Location, name: ShMemName, size: usize, mode: u32) -> Result<Self> {
        let size = check_size(size)?;
        let label = label(&location, &name);
        let fd = open_object(&location, &name, OFlags::CREATE | OFlags::EXCL, mode)
            .map_err(|e| ShMemError::os("create", &label, e))?;
        let sized_and_mapped = identity(&fd)
            .and_then(|created| {
                rustix::fs::ftruncate(&fd, size as u64)?;
                Ok(created)
            })
            .map_err(|e| ShMemError::os("ftruncate", &label, e))
            .and_then(|created| Ok((created, Mapping::map_fd(&fd, size, &label)?)));
        match sized_and_mapped {
            Ok((created, map)) => Ok(PosixShMem {
                map,
                name,
                location,
                remove_on_drop: Some(created),
            }),
            Err(e) => {
                // Leave nothing behind: the name is ours, we just made it.
                let _ = unlink_object(&location, &name);
                Err(e)
            }
        }
    }

    fn open_at(
        location: Location,
        name: ShMemName,
        size: Option<usize>,
        own_only: bool,
    ) -> Result<Self> {
        let label = label(&location, &name);
        let fd = open_object(&location, &name, OFlags::empty(), 0)
            .map_err(|e| ShMemError::os("open", &label, e))?;
        if own_only {
            // Checked on the descriptor: what we map is what we checked.
            let owner = rustix::fs::fstat(&fd)
                .map_err(|e| ShMemError::os("fstat", &label, e.into()))?
                .st_uid;
            if owner != rustix::process::geteuid().as_raw() {
                return Err(ShMemError::NotOwned {
                    segment: label,
                    owner,
                });
            }
        }
        let actual = fd_size(&fd, &label)?;
        let size = match size {
            Some(size) => {
                let size = check_size(size)?;
                check_fits(actual, size, &label)?;
                size
            }
            None => check_size(usize::try_from(actual).map_err(|_| ShMemError::TooLarge {
                size: actual,
                max: isize::MAX as u64,
            })?)
            .map_err(|_| ShMemError::TooSmall {
                segment: label.clone(),
                actual,
                requested: 1,
            })?,
        };
        Ok(PosixShMem {
            map: Mapping::map_fd(&fd, size, &label)?,
            name,
            location,
            remove_on_drop: None,
        })
    }
}

impl Drop for PosixShMem {
    fn drop(&mut self) {
        if let Some(created) = self.remove_on_drop {
            // Remove the name only if it still points at what we created: someone
            // may have removed ours and made another under the same name.
            if let Ok(fd) = open_object(&self.location, &self.name, OFlags::empty(), 0)
                && identity(&fd).is_ok_and(|now| now == created)
            {
                let _ = unlink_object(&self.location, &self.name);
            }
        }
    }
}

crate::segment_impls!(PosixShMem);

impl ShMem for PosixShMem {
    fn id(&self) -> ShMemId {
        match &self.location {
            Location::Shm => ShMemId::Posix(self.name.clone()),
            Location::Dir(dir) => ShMemId::File(dir.join(self.name.base())),
        }
    }
}

fn label(location: &Location, name: &ShMemName) -> String {
    match location {
        Location::Shm => format!("posix:{name}"),
        Location::Dir(dir) => dir.join(name.base()).display().to_string(),
    }
}

/// Device and inode: what tells one file from another under the same name.
fn identity(fd: &OwnedFd) -> std::io::Result<(u64, u64)> {
    let st = rustix::fs::fstat(fd)?;
    Ok((st.st_dev as u64, st.st_ino as u64))
}

/// Opens (or with `CREATE | EXCL`, creates) a named object read-write,
/// never through a symlink.
fn open_object(
    location: &Location,
    name: &ShMemName,
    extra: OFlags,
    mode: u32,
) -> std::io::Result<OwnedFd> {
    let mode = Mode::from_raw_mode(mode as _);
    match location {
        Location::Dir(dir) => open_file(&dir.join(name.base()), extra, mode),
        #[cfg(target_os = "linux")]
        Location::Shm => open_file(&Path::new("/dev/shm").join(name.base()), extra, mode),
        #[cfg(not(target_os = "linux"))]
        Location::Shm => {
            use rustix::shm::OFlags as ShmOFlags;
            let mut flags = ShmOFlags::RDWR;
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
    let flags = OFlags::RDWR | OFlags::NOFOLLOW | OFlags::CLOEXEC | extra;
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
    match location {
        Location::Dir(dir) => Ok(rustix::fs::unlink(dir.join(name.base()))?),
        #[cfg(target_os = "linux")]
        Location::Shm => Ok(rustix::fs::unlink(Path::new("/dev/shm").join(name.base()))?),
        #[cfg(not(target_os = "linux"))]
        Location::Shm => Ok(rustix::shm::unlink(format!("/{}", name.os_base()))?),
    }
}

/// Creates [`PosixShMem`] segments under fresh unique names, and reopens
/// them (or any named object) by id.
#[derive(Clone, Debug, Default)]
pub struct PosixShMemProvider;

impl ShMemProvider for PosixShMemProvider {
    type ShMem = PosixShMem;

    fn new() -> Result<Self> {
        Ok(PosixShMemProvider)
    }

    fn new_shmem(&mut self, size: usize) -> Result<PosixShMem> {
        loop {
            match PosixShMem::create(&unique_name("shmem"), size) {
                Err(ShMemError::AlreadyExists { .. }) => continue,
                other => return other,
            }
        }
    }

    fn shmem_from_id_and_size(&mut self, id: ShMemId, size: usize) -> Result<PosixShMem> {
        match id {
            ShMemId::Posix(name) => PosixShMem::open_at(Location::Shm, name, Some(size), false),
            ShMemId::File(path) => {
                let (Some(dir), Some(base)) = (path.parent(), path.file_name()) else {
                    return Err(id_error(&path));
                };
                let name = ShMemName::new(&base.to_string_lossy())?;
                PosixShMem::open_at(Location::Dir(dir.to_owned()), name, Some(size), false)
            }
            other => Err(other.wrong_backend("posix")),
        }
    }
}

fn id_error(path: &Path) -> ShMemError {
    ShMemError::InvalidId {
        id: format!("file:{}", path.display()),
        reason: "the path has no file name".into(),
    }
}
