//! shm-bridge: the parts both sides share, and each side's program.
//!
//! The same program is built twice: for Windows it is the bridge exe that
//! runs inside a Wine/Proton prefix ([`win`]); for Linux it is the
//! companion that launches, lists, watches and cleans up ([`linux`]). What
//! both decide alike is in [`core`], both command lines in [`cli`], what
//! is known of each game in [`titles`], and the one place allowed to call
//! the OS unsafely is [`sys`].
#![deny(unsafe_code)]

pub mod cli;
pub mod core;
#[cfg(unix)]
pub mod linux;
pub mod model;
pub mod sys;
pub mod titles;
#[cfg(windows)]
pub mod win;

/// Entry points for the fuzz targets (`fuzz/`): the command lines.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    use clap::Parser;

    /// Parses `args` as the bridge exe's command line.
    pub fn exe_cli(args: &[String]) {
        let _ = crate::cli::exe::Cli::try_parse_from(args);
    }

    /// Parses `args` as the Linux companion's command line.
    pub fn linux_cli(args: &[String]) {
        let _ = crate::cli::companion::Cli::try_parse_from(args);
    }
}
