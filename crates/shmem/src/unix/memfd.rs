//! Anonymous segments from `memfd_create`: nothing to clean up, ever.
//!
//! The kernel frees a memfd when its last descriptor and mapping are gone,
//! however the processes ended (SIGKILL included). Another process reopens
//! it through `/proc/PID/fd/FD` of a process that holds it, which the kernel
//! allows to the same user (ptrace read access); the inode in the id makes
//! sure a recycled descriptor number is not mistaken for the segment.

use std::os::fd::{AsRawFd, OwnedFd};

use rustix::fs::{MemfdFlags, Mode, OFlags};

use crate::error::{Result, ShMemError, check_size};
use crate::id::ShMemId;
use crate::unix::{Mapping, check_fits, fd_size};
use crate::{ShMem, ShMemProvider};

/// Creates and reopens [`MemfdShMem`] segments.
#[derive(Clone, Debug, Default)]
pub struct MemfdShMemProvider;

/// A segment backed by a memfd.
#[derive(Debug)]
pub struct MemfdShMem {
    map: Mapping,
    id: ShMemId,
    // Kept open so that other processes can reach the memfd through /proc.
    _fd: OwnedFd,
}

impl MemfdShMem {
    fn from_fd(fd: OwnedFd, size: usize) -> Result<Self> {
        let st = rustix::fs::fstat(&fd).map_err(|e| ShMemError::os("fstat", "memfd", e.into()))?;
        let id = ShMemId::Memfd {
            pid: rustix::process::getpid().as_raw_nonzero().get() as u32,
            fd: fd.as_raw_fd(),
            inode: st.st_ino as u64,
        };
        let map = Mapping::map_fd(&fd, size, &id)?;
        Ok(MemfdShMem { map, id, _fd: fd })
    }

    /// Creates a segment of `size` bytes, zero-filled.
    pub fn create(size: usize) -> Result<Self> {
        let size = check_size(size)?;
        let fd = rustix::fs::memfd_create("shmem", MemfdFlags::CLOEXEC)
            .map_err(|e| ShMemError::os("memfd_create", "memfd", e.into()))?;
        rustix::fs::ftruncate(&fd, size as u64)
            .map_err(|e| ShMemError::os("ftruncate", "memfd", e.into()))?;
        Self::from_fd(fd, size)
    }

    /// Maps `size` bytes of the segment `id` names, held by a live process.
    pub fn open(id: &ShMemId, size: usize) -> Result<Self> {
        let ShMemId::Memfd { pid, fd, inode } = *id else {
            return Err(id.wrong_backend("memfd"));
        };
        let size = check_size(size)?;
        let path = format!("/proc/{pid}/fd/{fd}");
        let file = rustix::fs::open(&path, OFlags::RDWR | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| ShMemError::os("open", format!("{id} ({path})"), e.into()))?;
        let st = rustix::fs::fstat(&file)
            .map_err(|e| ShMemError::os("fstat", id.to_string(), e.into()))?;
        if st.st_ino as u64 != inode {
            return Err(ShMemError::NotFound {
                segment: format!("{id} (fd {fd} of pid {pid} is now another file)"),
            });
        }
        check_fits(fd_size(&file, id)?, size, id)?;
        Self::from_fd(file, size)
    }
}

crate::segment_impls!(MemfdShMem);

impl ShMem for MemfdShMem {
    fn id(&self) -> ShMemId {
        self.id.clone()
    }
}

impl ShMemProvider for MemfdShMemProvider {
    type ShMem = MemfdShMem;

    fn new() -> Result<Self> {
        Ok(MemfdShMemProvider)
    }

    fn new_shmem(&mut self, size: usize) -> Result<MemfdShMem> {
        MemfdShMem::create(size)
    }

    fn shmem_from_id_and_size(&mut self, id: ShMemId, size: usize) -> Result<MemfdShMem> {
        MemfdShMem::open(&id, size)
    }
}
