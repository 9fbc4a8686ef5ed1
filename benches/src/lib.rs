//! Support for the benchmarks: the bare system calls each backend needs
//! (the floor every library is measured against), the second process the
//! cross-process benchmarks talk to, CPU pinning, and the ping-pong both
//! sides spin in.
//!
//! Everything is Linux-only; see `BENCHMARKS.md` at the repository root
//! for what is measured and how to rerun it.
#![cfg(target_os = "linux")]

pub mod floor;
pub mod peer;
pub mod pingpong;
pub mod results;

use std::time::Duration;

/// The page size the touch loops step by.
pub const PAGE: usize = 4096;

/// The sizes of the life-cycle benchmarks, with whether every page is touched.
pub const LIFECYCLE_SIZES: [(usize, &str, bool); 3] = [
    (4 << 10, "4KiB", false),
    (64 << 10, "64KiB", false),
    (16 << 20, "16MiB", true),
];

/// Writes one byte at the start, or one in every page, through a raw pointer
/// (what LibAFL's `&mut [u8]` and the floor's `mmap` give).
///
/// # Safety
/// `ptr` must be valid for writes of `len` bytes.
pub unsafe fn touch_raw(ptr: *mut u8, len: usize, every_page: bool) {
    let step = if every_page { PAGE } else { len };
    let mut at = 0;
    while at < len {
        // SAFETY: at < len, and the caller vouches for `len` bytes.
        unsafe { ptr.add(at).write_volatile(1) };
        at += step;
    }
}

/// The same through this library's safe byte view.
pub fn touch(bytes: &shmem::ShBytes, every_page: bool) {
    let step = if every_page { PAGE } else { bytes.len() };
    let mut at = 0;
    while at < bytes.len() {
        bytes.store(at, 1);
        at += step;
    }
}

/// Pins the calling thread to `cpu` (or, with `None`, lets it run anywhere
/// again). Round trips between processes are measured with each process on a
/// core of its own.
pub fn pin_self(cpu: Option<usize>) {
    set_affinity(0, cpu);
}

/// Sets the CPU affinity of thread `tid` (0: the caller).
fn set_affinity(tid: libc::pid_t, cpu: Option<usize>) {
    // SAFETY: `cpu_set_t` is plain old data; all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    for c in 0..cpus.max(cpu.map_or(0, |c| c + 1)) {
        if cpu.is_none_or(|only| only == c) {
            // SAFETY: `c` is below CPU_SETSIZE for any machine this runs on.
            unsafe { libc::CPU_SET(c, &mut set) };
        }
    }
    // SAFETY: passes a set we own and its exact size.
    unsafe { libc::sched_setaffinity(tid, std::mem::size_of_val(&set), &set) };
}

/// The CPU the second process of a round trip runs on, and the one the
/// benchmark's own process runs on: separate cores when there are two.
pub fn cpus() -> (usize, usize) {
    let n = std::thread::available_parallelism().map_or(1, |n| n.get());
    (0, if n > 1 { 1 } else { 0 })
}

/// Median of durations (sorts them).
pub fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    times.get(times.len() / 2).copied().unwrap_or_default()
}
