//! Unix backends and the mapping they share.

use std::os::fd::AsFd;
use std::ptr::NonNull;

use rustix::mm::{MapFlags, ProtFlags};

use crate::bytes::ShBytes;
use crate::error::{Result, ShMemError};

pub(crate) mod anon;
#[cfg(any(target_os = "linux", target_os = "android"))]
#[cfg_attr(not(target_os = "android"), allow(dead_code))]
pub(crate) mod ashmem;
pub(crate) mod fork;
#[cfg(any(target_os = "linux", target_os = "android"))]
pub mod memfd;
#[cfg(not(target_os = "android"))]
pub mod posix;
#[cfg(not(target_os = "android"))]
pub mod sysv;

/// How a mapping is given back to the kernel.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Release {
    /// `munmap`, for `mmap`ed files and memfds.
    Munmap,
    /// `shmdt`, for SysV attachments.
    #[cfg_attr(target_os = "android", allow(dead_code))]
    Shmdt,
}

/// A live mapping of `len` bytes, unmapped on drop.
#[derive(Debug)]
pub(crate) struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
    release: Release,
}

// SAFETY: the mapping is plain memory owned by this value; moving it to another
// thread moves nothing thread-bound, and all access goes through `ShBytes`.
unsafe impl Send for Mapping {}
// SAFETY: shared access is only through `ShBytes`, which is `Sync`.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps the first `len` bytes of `fd` shared, readable and writable.
    pub(crate) fn map_fd(
        fd: impl AsFd,
        len: usize,
        segment: &dyn std::fmt::Display,
    ) -> Result<Self> {
        // SAFETY: a new mapping at an address the kernel picks aliases no Rust
        // object; it is only reached through `ShBytes` and unmapped on drop.
        let ptr = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                fd,
                0,
            )
        }
        .map_err(|e| ShMemError::os("mmap", segment.to_string(), e.into()))?;
        Ok(Mapping {
            ptr: NonNull::new(ptr.cast()).expect("mmap never returns null on success"),
            len,
            release: Release::Munmap,
        })
    }

    /// Takes ownership of memory attached some other way.
    ///
    /// # Safety
    /// `ptr` must be a live attachment of `len` bytes, readable and writable,
    /// that `release` gives back, and nothing else may release it.
    #[cfg_attr(target_os = "android", allow(dead_code))]
    pub(crate) unsafe fn from_raw(ptr: NonNull<u8>, len: usize, release: Release) -> Self {
        Mapping { ptr, len, release }
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
                let _ = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast(), self.len) };
            }
            Release::Shmdt => {
                #[cfg(not(target_os = "android"))]
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
    let st = rustix::fs::fstat(fd)
        .map_err(|e| ShMemError::os("fstat", segment.to_string(), e.into()))?;
    Ok(st.st_size as u64)
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
