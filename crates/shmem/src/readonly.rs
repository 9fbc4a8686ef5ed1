//! Segments mapped read-only: [`ReadOnlyShMem`] and its bytes,
//! [`ReadBytes`], which offer reads only. The OS refuses writes as well
//! (`PROT_READ`, `O_RDONLY`, `SHM_RDONLY`, `FILE_MAP_READ`): a reader that
//! needs only to read cannot change what it maps, by mistake or by a bug
//! in code it calls.

use std::ops::{Deref, Index, RangeBounds};

use std::sync::atomic::Ordering;

use bytemuck::Pod;

use crate::error::Result;
use crate::id::ShMemId;
use crate::{AtomicView, ShBytes, ShMem, ShMemDescription};

/// The bytes of a read-only mapping: the reading half of [`ShBytes`].
#[repr(transparent)]
pub struct ReadBytes(ShBytes);

impl ReadBytes {
    fn new(bytes: &ShBytes) -> &ReadBytes {
        // SAFETY: `ReadBytes` is `repr(transparent)` over `ShBytes`.
        unsafe { &*(std::ptr::from_ref(bytes) as *const ReadBytes) }
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes (only for empty sub-ranges).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Pointer to the first byte. The pages are not writable: a write
    /// through it faults.
    pub fn as_ptr(&self) -> *const u8 {
        self.0.as_ptr()
    }

    /// The byte at `index`, read once. `None` past the end.
    pub fn load(&self, index: usize) -> Option<u8> {
        self.0.load(index)
    }

    /// Copies these bytes into `dst`.
    ///
    /// # Panics
    /// If the lengths differ.
    pub fn copy_to_slice(&self, dst: &mut [u8]) {
        self.0.copy_to_slice(dst);
    }

    /// A private copy of the bytes as they are now.
    pub fn to_vec(&self) -> Vec<u8> {
        self.0.to_vec()
    }

    /// Reads a `T` at `offset`, as [`ShBytes::read`].
    pub fn read<T: Pod>(&self, offset: usize) -> Result<T> {
        self.0.read(offset)
    }

    /// The integer at `offset`, read by one atomic load of its size with
    /// `order`: for the counters and flags writers publish (a sequence
    /// number read with `Acquire` before and after a copy).
    ///
    /// Safe here, unlike [`ShBytes::atomic`]: through a read-only mapping
    /// this process only reads, and reads of different sizes may overlap.
    /// Fails if the word does not fit or is misaligned for `A`.
    pub fn load_atomic<A: AtomicView>(&self, offset: usize, order: Ordering) -> Result<A::Value> {
        // SAFETY: every access to these bytes through this mapping is a read
        // (the mapping is read-only and `ReadBytes` has no way to write), so
        // no access of another size that writes can overlap this view.
        let view = unsafe { self.0.atomic::<A>(offset) }?;
        Ok(view.load_value(order))
    }

    /// The sub-range `range`, or `None` if it is out of bounds or reversed.
    pub fn get(&self, range: impl RangeBounds<usize>) -> Option<&ReadBytes> {
        self.0.get(range).map(ReadBytes::new)
    }
}

impl std::fmt::Debug for ReadBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadBytes")
            .field("ptr", &self.as_ptr())
            .field("len", &self.len())
            .finish()
    }
}

impl<R: RangeBounds<usize>> Index<R> for ReadBytes {
    type Output = ReadBytes;

    /// # Panics
    /// If the range is out of bounds or reversed, as slice indexing does.
    #[track_caller]
    fn index(&self, range: R) -> &ReadBytes {
        ReadBytes::new(&self.0[range])
    }
}

/// A segment mapped read-only: it dereferences to [`ReadBytes`], which
/// has no way to write, and its pages refuse writes at the OS level.
///
/// Made by [`ShMemProvider::open_read_only`](crate::ShMemProvider::open_read_only)
/// and the backends' `open_read_only` functions.
#[derive(Debug)]
pub struct ReadOnlyShMem<S> {
    /// Mapped read-only; never handed out, as its type would allow writes.
    inner: S,
}

impl<S: ShMem> ReadOnlyShMem<S> {
    /// Wraps a segment that was mapped read-only.
    #[cfg_attr(no_backend, allow(dead_code))]
    pub(crate) fn new(inner: S) -> Self {
        ReadOnlyShMem { inner }
    }

    /// What another process needs to reopen the segment.
    pub fn id(&self) -> ShMemId {
        self.inner.id()
    }

    /// The id and the mapped length together.
    pub fn description(&self) -> ShMemDescription {
        self.inner.description()
    }

    /// The inner segment, for wrappers of this crate that rewrap it.
    #[cfg_attr(not(unix), allow(dead_code))]
    pub(crate) fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: ShMem> Deref for ReadOnlyShMem<S> {
    type Target = ReadBytes;
    fn deref(&self) -> &ReadBytes {
        ReadBytes::new(&self.inner)
    }
}
