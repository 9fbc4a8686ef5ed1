//! [`ShEvent`]: one process wakes others through shared memory.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::bytes::ShBytes;
use crate::error::{Result, ShMemError};

/// A cross-process event.
///
/// The event is a `u32` counter in a segment (native byte order: little
/// endian on every machine this runs on). [`notify`](ShEvent::notify) adds
/// one with release ordering and wakes every process waiting on the word;
/// a waiter remembers the count it has seen and sleeps until it moves
/// ([`wait_after`](ShEvent::wait_after)), so a signal given while it was
/// busy is not lost: it shows as the count having moved, and several
/// signals as a jump. Nothing else is shared, so a program in C or Python
/// can take part with an atomic add and the same wait.
///
/// On Linux and Android the wait is a futex on the shared word
/// (`FUTEX_WAIT`/`FUTEX_WAKE` without `FUTEX_PRIVATE_FLAG`, which the kernel
/// keys on the memory itself, so processes that map the segment at
/// different addresses meet): no CPU while idle, and a wake-up within
/// microseconds. Elsewhere it is a documented fallback: the waiter polls
/// the counter, yielding for 50 µs and then sleeping from 50 µs up to 1 ms
/// between looks (no cross-process futex is public API on macOS and
/// Windows), which costs a little CPU and up to a millisecond of delay.
#[derive(Clone, Copy, Debug)]
pub struct ShEvent<'a> {
    word: &'a AtomicU32,
}

impl<'a> ShEvent<'a> {
    /// The event whose counter is the first 4 bytes of `bytes` (aligned to
    /// 4, as the start of every segment is). The exclusive borrow keeps
    /// every other access of this process off the counter while the event
    /// is used; pass a sub-range ([`ShBytes::split_at_mut`]) to keep the
    /// rest of a segment for other data.
    pub fn new(bytes: &'a mut ShBytes) -> Result<Self> {
        let len = bytes.len();
        let counter = bytes.get_mut(..4).ok_or(ShMemError::OutOfBounds {
            what: "an event's counter (u32)",
            offset: 0,
            needed: 4,
            len,
        })?;
        let word = &counter.atomics::<AtomicU32>()?[0];
        Ok(ShEvent { word })
    }

    /// The event whose counter is `word`, which other processes reach too.
    pub fn from_atomic(word: &'a AtomicU32) -> Self {
        ShEvent { word }
    }

    /// How many times the event was notified (wrapping at `u32::MAX`).
    pub fn count(&self) -> u32 {
        self.word.load(Ordering::Acquire)
    }

    /// Signals the event: adds one to the counter and wakes every waiter,
    /// in this process and others. Returns the new count.
    pub fn notify(&self) -> u32 {
        let count = self.word.fetch_add(1, Ordering::Release).wrapping_add(1);
        imp::wake_all(self.word);
        count
    }

    /// Waits for the next signal from now: `wait_after(self.count(), timeout)`.
    pub fn wait(&self, timeout: Option<Duration>) -> Option<u32> {
        self.wait_after(self.count(), timeout)
    }

    /// Waits until the count differs from `seen` (the count this waiter
    /// last saw) and returns it; returns at once if it already does.
    /// `None` if `timeout` passed first; no timeout waits for good.
    pub fn wait_after(&self, seen: u32, timeout: Option<Duration>) -> Option<u32> {
        let deadline = timeout.map(|t| Instant::now().checked_add(t).unwrap_or_else(far_future));
        loop {
            let now = self.count();
            if now != seen {
                return Some(now);
            }
            let left = match deadline {
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => return None,
                },
                None => None,
            };
            imp::wait_while(self.word, seen, left);
        }
    }
}

/// An instant no wait reaches, for timeouts too large to add.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}

#[cfg(linux_like)]
mod imp {
    use super::*;
    use rustix::thread::futex;

    pub(super) fn wake_all(word: &AtomicU32) {
        // Shared (no FUTEX_PRIVATE_FLAG): waiters in other processes are keyed
        // on the same memory. The kernel reads the count as an `int`, so "all"
        // is `i32::MAX` (`u32::MAX` would be -1: one waiter). Waking nobody is
        // no error.
        let _ = futex::wake(word, futex::Flags::empty(), i32::MAX as u32);
    }

    /// Sleeps while the word holds `seen`, for at most `left`; returns on a
    /// wake, a change, a signal or the time running out (the caller looks).
    pub(super) fn wait_while(word: &AtomicU32, seen: u32, left: Option<Duration>) {
        let timeout = left.map(|d| futex::Timespec {
            tv_sec: d.as_secs().try_into().unwrap_or(i64::MAX),
            tv_nsec: d.subsec_nanos().into(),
        });
        let _ = futex::wait(word, futex::Flags::empty(), seen, timeout.as_ref());
    }
}

#[cfg(not(linux_like))]
mod imp {
    use super::*;

    pub(super) fn wake_all(_word: &AtomicU32) {}

    /// Polls: yields for 50 µs, then sleeps 50 µs, doubling to 1 ms.
    pub(super) fn wait_while(word: &AtomicU32, seen: u32, left: Option<Duration>) {
        const SPIN: Duration = Duration::from_micros(50);
        let start = Instant::now();
        let mut nap = Duration::from_micros(50);
        while word.load(Ordering::Acquire) == seen {
            let waited = start.elapsed();
            if left.is_some_and(|left| waited >= left) {
                return;
            }
            if waited < SPIN {
                std::thread::yield_now();
            } else {
                let nap_now = left.map_or(nap, |left| nap.min(left.saturating_sub(waited)));
                std::thread::sleep(nap_now);
                nap = (nap * 2).min(Duration::from_millis(1));
            }
        }
    }
}
