//! The client side: [`ServedShMemProvider`] and its segments.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::socket::{self, Address, ConnectError};
use super::wire::{self, Framing, HEADER, MAX_REPLY, MAX_REQUEST, Refusal, Reply, Request};
use super::{ServiceName, ServiceStats, ShMemService};
use crate::error::{Result, ShMemError, check_size};
use crate::id::ShMemId;
use crate::unix::{Mapping, anon, check_fits};
use crate::{ShMem, ShMemProvider};

/// How long a reply may take before the service is taken for dead.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);
/// What a connection the service closed is reported as.
const CLOSED: &str = "the service closed the connection";

/// One connection to a service, shared by every clone of a provider and
/// every segment it handed out.
#[derive(Debug)]
pub(crate) struct Connection {
    name: ServiceName,
    /// `None` once broken; the next request reconnects.
    sock: Option<OwnedFd>,
    /// Whether a request may start a service in this process if none runs.
    may_start: bool,
    service: u64,
    client: u64,
    /// The process that made the connection: another one is a forked child.
    pid: u32,
    /// References this process holds, per key: what a child re-registers.
    held: HashMap<u64, u32>,
    /// Set by `pre_fork`, for the child to adopt.
    fork_token: Option<u64>,
    buf: Vec<u8>,
}

fn current_pid() -> u32 {
    rustix::process::getpid().as_raw_nonzero().get() as u32
}

impl Connection {
    fn open(name: &ServiceName, may_start: bool) -> Result<Connection> {
        let mut conn = Connection {
            name: name.clone(),
            sock: None,
            may_start,
            service: 0,
            client: 0,
            pid: current_pid(),
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

    /// Makes a new connection (starting a service first if allowed and none
    /// runs) and reads its hello. Forgets references of another service.
    fn reconnect(&mut self) -> Result<()> {
        self.sock = None;
        let address = Address::of(&self.name)?;
        let sock = match socket::connect(&self.name, &address, REPLY_TIMEOUT) {
            Ok(sock) => sock,
            Err(ConnectError::NoService(_)) if self.may_start => {
                match ShMemService::start_implicit(&self.name) {
                    Ok(()) | Err(ShMemError::AlreadyExists { .. }) => {}
                    Err(other) => return Err(other),
                }
                match socket::connect(&self.name, &address, REPLY_TIMEOUT) {
                    Ok(sock) => sock,
                    Err(ConnectError::NoService(e)) => {
                        return Err(self.io_error("no service runs there", e.into()));
                    }
                    Err(ConnectError::Other(e)) => return Err(e),
                }
            }
            Err(ConnectError::NoService(e)) => {
                return Err(self.io_error("no service runs there", e.into()));
            }
            Err(ConnectError::Other(e)) => return Err(e),
        };
        // Talk only to a service of our own user: another one could hand out
        // memory it reads, or answer with anything.
        let ours = rustix::process::geteuid().as_raw();
        match socket::peer_uid(sock.as_fd()) {
            Ok(uid) if uid == ours => {}
            Ok(uid) => {
                return Err(self.error(format!(
                    "the service runs as user {uid}, not as this user ({ours}); not using it"
                )));
            }
            Err(e) => return Err(self.io_error("cannot learn who runs the service", e)),
        }
        self.sock = Some(sock);
        let (reply, _) = self.receive().map_err(|e| match e {
            ShMemError::Service { ref reason, .. } if reason == CLOSED => self.error(
                "the service closed the connection without a word: it refuses this process \
                 (it accepts only its own user), or it is shutting down",
            ),
            other => other,
        })?;
        let Reply::Hello {
            version,
            service,
            client,
            ..
        } = reply
        else {
            return Err(self.broken("the service did not greet"));
        };
        if version != wire::PROTOCOL {
            return Err(self.broken(&format!(
                "the service speaks protocol {version}, this library {}",
                wire::PROTOCOL
            )));
        }
        if service != self.service {
            // Another service instance: our keys mean nothing there.
            self.held.clear();
            self.fork_token = None;
        }
        self.service = service;
        self.client = client;
        self.pid = current_pid();
        Ok(())
    }

    /// Marks the connection broken and describes why.
    fn broken(&mut self, reason: &str) -> ShMemError {
        self.sock = None;
        self.error(reason)
    }

    /// Before any use: reconnect if broken, and re-register if this is a
    /// forked child that has not yet (fork without `post_fork`).
    fn ready(&mut self) -> Result<()> {
        if self.sock.is_none() {
            return self.reconnect();
        }
        if self.pid != current_pid() {
            return self.after_fork_in_child();
        }
        Ok(())
    }

    fn send(&mut self, request: Request) -> Result<()> {
        let mut frame = [0u8; HEADER + MAX_REQUEST];
        let len = request.encode(&mut frame);
        let Some(sock) = &self.sock else {
            return Err(self.error("not connected"));
        };
        let mut sent = 0;
        while sent < len {
            match socket::send(sock, &frame[sent..len], None) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.sock = None;
                    return Err(self.io_error("the connection broke", e));
                }
            }
        }
        Ok(())
    }

    /// Reads one reply frame, with the descriptor that came with it.
    fn receive(&mut self) -> Result<(Reply, Option<OwnedFd>)> {
        let Some(sock) = self.sock.take() else {
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
            match socket::recv(&sock, &mut self.buf[start..], &mut fds) {
                Ok(0) => {
                    self.buf.truncate(start);
                    return Err(self.error(CLOSED));
                }
                Ok(n) => self.buf.truncate(start + n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                    self.buf.truncate(start);
                }
                Err(e) => {
                    return Err(self.io_error("no reply from the service", e));
                }
            }
        };
        match outcome {
            Ok(reply) => {
                self.sock = Some(sock);
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
        let (reply, fd) = self.call(request)?;
        let (key, actual) = match reply {
            Reply::Segment { key, size } => (key, size),
            Reply::Refused(refusal) => return Err(self.refused(refusal, request, size)),
            _ => return Err(self.broken("the service answered out of turn")),
        };
        let id = ShMemId::Served {
            service: self.service,
            key,
        };
        // We hold a reference from here on: give it back if mapping fails.
        *self.held.entry(key).or_insert(0) += 1;
        let mapped = (|| {
            let fd = fd.ok_or_else(|| self.error("the service sent no descriptor"))?;
            check_fits(actual, size, &id)?;
            check_fits(anon::size(&fd)?, size, &id)?;
            Mapping::map_fd(&fd, size, &id)
        })();
        match mapped {
            Ok(map) => Ok(ServedShMem {
                map,
                id,
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

    fn refused(&self, refusal: Refusal, request: Request, size: usize) -> ShMemError {
        let segment = match request {
            Request::Open { key, .. } | Request::Retain { key, .. } => ShMemId::Served {
                service: self.service,
                key,
            }
            .to_string(),
            _ => format!("served segment ({size} bytes, service {})", self.name),
        };
        match refusal {
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

    /// Gives back one reference to `key` of `service`: one message, no reply.
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
        let _ = self.send(Request::Release { key, count: 1 });
    }

    fn pre_fork(&mut self) -> Result<()> {
        self.ready()?;
        match self.call(Request::PreFork)? {
            (Reply::Forked { token }, _) => {
                self.fork_token = Some(token);
                Ok(())
            }
            (Reply::Refused(_), _) => {
                Err(self.error("the service cannot set this many segments aside for a child"))
            }
            _ => Err(self.broken("the service answered out of turn")),
        }
    }

    /// In a forked child: a connection of its own, and the references the
    /// parent set aside (or, without `pre_fork`, the ones it can still get).
    ///
    /// The connection inherited from the parent is not used (its messages
    /// would interleave with the parent's) but kept open until the child
    /// holds its own references: so even a parent that exits at once
    /// cannot take the segments with it.
    fn after_fork_in_child(&mut self) -> Result<()> {
        let inherited = self.sock.take();
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

fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    conn.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Creates segments in a [`ShMemService`] and reopens them by id through it.
///
/// The service creates each segment (a memfd on Linux, ashmem on Android,
/// an anonymous POSIX object elsewhere) and passes its descriptor over a
/// Unix socket; this provider maps it. A create is one round trip; a
/// release is one message the service does not answer. Clones share one
/// connection, and each segment holds it too: the connection, and with it
/// the references, lives while any of them does.
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

    /// The service's counters, as it reports them now.
    pub fn service_stats(&mut self) -> Result<ServiceStats> {
        let mut conn = lock(&self.conn);
        conn.ready()?;
        match conn.call(Request::Stats)? {
            (Reply::Stats(stats), _) => Ok(stats),
            _ => Err(conn.broken("the service answered out of turn")),
        }
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
            if conn.pid != current_pid() {
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
