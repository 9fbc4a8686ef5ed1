//! The floor: each backend's bare system calls through `libc`, with no
//! checks, names or ids beyond what the kernel needs. A library can add
//! nothing below this; the benchmarks report how far above it each one is.

use std::ffi::CStr;
use std::io::Write;

use crate::touch_raw;

/// Panics with the OS error if `ok` is false (benchmarks stop on failure).
fn check(ok: bool, what: &str) {
    assert!(ok, "{what}: {}", std::io::Error::last_os_error());
}

/// `mmap` of `len` bytes of `fd`, shared, readable and writable.
fn map(fd: libc::c_int, len: usize, populate: bool) -> *mut u8 {
    let flags = libc::MAP_SHARED | if populate { libc::MAP_POPULATE } else { 0 };
    // SAFETY: a new mapping at an address the kernel picks; nothing aliases it.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            flags,
            fd,
            0,
        )
    };
    check(ptr != libc::MAP_FAILED, "mmap");
    ptr.cast()
}

fn unmap(ptr: *mut u8, len: usize) {
    // SAFETY: `ptr` is a mapping of `len` bytes made by `map`, used no more.
    unsafe { libc::munmap(ptr.cast(), len) };
}

fn close(fd: libc::c_int) {
    // SAFETY: a descriptor this module opened and nothing else uses.
    unsafe { libc::close(fd) };
}

/// memfd: `memfd_create`, `ftruncate`, `mmap`, touch, `munmap`, `close`.
/// With `populate`, `MAP_POPULATE` faults the pages in at `mmap`.
pub fn memfd_cycle(size: usize, every_page: bool, populate: bool) {
    // SAFETY: a NUL-terminated name; returns a descriptor or -1.
    let fd = unsafe { libc::memfd_create(c"floor".as_ptr(), libc::MFD_CLOEXEC) };
    check(fd >= 0, "memfd_create");
    // SAFETY: plain system call on our descriptor.
    check(
        unsafe { libc::ftruncate(fd, size as libc::off_t) } == 0,
        "ftruncate",
    );
    let ptr = map(fd, size, populate);
    // SAFETY: `ptr` maps `size` bytes.
    unsafe { touch_raw(ptr, size, every_page) };
    unmap(ptr, size);
    close(fd);
}

/// A fresh name in a stack buffer: `/dev/shm/floor-PID-N`, NUL-terminated.
fn shm_path(buf: &mut [u8; 64]) -> &CStr {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let pid = *PID.get_or_init(std::process::id);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    write!(cursor, "/dev/shm/floor-{pid}-{n}\0").expect("fits in 64 bytes");
    let end = cursor.position() as usize;
    CStr::from_bytes_with_nul(&buf[..end]).expect("one NUL, at the end")
}

/// POSIX (a file in `/dev/shm`, as glibc's `shm_open` makes it): `open`
/// with `O_CREAT | O_EXCL | O_NOFOLLOW`, `ftruncate`, `mmap`, touch,
/// `munmap`, `close`, `unlink`.
pub fn posix_cycle(size: usize, every_page: bool, populate: bool) {
    let mut buf = [0u8; 64];
    let path = shm_path(&mut buf);
    // SAFETY: a NUL-terminated path; returns a descriptor or -1.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0o600,
        )
    };
    check(fd >= 0, "open");
    // SAFETY: plain system call on our descriptor.
    check(
        unsafe { libc::ftruncate(fd, size as libc::off_t) } == 0,
        "ftruncate",
    );
    let ptr = map(fd, size, populate);
    // SAFETY: `ptr` maps `size` bytes.
    unsafe { touch_raw(ptr, size, every_page) };
    unmap(ptr, size);
    close(fd);
    // SAFETY: a NUL-terminated path.
    unsafe { libc::unlink(path.as_ptr()) };
}

/// SysV: `shmget`, `shmat`, `shmctl(IPC_RMID)` (Linux frees it at the last
/// detach), touch, `shmdt`.
pub fn sysv_cycle(size: usize, every_page: bool) {
    let (shmid, ptr) = sysv_create(size);
    // SAFETY: IPC_RMID takes no buffer.
    unsafe { libc::shmctl(shmid, libc::IPC_RMID, std::ptr::null_mut()) };
    // SAFETY: the attachment holds `size` bytes.
    unsafe { touch_raw(ptr, size, every_page) };
    sysv_detach(ptr);
}

/// `shmget` and `shmat`: the segment's id and address.
pub fn sysv_create(size: usize) -> (libc::c_int, *mut u8) {
    // SAFETY: plain system call, no memory passed.
    let shmid = unsafe {
        libc::shmget(
            libc::IPC_PRIVATE,
            size,
            libc::IPC_CREAT | libc::IPC_EXCL | 0o600,
        )
    };
    check(shmid >= 0, "shmget");
    (shmid, sysv_attach(shmid))
}

/// `shmat` at an address the kernel picks.
pub fn sysv_attach(shmid: libc::c_int) -> *mut u8 {
    // SAFETY: attaching at an address the kernel picks aliases nothing.
    let ptr = unsafe { libc::shmat(shmid, std::ptr::null(), 0) };
    check(ptr as isize != -1, "shmat");
    ptr.cast()
}

/// `shmdt`.
pub fn sysv_detach(ptr: *mut u8) {
    // SAFETY: an attachment made by `sysv_attach`, used no more.
    unsafe { libc::shmdt(ptr.cast()) };
}

/// Reopens a file (`/proc/PID/fd/N` for a memfd of another process, or a
/// file in `/dev/shm`): `open`, `mmap`, `munmap`, `close`.
pub fn file_reopen(path: &CStr, size: usize) {
    let fd = open_rw(path);
    let ptr = map(fd, size, false);
    // SAFETY: in bounds of the mapping; the read faults the page in, as a user's would.
    unsafe { ptr.read_volatile() };
    unmap(ptr, size);
    close(fd);
}

/// Reopens a SysV segment: `shmat`, `shmdt`.
pub fn sysv_reopen(shmid: libc::c_int) {
    let ptr = sysv_attach(shmid);
    // SAFETY: an attachment is at least one page.
    unsafe { ptr.read_volatile() };
    sysv_detach(ptr);
}

/// The size of SysV segment `shmid`, by `shmctl(IPC_STAT)`: the check a
/// reopen needs before trusting a size it was told.
pub fn sysv_size(shmid: libc::c_int) -> usize {
    // SAFETY: `shmid_ds` is plain old data; zeroes are a valid value.
    let mut ds: libc::shmid_ds = unsafe { std::mem::zeroed() };
    // SAFETY: IPC_STAT writes one `shmid_ds` into `ds`, which we own.
    check(
        unsafe { libc::shmctl(shmid, libc::IPC_STAT, &mut ds) } == 0,
        "shmctl(IPC_STAT)",
    );
    ds.shm_segsz as usize
}

/// `open` read-write, close-on-exec, never through a symlink, except for
/// `/proc/PID/fd/N`, which is one (a "magic" link to the descriptor's
/// file), as the library does for each.
pub fn open_rw(path: &CStr) -> libc::c_int {
    let nofollow = if path.to_bytes().starts_with(b"/proc/") {
        0
    } else {
        libc::O_NOFOLLOW
    };
    // SAFETY: a NUL-terminated path; returns a descriptor or -1.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDWR | nofollow | libc::O_CLOEXEC) };
    check(fd >= 0, "open");
    fd
}

/// A memfd mapped by hand, for the round trip: another process reaches it
/// at `/proc/PID/FD`.
#[derive(Debug)]
pub struct Memfd {
    /// Its descriptor.
    pub fd: libc::c_int,
    /// Where it is mapped.
    pub ptr: *mut u8,
    /// Its length.
    pub len: usize,
}

impl Memfd {
    /// Creates and maps one.
    pub fn new(len: usize) -> Memfd {
        // SAFETY: a NUL-terminated name; returns a descriptor or -1.
        let fd = unsafe { libc::memfd_create(c"floor".as_ptr(), libc::MFD_CLOEXEC) };
        check(fd >= 0, "memfd_create");
        // SAFETY: plain system call on our descriptor.
        check(
            unsafe { libc::ftruncate(fd, len as libc::off_t) } == 0,
            "ftruncate",
        );
        Memfd {
            fd,
            ptr: map(fd, len, false),
            len,
        }
    }

    /// Maps an existing file (such as `/proc/PID/fd/N`).
    pub fn open(path: &CStr, len: usize) -> Memfd {
        let fd = open_rw(path);
        Memfd {
            fd,
            ptr: map(fd, len, false),
            len,
        }
    }

    /// Where another process opens it.
    pub fn path(&self) -> String {
        format!("/proc/{}/fd/{}", std::process::id(), self.fd)
    }
}

impl Drop for Memfd {
    fn drop(&mut self) {
        unmap(self.ptr, self.len);
        close(self.fd);
    }
}
