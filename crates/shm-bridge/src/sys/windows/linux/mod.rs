//! Linux x86-64 system calls made directly: a Windows program under Wine
//! runs in a Linux process and may, with care, talk to the kernel. Win32
//! under Wine cannot say who owns a file, whether a name is a link, a FIFO
//! or a socket, or what file system a directory is on; these calls can, on
//! a descriptor that stays the same file however the name changes. Only
//! called once Wine has said its host is Linux.

mod fs;
mod process;

pub use fs::{Fd, Stat, StatFs, TMPFS_MAGIC, open_dir, read_file};
pub use process::{
    SIGHUP, SIGINT, SIGTERM, forward_to_sigint, futex_wake_all, geteuid, getpid, process_exists,
};

use std::ffi::CString;
use std::fmt;

const SYS_READ: i64 = 0;
const SYS_WRITE: i64 = 1;
const SYS_OPEN: i64 = 2;
const SYS_CLOSE: i64 = 3;
const SYS_FSTAT: i64 = 5;
const SYS_RT_SIGACTION: i64 = 13;
const SYS_GETPID: i64 = 39;
const SYS_FUTEX: i64 = 202;
const SYS_KILL: i64 = 62;
const SYS_READLINK: i64 = 89;
const SYS_FCHMOD: i64 = 91;
const SYS_GETEUID: i64 = 107;
const SYS_FSTATFS: i64 = 138;
const SYS_OPENAT: i64 = 257;
const SYS_NEWFSTATAT: i64 = 262;
const SYS_MKDIRAT: i64 = 258;
const SYS_UNLINKAT: i64 = 263;
const SYS_RENAMEAT: i64 = 264;
const SYS_LINKAT: i64 = 265;
const SYS_SYMLINKAT: i64 = 266;
const SYS_READLINKAT: i64 = 267;
const SYS_FALLOCATE: i64 = 285;
/// A Linux error number, described in the kernel's terms (std's `io::Error`
/// on Windows would read it as a Win32 error code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    pub const ENOENT: Errno = Errno(2);
    pub const ESRCH: Errno = Errno(3);
    pub const EINTR: Errno = Errno(4);
    pub const ENXIO: Errno = Errno(6);
    pub const EACCES: Errno = Errno(13);
    pub const EEXIST: Errno = Errno(17);
    pub const ENOTDIR: Errno = Errno(20);
    pub const EINVAL: Errno = Errno(22);
    pub const ENOSPC: Errno = Errno(28);
    pub const ELOOP: Errno = Errno(40);
    pub const EOPNOTSUPP: Errno = Errno(95);
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.0 {
            1 => "operation not permitted",
            2 => "no such file or directory",
            3 => "no such process",
            4 => "interrupted system call",
            5 => "input/output error",
            6 => "no such device or address",
            9 => "bad file descriptor",
            13 => "permission denied",
            17 => "file exists",
            20 => "not a directory",
            21 => "is a directory",
            22 => "invalid argument",
            24 => "too many open files",
            27 => "file too large",
            28 => "no space left on device",
            30 => "read-only file system",
            36 => "file name too long",
            40 => "too many levels of symbolic links",
            95 => "operation not supported",
            other => return write!(f, "Linux error {other}"),
        };
        write!(f, "{what} (Linux error {})", self.0)
    }
}

impl std::error::Error for Errno {}

/// The result of a system call: its value, or the error it returned.
fn result(ret: i64) -> Result<i64, Errno> {
    if (-4095..0).contains(&ret) {
        Err(Errno(-ret as i32))
    } else {
        Ok(ret)
    }
}

/// # Safety
/// `n` must be a system call that takes no arguments and touches no memory.
unsafe fn syscall0(n: i64) -> i64 {
    let ret: i64;
    // SAFETY: the caller picks a harmless call; rcx and r11 are clobbered by `syscall`.
    unsafe {
        core::arch::asm!("syscall", inlateout("rax") n => ret,
            lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

/// # Safety
/// The arguments must be valid for system call `n`: pointers to memory
/// alive and large enough for what the call reads or writes.
unsafe fn syscall4(n: i64, a: i64, b: i64, c: i64, d: i64) -> i64 {
    let ret: i64;
    // SAFETY: the caller vouches for the arguments.
    unsafe {
        core::arch::asm!("syscall", inlateout("rax") n => ret,
            in("rdi") a, in("rsi") b, in("rdx") c, in("r10") d,
            lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

/// # Safety
/// The arguments must be valid for system call `n`: pointers to memory
/// alive and large enough for what the call reads or writes.
unsafe fn syscall5(n: i64, a: i64, b: i64, c: i64, d: i64, e: i64) -> i64 {
    let ret: i64;
    // SAFETY: the caller vouches for the arguments.
    unsafe {
        core::arch::asm!("syscall", inlateout("rax") n => ret,
            in("rdi") a, in("rsi") b, in("rdx") c, in("r10") d, in("r8") e,
            lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

fn c_string(text: &str) -> Result<CString, Errno> {
    CString::new(text).map_err(|_| Errno::EINVAL)
}
