//! What this library does in a child right after `fork`, through one
//! `pthread_atfork` handler (async-signal-safe work only):
//!
//! - counts forks, so that a connection can tell it is now in a child
//!   with one atomic load instead of a `getpid` per request;
//! - swaps the listening sockets of services that run in the parent for
//!   `/dev/null`. The child has copies of them but not the parent's
//!   threads: were the copies kept, a child that outlives its parent would
//!   hold the name and accept nothing, and new clients would hang.
//!
//! Only forks through the C library's `fork` run the handler; a raw
//! `clone` system call does not.

use std::os::fd::RawFd;
use std::sync::Once;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

const SLOTS: usize = 16;
static LISTENERS: [AtomicI32; SLOTS] = [const { AtomicI32::new(-1) }; SLOTS];
static NULL_FD: AtomicI32 = AtomicI32::new(-1);
static GENERATION: AtomicU64 = AtomicU64::new(0);
static INSTALL: Once = Once::new();

extern "C" fn in_child() {
    GENERATION.fetch_add(1, Ordering::Relaxed);
    let null = NULL_FD.load(Ordering::Relaxed);
    if null < 0 {
        return;
    }
    for slot in &LISTENERS {
        let fd = slot.swap(-1, Ordering::Relaxed);
        if fd >= 0 {
            // SAFETY: dup2 and fcntl are async-signal-safe and touch only
            // descriptors: `fd` is a listener the parent's service thread owns,
            // now /dev/null in this child, closed by whoever closes `fd`.
            unsafe {
                libc::dup2(null, fd);
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
            }
        }
    }
}

/// Installs the handler, once per process.
pub(crate) fn install() {
    INSTALL.call_once(|| {
        if let Ok(null) = rustix::fs::open(
            "/dev/null",
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        ) {
            // Kept open for the life of the process, for the handler.
            NULL_FD.store(std::os::fd::IntoRawFd::into_raw_fd(null), Ordering::Relaxed);
        }
        // SAFETY: registers a handler that performs only async-signal-safe
        // work; there are no prepare or parent handlers.
        unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
    });
}

/// How many forks separate this process from the one that installed the
/// handler first: a value taken before and compared after tells a child.
pub(crate) fn generation() -> u64 {
    install();
    GENERATION.load(Ordering::Relaxed)
}

/// Registers a listening socket to be swapped out in children; `None` if
/// all slots are taken (a child then keeps its copy, as without this).
pub(crate) fn protect_listener(fd: RawFd) -> Option<usize> {
    install();
    LISTENERS.iter().position(|slot| {
        slot.compare_exchange(-1, fd, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    })
}

/// Unregisters a listener, before it is closed.
pub(crate) fn unprotect_listener(slot: usize) {
    LISTENERS[slot].store(-1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_taken_and_given_back() {
        let slot = protect_listener(1_000_000).unwrap();
        assert_eq!(LISTENERS[slot].load(Ordering::Relaxed), 1_000_000);
        unprotect_listener(slot);
        assert_eq!(LISTENERS[slot].load(Ordering::Relaxed), -1);
        assert_eq!(generation(), generation());
    }
}
