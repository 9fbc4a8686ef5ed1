//! shm-bridge: the parts both sides share, and each side's program.
//!
//! The same program is built twice: for Windows it is the bridge exe that
//! runs inside a Wine/Proton prefix ([`win`]); for Linux it is the
//! companion that launches, lists, watches and cleans up.

pub mod acc;
pub mod exe_cli;
pub mod ledger;
#[cfg(unix)]
pub mod linux;
pub mod mounts;
pub mod presets;
pub mod spec;
#[cfg(windows)]
pub mod win;

/// Entry points for the fuzz targets (`fuzz/`): the command lines.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    use clap::Parser;

    /// Parses `args` as the bridge exe's command line.
    pub fn exe_cli(args: &[String]) {
        let _ = crate::exe_cli::Cli::try_parse_from(args);
    }

    /// Parses `args` as the Linux companion's command line.
    #[cfg(unix)]
    pub fn linux_cli(args: &[String]) {
        crate::linux::fuzz_cli(args);
    }
}

/// Bytes as people read them: `2048 bytes`, `1.5 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64;
    let mut unit = "bytes";
    for u in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = u;
    }
    format!("{value:.1} {unit}")
}
