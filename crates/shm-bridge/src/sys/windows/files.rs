//! What Win32 tells of files: identity, resolved path, free space.

use std::fs::File;
use std::io;
use std::os::windows::io::AsRawHandle;
use std::path::Path;

use windows_sys::Win32::Storage::FileSystem::{
    BY_HANDLE_FILE_INFORMATION, GetDiskFreeSpaceExW, GetFileInformationByHandle,
    GetFinalPathNameByHandleW,
};
use windows_sys::Win32::System::ProcessStatus::K32GetMappedFileNameW;
use windows_sys::Win32::System::Threading::GetCurrentProcess;

use super::{check, wide_text};
use crate::core::utf16::to_wide_nul;

/// The file's index, which Wine takes from the Linux inode.
pub fn file_index(file: &File) -> io::Result<u64> {
    // SAFETY: zeroes are a valid BY_HANDLE_FILE_INFORMATION (plain numbers).
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: a live handle and one out-struct we own.
    check(unsafe { GetFileInformationByHandle(file.as_raw_handle(), &mut info) } != 0)?;
    Ok((u64::from(info.nFileIndexHigh) << 32) | u64::from(info.nFileIndexLow))
}

/// The path the open `file` really has, links resolved (`\\?\Z:\dev\shm\x`).
pub fn final_path(file: &File) -> io::Result<String> {
    wide_text(|buf| {
        // SAFETY: a live handle; the buffer holds `buf.len()` wide chars.
        unsafe {
            GetFinalPathNameByHandleW(file.as_raw_handle(), buf.as_mut_ptr(), buf.len() as u32, 0)
        }
    })
}

/// The file whose pages are mapped at `addr` in this process
/// (`\??\Z:\dev\shm\NAME` under Wine), or `None` for memory no file backs.
pub fn mapped_file_name(addr: *const u8) -> Option<String> {
    wide_text(|buf| {
        // SAFETY: the call only asks the kernel what is mapped at `addr` (any
        // address is allowed); the buffer holds `buf.len()` wide chars.
        unsafe {
            K32GetMappedFileNameW(
                GetCurrentProcess(),
                addr.cast(),
                buf.as_mut_ptr(),
                buf.len() as u32,
            )
        }
    })
    .ok()
}

/// Bytes free for this user in the file system of the directory `dir`.
pub fn disk_free(dir: &Path) -> io::Result<u64> {
    let wide = to_wide_nul(&dir.to_string_lossy());
    let mut free = 0u64;
    // SAFETY: a NUL-terminated path; one out-pointer to a u64 we own, the others null.
    let ok = unsafe {
        GetDiskFreeSpaceExW(
            wide.as_ptr(),
            &mut free,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    check(ok != 0)?;
    Ok(free)
}
