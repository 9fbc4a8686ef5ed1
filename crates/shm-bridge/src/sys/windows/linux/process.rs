//! The process: who it is, its signals, and waking waiters on shared words.

use super::*;

pub const SIGHUP: i64 = 1;
pub const SIGINT: i64 = 2;
pub const SIGTERM: i64 = 15;
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

const _: () = assert!(size_of::<KernelSigaction>() == 32);

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
