//! What only Wine offers a Windows program: its version, Unix path
//! conversion, and (on Linux) the Unix signals it does not turn into
//! console events by itself.

use std::ffi::{CStr, CString, c_char, c_void};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
use windows_sys::Win32::System::Memory::{GetProcessHeap, HeapFree};

/// A function exported by a loaded system DLL, if it exists.
fn export(module: &str, name: &CStr) -> Option<unsafe extern "system" fn() -> isize> {
    let wide: Vec<u16> = module.encode_utf16().chain(Some(0)).collect();
    // SAFETY: NUL-terminated name; ntdll and kernel32 are loaded in every process.
    let handle = unsafe { GetModuleHandleW(wide.as_ptr()) };
    if handle.is_null() {
        return None;
    }
    // SAFETY: NUL-terminated export name on a live module handle.
    unsafe { GetProcAddress(handle, name.as_ptr().cast()) }
}

/// Wine's version, or `None` on real Windows.
pub fn version() -> Option<String> {
    let f = export("ntdll.dll", c"wine_get_version")?;
    // SAFETY: `wine_get_version` takes nothing and returns a static C string.
    let f: unsafe extern "C" fn() -> *const c_char = unsafe { std::mem::transmute(f) };
    // SAFETY: as above; the string is static and NUL-terminated.
    Some(
        unsafe { CStr::from_ptr(f()) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// The host OS's name as Wine reports it (`Linux`, `Darwin`, `FreeBSD`).
pub fn host_system() -> Option<String> {
    let f = export("ntdll.dll", c"wine_get_host_version")?;
    // SAFETY: `void wine_get_host_version(const char **sysname, const char **release)`.
    let f: unsafe extern "C" fn(*mut *const c_char, *mut *const c_char) =
        unsafe { std::mem::transmute(f) };
    let mut sysname = std::ptr::null();
    let mut release = std::ptr::null();
    // SAFETY: both out-pointers are valid; Wine stores static strings in them.
    unsafe { f(&mut sysname, &mut release) };
    if sysname.is_null() {
        return None;
    }
    // SAFETY: a static NUL-terminated string from Wine.
    Some(
        unsafe { CStr::from_ptr(sysname) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// The Windows path for a Unix path: on a drive if one maps it (`Z:\dev\shm`),
/// else `\\?\unix\dev\shm`, which works in prefixes without a `Z:` drive.
pub fn dos_path(unix: &str) -> Result<PathBuf> {
    let f = export("kernel32.dll", c"wine_get_dos_file_name")
        .context("this is not Wine (kernel32 has no wine_get_dos_file_name)")?;
    // SAFETY: `WCHAR *wine_get_dos_file_name(const char *)`, result on the process heap.
    let f: unsafe extern "system" fn(*const c_char) -> *mut u16 = unsafe { std::mem::transmute(f) };
    let c = CString::new(unix).with_context(|| format!("{unix:?} holds a NUL"))?;
    // SAFETY: NUL-terminated input; the result is ours to free.
    let wide = unsafe { f(c.as_ptr()) };
    if wide.is_null() {
        bail!("Wine cannot express the Unix path {unix} as a Windows path");
    }
    // SAFETY: Wine returns a NUL-terminated wide string.
    let len = (0..).take_while(|&i| unsafe { *wide.add(i) } != 0).count();
    // SAFETY: `len` wide chars were just counted inside the allocation.
    let text = String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(wide, len) });
    // SAFETY: allocated by Wine on the process heap, freed once.
    unsafe { HeapFree(GetProcessHeap(), 0, wide.cast::<c_void>()) };
    Ok(PathBuf::from(text))
}

/// The Unix path for a Windows path, as Wine resolves it.
pub fn unix_path(dos: &std::path::Path) -> Result<String> {
    let f = export("kernel32.dll", c"wine_get_unix_file_name")
        .context("this is not Wine (kernel32 has no wine_get_unix_file_name)")?;
    // SAFETY: `char *wine_get_unix_file_name(const WCHAR *)`, result on the process heap.
    let f: unsafe extern "system" fn(*const u16) -> *mut c_char = unsafe { std::mem::transmute(f) };
    let wide: Vec<u16> = dos
        .to_string_lossy()
        .encode_utf16()
        .chain(Some(0))
        .collect();
    // SAFETY: NUL-terminated input; the result is ours to free.
    let raw = unsafe { f(wide.as_ptr()) };
    if raw.is_null() {
        bail!("Wine cannot map {} to a Unix path", dos.display());
    }
    // SAFETY: Wine returns a NUL-terminated string.
    let text = unsafe { CStr::from_ptr(raw) }
        .to_string_lossy()
        .into_owned();
    // SAFETY: allocated by Wine on the process heap, freed once.
    unsafe { HeapFree(GetProcessHeap(), 0, raw.cast::<c_void>()) };
    Ok(text)
}

/// Makes SIGTERM and SIGHUP end the program like Ctrl-C does.
///
/// Wine 8 turns SIGINT into a console Ctrl-C event but leaves SIGTERM and
/// SIGHUP at their default action, which kills the process with no chance
/// to remove its files. This installs, with raw Linux system calls, a
/// handler that answers either signal by sending SIGINT to the process.
/// It only acts under Wine on x86-64 Linux; elsewhere it does nothing.
pub fn forward_termination_signals() {
    if host_system().as_deref() == Some("Linux") {
        #[cfg(target_arch = "x86_64")]
        raw_linux::forward_to_sigint(&[raw_linux::SIGTERM, raw_linux::SIGHUP]);
    }
}

/// Sets the permission bits of the Linux file `unix_path` (not following
/// a symbolic link). Wine cannot: the wineserver creates files with its
/// own umask, and Win32 security descriptors map onto modes only roughly.
/// Works under Wine on x86-64 Linux; elsewhere it reports that it cannot.
pub fn chmod(unix_path: &str, mode: u32) -> Result<()> {
    if host_system().as_deref() != Some("Linux") {
        bail!("setting file modes needs Wine on Linux");
    }
    #[cfg(target_arch = "x86_64")]
    return raw_linux::chmod_nofollow(unix_path, mode).map_err(|errno| {
        anyhow::anyhow!(
            "chmod {unix_path}: {}",
            std::io::Error::from_raw_os_error(errno)
        )
    });
    #[cfg(not(target_arch = "x86_64"))]
    bail!("setting file modes needs Wine on x86-64");
}

/// This process's Linux pid (under Wine on Linux, the pid `kill` takes).
pub fn linux_pid() -> Option<u32> {
    if host_system().as_deref() != Some("Linux") {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    return Some(raw_linux::getpid());
    #[cfg(not(target_arch = "x86_64"))]
    return None;
}

#[cfg(target_arch = "x86_64")]
mod raw_linux {
    //! Linux x86-64 system calls made directly: a Windows program under
    //! Wine runs in a Linux process and may, with care, talk to the kernel.

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
}
