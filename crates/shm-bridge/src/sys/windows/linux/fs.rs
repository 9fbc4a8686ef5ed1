//! Files through their descriptors: open, stat, make, link, remove.

use super::*;

const O_RDONLY: i64 = 0;
const O_RDWR: i64 = 2;
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

/// `statfs` type of a tmpfs.
pub const TMPFS_MAGIC: i64 = 0x0102_1994;
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

    /// Renames `from` to `to` in this directory, replacing what is at `to`
    /// in one step: no one sees neither or half of either.
    pub fn rename_at(&self, from: &str, to: &str) -> Result<(), Errno> {
        let (f, t) = (c_string(from)?, c_string(to)?);
        // SAFETY: renameat reads the two NUL-terminated names, alive for the call.
        result(unsafe {
            syscall4(
                SYS_RENAMEAT,
                self.0,
                f.as_ptr() as i64,
                self.0,
                t.as_ptr() as i64,
            )
        })
        .map(drop)
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
