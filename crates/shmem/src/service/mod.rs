//! The segment service: one process (or a thread in one) creates segments
//! and hands their descriptors to the others over a Unix socket.
//!
//! Where memory can only be shared by passing descriptors (ashmem on
//! Android), or where anonymous objects cannot be reopened by id otherwise
//! (macOS, FreeBSD), the service makes segments that still have ids: a
//! [`ServedShMemProvider`] asks the service to create a segment, gets its
//! descriptor with `SCM_RIGHTS`, and any process of the same user reopens
//! it by id through the same service.
//!
//! # Lifetime and references
//!
//! The service counts references per client: each create or open is one,
//! each dropped [`ServedShMem`] gives one back (a message that needs no
//! answer). When a client's connection closes, however its process ended
//! (SIGKILL included), its references go with it; a segment nobody refers
//! to is freed. Memory already mapped stays valid until unmapped: the
//! kernel keeps it while any mapping exists.
//!
//! A service started by [`ShMemService::start`] runs in a thread of its
//! process and ends with the handle (or the process). One started
//! implicitly by [`ShMemProvider::new`](crate::ShMemProvider::new), when
//! none was running, lives as long as the process that started it.
//! [`ShMemService::serve`] runs one on the calling thread, for a process
//! of its own that outlives all others. When a service ends, its segments
//! can no longer be opened by id; clients reconnect on their next request
//! (and may start a new service), and mappings stay valid.
//!
//! # Cost
//!
//! From another process a create is one round trip (the reply carries the
//! descriptor) and a release none. The service makes the object for a
//! client's next create of the same size while the client maps the last
//! one, and both sides look for the next message for a few tens of
//! microseconds (yielding the CPU) before sleeping, so that a steady
//! stream of requests does not pay a wake-up each. A client in the
//! service's own process skips the socket: its requests update the
//! service's books under a lock, so a create costs what the system calls
//! for the segment cost.
//!
//! # Security
//!
//! A service answers only processes of its own effective user: it reads
//! the peer's credentials from the kernel (`SO_PEERCRED`, `getpeereid`)
//! and closes any other connection before a byte is exchanged. Clients
//! check the service's user the same way and refuse to use a service of
//! another user. Requests are length-prefixed frames of at most 32 bytes;
//! a request that is too long, malformed, cut short at the end of the
//! stream or left half-sent for 5 seconds closes that client's connection,
//! never the service.
//!
//! # Fork
//!
//! [`ShMemProvider::pre_fork`](crate::ShMemProvider::pre_fork) asks the
//! service to set this process's references aside under a token; the
//! child's `post_fork(true)` connects anew and adopts them. The child keeps
//! the parent's connection open (without using it) until it has, so a
//! parent that exits at once takes nothing with it, and the parent never
//! waits for the child. A child that skips `post_fork` does the same on its
//! first request (forks are counted by a `pthread_atfork` handler). A child
//! of the process that runs the service reaches it through its socket, and
//! does not keep its copy of the listening socket: when the parent ends,
//! so does the service, and new clients get "no service" at once instead
//! of waiting on a socket nobody serves.
//!
//! # The socket
//!
//! | OS | socket | after a crash |
//! |---|---|---|
//! | Linux, Android | abstract `@NAME` | nothing to clean: the name goes with the socket |
//! | others | `NAME.sock` in `$XDG_RUNTIME_DIR`, or in the user's private `~/.cache/shmem` | the file stays; the next service replaces it |
//!
//! A name that begins with `/` is a socket file at that path, on every OS.
//!
//! Each user's default service, [`ServiceName::for_user`], has a name with
//! a secret in it, kept in `~/.cache/shmem/service-key` (owner-only): an
//! abstract socket name can be bound by any user, and a name others could
//! guess would let any of them take it first and leave this user's
//! programs without their service.

mod client;
mod core;
mod name;
mod server;
mod socket;
mod wire;

/// Runs the wire decoders over untrusted bytes, as the server and client do.
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz_wire(bytes: &[u8]) {
    let mut rest = bytes;
    while let wire::Framing::Frame { body, end } = wire::framing(rest, wire::MAX_REPLY) {
        let _ = wire::Request::decode(&rest[body.clone()]);
        let _ = wire::Reply::decode(&rest[body]);
        rest = &rest[end..];
    }
    let _ = wire::Request::decode(bytes);
    let _ = wire::Reply::decode(bytes);
}

use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

pub use client::{ServedShMem, ServedShMemProvider};
pub use name::{SERVICE_ENV, ServiceName};

use crate::error::{Result, ShMemError};

/// What a service holds and has done, for monitoring and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceStats {
    /// Clients connected now.
    pub clients: u64,
    /// Segments held now.
    pub segments: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Connections refused so far because they came from another user.
    pub refused: u64,
    /// Clients closed so far for malformed, oversized or stalled requests.
    pub dropped: u64,
}

/// A segment service running in a thread of this process.
///
/// Dropping the handle stops the service: its socket goes away (a socket
/// file is removed), and so do the segments it holds, although memory
/// already mapped stays valid until unmapped.
#[derive(Debug)]
pub struct ShMemService {
    name: ServiceName,
    core: Arc<Mutex<core::Core>>,
    /// Closing it tells the thread to stop.
    stop: Option<OwnedFd>,
    thread: Option<JoinHandle<()>>,
    /// The process the thread runs in: a forked child has the handle, not the thread.
    owner: u32,
    socket_file: Option<socket::SocketFile>,
}

impl ShMemService {
    /// Starts the service `name` in a new thread of this process.
    ///
    /// Fails with [`ShMemError::AlreadyExists`] if a service already
    /// answers at that name. A socket file left by a service that died is
    /// replaced.
    pub fn start(name: &ServiceName) -> Result<Self> {
        let address = socket::Address::of(name)?;
        let listener = socket::listen(name, &address)?;
        let socket_file = listener.file.clone();
        let (stop_read, stop_write) =
            std::io::pipe().map_err(|e| ShMemError::os("pipe", format!("service {name}"), e))?;
        let core = Arc::new(Mutex::new(core::Core::new(new_tag())));
        let server = server::Server::new(listener, Some(stop_read.into()), Arc::clone(&core));
        let thread = std::thread::Builder::new()
            .name("shmem-service".into())
            .spawn(move || server.run())
            .map_err(|e| ShMemError::os("spawning the thread", format!("service {name}"), e))?;
        core::register_local(name, &core);
        Ok(ShMemService {
            name: name.clone(),
            core,
            stop: Some(stop_write.into()),
            thread: Some(thread),
            owner: std::process::id(),
            socket_file,
        })
    }

    /// Runs the service `name` on the calling thread, for good: for a
    /// process whose job is to serve. Returns only if it cannot start.
    pub fn serve(name: &ServiceName) -> Result<std::convert::Infallible> {
        let address = socket::Address::of(name)?;
        let listener = socket::listen(name, &address)?;
        let core = Arc::new(Mutex::new(core::Core::new(new_tag())));
        core::register_local(name, &core);
        server::Server::new(listener, None, core).run();
        unreachable!("a service without a stop pipe never returns")
    }

    /// Starts `name` for the rest of this process's life, unless one runs.
    pub(crate) fn start_implicit(name: &ServiceName) -> Result<()> {
        static IMPLICIT: Mutex<Vec<ShMemService>> = Mutex::new(Vec::new());
        let mut running = IMPLICIT.lock().unwrap_or_else(PoisonError::into_inner);
        let service = Self::start(name)?;
        #[cfg(not(linux_like))]
        remove_at_exit(service.socket_file.clone());
        running.push(service);
        Ok(())
    }

    /// The service's name.
    pub fn name(&self) -> &ServiceName {
        &self.name
    }

    /// Its socket file, where it has one (not on Linux and Android, where
    /// its socket is abstract unless its name is a path).
    pub fn socket_file(&self) -> Option<&std::path::Path> {
        self.socket_file.as_ref().map(socket::SocketFile::path)
    }

    /// What it holds now.
    pub fn stats(&self) -> ServiceStats {
        core::lock(&self.core).stats()
    }
}

impl Drop for ShMemService {
    fn drop(&mut self) {
        drop(self.stop.take());
        if std::process::id() == self.owner {
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        } else {
            // A forked child: the thread is the parent's, and so is the socket.
            if let Some(thread) = self.thread.take() {
                std::mem::forget(thread);
            }
            self.socket_file = None;
        }
    }
}

/// A tag no other service instance has: random keys of the std hasher,
/// the time and the pid.
fn new_tag() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    if let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(now.as_nanos());
    }
    hasher.finish()
}

/// Socket files of implicitly started services are removed when the
/// process exits normally; after a crash the next service replaces them.
#[cfg(not(linux_like))]
fn remove_at_exit(file: Option<socket::SocketFile>) {
    static FILES: Mutex<Vec<(u32, socket::SocketFile)>> = Mutex::new(Vec::new());
    static REGISTER: std::sync::Once = std::sync::Once::new();
    extern "C" fn at_exit() {
        if let Ok(files) = FILES.try_lock() {
            for (pid, file) in files.iter() {
                if *pid == std::process::id() {
                    file.remove();
                }
            }
        }
    }
    if let Some(file) = file {
        FILES
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((std::process::id(), file));
        // SAFETY: registers a plain function with no arguments to run at exit.
        REGISTER.call_once(|| unsafe {
            libc::atexit(at_exit);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_are_checked() {
        for good in [
            "a",
            "shmem-service-1000",
            "x.y_z-9",
            "/run/user/1000/s.sock",
            &"n".repeat(64),
        ] {
            assert_eq!(ServiceName::new(good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            ".hidden",
            "a b",
            "a/b",
            "a\0",
            "é",
            "/a/../b",
            "/a\0b",
            &"n".repeat(65),
        ] {
            assert!(
                matches!(ServiceName::new(bad), Err(ShMemError::InvalidName { .. })),
                "{bad:?}"
            );
        }
        assert!(
            ServiceName::for_user()
                .unwrap()
                .as_str()
                .starts_with("shmem-service-")
        );
    }

    fn unique_name() -> ServiceName {
        ServiceName::new(&crate::name::unique_name("shmem-unit")).unwrap()
    }

    fn wait_for(service: &ShMemService, what: impl Fn(ServiceStats) -> bool) -> ServiceStats {
        let start = std::time::Instant::now();
        loop {
            let stats = service.stats();
            if what(stats) {
                return stats;
            }
            assert!(start.elapsed().as_secs() < 10, "stuck at {stats:?}");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }

    #[test]
    fn create_reopen_release_in_one_process() {
        use crate::{ShMem, ShMemProvider};
        let name = unique_name();
        let service = ShMemService::start(&name).unwrap();
        assert!(matches!(
            ShMemService::start(&name),
            Err(ShMemError::AlreadyExists { .. })
        ));
        let mut a = ServedShMemProvider::connect(&name).unwrap();
        let mut b = ServedShMemProvider::connect(&name).unwrap();
        let mem = a.new_shmem(10_000).unwrap();
        assert_eq!(mem.len(), 10_000);
        mem[..5].copy_from_slice(b"hello");
        let again = b.shmem_from_id_and_size(mem.id(), 10_000).unwrap();
        assert_eq!(again[..5].to_vec(), b"hello");
        assert!(matches!(
            b.shmem_from_id_and_size(mem.id(), 10_001),
            Err(ShMemError::TooSmall { .. })
        ));
        // The refused second start probed the socket: that connection counts
        // as a client until the service sees it close.
        wait_for(&service, |s| s.clients == 2);
        let stats = b.service_stats().unwrap();
        assert_eq!((stats.clients, stats.segments, stats.bytes), (2, 1, 10_000));
        let id = mem.id();
        drop(mem);
        assert_eq!(b.service_stats().unwrap().segments, 1, "b still holds it");
        drop(again);
        wait_for(&service, |s| s.segments == 0);
        assert!(matches!(
            a.shmem_from_id_and_size(id, 1),
            Err(ShMemError::NotFound { .. })
        ));
        drop((a, b));
        wait_for(&service, |s| s.clients == 0);
    }

    #[test]
    fn tags_differ() {
        assert_ne!(new_tag(), new_tag());
    }
}
