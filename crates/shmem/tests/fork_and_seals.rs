//! What another process, a forked child included, can no longer do to a
//! segment: remove its parent's name, or shrink it under its holders.
#![cfg(target_os = "linux")]

use std::process::Command;

use shmem::{
    MemfdShMem, NamedShMem, PosixShMemProvider, ShMem, ShMemId, ShMemProvider, SysvShMemProvider,
};

/// Forks; the child runs `child` and exits with its answer (0 for yes);
/// returns the child's exit status.
fn in_child(child: impl FnOnce() -> bool) -> i32 {
    // SAFETY: the child only drops segments (unmap, system calls, glibc's
    // fork-safe malloc) and leaves with `_exit`, running no test machinery.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let code = if child() { 0 } else { 1 };
        // SAFETY: ends the child at once, as a child of a threaded process must.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for our own child; `status` is ours.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status), "the child died: {status:#x}");
    libc::WEXITSTATUS(status)
}

fn reopens<P: ShMemProvider>(id: ShMemId) -> bool {
    P::new().unwrap().shmem_from_id_and_size(id, 4096).is_ok()
}

#[test]
fn a_forked_child_leaves_its_parents_posix_names() {
    let mut provider = PosixShMemProvider::new().unwrap();
    let unique = provider.new_shmem(4096).unwrap();
    let name = format!("shmem-fork-test-{}", std::process::id());
    let named = NamedShMem::create(&name, 4096).unwrap();
    assert!(named.is_owner());
    let (unique_id, named_id) = (unique.id(), named.id());
    // The child takes the segments out and drops them; the parent keeps its own.
    let mut held = Some((unique, named));
    let status = in_child(|| {
        let (unique, named) = held.take().expect("the parent's segments");
        let still_owner = named.is_owner();
        drop(unique);
        drop(named);
        !still_owner
    });
    assert_eq!(status, 0, "the child took itself for the owner");
    assert!(
        reopens::<PosixShMemProvider>(unique_id.clone()),
        "the provider's name is gone"
    );
    assert!(
        reopens::<PosixShMemProvider>(named_id),
        "the chosen name is gone"
    );
    drop(held);
    assert!(
        !reopens::<PosixShMemProvider>(unique_id) && NamedShMem::open(&name).is_err(),
        "the parent removes its names when it drops them"
    );
}

#[test]
fn a_forked_child_leaves_its_parents_sysv_segments() {
    let mut provider = SysvShMemProvider::new().unwrap();
    let mem = provider.new_shmem(4096).unwrap();
    let id = mem.id();
    let mut held = Some(mem);
    assert_eq!(
        in_child(|| held.take().is_some_and(|mem| !mem.is_owner())),
        0
    );
    assert!(reopens::<SysvShMemProvider>(id));
    assert!(held.is_some(), "the parent keeps its segment");
}

/// Another process of the user opens the memfd through `/proc` and tries
/// to shrink it: the seals refuse it, and the holder reads every byte on.
#[test]
fn another_process_cannot_shrink_a_memfd_segment() {
    let mem = MemfdShMem::create(3 * 4096).unwrap();
    mem.fill(0x5A);
    let ShMemId::Memfd { pid, fd, .. } = mem.id() else {
        panic!("a memfd id")
    };
    let out = Command::new("truncate")
        .args(["-s", "0", &format!("/proc/{pid}/fd/{fd}")])
        .output()
        .expect("run truncate");
    assert!(!out.status.success(), "truncate shrank a sealed memfd");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Operation not permitted"), "{stderr}");
    assert_eq!(mem.to_vec(), vec![0x5A; 3 * 4096], "read after the attempt");
}
