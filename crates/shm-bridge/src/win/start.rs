//! Starting the game, again when Wine loses its process while it loads.
//!
//! Debian 12's Wine 8.0 loses about one process start in 5,000 on this
//! project's machines (9 of some 45,000; tools/wine-fixed-heap says why).
//! CreateProcess then fails with ERROR_INTERNAL_ERROR (1359): Wine's
//! NtCreateUserProcess returns it when the new process died before it
//! finished loading and left no exit code. None of the game ran then, so
//! starting it again is safe, and it is what a player would otherwise do by
//! hand.

use std::io;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use windows_sys::Win32::Foundation::ERROR_INTERNAL_ERROR;

/// How many starts to try before giving up.
const ATTEMPTS: u32 = 3;

/// Pause between starts: long enough for a wineserver hiccup to pass.
const PAUSE: Duration = Duration::from_millis(100);

/// Runs `spawn` until it succeeds, fails for another reason, or has lost the
/// process [`ATTEMPTS`] times; says so on stderr each time it tries again.
pub fn with_retries<T>(program: &Path, mut spawn: impl FnMut() -> io::Result<T>) -> Result<T> {
    let mut attempt = 1;
    loop {
        match spawn() {
            Ok(started) => return Ok(started),
            Err(e) if !lost_while_loading(&e) => {
                return Err(e).with_context(|| {
                    format!("starting {} (is the path right?)", program.display())
                });
            }
            Err(e) if attempt == ATTEMPTS => {
                return Err(e).with_context(|| {
                    format!(
                        "starting {}: Wine lost its process while loading it, {ATTEMPTS} times \
                         in a row; is the prefix shutting down (wineserver -k) or damaged?",
                        program.display()
                    )
                });
            }
            Err(e) => {
                eprintln!(
                    "shm-bridge: Wine lost {} while loading it ({e}); starting it again",
                    program.display()
                );
                std::thread::sleep(PAUSE);
                attempt += 1;
            }
        }
    }
}

/// Whether a failed start is Wine's "the new process died while loading".
fn lost_while_loading(e: &io::Error) -> bool {
    e.raw_os_error() == Some(ERROR_INTERNAL_ERROR as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lost() -> io::Error {
        io::Error::from_raw_os_error(ERROR_INTERNAL_ERROR as i32)
    }

    #[test]
    fn a_start_lost_while_loading_is_tried_again_and_succeeds() {
        let mut calls = 0;
        let started = with_retries(Path::new("game.exe"), || {
            calls += 1;
            if calls < ATTEMPTS {
                Err(lost())
            } else {
                Ok(calls)
            }
        });
        assert_eq!(started.unwrap(), ATTEMPTS);
    }

    #[test]
    fn a_start_lost_every_time_gives_up_and_says_why() {
        let mut calls = 0;
        let err = with_retries(Path::new("game.exe"), || -> io::Result<()> {
            calls += 1;
            Err(lost())
        })
        .unwrap_err();
        assert_eq!(calls, ATTEMPTS);
        let message = format!("{err:#}");
        assert!(message.contains("3 times in a row"), "{message}");
        assert!(message.contains("wineserver -k"), "{message}");
    }

    #[test]
    fn a_missing_program_is_not_tried_again() {
        let mut calls = 0;
        let err = with_retries(Path::new("nowhere.exe"), || -> io::Result<()> {
            calls += 1;
            Err(io::Error::from(io::ErrorKind::NotFound))
        })
        .unwrap_err();
        assert_eq!(calls, 1);
        assert!(format!("{err:#}").contains("is the path right"), "{err:#}");
    }

    #[test]
    fn a_real_missing_program_fails_at_once() {
        let program = Path::new(r"C:\no\such\game.exe");
        let err =
            with_retries(program, || std::process::Command::new(program).spawn()).unwrap_err();
        assert!(format!("{err:#}").contains("is the path right"), "{err:#}");
    }
}
