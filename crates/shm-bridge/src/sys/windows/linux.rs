//! Linux x86-64 system calls made directly: a Windows program under Wine
//! runs in a Linux process and may, with care, talk to the kernel. Win32
//! under Wine cannot say who owns a file, whether a name is a link, a FIFO
//! or a socket, or what file system a directory is on; these calls can, on
//! a descriptor that stays the same file however the name changes. Only
//! called once Wine has said its host is Linux.

use std::ffi::CString;
use std::fmt;

pub const SIGHUP: i64 = 1;
pub const SIGINT: i64 = 2;
pub const SIGTERM: i64 = 15;

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
const SYS_LINKAT: i64 = 265;
const SYS_SYMLINKAT: i64 = 266;
const SYS_READLINKAT: i64 = 267;
const SYS_FALLOCATE: i64 = 285;

const O_RDONLY: i64 = 0;
const O_RDWR: i64 = 2;
const O_CREAT: i64 = 0o100;
const O_EXCL: i64 = 0o200;
const O_NOCTTY: i64 = 0o400;
const O_NONBLOCK: i64 = 0o4000;
const O_DIRECTORY: i64 = 0o200000;
const O_NOFOLLOW: i64 = 0o400000;
const O_CLOEXEC: i64 = 0o2000000;
const O_TMPFILE: i64 = 0o20000000 | O_DIRECTORY;
const AT_FDCWD: i64 = -100;
const AT_SYMLINK_FOLLOW: i64 = 0x400;
const AT_REMOVEDIR: i64 = 0x200;
const AT_SYMLINK_NOFOLLOW: i64 = 0x100;
const SA_RESTORER: u64 = 0x0400_0000;
const SA_RESTART: u64 = 0x1000_0000;

/// `statfs` type of a tmpfs.
pub const TMPFS_MAGIC: i64 = 0x0102_1994;

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

/// The kernel's `struct sigaction` on x86-64.
#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: u64,
}

/// The kernel's `struct stat` on x86-64.
#[repr(C)]
#[derive(Default)]
struct KernelStat {
    dev: u64,
    ino: u64,
    nlink: u64,
    mode: u32,
    uid: u32,
    gid: u32,
    _pad: i32,
    rdev: u64,
    size: i64,
    blksize: i64,
    blocks: i64,
    times: [i64; 6],
    _unused: [i64; 3],
}

/// The kernel's `struct statfs` on x86-64.
#[repr(C)]
#[derive(Default)]
struct KernelStatfs {
    kind: i64,
    bsize: i64,
    blocks: u64,
    bfree: u64,
    bavail: u64,
    files: u64,
    ffree: u64,
    fsid: [i32; 2],
    namelen: i64,
    frsize: i64,
    flags: i64,
    spare: [i64; 4],
}

const _: () = {
    assert!(size_of::<KernelStat>() == 144);
    assert!(size_of::<KernelStatfs>() == 120);
};

// The return path from a signal handler: `rt_sigreturn`, as libc's
// `__restore_rt` does; the kernel requires one on x86-64.
core::arch::global_asm!(
    ".text",
    ".globl shm_bridge_sigreturn",
    "shm_bridge_sigreturn:",
    "mov eax, 15",
    "syscall",
    "ud2",
);
unsafe extern "C" {
    fn shm_bridge_sigreturn();
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

/// What a descriptor's file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Device and inode: the file's identity.
    pub dev: u64,
    /// The inode.
    pub ino: u64,
    /// How many names it has.
    pub nlink: u64,
    /// Type and permission bits.
    pub mode: u32,
    /// Its owner.
    pub uid: u32,
    /// Its length.
    pub size: u64,
}

impl Stat {
    fn from_kernel(st: &KernelStat) -> Stat {
        Stat {
            dev: st.dev,
            ino: st.ino,
            nlink: st.nlink,
            mode: st.mode,
            uid: st.uid,
            size: u64::try_from(st.size).unwrap_or(0),
        }
    }

    /// Whether it is a regular file.
    pub fn is_file(&self) -> bool {
        self.mode & 0o170000 == 0o100000
    }

    /// Whether it is a directory.
    pub fn is_dir(&self) -> bool {
        self.mode & 0o170000 == 0o040000
    }

    /// Whether it is a symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.mode & 0o170000 == 0o120000
    }

    /// What it is, in words: `a FIFO`, `a socket`, ...
    pub fn kind(&self) -> &'static str {
        match self.mode & 0o170000 {
            0o100000 => "a regular file",
            0o040000 => "a directory",
            0o120000 => "a symbolic link",
            0o010000 => "a FIFO",
            0o140000 => "a socket",
            0o020000 => "a character device",
            0o060000 => "a block device",
            _ => "of an unknown kind",
        }
    }
}

/// What a file system says of itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatFs {
    /// Its type (`TMPFS_MAGIC` for a tmpfs).
    pub kind: i64,
    /// Bytes free for an unprivileged user.
    pub free: u64,
}

/// A Linux file descriptor of this process, closed on drop.
#[derive(Debug)]
pub struct Fd(i64);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: close takes a number; the descriptor is ours, closed once.
        unsafe { syscall4(SYS_CLOSE, self.0, 0, 0, 0) };
    }
}

/// Opens the directory `path` (links in the path followed: the directory
/// it names is the one used).
pub fn open_dir(path: &str) -> Result<Fd, Errno> {
    let c = c_string(path)?;
    // SAFETY: open reads the NUL-terminated path, alive for the call.
    let fd = unsafe {
        syscall4(
            SYS_OPEN,
            c.as_ptr() as i64,
            O_RDONLY | O_DIRECTORY | O_CLOEXEC,
            0,
            0,
        )
    };
    result(fd).map(Fd)
}

/// Reads at most `limit` bytes of the file at `path` (for `/proc`).
pub fn read_file(path: &str, limit: usize) -> Result<Vec<u8>, Errno> {
    let c = c_string(path)?;
    // SAFETY: open reads the NUL-terminated path, alive for the call.
    let fd = unsafe {
        syscall4(
            SYS_OPEN,
            c.as_ptr() as i64,
            O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
            0,
            0,
        )
    };
    Fd(result(fd)?).read_to_end(limit)
}

impl Fd {
    /// What the descriptor's file is.
    pub fn stat(&self) -> Result<Stat, Errno> {
        let mut st = KernelStat::default();
        // SAFETY: fstat writes one `struct stat`, which `st` is, alive for the call.
        result(unsafe { syscall4(SYS_FSTAT, self.0, (&raw mut st) as i64, 0, 0) })?;
        Ok(Stat::from_kernel(&st))
    }

    /// What the descriptor's file system is, and its free space.
    pub fn statfs(&self) -> Result<StatFs, Errno> {
        let mut st = KernelStatfs::default();
        // SAFETY: fstatfs writes one `struct statfs`, which `st` is, alive for the call.
        result(unsafe { syscall4(SYS_FSTATFS, self.0, (&raw mut st) as i64, 0, 0) })?;
        let unit = if st.frsize > 0 { st.frsize } else { st.bsize };
        Ok(StatFs {
            kind: st.kind,
            free: st.bavail.saturating_mul(u64::try_from(unit).unwrap_or(0)),
        })
    }

    /// The path the kernel knows this descriptor by, links resolved.
    pub fn path(&self) -> Result<String, Errno> {
        let link = c_string(&format!("/proc/self/fd/{}", self.0))?;
        let mut buf = vec![0u8; 4096];
        // SAFETY: readlink reads the NUL-terminated path and writes at most
        // `buf.len()` bytes into `buf`; both alive for the call.
        let n = result(unsafe {
            syscall4(
                SYS_READLINK,
                link.as_ptr() as i64,
                buf.as_mut_ptr() as i64,
                buf.len() as i64,
                0,
            )
        })?;
        buf.truncate(n as usize);
        String::from_utf8(buf).map_err(|_| Errno::EINVAL)
    }

    /// Opens `name` in this directory, never following a link, never
    /// blocking (a FIFO opens at once), for reading and writing if `write`.
    pub fn open_at(&self, name: &str, write: bool) -> Result<Fd, Errno> {
        let access = if write { O_RDWR } else { O_RDONLY };
        self.openat(name, access | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0)
    }

    /// Creates `name` in this directory with the permission bits `mode`,
    /// for reading and writing; fails if anything (even a dangling link) is
    /// there.
    pub fn create_at(&self, name: &str, mode: u32) -> Result<Fd, Errno> {
        let fd = self.openat(
            name,
            O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY,
            mode,
        )?;
        // The process's umask took bits away; the mode is exactly `mode`.
        fd.chmod(mode)?;
        Ok(fd)
    }

    /// A new file in this directory that has no name yet (`O_TMPFILE`),
    /// with the permission bits `mode`: no one can open it by a name until
    /// [`Fd::link_at`] gives it one, and it is freed if this process dies first.
    pub fn create_unnamed(&self, mode: u32) -> Result<Fd, Errno> {
        let fd = self.openat(".", O_RDWR | O_TMPFILE, mode)?;
        fd.chmod(mode)?;
        Ok(fd)
    }

    /// Gives the unnamed file `file` the name `name` in this directory;
    /// fails if anything (even a dangling link) is there.
    pub fn link_at(&self, file: &Fd, name: &str) -> Result<(), Errno> {
        // The /proc path reaches the unnamed file without privileges
        // (AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH).
        let from = c_string(&format!("/proc/self/fd/{}", file.0))?;
        let to = c_string(name)?;
        // SAFETY: linkat reads the two NUL-terminated paths, alive for the call.
        result(unsafe {
            syscall5(
                SYS_LINKAT,
                AT_FDCWD,
                from.as_ptr() as i64,
                self.0,
                to.as_ptr() as i64,
                AT_SYMLINK_FOLLOW,
            )
        })
        .map(drop)
    }

    fn openat(&self, name: &str, flags: i64, mode: u32) -> Result<Fd, Errno> {
        let c = c_string(name)?;
        // SAFETY: openat reads the NUL-terminated name, alive for the call.
        let fd = unsafe {
            syscall4(
                SYS_OPENAT,
                self.0,
                c.as_ptr() as i64,
                flags | O_CLOEXEC,
                i64::from(mode),
            )
        };
        result(fd).map(Fd)
    }

    /// What `name` in this directory is, not following a link.
    pub fn stat_at(&self, name: &str) -> Result<Stat, Errno> {
        let c = c_string(name)?;
        let mut st = KernelStat::default();
        // SAFETY: newfstatat reads the NUL-terminated name and writes one
        // `struct stat`; both alive for the call.
        result(unsafe {
            syscall4(
                SYS_NEWFSTATAT,
                self.0,
                c.as_ptr() as i64,
                (&raw mut st) as i64,
                AT_SYMLINK_NOFOLLOW,
            )
        })?;
        Ok(Stat::from_kernel(&st))
    }

    /// Opens the directory `name` in this one, never following a link.
    pub fn open_dir_at(&self, name: &str) -> Result<Fd, Errno> {
        self.openat(name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0)
    }

    /// Makes the directory `name` in this one with the permission bits `mode`
    /// (less the process's umask).
    pub fn mkdir_at(&self, name: &str, mode: u32) -> Result<(), Errno> {
        let c = c_string(name)?;
        // SAFETY: mkdirat reads the NUL-terminated name, alive for the call.
        result(unsafe { syscall4(SYS_MKDIRAT, self.0, c.as_ptr() as i64, i64::from(mode), 0) })
            .map(drop)
    }

    /// Removes the empty directory `name` from this one.
    pub fn remove_dir_at(&self, name: &str) -> Result<(), Errno> {
        let c = c_string(name)?;
        // SAFETY: unlinkat reads the NUL-terminated name, alive for the call.
        result(unsafe { syscall4(SYS_UNLINKAT, self.0, c.as_ptr() as i64, AT_REMOVEDIR, 0) })
            .map(drop)
    }

    /// Makes `name` in this directory a symbolic link to `target`.
    pub fn symlink_at(&self, target: &str, name: &str) -> Result<(), Errno> {
        let (t, n) = (c_string(target)?, c_string(name)?);
        // SAFETY: symlinkat reads the two NUL-terminated strings, alive for the call.
        result(unsafe {
            syscall4(
                SYS_SYMLINKAT,
                t.as_ptr() as i64,
                self.0,
                n.as_ptr() as i64,
                0,
            )
        })
        .map(drop)
    }

    /// What the symbolic link `name` in this directory points to.
    pub fn read_link_at(&self, name: &str) -> Result<String, Errno> {
        let c = c_string(name)?;
        let mut buf = vec![0u8; 4096];
        // SAFETY: readlinkat reads the NUL-terminated name and writes at most
        // `buf.len()` bytes into `buf`; both alive for the call.
        let n = result(unsafe {
            syscall4(
                SYS_READLINKAT,
                self.0,
                c.as_ptr() as i64,
                buf.as_mut_ptr() as i64,
                buf.len() as i64,
            )
        })?;
        buf.truncate(n as usize);
        String::from_utf8(buf).map_err(|_| Errno::EINVAL)
    }

    /// Removes the name `name` from this directory (a link itself, never
    /// what it points to).
    pub fn unlink_at(&self, name: &str) -> Result<(), Errno> {
        let c = c_string(name)?;
        // SAFETY: unlinkat reads the NUL-terminated name, alive for the call.
        result(unsafe { syscall4(SYS_UNLINKAT, self.0, c.as_ptr() as i64, 0, 0) }).map(drop)
    }

    /// Sets the file's permission bits.
    pub fn chmod(&self, mode: u32) -> Result<(), Errno> {
        // SAFETY: fchmod takes numbers only.
        result(unsafe { syscall4(SYS_FCHMOD, self.0, i64::from(mode), 0, 0) }).map(drop)
    }

    /// Reserves the file's first `len` bytes (growing it if shorter): on a
    /// tmpfs, pages are allocated now, so a full tmpfs fails here.
    pub fn allocate(&self, len: u64) -> Result<(), Errno> {
        let len = i64::try_from(len).map_err(|_| Errno::EINVAL)?;
        loop {
            // SAFETY: fallocate takes numbers only (mode 0: allocate and extend).
            match result(unsafe { syscall4(SYS_FALLOCATE, self.0, 0, 0, len) }) {
                // A signal (Ctrl-C) stopped it; what was allocated stays, the rest follows.
                Err(Errno::EINTR) => continue,
                other => return other.map(drop),
            }
        }
    }

    /// Writes all of `bytes` at the file's current offset.
    pub fn write_all(&self, mut bytes: &[u8]) -> Result<(), Errno> {
        while !bytes.is_empty() {
            // SAFETY: write reads at most `bytes.len()` bytes of `bytes`, alive for the call.
            let n = result(unsafe {
                syscall4(
                    SYS_WRITE,
                    self.0,
                    bytes.as_ptr() as i64,
                    bytes.len() as i64,
                    0,
                )
            })?;
            bytes = &bytes[n as usize..];
        }
        Ok(())
    }

    /// Reads from the current offset to the end, at most `limit` bytes.
    pub fn read_to_end(&self, limit: usize) -> Result<Vec<u8>, Errno> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while out.len() < limit {
            let want = buf.len().min(limit - out.len());
            // SAFETY: read writes at most `want` bytes into `buf`, alive for the call.
            let n = result(unsafe {
                syscall4(SYS_READ, self.0, buf.as_mut_ptr() as i64, want as i64, 0)
            })?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n as usize]);
        }
        Ok(out)
    }
}

/// Wakes every process waiting on `word` with `FUTEX_WAIT`: the futex is
/// shared (no `FUTEX_PRIVATE_FLAG`), so waiters that map the same file
/// elsewhere are keyed on the same word.
pub fn futex_wake_all(word: &std::sync::atomic::AtomicU32) {
    const FUTEX_WAKE: i64 = 1;
    // SAFETY: futex reads nothing at the address for a wake (it only keys
    // on it), and `word` is a live, aligned u32; the count is an int.
    unsafe {
        syscall4(
            SYS_FUTEX,
            word.as_ptr() as i64,
            FUTEX_WAKE,
            i64::from(i32::MAX),
            0,
        )
    };
}

/// This process's pid.
pub fn getpid() -> u32 {
    // SAFETY: getpid takes nothing and cannot fail.
    unsafe { syscall0(SYS_GETPID) as u32 }
}

/// The user this process acts as.
pub fn geteuid() -> u32 {
    // SAFETY: geteuid takes nothing and cannot fail.
    unsafe { syscall0(SYS_GETEUID) as u32 }
}

/// Whether the process `pid` exists (it may belong to another user).
pub fn process_exists(pid: u32) -> bool {
    let pid = i64::from(pid);
    if pid <= 0 || pid > i64::from(i32::MAX) {
        return false;
    }
    // SAFETY: kill with signal 0 sends nothing; it only checks the pid.
    let ret = unsafe { syscall4(SYS_KILL, pid, 0, 0, 0) };
    result(ret).is_ok() || ret == -1 // EPERM: it exists, as another user's
}

/// The handler: async-signal-safe, two system calls, no Wine state.
extern "sysv64" fn send_sigint(_signal: i32) {
    // SAFETY: kill(getpid(), SIGINT) passes no memory.
    unsafe {
        let pid = syscall0(SYS_GETPID);
        syscall4(SYS_KILL, pid, SIGINT, 0, 0);
    }
}

/// Makes each of `signals` send SIGINT to this process instead.
pub fn forward_to_sigint(signals: &[i64]) {
    let action = KernelSigaction {
        handler: send_sigint as extern "sysv64" fn(i32) as usize,
        flags: SA_RESTORER | SA_RESTART,
        restorer: shm_bridge_sigreturn as unsafe extern "C" fn() as usize,
        mask: 0,
    };
    for &signal in signals {
        // SAFETY: rt_sigaction reads one `KernelSigaction` (alive for the call)
        // and writes nothing (old action pointer is null); sigsetsize is 8.
        unsafe {
            syscall4(
                SYS_RT_SIGACTION,
                signal,
                &action as *const KernelSigaction as i64,
                0,
                8,
            )
        };
    }
}
