//! The bridge exe and the game stand-in (`sim-standin.exe counter`), as the
//! Wine tests drive them, and the stand-in's counter page as Linux sees it.

use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use shmem::{PosixShMem, ShBytes};

use crate::wait_for;
use crate::wine::{self, Running};

/// How long a Wine program may take to get going.
pub const START: Duration = Duration::from_secs(60);

/// `shm-bridge.exe ARGS` in the prefix `prefix`, not waited for.
pub fn bridge_in(prefix: &Path, args: &[&str]) -> Running {
    Running::spawn(wine::command_in(prefix, &wine::exe("shm-bridge")).args(args))
}

/// `shm-bridge.exe ARGS` in the shared prefix, once its mappings exist.
pub fn bridge_ready(args: &[&str]) -> Running {
    let mut b = bridge_in(&wine::prefix(), args);
    b.expect_line("mappings exist", START);
    b
}

/// `shm-bridge.exe` in wrapper mode in the shared prefix: bridges the
/// 4 KiB mapping `name` in `dir` and starts the stand-in (by its Unix path,
/// as Proton passes it) with `game`, its arguments, not waited for.
pub fn bridge_wrapping(dir: &Path, name: &str, game: &[&str]) -> Running {
    let dir = dir.display().to_string();
    let standin = wine::exe("sim-standin").display().to_string();
    let mut args = vec!["-m", name, "-s", "4096", "--tmpfs", &dir, "--", &standin];
    args.extend_from_slice(game);
    bridge_in(&wine::prefix(), &args)
}

/// The game stand-in writing the counter page of mapping `name` in the
/// prefix `prefix`, once it has found the bridge's mapping.
pub fn game_in(prefix: &Path, name: &str) -> Running {
    let mut g = Running::spawn(
        wine::command_in(prefix, &wine::exe("sim-standin"))
            .args(["counter", "--map", name, "--size", "64"]),
    );
    g.expect_line("already existed (bridged)", START);
    g
}

/// [`game_in`] the shared prefix.
pub fn game(name: &str) -> Running {
    game_in(&wine::prefix(), name)
}

/// Maps `dir/name`, a file the bridge made.
pub fn open(dir: &Path, name: &str) -> PosixShMem {
    PosixShMem::open_in(dir, name)
        .unwrap_or_else(|e| panic!("open {name} in {}: {e}", dir.display()))
}

/// The stand-in's counter page: u64 counter at 0, u64 request at 8, u64
/// echo at 16, u32 quit flag at 24 (1 quits, 2 crashes).
#[derive(Debug)]
pub struct CounterPage<'a>(pub &'a ShBytes);

impl CounterPage<'_> {
    fn word(&self, at: usize) -> &AtomicU64 {
        // SAFETY: the page's words are reached only through views of their
        // own size (u64 at 0, 8, 16; u32 at 24), never copied over.
        unsafe { self.0.atomic::<AtomicU64>(at) }.expect("counter page word")
    }

    /// The game's counter.
    pub fn counter(&self) -> u64 {
        self.word(0).load(Ordering::Acquire)
    }

    /// What the game copied back from the request word.
    pub fn echo(&self) -> u64 {
        self.word(16).load(Ordering::Acquire)
    }

    /// Asks the game to exit (0 as its exit code unless told otherwise).
    pub fn quit(&self) {
        self.flag(1);
    }

    /// Asks the game to crash with an access violation.
    pub fn crash(&self) {
        self.flag(2);
    }

    fn flag(&self, value: u32) {
        // SAFETY: as in `word`: the flag is only ever reached as a u32.
        unsafe { self.0.atomic::<AtomicU32>(24) }
            .expect("counter page flag")
            .store(value, Ordering::Release);
    }

    /// The game is writing: the counter moves.
    pub fn assert_advancing(&self) {
        let first = self.counter();
        wait_for("the game's counter to advance", START, || {
            (self.counter() > first + 3).then_some(())
        });
    }

    /// What Linux writes, the game reads (and echoes).
    pub fn assert_game_reads(&self, value: u64) {
        self.word(8).store(value, Ordering::Release);
        wait_for("the game to echo the request", START, || {
            (self.echo() == value).then_some(())
        });
    }
}
