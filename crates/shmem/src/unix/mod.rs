//! Unix backends and the mapping they share.

use std::os::fd::AsFd;
use std::ptr::NonNull;

use rustix::mm::{MapFlags, ProtFlags};

use crate::bytes::ShBytes;
use crate::error::{Result, ShMemError};
use crate::options::{HugePages, MapOptions};

pub(crate) mod anon;
#[cfg(linux_like)]
#[cfg_attr(not(target_os = "android"), allow(dead_code))]
pub(crate) mod ashmem;
#[cfg(named_unix)]
pub mod file;
pub(crate) mod fork;
#[cfg(linux_like)]
pub mod memfd;
#[cfg(named_unix)]
pub mod posix;
#[cfg(named_unix)]
pub mod sysv;

/// How a mapping is given back to the kernel.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Release {
    /// `munmap`, for `mmap`ed files and memfds.
    Munmap,
    /// `shmdt`, for SysV attachments.
    #[cfg_attr(not(named_unix), allow(dead_code))]
    Shmdt,
}

/// A live mapping of `len` bytes, unmapped on drop.
#[derive(Debug)]
pub(crate) struct Mapping {
    ptr: NonNull<u8>,
    /// What the segment shows.
    len: usize,
    /// What is mapped: `len` rounded up to whole pages of the object, which
    /// for hugetlbfs objects are huge pages that must be unmapped whole.
    map_len: usize,
    release: Release,
}

// SAFETY: the mapping is plain memory owned by this value; moving it to another
// thread moves nothing thread-bound, and all access goes through `ShBytes`.
unsafe impl Send for Mapping {}
// SAFETY: shared access is only through `ShBytes`, which is `Sync`.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps the first `len` bytes of `fd` shared, readable and writable
    /// (readable only, where `options` ask for a read-only mapping), as
    /// `options` ask. `page` is the object's page size ([`object_page`]):
    /// the mapping spans whole pages of it.
    pub(crate) fn map_fd(
        fd: impl AsFd,
        len: usize,
        page: usize,
        options: &MapOptions,
        segment: &dyn std::fmt::Display,
    ) -> Result<Self> {
        let map_len = len.next_multiple_of(page);
        // SAFETY: a new mapping at an address the kernel picks aliases no Rust
        // object; it is only reached through `ShBytes` and unmapped on drop.
        let ptr = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                map_len,
                if options.is_read_only() {
                    ProtFlags::READ
                } else {
                    ProtFlags::READ | ProtFlags::WRITE
                },
                MapFlags::SHARED,
                fd,
                0,
            )
        }
        .map_err(|e| {
            // A hugetlb mapping reserves its pages here: ENOMEM is an empty pool.
            if e == rustix::io::Errno::NOMEM && page > base_page() {
                ShMemError::NoHugePages {
                    segment: segment.to_string(),
                    size: map_len as u64,
                }
            } else {
                ShMemError::os("mmap", segment.to_string(), e.into())
            }
        })?;
        let map = Mapping {
            ptr: NonNull::new(ptr.cast()).expect("mmap never returns null on success"),
            len,
            map_len,
            release: Release::Munmap,
        };
        map.apply(options, segment)?;
        Ok(map)
    }

    /// Puts `options` into effect on a fresh mapping: the huge page hint,
    /// then prefaulting (which must come after it to get huge pages).
    pub(crate) fn apply(
        &self,
        options: &MapOptions,
        segment: &dyn std::fmt::Display,
    ) -> Result<()> {
        if options.huge_pages() == HugePages::Transparent {
            #[cfg(linux_like)]
            // SAFETY: advice on our own mapping; it changes no byte. A kernel
            // without transparent huge pages refuses it, which is no error: the
            // option is a hint.
            let _ = unsafe {
                rustix::mm::madvise(
                    self.ptr.as_ptr().cast(),
                    self.map_len,
                    rustix::mm::Advice::LinuxHugepage,
                )
            };
        }
        // Prefaulting writes; a read-only mapping is faulted in as it is read.
        if options.prefault() && !options.is_read_only() {
            prefault(self.bytes(), segment)?;
        }
        Ok(())
    }

    /// Takes ownership of memory attached some other way.
    ///
    /// # Safety
    /// `ptr` must be a live attachment of `len` bytes, readable and writable,
    /// that `release` gives back, and nothing else may release it.
    #[cfg_attr(not(named_unix), allow(dead_code))]
    pub(crate) unsafe fn from_raw(ptr: NonNull<u8>, len: usize, release: Release) -> Self {
        Mapping {
            ptr,
            len,
            map_len: len,
            release,
        }
    }

    pub(crate) fn bytes(&self) -> &ShBytes {
        // SAFETY: the mapping is live, `len` bytes long, until `self` drops.
        unsafe { ShBytes::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    pub(crate) fn bytes_mut(&mut self) -> &mut ShBytes {
        // SAFETY: as for `bytes`; `&mut self` makes this view the only one through
        // this mapping (other mappings are other addresses).
        unsafe { ShBytes::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        match self.release {
            Release::Munmap => {
                // SAFETY: we own this mapping and no borrow of it outlives `self`.
                // An error could only mean the range is not mapped: nothing to undo.
                let _ = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast(), self.map_len) };
            }
            Release::Shmdt => {
                #[cfg(named_unix)]
                // SAFETY: `ptr` is our own attachment, not borrowed beyond `self`.
                unsafe {
                    libc::shmdt(self.ptr.as_ptr().cast());
                }
            }
        }
    }
}

/// Size of a file descriptor's object, from `fstat`.
pub(crate) fn fd_size(fd: impl AsFd, segment: &dyn std::fmt::Display) -> Result<u64> {
    Ok(fd_stat(fd, segment)?.st_size as u64)
}

/// `fstat` of a segment's object.
pub(crate) fn fd_stat(fd: impl AsFd, segment: &dyn std::fmt::Display) -> Result<rustix::fs::Stat> {
    rustix::fs::fstat(fd).map_err(|e| ShMemError::os("fstat", segment.to_string(), e.into()))
}

/// The system's base page size.
pub(crate) fn base_page() -> usize {
    rustix::param::page_size()
}

/// The page size an object is mapped in: its huge page size for a file of
/// hugetlbfs (a memfd made with `MFD_HUGETLB`), which must be mapped and
/// unmapped in whole huge pages; the base page otherwise. Costs a system
/// call only when the block size hints at huge pages (tmpfs with
/// transparent huge pages reports 2 MiB blocks too, and is not hugetlbfs).
pub(crate) fn object_page(fd: impl AsFd, stat: &rustix::fs::Stat) -> usize {
    let base = base_page();
    let block = usize::try_from(stat.st_blksize).unwrap_or(0);
    #[cfg(linux_like)]
    if block > base && block.is_power_of_two() {
        /// `HUGETLBFS_MAGIC` of `<linux/magic.h>`.
        const HUGETLBFS_MAGIC: u64 = 0x9584_58f6;
        // `f_type` is signed on some targets and unsigned on others.
        #[allow(clippy::unnecessary_cast)]
        if rustix::fs::fstatfs(fd).is_ok_and(|fs| fs.f_type as u64 & 0xffff_ffff == HUGETLBFS_MAGIC)
        {
            return block;
        }
    }
    #[cfg(not(linux_like))]
    let _ = (fd, block);
    base
}

/// Faults in every page of `bytes`, without changing any.
///
/// Linux 5.14 and later do it in one call, `madvise(MADV_POPULATE_WRITE)`,
/// which reports failure (memory exhausted, a tmpfs full) as an error;
/// elsewhere each page gets an atomic `fetch_or(0)`, a write that changes
/// nothing, races with no other writer, and faults the page in writable.
fn prefault(bytes: &ShBytes, segment: &dyn std::fmt::Display) -> Result<()> {
    let page = base_page();
    #[cfg(linux_like)]
    {
        // SAFETY: populating changes no byte; the range is our mapping, rounded
        // up to its last page, which the mapping covers.
        let populated = unsafe {
            rustix::mm::madvise(
                bytes.as_mut_ptr().cast(),
                bytes.len().next_multiple_of(page),
                rustix::mm::Advice::LinuxPopulateWrite,
            )
        };
        match populated {
            Ok(()) => return Ok(()),
            // Before Linux 5.14: not known; fall back to touching.
            Err(rustix::io::Errno::INVAL) => {}
            Err(e) => {
                let op = if e == rustix::io::Errno::FAULT || e == rustix::io::Errno::NOMEM {
                    "prefaulting its pages (memory or tmpfs space ran out)"
                } else {
                    "prefaulting its pages (madvise MADV_POPULATE_WRITE)"
                };
                return Err(ShMemError::os(op, segment.to_string(), e.into()));
            }
        }
    }
    #[cfg(not(linux_like))]
    let _ = segment;
    for offset in (0..bytes.len()).step_by(page) {
        // SAFETY: the mapping is being made: nothing else in this process
        // reaches it yet, so no access of another size can overlap.
        unsafe { bytes.atomic::<std::sync::atomic::AtomicU8>(offset) }
            .expect("a byte in bounds is always aligned")
            .fetch_or(0, std::sync::atomic::Ordering::Relaxed);
    }
    Ok(())
}

/// The length to map of an object of `actual` bytes: `size` if it fits
/// ([`check_fits`]), all of it if no size was asked for.
pub(crate) fn whole_or_fitting(
    actual: u64,
    size: Option<usize>,
    segment: &dyn std::fmt::Display,
) -> Result<usize> {
    match size {
        Some(size) => {
            check_fits(actual, size, segment)?;
            Ok(size)
        }
        None => match usize::try_from(actual) {
            Ok(0) => Err(ShMemError::TooSmall {
                segment: segment.to_string(),
                actual,
                requested: 1,
            }),
            Ok(len) => crate::error::check_size(len),
            Err(_) => Err(ShMemError::TooLarge {
                size: actual,
                max: isize::MAX as u64,
            }),
        },
    }
}

/// Refuses to map more than the object holds: touching past its end raises SIGBUS.
pub(crate) fn check_fits(
    actual: u64,
    requested: usize,
    segment: &dyn std::fmt::Display,
) -> Result<()> {
    if actual < requested as u64 {
        return Err(ShMemError::TooSmall {
            segment: segment.to_string(),
            actual,
            requested: requested as u64,
        });
    }
    Ok(())
}
