//! The game's frames, as its forwarded event counts them (see the README's
//! "Events"): a thread sleeps on the counter through the library's
//! [`ShEvent`] (a futex) and makes a pipe readable on each new frame, so a
//! view wakes on it together with whatever else it waits on (keys).

use std::fmt;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::pipe::PipeFlags;
use shmem::{PosixShMem, ShEvent};

/// How often the thread looks for the event's file while there is none.
const LOOK_AGAIN: Duration = Duration::from_millis(250);
/// How long one wait lasts before the thread checks the file is still
/// the bridge's (a bridge that ended removed it; the next makes another).
const RECHECK: Duration = Duration::from_millis(500);

/// New frames of the game, signalled by its event's counter.
pub struct Frames {
    /// Readable once a frame came since the last [`Frames::take`].
    ready: OwnedFd,
    /// The counter at the last frame.
    latest: Arc<AtomicU32>,
    /// Tells the thread to end.
    stop: Arc<AtomicBool>,
}

impl Frames {
    /// Follows the first of the event files `files` found in `dirs` (this
    /// user's only); `None` when there is no event to follow.
    pub fn follow(dirs: Vec<PathBuf>, files: Vec<String>) -> Option<Frames> {
        if files.is_empty() {
            return None;
        }
        let (ready, signal) =
            rustix::pipe::pipe_with(PipeFlags::NONBLOCK | PipeFlags::CLOEXEC).ok()?;
        let latest = Arc::new(AtomicU32::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, done) = (latest.clone(), stop.clone());
        std::thread::Builder::new()
            .name("frames".into())
            .spawn(move || wait_for_frames(&dirs, &files, &signal, &count, &done))
            .ok()?;
        Some(Frames {
            ready,
            latest,
            stop,
        })
    }

    /// What to poll for a new frame.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.ready.as_fd()
    }

    /// Whether frames came since the last call (and forgets them).
    pub fn take(&self) -> bool {
        let mut buf = [0u8; 64];
        let mut any = false;
        while rustix::io::read(&self.ready, &mut buf).is_ok_and(|n| n > 0) {
            any = true;
        }
        any
    }

    /// Waits until a frame comes or `until`; says whether one came.
    pub fn wait_until(&self, until: Instant) -> bool {
        let left = until.saturating_duration_since(Instant::now());
        let timeout = Timespec {
            tv_sec: left.as_secs() as _,
            tv_nsec: left.subsec_nanos() as _,
        };
        let mut fds = [PollFd::from_borrowed_fd(self.fd(), PollFlags::IN)];
        let _ = rustix::event::poll(&mut fds, Some(&timeout));
        self.take()
    }

    /// The event's counter at the last frame seen.
    pub fn latest(&self) -> u32 {
        self.latest.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for Frames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frames")
            .field("latest", &self.latest())
            .finish()
    }
}

impl Drop for Frames {
    fn drop(&mut self) {
        // The thread ends within RECHECK; no one waits for it.
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The thread: finds the event's file, sleeps on its counter, and writes
/// a byte to `signal` on each change, until told to stop.
fn wait_for_frames(
    dirs: &[PathBuf],
    files: &[String],
    signal: &OwnedFd,
    latest: &AtomicU32,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::Relaxed) {
        let Some((mut mem, path, inode)) = open_first(dirs, files) else {
            std::thread::sleep(LOOK_AGAIN);
            continue;
        };
        let Ok(event) = ShEvent::new(&mut mem) else {
            std::thread::sleep(LOOK_AGAIN);
            continue;
        };
        let mut seen = event.count();
        while !stop.load(Ordering::Relaxed) {
            match event.wait_after(seen, Some(RECHECK)) {
                Some(now) => {
                    seen = now;
                    latest.store(now, Ordering::Relaxed);
                    // A full pipe already says "a frame came".
                    let _ = rustix::io::write(signal, &[1]);
                }
                None if !still_there(&path, inode) => break,
                None => {}
            }
        }
    }
}

/// The first event file found, mapped, with where it is and its inode.
fn open_first(dirs: &[PathBuf], files: &[String]) -> Option<(PosixShMem, PathBuf, u64)> {
    dirs.iter().find_map(|dir| {
        files.iter().find_map(|file| {
            let mem = PosixShMem::open_own_in(dir, file).ok()?;
            let path = dir.join(file);
            let inode = std::fs::symlink_metadata(&path).ok()?.ino();
            Some((mem, path, inode))
        })
    })
}

/// Whether `path` is still the file `inode`.
fn still_there(path: &Path, inode: u64) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.ino() == inode)
}
