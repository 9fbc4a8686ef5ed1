//! The Windows backend across processes, run under Wine: this test process
//! and `shm-peer.exe` (a second Windows process) share mappings. The same
//! suite as every Linux backend, then what only named mappings do.
#![cfg(windows)]

use std::process::Command;

use shm_tests::backend_suite::ActualSize;
use shm_tests::{backend_suite, exchange, handshake, nonce, spawn_until_ready};
use shmem::{NamedShMem, ShMemError, ShMemId, StdShMemProvider, WinShMemProvider};

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

backend_suite!(
    windows,
    WinShMemProvider,
    "windows",
    ShMemId::SysV(3),
    peer,
    ActualSize::ReportedAsZero
);
backend_suite!(
    std_provider,
    StdShMemProvider,
    "std",
    ShMemId::SysV(3),
    peer,
    ActualSize::ReportedAsZero
);

#[test]
fn the_std_provider_is_the_windows_backend() {
    use shmem::{ShMem, ShMemProvider};
    let mem = StdShMemProvider::new().unwrap().new_shmem(4096).unwrap();
    assert!(matches!(mem.id(), ShMemId::Windows(_)), "{}", mem.id());
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
fn bad_names_are_typed_errors() {
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
