//! One client's connection to its service: how it links (socket or, in the
//! service's own process, directly), and the references it holds.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex};

use super::super::core::{self as service_core, Core};
use super::super::socket::{self, Address, ConnectError};
use super::super::wire::{self, Refusal, Reply, Request};
use super::super::{ServiceName, ServiceStats, ShMemService};
use super::provider::{ServedShMem, map_served};
use super::shared::SharedConnection;
use super::transport::{self, REPLY_TIMEOUT, TransportError};
use crate::error::{Result, ShMemError};
use crate::id::ShMemId;
use crate::unix::{anon, check_fits, fork};

/// How a connection reaches its service.
#[derive(Debug, Default)]
pub(super) enum Link {
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
    pub(super) name: ServiceName,
    pub(super) link: Link,
    /// Whether a request may start a service in this process if none runs.
    may_start: bool,
    pub(super) service: u64,
    pub(super) client: u64,
    /// Forks counted when the connection was made: another count is a child.
    pub(super) generation: u64,
    /// References this process holds, per key: what a child re-registers.
    pub(super) held: HashMap<u64, u32>,
    /// Set by `pre_fork`, for the child to adopt.
    pub(super) fork_token: Option<u64>,
    buf: Vec<u8>,
}

impl Connection {
    pub(super) fn open(name: &ServiceName, may_start: bool) -> Result<Connection> {
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

    pub(super) fn error(&self, reason: impl Into<String>) -> ShMemError {
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
    pub(super) fn unlink(&mut self) -> Link {
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
    pub(super) fn reconnect(&mut self) -> Result<()> {
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
        let hello = transport::receive(&sock, &mut self.buf).map_err(|e| match e {
            TransportError::Closed => self.error(
                "the service closed the connection without a word: it refuses this process \
                 (it accepts only its own user), or it is shutting down",
            ),
            other => self.transport_error(other),
        });
        match hello.map_err(ConnectError::Other)? {
            (
                Reply::Hello {
                    version,
                    service,
                    client,
                    ..
                },
                _,
            ) if version == wire::PROTOCOL => {
                self.link = Link::Socket(sock);
                Ok((service, client))
            }
            (Reply::Hello { version, .. }, _) => Err(ConnectError::Other(self.error(format!(
                "the service speaks protocol {version}, this library {}",
                wire::PROTOCOL
            )))),
            _ => Err(ConnectError::Other(self.error("the service did not greet"))),
        }
    }

    fn transport_error(&self, e: TransportError) -> ShMemError {
        let reason = e.reason();
        match e.into_source() {
            Some(source) => self.io_error(&reason, source),
            None => self.error(reason),
        }
    }

    /// Marks the connection broken and describes why.
    pub(super) fn broken(&mut self, reason: &str) -> ShMemError {
        drop(self.unlink());
        self.error(reason)
    }

    /// Before any use: re-register if this is a forked child that has not
    /// yet (fork without `post_fork`), and relink if broken or if the local
    /// service has ended.
    pub(super) fn ready(&mut self) -> Result<()> {
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

    /// Sends a request on the socket; a failure breaks the connection.
    pub(super) fn send(&mut self, request: Request) -> Result<()> {
        let Link::Socket(sock) = &self.link else {
            return Err(self.error("not connected"));
        };
        transport::send(sock, request).map_err(|e| {
            drop(self.unlink());
            self.io_error("the connection broke", e)
        })
    }

    /// Sends a request and reads its reply; a failure breaks the connection.
    pub(super) fn call(&mut self, request: Request) -> Result<(Reply, Option<OwnedFd>)> {
        self.send(request)?;
        let Link::Socket(sock) = &self.link else {
            return Err(self.error("not connected"));
        };
        transport::receive(sock, &mut self.buf).map_err(|e| {
            drop(self.unlink());
            self.transport_error(e)
        })
    }

    /// Asks for a segment (create or open) and maps `size` bytes of it.
    pub(super) fn segment(
        &mut self,
        this: &Arc<SharedConnection>,
        request: Request,
        size: usize,
        read_only: bool,
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
                let mapped = check_fits(actual, size, &id)
                    .and_then(|()| map_served(fd, size, &id, read_only));
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
                        .and_then(|()| map_served(&fd, size, &id, read_only)),
                };
                (key, mapped)
            }
        };
        match map {
            Ok(map) => Ok(ServedShMem::new(
                map,
                self.id_of(key),
                key,
                self.service,
                this,
            )),
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
    pub(super) fn release(&mut self, service: u64, key: u64) {
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

    pub(super) fn stats(&mut self) -> Result<ServiceStats> {
        self.ready()?;
        match &self.link {
            Link::Local(core) => Ok(service_core::lock(core).stats()),
            _ => match self.call(Request::Stats)? {
                (Reply::Stats(stats), _) => Ok(stats),
                _ => Err(self.broken("the service answered out of turn")),
            },
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        drop(self.unlink());
    }
}
