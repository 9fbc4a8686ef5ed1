//! What a game does, for the game stand-in: create a named mapping backed
//! by the page file, map a view of it, and crash.

use std::io;

use shmem::ShBytes;
use windows_sys::Win32::Foundation::{
    ERROR_ALREADY_EXISTS, EXCEPTION_ACCESS_VIOLATION, GetLastError, INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::System::Diagnostics::Debug::RaiseException;
use windows_sys::Win32::System::Memory::{
    CreateFileMappingW, FILE_MAP_ALL_ACCESS, MapViewOfFile, PAGE_READWRITE,
};

use crate::core::utf16::to_wide_nul;

/// Creates (or, if it exists, opens) the mapping `name` as games do,
/// `CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, SIZE,
/// NAME)`, and maps a view of `size` bytes that lasts until the process
/// exits. Also says whether the mapping existed already (bridged).
pub fn game_mapping(name: &str, size: usize) -> io::Result<(&'static mut ShBytes, bool)> {
    let size32 = u32::try_from(size)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a game's page is under 4 GiB"))?;
    let wide = to_wide_nul(name);
    // SAFETY: what every game does; the name is NUL-terminated.
    let handle = unsafe {
        CreateFileMappingW(
            INVALID_HANDLE_VALUE,
            std::ptr::null(),
            PAGE_READWRITE,
            0,
            size32,
            wide.as_ptr(),
        )
    };
    // SAFETY: read right after the call, on the same thread.
    let existed = unsafe { GetLastError() } == ERROR_ALREADY_EXISTS;
    super::check(!handle.is_null())?;
    // SAFETY: a live mapping handle; a view of the size asked for.
    let view = unsafe { MapViewOfFile(handle, FILE_MAP_ALL_ACCESS, 0, 0, size) };
    super::check(!view.Value.is_null())?;
    // SAFETY: the view holds `size` bytes and is never unmapped (the handle
    // is never closed either), so it lives until the process exits; it is
    // new, so this is the only reference to it in this process. Other
    // processes write it too: ShBytes reaches it only through atomic accesses.
    let bytes = unsafe { ShBytes::from_raw_parts_mut(view.Value.cast::<u8>(), size) };
    Ok((bytes, existed))
}

/// Ends the process as a crashing game does: an unhandled access violation
/// (exit code 0xC0000005).
pub fn crash_with_access_violation() -> ! {
    // SAFETY: raises a noncontinuable exception with no arguments; no
    // handler is installed, so Windows ends the process.
    unsafe { RaiseException(EXCEPTION_ACCESS_VIOLATION as u32, 1, 0, std::ptr::null()) };
    unreachable!("an unhandled noncontinuable exception ends the process")
}
