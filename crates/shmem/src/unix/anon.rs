//! Anonymous shared memory objects, known by descriptor only: what the
//! segment service creates and passes to its clients.
//!
//! | OS | object | notes |
//! |---|---|---|
//! | Linux | `memfd_create`, sealed against shrinking and growing | no client can truncate it under the others (no SIGBUS) |
//! | Android | ashmem, else `memfd_create` | apps targeting Android 10+ may not open `/dev/ashmem` |
//! | FreeBSD | `shm_open(SHM_ANON)` | no name, ever |
//! | macOS, other Unix | `shm_open` of a fresh unique name, unlinked at once | the name exists for a few microseconds |
//!
//! Every one is freed by the kernel when its last descriptor and mapping
//! are gone, whoever held them and however they ended.

use std::os::fd::OwnedFd;

use crate::error::{Result, ShMemError};

/// A new anonymous object of `size` bytes, zero-filled, close-on-exec.
pub(crate) fn create(size: usize) -> Result<OwnedFd> {
    imp::create(size)
}

/// The size of the object `fd`, as far as mapping it goes.
pub(crate) fn size(fd: impl std::os::fd::AsFd) -> Result<u64> {
    #[cfg(target_os = "android")]
    if let Some(size) = crate::unix::ashmem::size(fd.as_fd()) {
        return Ok(size);
    }
    crate::unix::fd_size(fd, &"served segment")
}

#[cfg(linux_like)]
mod imp {
    use super::*;
    use rustix::fs::{MemfdFlags, SealFlags};

    pub(super) fn create(size: usize) -> Result<OwnedFd> {
        #[cfg(target_os = "android")]
        if let Ok(fd) = crate::unix::ashmem::create(size) {
            return Ok(fd);
        }
        let fd = rustix::fs::memfd_create(
            "shmem-served",
            MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
        )
        .map_err(|e| ShMemError::os("memfd_create", "served segment", e.into()))?;
        rustix::fs::ftruncate(&fd, size as u64)
            .map_err(|e| ShMemError::os("ftruncate", "served segment", e.into()))?;
        // Clients get this very descriptor: sealed, none of them can change
        // the size the others mapped. (Kernels without sealing: best effort.)
        let _ =
            rustix::fs::fcntl_add_seals(&fd, SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL);
        Ok(fd)
    }
}

#[cfg(target_os = "freebsd")]
mod imp {
    use super::*;
    use std::os::fd::FromRawFd;

    pub(super) fn create(size: usize) -> Result<OwnedFd> {
        // SAFETY: SHM_ANON is the documented sentinel for an anonymous object;
        // no memory is read through it. The call only returns a descriptor.
        // (No O_CLOEXEC: old kernels refuse it; new ones set it regardless.)
        let raw = unsafe { libc::shm_open(libc::SHM_ANON, libc::O_RDWR | libc::O_CREAT, 0o600) };
        if raw < 0 {
            return Err(ShMemError::os(
                "shm_open(SHM_ANON)",
                "served segment",
                std::io::Error::last_os_error(),
            ));
        }
        // SAFETY: a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::CLOEXEC)
            .map_err(|e| ShMemError::os("fcntl(FD_CLOEXEC)", "served segment", e.into()))?;
        rustix::fs::ftruncate(&fd, size as u64)
            .map_err(|e| ShMemError::os("ftruncate", "served segment", e.into()))?;
        Ok(fd)
    }
}

#[cfg(not(cmsg_cloexec))]
mod imp {
    use super::*;
    use crate::name::ShMemName;
    use rustix::fs::Mode;
    use rustix::shm::OFlags;

    pub(super) fn create(size: usize) -> Result<OwnedFd> {
        loop {
            let name = ShMemName::unique("shmem");
            let path = format!("/{}", name.os_base());
            let fd = match rustix::shm::open(
                &path,
                OFlags::RDWR | OFlags::CREATE | OFlags::EXCL,
                Mode::from_raw_mode(0o600),
            ) {
                Err(rustix::io::Errno::EXIST) => continue,
                Err(e) => return Err(ShMemError::os("shm_open", path, e.into())),
                Ok(fd) => fd,
            };
            // Nameless from here on: nothing to leak, whatever happens next.
            let _ = rustix::shm::unlink(&path);
            rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::CLOEXEC)
                .map_err(|e| ShMemError::os("fcntl(FD_CLOEXEC)", &path, e.into()))?;
            rustix::fs::ftruncate(&fd, size as u64)
                .map_err(|e| ShMemError::os("ftruncate", &path, e.into()))?;
            return Ok(fd);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_objects_have_their_size_and_no_name() {
        let fd = create(3 * 4096 + 5).unwrap();
        assert!(size(&fd).unwrap() >= 3 * 4096 + 5);
        #[cfg(target_os = "linux")]
        {
            let st = rustix::fs::fstat(&fd).unwrap();
            assert_eq!(st.st_size, 3 * 4096 + 5);
            let target = std::fs::read_link(format!(
                "/proc/self/fd/{}",
                std::os::fd::AsRawFd::as_raw_fd(&fd)
            ))
            .unwrap();
            assert!(
                target.to_string_lossy().starts_with("/memfd:shmem-served"),
                "{target:?}"
            );
            assert!(
                rustix::fs::ftruncate(&fd, 1).is_err(),
                "sealed against shrinking"
            );
        }
    }
}
