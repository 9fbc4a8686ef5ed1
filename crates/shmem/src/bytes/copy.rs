//! Copies between shared and private memory as relaxed atomic accesses:
//! 8-byte words where the shared side is aligned, single bytes at the
//! edges. This is the technique of byte-wise atomic `memcpy` (C++ P1478,
//! the `atomic-memcpy` crate): every byte is read or written exactly once
//! by an atomic access, so a copy that races with another thread or
//! process is a race on values (the copy may mix old and new bytes), never
//! a data race. On x86-64 and AArch64 a relaxed load or store of a word is
//! a plain `mov`/`ldr`, so the cost is that of a word-by-word copy.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering::Relaxed};

const WORD: usize = size_of::<u64>();

/// How a copy of `len` bytes at `shared` splits: bytes before the first
/// aligned word, whole words, bytes after the last.
fn split(shared: *const u8, len: usize) -> (usize, usize) {
    let head = shared.align_offset(WORD).min(len);
    let words = (len - head) / WORD;
    (head, words)
}

/// Copies `src` into shared memory at `dst`.
///
/// # Safety
/// `dst` must be valid for writes of `src.len()` bytes, and every access
/// to those bytes that can happen at the same time must be atomic.
pub(super) unsafe fn copy_in(dst: *mut u8, src: &[u8]) {
    let len = src.len();
    let (head, words) = split(dst, len);
    for (i, &byte) in src[..head].iter().enumerate() {
        // SAFETY: `i < len`: inside `dst`, which the caller vouches for.
        unsafe { byte_at(dst, i) }.store(byte, Relaxed);
    }
    let body = dst.wrapping_add(head).cast::<AtomicU64>();
    for (k, chunk) in src[head..head + words * WORD]
        .chunks_exact(WORD)
        .enumerate()
    {
        let word = u64::from_ne_bytes(chunk.try_into().expect("chunks of one word"));
        // SAFETY: word `k` of the aligned body lies inside `dst`.
        unsafe { &*body.add(k) }.store(word, Relaxed);
    }
    let tail = head + words * WORD;
    for (i, &byte) in src.iter().enumerate().skip(tail) {
        // SAFETY: `i < len`.
        unsafe { byte_at(dst, i) }.store(byte, Relaxed);
    }
}

/// Copies shared memory at `src` into `dst`.
///
/// # Safety
/// `src` must be valid for reads of `dst.len()` bytes, and every access
/// to those bytes that can happen at the same time must be atomic.
pub(super) unsafe fn copy_out(src: *const u8, dst: &mut [u8]) {
    let len = dst.len();
    let (head, words) = split(src, len);
    for (i, byte) in dst[..head].iter_mut().enumerate() {
        // SAFETY: `i < len`: inside `src`, which the caller vouches for.
        *byte = unsafe { byte_at(src.cast_mut(), i) }.load(Relaxed);
    }
    let body = src.wrapping_add(head).cast::<AtomicU64>();
    for (k, chunk) in dst[head..head + words * WORD]
        .chunks_exact_mut(WORD)
        .enumerate()
    {
        // SAFETY: word `k` of the aligned body lies inside `src`.
        let word = unsafe { &*body.add(k) }.load(Relaxed);
        chunk.copy_from_slice(&word.to_ne_bytes());
    }
    let tail = head + words * WORD;
    for (i, byte) in dst.iter_mut().enumerate().skip(tail) {
        // SAFETY: `i < len`.
        *byte = unsafe { byte_at(src.cast_mut(), i) }.load(Relaxed);
    }
}

/// Sets `len` bytes at `dst` to `value`.
///
/// # Safety
/// As for [`copy_in`], for `len` bytes.
pub(super) unsafe fn fill(dst: *mut u8, len: usize, value: u8) {
    let (head, words) = split(dst, len);
    for i in 0..head {
        // SAFETY: `i < len`.
        unsafe { byte_at(dst, i) }.store(value, Relaxed);
    }
    let word = u64::from_ne_bytes([value; WORD]);
    let body = dst.wrapping_add(head).cast::<AtomicU64>();
    for k in 0..words {
        // SAFETY: word `k` of the aligned body lies inside `dst`.
        unsafe { &*body.add(k) }.store(word, Relaxed);
    }
    for i in head + words * WORD..len {
        // SAFETY: `i < len`.
        unsafe { byte_at(dst, i) }.store(value, Relaxed);
    }
}

/// The byte at `base + i`, as an atomic.
///
/// # Safety
/// `base + i` must be valid for reads and writes for `'a`.
pub(super) unsafe fn byte_at<'a>(base: *mut u8, i: usize) -> &'a AtomicU8 {
    // SAFETY: `AtomicU8` has the size and alignment of `u8`; the caller
    // vouches for validity, and other accesses are atomic too.
    unsafe { AtomicU8::from_ptr(base.add(i)) }
}
