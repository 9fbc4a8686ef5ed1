//! Shared memory that is simple, sound and fast, on every OS.
//!
//! A [`ShMemProvider`] creates segments ([`ShMem`]) and reopens them in
//! another process from their [`ShMemId`]; [`StdShMemProvider`] is the
//! recommended backend of the OS you build for, the same as LibAFL's.
//! Named segments ([`NamedShMem`]) let unrelated programs meet by a name
//! they agree on.
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
//! borrowing them (`std::str::from_utf8(&shared_mem[..])`). Indexing a
//! segment gives [`ShBytes`], not `[u8]`, because another process may write
//! the bytes at any moment, and a `&[u8]` would let the compiler assume
//! they never change. `ShBytes` copies in and out with relaxed atomic
//! accesses (so threads racing on one segment race on values, never into
//! undefined behaviour) and offers atomic views of words; a plain slice is
//! still there, through the `unsafe` [`ShBytes::as_slice`], for memory the
//! caller knows is quiet. Reopening by id checks the segment holds the
//! size asked for; SysV's check costs a system call, which
//! [`SysvShMem::open_unchecked`] skips, `unsafe`, for callers told the size
//! by someone they trust.
//!
//! # Coming from LibAFL
//!
//! The traits, providers and their methods have LibAFL's names and
//! signatures (`new_shmem`, `shmem_from_id_and_size`, `existing_from_env`,
//! `write_to_env`, `new_on_shmem`, `pre_fork`/`post_fork`, `Default`,
//! `StdShMemService`, [`NopShMemProvider`]), and the segments and ids are
//! the same on the OS: a LibAFL fuzzer and a target built on this crate
//! share maps through the environment, either way round (the `interop`
//! tests run both). What changes is the byte access, and why:
//!
//! | LibAFL | here | why |
//! |---|---|---|
//! | `&shmem[..]`, `&shmem[a..b]` as `&[u8]` | `shmem.to_vec()`, `shmem[a..b].copy_to_slice(&mut buf)` | a `&[u8]` promises the bytes do not change while it lives; another process breaks that promise |
//! | `shmem[0] = 1` | `shmem.store(0, 1)`; `shmem[a..b].copy_from_slice(&bytes)`; `shmem.write(offset, &value)` | a `&mut [u8]` promises nobody else reads or writes: shared memory is the opposite |
//! | `shmem.iter()` | `shmem.to_vec().iter()`, or `load(i)` in a loop | iterate over a snapshot, not over bytes that move |
//! | `shmem.as_ptr_of::<T>()` then `&*ptr` | [`ShBytes::read`] / [`ShBytes::write`] for plain data; [`ShBytes::atomics`] (safe) or [`ShBytes::atomic`] (`unsafe`) for counters and flags | a typed copy or an atomic is sound; a reference into shared memory is the caller's promise, as the raw pointer still is |
//! | `ShMemId::from_string("123")`, `id.as_str()` | `"123".parse::<ShMemId>()`, `id.to_string()` | an id is an enum that knows its backend; LibAFL's `[u8; 20]` is [`ShMemId::to_libafl_bytes`], a `Copy` id for shared memory [`FixedShMemId`] |
//! | `libafl_core::Error` | [`ShMemError`] | one typed error per cause, each naming the segment |
//! | `unsafe impl ShMem` | `impl ShMem` | alignment is guaranteed by the mappings themselves (whole pages) |
//!
//! Ids LibAFL writes parse here (SysV numbers, `/libafl_PID_N` POSIX
//! names); ids from here fit LibAFL's 20 bytes where they can, and
//! [`ShMemId::to_libafl_bytes`] says so with an error where they cannot. A
//! plain number that could be a SysV id or a descriptor of this process
//! (LibAFL's memfd provider) is refused, never guessed. AFL's
//! `__AFL_SHM_ID` without a size maps the whole segment
//! ([`ShMemProvider::existing_from_env`]).
//!
//! # Across processes
//!
//! Pass a segment to a child through its environment, without touching
//! this process's (which [`ShMem::write_to_env`] would, `unsafe`ly):
//!
//! ```no_run
//! use shmem::{ShMem, ShMemProvider, StdShMemProvider};
//! // The parent:
//! let mut provider = StdShMemProvider::new()?;
//! let map = provider.new_shmem(65536)?;
//! let status = std::process::Command::new("./target")
//!     .envs(map.description().env_vars("MY_MAP"))
//!     .status()?;
//! println!("the child wrote {:?}", map[..4].to_vec());
//! // The child, `./target`:
//! let map = StdShMemProvider::new()?.existing_from_env("MY_MAP")?;
//! map[..4].copy_from_slice(b"done");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Or fork, telling the provider before and after, as LibAFL's providers
//! are told (for a served provider this carries the references over):
//!
//! ```no_run
//! # #[cfg(unix)] {
//! use shmem::{ShMemProvider, StdServedShMemProvider};
//! let mut provider = StdServedShMemProvider::new()?;
//! let map = provider.new_shmem(4096)?;
//! provider.pre_fork()?;
//! // SAFETY: the child only uses the provider and the map, then exits.
//! match unsafe { libc::fork() } {
//!     0 => {
//!         provider.post_fork(true)?;
//!         map.store(0, 1);
//!         std::process::exit(0);
//!     }
//!     _child => provider.post_fork(false)?,
//! }
//! # }
//! # Ok::<(), shmem::ShMemError>(())
//! ```
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
//! | [`NopShMemProvider`] | any | nobody: private memory, for tests | freed with the process | memory |
//!
//! What the service creates, and passes by descriptor: a memfd sealed
//! against resizing on Linux; ashmem on Android (or a memfd where apps may
//! not open `/dev/ashmem`); `shm_open(SHM_ANON)` on FreeBSD; elsewhere, as
//! on macOS, a POSIX object unlinked the moment it exists. None has a name
//! to leak. The service's socket is abstract on Linux and Android and a
//! file in the user's runtime directory elsewhere; see [`service`].
//!
//! [`StdShMemProvider`] is LibAFL's choice on each OS, so that ids cross
//! between the two:
//! - Linux, FreeBSD and the other Unix but Apple's and Android: SysV
//!   ([`SysvShMemProvider`]), whose plain-number ids AFL and LibAFL read.
//!   On Linux a segment is freed with its last user; elsewhere its creator
//!   removes it on drop, and a crash leaks it (prefer
//!   [`MemfdShMemProvider`] on Linux where no LibAFL or AFL peer is
//!   involved: no limits, nothing to leak);
//! - Windows: file mappings (`WinShMemProvider`);
//! - macOS and Android: [`RcShMemProvider`]`<`[`ServedShMemProvider`]`>`,
//!   because there memory is shared by passing descriptors (Android has
//!   neither `/dev/shm` nor SysV; macOS cannot reopen an anonymous object,
//!   and its named ones leak on a crash). LibAFL's served providers speak
//!   their own protocol: served ids do not cross between the two;
//! - any other target: [`UnsupportedShMemProvider`], which compiles and
//!   answers [`ShMemError::Unsupported`].
//!
//! Large segments that will be written all over can be mapped prefaulted,
//! or backed by huge pages: see [`MapOptions`], taken by the memfd, POSIX
//! and SysV providers' `with_options`. A reader that must not write opens
//! read-only ([`ShMemProvider::open_read_only`], `PosixShMem::open_read_only`,
//! and the backends' own): the OS refuses writes to the pages.
//!
//! Two helpers for programs that share pages with others: [`ShEvent`], a
//! counter in a segment that one process notifies and others sleep on (a
//! shared futex on Linux), so readers wake on each update instead of
//! polling; and [`SharedFile`], a file of a shared tmpfs read with `pread`,
//! so that a file another user or process shrinks gives an error where a
//! mapping would kill its reader with SIGBUS.
//!
//! [`RcShMemProvider`] shares one provider among its clones and segments
//! and carries the `pre_fork`/`post_fork` protocol, so that a forked child
//! can use its parent's served segments, and create new ones, even if the
//! parent exits first. A forked child never removes what its parent
//! created: POSIX names and SysV segments stay its parent's.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Items that exist on other systems only: links to them from the docs above
// lead to the backend table when this target does not have them.
#![doc = ""]
#![cfg_attr(not(linux_like), doc = "[`MemfdShMemProvider`]: #backends")]
#![cfg_attr(not(named_unix), doc = "[`PosixShMemProvider`]: #backends")]
#![cfg_attr(not(named_unix), doc = "[`SysvShMemProvider`]: #backends")]
#![cfg_attr(not(named_unix), doc = "[`SysvShMem::open_unchecked`]: #backends")]
#![cfg_attr(not(unix), doc = "[`ServedShMemProvider`]: #backends")]
#![cfg_attr(not(unix), doc = "[`ShMemService`]: #backends")]
#![cfg_attr(not(unix), doc = "[`RcShMemProvider`]: #backends")]
#![cfg_attr(not(unix), doc = "[`service`]: #backends")]
#![cfg_attr(not(named_unix), doc = "[`SharedFile`]: #backends")]
#![cfg_attr(not(any(named_unix, windows)), doc = "[`NamedShMem`]: #backends")]
#![cfg_attr(not(no_backend), doc = "[`UnsupportedShMemProvider`]: #backends")]

mod bytes;
mod error;
mod event;
mod id;
mod name;
mod nop;
mod options;
#[cfg(unix)]
mod rc;
mod readonly;
#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
pub mod service;
#[cfg(unix)]
mod unix;
#[cfg(no_backend)]
mod unsupported;
#[cfg(windows)]
#[cfg_attr(docsrs, doc(cfg(windows)))]
pub mod windows;

use std::fmt::Debug;
use std::ops::DerefMut;

use bytemuck::NoUninit;

pub use bytes::{AtomicView, ShBytes};
pub use error::{Result, ShMemError};
pub use event::ShEvent;
pub use id::{FixedShMemId, LIBAFL_ID_LEN, ShMemDescription, ShMemId};
pub use name::{MAX_NAME_LEN, Namespace, ShMemName};
pub use nop::{NopShMem, NopShMemProvider};
pub use options::{HugePages, MapOptions};
pub use readonly::{ReadBytes, ReadOnlyShMem};

#[cfg(named_unix)]
#[cfg_attr(docsrs, doc(cfg(all(unix, not(target_os = "android")))))]
pub use unix::file::{FileIdentity, SharedFile};
#[cfg(linux_like)]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
pub use unix::memfd::{MemfdShMem, MemfdShMemProvider};
#[cfg(named_unix)]
#[cfg_attr(docsrs, doc(cfg(all(unix, not(target_os = "android")))))]
pub use unix::posix::{DEFAULT_MODE, PosixShMem, PosixShMemProvider};
#[cfg(named_unix)]
#[cfg_attr(docsrs, doc(cfg(all(unix, not(target_os = "android")))))]
pub use unix::sysv::{SysvShMem, SysvShMemProvider};
#[cfg(no_backend)]
#[cfg_attr(docsrs, doc(cfg(not(any(unix, windows)))))]
pub use unsupported::{UnsupportedShMem, UnsupportedShMemProvider};
#[cfg(windows)]
#[cfg_attr(docsrs, doc(cfg(windows)))]
pub use windows::{WinShMem, WinShMemProvider};
#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
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

// The one place that picks each OS's recommended backend: LibAFL's choice.

/// The recommended provider of this OS, as LibAFL's: System V segments,
/// whose plain-number ids AFL and LibAFL read.
#[cfg(all(named_unix, not(apple)))]
#[cfg_attr(docsrs, doc(cfg(all(unix, not(target_os = "android")))))]
pub type StdShMemProvider = SysvShMemProvider;
/// The recommended provider of this OS, as LibAFL's: file mappings.
#[cfg(windows)]
pub type StdShMemProvider = WinShMemProvider;
/// The recommended provider of this OS, as LibAFL's: segments of a
/// [`ShMemService`], whose descriptors travel over a socket.
#[cfg(any(target_os = "android", apple))]
pub type StdShMemProvider = RcShMemProvider<ServedShMemProvider>;
/// The recommended provider of this target: none works here, and every
/// call answers [`ShMemError::Unsupported`].
#[cfg(no_backend)]
pub type StdShMemProvider = UnsupportedShMemProvider;

/// The segment service of this OS, as LibAFL's `StdShMemService`: on
/// every Unix, the one [`ServedShMemProvider`] talks to.
#[cfg(unix)]
pub type StdShMemService = ShMemService;

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

    /// Maps all of the segment `id` names, whatever its size: for ids
    /// passed without one, as AFL passes `__AFL_SHM_ID`. Backends that
    /// cannot learn a segment's size from its id refuse with
    /// [`ShMemError::Unsupported`].
    fn shmem_from_id(&mut self, id: ShMemId) -> Result<Self::ShMem> {
        Err(ShMemError::Unsupported {
            what: "mapping a segment without being told its size",
            backend: id.backend(),
        })
    }

    /// Maps the first `size` bytes of the segment `id` names, read-only:
    /// the result has no way to write, and the OS refuses writes to its
    /// pages too. Backends that cannot map read-only refuse with
    /// [`ShMemError::Unsupported`].
    fn open_read_only(&mut self, id: ShMemId, size: usize) -> Result<ReadOnlyShMem<Self::ShMem>> {
        let _ = size;
        Err(ShMemError::Unsupported {
            what: "read-only mappings",
            backend: id.backend(),
        })
    }

    /// A new segment holding `value`, as LibAFL's `new_on_shmem`: of
    /// `size_of::<T>()` bytes, with `value` copied in at offset 0. Read it
    /// back with [`ShBytes::read`]; `T` has no padding and no pointers
    /// (`NoUninit`), so its bytes mean the same in every process.
    fn new_on_shmem<T: NoUninit>(&mut self, value: T) -> Result<Self::ShMem> {
        let shmem = self.uninit_on_shmem::<T>()?;
        shmem.write(0, &value)?;
        Ok(shmem)
    }

    /// A new segment of `size_of::<T>()` bytes, as LibAFL's
    /// `uninit_on_shmem`; here it is zero-filled, as every new segment is.
    fn uninit_on_shmem<T>(&mut self) -> Result<Self::ShMem> {
        self.new_shmem(size_of::<T>())
    }

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
    /// Without `env_name_SIZE` (AFL sets only `__AFL_SHM_ID`) it maps the
    /// whole segment, where the backend can tell its size
    /// ([`shmem_from_id`](Self::shmem_from_id)).
    fn existing_from_env(&mut self, env_name: &str) -> Result<Self::ShMem> {
        match id::from_env_maybe_sized(env_name)? {
            (id, Some(size)) => self.shmem_from_id_and_size(id, size),
            (id, None) => self.shmem_from_id(id).map_err(|e| match e {
                ShMemError::Unsupported { backend, .. } => ShMemError::Env {
                    var: format!("{env_name}_SIZE"),
                    reason: format!(
                        "is not set, and a {backend} segment cannot be mapped without its size; \
                         the parent should pass the segment with write_to_env or env_vars"
                    ),
                },
                other => other,
            }),
        }
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
