//! The lock around a connection, which a forked child cannot wait on
//! forever.
//!
//! A thread of the parent that held the lock when the process forked does
//! not exist in the child, and would never release it there: `post_fork`
//! or any request in the child would hang. So the lock remembers in which
//! fork generation it was last taken; a child that finds it held since
//! before the fork gets an error instead of waiting.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

use super::connection::Connection;
use crate::error::{Result, ShMemError};
use crate::unix::fork;

/// How long a lock held since before a fork is given to show it was
/// retaken in this process (a thread that has just taken it stores its
/// generation right after).
const STALE_AFTER: Duration = Duration::from_millis(100);

/// A connection, shared by a provider's clones and its segments.
#[derive(Debug)]
pub(crate) struct SharedConnection {
    conn: Mutex<Connection>,
    /// The fork generation in which the lock was last taken.
    taken_in: AtomicU64,
}

impl SharedConnection {
    pub(super) fn new(conn: Connection) -> Self {
        SharedConnection {
            conn: Mutex::new(conn),
            taken_in: AtomicU64::new(fork::generation()),
        }
    }

    /// The connection, locked; an error if a thread that no longer exists
    /// (one of the parent's, before a fork) holds it.
    pub(super) fn lock(&self) -> Result<MutexGuard<'_, Connection>> {
        let now = fork::generation();
        let give_up = Instant::now() + STALE_AFTER;
        loop {
            match self.conn.try_lock() {
                Ok(guard) => return Ok(self.taken(guard, now)),
                Err(TryLockError::Poisoned(poisoned)) => {
                    return Ok(self.taken(poisoned.into_inner(), now));
                }
                Err(TryLockError::WouldBlock) => {
                    if self.taken_in.load(Ordering::Acquire) == now {
                        // A live thread of this process holds it: wait our turn.
                        let guard = self
                            .conn
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        return Ok(self.taken(guard, now));
                    }
                    if Instant::now() > give_up {
                        return Err(ShMemError::Service {
                            service: "(fork)".into(),
                            reason: "another thread was using this provider when the process \
                                     forked, so the child cannot; fork while no other thread \
                                     uses it, between pre_fork and post_fork"
                                .into(),
                            source: None,
                        });
                    }
                    std::thread::yield_now();
                }
            }
        }
    }

    fn taken<'a>(&self, guard: MutexGuard<'a, Connection>, now: u64) -> MutexGuard<'a, Connection> {
        self.taken_in.store(now, Ordering::Release);
        guard
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::{ServiceName, ShMemService};
    use std::sync::mpsc;

    /// A thread holds the lock when the process forks: the child's
    /// `post_fork` gets an error at once instead of hanging for ever.
    #[test]
    fn a_child_does_not_wait_on_a_lock_held_at_fork() {
        let name = ServiceName::new(&crate::name::unique_name("shmem-unit-fork")).unwrap();
        let _service = ShMemService::start(&name).unwrap();
        let shared = SharedConnection::new(Connection::open(&name, false).unwrap());
        let (locked_tx, locked_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        std::thread::scope(|s| {
            let shared = &shared;
            s.spawn(move || {
                let _guard = shared.lock().unwrap();
                locked_tx.send(()).unwrap();
                let _ = release_rx.recv();
            });
            locked_rx.recv().unwrap();
            // SAFETY: the child only tries the lock (atomics, a clock, an error
            // value) and leaves with `_exit`.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                let refused = shared.lock().is_err();
                // SAFETY: ends the child at once, without unwinding the test harness.
                unsafe { libc::_exit(if refused { 0 } else { 1 }) };
            }
            release_tx.send(()).unwrap();
            let mut status = 0;
            // SAFETY: waits for our own child.
            assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
            assert!(
                libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
                "the child did not get an error: {status:#x}"
            );
        });
        assert!(shared.lock().is_ok(), "the parent goes on");
    }
}
