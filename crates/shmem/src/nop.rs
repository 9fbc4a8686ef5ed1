//! [`NopShMemProvider`]: segments of private memory, shared with nobody,
//! as LibAFL's provider of the same name: for tests, and for code written
//! against a provider that runs in one process.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Result, check_size};
use crate::id::ShMemId;
use crate::{ShBytes, ShMem, ShMemProvider};

/// Hands out [`NopShMem`]: zeroed private memory. Reopening an id gives
/// new memory of that id, never the same bytes (there is nothing to share).
#[derive(Clone, Copy, Debug, Default)]
pub struct NopShMemProvider;

/// Private memory behind the segment API, 8-byte aligned.
#[derive(Debug)]
pub struct NopShMem {
    /// Atomic words: the bytes are reached through `ShBytes`, whose
    /// accesses need the interior mutability atomics have.
    words: Box<[AtomicU64]>,
    len: usize,
    id: u64,
}

impl NopShMem {
    fn new(size: usize, id: u64) -> Result<Self> {
        let len = check_size(size)?;
        let words = (0..len.div_ceil(8)).map(|_| AtomicU64::new(0)).collect();
        Ok(NopShMem { words, len, id })
    }
}

impl std::ops::Deref for NopShMem {
    type Target = ShBytes;
    fn deref(&self) -> &ShBytes {
        // SAFETY: the words hold at least `len` bytes, live as long as `self`,
        // and are only reached through atomics (interior mutability).
        unsafe { ShBytes::from_raw_parts(self.words.as_ptr().cast_mut().cast(), self.len) }
    }
}

impl std::ops::DerefMut for NopShMem {
    fn deref_mut(&mut self) -> &mut ShBytes {
        // SAFETY: as for `deref`, and `&mut self` makes this view the only one.
        unsafe { ShBytes::from_raw_parts_mut(self.words.as_mut_ptr().cast(), self.len) }
    }
}

impl ShMem for NopShMem {
    fn id(&self) -> ShMemId {
        ShMemId::Private(self.id)
    }
}

impl ShMemProvider for NopShMemProvider {
    type ShMem = NopShMem;

    fn new() -> Result<Self> {
        Ok(NopShMemProvider)
    }

    fn new_shmem(&mut self, size: usize) -> Result<NopShMem> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        NopShMem::new(size, NEXT.fetch_add(1, Ordering::Relaxed))
    }

    fn shmem_from_id_and_size(&mut self, id: ShMemId, size: usize) -> Result<NopShMem> {
        match id {
            ShMemId::Private(n) => NopShMem::new(size, n),
            other => Err(other.wrong_backend("private (NopShMemProvider)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nop_segments_are_private_zeroed_memory() {
        let mut provider = NopShMemProvider;
        let a = provider.new_shmem(13).unwrap();
        assert_eq!(a.to_vec(), vec![0; 13]);
        a[..5].copy_from_slice(b"hello");
        let b = provider.clone_ref(&a).unwrap();
        assert_eq!(b.id(), a.id());
        assert_eq!(b.to_vec(), vec![0; 13], "nothing is shared");
        let value = provider.new_on_shmem(0x1122_3344_u32).unwrap();
        assert_eq!(value.read::<u32>(0).unwrap(), 0x1122_3344);
        assert_eq!(provider.uninit_on_shmem::<[u64; 3]>().unwrap().len(), 24);
    }
}
