//! Win32, Wine's exports and raw Linux system calls, for the bridge exe and
//! the game stand-in, wrapped as safe functions.
#![allow(unsafe_code)]

pub mod files;
pub mod game;
pub mod job;
#[cfg(target_arch = "x86_64")]
mod linux;
pub mod sync;
pub mod wine;

use std::io;

/// `Err(last OS error)` when a Win32 call returned 0 (FALSE or NULL).
fn check(ok: bool) -> io::Result<()> {
    if ok {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A buffer of wide characters a Win32 call fills, and the text it wrote.
/// `fill` gets the buffer and returns the length written (0 on failure).
fn wide_text(fill: impl FnOnce(&mut [u16]) -> u32) -> io::Result<String> {
    let mut buf = vec![0u16; 1024];
    let n = fill(&mut buf) as usize;
    if n == 0 {
        return Err(io::Error::last_os_error());
    }
    if n >= buf.len() {
        return Err(io::Error::other("the text is longer than 1024 characters"));
    }
    Ok(String::from_utf16_lossy(&buf[..n]))
}
