//! The service's event loop: one thread, `poll` over the listener and every
//! client socket, non-blocking throughout, so that no client can stall
//! another. The bookkeeping itself is in [`Core`].

use std::collections::VecDeque;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};

use super::core::{Core, lock};
use super::socket::{self, Listener};
use super::wire::{self, Framing, MAX_REQUEST, Reply, Request};

/// How long a client may leave a request half-sent before it is closed.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Most reply bytes waiting for a client that does not read them.
const MAX_PENDING_OUT: usize = 4 << 20;
/// Most bytes read from one client per round, so that others get their turn.
const READ_PER_ROUND: usize = 64 * 1024;
/// How long to look for more requests after serving, before sleeping.
const SPIN: Duration = Duration::from_micros(50);
/// Most freed segments left to close while busy.
const MAX_GRAVEYARD: usize = 64;
/// Bytes asked for per read.
const READ_CHUNK: usize = 4096;

struct Outgoing {
    bytes: Vec<u8>,
    sent: usize,
    /// The segment whose descriptor goes with the first byte.
    fd_of: Option<u64>,
}

struct Client {
    id: u64,
    sock: OwnedFd,
    inbuf: Vec<u8>,
    out: VecDeque<Outgoing>,
    pending_out: usize,
    partial_since: Option<Instant>,
}

/// Why a client is closed.
enum Close {
    /// It hung up (or its socket failed).
    Gone,
    /// It broke the protocol or the limits.
    Misbehaved,
}

pub(crate) struct Server {
    listener: Listener,
    /// Read end of the stop pipe, for a service running in a thread.
    stop: Option<OwnedFd>,
    core: Arc<Mutex<Core>>,
    euid: u32,
    clients: Vec<Client>,
    accept_paused_until: Option<Instant>,
    fork_slot: Option<usize>,
    scratch: Vec<u8>,
    /// Until when to keep looking for requests before sleeping.
    busy_until: Option<Instant>,
}

impl Server {
    pub(crate) fn new(listener: Listener, stop: Option<OwnedFd>, core: Arc<Mutex<Core>>) -> Server {
        let fork_slot = crate::unix::fork::protect_listener(listener.fd.as_raw_fd());
        Server {
            listener,
            stop,
            core,
            euid: rustix::process::geteuid().as_raw(),
            clients: Vec::new(),
            accept_paused_until: None,
            fork_slot,
            scratch: Vec::with_capacity(64),
            busy_until: None,
        }
    }

    /// Serves until the stop pipe is written to or closed.
    pub(crate) fn run(mut self) {
        loop {
            let now = Instant::now();
            if self.accept_paused_until.is_some_and(|t| t <= now) {
                self.accept_paused_until = None;
            }
            let Ok((stop, accept, ready)) = self.wait(now) else {
                // EINTR, or a transient failure: look again shortly.
                std::thread::sleep(Duration::from_millis(1));
                continue;
            };
            if stop {
                return;
            }
            if accept {
                self.accept_all();
            }
            if ready.iter().any(|r| !r.is_empty()) {
                self.busy_until = Some(Instant::now() + SPIN);
            }
            self.serve_ready(&ready);
            self.expire_partial(Instant::now());
            let mut core = lock(&self.core);
            if core.graveyard_len() > MAX_GRAVEYARD {
                let dead = core.take_graveyard();
                drop(core);
                drop(dead);
            }
        }
    }

    /// Polls; returns (stop requested, listener readable, per-client readiness).
    fn wait(&mut self, now: Instant) -> rustix::io::Result<(bool, bool, Vec<PollFlags>)> {
        let mut deadline = self.accept_paused_until;
        for c in &self.clients {
            if let Some(since) = c.partial_since {
                let t = since + REQUEST_TIMEOUT;
                deadline = Some(deadline.map_or(t, |d| d.min(t)));
            }
        }
        let timeout = deadline.and_then(|d| {
            Timespec::try_from(d.saturating_duration_since(now) + Duration::from_millis(1)).ok()
        });
        let mut fds = Vec::with_capacity(self.clients.len() + 2);
        let stop_at = self.stop.as_ref().map(|fd| {
            fds.push(PollFd::new(fd, PollFlags::IN));
            fds.len() - 1
        });
        let listen_at = self.accept_paused_until.is_none().then(|| {
            fds.push(PollFd::new(&self.listener.fd, PollFlags::IN));
            fds.len() - 1
        });
        let first_client = fds.len();
        for c in &self.clients {
            let events = if c.out.is_empty() {
                PollFlags::IN
            } else {
                PollFlags::OUT
            };
            fds.push(PollFd::new(&c.sock, events));
        }
        // Right after serving, the next request usually follows within
        // microseconds (a client's release, then its next create): look for
        // it a little before sleeping, which would add a wake-up to its trip.
        let zero = Timespec::try_from(Duration::ZERO).expect("zero fits");
        let spin_until = self.busy_until.take();
        loop {
            match spin_until {
                Some(until) if Instant::now() < until => {
                    if rustix::event::poll(&mut fds, Some(&zero))? > 0 {
                        break;
                    }
                    std::thread::yield_now();
                }
                _ => {
                    // Idle: now is the time to close what was freed.
                    drop(lock(&self.core).take_graveyard());
                    rustix::event::poll(&mut fds, timeout.as_ref())?;
                    break;
                }
            }
        }
        let stop = stop_at.is_some_and(|i| !fds[i].revents().is_empty());
        let accept = listen_at.is_some_and(|i| !fds[i].revents().is_empty());
        let ready = fds[first_client..].iter().map(PollFd::revents).collect();
        Ok((stop, accept, ready))
    }

    fn accept_all(&mut self) {
        loop {
            let sock = match accept(&self.listener.fd) {
                Ok(sock) => sock,
                Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => return,
                Err(
                    rustix::io::Errno::MFILE
                    | rustix::io::Errno::NFILE
                    | rustix::io::Errno::NOMEM
                    | rustix::io::Errno::NOBUFS,
                ) => {
                    // Out of descriptors: the connection stays queued; try again
                    // once some are freed rather than spin.
                    self.accept_paused_until = Some(Instant::now() + Duration::from_millis(100));
                    return;
                }
                Err(rustix::io::Errno::CONNABORTED) => continue,
                Err(_) => return,
            };
            if socket::peer_uid(sock.as_fd()).ok() != Some(self.euid) {
                // Another user (or unknowable): it gets nothing, not even a hello.
                lock(&self.core).refused += 1;
                continue;
            }

            let mut core = lock(&self.core);
            let id = core.add_client();
            let mut client = Client {
                id,
                sock,
                inbuf: Vec::new(),
                out: VecDeque::new(),
                pending_out: 0,
                partial_since: None,
            };
            let hello = Reply::Hello {
                version: wire::PROTOCOL,
                service: core.tag,
                client: id,
                pid: core.pid,
            };
            if queue_reply(&mut self.scratch, &mut client, &hello, None, &core).is_ok() {
                self.clients.push(client);
            } else {
                core.remove_client(id, true);
            }
        }
    }

    fn serve_ready(&mut self, ready: &[PollFlags]) {
        // Clients accepted during this round were not polled: `ready` is shorter.
        let mut closing = Vec::new();
        for (index, &revents) in ready.iter().enumerate() {
            if revents.is_empty() {
                continue;
            }
            let mut result = Ok(());
            if !self.clients[index].out.is_empty() {
                result = if revents.intersects(PollFlags::ERR | PollFlags::HUP | PollFlags::NVAL) {
                    Err(Close::Gone)
                } else {
                    flush(&mut self.clients[index], &lock(&self.core))
                };
            }
            // Once its replies are out, serve what it sent meanwhile.
            if result.is_ok() && self.clients[index].out.is_empty() {
                result = self.read_and_handle(index);
            }
            if let Err(why) = result {
                closing.push((index, why));
            }
        }
        // Highest index first, so that removing keeps the others' positions.
        for (index, why) in closing.into_iter().rev() {
            self.disconnect(index, why);
        }
    }

    fn read_and_handle(&mut self, index: usize) -> Result<(), Close> {
        let mut eof = false;
        {
            let client = &mut self.clients[index];
            let mut fds = Vec::new();
            let mut got = 0;
            while got < READ_PER_ROUND {
                let start = client.inbuf.len();
                client.inbuf.resize(start + READ_CHUNK, 0);
                let result = socket::recv(&client.sock, &mut client.inbuf[start..], &mut fds, true);
                // Clients have no business sending descriptors.
                if !fds.is_empty() {
                    return Err(Close::Misbehaved);
                }
                match result {
                    Ok(0) => {
                        client.inbuf.truncate(start);
                        eof = true;
                        break;
                    }
                    Ok(n) => {
                        client.inbuf.truncate(start + n);
                        got += n;
                        if n < READ_CHUNK {
                            // Drained for now; poll says when more comes.
                            break;
                        }
                    }
                    Err(e) => {
                        client.inbuf.truncate(start);
                        match e.kind() {
                            std::io::ErrorKind::WouldBlock => break,
                            std::io::ErrorKind::Interrupted => {}
                            _ => return Err(Close::Gone),
                        }
                    }
                }
            }
        }
        let mut consumed = 0;
        if !self.clients[index].inbuf.is_empty() {
            let mut core = lock(&self.core);
            loop {
                let client = &mut self.clients[index];
                if !client.out.is_empty() {
                    // It has not read our last reply yet: its next request waits.
                    break;
                }
                match wire::framing(&client.inbuf[consumed..], MAX_REQUEST) {
                    Framing::Incomplete => break,
                    Framing::TooLong(_) => return Err(Close::Misbehaved),
                    Framing::Frame { body, end } => {
                        let body = (consumed + body.start)..(consumed + body.end);
                        let Some(request) = Request::decode(&client.inbuf[body]) else {
                            return Err(Close::Misbehaved);
                        };
                        consumed += end;
                        handle(&mut core, &mut self.scratch, client, request)?;
                    }
                }
            }
        }
        let client = &mut self.clients[index];
        client.inbuf.drain(..consumed);
        if client.inbuf.is_empty() {
            client.partial_since = None;
        } else if client.partial_since.is_none() || consumed > 0 {
            client.partial_since = Some(Instant::now());
        }
        if eof {
            // What was whole has been served; a request cut short is malformed.
            return Err(if client.inbuf.is_empty() {
                Close::Gone
            } else {
                Close::Misbehaved
            });
        }
        Ok(())
    }

    fn disconnect(&mut self, index: usize, why: Close) {
        let client = self.clients.swap_remove(index);
        let mut core = lock(&self.core);
        if matches!(why, Close::Misbehaved) {
            core.dropped += 1;
        }
        core.remove_client(client.id, true);
    }

    fn expire_partial(&mut self, now: Instant) {
        let mut index = self.clients.len();
        while index > 0 {
            index -= 1;
            if self.clients[index]
                .partial_since
                .is_some_and(|since| now.duration_since(since) >= REQUEST_TIMEOUT)
            {
                self.disconnect(index, Close::Misbehaved);
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(slot) = self.fork_slot.take() {
            crate::unix::fork::unprotect_listener(slot);
        }
        lock(&self.core).stop();
    }
}

/// Accepts a connection, close-on-exec and non-blocking from the start
/// where the system allows (so that no program another thread starts
/// inherits it), else right after.
fn accept(listener: &OwnedFd) -> rustix::io::Result<OwnedFd> {
    #[cfg(not(apple))]
    {
        rustix::net::accept_with(
            listener,
            rustix::net::SocketFlags::CLOEXEC | rustix::net::SocketFlags::NONBLOCK,
        )
    }
    #[cfg(apple)]
    {
        let sock = rustix::net::accept(listener)?;
        rustix::io::fcntl_setfd(&sock, rustix::io::FdFlags::CLOEXEC)?;
        rustix::net::sockopt::set_socket_nosigpipe(&sock, true)?;
        socket::set_nonblocking(&sock)?;
        Ok(sock)
    }
}

/// Serves one request of `client`.
fn handle(
    core: &mut Core,
    scratch: &mut Vec<u8>,
    client: &mut Client,
    request: Request,
) -> Result<(), Close> {
    let id = client.id;
    let mut then_prepare = None;
    let (reply, fd_of) = match request {
        Request::Create { size } => match core.create(id, size) {
            Ok(key) => {
                then_prepare = Some(size);
                (Reply::Segment { key, size }, Some(key))
            }
            Err(refusal) => (Reply::Refused(refusal), None),
        },
        Request::Open { key, size } => match core.open(id, key, size) {
            Ok(actual) => (Reply::Segment { key, size: actual }, Some(key)),
            Err(refusal) => (Reply::Refused(refusal), None),
        },
        Request::Retain { key, count } => (
            match core.retain(id, key, count) {
                Ok(()) => Reply::Done,
                Err(refusal) => Reply::Refused(refusal),
            },
            None,
        ),
        Request::Release { key, count } => {
            core.release(id, key, count);
            return Ok(());
        }
        Request::PreFork => (
            match core.pre_fork(id) {
                Ok(token) => Reply::Forked { token },
                Err(refusal) => Reply::Refused(refusal),
            },
            None,
        ),
        Request::Adopt { token } => (
            match core.adopt(id, token) {
                Ok(refs) => Reply::Adopted(refs),
                Err(refusal) => Reply::Refused(refusal),
            },
            None,
        ),
        Request::Stats => (Reply::Stats(core.stats()), None),
    };
    queue_reply(scratch, client, &reply, fd_of, core)?;
    if let Some(size) = then_prepare {
        // While the client maps what it got, the next one of its size is made.
        core.prepare(size);
    }
    Ok(())
}

/// Sends `reply` to `client` now if it can go at once, else queues it.
fn queue_reply(
    scratch: &mut Vec<u8>,
    client: &mut Client,
    reply: &Reply,
    fd_of: Option<u64>,
    core: &Core,
) -> Result<(), Close> {
    scratch.clear();
    reply.encode(scratch);
    client.pending_out += scratch.len();
    if client.pending_out > MAX_PENDING_OUT {
        return Err(Close::Misbehaved);
    }
    client.out.push_back(Outgoing {
        bytes: std::mem::replace(scratch, Vec::with_capacity(64)),
        sent: 0,
        fd_of,
    });
    flush(client, core)
}

/// Writes what is queued for `client` until done or the socket is full.
fn flush(client: &mut Client, core: &Core) -> Result<(), Close> {
    while let Some(next) = client.out.front_mut() {
        let fd = match (next.sent, next.fd_of) {
            (0, Some(key)) => match core.fd(key) {
                Some(fd) => Some(fd),
                // Freed while the reply waited: possible only once the client is gone.
                None => return Err(Close::Gone),
            },
            _ => None,
        };
        match socket::send(&client.sock, &next.bytes[next.sent..], fd) {
            Ok(n) => {
                next.sent += n;
                if next.sent == next.bytes.len() {
                    client.pending_out -= next.bytes.len();
                    client.out.pop_front();
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Err(Close::Gone),
        }
    }
    Ok(())
}
