//! Calls into the operating system that Rust's std does not offer: the
//! only code of this crate allowed `unsafe`. Every function here is safe to
//! call; each unsafe block inside says why it holds.
//!
//! The Linux companion needs none (signals go through `signal-hook`, files
//! through `rustix`); the bridge exe needs Win32, Wine's own exports and a
//! few raw Linux system calls of the process Wine runs it in.

#[cfg(windows)]
pub mod windows;
