//! The segment service across real processes: this test process runs a
//! service in a thread, `shm-peer` and `served-peer` are its other clients.
//! Each test has a service of its own (a fresh name, passed to the peers in
//! `SHMEM_SERVICE`), so its counters tell what that test left.
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use shm_tests::served::{CHILD_WAS_HERE, FROM_PARENT, MADE_BY_CHILD};
use shm_tests::{exchange, nonce, wait_for};
use shmem::{
    SERVICE_ENV, ServedShMemProvider, ServiceName, ServiceStats, ShMem, ShMemError, ShMemId,
    ShMemProvider, ShMemService,
};

const PEER: &str = env!("CARGO_BIN_EXE_shm-peer");
const SERVED_PEER: &str = env!("CARGO_BIN_EXE_served-peer");
const PATIENCE: Duration = Duration::from_secs(20);
/// A user id no account has, for the other-user tests.
const STRANGER: u32 = 61_234;

fn start_service() -> (ShMemService, ServiceName) {
    let name = ServiceName::new(&format!("shm-test-{}", nonce())).unwrap();
    (ShMemService::start(&name).unwrap(), name)
}

fn stats_reach(
    service: &ShMemService,
    what: &str,
    f: impl Fn(&ServiceStats) -> bool,
) -> ServiceStats {
    wait_for(what, PATIENCE, || Some(service.stats()).filter(&f))
}

/// A `served-peer` with piped stdin and stdout, talking to `name`.
fn served_peer(name: &ServiceName, args: &[&str]) -> (Child, BufReader<ChildStdout>) {
    let mut child = Command::new(SERVED_PEER)
        .args(args)
        .env(SERVICE_ENV, name.as_str())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    (child, out)
}

/// Lines up to `ready`.
fn lines_until_ready(out: &mut BufReader<ChildStdout>) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the peer ended before it was ready; it said {lines:?}"
        );
        match line.trim() {
            "ready" => return lines,
            other => lines.push(other.to_owned()),
        }
    }
}

fn ids(lines: &[String]) -> Vec<ShMemId> {
    lines.iter().map(|l| l.parse().unwrap()).collect()
}

#[test]
fn another_process_reopens_a_served_segment_by_id_and_from_the_environment() {
    let (service, name) = start_service();
    let mut provider = ServedShMemProvider::connect(&name).unwrap();
    let mem = provider.new_shmem(4096 * 3 + 17).unwrap();
    assert!(matches!(mem.id(), ShMemId::Served { .. }), "{:?}", mem.id());
    let n = nonce();
    exchange(
        &mem,
        &n,
        Command::new(PEER)
            .args(["open", "served", "id", &mem.id().to_string(), "12305", &n])
            .env(SERVICE_ENV, name.as_str()),
    );
    let n = nonce();
    exchange(
        &mem,
        &n,
        Command::new(PEER)
            .args(["open", "served", "env", "TEST_SHMEM", &n])
            .envs(mem.description().env_vars("TEST_SHMEM"))
            .env(SERVICE_ENV, name.as_str()),
    );
    // The memory is a memfd the service passed: no file in /dev/shm.
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    assert!(maps.contains("/memfd:shmem-served"), "{maps}");
    let stats = stats_reach(&service, "the peers to go", |s| s.clients == 1);
    assert_eq!((stats.segments, stats.bytes), (1, 4096 * 3 + 17));
    drop(mem);
    stats_reach(&service, "the segment to be freed", |s| s.segments == 0);
}

#[test]
fn several_clients_share_a_segment_and_create_their_own() {
    const CLIENTS: usize = 4;
    let (service, name) = start_service();
    let mut provider = ServedShMemProvider::connect(&name).unwrap();
    let common = provider.new_shmem(4096).unwrap();
    let common_id = common.id().to_string();
    let mut peers: Vec<_> = (0..CLIENTS)
        .map(|slot| served_peer(&name, &["client", &common_id, "4096", &slot.to_string()]))
        .collect();
    let mut own = Vec::new();
    for (_, out) in &mut peers {
        let lines = lines_until_ready(out);
        own.extend(ids(&lines));
    }
    assert_eq!(own.len(), CLIENTS);
    assert_eq!(
        common.read::<u64>(0).unwrap(),
        CLIENTS as u64,
        "every client counted itself in"
    );
    for slot in 0..CLIENTS {
        assert_eq!(
            common.read::<u64>(8 * (slot + 1)).unwrap(),
            1000 + slot as u64
        );
    }
    let mut seen: Vec<String> = own
        .iter()
        .map(|id| {
            let mem = provider.shmem_from_id_and_size(id.clone(), 4096).unwrap();
            String::from_utf8(mem[..8].to_vec()).unwrap()
        })
        .collect();
    seen.sort();
    assert_eq!(seen, ["client 0", "client 1", "client 2", "client 3"]);
    let stats = service.stats();
    assert_eq!(
        (stats.clients, stats.segments),
        (1 + CLIENTS as u64, 1 + CLIENTS as u64)
    );

    for (mut child, _) in peers {
        drop(child.stdin.take());
        assert!(child.wait().unwrap().success());
    }
    let stats = stats_reach(&service, "the clients to go", |s| s.clients == 1);
    assert_eq!(
        stats.segments, 1,
        "their own segments went with them; ours stays"
    );
    for id in own {
        assert!(matches!(
            provider.shmem_from_id_and_size(id, 4096),
            Err(ShMemError::NotFound { .. })
        ));
    }
    drop(common);
    stats_reach(&service, "the last segment to be freed", |s| {
        s.segments == 0 && s.bytes == 0
    });
}

#[test]
fn a_client_killed_with_sigkill_loses_its_segments_and_nothing_else() {
    let (service, name) = start_service();
    let mut provider = ServedShMemProvider::connect(&name).unwrap();
    let shared = provider.new_shmem(4096).unwrap();
    shared[..6].copy_from_slice(b"shared");
    let (mut child, mut out) = served_peer(
        &name,
        &["hold", "3", "65536", &shared.id().to_string(), "4096"],
    );
    let held = ids(&lines_until_ready(&mut out));
    assert_eq!(held.len(), 3);
    let stats = service.stats();
    assert_eq!((stats.clients, stats.segments), (2, 4));

    child.kill().unwrap(); // SIGKILL: no destructor, no goodbye
    child.wait().unwrap();
    let stats = stats_reach(&service, "the killed client's segments to be freed", |s| {
        s.clients == 1 && s.segments == 1
    });
    assert_eq!(stats.bytes, 4096);
    for id in held {
        let err = provider.shmem_from_id_and_size(id, 65536).unwrap_err();
        assert!(matches!(err, ShMemError::NotFound { .. }), "{err}");
    }
    // The segment it shared with us has one reference less, not none.
    let again = provider.shmem_from_id_and_size(shared.id(), 4096).unwrap();
    assert_eq!(again[..6].to_vec(), b"shared");
    drop((shared, again));
    stats_reach(&service, "the shared segment to be freed", |s| {
        s.segments == 0
    });
}

fn fork_child_outlives_parent(how: &str) {
    let (service, name) = start_service();
    let (mut parent, mut out) = served_peer(&name, &["fork", how]);
    // The child's stdin too: it exits when that closes (and `wait` would close it).
    let stdin = parent.stdin.take();
    let lines = lines_until_ready(&mut out);
    // The child waited for its parent to exit before touching anything.
    assert!(parent.wait().unwrap().success());
    let Ok([a, b]) = <[ShMemId; 2]>::try_from(ids(&lines[0]
        .split(' ')
        .map(str::to_owned)
        .collect::<Vec<_>>()))
    else {
        panic!("expected two ids, got {lines:?}");
    };

    let mut provider = ServedShMemProvider::connect(&name).unwrap();
    let mem_a = provider.shmem_from_id_and_size(a, 4096).unwrap();
    assert_eq!(mem_a[..FROM_PARENT.len()].to_vec(), FROM_PARENT);
    assert_eq!(
        mem_a[64..64 + CHILD_WAS_HERE.len()].to_vec(),
        CHILD_WAS_HERE,
        "the parent's segment survived its exit and release"
    );
    let mem_b = provider.shmem_from_id_and_size(b, 8192).unwrap();
    assert_eq!(mem_b[..MADE_BY_CHILD.len()].to_vec(), MADE_BY_CHILD);
    drop((mem_a, mem_b));
    // The child holds both, on a connection of its own: exactly one client
    // besides us, the parent's connection closed and its references gone.
    let stats = stats_reach(&service, "our references to go", |s| s.clients == 2);
    assert_eq!(stats.segments, 2, "{stats:?}");

    drop(stdin); // the child reads its stdin to the end, then exits
    stats_reach(&service, "the child to go, with its segments", |s| {
        s.clients == 1 && s.segments == 0
    });
}

#[test]
fn a_forked_child_keeps_and_creates_segments_after_its_parent_exits() {
    fork_child_outlives_parent("explicit");
}

#[test]
fn a_forked_child_that_skips_post_fork_reconnects_on_first_use() {
    fork_child_outlives_parent("implicit");
}

#[test]
fn a_service_host_that_forks_serves_its_child_through_the_socket() {
    let name = format!("shm-test-{}", nonce());
    let out = Command::new(SERVED_PEER)
        .args(["host-fork", "keep"])
        .env(SERVICE_ENV, &name)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ok",
        "{stderr}"
    );
}

#[test]
fn a_service_ends_with_its_host_even_if_a_forked_child_lives_on() {
    let name = format!("shm-test-{}", nonce());
    let mut child = Command::new(SERVED_PEER)
        .args(["host-fork", "exit"])
        .env(SERVICE_ENV, &name)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // The grandchild prints, and its stdout closes when it ends.
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(out.trim(), "ok");
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

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

#[test]
fn providers_start_the_service_they_need_and_share_one_connection() {
    let name = ServiceName::new(&format!("shm-test-{}", nonce())).unwrap();
    assert!(
        ServedShMemProvider::connect(&name).is_err(),
        "nothing runs yet"
    );
    let mut provider = ServedShMemProvider::connect_or_start(&name).unwrap();
    let mut clone = provider.clone();
    let a = provider.new_shmem(4096).unwrap();
    let b = clone.shmem_from_id_and_size(a.id(), 4096).unwrap();
    let stats = clone.service_stats().unwrap();
    assert_eq!(
        (stats.clients, stats.segments),
        (1, 1),
        "one connection for both"
    );
    // Another process finds the service this one started.
    let n = nonce();
    exchange(
        &a,
        &n,
        Command::new(PEER)
            .args(["open", "served", "id", &a.id().to_string(), "4096", &n])
            .env(SERVICE_ENV, name.as_str()),
    );
    drop((a, b));
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
