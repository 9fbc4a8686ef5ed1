//! Android's ashmem: anonymous regions made by the `/dev/ashmem` driver.
//!
//! Each `open` of the device is a new region; `ASHMEM_SET_SIZE` fixes its
//! size before the first `mmap`. A region has no name another process can
//! open it by (opening `/proc/PID/fd/N` of an ashmem descriptor opens the
//! device again, a new region), so it is shared by passing the descriptor:
//! the segment service ([`crate::ServedShMemProvider`]) does that. The
//! kernel frees a region with its last descriptor and mapping, crash or not.
//!
//! Android 10 and later name the device `/dev/ashmem<boot id>` and keep
//! `/dev/ashmem` for old apps; apps that target Android 10 may not open
//! either, which is why the service falls back to `memfd_create`.
//!
//! # References
//! - [`ashmem.h`](https://android.googlesource.com/kernel/common/+/refs/heads/android-mainline/drivers/staging/android/uapi/ashmem.h)

use std::ffi::c_void;
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{Mode, OFlags};
use rustix::ioctl::{IntegerSetter, Ioctl, IoctlOutput, Opcode, Setter, opcode};

use crate::error::{Result, ShMemError};

const ASHMEMIOC: u8 = 0x77;
const ASHMEM_NAME_LEN: usize = 256;
const ASHMEM_SET_NAME: Opcode = opcode::write::<[u8; ASHMEM_NAME_LEN]>(ASHMEMIOC, 1);
const ASHMEM_SET_SIZE: Opcode = opcode::write::<usize>(ASHMEMIOC, 3);
const ASHMEM_GET_SIZE: Opcode = opcode::none(ASHMEMIOC, 4);

/// Where the driver lives: the boot-id name first (Android 10+), then the old one.
fn device_paths() -> Vec<String> {
    let mut paths = Vec::with_capacity(2);
    if let Ok(boot_id) = std::fs::read_to_string("/proc/sys/kernel/random/boot_id") {
        paths.push(format!("/dev/ashmem{}", boot_id.trim()));
    }
    paths.push("/dev/ashmem".to_owned());
    paths
}

/// A new ashmem region of `size` bytes (named `shmem` in `/proc/PID/maps`).
pub(crate) fn create(size: usize) -> Result<OwnedFd> {
    let mut last = None;
    for path in device_paths() {
        match rustix::fs::open(&path, OFlags::RDWR | OFlags::CLOEXEC, Mode::empty()) {
            Ok(fd) => return set_up(fd, size, &path),
            Err(e) => last = Some((path, e)),
        }
    }
    let (path, e) = last.expect("device_paths is never empty");
    Err(ShMemError::os("open", format!("ashmem ({path})"), e.into()))
}

fn set_up(fd: OwnedFd, size: usize, path: &str) -> Result<OwnedFd> {
    let mut name = [0u8; ASHMEM_NAME_LEN];
    name[..5].copy_from_slice(b"shmem");
    // SAFETY: ASHMEM_SET_NAME reads a NUL-terminated name from a 256-byte
    // buffer, which `Setter` passes by pointer and keeps alive for the call.
    // A failure only leaves the default name.
    let _ = unsafe { rustix::ioctl::ioctl(&fd, Setter::<ASHMEM_SET_NAME, _>::new(name)) };
    // SAFETY: ASHMEM_SET_SIZE takes the size by value, as an integer.
    unsafe { rustix::ioctl::ioctl(&fd, IntegerSetter::<ASHMEM_SET_SIZE>::new_usize(size)) }
        .map_err(|e| {
            ShMemError::os(
                "ioctl(ASHMEM_SET_SIZE)",
                format!("ashmem ({path})"),
                e.into(),
            )
        })?;
    Ok(fd)
}

/// `ASHMEM_GET_SIZE`: no argument, the size is the call's result.
struct GetSize;

// SAFETY: the opcode takes no argument (no pointer is passed), and the call's
// result is the region's size, which `output_from_ptr` returns as is.
unsafe impl Ioctl for GetSize {
    type Output = IoctlOutput;
    const IS_MUTATING: bool = false;

    fn opcode(&self) -> Opcode {
        ASHMEM_GET_SIZE
    }

    fn as_ptr(&mut self) -> *mut c_void {
        std::ptr::null_mut()
    }

    unsafe fn output_from_ptr(
        out: IoctlOutput,
        _extract_output: *mut c_void,
    ) -> rustix::io::Result<IoctlOutput> {
        Ok(out)
    }
}

/// The size of the ashmem region `fd`, or `None` if it is not one.
pub(crate) fn size(fd: impl AsFd) -> Option<u64> {
    // SAFETY: `GetSize` describes ASHMEM_GET_SIZE exactly; on a descriptor of
    // another driver the opcode is unknown and the call fails with ENOTTY.
    let size = unsafe { rustix::ioctl::ioctl(fd, GetSize) }.ok()?;
    u64::try_from(size).ok().filter(|&s| s > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_the_driver_creation_is_a_typed_error() {
        if device_paths()
            .iter()
            .any(|p| std::path::Path::new(p).exists())
        {
            let fd = create(8192).unwrap();
            assert_eq!(size(&fd), Some(8192));
            return;
        }
        let err = create(4096).unwrap_err();
        assert!(matches!(err, ShMemError::NotFound { .. }), "{err}");
        assert!(err.to_string().contains("/dev/ashmem"), "{err}");
    }

    #[test]
    fn other_descriptors_are_not_ashmem() {
        let file = std::fs::File::open("/proc/self/stat").unwrap();
        assert_eq!(size(&file), None);
    }
}
