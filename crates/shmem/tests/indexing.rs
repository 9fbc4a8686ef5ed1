//! Indexing a segment by a range (`shmem[a..b]`) allocates nothing: it is
//! on the path of every copy.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting allocations.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, which upholds the contract.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's layout, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

#[test]
fn indexing_by_ranges_allocates_nothing() {
    use shmem::ShMemProvider;
    let mem = shmem::NopShMemProvider.new_shmem(4096).unwrap();
    let mut buf = [0u8; 16];
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for start in 0..64 {
        mem[start..start + 16].copy_to_slice(&mut buf);
        mem[start..].load(0);
        mem[..=start].store(start, 1);
        mem[..].load(start);
    }
    assert_eq!(ALLOCATIONS.load(Ordering::Relaxed) - before, 0);
}
