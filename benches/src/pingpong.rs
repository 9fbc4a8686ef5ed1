//! The round trip: one process writes a sequence number, the other echoes
//! it, both spinning on atomics in one segment.
//!
//! Layout (the same in `sim-standin pingpong`, the Windows side):
//! `u64` ping at [`PING`], `u64` pong at [`PONG`], and [`QUIT`] written to
//! ping to end the echo. Both words share one cache line: here a round
//! trip through one line took about 330 ns against 430 ns through two
//! (plain C, the same machine), and every implementation measured uses
//! the same layout.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Offset of the number the measuring side writes.
pub const PING: usize = 0;
/// Offset of the echo.
pub const PONG: usize = 8;
/// Written to ping: the echoing side stops.
pub const QUIT: u64 = u64::MAX;
/// How long a batch of round trips may take before the echoing side is
/// taken for gone.
const ECHO_TIMEOUT: Duration = Duration::from_secs(30);

/// Smallest segment the ping-pong fits in.
pub const MIN_SIZE: usize = 128;

/// The measuring side: `iters` round trips, each a new number written to
/// `ping` and waited for in `pong`. `seq` carries on between calls; start
/// it at [`reset`].
pub fn round_trips(ping: &AtomicU64, pong: &AtomicU64, seq: &mut u64, iters: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        *seq += 1;
        let s = *seq;
        ping.store(s, Ordering::Release);
        let mut spins: u32 = 0;
        while pong.load(Ordering::Acquire) != s {
            // Now and then (every 16 M spins, tens of ms), make sure the
            // echoing side is still there rather than spin forever.
            spins = spins.wrapping_add(1);
            if spins & 0xff_ffff == 0 {
                assert!(
                    start.elapsed() < ECHO_TIMEOUT,
                    "no echo of {s} within {ECHO_TIMEOUT:?}: has the echoing side ended?"
                );
            }
        }
    }
    start.elapsed()
}

/// Round trips in batches of [`BATCH`], timed per batch: `iters` of them
/// at the median batch's pace. A batch in which the scheduler took either
/// process off its core (another program's work on a 2-core machine, a
/// timer) costs microseconds per trip and would swamp a plain mean; the
/// median batch is what a round trip costs when both sides run.
pub fn round_trips_median(
    ping: &AtomicU64,
    pong: &AtomicU64,
    seq: &mut u64,
    iters: u64,
) -> Duration {
    let batches = iters.div_ceil(BATCH).max(1);
    let mut per_trip: Vec<Duration> = (0..batches)
        .map(|i| {
            let n = BATCH.min(iters - i * BATCH).max(1);
            round_trips(ping, pong, seq, n) / n as u32
        })
        .collect();
    crate::median(&mut per_trip) * iters as u32
}

/// Round trips per timed batch in [`round_trips_median`].
pub const BATCH: u64 = 1000;

/// The echoing side: copies every new ping to pong until [`QUIT`].
///
/// "New" is "not yet echoed": a ping written before this starts is
/// answered too.
pub fn echo(ping: &AtomicU64, pong: &AtomicU64) {
    let mut last = pong.load(Ordering::Acquire);
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

/// Readies a segment for the next echoing side, before it starts: ping
/// set back to the last echo (a [`QUIT`] left by the last round would end
/// the next echo at once). Returns where the measuring side counts from.
pub fn reset(ping: &AtomicU64, pong: &AtomicU64) -> u64 {
    let last = pong.load(Ordering::Acquire);
    ping.store(last, Ordering::Release);
    last
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
    // SAFETY: the two words are only ever reached as u64 views.
    unsafe {
        (
            bytes.atomic::<AtomicU64>(PING).expect("ping in bounds"),
            bytes.atomic::<AtomicU64>(PONG).expect("pong in bounds"),
        )
    }
}
