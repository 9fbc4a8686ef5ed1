//! The round trip: one process writes a sequence number, the other echoes
//! it, both spinning on atomics in one segment.
//!
//! Layout (the same in `sim-standin pingpong`, the Windows side):
//! `u64` ping at [`PING`], `u64` pong at [`PONG`] (another cache line),
//! and [`QUIT`] written to ping to end the echo.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Offset of the number the measuring side writes.
pub const PING: usize = 0;
/// Offset of the echo.
pub const PONG: usize = 64;
/// Written to ping: the echoing side stops.
pub const QUIT: u64 = u64::MAX;
/// Smallest segment the ping-pong fits in.
pub const MIN_SIZE: usize = 128;

/// The measuring side: `iters` round trips, each a new number written to
/// `ping` and waited for in `pong`. `seq` carries on between calls.
pub fn round_trips(ping: &AtomicU64, pong: &AtomicU64, seq: &mut u64, iters: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        *seq += 1;
        let s = *seq;
        ping.store(s, Ordering::Release);
        while pong.load(Ordering::Acquire) != s {}
    }
    start.elapsed()
}

/// The echoing side: copies every new ping to pong until [`QUIT`].
pub fn echo(ping: &AtomicU64, pong: &AtomicU64) {
    let mut last = ping.load(Ordering::Acquire);
    loop {
        let now = ping.load(Ordering::Acquire);
        if now != last {
            if now == QUIT {
                return;
            }
            pong.store(now, Ordering::Release);
            last = now;
        }
    }
}

/// Tells the echoing side to stop.
pub fn quit(ping: &AtomicU64) {
    ping.store(QUIT, Ordering::Release);
}

/// The two words at the start of raw memory.
///
/// # Safety
/// `ptr` must be 8-aligned and valid for [`MIN_SIZE`] bytes for `'a`, and
/// only reached through atomics meanwhile.
pub unsafe fn words<'a>(ptr: *mut u8) -> (&'a AtomicU64, &'a AtomicU64) {
    // SAFETY: in bounds and aligned, as the caller vouches; `AtomicU64` is valid
    // for any bit pattern and allows other writers.
    unsafe {
        (
            &*ptr.add(PING).cast::<AtomicU64>(),
            &*ptr.add(PONG).cast::<AtomicU64>(),
        )
    }
}

/// The two words of a segment of this library.
pub fn shm_words(bytes: &shmem::ShBytes) -> (&AtomicU64, &AtomicU64) {
    (
        bytes.atomic::<AtomicU64>(PING).expect("ping in bounds"),
        bytes.atomic::<AtomicU64>(PONG).expect("pong in bounds"),
    )
}
