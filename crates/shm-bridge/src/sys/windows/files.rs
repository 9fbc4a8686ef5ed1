//! What Win32 tells of files: identity, resolved path, free space.

use std::fs::File;
use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::path::Path;
use std::sync::atomic::AtomicU32;

use windows_sys::Win32::Storage::FileSystem::{
    BY_HANDLE_FILE_INFORMATION, GetDiskFreeSpaceExW, GetFileInformationByHandle,
    GetFinalPathNameByHandleW,
};
use windows_sys::Win32::System::Memory::{
    CreateFileMappingW, FILE_MAP_ALL_ACCESS, MEMORY_MAPPED_VIEW_ADDRESS, MapViewOfFile,
    PAGE_READWRITE, UnmapViewOfFile,
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

/// The first page of a file, mapped without a name (so no name in the
/// prefix is taken): under Wine a shared mapping of the Linux file, whose
/// words other processes mapping the file see.
pub struct FileView {
    view: MEMORY_MAPPED_VIEW_ADDRESS,
    _section: OwnedHandle,
}

impl std::fmt::Debug for FileView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FileView({:p})", self.view.Value)
    }
}

// SAFETY: the view is plain memory, reached only through atomics
// (`counter`); the handle is a kernel object, usable from any thread.
unsafe impl Send for FileView {}
// SAFETY: as above.
unsafe impl Sync for FileView {}

/// Bytes mapped: one page, which holds the counter.
const VIEW_LEN: usize = 4096;

impl FileView {
    /// Maps the first page of `file` (at least that long), for reading and writing.
    pub fn map(file: &File) -> io::Result<FileView> {
        // SAFETY: a live file handle; no attributes, no name; a fresh handle or null.
        let section = unsafe {
            CreateFileMappingW(
                file.as_raw_handle(),
                std::ptr::null(),
                PAGE_READWRITE,
                0,
                VIEW_LEN as u32,
                std::ptr::null(),
            )
        };
        check(!section.is_null())?;
        // SAFETY: a fresh handle that nothing else owns.
        let section = unsafe { OwnedHandle::from_raw_handle(section) };
        // SAFETY: a live section of at least VIEW_LEN bytes.
        let view =
            unsafe { MapViewOfFile(section.as_raw_handle(), FILE_MAP_ALL_ACCESS, 0, 0, VIEW_LEN) };
        check(!view.Value.is_null())?;
        Ok(FileView {
            view,
            _section: section,
        })
    }

    /// The `u32` at the start of the page.
    pub fn counter(&self) -> &AtomicU32 {
        // SAFETY: the view is page-aligned, holds 4096 bytes and lives as
        // long as `self`; every access of this process to it is atomic,
        // and other processes' accesses are only a race on values.
        unsafe { &*self.view.Value.cast::<AtomicU32>() }
    }
}

impl Drop for FileView {
    fn drop(&mut self) {
        // SAFETY: our view, unmapped once; nothing borrows it any more.
        unsafe { UnmapViewOfFile(self.view) };
    }
}
