//! `shm-bridge doctor`: what is there, what is missing, and what to do.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::companion::CommonArgs;
use crate::core::units::human_bytes;
use crate::linux::container::{self, Seen};
use crate::linux::tmpfs::TmpfsDir;
use crate::linux::{locate, presets_file};

/// The checks' lines as they are printed, and how many things are missing.
/// A stdout that fails is remembered and reported once, at the end.
struct Report {
    missing: usize,
    written: std::io::Result<()>,
}

impl Report {
    fn line(&mut self, line: std::fmt::Arguments<'_>) {
        if self.written.is_ok() {
            self.written = outln!("{line}");
        }
    }
    fn ok(&mut self, what: &str, detail: impl std::fmt::Display) {
        self.line(format_args!("  ok       {what}: {detail}"));
    }
    fn warn(&mut self, what: &str, detail: impl std::fmt::Display) {
        self.line(format_args!("  note     {what}: {detail}"));
    }
    fn missing(&mut self, what: &str, detail: impl std::fmt::Display) {
        self.missing += 1;
        self.line(format_args!("  MISSING  {what}: {detail}"));
    }
}

/// Checks Wine, the Windows side, the tmpfs and the presets file.
pub fn run(args: CommonArgs) -> Result<ExitCode> {
    let mut r = Report {
        missing: 0,
        written: Ok(()),
    };
    r.line(format_args!(
        "shm-bridge {} checks:",
        env!("CARGO_PKG_VERSION")
    ));

    let wine = locate::wine_version();
    match &wine {
        Some(v) => r.ok("Wine", v),
        None => r.missing(
            "Wine",
            "`wine` is not on PATH (needed for the demo and for `launch` with plain Wine; \
             Proton brings its own). Debian/Ubuntu: apt install wine wine64",
        ),
    }

    match locate::windows_program("shm-bridge.exe", None) {
        Ok(exe) => {
            r.ok("bridge exe", exe.display());
            container_view(&mut r, &exe);
            match locate::shim_beside(&exe) {
                Some(dll) => r.ok("bcryptprimitives shim", dll.display()),
                None if wine.as_deref().is_some_and(needs_shim) => r.missing(
                    "bcryptprimitives shim",
                    format!(
                        "{} needs bcryptprimitives.dll beside the exe; reinstall with `cargo xtask install`",
                        wine.as_deref().unwrap_or("this Wine")
                    ),
                ),
                None => r.warn(
                    "bcryptprimitives shim",
                    "not beside the exe; only Wine older than 8.13 needs it",
                ),
            }
        }
        Err(e) => r.missing("bridge exe", format!("{e:#}")),
    }
    match locate::windows_program("sim-standin.exe", None) {
        Ok(exe) => r.ok("demo sim stand-in", exe.display()),
        Err(_) => r.warn(
            "demo sim stand-in",
            "sim-standin.exe not found (only `shm-bridge demo` needs it)",
        ),
    }

    match TmpfsDir::check(&args.tmpfs) {
        Ok(dir) => r.ok(
            "tmpfs",
            format!("{} ({} free)", dir.path.display(), human_bytes(dir.free)),
        ),
        Err(e) => r.missing("tmpfs", format!("{e:#}")),
    }

    match presets_file::load(&args) {
        Ok(presets) => r.ok("presets", format!("{} titles", presets.games().len())),
        Err(e) => r.missing("presets", format!("{e:#}")),
    }

    if let Some(steam) = steam_dir() {
        r.ok("Steam", steam.display());
    } else {
        r.warn(
            "Steam",
            "not found in ~/.steam or ~/.local/share/Steam (fine for Lutris, Heroic, plain Wine)",
        );
    }
    let me = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "shm-bridge".into());
    r.line(format_args!(
        "\nSteam launch option (Properties > General > Launch Options):\n  {me} launch --game TITLE -- %command%"
    ));
    let missing = r.missing;
    if missing > 0 {
        r.line(format_args!("\n{missing} thing(s) missing."));
    } else {
        r.line(format_args!("\nEverything needed is here."));
    }
    r.written?;
    Ok(if missing > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// How Steam's container, where Proton runs games, will see the exe.
fn container_view(r: &mut Report, exe: &Path) {
    const WHAT: &str = "Steam's container";
    let dir = exe.parent().unwrap_or(exe).display();
    match container::seen_here(exe) {
        Seen::Same => r.ok(WHAT, "shows the game the exe at the same path"),
        Seen::At(inside) => r.ok(
            WHAT,
            format!("shows the game the exe as {}", inside.display()),
        ),
        Seen::IfMounted => r.ok(
            WHAT,
            format!("`launch` asks it to share {dir} (STEAM_COMPAT_MOUNTS)"),
        ),
        Seen::Never => r.missing(
            WHAT,
            format!(
                "never shows the game {dir}, so `launch` cannot run the bridge there; \
                 install under your home (`cargo xtask install`)"
            ),
        ),
    }
}

/// `wine-8.0` and such: before 8.13, std's ProcessPrng import needs the shim.
fn needs_shim(version: &str) -> bool {
    let digits = version.trim_start_matches("wine-");
    let mut parts = digits.split(|c: char| !c.is_ascii_digit());
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (major, minor) < (8, 13)
}

fn steam_dir() -> Option<std::path::PathBuf> {
    let home = std::env::var_os("HOME")?;
    [".steam/steam", ".local/share/Steam"]
        .iter()
        .map(|d| Path::new(&home).join(d))
        .find(|p| p.is_dir())
}

#[cfg(test)]
mod tests {
    #[test]
    fn wine_before_8_13_needs_the_shim() {
        assert!(super::needs_shim("wine-8.0 (Debian 8.0~repack-4)"));
        assert!(super::needs_shim("wine-7.22"));
        assert!(!super::needs_shim("wine-8.13"));
        assert!(!super::needs_shim("wine-9.0"));
    }
}
