//! The service's socket: where it lives, who is at the other end, and
//! descriptors passed over it.
//!
//! On Linux and Android a service listens on an abstract socket: a name in
//! the kernel, not a file, gone when the listener closes, so nothing can go
//! stale. Elsewhere (and on Linux for names that are paths) it is a socket
//! file in the user's runtime directory, made owner-only, removed by the
//! service that made it, and replaced if a dead service left it behind.
//! Abstract sockets have no permissions, and files can be reached by root:
//! what keeps a service private is that both ends check the other's user.

use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags, SocketAddrUnix, SocketType,
};

use super::ServiceName;
use crate::error::{Result, ShMemError};

/// Where a service listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Address {
    /// A Linux abstract socket name (without the leading NUL).
    #[cfg_attr(not(linux_like), allow(dead_code))]
    Abstract(String),
    /// A socket file.
    Path(PathBuf),
}

impl Address {
    pub(crate) fn of(name: &ServiceName) -> Result<Address> {
        let text = name.as_str();
        if text.starts_with('/') {
            return Ok(Address::Path(PathBuf::from(text)));
        }
        #[cfg(linux_like)]
        {
            Ok(Address::Abstract(text.to_owned()))
        }
        #[cfg(not(linux_like))]
        {
            Ok(Address::Path(
                runtime_dir(name)?.join(format!("{text}.sock")),
            ))
        }
    }

    fn socket_addr(&self, name: &ServiceName) -> Result<SocketAddrUnix> {
        let made = match self {
            #[cfg(linux_like)]
            Address::Abstract(text) => SocketAddrUnix::new_abstract_name(text.as_bytes()),
            #[cfg(not(linux_like))]
            Address::Abstract(_) => Err(rustix::io::Errno::AFNOSUPPORT),
            Address::Path(path) => SocketAddrUnix::new(path.as_path()),
        };
        made.map_err(|e| {
            service_error(
                name,
                "the socket address is too long for a Unix socket (about 100 bytes)",
                e,
            )
        })
    }
}

/// The directory for socket files: `$XDG_RUNTIME_DIR` if it is set and
/// ours, else the user's private `~/.cache/shmem` (not a directory of the
/// shared temporary directory, whose name another user could take first).
#[cfg_attr(linux_like, allow(dead_code))]
fn runtime_dir(_name: &ServiceName) -> Result<PathBuf> {
    let uid = rustix::process::geteuid().as_raw();
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from)
        && dir.is_absolute()
        && rustix::fs::stat(&dir).is_ok_and(|st| st.st_uid == uid && is_dir(&st))
    {
        return Ok(dir);
    }
    super::name::user_dir()
}

fn is_dir(st: &rustix::fs::Stat) -> bool {
    rustix::fs::FileType::from_raw_mode(st.st_mode as _) == rustix::fs::FileType::Directory
}

fn is_socket(st: &rustix::fs::Stat) -> bool {
    rustix::fs::FileType::from_raw_mode(st.st_mode as _) == rustix::fs::FileType::Socket
}

pub(crate) fn service_error(name: &ServiceName, reason: &str, e: rustix::io::Errno) -> ShMemError {
    ShMemError::Service {
        service: name.to_string(),
        reason: reason.to_owned(),
        source: Some(e.into()),
    }
}

/// A new stream socket, close-on-exec, that never raises SIGPIPE.
fn stream_socket() -> rustix::io::Result<OwnedFd> {
    #[cfg(not(apple))]
    let fd = rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::STREAM,
        rustix::net::SocketFlags::CLOEXEC,
        None,
    )?;
    #[cfg(apple)]
    let fd = {
        let fd = rustix::net::socket(AddressFamily::UNIX, SocketType::STREAM, None)?;
        rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::CLOEXEC)?;
        rustix::net::sockopt::set_socket_nosigpipe(&fd, true)?;
        fd
    };
    Ok(fd)
}

/// A listening socket; a socket file it made is removed on drop, if it is
/// still the one it made.
#[derive(Debug)]
pub(crate) struct Listener {
    pub(crate) fd: OwnedFd,
    pub(crate) file: Option<SocketFile>,
}

/// A socket file and the identity it had when made.
#[derive(Debug, Clone)]
pub(crate) struct SocketFile {
    path: PathBuf,
    identity: (u64, u64),
}

impl SocketFile {
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the file if it is still the one this service made.
    pub(crate) fn remove(&self) {
        if identity(&self.path) == Some(self.identity) {
            let _ = rustix::fs::unlink(&self.path);
        }
    }
}

fn identity(path: &Path) -> Option<(u64, u64)> {
    let st = rustix::fs::lstat(path).ok()?;
    Some((st.st_dev as u64, st.st_ino as u64))
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(file) = &self.file {
            file.remove();
        }
    }
}

/// Listens at `address`. Fails with [`ShMemError::AlreadyExists`] if a
/// live service answers there; replaces a socket file nobody listens on.
pub(crate) fn listen(name: &ServiceName, address: &Address) -> Result<Listener> {
    let addr = address.socket_addr(name)?;
    let fd = stream_socket().map_err(|e| service_error(name, "cannot make a socket", e))?;
    match rustix::net::bind(&fd, &addr) {
        Ok(()) => finish_listening(name, fd, address),
        Err(rustix::io::Errno::ADDRINUSE) => {
            if probe(&addr) {
                return Err(ShMemError::AlreadyExists {
                    segment: format!("service {name}"),
                });
            }
            match address {
                Address::Path(path) => replace_stale(name, path),
                Address::Abstract(_) => Err(ShMemError::Service {
                    service: name.to_string(),
                    reason: "the name is bound by a socket that accepts no connections".into(),
                    source: None,
                }),
            }
        }
        Err(e) => Err(service_error(name, "cannot bind the service's socket", e)),
    }
}

/// Whether something accepts connections at `addr`.
fn probe(addr: &SocketAddrUnix) -> bool {
    stream_socket().is_ok_and(|probe| rustix::net::connect(&probe, addr).is_ok())
}

/// A dead service's socket file is in the way: make ours under a temporary
/// name and rename it over the old one, so that no moment exists without a
/// socket there and two services replacing at once cannot both win.
fn replace_stale(name: &ServiceName, path: &Path) -> Result<Listener> {
    let uid = rustix::process::geteuid().as_raw();
    let st = rustix::fs::lstat(path)
        .map_err(|e| service_error(name, &format!("cannot inspect {}", path.display()), e))?;
    if !is_socket(&st) || st.st_uid != uid {
        return Err(ShMemError::Service {
            service: name.to_string(),
            reason: format!(
                "{} is in the way and is not a socket of this user; not replacing it",
                path.display()
            ),
            source: None,
        });
    }
    let tmp = path.with_extension(format!(
        "{}.tmp",
        rustix::process::getpid().as_raw_nonzero()
    ));
    let _ = rustix::fs::unlink(&tmp);
    let fd = stream_socket().map_err(|e| service_error(name, "cannot make a socket", e))?;
    let tmp_addr = Address::Path(tmp.clone()).socket_addr(name)?;
    rustix::net::bind(&fd, &tmp_addr)
        .map_err(|e| service_error(name, &format!("cannot bind {}", tmp.display()), e))?;
    let listener = finish_listening(name, fd, &Address::Path(tmp.clone()));
    let mut listener = match listener {
        Ok(l) => l,
        Err(e) => {
            let _ = rustix::fs::unlink(&tmp);
            return Err(e);
        }
    };
    if let Err(e) = rustix::fs::rename(&tmp, path) {
        return Err(service_error(
            name,
            &format!("cannot replace the stale {}", path.display()),
            e,
        ));
    }
    let ours = listener.file.take().map(|f| f.identity);
    listener.file = Some(SocketFile {
        path: path.to_owned(),
        identity: ours.unwrap_or_default(),
    });
    if identity(path) != ours {
        // Another service replaced it at the same moment, and won.
        listener.file = None;
        return Err(ShMemError::AlreadyExists {
            segment: format!("service {name}"),
        });
    }
    Ok(listener)
}

fn finish_listening(name: &ServiceName, fd: OwnedFd, address: &Address) -> Result<Listener> {
    let file = match address {
        Address::Path(path) => {
            // Owner-only: the directory is private too, but a path the
            // caller chose may not be.
            let _ = rustix::fs::chmod(path, rustix::fs::Mode::from_raw_mode(0o600));
            identity(path).map(|identity| SocketFile {
                path: path.clone(),
                identity,
            })
        }
        Address::Abstract(_) => None,
    };
    let listener = Listener { fd, file };
    rustix::net::listen(&listener.fd, 128).map_err(|e| service_error(name, "cannot listen", e))?;
    set_nonblocking(&listener.fd).map_err(|e| service_error(name, "cannot listen", e))?;
    Ok(listener)
}

/// Connects to the service at `address`; blocking, with `timeout` on every
/// read and write.
pub(crate) fn connect(
    name: &ServiceName,
    address: &Address,
    timeout: Duration,
) -> Result<OwnedFd, ConnectError> {
    let addr = address.socket_addr(name).map_err(ConnectError::Other)?;
    let fd = stream_socket()
        .map_err(|e| ConnectError::Other(service_error(name, "cannot make a socket", e)))?;
    match rustix::net::connect(&fd, &addr) {
        Ok(()) => {}
        Err(e @ (rustix::io::Errno::CONNREFUSED | rustix::io::Errno::NOENT)) => {
            return Err(ConnectError::NoService(e));
        }
        Err(e) => {
            return Err(ConnectError::Other(service_error(
                name,
                "cannot connect",
                e,
            )));
        }
    }
    for which in [
        rustix::net::sockopt::Timeout::Recv,
        rustix::net::sockopt::Timeout::Send,
    ] {
        rustix::net::sockopt::set_socket_timeout(&fd, which, Some(timeout))
            .map_err(|e| ConnectError::Other(service_error(name, "cannot set a timeout", e)))?;
    }
    Ok(fd)
}

/// Why a connection was not made.
#[derive(Debug)]
pub(crate) enum ConnectError {
    /// Nothing listens there: a service may be started.
    NoService(rustix::io::Errno),
    /// Anything else.
    Other(ShMemError),
}

/// The effective user id of the process at the other end of `fd`, as the
/// kernel recorded it when the connection was made.
pub(crate) fn peer_uid(fd: BorrowedFd<'_>) -> io::Result<u32> {
    #[cfg(linux_like)]
    {
        Ok(rustix::net::sockopt::socket_peercred(fd)?.uid.as_raw())
    }
    #[cfg(not(linux_like))]
    {
        use std::os::fd::AsRawFd;
        let (mut uid, mut gid) = (0, 0);
        // SAFETY: getpeereid writes one uid and one gid into the two locals.
        if unsafe { libc::getpeereid(fd.as_raw_fd(), &mut uid, &mut gid) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(uid)
    }
}

pub(crate) fn set_nonblocking(fd: impl AsFd) -> rustix::io::Result<()> {
    rustix::io::ioctl_fionbio(fd, true)
}

/// Flags for every send: no SIGPIPE where the flag exists (Apple sockets
/// have `SO_NOSIGPIPE` set instead).
fn send_flags() -> SendFlags {
    #[cfg(not(apple))]
    {
        SendFlags::NOSIGNAL
    }
    #[cfg(apple)]
    {
        SendFlags::empty()
    }
}

/// Sends `bytes`, with `fd` attached to them if given. Returns how many
/// bytes went (the descriptor goes with the first).
pub(crate) fn send(sock: impl AsFd, bytes: &[u8], fd: Option<BorrowedFd<'_>>) -> io::Result<usize> {
    let Some(fd) = fd else {
        return Ok(rustix::net::send(sock, bytes, send_flags())?);
    };
    let fds = [fd];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !control.push(SendAncillaryMessage::ScmRights(&fds)) {
        return Err(io::Error::other(
            "no room for a descriptor in the control buffer",
        ));
    }
    Ok(rustix::net::sendmsg(
        sock,
        &[IoSlice::new(bytes)],
        &mut control,
        send_flags(),
    )?)
}

/// Receives into `buf`, keeping any descriptors that came along in `fds`
/// (close-on-exec). Returns the number of bytes; 0 is the end of the stream.
/// `wait`: block until something comes (on a blocking socket), else fail
/// with `WouldBlock` at once if nothing is there.
pub(crate) fn recv(
    sock: impl AsFd,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
    wait: bool,
) -> io::Result<usize> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(4))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    #[cfg(cmsg_cloexec)]
    let mut flags = RecvFlags::CMSG_CLOEXEC;
    #[cfg(not(cmsg_cloexec))]
    let mut flags = RecvFlags::empty();
    if !wait {
        flags |= RecvFlags::DONTWAIT;
    }
    let got = rustix::net::recvmsg(sock, &mut [IoSliceMut::new(buf)], &mut control, flags)?;
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(received) = message {
            for fd in received {
                #[cfg(not(any(
                    target_os = "linux",
                    target_os = "android",
                    target_os = "freebsd"
                )))]
                let _ = rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::CLOEXEC);
                fds.push(fd);
            }
        }
    }
    Ok(got.bytes)
}
