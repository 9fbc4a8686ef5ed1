//! Windows file mappings: `CreateFileMappingW` / `MapViewOfFile`.
//!
//! A named mapping is a kernel object: it lives while any process holds a
//! handle or a view, then Windows frees it, crash or not. Another process
//! of the same session opens it by name (`Global\` names reach across
//! sessions). Two kinds:
//! - pagefile-backed ([`WinShMem::create`]), the usual shared memory;
//! - file-backed ([`WinShMem::create_file_backed`], [`WinShMem::from_file`]):
//!   the mapping's pages are a file's pages. Under Wine, a file on a Linux
//!   tmpfs makes the mapping visible to Linux programs that `mmap` the file.
//!
//! When a mapping with the name exists already, `CreateFileMappingW`
//! returns that one and ignores the file and size it was given; this
//! backend reports it as [`ShMemError::AlreadyExists`] instead.

use std::ffi::c_void;
use std::fs::File;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use windows_sys::Win32::Foundation::{ERROR_ALREADY_EXISTS, GetLastError, INVALID_HANDLE_VALUE};
use windows_sys::Win32::System::Memory::{
    CreateFileMappingW, FILE_MAP_READ, FILE_MAP_WRITE, MEMORY_BASIC_INFORMATION,
    MEMORY_MAPPED_VIEW_ADDRESS, MapViewOfFile, OpenFileMappingW, PAGE_READWRITE, UnmapViewOfFile,
    VirtualQuery,
};

use crate::bytes::ShBytes;
use crate::error::{Result, ShMemError, check_size};
use crate::id::ShMemId;
use crate::name::{ShMemName, unique_name};
use crate::{ReadOnlyShMem, ShMem, ShMemProvider};

/// A mapped view, unmapped on drop.
#[derive(Debug)]
struct View {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: a view is plain memory of the process; all access goes through `ShBytes`.
unsafe impl Send for View {}
// SAFETY: shared access is only through `ShBytes`, which is `Sync`.
unsafe impl Sync for View {}

impl View {
    /// Maps `len` bytes of `section` (0: all of it), readable and writable
    /// or, if `read_only`, readable only.
    fn map(section: &OwnedHandle, len: usize, name: &ShMemName, read_only: bool) -> Result<Self> {
        let len = if len == 0 {
            section_size(section).unwrap_or(0)
        } else {
            len
        };
        // SAFETY: plain call on a handle we own; a new view aliases no Rust object.
        let addr = unsafe {
            MapViewOfFile(
                section.as_raw_handle(),
                if read_only {
                    FILE_MAP_READ
                } else {
                    FILE_MAP_READ | FILE_MAP_WRITE
                },
                0,
                0,
                len,
            )
        };
        let ptr = NonNull::new(addr.Value.cast::<u8>())
            .ok_or_else(|| ShMemError::os("MapViewOfFile", name.as_str(), last_error()))?;
        let len = if len == 0 { region_size(ptr) } else { len };
        Ok(View { ptr, len })
    }

    fn bytes(&self) -> &ShBytes {
        // SAFETY: the view is live and `len` bytes long until `self` drops.
        unsafe { ShBytes::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    fn bytes_mut(&mut self) -> &mut ShBytes {
        // SAFETY: as `bytes`; `&mut self` makes it the only view through this mapping.
        unsafe { ShBytes::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for View {
    fn drop(&mut self) {
        let addr = MEMORY_MAPPED_VIEW_ADDRESS {
            Value: self.ptr.as_ptr().cast::<c_void>(),
        };
        // SAFETY: our own view; no borrow of it outlives `self`.
        unsafe { UnmapViewOfFile(addr) };
    }
}

/// `SECTION_BASIC_INFORMATION` of the native API.
#[repr(C)]
struct SectionBasicInformation {
    base_address: *mut c_void,
    allocation_attributes: u32,
    maximum_size: i64,
}

/// Access to query a section's size (`SECTION_QUERY`).
const SECTION_QUERY: u32 = 0x0001;

#[link(name = "ntdll")]
unsafe extern "system" {
    /// Not in windows-sys: the native call that knows a section's exact size.
    fn NtQuerySection(
        section: *mut c_void,
        class: u32,
        info: *mut c_void,
        len: usize,
        returned: *mut usize,
    ) -> i32;
}

/// The exact size of a mapping object (`VirtualQuery` only knows pages).
fn section_size(section: &OwnedHandle) -> Option<usize> {
    let mut info = SectionBasicInformation {
        base_address: std::ptr::null_mut(),
        allocation_attributes: 0,
        maximum_size: 0,
    };
    // SAFETY: class 0 (SectionBasicInformation) writes at most `size_of` bytes
    // into `info`, which we own; the handle is live.
    let status = unsafe {
        NtQuerySection(
            section.as_raw_handle(),
            0,
            (&mut info as *mut SectionBasicInformation).cast(),
            std::mem::size_of::<SectionBasicInformation>(),
            std::ptr::null_mut(),
        )
    };
    (status >= 0 && info.maximum_size > 0).then_some(info.maximum_size as usize)
}

/// Size of the view starting at `ptr`, rounded up to whole pages.
fn region_size(ptr: NonNull<u8>) -> usize {
    // SAFETY: zeroes are a valid MEMORY_BASIC_INFORMATION.
    let mut info: MEMORY_BASIC_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: VirtualQuery writes at most `size_of` bytes into `info`.
    let n = unsafe {
        VirtualQuery(
            ptr.as_ptr().cast_const().cast(),
            &mut info,
            std::mem::size_of::<MEMORY_BASIC_INFORMATION>(),
        )
    };
    if n == 0 { 0 } else { info.RegionSize }
}

fn last_error() -> std::io::Error {
    std::io::Error::last_os_error()
}

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(Some(0)).collect()
}

/// Creates a named mapping: pagefile-backed when `file` is `None`.
fn create_section(file: Option<&File>, name: &ShMemName, size: u64) -> Result<OwnedHandle> {
    let wname = wide(name.as_str());
    let hfile = file.map_or(INVALID_HANDLE_VALUE, |f| f.as_raw_handle());
    // SAFETY: `wname` is NUL-terminated and outlives the call; `hfile` is a live
    // handle or INVALID_HANDLE_VALUE (pagefile-backed).
    let handle = unsafe {
        CreateFileMappingW(
            hfile,
            std::ptr::null(),
            PAGE_READWRITE,
            (size >> 32) as u32,
            size as u32,
            wname.as_ptr(),
        )
    };
    if handle.is_null() {
        return Err(ShMemError::os(
            "CreateFileMappingW",
            name.as_str(),
            last_error(),
        ));
    }
    // SAFETY: GetLastError is read right after the call that set it.
    let existed = unsafe { GetLastError() } == ERROR_ALREADY_EXISTS;
    // SAFETY: a fresh handle that we now own and close on drop.
    let handle = unsafe { OwnedHandle::from_raw_handle(handle) };
    if existed {
        return Err(ShMemError::AlreadyExists {
            segment: name.to_string(),
        });
    }
    Ok(handle)
}

/// A named Windows file mapping and a view of it.
#[derive(Debug)]
pub struct WinShMem {
    // Fields drop in this order: the view and the section must be gone
    // before a created file can be removed.
    map: View,
    _section: OwnedHandle,
    name: ShMemName,
    /// The file we created for a file-backed mapping, removed on drop.
    created_file: RemoveOnDrop,
}

impl WinShMem {
    /// Creates the pagefile-backed mapping `name` of `size` bytes.
    ///
    /// Fails with [`ShMemError::AlreadyExists`] if an object of that name exists.
    pub fn create(name: &str, size: usize) -> Result<Self> {
        let name = ShMemName::new(name)?;
        let size = check_size(size)?;
        let section = create_section(None, &name, size as u64)?;
        Ok(WinShMem {
            map: View::map(&section, size, &name, false)?,
            name,
            created_file: RemoveOnDrop(None),
            _section: section,
        })
    }

    /// Creates the file `path` (which must not exist) of `size` bytes and a
    /// mapping `name` of its pages; both are removed when this value drops
    /// (unless [`keep`](Self::keep) is called).
    pub fn create_file_backed(name: &str, path: &Path, size: usize) -> Result<Self> {
        let name = ShMemName::new(name)?;
        let size = check_size(size)?;
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| ShMemError::os("CreateFileW", path.display().to_string(), e))?;
        let made = file
            .set_len(size as u64)
            .map_err(|e| ShMemError::os("SetEndOfFile", path.display().to_string(), e))
            .and_then(|()| Self::from_file(&name, &file, size));
        match made {
            Ok(mut shmem) => {
                shmem.created_file = RemoveOnDrop(Some(path.to_owned()));
                Ok(shmem)
            }
            Err(e) => {
                drop(file);
                let _ = std::fs::remove_file(path);
                Err(e)
            }
        }
    }

    /// Makes a mapping `name` of the first `size` bytes of `file`, which the
    /// caller opened for reading and writing. A file shorter than `size`
    /// grows to it. The mapping keeps its own reference to the file.
    pub fn from_file(name: &ShMemName, file: &File, size: usize) -> Result<Self> {
        let size = check_size(size)?;
        let section = create_section(Some(file), name, size as u64)?;
        Ok(WinShMem {
            map: View::map(&section, size, name, false)?,
            name: name.clone(),
            created_file: RemoveOnDrop(None),
            _section: section,
        })
    }

    /// Opens the existing mapping `name` and maps all of it.
    pub fn open(name: &str) -> Result<Self> {
        Self::open_name(ShMemName::new(name)?, 0, false)
    }

    /// Opens the existing mapping `name` and maps its first `size` bytes.
    pub fn open_with_size(name: &str, size: usize) -> Result<Self> {
        Self::open_name(ShMemName::new(name)?, check_size(size)?, false)
    }

    /// Opens the existing mapping `name` for reading only (`FILE_MAP_READ`)
    /// and maps all of it: Windows refuses writes to the view.
    pub fn open_read_only(name: &str) -> Result<ReadOnlyShMem<Self>> {
        Self::open_name(ShMemName::new(name)?, 0, true).map(ReadOnlyShMem::new)
    }

    fn open_name(name: ShMemName, size: usize, read_only: bool) -> Result<Self> {
        let wname = wide(name.as_str());
        let access = if read_only {
            FILE_MAP_READ
        } else {
            FILE_MAP_READ | FILE_MAP_WRITE
        };
        // SAFETY: `wname` is NUL-terminated and outlives the call.
        let handle = unsafe { OpenFileMappingW(access | SECTION_QUERY, 0, wname.as_ptr()) };
        if handle.is_null() {
            return Err(ShMemError::os(
                "OpenFileMappingW",
                name.as_str(),
                last_error(),
            ));
        }
        // SAFETY: a fresh handle that we now own and close on drop.
        let section = unsafe { OwnedHandle::from_raw_handle(handle) };
        let map = View::map(&section, size, &name, read_only).map_err(|e| match e {
            // Asking for more than the mapping holds fails with "access denied"
            // or "not enough memory"; say what it means.
            ShMemError::Os { .. } if size > 0 => ShMemError::TooSmall {
                segment: name.to_string(),
                actual: 0,
                requested: size as u64,
            },
            other => other,
        })?;
        Ok(WinShMem {
            map,
            name,
            created_file: RemoveOnDrop(None),
            _section: section,
        })
    }

    /// The mapping's name.
    pub fn name(&self) -> &ShMemName {
        &self.name
    }

    /// Whether this value created a file that it removes on drop.
    pub fn is_owner(&self) -> bool {
        self.created_file.0.is_some()
    }

    /// Leaves a created backing file in place when this value drops. (The
    /// mapping object itself always goes with its last handle: Windows frees it.)
    pub fn keep(&mut self) {
        self.created_file.0 = None;
    }
}

/// Removes a file this crate created once the mapping of it is gone.
#[derive(Debug)]
struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

crate::segment_impls!(WinShMem);

impl ShMem for WinShMem {
    fn id(&self) -> ShMemId {
        ShMemId::Windows(self.name.clone())
    }
}

/// Creates pagefile-backed mappings under fresh unique names, and reopens
/// them (or any named mapping) by id.
#[derive(Clone, Debug, Default)]
pub struct WinShMemProvider;

impl ShMemProvider for WinShMemProvider {
    type ShMem = WinShMem;

    fn new() -> Result<Self> {
        Ok(WinShMemProvider)
    }

    fn new_shmem(&mut self, size: usize) -> Result<WinShMem> {
        loop {
            match WinShMem::create(&unique_name("Local\\shmem"), size) {
                Err(ShMemError::AlreadyExists { .. }) => continue,
                other => return other,
            }
        }
    }

    fn shmem_from_id_and_size(&mut self, id: ShMemId, size: usize) -> Result<WinShMem> {
        match id {
            ShMemId::Windows(name) => Self::ShMem::open_name(name, check_size(size)?, false),
            other => Err(other.wrong_backend("windows")),
        }
    }

    fn shmem_from_id(&mut self, id: ShMemId) -> Result<WinShMem> {
        match id {
            ShMemId::Windows(name) => Self::ShMem::open_name(name, 0, false),
            other => Err(other.wrong_backend("windows")),
        }
    }

    fn open_read_only(&mut self, id: ShMemId, size: usize) -> Result<ReadOnlyShMem<WinShMem>> {
        match id {
            ShMemId::Windows(name) => {
                Self::ShMem::open_name(name, check_size(size)?, true).map(ReadOnlyShMem::new)
            }
            other => Err(other.wrong_backend("windows")),
        }
    }
}
