//! Read-only mappings on every Linux backend: a reader sees the writer's
//! bytes, and a write through the read-only mapping is refused by the OS
//! (the process that tries dies with SIGSEGV) and changes nothing.
#![cfg(target_os = "linux")]

use shmem::{
    MemfdShMemProvider, NamedShMem, PosixShMemProvider, ReadBytes, ServedShMemProvider,
    ServiceName, ShMem, ShMemProvider, SysvShMemProvider,
};

/// Forks a child that runs `child`; returns its wait status.
fn in_child(child: impl FnOnce()) -> i32 {
    // SAFETY: the child maps, reads, tries one write and leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        child();
        // SAFETY: ends the child without running the test harness.
        unsafe { libc::_exit(0) };
    }
    let mut status = 0;
    // SAFETY: waits for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    status
}

/// Writes through the pointer of a read-only mapping, as a buggy reader
/// would; the OS must refuse.
fn try_to_write(bytes: &ReadBytes) {
    // SAFETY: deliberately wrong: the page is mapped without write access, and
    // the write is expected to fault (the child dies of SIGSEGV) before it lands.
    unsafe { std::ptr::write_volatile(bytes.as_ptr().cast_mut(), 0xEE) };
}

fn refuses_writes<P: ShMemProvider>(mut provider: P) {
    let mem = provider.new_shmem(8192).unwrap();
    mem[..5].copy_from_slice(b"hello");
    let id = mem.id();
    let status = in_child(|| {
        let reader = provider.open_read_only(id, 8192).expect("open read-only");
        if reader[..5].to_vec() != b"hello" {
            // SAFETY: ends the child with a code the parent tells apart.
            unsafe { libc::_exit(3) };
        }
        try_to_write(&reader);
    });
    assert!(
        libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSEGV,
        "{}: the write was not refused by the OS (wait status {status:#x})",
        std::any::type_name::<P>()
    );
    assert_eq!(mem.load(0), Some(b'h'), "the byte is unchanged");
}

#[test]
fn memfd_read_only_refuses_writes() {
    refuses_writes(MemfdShMemProvider::new().unwrap());
}

#[test]
fn posix_read_only_refuses_writes() {
    refuses_writes(PosixShMemProvider::new().unwrap());
}

#[test]
fn sysv_read_only_refuses_writes() {
    refuses_writes(SysvShMemProvider::new().unwrap());
}

#[test]
fn served_read_only_refuses_writes() {
    let name = ServiceName::new(&format!("shmem-ro-test-{}", std::process::id())).unwrap();
    refuses_writes(ServedShMemProvider::connect_or_start(&name).unwrap());
}

#[test]
fn named_segments_open_read_only() {
    let name = format!("shmem-ro-named-{}", std::process::id());
    let mem = NamedShMem::create(&name, 100).unwrap();
    mem.write(10, &0xABCD_u16).unwrap();
    let reader = NamedShMem::open_read_only(&name).unwrap();
    assert_eq!(reader.len(), 100);
    assert_eq!(reader.read::<u16>(10).unwrap(), 0xABCD);
    assert_eq!(reader.id(), mem.id());
    let status = in_child(|| try_to_write(&reader));
    assert!(libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSEGV);
}
