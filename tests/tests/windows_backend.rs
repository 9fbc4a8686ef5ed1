//! The Windows backend across processes, run under Wine: this test process
//! and `shm-peer.exe` (a second Windows process) share named mappings.
#![cfg(windows)]

use std::process::Command;

use shm_tests::{exchange, handshake, nonce, spawn_until_ready};
use shmem::{
    NamedShMem, ShMem, ShMemError, ShMemId, ShMemProvider, StdShMemProvider, WinShMemProvider,
};

/// The peer, as a path Windows understands (cargo gives the build host's path).
fn peer() -> Command {
    let path = env!("CARGO_BIN_EXE_shm-peer");
    let path = if path.starts_with('/') {
        format!("Z:{}", path.replace('/', "\\"))
    } else {
        path.to_owned()
    };
    Command::new(path)
}

#[test]
fn another_process_reopens_by_id() {
    let mut provider = StdShMemProvider::new().unwrap();
    let mem = provider.new_shmem(4096).unwrap();
    assert!(matches!(mem.id(), ShMemId::Windows(_)));
    let n = nonce();
    let id = mem.id().to_string();
    exchange(
        &mem,
        &n,
        peer().args(["open", "windows", "id", &id, "4096", &n]),
    );
}

#[test]
fn another_process_reopens_from_env() {
    let mem = WinShMemProvider.new_shmem(10_000).unwrap();
    let n = nonce();
    exchange(
        &mem,
        &n,
        peer()
            .args(["open", "std", "env", "TEST_SHMEM", &n])
            .envs(mem.description().env_vars("TEST_SHMEM")),
    );
}

#[test]
fn two_processes_share_a_named_mapping_both_ways() {
    let name = format!("Local\\shm-test-{}", nonce());
    let mem = NamedShMem::create(&name, 8192).unwrap();
    let n = nonce();
    exchange(&mem, &n, peer().args(["open", "named", "name", &name, &n]));
    drop(mem);

    let name = format!("shm-test-{}", nonce());
    let n = nonce();
    let mut child = spawn_until_ready(peer().args(["create-named", &name, "8192", &n]));
    // Unprefixed and Local\ names are the same object.
    let mem = NamedShMem::open(&format!("Local\\{name}")).unwrap();
    assert!(mem.len() >= 8192, "open maps the whole mapping");
    assert_eq!(handshake::opener(&mem, &n).unwrap(), format!("bye {n}"));
    assert!(child.wait().unwrap().success());
}

#[test]
fn sizes_of_4_gib_and_more_are_not_truncated() {
    let size = (4usize << 30) + 4096 + 3;
    let mem = WinShMemProvider.new_shmem(size).unwrap();
    assert_eq!(mem.len(), size);
    let n = nonce();
    let id = mem.id().to_string();
    exchange(
        &mem,
        &n,
        peer().args(["open", "windows", "id", &id, &size.to_string(), &n]),
    );
}

#[test]
fn bad_requests_are_typed_errors() {
    let mut provider = WinShMemProvider;
    assert!(matches!(provider.new_shmem(0), Err(ShMemError::ZeroSize)));
    let mem = provider.new_shmem(4096).unwrap();
    let too_big = provider.shmem_from_id_and_size(mem.id(), 1 << 24);
    assert!(
        matches!(too_big, Err(ShMemError::TooSmall { .. })),
        "{too_big:?}"
    );
    let foreign = provider.shmem_from_id_and_size(ShMemId::SysV(3), 4096);
    assert!(
        matches!(foreign, Err(ShMemError::WrongBackend { .. })),
        "{foreign:?}"
    );
    let missing = NamedShMem::open(&format!("shm-test-missing-{}", nonce()));
    assert!(
        matches!(missing, Err(ShMemError::NotFound { .. })),
        "{missing:?}"
    );
    for bad in ["", "a/b", "Local\\a\\b", "x\\y", "a\0b", "Global\\"] {
        let err = NamedShMem::create(bad, 10).unwrap_err();
        assert!(
            matches!(err, ShMemError::InvalidName { .. }),
            "{bad:?}: {err}"
        );
    }
    let name = format!("shm-test-{}", nonce());
    let _first = NamedShMem::create(&name, 100).unwrap();
    assert!(matches!(
        NamedShMem::create(&name, 100),
        Err(ShMemError::AlreadyExists { .. })
    ));
}

/// A read-only view (`FILE_MAP_READ`) reads the writer's bytes, and its
/// pages are read-only for the OS: a write through it would fault.
#[test]
fn read_only_views_are_read_only_pages() {
    use windows_sys::Win32::System::Memory::{
        MEMORY_BASIC_INFORMATION, PAGE_READONLY, VirtualQuery,
    };
    let name = format!("shm-test-ro-{}", nonce());
    let mem = NamedShMem::create(&name, 4096).unwrap();
    mem.store(10, 7);
    let reader = NamedShMem::open_read_only(&name).unwrap();
    assert_eq!(reader.load(10), Some(7));
    // SAFETY: zeroes are a valid MEMORY_BASIC_INFORMATION.
    let mut info: MEMORY_BASIC_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: VirtualQuery writes at most `size_of` bytes into `info`.
    let n = unsafe {
        VirtualQuery(
            reader.as_ptr().cast(),
            &mut info,
            std::mem::size_of::<MEMORY_BASIC_INFORMATION>(),
        )
    };
    assert_ne!(n, 0, "VirtualQuery failed");
    assert_eq!(
        info.Protect, PAGE_READONLY,
        "the view's pages accept writes"
    );
}
