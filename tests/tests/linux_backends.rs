//! Every Linux backend, across processes: this test process creates a
//! segment, `shm-peer` (a second process) reopens it by id, from the
//! environment or by name, and writes travel both ways.
#![cfg(target_os = "linux")]

use std::process::Command;

use shm_tests::{backend_suite, exchange, handshake, nonce, spawn_until_ready};
use shmem::{
    MemfdShMemProvider, NamedShMem, PosixShMem, PosixShMemProvider, SERVICE_ENV, ServedShMem,
    ServedShMemProvider, ServiceName, ShMem, ShMemError, ShMemId, ShMemProvider, StdShMemProvider,
    SysvShMem, SysvShMemProvider,
};

const PEER: &str = env!("CARGO_BIN_EXE_shm-peer");

/// The segment service of this test process (started on first use, in a
/// thread), which peers reach through `SHMEM_SERVICE`: a name of its own,
/// so that no other test run meets it.
fn service_name() -> String {
    format!("shm-test-backends-{}", std::process::id())
}

/// The served provider, on this process's own service.
#[derive(Clone, Debug)]
struct Served(ServedShMemProvider);

impl ShMemProvider for Served {
    type ShMem = ServedShMem;
    fn new() -> shmem::Result<Self> {
        ServedShMemProvider::connect_or_start(&ServiceName::new(&service_name())?).map(Served)
    }
    fn new_shmem(&mut self, size: usize) -> shmem::Result<ServedShMem> {
        self.0.new_shmem(size)
    }
    fn shmem_from_id_and_size(&mut self, id: ShMemId, size: usize) -> shmem::Result<ServedShMem> {
        self.0.shmem_from_id_and_size(id, size)
    }
}

/// `shm-peer`, reaching this process's segment service.
fn peer() -> Command {
    let mut peer = Command::new(PEER);
    peer.env(SERVICE_ENV, service_name());
    peer
}

backend_suite!(memfd, MemfdShMemProvider, "memfd", ShMemId::SysV(1), peer);
backend_suite!(posix, PosixShMemProvider, "posix", ShMemId::SysV(1), peer);
backend_suite!(
    sysv,
    SysvShMemProvider,
    "sysv",
    "posix:nope".parse().unwrap(),
    peer
);
backend_suite!(
    std_provider,
    StdShMemProvider,
    "std",
    ShMemId::Posix(shmem::ShMemName::new("x").unwrap()),
    peer
);
backend_suite!(served, Served, "served", ShMemId::SysV(1), peer);

#[test]
fn sysv_ids_in_the_environment_are_plain_numbers_as_afl_expects() {
    let mem = SysvShMemProvider::default().new_shmem(64 * 1024).unwrap();
    let [(_, id), (_, size)] = mem.description().env_vars("__AFL_SHM_ID");
    assert!(id.bytes().all(|b| b.is_ascii_digit()), "{id}");
    assert_eq!(size, "65536");
}

#[test]
fn sysv_open_unchecked_maps_the_same_bytes_in_another_process() {
    let size = 64 * 1024;
    let mem = SysvShMemProvider::default().new_shmem(size).unwrap();
    let ShMemId::SysV(shmid) = mem.id() else {
        panic!("a SysV segment has a SysV id, not {}", mem.id());
    };
    let n = nonce();
    exchange(
        &mem,
        &n,
        Command::new(PEER).args([
            "open",
            "sysv-unchecked",
            "id",
            &shmid.to_string(),
            &size.to_string(),
            &n,
        ]),
    );
}

#[test]
fn sysv_open_unchecked_still_reports_a_segment_that_is_gone() {
    let mem = SysvShMemProvider::default().new_shmem(4096).unwrap();
    let ShMemId::SysV(shmid) = mem.id() else {
        panic!("a SysV segment has a SysV id, not {}", mem.id());
    };
    // Marked for removal at creation: the last detach frees it.
    drop(mem);
    // SAFETY: the segment is gone, so the attach fails before any byte is handed out.
    let gone = unsafe { SysvShMem::open_unchecked(shmid, 4096) };
    assert!(
        matches!(&gone, Err(ShMemError::Os { op: "shmat", .. })),
        "{gone:?}"
    );
}

#[test]
fn unrelated_processes_meet_by_name_both_ways() {
    // We create, the peer opens by name.
    let name = format!("shm-test-{}", nonce());
    let mem = NamedShMem::create(&name, 8192).unwrap();
    let n = nonce();
    exchange(
        &mem,
        &n,
        Command::new(PEER).args(["open", "named", "name", &name, &n]),
    );
    drop(mem);

    // The peer creates, we open by name.
    let name = format!("shm-test-{}", nonce());
    let n = nonce();
    let mut child = spawn_until_ready(Command::new(PEER).args(["create-named", &name, "8192", &n]));
    let mem = NamedShMem::open(&name).unwrap();
    assert_eq!(mem.len(), 8192, "open maps the whole object");
    assert_eq!(handshake::opener(&mem, &n).unwrap(), format!("bye {n}"));
    assert!(child.wait().unwrap().success());
    drop(mem);
    assert!(
        !std::path::Path::new("/dev/shm").join(&name).exists(),
        "the peer created it, so the peer removed it"
    );
}

#[test]
fn a_windows_namespace_is_not_part_of_the_file_name() {
    let base = format!("shm-test-{}", nonce());
    let mem = NamedShMem::create(&format!("Local\\{base}"), 100).unwrap();
    assert!(std::path::Path::new("/dev/shm").join(&base).exists());
    let same = NamedShMem::open(&base).unwrap();
    mem[..2].copy_from_slice(b"ok");
    assert_eq!(same[..2].to_vec(), b"ok");
}

#[test]
fn named_segments_are_removed_by_their_creator_unless_kept() {
    let name = format!("shm-test-{}", nonce());
    let path = std::path::Path::new("/dev/shm").join(&name);
    let mem = NamedShMem::create(&name, 100).unwrap();
    let opener = NamedShMem::open(&name).unwrap();
    drop(opener);
    assert!(path.exists(), "an opener never removes the name");
    assert!(matches!(
        NamedShMem::create(&name, 100),
        Err(ShMemError::AlreadyExists { .. })
    ));
    drop(mem);
    assert!(!path.exists(), "the creator removes it on drop");

    let mut kept = NamedShMem::create(&name, 100).unwrap();
    kept.keep();
    drop(kept);
    assert!(path.exists(), "kept on request");
    let again = NamedShMem::open(&name).unwrap();
    assert!(!again.is_owner());
    drop(again);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn created_named_segments_are_private_to_the_user() {
    use std::os::unix::fs::PermissionsExt;
    let name = format!("shm-test-{}", nonce());
    let mem = NamedShMem::create(&name, 100).unwrap();
    let mode = std::fs::metadata(mem.path().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn opening_a_missing_name_says_so() {
    let err = NamedShMem::open(&format!("shm-test-missing-{}", nonce())).unwrap_err();
    assert!(matches!(err, ShMemError::NotFound { .. }), "{err}");
    assert!(
        err.to_string().contains("shm-test-missing-"),
        "names the segment: {err}"
    );
}

#[test]
fn bad_names_are_errors_not_panics() {
    for bad in ["", "a/b", "../x", "a\0b", "x\\y", "..", &"n".repeat(300)] {
        let err = NamedShMem::create(bad, 10).unwrap_err();
        assert!(
            matches!(err, ShMemError::InvalidName { .. }),
            "{bad:?}: {err}"
        );
    }
}

#[test]
fn a_symlink_in_dev_shm_is_refused_and_its_target_untouched() {
    let victim = tempfile::Builder::new()
        .prefix("shm-test-victim-")
        .tempfile()
        .unwrap();
    std::fs::write(victim.path(), b"precious").unwrap();
    let name = format!("shm-test-{}", nonce());
    let link = std::path::Path::new("/dev/shm").join(&name);
    std::os::unix::fs::symlink(victim.path(), &link).unwrap();
    let opened = NamedShMem::open(&name);
    let created = NamedShMem::create(&name, 4096);
    std::fs::remove_file(&link).unwrap();
    let victim = std::fs::read(victim.path()).unwrap();
    assert!(opened.is_err(), "open followed a symlink");
    assert!(created.is_err(), "create followed a symlink");
    assert!(shm_tests::chain(&opened.unwrap_err()).contains("symbolic link"));
    assert_eq!(victim, b"precious");
}

#[test]
fn malformed_environment_values_are_clear_errors() {
    for (id, size, expect) in [
        ("memfd:1:2", "4096", "TEST_SHMEM"),
        ("posix:a/b", "4096", "TEST_SHMEM"),
        ("posix:x", "0", "TEST_SHMEM_SIZE"),
        ("posix:x", "lots", "TEST_SHMEM_SIZE"),
    ] {
        let out = Command::new(PEER)
            .args(["open", "posix", "env", "TEST_SHMEM", "n"])
            .env("TEST_SHMEM", id)
            .env("TEST_SHMEM_SIZE", size)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{id} {size}: {stderr}");
        assert!(stderr.contains(expect), "{id} {size}: {stderr}");
    }
    let out = Command::new(PEER)
        .args(["open", "posix", "env", "TEST_SHMEM", "n"])
        .env_remove("TEST_SHMEM")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("TEST_SHMEM") && stderr.contains("not set"),
        "{stderr}"
    );
}

#[test]
fn anonymous_segments_leave_nothing_behind() {
    let sysv = SysvShMemProvider::default().new_shmem(4096).unwrap();
    let ShMemId::SysV(shmid) = sysv.id() else {
        unreachable!()
    };
    drop(sysv);
    assert!(
        SysvShMemProvider::default()
            .shmem_from_id_and_size(ShMemId::SysV(shmid), 4096)
            .is_err(),
        "SysV segment {shmid} outlived its only mapping"
    );

    let memfd = MemfdShMemProvider::default().new_shmem(4096).unwrap();
    let id = memfd.id();
    drop(memfd);
    assert!(
        MemfdShMemProvider::default()
            .shmem_from_id_and_size(id, 4096)
            .is_err(),
        "the memfd is still reachable after its drop"
    );
}

#[test]
fn open_own_in_refuses_a_file_of_another_user() {
    assert!(
        rustix::process::geteuid().is_root(),
        "this test gives a file to another user and so needs root (CI runs as root)"
    );
    let dir = std::path::Path::new("/dev/shm");
    let name = format!("shm-test-{}", nonce());
    let mem = PosixShMem::create_in(dir, &name, 4096, 0o644).unwrap();
    assert!(
        PosixShMem::open_own_in(dir, &name).is_ok(),
        "our own file opens"
    );
    rustix::fs::chown(
        dir.join(&name),
        Some(rustix::process::Uid::from_raw(65534)),
        None,
    )
    .unwrap();
    let err = PosixShMem::open_own_in(dir, &name).unwrap_err();
    assert!(
        matches!(err, ShMemError::NotOwned { owner: 65534, .. }),
        "{err}"
    );
    assert!(
        PosixShMem::open_in(dir, &name).is_ok(),
        "open_in makes no such demand"
    );
    drop(mem);
}
