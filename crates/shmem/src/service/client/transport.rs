//! Frames over the service's socket, from the client's side: a request
//! out, one reply (and the descriptor that came with it) in.

use std::io;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use super::super::socket;
use super::super::wire::{self, Framing, HEADER, MAX_REPLY, MAX_REQUEST, Reply, Request};

/// How long a reply may take before the service is taken for dead.
pub(super) const REPLY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to look for a reply before sleeping until it comes.
const SPIN: Duration = Duration::from_micros(50);

/// Why no reply came: a closed set, for callers to tell apart without
/// reading messages.
#[derive(Debug)]
pub(super) enum TransportError {
    /// The service closed the connection.
    Closed,
    /// No reply within [`REPLY_TIMEOUT`].
    TimedOut,
    /// The socket failed.
    Io(io::Error),
    /// The service sent something that is not one well-formed reply.
    Garbled(&'static str),
}

impl TransportError {
    /// What happened, for a message.
    pub(super) fn reason(&self) -> String {
        match self {
            TransportError::Closed => "the service closed the connection".into(),
            TransportError::TimedOut => format!(
                "no reply from the service within {} s",
                REPLY_TIMEOUT.as_secs()
            ),
            TransportError::Io(_) => "no reply from the service".into(),
            TransportError::Garbled(what) => format!("the service sent {what}"),
        }
    }

    /// The OS error behind it, if one was.
    pub(super) fn into_source(self) -> Option<io::Error> {
        match self {
            TransportError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Sends one request frame whole.
pub(super) fn send(sock: &OwnedFd, request: Request) -> io::Result<()> {
    let mut frame = [0u8; HEADER + MAX_REQUEST];
    let len = request.encode(&mut frame);
    let mut sent = 0;
    while sent < len {
        match socket::send(sock, &frame[sent..len], None) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads one reply frame into `buf`, with the descriptor that came with it.
pub(super) fn receive(
    sock: &OwnedFd,
    buf: &mut Vec<u8>,
) -> Result<(Reply, Option<OwnedFd>), TransportError> {
    let mut fds = Vec::new();
    buf.clear();
    let reply = loop {
        let need = match wire::framing(buf, MAX_REPLY) {
            Framing::Frame { body, end } if end == buf.len() => {
                break Reply::decode(&buf[body])
                    .ok_or(TransportError::Garbled("a malformed reply"))?;
            }
            Framing::Frame { .. } => return Err(TransportError::Garbled("more than one reply")),
            Framing::TooLong(_) => return Err(TransportError::Garbled("an oversized reply")),
            // The first read asks for any small reply whole: one system call.
            Framing::Incomplete if buf.len() < HEADER => 64,
            Framing::Incomplete => {
                let len = u32::from_le_bytes(buf[..HEADER].try_into().expect("4 bytes"));
                HEADER + len as usize - buf.len()
            }
        };
        let start = buf.len();
        buf.resize(start + need, 0);
        match read_some(sock, &mut buf[start..], &mut fds) {
            Ok(0) => return Err(TransportError::Closed),
            Ok(n) => buf.truncate(start + n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => buf.truncate(start),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Err(TransportError::TimedOut);
            }
            Err(e) => return Err(TransportError::Io(e)),
        }
    };
    let mut fds = fds.into_iter();
    let fd = fds.next();
    if fds.next().is_some() {
        return Err(TransportError::Garbled("more than one descriptor"));
    }
    Ok((reply, fd))
}

/// One read. A reply usually comes within microseconds: look for it a
/// little while before sleeping, which would add a wake-up to the trip.
fn read_some(sock: &OwnedFd, into: &mut [u8], fds: &mut Vec<OwnedFd>) -> io::Result<usize> {
    let spin_until = Instant::now() + SPIN;
    loop {
        match socket::recv(sock, into, fds, false) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < spin_until => {
                std::thread::yield_now();
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return socket::recv(sock, into, fds, true);
            }
            other => return other,
        }
    }
}
