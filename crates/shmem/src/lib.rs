//! Shared memory that is simple, sound and fast, on every OS.
//!
//! A [`ShMemProvider`] creates segments ([`ShMem`]) and reopens them in
//! another process from their [`ShMemId`]; [`StdShMemProvider`] is the
//! recommended backend of the OS you build for. Named segments
//! ([`NamedShMem`]) let unrelated programs meet by a name they agree on.
//!
//! ```
//! use shmem::{ShMemProvider, StdShMemProvider};
//! let mut provider = StdShMemProvider::new().unwrap();
//! let mut shared_mem = provider.new_shmem(128).unwrap();
//! let message = "Hello, shared memory!";
//! shared_mem[..message.len()].copy_from_slice(message.as_bytes());
//! let read_message = String::from_utf8(shared_mem[..message.len()].to_vec()).unwrap();
//! assert_eq!(message, read_message);
//! ```
//!
//! This is LibAFL's `shmem_providers` example with one change: the read
//! copies the bytes out (`.to_vec()`, then `String::from_utf8`) instead of
//! borrowing them (`std::str::from_utf8(&shared_mem[..])`). Indexing a segment gives [`ShBytes`], not
//! `[u8]`, because another process may write the bytes at any moment, and
//! a `&[u8]` would let the compiler assume they never change. `ShBytes`
//! copies in and out with volatile accesses and offers atomic views of
//! words; a plain slice is still there, through the `unsafe`
//! [`ShBytes::as_slice`], for memory the caller knows is quiet. Reopening
//! by id checks the segment holds the size asked for; SysV's check costs a
//! system call, which [`SysvShMem::open_unchecked`] skips, `unsafe`, for
//! callers told the size by someone they trust.
//!
//! # Backends
//!
//! | backend | OS | who can reopen it by id | after a crash | limits |
//! |---|---|---|---|---|
//! | [`MemfdShMemProvider`] | Linux, Android | the same user, through `/proc/PID/fd` of a process that holds it (the kernel's ptrace check) | freed by the kernel with its last holder: nothing leaks | memory; one descriptor per segment held |
//! | [`PosixShMemProvider`] | Unix but Android | anyone its mode admits (0600: the same user), by name, until removed | the name stays: a crashed creator leaks it until someone removes it | Linux: the size of `/dev/shm`; macOS: `shm_open` takes 30 bytes, longer names are shortened by hash ([`ShMemName::os_base`]); one descriptor per segment held |
//! | [`SysvShMemProvider`] | Unix but Android | anyone its mode admits (0600), by `shmid` (AFL's convention) | Linux: freed when the last process detaches; elsewhere it leaks | `shmmax`, `shmall`, `shmmni`; tiny by default on macOS (4 MiB) |
//! | `WinShMemProvider` | Windows | the same session, by name (`Global\` across sessions) | freed when the last handle closes | — |
//! | [`ServedShMemProvider`] | Unix | processes of the same user, through the same [`ShMemService`], while any holds a reference | a client's references go with it (SIGKILL included); a segment with none left is freed. When the service's process dies, its segments can no longer be opened by id (mappings stay valid) | a service to run (a thread, started on demand); one descriptor per segment in the service; a create is one round trip to it from another process, none from its own |
//!
//! What the service creates, and passes by descriptor: a memfd sealed
//! against resizing on Linux; ashmem on Android (or a memfd where apps may
//! not open `/dev/ashmem`); `shm_open(SHM_ANON)` on FreeBSD; elsewhere, as
//! on macOS, a POSIX object unlinked the moment it exists. None has a name
//! to leak. The service's socket is abstract on Linux and Android and a
//! file in the user's runtime directory elsewhere; see [`service`].
//!
//! [`StdShMemProvider`], as in LibAFL, is:
//! - Linux: memfd (no leaks, no namespace, no limits but memory);
//! - Windows: file mappings;
//! - macOS and Android: [`RcShMemProvider`]`<`[`ServedShMemProvider`]`>`,
//!   because there memory is shared by passing descriptors (Android has
//!   neither `/dev/shm` nor SysV; macOS cannot reopen an anonymous object,
//!   and its named ones leak on a crash);
//! - other Unix (FreeBSD): POSIX objects.
//!
//! Large segments that will be written all over can be mapped prefaulted,
//! or backed by huge pages: see [`MapOptions`], taken by the memfd, POSIX
//! and SysV providers' `with_options`.
//!
//! [`RcShMemProvider`] shares one provider among its clones and segments
//! and carries the `pre_fork`/`post_fork` protocol, so that a forked child
//! can use its parent's served segments, and create new ones, even if the
//! parent exits first.
#![deny(missing_docs)]

mod bytes;
mod error;
mod id;
mod name;
mod options;
#[cfg(unix)]
mod rc;
#[cfg(unix)]
pub mod service;
#[cfg(unix)]
mod unix;
#[cfg(no_backend)]
mod unsupported;
#[cfg(windows)]
pub mod windows;

use std::fmt::Debug;
use std::ops::DerefMut;

pub use bytes::{AtomicView, ShBytes};
pub use error::{Result, ShMemError};
pub use id::{ShMemDescription, ShMemId};
pub use name::{MAX_NAME_LEN, Namespace, ShMemName};
pub use options::{HugePages, MapOptions};

#[cfg(linux_like)]
pub use unix::memfd::{MemfdShMem, MemfdShMemProvider};
#[cfg(named_unix)]
pub use unix::posix::{DEFAULT_MODE, PosixShMem, PosixShMemProvider};
#[cfg(named_unix)]
pub use unix::sysv::{SysvShMem, SysvShMemProvider};
#[cfg(no_backend)]
pub use unsupported::{UnsupportedShMem, UnsupportedShMemProvider};
#[cfg(windows)]
pub use windows::{WinShMem, WinShMemProvider};
#[cfg(unix)]
pub use {
    rc::{RcShMem, RcShMemProvider},
    service::{
        SERVICE_ENV, ServedShMem, ServedShMemProvider, ServiceName, ServiceStats, ShMemService,
    },
};

/// Entry points for the fuzz targets (`fuzz/`): the parsers of outside input.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    /// Frames and decodes `bytes` as the service's requests and replies.
    #[cfg(unix)]
    pub fn service_wire(bytes: &[u8]) {
        crate::service::fuzz_wire(bytes);
    }
}

// The one place that picks each OS's recommended backend.

/// The recommended provider of this OS.
#[cfg(target_os = "linux")]
pub type StdShMemProvider = MemfdShMemProvider;
/// The recommended provider of this OS.
#[cfg(windows)]
pub type StdShMemProvider = WinShMemProvider;
/// The recommended provider of this OS.
#[cfg(any(target_os = "android", apple))]
pub type StdShMemProvider = RcShMemProvider<ServedShMemProvider>;
/// The recommended provider of this OS.
#[cfg(all(named_unix, not(any(target_os = "linux", apple))))]
pub type StdShMemProvider = PosixShMemProvider;
/// The recommended provider of this target: none works here, and every
/// call answers [`ShMemError::Unsupported`].
#[cfg(no_backend)]
pub type StdShMemProvider = UnsupportedShMemProvider;

/// The served provider, wrapped for forking, as LibAFL's
/// `StdServedShMemProvider`: what [`StdShMemProvider`] is on macOS and
/// Android, and available on every Unix.
#[cfg(unix)]
pub type StdServedShMemProvider = RcShMemProvider<ServedShMemProvider>;

/// The segments [`StdShMemProvider`] makes.
pub type StdShMem = <StdShMemProvider as ShMemProvider>::ShMem;

/// A segment that unrelated programs open by a name they agree on: a POSIX
/// object (a file in `/dev/shm` on Linux) or a named Windows file mapping.
#[cfg(named_unix)]
pub type NamedShMem = PosixShMem;
/// A segment that unrelated programs open by a name they agree on: a POSIX
/// object (a file in `/dev/shm` on Linux) or a named Windows file mapping.
#[cfg(windows)]
pub type NamedShMem = WinShMem;

/// A mapped shared memory segment.
///
/// It dereferences to [`ShBytes`], where the byte access lives: indexing
/// by ranges, volatile copies, typed reads and writes, atomic views and
/// checked pointers. Dropping it unmaps it; what happens to the segment
/// itself depends on the backend (see the crate docs).
pub trait ShMem: DerefMut<Target = ShBytes> + Debug + Send + Sync {
    /// What another process needs to reopen this segment.
    fn id(&self) -> ShMemId;

    /// The id and the mapped length together.
    fn description(&self) -> ShMemDescription {
        ShMemDescription {
            id: self.id(),
            size: self.len(),
        }
    }

    /// Sets `env_name` to the id and `env_name_SIZE` to the size in this
    /// process's environment, for children to find with
    /// [`ShMemProvider::existing_from_env`].
    ///
    /// # Safety
    /// Changing the environment races with any other thread reading or
    /// writing it (libc's `getenv` included), as [`std::env::set_var`]
    /// says. Call it while the process has one thread, or pass
    /// [`ShMemDescription::env_vars`] to [`std::process::Command::envs`]
    /// instead, which is safe.
    unsafe fn write_to_env(&self, env_name: &str) -> Result<()> {
        for (key, value) in self.description().env_vars(env_name) {
            // SAFETY: the caller vouches that no other thread uses the environment.
            unsafe { std::env::set_var(key, value) };
        }
        Ok(())
    }
}

/// Creates segments, and reopens segments other processes created.
pub trait ShMemProvider: Clone + Debug + Sized {
    /// The segments this provider hands out.
    type ShMem: ShMem;

    /// A provider, ready to use.
    fn new() -> Result<Self>;

    /// Creates a zero-filled segment of `size` bytes.
    fn new_shmem(&mut self, size: usize) -> Result<Self::ShMem>;

    /// Maps the first `size` bytes of the segment `id` names.
    fn shmem_from_id_and_size(&mut self, id: ShMemId, size: usize) -> Result<Self::ShMem>;

    /// Maps the segment a description names.
    fn shmem_from_description(&mut self, description: ShMemDescription) -> Result<Self::ShMem> {
        self.shmem_from_id_and_size(description.id, description.size)
    }

    /// A second mapping of the same segment.
    fn clone_ref(&mut self, mapping: &Self::ShMem) -> Result<Self::ShMem> {
        self.shmem_from_id_and_size(mapping.id(), mapping.len())
    }

    /// Maps the segment described by `env_name` and `env_name_SIZE`, as
    /// written by [`ShMem::write_to_env`] or [`ShMemDescription::env_vars`].
    fn existing_from_env(&mut self, env_name: &str) -> Result<Self::ShMem> {
        self.shmem_from_description(ShMemDescription::from_env(env_name)?)
    }

    /// Called before `fork`, for providers that must prepare for it.
    fn pre_fork(&mut self) -> Result<()> {
        Ok(())
    }

    /// Called after `fork`, in parent and child.
    fn post_fork(&mut self, _is_child: bool) -> Result<()> {
        Ok(())
    }

    /// Called when a segment is let go; providers that count references
    /// release theirs. Dropping the segment does the unmapping either way.
    fn release_shmem(&mut self, _shmem: &mut Self::ShMem) {}
}

/// `Deref`/`DerefMut` to [`ShBytes`] for a segment type with a `map` field.
#[cfg(not(no_backend))]
macro_rules! segment_impls {
    ($t:ty) => {
        impl ::std::ops::Deref for $t {
            type Target = $crate::ShBytes;
            fn deref(&self) -> &$crate::ShBytes {
                self.map.bytes()
            }
        }
        impl ::std::ops::DerefMut for $t {
            fn deref_mut(&mut self) -> &mut $crate::ShBytes {
                self.map.bytes_mut()
            }
        }
    };
}
#[cfg(not(no_backend))]
pub(crate) use segment_impls;
