//! The service's event loop: one thread, `poll` over the listener and every
//! client, non-blocking throughout, so that no client can stall another.
//!
//! Bookkeeping: each segment counts its references, and each client counts
//! the references it holds per segment. A client's references go when it
//! releases them or its connection closes (exit, crash, SIGKILL: the
//! kernel closes the socket either way), and a segment whose count reaches
//! zero is freed: its descriptor is closed, and the kernel frees the memory
//! once the last mapping is gone.

use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, Once, PoisonError};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};

use super::ServiceStats;
use super::socket::{self, Listener};
use super::wire::{self, Framing, MAX_ADOPTED, MAX_REQUEST, Refusal, Reply, Request};
use crate::error::ShMemError;

/// How long a client may leave a request half-sent before it is closed.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Most reply bytes waiting for a client that does not read them.
const MAX_PENDING_OUT: usize = 4 << 20;
/// Most fork snapshots one client may leave unclaimed; older ones are dropped.
const MAX_SNAPSHOTS_PER_CLIENT: usize = 64;
/// Most bytes read from one client per round, so that others get their turn.
const READ_PER_ROUND: usize = 64 * 1024;

struct Segment {
    fd: OwnedFd,
    size: u64,
    refs: u64,
}

struct Outgoing {
    bytes: Vec<u8>,
    sent: usize,
    /// The segment whose descriptor goes with the first byte.
    fd_of: Option<u64>,
}

struct Client {
    id: u64,
    sock: OwnedFd,
    held: HashMap<u64, u32>,
    inbuf: Vec<u8>,
    out: VecDeque<Outgoing>,
    pending_out: usize,
    partial_since: Option<Instant>,
}

struct Snapshot {
    owner: u64,
    refs: HashMap<u64, u32>,
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
    tag: u64,
    euid: u32,
    pid: u32,
    segments: HashMap<u64, Segment>,
    clients: Vec<Client>,
    snapshots: HashMap<u64, Snapshot>,
    next_key: u64,
    next_client: u64,
    next_token: u64,
    bytes: u64,
    refused: u64,
    dropped: u64,
    accept_paused_until: Option<Instant>,
    shared_stats: Arc<Mutex<ServiceStats>>,
    fork_slot: Option<usize>,
    scratch: Vec<u8>,
}

impl Server {
    pub(crate) fn new(
        listener: Listener,
        stop: Option<OwnedFd>,
        tag: u64,
        shared_stats: Arc<Mutex<ServiceStats>>,
    ) -> Server {
        let fork_slot = fork_guard::protect(listener.fd.as_raw_fd());
        Server {
            listener,
            stop,
            tag,
            euid: rustix::process::geteuid().as_raw(),
            pid: rustix::process::getpid().as_raw_nonzero().get() as u32,
            segments: HashMap::new(),
            clients: Vec::new(),
            snapshots: HashMap::new(),
            next_key: 1,
            next_client: 1,
            next_token: 1,
            bytes: 0,
            refused: 0,
            dropped: 0,
            accept_paused_until: None,
            shared_stats,
            fork_slot,
            scratch: Vec::with_capacity(64),
        }
    }

    fn stats(&self) -> ServiceStats {
        ServiceStats {
            clients: self.clients.len() as u64,
            segments: self.segments.len() as u64,
            bytes: self.bytes,
            refused: self.refused,
            dropped: self.dropped,
        }
    }

    /// Serves until the stop pipe is written to or closed.
    pub(crate) fn run(mut self) {
        loop {
            *self
                .shared_stats
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = self.stats();
            let now = Instant::now();
            if self.accept_paused_until.is_some_and(|t| t <= now) {
                self.accept_paused_until = None;
            }
            let (stop, accept, ready) = match self.wait(now) {
                Ok(r) => r,
                Err(_) => {
                    // EINTR, or a transient failure: look again shortly.
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
            };
            if stop {
                return;
            }
            if accept {
                self.accept_all();
            }
            self.serve_ready(&ready);
            self.expire_partial(Instant::now());
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
        rustix::event::poll(&mut fds, timeout.as_ref())?;
        let stop = stop_at.is_some_and(|i| !fds[i].revents().is_empty());
        let accept = listen_at.is_some_and(|i| !fds[i].revents().is_empty());
        let ready = fds[first_client..].iter().map(PollFd::revents).collect();
        Ok((stop, accept, ready))
    }

    fn accept_all(&mut self) {
        loop {
            let sock = match rustix::net::accept(&self.listener.fd) {
                Ok(sock) => sock,
                Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => return,
                Err(
                    rustix::io::Errno::MFILE
                    | rustix::io::Errno::NFILE
                    | rustix::io::Errno::NOMEM
                    | rustix::io::Errno::NOBUFS,
                ) => {
                    // Out of descriptors: the pending connection stays queued;
                    // try again once some are freed rather than spin.
                    self.accept_paused_until = Some(Instant::now() + Duration::from_millis(100));
                    return;
                }
                Err(rustix::io::Errno::CONNABORTED) => continue,
                Err(_) => return,
            };
            // Descriptors received or accepted here must not leak into programs
            // that another thread of this process starts.
            let _ = rustix::io::fcntl_setfd(&sock, rustix::io::FdFlags::CLOEXEC);
            if socket::peer_uid(sock.as_fd()).ok() != Some(self.euid) {
                // Another user (or unknowable): it gets nothing, not even a hello.
                self.refused += 1;
                continue;
            }
            #[cfg(target_vendor = "apple")]
            let _ = rustix::net::sockopt::set_socket_nosigpipe(&sock, true);
            if socket::set_nonblocking(&sock).is_err() {
                continue;
            }
            let id = self.next_client;
            self.next_client += 1;
            let mut client = Client {
                id,
                sock,
                held: HashMap::new(),
                inbuf: Vec::new(),
                out: VecDeque::new(),
                pending_out: 0,
                partial_since: None,
            };
            let hello = Reply::Hello {
                version: wire::PROTOCOL,
                service: self.tag,
                client: id,
                pid: self.pid,
            };
            if queue_reply(&mut self.scratch, &mut client, &hello, None, &self.segments).is_ok() {
                self.clients.push(client);
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
                    flush(&mut self.clients[index], &self.segments)
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
            if matches!(why, Close::Misbehaved) {
                self.dropped += 1;
            }
            self.disconnect(index);
        }
    }

    fn read_and_handle(&mut self, index: usize) -> Result<(), Close> {
        let mut eof = false;
        let mut got = 0;
        {
            let client = &mut self.clients[index];
            let mut fds = Vec::new();
            while got < READ_PER_ROUND {
                let start = client.inbuf.len();
                client.inbuf.resize(start + 4096, 0);
                match socket::recv(&client.sock, &mut client.inbuf[start..], &mut fds) {
                    Ok(0) => {
                        client.inbuf.truncate(start);
                        eof = true;
                        break;
                    }
                    Ok(n) => {
                        client.inbuf.truncate(start + n);
                        got += n;
                    }
                    Err(e) => {
                        client.inbuf.truncate(start);
                        if e.kind() == std::io::ErrorKind::WouldBlock {
                            break;
                        }
                        if e.kind() == std::io::ErrorKind::Interrupted {
                            continue;
                        }
                        return Err(Close::Gone);
                    }
                }
                // Clients have no business sending descriptors.
                if !fds.is_empty() {
                    return Err(Close::Misbehaved);
                }
            }
        }
        let mut consumed = 0;
        loop {
            let client = &self.clients[index];
            if !client.out.is_empty() {
                // It has not read our last reply: it waits for its turn.
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
                    self.handle(index, request)?;
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
            // Whatever was complete has been served; a half request is malformed.
            return Err(if client.inbuf.is_empty() {
                Close::Gone
            } else {
                Close::Misbehaved
            });
        }
        Ok(())
    }

    fn handle(&mut self, index: usize, request: Request) -> Result<(), Close> {
        let reply: Option<(Reply, Option<u64>)> = match request {
            Request::Create { size } => Some(match self.create(index, size) {
                Ok(key) => (Reply::Segment { key, size }, Some(key)),
                Err(refusal) => (Reply::Refused(refusal), None),
            }),
            Request::Open { key, size } => Some(match self.open(index, key, size) {
                Ok(actual) => (Reply::Segment { key, size: actual }, Some(key)),
                Err(refusal) => (Reply::Refused(refusal), None),
            }),
            Request::Retain { key, count } => Some((
                match self.retain(index, key, count) {
                    Ok(()) => Reply::Done,
                    Err(refusal) => Reply::Refused(refusal),
                },
                None,
            )),
            Request::Release { key, count } => {
                let held = self.clients[index].held.get(&key).copied().unwrap_or(0);
                self.release(index, key, count.min(held));
                None
            }
            Request::PreFork => Some((self.pre_fork(index), None)),
            Request::Adopt { token } => Some((self.adopt(index, token), None)),
            Request::Stats => Some((Reply::Stats(self.stats()), None)),
        };
        if let Some((reply, fd_of)) = reply {
            queue_reply(
                &mut self.scratch,
                &mut self.clients[index],
                &reply,
                fd_of,
                &self.segments,
            )?;
        }
        Ok(())
    }

    fn create(&mut self, index: usize, size: u64) -> Result<u64, Refusal> {
        let len = usize::try_from(size)
            .ok()
            .and_then(|s| crate::error::check_size(s).ok())
            .ok_or(Refusal::BadSize)?;
        let fd = crate::unix::anon::create(len).map_err(|e| match e {
            ShMemError::Os { source, .. } => Refusal::Os {
                errno: source.raw_os_error().unwrap_or(libc::ENOMEM),
            },
            _ => Refusal::Os {
                errno: libc::ENOMEM,
            },
        })?;
        let key = self.next_key;
        self.next_key += 1;
        self.segments.insert(key, Segment { fd, size, refs: 1 });
        self.bytes += size;
        self.clients[index].held.insert(key, 1);
        Ok(key)
    }

    fn open(&mut self, index: usize, key: u64, size: u64) -> Result<u64, Refusal> {
        let segment = self.segments.get(&key).ok_or(Refusal::NotFound)?;
        if size == 0 {
            return Err(Refusal::BadSize);
        }
        if size > segment.size {
            return Err(Refusal::TooSmall {
                actual: segment.size,
            });
        }
        let actual = segment.size;
        self.retain(index, key, 1)?;
        Ok(actual)
    }

    fn retain(&mut self, index: usize, key: u64, count: u32) -> Result<(), Refusal> {
        let segment = self.segments.get_mut(&key).ok_or(Refusal::NotFound)?;
        let held = self.clients[index].held.entry(key).or_insert(0);
        let Some(new_held) = held.checked_add(count) else {
            if *held == 0 {
                self.clients[index].held.remove(&key);
            }
            return Err(Refusal::Limit);
        };
        *held = new_held;
        segment.refs += u64::from(count);
        Ok(())
    }

    /// Gives back `count` of the references client `index` holds to `key`.
    fn release(&mut self, index: usize, key: u64, count: u32) {
        if count == 0 {
            return;
        }
        let held = &mut self.clients[index].held;
        match held.get_mut(&key) {
            Some(n) if *n > count => *n -= count,
            Some(_) => {
                held.remove(&key);
            }
            None => return,
        }
        self.drop_refs(key, u64::from(count));
    }

    fn drop_refs(&mut self, key: u64, count: u64) {
        if let Some(segment) = self.segments.get_mut(&key) {
            segment.refs = segment.refs.saturating_sub(count);
            if segment.refs == 0
                && let Some(freed) = self.segments.remove(&key)
            {
                self.bytes -= freed.size;
            }
        }
    }

    fn pre_fork(&mut self, index: usize) -> Reply {
        let client = &self.clients[index];
        if client.held.len() > MAX_ADOPTED {
            return Reply::Refused(Refusal::Limit);
        }
        let owner = client.id;
        let refs = client.held.clone();
        for (&key, &count) in &refs {
            if let Some(segment) = self.segments.get_mut(&key) {
                segment.refs += u64::from(count);
            }
        }
        let token = self.next_token;
        self.next_token += 1;
        self.snapshots.insert(token, Snapshot { owner, refs });
        // A parent whose children die before adopting must not pile these up.
        let mut own: Vec<u64> = self
            .snapshots
            .iter()
            .filter(|(_, s)| s.owner == owner)
            .map(|(&t, _)| t)
            .collect();
        if own.len() > MAX_SNAPSHOTS_PER_CLIENT {
            own.sort_unstable();
            let excess = own.len() - MAX_SNAPSHOTS_PER_CLIENT;
            for old in own.into_iter().take(excess) {
                self.drop_snapshot(old);
            }
        }
        Reply::Forked { token }
    }

    fn adopt(&mut self, index: usize, token: u64) -> Reply {
        let Some(snapshot) = self.snapshots.remove(&token) else {
            return Reply::Refused(Refusal::NotFound);
        };
        let held = &mut self.clients[index].held;
        let mut adopted = Vec::with_capacity(snapshot.refs.len());
        let mut overflow = Vec::new();
        for (key, count) in snapshot.refs {
            if !self.segments.contains_key(&key) {
                continue;
            }
            let entry = held.entry(key).or_insert(0);
            match entry.checked_add(count) {
                Some(n) => {
                    *entry = n;
                    adopted.push((key, count));
                }
                None => overflow.push((key, count)),
            }
        }
        for (key, count) in overflow {
            self.drop_refs(key, u64::from(count));
        }
        adopted.sort_unstable();
        Reply::Adopted(adopted)
    }

    fn drop_snapshot(&mut self, token: u64) {
        if let Some(snapshot) = self.snapshots.remove(&token) {
            for (key, count) in snapshot.refs {
                self.drop_refs(key, u64::from(count));
            }
        }
    }

    fn disconnect(&mut self, index: usize) {
        let client = self.clients.swap_remove(index);
        for (key, count) in client.held {
            self.drop_refs(key, u64::from(count));
        }
        let orphaned: Vec<u64> = self
            .snapshots
            .iter()
            .filter(|(_, s)| s.owner == client.id)
            .map(|(&t, _)| t)
            .collect();
        for token in orphaned {
            self.drop_snapshot(token);
        }
    }

    fn expire_partial(&mut self, now: Instant) {
        let mut index = self.clients.len();
        while index > 0 {
            index -= 1;
            if self.clients[index]
                .partial_since
                .is_some_and(|since| now.duration_since(since) >= REQUEST_TIMEOUT)
            {
                self.dropped += 1;
                self.disconnect(index);
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(slot) = self.fork_slot.take() {
            fork_guard::unprotect(slot);
        }
    }
}

/// Sends `reply` to `client` now if it can go at once, else queues it.
fn queue_reply(
    scratch: &mut Vec<u8>,
    client: &mut Client,
    reply: &Reply,
    fd_of: Option<u64>,
    segments: &HashMap<u64, Segment>,
) -> Result<(), Close> {
    scratch.clear();
    reply.encode(scratch);
    client.pending_out += scratch.len();
    if client.pending_out > MAX_PENDING_OUT {
        return Err(Close::Misbehaved);
    }
    client.out.push_back(Outgoing {
        bytes: std::mem::take(scratch),
        sent: 0,
        fd_of,
    });
    let result = flush(client, segments);
    if scratch.capacity() == 0 {
        *scratch = Vec::with_capacity(64);
    }
    result
}

/// Writes what is queued for `client` until done or the socket is full.
fn flush(client: &mut Client, segments: &HashMap<u64, Segment>) -> Result<(), Close> {
    while let Some(next) = client.out.front_mut() {
        let fd = match (next.sent, next.fd_of) {
            (0, Some(key)) => match segments.get(&key) {
                Some(segment) => Some(segment.fd.as_fd()),
                // Freed while the reply waited: the client is gone or broken.
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

/// After `fork`, the child has a copy of every listening socket of the
/// services running in the parent, but not their threads: were the copies
/// kept, a child that outlives the parent would hold the name and accept
/// nothing, and new clients would hang. A `pthread_atfork` child handler
/// swaps each for `/dev/null` (async-signal-safe `dup2`), so the socket
/// closes with the parent.
mod fork_guard {
    use super::*;

    const SLOTS: usize = 16;
    static LISTENERS: [AtomicI32; SLOTS] = [const { AtomicI32::new(-1) }; SLOTS];
    static NULL_FD: AtomicI32 = AtomicI32::new(-1);
    static INSTALL: Once = Once::new();

    extern "C" fn in_child() {
        let null = NULL_FD.load(Ordering::Relaxed);
        if null < 0 {
            return;
        }
        for slot in &LISTENERS {
            let fd = slot.swap(-1, Ordering::Relaxed);
            if fd >= 0 {
                // SAFETY: dup2 and fcntl are async-signal-safe and touch only
                // descriptors: `fd` is the listener this process had at fork,
                // now replaced by /dev/null, which the (never dropped in the
                // child) listener will close in its stead.
                unsafe {
                    libc::dup2(null, fd);
                    libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                }
            }
        }
    }

    /// Registers a listener; `None` if all slots are taken (then a forked
    /// child keeps its copy, as it would without this guard).
    pub(super) fn protect(fd: RawFd) -> Option<usize> {
        INSTALL.call_once(|| {
            if let Ok(null) = rustix::fs::open(
                "/dev/null",
                rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            ) {
                // Kept open for the life of the process, for the handler.
                NULL_FD.store(std::os::fd::IntoRawFd::into_raw_fd(null), Ordering::Relaxed);
                // SAFETY: registers a handler that only performs async-signal-safe
                // calls; prepare and parent handlers are none.
                unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
            }
        });
        LISTENERS.iter().position(|slot| {
            slot.compare_exchange(-1, fd, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        })
    }

    /// Unregisters a listener before it is closed.
    pub(super) fn unprotect(slot: usize) {
        LISTENERS[slot].store(-1, Ordering::Relaxed);
    }
}
