//! [`ShBytes`]: the byte view of memory that other processes may write.
//!
//! A `&[u8]` promises the compiler that nobody changes the bytes while it
//! lives; a `&mut [u8]` promises nobody else even reads them. Shared memory
//! keeps neither promise, so the safe way in is copy-in and copy-out with
//! relaxed atomic accesses ([`copy`]: the compiler may neither cache nor
//! elide them, and a copy racing with another thread is no data race) and
//! atomic views of single words. Slices are still offered, as `unsafe`
//! methods whose contract the caller states.

mod copy;

use std::cell::UnsafeCell;
use std::mem::{align_of, size_of};
use std::ops::{Bound, Index, RangeBounds};
use std::ptr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{
    AtomicI8, AtomicI16, AtomicI32, AtomicI64, AtomicIsize, AtomicU8, AtomicU16, AtomicU32,
    AtomicU64, AtomicUsize,
};

use bytemuck::{NoUninit, Pod};

use crate::error::{Result, ShMemError};

/// Bytes of a shared memory segment, which another process may read or
/// write at any moment.
///
/// Reached through a segment (every [`crate::ShMem`] dereferences to it) or
/// by indexing with a range (`shmem[4..8]`), which gives a smaller
/// `ShBytes`. All safe methods access the memory with relaxed atomic
/// operations (8-byte words where aligned, single bytes at the edges), so
/// they stay defined whatever other threads and processes do at the same
/// time; what they cannot give is consistency across several bytes: a
/// copy may see half of another's update. Protocols on top (a sequence
/// counter, a flag written last with release ordering, see
/// [`atomic`](Self::atomic)) are the caller's.
#[repr(transparent)]
pub struct ShBytes([UnsafeCell<u8>]);

// SAFETY: every safe method reads or writes through atomic accesses (relaxed
// copies of words and bytes, or the atomic views), so threads sharing the view
// race on values only, never in the sense of a data race.
unsafe impl Sync for ShBytes {}

impl std::fmt::Debug for ShBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShBytes")
            .field("ptr", &self.as_ptr())
            .field("len", &self.len())
            .finish()
    }
}

/// Integer atomics that may view a word of shared memory.
///
/// Sealed: only the std integer atomics, whose every bit pattern is a valid
/// value. (`AtomicBool` is left out: another process may store a byte that
/// is neither 0 nor 1.)
pub trait AtomicView: sealed::Sealed + Sync {
    /// The integer it holds.
    type Value: Copy;

    /// An atomic load (what `A::load` does), for callers generic over `A`.
    #[doc(hidden)]
    fn load_value(&self, order: std::sync::atomic::Ordering) -> Self::Value;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! atomic_views {
    ($($t:ty => $v:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl AtomicView for $t {
            type Value = $v;
            fn load_value(&self, order: std::sync::atomic::Ordering) -> $v {
                self.load(order)
            }
        }
    )*};
}
atomic_views!(
    AtomicU8 => u8,
    AtomicI8 => i8,
    AtomicU16 => u16,
    AtomicI16 => i16,
    AtomicU32 => u32,
    AtomicI32 => i32,
    AtomicU64 => u64,
    AtomicI64 => i64,
    AtomicUsize => usize,
    AtomicIsize => isize
);

impl ShBytes {
    /// Views `len` bytes at `ptr` as shared bytes.
    ///
    /// # Safety
    /// `ptr` must be non-null and valid for reads and writes of `len` bytes
    /// for all of `'a` (a mapping that outlives the view), and `len` must not
    /// exceed `isize::MAX`.
    pub unsafe fn from_raw_parts<'a>(ptr: *mut u8, len: usize) -> &'a ShBytes {
        let cells = ptr::slice_from_raw_parts(ptr.cast::<UnsafeCell<u8>>(), len);
        // SAFETY: `ShBytes` is `repr(transparent)` over `[UnsafeCell<u8>]`, which
        // has the layout of `[u8]`; the caller vouches for validity and lifetime.
        unsafe { &*(cells as *const ShBytes) }
    }

    /// Views `len` bytes at `ptr` as shared bytes, exclusively borrowed.
    ///
    /// # Safety
    /// As [`ShBytes::from_raw_parts`], and no other reference to these
    /// addresses may exist during `'a`.
    pub unsafe fn from_raw_parts_mut<'a>(ptr: *mut u8, len: usize) -> &'a mut ShBytes {
        let cells = ptr::slice_from_raw_parts_mut(ptr.cast::<UnsafeCell<u8>>(), len);
        // SAFETY: layout as in `from_raw_parts`; the caller vouches for exclusivity.
        unsafe { &mut *(cells as *mut ShBytes) }
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes (only for empty sub-ranges; segments never are).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Pointer to the first byte, for reading.
    pub fn as_ptr(&self) -> *const u8 {
        self.0.as_ptr().cast()
    }

    /// Pointer to the first byte, for writing. Writes through it race with
    /// other processes exactly as the safe methods document.
    pub fn as_mut_ptr(&self) -> *mut u8 {
        UnsafeCell::raw_get(self.0.as_ptr())
    }

    /// The byte at `index`, read once (a relaxed atomic load). `None` past the end.
    pub fn load(&self, index: usize) -> Option<u8> {
        (index < self.len()).then(|| {
            // SAFETY: in bounds of a live mapping, reached only atomically.
            unsafe { copy::byte_at(self.as_mut_ptr(), index) }.load(Relaxed)
        })
    }

    /// Writes `value` at `index` (a relaxed atomic store). Returns `false` past the end.
    pub fn store(&self, index: usize, value: u8) -> bool {
        if index >= self.len() {
            return false;
        }
        // SAFETY: in bounds of a live mapping, reached only atomically.
        unsafe { copy::byte_at(self.as_mut_ptr(), index) }.store(value, Relaxed);
        true
    }

    /// Copies `src` into these bytes.
    ///
    /// # Panics
    /// If the lengths differ, as `<[u8]>::copy_from_slice` does.
    pub fn copy_from_slice(&self, src: &[u8]) {
        assert_eq!(
            self.len(),
            src.len(),
            "ShBytes::copy_from_slice: destination and source lengths differ"
        );
        // SAFETY: `self` is valid for `src.len()` bytes, reached only atomically.
        unsafe { copy::copy_in(self.as_mut_ptr(), src) }
    }

    /// Copies these bytes into `dst`.
    ///
    /// # Panics
    /// If the lengths differ.
    pub fn copy_to_slice(&self, dst: &mut [u8]) {
        assert_eq!(
            self.len(),
            dst.len(),
            "ShBytes::copy_to_slice: destination and source lengths differ"
        );
        // SAFETY: `self` is valid for `dst.len()` bytes, reached only atomically.
        unsafe { copy::copy_out(self.as_ptr(), dst) }
    }

    /// A private copy of the bytes as they are now.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = vec![0; self.len()];
        self.copy_to_slice(&mut v);
        v
    }

    /// Sets every byte to `value`.
    pub fn fill(&self, value: u8) {
        // SAFETY: `self` is valid for its length, reached only atomically.
        unsafe { copy::fill(self.as_mut_ptr(), self.len(), value) }
    }

    /// The sub-range `range`, or `None` if it is out of bounds or reversed.
    pub fn get(&self, range: impl RangeBounds<usize>) -> Option<&ShBytes> {
        let (start, end) = self.bounds(&range)?;
        // SAFETY: `start..end` lies inside `self`, and the result borrows `self`.
        Some(unsafe { ShBytes::from_raw_parts(self.as_mut_ptr().add(start), end - start) })
    }

    /// The sub-range `range`, exclusively borrowed, or `None` if it is out
    /// of bounds or reversed: for [`atomics`](Self::atomics) on part of a
    /// segment.
    pub fn get_mut(&mut self, range: impl RangeBounds<usize>) -> Option<&mut ShBytes> {
        let (start, end) = self.bounds(&range)?;
        // SAFETY: `start..end` lies inside `self`, which is borrowed exclusively.
        Some(unsafe { ShBytes::from_raw_parts_mut(self.as_mut_ptr().add(start), end - start) })
    }

    /// Splits into `..mid` and `mid..`, both exclusively borrowed.
    ///
    /// # Panics
    /// If `mid` is past the end, as `<[u8]>::split_at_mut` does.
    pub fn split_at_mut(&mut self, mid: usize) -> (&mut ShBytes, &mut ShBytes) {
        let len = self.len();
        assert!(mid <= len, "split at {mid}, past the end of {len} bytes");
        let base = self.as_mut_ptr();
        // SAFETY: the two halves are disjoint parts of `self`, borrowed exclusively.
        unsafe {
            (
                ShBytes::from_raw_parts_mut(base, mid),
                ShBytes::from_raw_parts_mut(base.add(mid), len - mid),
            )
        }
    }

    /// `range` as `start..end`, if it lies inside these bytes.
    fn bounds(&self, range: &impl RangeBounds<usize>) -> Option<(usize, usize)> {
        let start = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s.checked_add(1)?,
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&e) => e.checked_add(1)?,
            Bound::Excluded(&e) => e,
            Bound::Unbounded => self.len(),
        };
        (start <= end && end <= self.len()).then_some((start, end))
    }

    /// Reads a `T` at `offset` by an atomic copy ([`copy_to_slice`](Self::copy_to_slice)); any alignment.
    ///
    /// The value is a snapshot: if another process writes while it is read,
    /// fields may come from before and after that write.
    pub fn read<T: Pod>(&self, offset: usize) -> Result<T> {
        let src = self.typed_range::<T>(offset)?;
        let mut value = T::zeroed();
        src.copy_to_slice(bytemuck::bytes_of_mut(&mut value));
        Ok(value)
    }

    /// Writes `value` at `offset` by an atomic copy ([`copy_from_slice`](Self::copy_from_slice)); any alignment.
    pub fn write<T: NoUninit>(&self, offset: usize, value: &T) -> Result<()> {
        self.typed_range::<T>(offset)?
            .copy_from_slice(bytemuck::bytes_of(value));
        Ok(())
    }

    /// An atomic view of the word at `offset`, for flags, counters and
    /// sequence numbers that processes hand between them.
    ///
    /// Fails if the word does not fit or is misaligned for `A`.
    ///
    /// It is `unsafe` because Rust forbids atomic accesses of different
    /// sizes to the same bytes that race, unless both only read: an
    /// `AtomicU32` at 0 and an `AtomicU8` at 1, or a copy (which reads and
    /// writes 8-byte words and single bytes) over the view's bytes, are
    /// undefined behaviour if they run at the same time and one writes.
    /// [`atomics`](Self::atomics) is the safe way when the bytes can be
    /// borrowed exclusively.
    ///
    /// # Safety
    /// While the view is used, no access of another size to any of its
    /// bytes may happen at the same time in this process, through this
    /// mapping, unless both accesses only read. That covers other atomic
    /// views of another size or offset that overlap it, and the copies of
    /// this type (`copy_from_slice`, `write`, `store`, `fill`) over its bytes;
    /// copies that only read (`copy_to_slice`, `read`, `load`, `to_vec`) may
    /// run beside a view that only loads. Other processes, and other
    /// mappings of the segment, are not concerned: the compiler cannot see
    /// them, and the hardware makes each access whole.
    pub unsafe fn atomic<A: AtomicView>(&self, offset: usize) -> Result<&A> {
        let ptr = self.checked_ptr::<A>(offset)?;
        // SAFETY: in bounds and aligned (checked); `A` is an integer atomic, valid
        // for every bit pattern, made of an `UnsafeCell`, so other writers are allowed;
        // the borrow is tied to `self`, hence to the mapping; the caller vouches that
        // no racing access of another size overlaps it.
        Ok(unsafe { &*ptr.cast::<A>() })
    }

    /// All these bytes as atomics of one size, for counters and flags.
    ///
    /// Safe where [`atomic`](Self::atomic) is not: the exclusive borrow
    /// makes the slice the only way to these bytes while it lives, so no
    /// access of another size can overlap its accesses. Use
    /// [`get_mut`](Self::get_mut) or [`split_at_mut`](Self::split_at_mut)
    /// to take part of a segment.
    ///
    /// Fails if the bytes are misaligned for `A` or their length is not a
    /// multiple of its size.
    pub fn atomics<A: AtomicView>(&mut self) -> Result<&[A]> {
        let len = self.len();
        if !len.is_multiple_of(size_of::<A>()) {
            return Err(ShMemError::OutOfBounds {
                what: std::any::type_name::<A>(),
                offset: len - len % size_of::<A>(),
                needed: size_of::<A>(),
                len,
            });
        }
        let ptr = self.as_mut_ptr();
        if !(ptr as usize).is_multiple_of(align_of::<A>()) {
            return Err(ShMemError::Misaligned {
                what: std::any::type_name::<A>(),
                offset: 0,
                align: align_of::<A>(),
            });
        }
        // SAFETY: aligned and `len / size_of::<A>()` whole values inside `self`;
        // `A` is an integer atomic, valid for every bit pattern; `self` is borrowed
        // exclusively for the slice's life, so nothing else in this process
        // reaches these bytes meanwhile.
        Ok(unsafe { std::slice::from_raw_parts(ptr.cast::<A>(), len / size_of::<A>()) })
    }

    /// Pointer to a `T` at the start of the bytes, if they are large and
    /// aligned enough for one.
    ///
    /// Dereferencing it is `unsafe`: the caller then answers for races with
    /// other processes, and for `T` being valid for what those wrote.
    pub fn as_ptr_of<T>(&self) -> Result<*const T> {
        self.checked_ptr::<T>(0).map(|p| p.cast_const())
    }

    /// Mutable pointer to a `T` at the start of the bytes, if they are large
    /// and aligned enough for one. See [`ShBytes::as_ptr_of`].
    pub fn as_mut_ptr_of<T>(&self) -> Result<*mut T> {
        self.checked_ptr::<T>(0)
    }

    /// The bytes as a plain slice.
    ///
    /// # Safety
    /// While the slice lives, nothing may write these bytes: no other
    /// process, no other mapping of the segment in this process, and no write
    /// through this view. Use it for memory you know is quiescent, such as a
    /// segment whose id has not been given to anyone yet.
    pub unsafe fn as_slice(&self) -> &[u8] {
        // SAFETY: the caller guarantees no writer for the slice's lifetime.
        unsafe { std::slice::from_raw_parts(self.as_ptr(), self.len()) }
    }

    /// The bytes as a plain mutable slice.
    ///
    /// # Safety
    /// While the slice lives, nothing else may read or write these bytes: no
    /// other process and no other mapping of the segment in this process.
    pub unsafe fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: the caller guarantees exclusive access for the slice's lifetime.
        unsafe { std::slice::from_raw_parts_mut(self.as_mut_ptr(), self.len()) }
    }

    fn typed_range<T>(&self, offset: usize) -> Result<&ShBytes> {
        offset
            .checked_add(size_of::<T>())
            .and_then(|end| self.get(offset..end))
            .ok_or(ShMemError::OutOfBounds {
                what: std::any::type_name::<T>(),
                offset,
                needed: size_of::<T>(),
                len: self.len(),
            })
    }

    fn checked_ptr<T>(&self, offset: usize) -> Result<*mut T> {
        let range = self.typed_range::<T>(offset)?;
        let ptr = range.as_mut_ptr();
        if !(ptr as usize).is_multiple_of(align_of::<T>()) {
            return Err(ShMemError::Misaligned {
                what: std::any::type_name::<T>(),
                offset,
                align: align_of::<T>(),
            });
        }
        Ok(ptr.cast())
    }
}

impl<R: RangeBounds<usize>> Index<R> for ShBytes {
    type Output = ShBytes;

    /// # Panics
    /// If the range is out of bounds or reversed, as slice indexing does.
    #[track_caller]
    fn index(&self, range: R) -> &ShBytes {
        match self.bounds(&range) {
            // SAFETY: `start..end` lies inside `self`, and the result borrows `self`.
            Some((start, end)) => unsafe {
                ShBytes::from_raw_parts(self.as_mut_ptr().add(start), end - start)
            },
            None => out_of_bounds(&range, self.len()),
        }
    }
}

/// The panic of a bad index, kept off the indexing path: the message is
/// only formatted when there is one to show.
#[cold]
#[track_caller]
fn out_of_bounds(range: &impl RangeBounds<usize>, len: usize) -> ! {
    panic!(
        "range ({:?}, {:?}) out of bounds for shared memory of {len} bytes",
        range.start_bound(),
        range.end_bound()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_bytes(len: usize, f: impl FnOnce(&ShBytes)) {
        let mut backing = vec![0u64; len.div_ceil(8) + 1];
        // SAFETY: `backing` outlives the view and holds at least `len + 8` bytes.
        let view = unsafe { ShBytes::from_raw_parts(backing.as_mut_ptr().cast(), len) };
        f(view);
    }

    #[test]
    fn copies_round_trip_at_every_alignment() {
        with_bytes(64, |b| {
            for start in 0..9 {
                for len in 0..(64 - start) {
                    let data: Vec<u8> = (0..len).map(|i| (i * 7 + start) as u8).collect();
                    b[start..start + len].copy_from_slice(&data);
                    assert_eq!(
                        b[start..start + len].to_vec(),
                        data,
                        "start {start} len {len}"
                    );
                }
            }
        });
    }

    #[test]
    fn typed_access_checks_bounds_and_alignment() {
        with_bytes(16, |b| {
            b.write(3, &0x1122_3344u32).unwrap();
            assert_eq!(b.read::<u32>(3).unwrap(), 0x1122_3344);
            assert!(matches!(
                b.read::<u64>(9),
                Err(ShMemError::OutOfBounds { .. })
            ));
            assert!(matches!(
                // SAFETY: the view is refused, never used.
                unsafe { b.atomic::<AtomicU32>(2) },
                Err(ShMemError::Misaligned { .. })
            ));
            assert!(matches!(
                b.as_ptr_of::<[u8; 17]>(),
                Err(ShMemError::OutOfBounds { .. })
            ));
            // SAFETY: no other access to bytes 8..16 while the view is used.
            let counter = unsafe { b.atomic::<AtomicU64>(8) }.unwrap();
            counter.fetch_add(5, std::sync::atomic::Ordering::SeqCst);
            assert_eq!(b.read::<u64>(8).unwrap(), 5);
        });
    }

    #[test]
    fn get_refuses_bad_ranges() {
        with_bytes(8, |b| {
            assert!(b.get(2..9).is_none());
            #[allow(clippy::reversed_empty_ranges)]
            let reversed = b.get(5..2);
            assert!(reversed.is_none());
            assert_eq!(b.get(..=7).map(ShBytes::len), Some(8));
            assert_eq!(b.load(8), None);
            assert!(!b.store(8, 1));
            b.fill(0xAB);
            assert_eq!(b.to_vec(), vec![0xAB; 8]);
        });
    }
}
