//! Anonymous segments from `memfd_create`: nothing to clean up, ever.
//!
//! The kernel frees a memfd when its last descriptor and mapping are gone,
//! however the processes ended (SIGKILL included). Another process reopens
//! it through `/proc/PID/fd/FD` of a process that holds it, which the kernel
//! allows to the same user (ptrace read access); the inode in the id makes
//! sure a recycled descriptor number is not mistaken for the segment.
//!
//! Every process of the user that can open the segment could also resize
//! it (`ftruncate` through `/proc/PID/fd/N`), and a segment shrunk under its
//! holders kills them with SIGBUS on their next access. So the creator
//! seals it (`F_SEAL_SHRINK`, `F_SEAL_GROW`, then `F_SEAL_SEAL`): its size
//! is fixed for its whole life, for everyone, and a shrink fails with
//! `EPERM`.
//!
//! Creating one costs what the bare system calls cost (`memfd_create`,
//! `ftruncate`, `fcntl(F_ADD_SEALS)`, `mmap`): the pid and inode the id
//! carries are read when the id is first asked for, not before.

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::OnceLock;

use rustix::fs::{MemfdFlags, Mode, OFlags, SealFlags};

use crate::error::{Result, ShMemError, check_size};
use crate::id::ShMemId;
use crate::options::{HugePages, MapOptions};
use crate::readonly::ReadOnlyShMem;
use crate::unix::{Mapping, base_page, fd_stat, object_page, whole_or_fitting};
use crate::{ShMem, ShMemProvider};

/// Creates and reopens [`MemfdShMem`] segments.
#[derive(Clone, Debug, Default)]
pub struct MemfdShMemProvider {
    options: MapOptions,
}

impl MemfdShMemProvider {
    /// A provider that creates and maps segments as `options` ask:
    /// prefaulted, or backed by huge pages (see [`MapOptions`]).
    pub fn with_options(options: MapOptions) -> Self {
        MemfdShMemProvider { options }
    }

    /// The options segments are made with.
    pub fn options(&self) -> MapOptions {
        self.options
    }
}

/// A segment backed by a memfd.
#[derive(Debug)]
pub struct MemfdShMem {
    map: Mapping,
    /// Kept open so that other processes can reach the memfd through /proc.
    fd: OwnedFd,
    /// The process that holds `fd`, for the id; read on first use.
    pid: OnceLock<u32>,
    /// The memfd's inode, for the id; read on first use.
    inode: OnceLock<u64>,
}

impl MemfdShMem {
    /// Creates a segment of `size` bytes, zero-filled.
    pub fn create(size: usize) -> Result<Self> {
        Self::create_with(size, &MapOptions::new())
    }

    /// Creates a segment of `size` bytes, zero-filled, mapped as `options` ask.
    pub fn create_with(size: usize, options: &MapOptions) -> Result<Self> {
        let size = check_size(size)?;
        let hugetlb = options.huge_pages() == HugePages::Hugetlb;
        let flags = if hugetlb {
            MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING | MemfdFlags::HUGETLB
        } else {
            MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING
        };
        let fd = rustix::fs::memfd_create(c"shmem", flags).map_err(|e| {
            if hugetlb && e == rustix::io::Errno::INVAL {
                ShMemError::Unsupported {
                    what: "HugeTLB pages",
                    backend: "this kernel's memfd",
                }
            } else {
                ShMemError::os("memfd_create", "memfd", e.into())
            }
        })?;
        // A hugetlbfs file is sized and mapped in whole huge pages; its
        // block size is the huge page size.
        let page = if hugetlb {
            object_page(&fd, &fd_stat(&fd, &"memfd")?)
        } else {
            base_page()
        };
        rustix::fs::ftruncate(&fd, size.next_multiple_of(page) as u64)
            .map_err(|e| ShMemError::os("ftruncate", "memfd", e.into()))?;
        let sealed =
            rustix::fs::fcntl_add_seals(&fd, SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL);
        // Hugetlbfs files take seals from Linux 4.16 on; before, they go unsealed.
        if let Err(e) = sealed
            && !hugetlb
        {
            return Err(ShMemError::os("fcntl(F_ADD_SEALS)", "memfd", e.into()));
        }
        let map = Mapping::map_fd(&fd, size, page, options, &"memfd")?;
        Ok(MemfdShMem {
            map,
            fd,
            pid: OnceLock::new(),
            inode: OnceLock::new(),
        })
    }

    /// Maps `size` bytes of the segment `id` names, held by a live process.
    pub fn open(id: &ShMemId, size: usize) -> Result<Self> {
        Self::open_with(id, size, &MapOptions::new())
    }

    /// Maps `size` bytes of the segment `id` names, held by a live process,
    /// as `options` ask (a segment's page size is the creator's choice:
    /// [`HugePages::Hugetlb`] has no effect here).
    pub fn open_with(id: &ShMemId, size: usize, options: &MapOptions) -> Result<Self> {
        Self::open_at(id, Some(check_size(size)?), options)
    }

    /// Maps all of the segment `id` names, held by a live process.
    pub fn open_whole(id: &ShMemId, options: &MapOptions) -> Result<Self> {
        Self::open_at(id, None, options)
    }

    fn open_at(id: &ShMemId, size: Option<usize>, options: &MapOptions) -> Result<Self> {
        let ShMemId::Memfd { pid, fd, inode } = *id else {
            return Err(id.wrong_backend("memfd"));
        };
        // Written on the stack: an allocation would cost a few per cent here.
        let mut buf = [0u8; 48];
        let mut cursor = std::io::Cursor::new(&mut buf[..]);
        write!(cursor, "/proc/{pid}/fd/{fd}").expect("two numbers fit in 48 bytes");
        let len = cursor.position() as usize;
        let path = std::str::from_utf8(&buf[..len]).expect("written as text");
        let access = if options.is_read_only() {
            OFlags::RDONLY
        } else {
            OFlags::RDWR
        };
        let file = rustix::fs::open(path, access | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| ShMemError::os("open", format!("{id} ({path})"), e.into()))?;
        // One fstat for the identity, the size and the page size.
        let st = fd_stat(&file, id)?;
        if st.st_ino as u64 != inode {
            return Err(ShMemError::NotFound {
                segment: format!("{id} (fd {fd} of pid {pid} is now another file)"),
            });
        }
        let size = whole_or_fitting(st.st_size as u64, size, id)?;
        let map = Mapping::map_fd(&file, size, object_page(&file, &st), options, id)?;
        Ok(MemfdShMem {
            map,
            fd: file,
            pid: OnceLock::new(),
            inode: OnceLock::from(inode),
        })
    }
}

crate::segment_impls!(MemfdShMem);

impl ShMem for MemfdShMem {
    /// `memfd:PID:FD:INODE` of this process's descriptor (the process that
    /// first asks: after a `fork`, a child that asks first names itself).
    fn id(&self) -> ShMemId {
        let inode = *self.inode.get_or_init(|| {
            rustix::fs::fstat(&self.fd)
                .expect("fstat of a memfd this segment holds open cannot fail")
                .st_ino as u64
        });
        ShMemId::Memfd {
            pid: *self.pid.get_or_init(std::process::id),
            fd: self.fd.as_raw_fd(),
            inode,
        }
    }
}

impl ShMemProvider for MemfdShMemProvider {
    type ShMem = MemfdShMem;

    fn new() -> Result<Self> {
        Ok(MemfdShMemProvider::default())
    }

    fn new_shmem(&mut self, size: usize) -> Result<MemfdShMem> {
        MemfdShMem::create_with(size, &self.options)
    }

    fn shmem_from_id_and_size(&mut self, id: ShMemId, size: usize) -> Result<MemfdShMem> {
        MemfdShMem::open_with(&id, size, &self.options)
    }

    fn open_read_only(&mut self, id: ShMemId, size: usize) -> Result<ReadOnlyShMem<MemfdShMem>> {
        MemfdShMem::open_at(&id, Some(check_size(size)?), &self.options.read_only())
            .map(ReadOnlyShMem::new)
    }

    /// Maps all of the memfd, whose size its descriptor tells.
    fn shmem_from_id(&mut self, id: ShMemId) -> Result<MemfdShMem> {
        MemfdShMem::open_whole(&id, &self.options)
    }
}
