//! Linux x86-64 system calls made directly: a Windows program under Wine
//! runs in a Linux process and may, with care, talk to the kernel. Only
//! called once Wine has said its host is Linux.

pub const SIGHUP: i64 = 1;
pub const SIGINT: i64 = 2;
pub const SIGTERM: i64 = 15;
const SYS_RT_SIGACTION: i64 = 13;
const SYS_GETPID: i64 = 39;
const SYS_KILL: i64 = 62;
const SYS_OPEN: i64 = 2;
const SYS_CLOSE: i64 = 3;
const SYS_FCHMOD: i64 = 91;
const O_RDONLY: i64 = 0;
const O_NOFOLLOW: i64 = 0o400000;
const O_CLOEXEC: i64 = 0o2000000;
const SA_RESTORER: u64 = 0x0400_0000;
const SA_RESTART: u64 = 0x1000_0000;

/// The kernel's `struct sigaction` on x86-64.
#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: u64,
}

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
/// The arguments must be valid for system call `n`.
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

/// `fchmod` on the file at `path`, opened without following a symlink;
/// an errno on failure.
pub fn chmod_nofollow(path: &str, mode: u32) -> Result<(), i32> {
    let c_path = std::ffi::CString::new(path).map_err(|_| 22)?; // EINVAL
    // SAFETY: open reads the NUL-terminated path, alive for the call.
    let fd = unsafe {
        syscall4(
            SYS_OPEN,
            c_path.as_ptr() as i64,
            O_RDONLY | O_NOFOLLOW | O_CLOEXEC,
            0,
            0,
        )
    };
    if fd < 0 {
        return Err(-fd as i32);
    }
    // SAFETY: fchmod and close take numbers; `fd` is ours, closed once.
    let result = unsafe { syscall4(SYS_FCHMOD, fd, i64::from(mode), 0, 0) };
    // SAFETY: as above.
    unsafe { syscall4(SYS_CLOSE, fd, 0, 0, 0) };
    if result < 0 {
        Err(-result as i32)
    } else {
        Ok(())
    }
}

pub fn getpid() -> u32 {
    // SAFETY: getpid takes nothing and cannot fail.
    unsafe { syscall0(SYS_GETPID) as u32 }
}

/// The handler: async-signal-safe, two system calls, no Wine state.
extern "sysv64" fn send_sigint(_signal: i32) {
    // SAFETY: kill(getpid(), SIGINT) passes no memory.
    unsafe {
        let pid = syscall0(SYS_GETPID);
        syscall4(SYS_KILL, pid, SIGINT, 0, 0);
    }
}

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
