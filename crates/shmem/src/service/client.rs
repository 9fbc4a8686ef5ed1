//! The client side: [`ServedShMemProvider`] and its segments.
//!
//! A client reaches its service over the service's socket, or, when the
//! service runs in this very process, directly: the same bookkeeping under
//! a lock, with no message and no thread switch.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::core::{self as service_core, Core};
use super::socket::{self, Address, ConnectError};
use super::wire::{self, Framing, HEADER, MAX_REPLY, MAX_REQUEST, Refusal, Reply, Request};
use super::{ServiceName, ServiceStats, ShMemService};
use crate::error::{Result, ShMemError, check_size};
use crate::id::ShMemId;
use crate::unix::{Mapping, anon, base_page, check_fits, fork};
use crate::{ShMem, ShMemProvider};

/// How long a reply may take before the service is taken for dead.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to look for a reply before sleeping until it comes.
const SPIN: Duration = Duration::from_micros(50);
/// What a connection the service closed is reported as.
const CLOSED: &str = "the service closed the connection";

/// Maps a served object: anonymous memory of base pages, mapped plainly.
fn map_served(fd: impl AsFd, size: usize, id: &ShMemId) -> Result<Mapping> {
    Mapping::map_fd(fd, size, base_page(), &crate::MapOptions::new(), id)
}

/// How a connection reaches its service.
#[derive(Debug, Default)]
enum Link {
    /// Not yet, or no more: the next request connects.
    #[default]
    None,
    /// The service's socket.
    Socket(OwnedFd),
    /// The service runs in this process: its state, directly.
    Local(Arc<Mutex<Core>>),
}

/// One connection to a service, shared by every clone of a provider and
/// every segment it handed out.
#[derive(Debug)]
pub(crate) struct Connection {
    name: ServiceName,
    link: Link,
    /// Whether a request may start a service in this process if none runs.
    may_start: bool,
    service: u64,
    client: u64,
    /// Forks counted when the connection was made: another count is a child.
    generation: u64,
    /// References this process holds, per key: what a child re-registers.
    held: HashMap<u64, u32>,
    /// Set by `pre_fork`, for the child to adopt.
    fork_token: Option<u64>,
    buf: Vec<u8>,
}

impl Connection {
    fn open(name: &ServiceName, may_start: bool) -> Result<Connection> {
        let mut conn = Connection {
            name: name.clone(),
            link: Link::None,
            may_start,
            service: 0,
            client: 0,
            generation: fork::generation(),
            held: HashMap::new(),
            fork_token: None,
            buf: Vec::with_capacity(64),
        };
        conn.reconnect()?;
        Ok(conn)
    }

    fn error(&self, reason: impl Into<String>) -> ShMemError {
        ShMemError::Service {
            service: self.name.to_string(),
            reason: reason.into(),
            source: None,
        }
    }

    fn io_error(&self, reason: &str, e: std::io::Error) -> ShMemError {
        ShMemError::Service {
            service: self.name.to_string(),
            reason: reason.to_owned(),
            source: Some(e),
        }
    }

    /// Lets go of the link; references on a local one go with it (those of
    /// a socket go when the service sees it close).
    fn unlink(&mut self) -> Link {
        let link = std::mem::take(&mut self.link);
        if let Link::Local(core) = &link
            && self.generation == fork::generation()
        {
            // Snapshots stay: a child may adopt them after this is gone.
            let dead = {
                let mut core = service_core::lock(core);
                core.remove_client(self.client, false);
                core.take_graveyard()
            };
            drop(dead);
        }
        link
    }

    /// Links to the service anew (starting it first if allowed and none
    /// runs). Forgets references of another service instance.
    fn reconnect(&mut self) -> Result<()> {
        drop(self.unlink());
        self.generation = fork::generation();
        let (service, client) = match self.link_local() {
            Some(ids) => ids,
            None => match self.link_socket() {
                Err(ConnectError::NoService(_)) if self.may_start => {
                    match ShMemService::start_implicit(&self.name) {
                        Ok(()) | Err(ShMemError::AlreadyExists { .. }) => {}
                        Err(other) => return Err(other),
                    }
                    match self.link_local() {
                        Some(ids) => ids,
                        None => self.link_socket().map_err(|e| self.connect_error(e))?,
                    }
                }
                other => other.map_err(|e| self.connect_error(e))?,
            },
        };
        if service != self.service {
            // Another service instance: our keys mean nothing there.
            self.held.clear();
            self.fork_token = None;
        }
        self.service = service;
        self.client = client;
        Ok(())
    }

    fn connect_error(&self, e: ConnectError) -> ShMemError {
        match e {
            ConnectError::NoService(e) => self.io_error("no service runs there", e.into()),
            ConnectError::Other(e) => e,
        }
    }

    /// Links to the service directly if it runs in this process.
    fn link_local(&mut self) -> Option<(u64, u64)> {
        let core = service_core::local(&self.name)?;
        let ids = {
            let mut c = service_core::lock(&core);
            (c.tag, c.add_client())
        };
        self.link = Link::Local(core);
        Some(ids)
    }

    /// Connects to the service's socket and reads its hello.
    fn link_socket(&mut self) -> Result<(u64, u64), ConnectError> {
        let address = Address::of(&self.name).map_err(ConnectError::Other)?;
        let sock = socket::connect(&self.name, &address, REPLY_TIMEOUT)?;
        // Talk only to a service of our own user: another one could hand out
        // memory it reads, or answer with anything.
        let ours = rustix::process::geteuid().as_raw();
        match socket::peer_uid(sock.as_fd()) {
            Ok(uid) if uid == ours => {}
            Ok(uid) => {
                return Err(ConnectError::Other(self.error(format!(
                    "the service runs as user {uid}, not as this user ({ours}); not using it"
                ))));
            }
            Err(e) => {
                return Err(ConnectError::Other(
                    self.io_error("cannot learn who runs the service", e),
                ));
            }
        }
        self.link = Link::Socket(sock);
        let hello = self.receive().map_err(|e| match e {
            ShMemError::Service { ref reason, .. } if reason == CLOSED => self.error(
                "the service closed the connection without a word: it refuses this process \
                 (it accepts only its own user), or it is shutting down",
            ),
            other => other,
        });
        match hello {
            Ok((
                Reply::Hello {
                    version,
                    service,
                    client,
                    ..
                },
                _,
            )) if version == wire::PROTOCOL => Ok((service, client)),
            Ok((Reply::Hello { version, .. }, _)) => {
                Err(ConnectError::Other(self.broken(&format!(
                    "the service speaks protocol {version}, this library {}",
                    wire::PROTOCOL
                ))))
            }
            Ok(_) => Err(ConnectError::Other(
                self.broken("the service did not greet"),
            )),
            Err(e) => {
                self.link = Link::None;
                Err(ConnectError::Other(e))
            }
        }
    }

    /// Marks the connection broken and describes why.
    fn broken(&mut self, reason: &str) -> ShMemError {
        drop(self.unlink());
        self.error(reason)
    }

    /// Before any use: re-register if this is a forked child that has not
    /// yet (fork without `post_fork`), and relink if broken or if the local
    /// service has ended.
    fn ready(&mut self) -> Result<()> {
        if self.generation != fork::generation() {
            return self.after_fork_in_child();
        }
        let relink = match &self.link {
            Link::None => true,
            Link::Socket(_) => false,
            Link::Local(core) => service_core::lock(core).is_stopped(),
        };
        if relink {
            self.reconnect()?;
        }
        Ok(())
    }

    fn send(&mut self, request: Request) -> Result<()> {
        let mut frame = [0u8; HEADER + MAX_REQUEST];
        let len = request.encode(&mut frame);
        let Link::Socket(sock) = &self.link else {
            return Err(self.error("not connected"));
        };
        let mut sent = 0;
        while sent < len {
            match socket::send(sock, &frame[sent..len], None) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    drop(self.unlink());
                    return Err(self.io_error("the connection broke", e));
                }
            }
        }
        Ok(())
    }

    /// Reads one reply frame, with the descriptor that came with it.
    fn receive(&mut self) -> Result<(Reply, Option<OwnedFd>)> {
        let Link::Socket(sock) = std::mem::take(&mut self.link) else {
            return Err(self.error("not connected"));
        };
        let mut fds = Vec::new();
        self.buf.clear();
        let outcome = loop {
            let need = match wire::framing(&self.buf, MAX_REPLY) {
                Framing::Frame { body, end } if end == self.buf.len() => {
                    break Reply::decode(&self.buf[body]).ok_or("a malformed reply");
                }
                Framing::Frame { .. } => break Err("more than one reply"),
                Framing::TooLong(_) => break Err("an oversized reply"),
                // The first read asks for any small reply whole: one system call.
                Framing::Incomplete if self.buf.len() < HEADER => 64,
                Framing::Incomplete => {
                    let len = u32::from_le_bytes(self.buf[..HEADER].try_into().expect("4 bytes"));
                    HEADER + len as usize - self.buf.len()
                }
            };
            let start = self.buf.len();
            self.buf.resize(start + need, 0);
            // A reply usually comes within microseconds: look for it a little
            // while before sleeping, which would add a wake-up to the trip.
            let spin_until = std::time::Instant::now() + SPIN;
            let got = loop {
                match socket::recv(&sock, &mut self.buf[start..], &mut fds, false) {
                    Err(e)
                        if e.kind() == std::io::ErrorKind::WouldBlock
                            && std::time::Instant::now() < spin_until =>
                    {
                        std::thread::yield_now();
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        break socket::recv(&sock, &mut self.buf[start..], &mut fds, true);
                    }
                    other => break other,
                }
            };
            match got {
                Ok(0) => return Err(self.error(CLOSED)),
                Ok(n) => self.buf.truncate(start + n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                    self.buf.truncate(start);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    return Err(self.error(format!(
                        "no reply from the service within {} s",
                        REPLY_TIMEOUT.as_secs()
                    )));
                }
                Err(e) => return Err(self.io_error("no reply from the service", e)),
            }
        };
        match outcome {
            Ok(reply) => {
                self.link = Link::Socket(sock);
                let mut fds = fds.into_iter();
                let fd = fds.next();
                if fds.next().is_some() {
                    return Err(self.broken("the service sent more than one descriptor"));
                }
                Ok((reply, fd))
            }
            Err(what) => Err(self.error(format!("the service sent {what}"))),
        }
    }

    fn call(&mut self, request: Request) -> Result<(Reply, Option<OwnedFd>)> {
        self.send(request)?;
        self.receive()
    }

    /// Asks for a segment (create or open) and maps `size` bytes of it.
    fn segment(
        &mut self,
        this: &Arc<Mutex<Connection>>,
        request: Request,
        size: usize,
    ) -> Result<ServedShMem> {
        let (key, map) = match &self.link {
            Link::Local(core) => {
                let core = Arc::clone(core);
                let mut core = service_core::lock(&core);
                let answer = match request {
                    Request::Create { size } => core.create(self.client, size).map(|k| (k, size)),
                    Request::Open { key, size } => {
                        core.open(self.client, key, size).map(|a| (key, a))
                    }
                    _ => unreachable!("only creates and opens ask for segments"),
                };
                let (key, actual) = answer.map_err(|r| self.refused(r, request, size))?;
                *self.held.entry(key).or_insert(0) += 1;
                let id = self.id_of(key);
                let fd = core.fd(key).expect("just made or opened, under the lock");
                let mapped = check_fits(actual, size, &id).and_then(|()| map_served(fd, size, &id));
                drop(core);
                (key, mapped)
            }
            _ => {
                let (reply, fd) = self.call(request)?;
                let (key, actual) = match reply {
                    Reply::Segment { key, size } => (key, size),
                    Reply::Refused(refusal) => return Err(self.refused(refusal, request, size)),
                    _ => return Err(self.broken("the service answered out of turn")),
                };
                // We hold a reference from here on: give it back if mapping fails.
                *self.held.entry(key).or_insert(0) += 1;
                let id = self.id_of(key);
                let mapped = match fd {
                    None => Err(self.error("the service sent no descriptor")),
                    // Checked against the object itself too: mapping past its
                    // end would raise SIGBUS on first touch.
                    Some(fd) => check_fits(actual, size, &id)
                        .and_then(|()| check_fits(anon::size(&fd)?, size, &id))
                        .and_then(|()| map_served(&fd, size, &id)),
                };
                (key, mapped)
            }
        };
        match map {
            Ok(map) => Ok(ServedShMem {
                map,
                id: self.id_of(key),
                key,
                service: self.service,
                conn: Arc::clone(this),
            }),
            Err(e) => {
                self.release(self.service, key);
                Err(e)
            }
        }
    }

    fn id_of(&self, key: u64) -> ShMemId {
        ShMemId::Served {
            service: self.service,
            key,
        }
    }

    fn refused(&self, refusal: Refusal, request: Request, size: usize) -> ShMemError {
        let segment = match request {
            Request::Open { key, .. } | Request::Retain { key, .. } => self.id_of(key).to_string(),
            _ => format!("served segment ({size} bytes, service {})", self.name),
        };
        match refusal {
            Refusal::NotFound if matches!(request, Request::Create { .. }) => {
                self.error("the service has ended")
            }
            Refusal::NotFound => ShMemError::NotFound { segment },
            Refusal::TooSmall { actual } => ShMemError::TooSmall {
                segment,
                actual,
                requested: size as u64,
            },
            Refusal::BadSize => ShMemError::TooLarge {
                size: size as u64,
                max: isize::MAX as u64,
            },
            Refusal::Os { errno } => ShMemError::Os {
                op: "creating a segment in the service",
                segment,
                source: std::io::Error::from_raw_os_error(errno),
            },
            Refusal::Limit => self.error(format!("{segment}: a reference count would overflow")),
        }
    }

    /// Gives back one reference to `key` of `service`: one message that
    /// needs no answer, or, locally, one update under the lock.
    fn release(&mut self, service: u64, key: u64) {
        if self.ready().is_err() || service != self.service {
            return;
        }
        match self.held.get_mut(&key) {
            Some(n) if *n > 1 => *n -= 1,
            Some(_) => {
                self.held.remove(&key);
            }
            None => return,
        }
        match &self.link {
            Link::Local(core) => {
                let dead = {
                    let mut core = service_core::lock(core);
                    core.release(self.client, key, 1);
                    core.take_graveyard()
                };
                drop(dead);
            }
            _ => {
                let _ = self.send(Request::Release { key, count: 1 });
            }
        }
    }

    fn pre_fork(&mut self) -> Result<()> {
        self.ready()?;
        let token = match &self.link {
            Link::Local(core) => service_core::lock(core).pre_fork(self.client).ok(),
            _ => match self.call(Request::PreFork)? {
                (Reply::Forked { token }, _) => Some(token),
                (Reply::Refused(_), _) => None,
                _ => return Err(self.broken("the service answered out of turn")),
            },
        };
        self.fork_token = Some(
            token.ok_or_else(|| self.error("the service cannot set this many segments aside"))?,
        );
        Ok(())
    }

    fn stats(&mut self) -> Result<ServiceStats> {
        self.ready()?;
        match &self.link {
            Link::Local(core) => Ok(service_core::lock(core).stats()),
            _ => match self.call(Request::Stats)? {
                (Reply::Stats(stats), _) => Ok(stats),
                _ => Err(self.broken("the service answered out of turn")),
            },
        }
    }

    /// In a forked child: a connection of its own, and the references the
    /// parent set aside (or, without `pre_fork`, the ones it can still get).
    ///
    /// A socket inherited from the parent is not used (its messages would
    /// interleave with the parent's) but kept open until the child holds
    /// its own references: even a parent that exits at once cannot take
    /// the segments with it. A local link is the parent's memory: dropped
    /// unused.
    fn after_fork_in_child(&mut self) -> Result<()> {
        let inherited = std::mem::take(&mut self.link);
        let old_service = self.service;
        let token = self.fork_token.take();
        let mut local = std::mem::take(&mut self.held);
        let result = self.reconnect();
        if result.is_err() || self.service != old_service {
            drop(inherited);
            return result;
        }
        let mut adopted: HashMap<u64, u32> = HashMap::new();
        if let Some(token) = token {
            match self.call(Request::Adopt { token })? {
                (Reply::Adopted(refs), _) => adopted.extend(refs),
                (Reply::Refused(_), _) => {}
                _ => return Err(self.broken("the service answered out of turn")),
            }
        }
        // Match what the service gave to what this process holds.
        for (&key, &count) in &adopted {
            let want = local.get(&key).copied().unwrap_or(0);
            if count > want {
                self.send(Request::Release {
                    key,
                    count: count - want,
                })?;
            }
        }
        for (key, want) in local.drain() {
            let got = adopted.get(&key).copied().unwrap_or(0).min(want);
            let mut have = got;
            if want > got {
                match self.call(Request::Retain {
                    key,
                    count: want - got,
                })? {
                    (Reply::Done, _) => have = want,
                    (Reply::Refused(_), _) => {}
                    _ => return Err(self.broken("the service answered out of turn")),
                }
            }
            if have > 0 {
                self.held.insert(key, have);
            }
        }
        drop(inherited);
        Ok(())
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        drop(self.unlink());
    }
}

fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    conn.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Creates segments in a [`ShMemService`] and reopens them by id through it.
///
/// The service creates each segment (a memfd on Linux, ashmem on Android,
/// an anonymous POSIX object elsewhere) and passes its descriptor over a
/// Unix socket; this provider maps it. A create is one round trip; a
/// release is one message the service does not answer. When the service
/// runs in this very process, the provider skips the socket and updates
/// the service's books directly: then a create costs what the system calls
/// for the segment cost. Clones share one connection, and each segment
/// holds it too: the connection, and with it the references, lives while
/// any of them does.
///
/// [`ShMemProvider::new`] connects to the service named by the
/// `SHMEM_SERVICE` environment variable, or this user's default one, and
/// starts it in a thread of this process if none runs.
#[derive(Clone, Debug)]
pub struct ServedShMemProvider {
    conn: Arc<Mutex<Connection>>,
}

impl ServedShMemProvider {
    /// Connects to the service `name`; fails if none runs there.
    pub fn connect(name: &ServiceName) -> Result<Self> {
        Ok(ServedShMemProvider {
            conn: Arc::new(Mutex::new(Connection::open(name, false)?)),
        })
    }

    /// Connects to the service `name`, starting it in a thread of this
    /// process if none runs (it then lives as long as this process).
    pub fn connect_or_start(name: &ServiceName) -> Result<Self> {
        Ok(ServedShMemProvider {
            conn: Arc::new(Mutex::new(Connection::open(name, true)?)),
        })
    }

    /// The name of the service this provider talks to.
    pub fn service_name(&self) -> ServiceName {
        lock(&self.conn).name.clone()
    }

    /// Whether this provider reaches its service directly, the service
    /// running in this process, rather than through its socket.
    pub fn is_local(&self) -> bool {
        matches!(lock(&self.conn).link, Link::Local(_))
    }

    /// The service's counters, as it reports them now.
    pub fn service_stats(&mut self) -> Result<ServiceStats> {
        lock(&self.conn).stats()
    }
}

impl ShMemProvider for ServedShMemProvider {
    type ShMem = ServedShMem;

    fn new() -> Result<Self> {
        Self::connect_or_start(&ServiceName::from_env()?)
    }

    fn new_shmem(&mut self, size: usize) -> Result<ServedShMem> {
        let size = check_size(size)?;
        let mut conn = lock(&self.conn);
        conn.ready()?;
        conn.segment(&self.conn, Request::Create { size: size as u64 }, size)
    }

    fn shmem_from_id_and_size(&mut self, id: ShMemId, size: usize) -> Result<ServedShMem> {
        let ShMemId::Served { service, key } = id else {
            return Err(id.wrong_backend("served"));
        };
        let size = check_size(size)?;
        let mut conn = lock(&self.conn);
        conn.ready()?;
        if service != conn.service {
            return Err(ShMemError::NotFound {
                segment: format!(
                    "{id} (service {} is another instance, {:016x}: the one that held it has ended)",
                    conn.name, conn.service
                ),
            });
        }
        conn.segment(
            &self.conn,
            Request::Open {
                key,
                size: size as u64,
            },
            size,
        )
    }

    /// Asks the service to set this process's references aside for the
    /// child about to be forked. Call it right before `fork`.
    fn pre_fork(&mut self) -> Result<()> {
        lock(&self.conn).pre_fork()
    }

    /// In the child: connects anew and takes over the references set aside
    /// by [`pre_fork`](ShMemProvider::pre_fork). A child that skips this
    /// does it on its first use of the provider or a segment, but without
    /// `pre_fork` in the parent it can only re-register the segments the
    /// service still has.
    fn post_fork(&mut self, is_child: bool) -> Result<()> {
        let mut conn = lock(&self.conn);
        if is_child {
            if conn.generation != fork::generation() {
                conn.after_fork_in_child()?;
            }
        } else {
            conn.fork_token = None;
        }
        Ok(())
    }
}

/// A segment a [`ShMemService`] holds, mapped in this process.
///
/// Dropping it unmaps it and gives its reference back to the service, in
/// one message that needs no answer; the service frees the segment when
/// no reference is left anywhere.
#[derive(Debug)]
pub struct ServedShMem {
    map: Mapping,
    id: ShMemId,
    key: u64,
    service: u64,
    conn: Arc<Mutex<Connection>>,
}

crate::segment_impls!(ServedShMem);

impl ShMem for ServedShMem {
    fn id(&self) -> ShMemId {
        self.id.clone()
    }
}

impl Drop for ServedShMem {
    fn drop(&mut self) {
        lock(&self.conn).release(self.service, self.key);
    }
}
