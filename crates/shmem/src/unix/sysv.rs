//! System V segments (`shmget`): the id convention of AFL-style tools.
//!
//! The id is the plain `shmid` number, what AFL passes in `__AFL_SHM_ID`.
//! On Linux the creator marks the segment for removal right after attaching
//! it: Linux still lets other processes attach a marked segment by id, and
//! frees it when the last one detaches, so no segment outlives a crash.
//! Elsewhere the creator removes it on drop, and a crash leaks it.

use std::ptr::NonNull;

use crate::error::{Result, ShMemError, check_size};
use crate::id::ShMemId;
use crate::options::{HugePages, MapOptions};
use crate::readonly::ReadOnlyShMem;
use crate::unix::{Mapping, Release, check_fits, fork};
use crate::{ShMem, ShMemProvider};

/// Creates and reopens [`SysvShMem`] segments.
#[derive(Clone, Debug, Default)]
pub struct SysvShMemProvider {
    options: MapOptions,
}

impl SysvShMemProvider {
    /// A provider that creates and attaches segments as `options` ask:
    /// prefaulted, or backed by huge pages (see [`MapOptions`]).
    pub fn with_options(options: MapOptions) -> Self {
        SysvShMemProvider { options }
    }

    /// The options segments are made with.
    pub fn options(&self) -> MapOptions {
        self.options
    }
}

/// An attached System V segment.
#[derive(Debug)]
pub struct SysvShMem {
    map: Mapping,
    shmid: i32,
    /// Whether this value created the segment.
    owner: bool,
    /// Forks counted when it was created: a forked child, which counts
    /// another, never removes its parent's segment.
    generation: u64,
}

/// Whether marked segments can still be attached, so creation can mark at once.
const MARK_AT_CREATION: bool = cfg!(target_os = "linux");

impl SysvShMem {
    /// Creates a private segment of `size` bytes, for this user only.
    pub fn create(size: usize) -> Result<Self> {
        Self::create_with(size, &MapOptions::new())
    }

    /// Creates a private segment of `size` bytes, for this user only,
    /// attached as `options` ask.
    pub fn create_with(size: usize, options: &MapOptions) -> Result<Self> {
        let size = check_size(size)?;
        let hugetlb = options.huge_pages() == HugePages::Hugetlb;
        let huge_flag = if hugetlb { shm_hugetlb()? } else { 0 };
        let flags = libc::IPC_CREAT | libc::IPC_EXCL | 0o600 | huge_flag;
        // SAFETY: plain system call, no memory passed.
        let shmid = unsafe { libc::shmget(libc::IPC_PRIVATE, size, flags) };
        if shmid < 0 {
            let error = last_error();
            let segment = format!("sysv ({size} bytes)");
            // The huge pages are reserved here: ENOMEM is an empty pool.
            if hugetlb && error.raw_os_error() == Some(libc::ENOMEM) {
                return Err(ShMemError::NoHugePages {
                    segment,
                    size: size as u64,
                });
            }
            return Err(ShMemError::os("shmget", segment, error));
        }
        // SAFETY: the segment was just made `size` bytes long.
        let attached = unsafe { attach(shmid, size, options) };
        if MARK_AT_CREATION || attached.is_err() {
            remove(shmid);
        }
        Ok(SysvShMem {
            map: attached?,
            shmid,
            owner: true,
            generation: fork::generation(),
        })
    }

    /// Attaches the segment `shmid`, checking it holds at least `size` bytes.
    pub fn open(shmid: i32, size: usize) -> Result<Self> {
        Self::open_with(shmid, size, &MapOptions::new())
    }

    /// Attaches the segment `shmid`, checking it holds at least `size`
    /// bytes, as `options` ask (a segment's page size is the creator's
    /// choice: [`HugePages::Hugetlb`] has no effect here).
    pub fn open_with(shmid: i32, size: usize, options: &MapOptions) -> Result<Self> {
        let size = check_size(size)?;
        // Attached first, asked after: while attached, the id cannot be
        // removed and given to another segment, so the size read is that of
        // the segment we hold.
        let (ptr, actual) = attach_whole(shmid, options.is_read_only())?;
        if let Err(e) = check_fits(actual as u64, size, &shmid) {
            // SAFETY: our own attachment, not yet handed to anything.
            unsafe { libc::shmdt(ptr.as_ptr().cast()) };
            return Err(e);
        }
        // SAFETY: a fresh attachment of `actual >= size` bytes, released only
        // by this `Mapping`.
        let map = unsafe { Mapping::from_raw(ptr, size, Release::Shmdt) };
        map.apply(options, &shmid)?;
        Ok(SysvShMem {
            map,
            shmid,
            owner: false,
            generation: 0,
        })
    }

    /// Attaches all of the segment `shmid`, whatever its size: for ids
    /// passed without one, as AFL passes `__AFL_SHM_ID`.
    pub fn open_whole(shmid: i32) -> Result<Self> {
        let (ptr, actual) = attach_whole(shmid, false)?;
        // SAFETY: a fresh attachment of `actual` bytes, released only by this
        // `Mapping` (a SysV segment is never empty).
        let map = unsafe { Mapping::from_raw(ptr, actual, Release::Shmdt) };
        Ok(SysvShMem {
            map,
            shmid,
            owner: false,
            generation: 0,
        })
    }

    /// Attaches the segment `shmid` read-only (`SHM_RDONLY`), checking it
    /// holds at least `size` bytes: the OS refuses writes to it.
    pub fn open_read_only(shmid: i32, size: usize) -> Result<ReadOnlyShMem<Self>> {
        Self::open_with(shmid, size, &MapOptions::new().read_only()).map(ReadOnlyShMem::new)
    }

    /// Attaches the segment of the IPC key `key` (`shmget(key, 0, 0)`),
    /// checking it holds at least `size` bytes: for programs that agree on
    /// a key rather than pass an id.
    pub fn open_key(key: i32, size: usize) -> Result<Self> {
        // SAFETY: plain system call, no memory passed.
        let shmid = unsafe { libc::shmget(key as libc::key_t, 0, 0) };
        if shmid < 0 {
            return Err(ShMemError::os(
                "shmget",
                format!("sysv key {key:#x}"),
                last_error(),
            ));
        }
        Self::open(shmid, size)
    }

    /// Attaches the segment `shmid` without asking the kernel its size, as
    /// AFL and LibAFL do: one system call fewer than [`open`](Self::open),
    /// for callers told the size by someone they trust.
    ///
    /// # Safety
    /// The segment must hold at least `size` bytes. Nothing checks it: a
    /// shorter segment is attached all the same, and the bytes handed out
    /// past its end are unmapped (a read faults) or belong to whatever this
    /// process mapped next (a write corrupts it).
    pub unsafe fn open_unchecked(shmid: i32, size: usize) -> Result<Self> {
        // SAFETY: passed on to our caller.
        unsafe { Self::open_unchecked_with(shmid, size, &MapOptions::new()) }
    }

    /// [`open_unchecked`](Self::open_unchecked), attached as `options` ask.
    ///
    /// # Safety
    /// As for [`open_unchecked`](Self::open_unchecked): the segment must
    /// hold at least `size` bytes.
    pub unsafe fn open_unchecked_with(
        shmid: i32,
        size: usize,
        options: &MapOptions,
    ) -> Result<Self> {
        let size = check_size(size)?;
        // SAFETY: the caller promises the segment holds `size` bytes.
        let map = unsafe { attach(shmid, size, options)? };
        Ok(SysvShMem {
            map,
            shmid,
            owner: false,
            generation: 0,
        })
    }

    /// Whether this value created the segment, as LibAFL's `is_owner`
    /// (never in a forked child, whose copy is its parent's). Where the
    /// creator does not mark the segment for removal at once (all but
    /// Linux), the owner removes it on drop.
    pub fn is_owner(&self) -> bool {
        self.owner && self.generation == fork::generation()
    }
}

/// Attaches all of `shmid`; returns the address and the segment's size,
/// asked of the kernel once attached.
fn attach_whole(shmid: i32, read_only: bool) -> Result<(NonNull<u8>, usize)> {
    let flags = if read_only { libc::SHM_RDONLY } else { 0 };
    // SAFETY: attaching at an address the kernel picks aliases no Rust object.
    let ptr = unsafe { libc::shmat(shmid, std::ptr::null(), flags) };
    if ptr as isize == -1 {
        return Err(ShMemError::os("shmat", shmid.to_string(), last_error()));
    }
    let ptr = NonNull::new(ptr.cast::<u8>()).expect("shmat returns -1, not null, on failure");
    // SAFETY: `shmid_ds` is plain old data; zeroes are a valid value.
    let mut ds: libc::shmid_ds = unsafe { std::mem::zeroed() };
    // SAFETY: IPC_STAT writes one `shmid_ds` into `ds`, which we own.
    if unsafe { libc::shmctl(shmid, libc::IPC_STAT, &mut ds) } < 0 {
        let error = last_error();
        // SAFETY: our own attachment, not handed to anything.
        unsafe { libc::shmdt(ptr.as_ptr().cast()) };
        return Err(ShMemError::os("shmctl(IPC_STAT)", shmid.to_string(), error));
    }
    Ok((ptr, ds.shm_segsz as usize))
}

/// `SHM_HUGETLB`, where the system has it.
fn shm_hugetlb() -> Result<libc::c_int> {
    #[cfg(target_os = "linux")]
    return Ok(libc::SHM_HUGETLB);
    #[cfg(not(target_os = "linux"))]
    Err(ShMemError::Unsupported {
        what: "HugeTLB pages",
        backend: "this system's SysV",
    })
}

/// # Safety
/// The segment must hold at least `size` bytes.
unsafe fn attach(shmid: i32, size: usize, options: &MapOptions) -> Result<Mapping> {
    // SAFETY: attaching at an address the kernel picks aliases no Rust object.
    let ptr = unsafe { libc::shmat(shmid, std::ptr::null(), 0) };
    if ptr as isize == -1 {
        return Err(ShMemError::os("shmat", shmid.to_string(), last_error()));
    }
    let ptr = NonNull::new(ptr.cast()).expect("shmat returns -1, not null, on failure");
    // SAFETY: a fresh attachment of at least `size` bytes (our caller's promise),
    // released by `shmdt` only through this `Mapping`.
    let map = unsafe { Mapping::from_raw(ptr, size, Release::Shmdt) };
    map.apply(options, &shmid)?;
    Ok(map)
}

fn remove(shmid: i32) {
    // SAFETY: IPC_RMID takes no buffer.
    unsafe { libc::shmctl(shmid, libc::IPC_RMID, std::ptr::null_mut()) };
}

fn last_error() -> std::io::Error {
    std::io::Error::last_os_error()
}

impl Drop for SysvShMem {
    fn drop(&mut self) {
        if !MARK_AT_CREATION && self.is_owner() {
            remove(self.shmid);
        }
    }
}

crate::segment_impls!(SysvShMem);

impl ShMem for SysvShMem {
    fn id(&self) -> ShMemId {
        ShMemId::SysV(self.shmid)
    }
}

impl ShMemProvider for SysvShMemProvider {
    type ShMem = SysvShMem;

    fn new() -> Result<Self> {
        Ok(SysvShMemProvider::default())
    }

    fn new_shmem(&mut self, size: usize) -> Result<SysvShMem> {
        SysvShMem::create_with(size, &self.options)
    }

    fn shmem_from_id_and_size(&mut self, id: ShMemId, size: usize) -> Result<SysvShMem> {
        let shmid = unambiguous_shmid(&id)?;
        SysvShMem::open_with(shmid, size, &self.options)
    }

    fn open_read_only(&mut self, id: ShMemId, size: usize) -> Result<ReadOnlyShMem<SysvShMem>> {
        let shmid = unambiguous_shmid(&id)?;
        SysvShMem::open_with(shmid, size, &self.options.read_only()).map(ReadOnlyShMem::new)
    }

    /// Attaches all of the segment, as AFL's targets do with `__AFL_SHM_ID`.
    fn shmem_from_id(&mut self, id: ShMemId) -> Result<SysvShMem> {
        let map = SysvShMem::open_whole(unambiguous_shmid(&id)?)?;
        map.map.apply(&self.options, &map.shmid)?;
        Ok(map)
    }
}

/// The SysV id `id` names, unless the number could as well be a
/// descriptor of this process that holds shared memory: LibAFL's memfd
/// provider names its segments by descriptor (`3`), and attaching an
/// unrelated SysV segment numbered 3 instead would be a guess.
fn unambiguous_shmid(id: &ShMemId) -> Result<i32> {
    let ShMemId::SysV(shmid) = *id else {
        return Err(id.wrong_backend("sysv"));
    };
    #[cfg(target_os = "linux")]
    if let Some(what) = shared_memory_descriptor(shmid) {
        return Err(ShMemError::InvalidId {
            id: id.to_string(),
            reason: format!(
                "ambiguous: {shmid} is a SysV id, but also descriptor {shmid} of this process, \
                 {what} (as LibAFL's memfd provider names segments); pass the segment by an \
                 id that says which, or attach SysV {shmid} with SysvShMem::open"
            ),
        });
    }
    Ok(shmid)
}

/// What descriptor `n` of this process is, if it is shared memory (a
/// memfd or a file in `/dev/shm`). Numbers past the descriptor limit cost
/// no system call: SysV ids are mostly large, descriptors small.
#[cfg(target_os = "linux")]
fn shared_memory_descriptor(n: i32) -> Option<String> {
    use std::sync::OnceLock;
    static LIMIT: OnceLock<u64> = OnceLock::new();
    let limit = *LIMIT.get_or_init(|| {
        rustix::process::getrlimit(rustix::process::Resource::Nofile)
            .current
            .unwrap_or(u64::MAX)
    });
    if n < 0 || n as u64 >= limit {
        return None;
    }
    let target = std::fs::read_link(format!("/proc/self/fd/{n}")).ok()?;
    let text = target.to_string_lossy();
    (text.starts_with("/memfd:") || text.starts_with("/dev/shm/"))
        .then(|| format!("open on {text}"))
}
