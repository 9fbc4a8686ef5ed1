//! What only Wine offers a Windows program: its version, Unix path
//! conversion, and (on Linux) the Linux process underneath: its pid, file
//! modes Wine cannot set, and the Unix signals it does not turn into
//! console events by itself.

use std::ffi::{CStr, CString, c_char, c_void};
use std::io;
use std::path::{Path, PathBuf};

use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
use windows_sys::Win32::System::Memory::{GetProcessHeap, HeapFree};

use crate::core::utf16::to_wide_nul;

/// A function exported by a loaded system DLL, if it exists.
fn export(module: &str, name: &CStr) -> Option<unsafe extern "system" fn() -> isize> {
    let wide = to_wide_nul(module);
    // SAFETY: NUL-terminated name; ntdll and kernel32 are loaded in every process.
    let handle = unsafe { GetModuleHandleW(wide.as_ptr()) };
    if handle.is_null() {
        return None;
    }
    // SAFETY: NUL-terminated export name on a live module handle.
    unsafe { GetProcAddress(handle, name.as_ptr().cast()) }
}

fn not_wine(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("this is not Wine (kernel32 has no {what})"),
    )
}

/// Wine's version, or `None` on real Windows.
pub fn version() -> Option<String> {
    let f = export("ntdll.dll", c"wine_get_version")?;
    // SAFETY: `const char *wine_get_version(void)`.
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

/// Whether this process runs under Wine on Linux, where the Linux system
/// calls below may be made.
fn on_linux() -> bool {
    host_system().as_deref() == Some("Linux")
}

/// The Windows path for a Unix path: on a drive if one maps it (`Z:\dev\shm`),
/// else `\\?\unix\dev\shm`, which works in prefixes without a `Z:` drive.
pub fn dos_path(unix: &str) -> io::Result<PathBuf> {
    let f = export("kernel32.dll", c"wine_get_dos_file_name")
        .ok_or_else(|| not_wine("wine_get_dos_file_name"))?;
    // SAFETY: `WCHAR *wine_get_dos_file_name(const char *)`, result on the process heap.
    let f: unsafe extern "system" fn(*const c_char) -> *mut u16 = unsafe { std::mem::transmute(f) };
    let c = CString::new(unix).map_err(|_| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("{unix:?} holds a NUL"))
    })?;
    // SAFETY: NUL-terminated input; the result is ours to free.
    let wide = unsafe { f(c.as_ptr()) };
    if wide.is_null() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("Wine cannot express the Unix path {unix} as a Windows path"),
        ));
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
pub fn unix_path(dos: &Path) -> io::Result<String> {
    let f = export("kernel32.dll", c"wine_get_unix_file_name")
        .ok_or_else(|| not_wine("wine_get_unix_file_name"))?;
    // SAFETY: `char *wine_get_unix_file_name(const WCHAR *)`, result on the process heap.
    let f: unsafe extern "system" fn(*const u16) -> *mut c_char = unsafe { std::mem::transmute(f) };
    let wide = to_wide_nul(&dos.to_string_lossy());
    // SAFETY: NUL-terminated input; the result is ours to free.
    let raw = unsafe { f(wide.as_ptr()) };
    if raw.is_null() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("Wine cannot map {} to a Unix path", dos.display()),
        ));
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
    #[cfg(target_arch = "x86_64")]
    if on_linux() {
        super::linux::forward_to_sigint(&[super::linux::SIGTERM, super::linux::SIGHUP]);
    }
}

/// Sets the permission bits of the Linux file `unix_path` (not following
/// a symbolic link). Wine cannot: the wineserver creates files with its
/// own umask, and Win32 security descriptors map onto modes only roughly.
/// Works under Wine on x86-64 Linux; elsewhere it reports that it cannot.
pub fn chmod(unix_path: &str, mode: u32) -> io::Result<()> {
    let unsupported = |what| io::Error::new(io::ErrorKind::Unsupported, what);
    if !on_linux() {
        return Err(unsupported("setting file modes needs Wine on Linux"));
    }
    #[cfg(target_arch = "x86_64")]
    return super::linux::chmod_nofollow(unix_path, mode).map_err(|errno| {
        let e = io::Error::from_raw_os_error(errno);
        io::Error::new(e.kind(), format!("chmod {unix_path}: {e}"))
    });
    #[cfg(not(target_arch = "x86_64"))]
    Err(unsupported("setting file modes needs Wine on x86-64"))
}

/// This process's Linux pid (under Wine on Linux, the pid `kill` takes).
pub fn linux_pid() -> Option<u32> {
    if !on_linux() {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    return Some(super::linux::getpid());
    #[cfg(not(target_arch = "x86_64"))]
    None
}
