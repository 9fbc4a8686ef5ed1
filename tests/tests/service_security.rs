//! The segment service against other users and malformed clients, across
//! real processes (a user the test makes up runs a copy of `served-peer`).
#![cfg(target_os = "linux")]

mod service_common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::Command;

use service_common::*;
use shm_tests::{nonce, wait_for};
use shmem::{
    SERVICE_ENV, ServedShMemProvider, ServiceName, ShMem, ShMemError, ShMemId, ShMemProvider,
    ShMemService,
};

/// `served-peer`, copied where any user may run it (the build directory may
/// be private), removed on drop.
struct StrangerExe {
    exe: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl StrangerExe {
    fn new() -> StrangerExe {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new()
            .prefix("shm-test-")
            .permissions(std::fs::Permissions::from_mode(0o755))
            .tempdir()
            .unwrap();
        let exe = dir.path().join("served-peer");
        // Copied by another process: were the copy written from here, a child
        // that another test forks meanwhile would inherit the file open for
        // writing, and running it would fail with ETXTBSY until that child execs.
        let status = Command::new("install")
            .args(["-m", "0755"])
            .arg(SERVED_PEER)
            .arg(&exe)
            .status()
            .unwrap();
        assert!(status.success(), "copy served-peer to {}", exe.display());
        StrangerExe { exe, _dir: dir }
    }

    fn command(&self) -> Command {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(&self.exe);
        command.uid(STRANGER).gid(STRANGER).current_dir("/");
        command
    }
}

#[test]
fn a_client_of_another_user_is_refused() {
    assert!(
        is_root(),
        "this test runs a process as another user and so needs root (CI runs as root)"
    );
    let (service, name) = start_service();
    let mut provider = ServedShMemProvider::connect(&name).unwrap();
    let mine = provider.new_shmem(4096).unwrap();
    let exe = StrangerExe::new();
    let as_stranger = |mode: &str| {
        exe.command()
            .arg(mode)
            .env(SERVICE_ENV, name.as_str())
            .output()
            .unwrap()
    };
    // By hand, skipping the client's own check: not a byte, not even a hello.
    let out = as_stranger("knock");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), "closed after 0 bytes");
    // Through the library: the client sees a service of another user and
    // stops; the service refuses it all the same.
    let out = as_stranger("connect");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("runs as user 0, not as this user"),
        "{stderr}"
    );
    let stats = stats_reach(&service, "the refusals to count", |s| s.refused == 2);
    assert_eq!((stats.clients, stats.segments), (1, 1), "they got nothing");
    // The service serves its user as before.
    let again = provider.shmem_from_id_and_size(mine.id(), 4096).unwrap();
    drop((mine, again));
    stats_reach(&service, "the segment to be freed", |s| s.segments == 0);
}

#[test]
fn a_service_of_another_user_is_not_used() {
    assert!(
        is_root(),
        "this test runs a process as another user and so needs root (CI runs as root)"
    );
    let name = ServiceName::new(&format!("shm-test-{}", nonce())).unwrap();
    let exe = StrangerExe::new();
    let mut theirs = exe
        .command()
        .args(["serve", name.as_str()])
        .spawn()
        .unwrap();
    let err = wait_for("the other user's service to listen", PATIENCE, || {
        match ServedShMemProvider::connect(&name) {
            Err(ShMemError::Service { reason, .. }) if reason.contains("no service") => None,
            other => Some(other),
        }
    })
    .unwrap_err();
    theirs.kill().unwrap();
    theirs.wait().unwrap();
    assert!(
        err.to_string()
            .contains(&format!("runs as user {STRANGER}, not as this user")),
        "{err}"
    );
}

/// Connects by hand and reads the hello.
fn raw_client(name: &ServiceName) -> UnixStream {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_str()).unwrap();
    let mut sock = UnixStream::connect_addr(&addr).unwrap();
    sock.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut header = [0u8; 4];
    sock.read_exact(&mut header).unwrap();
    let mut hello = vec![0u8; u32::from_le_bytes(header) as usize];
    sock.read_exact(&mut hello).unwrap();
    assert_eq!(hello[0], b'H', "a hello first");
    sock
}

/// Whether the service closed `sock`: reads to the end, never past a timeout.
fn closed_by_service(mut sock: UnixStream) -> bool {
    let mut rest = Vec::new();
    match sock.read_to_end(&mut rest) {
        Ok(_) => true,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

#[test]
fn malformed_requests_close_only_that_client() {
    let (service, name) = start_service();
    let mut provider = ServedShMemProvider::connect(&name).unwrap();
    let kept = provider.new_shmem(4096).unwrap();
    kept[..4].copy_from_slice(b"kept");

    let frame = |body: &[u8]| {
        let mut f = (body.len() as u32).to_le_bytes().to_vec();
        f.extend_from_slice(body);
        f
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("oversized", u32::MAX.to_le_bytes().to_vec()),
        ("just over the limit", frame(&[1; 33])),
        ("garbage", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("unknown kind", frame(&[0xEE])),
        ("empty body", frame(&[])),
        ("create with a short size", frame(&[1, 0, 16, 0, 0])),
        ("open with a byte too many", frame(&[2; 18])),
    ];
    let count = cases.len();
    for (what, bytes) in cases {
        let mut sock = raw_client(&name);
        sock.write_all(&bytes).unwrap();
        assert!(closed_by_service(sock), "{what}: not closed");
    }

    // Cut short: the stream ends inside a request.
    let mut sock = raw_client(&name);
    sock.write_all(&[9, 0, 0, 0, 1, 0, 16]).unwrap();
    sock.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(closed_by_service(sock), "truncated: not closed");

    // Left half-sent: closed after the request timeout.
    let mut sock = raw_client(&name);
    sock.write_all(&[9, 0, 0, 0, 1]).unwrap();
    assert!(closed_by_service(sock), "stalled: not closed");

    // A descriptor where none belongs.
    let sock = raw_client(&name);
    let file = std::fs::File::open("/dev/null").unwrap();
    {
        use std::os::fd::AsFd;
        let fds = [file.as_fd()];
        let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = rustix::net::SendAncillaryBuffer::new(&mut space);
        assert!(control.push(rustix::net::SendAncillaryMessage::ScmRights(&fds)));
        let body = frame(&[7]);
        rustix::net::sendmsg(
            &sock,
            &[std::io::IoSlice::new(&body)],
            &mut control,
            rustix::net::SendFlags::empty(),
        )
        .unwrap();
    }
    assert!(closed_by_service(sock), "descriptor: not closed");

    let stats = stats_reach(&service, "every bad client to be dropped", |s| {
        s.dropped == count as u64 + 3
    });
    assert_eq!((stats.clients, stats.segments), (1, 1), "{stats:?}");

    // Well-formed requests that cannot be met are errors, not disconnections.
    let missing = ShMemId::Served {
        service: match kept.id() {
            ShMemId::Served { service, .. } => service,
            _ => unreachable!(),
        },
        key: 999_999,
    };
    let err = provider.shmem_from_id_and_size(missing, 4096).unwrap_err();
    assert!(matches!(err, ShMemError::NotFound { .. }), "{err}");
    let err = provider
        .shmem_from_id_and_size(kept.id(), 8192)
        .unwrap_err();
    assert!(
        matches!(err, ShMemError::TooSmall { actual: 4096, .. }),
        "{err}"
    );
    let err = provider
        .shmem_from_id_and_size(ShMemId::Served { service: 1, key: 1 }, 4096)
        .unwrap_err();
    assert!(err.to_string().contains("another instance"), "{err}");

    // And the service still serves the well-behaved client.
    let again = provider.shmem_from_id_and_size(kept.id(), 4096).unwrap();
    assert_eq!(again[..4].to_vec(), b"kept");
    let fresh = provider.new_shmem(100).unwrap();
    assert_eq!(fresh.len(), 100);
    assert_eq!(provider.service_stats().unwrap().dropped, count as u64 + 3);
}

#[test]
fn socket_files_are_private_removed_at_the_end_and_replaced_when_stale() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let dir = tempfile::Builder::new()
        .prefix("shm-test-")
        .tempdir()
        .unwrap();
    let path = dir.path().join("service.sock");
    let name = ServiceName::new(path.to_str().unwrap()).unwrap();

    let service = ShMemService::start(&name).unwrap();
    assert_eq!(service.socket_file(), Some(path.as_path()));
    let meta = std::fs::symlink_metadata(&path).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert!(matches!(
        ShMemService::start(&name),
        Err(ShMemError::AlreadyExists { .. })
    ));
    let mut provider = ServedShMemProvider::connect(&name).unwrap();
    let mem = provider.new_shmem(4096).unwrap();
    drop(service);
    assert!(!path.exists(), "the service removes its socket file");
    drop((mem, provider));

    // A dead service's socket file, with nobody listening: replaced.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let service = ShMemService::start(&name).unwrap();
    let mut provider = ServedShMemProvider::connect(&name).unwrap();
    drop(provider.new_shmem(4096).unwrap());
    drop(provider);
    drop(service);
    assert!(!path.exists());

    // Something else in the way: refused, and left alone.
    std::fs::write(&path, b"not a socket").unwrap();
    let err = ShMemService::start(&name).unwrap_err();
    assert!(err.to_string().contains("not a socket"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b"not a socket");
}

/// Another user cannot take this user's default service name first: the
/// name holds a secret from a file only this user reads. The stranger
/// squats the name an unprotected scheme would use (`shmem-service-UID`)
/// and cannot read the key; this user's default service works regardless.
#[test]
fn another_user_cannot_take_the_default_service_name_first() {
    assert!(
        is_root(),
        "this test runs a process as another user and so needs root (CI runs as root)"
    );
    let default = ServiceName::for_user().unwrap();
    let guessable = format!("shmem-service-{}", rustix::process::geteuid().as_raw());
    assert!(
        default.as_str().starts_with(&format!("{guessable}-")) && default.as_str() != guessable,
        "{default}"
    );
    assert_eq!(
        ServiceName::for_user().unwrap(),
        default,
        "the same name every time"
    );
    let exe = StrangerExe::new();
    let mut squatter = exe.command().args(["serve", &guessable]).spawn().unwrap();
    let key = shmem_key_path();
    let peek = exe_as_stranger("cat", &[key.to_str().unwrap()]);
    assert!(
        !peek.status.success(),
        "the stranger read the key: {:?}",
        peek.stdout
    );
    let mut provider = ServedShMemProvider::connect_or_start(&default).unwrap();
    let mem = provider.new_shmem(4096).unwrap();
    mem.store(0, 1);
    assert_eq!(
        provider
            .shmem_from_id_and_size(mem.id(), 4096)
            .unwrap()
            .load(0),
        Some(1)
    );
    squatter.kill().unwrap();
    squatter.wait().unwrap();
}

/// Where this user's service key lives.
fn shmem_key_path() -> std::path::PathBuf {
    let home = std::env::var_os("HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/root".into());
    home.join(".cache/shmem/service-key")
}

/// Runs `program` as the stranger.
fn exe_as_stranger(program: &str, args: &[&str]) -> std::process::Output {
    use std::os::unix::process::CommandExt;
    Command::new(program)
        .args(args)
        .uid(STRANGER)
        .gid(STRANGER)
        .current_dir("/")
        .output()
        .unwrap()
}
