//! `shm-bridge doctor`: what is there, what is missing, and what to do.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::companion::CommonArgs;
use crate::core::units::human_bytes;
use crate::linux::container::{self, Seen};
use crate::linux::flatpak::{self, FlatpakSteam, Installation};
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

/// Checks Wine, the Windows side, the tmpfs, the presets file, and
/// Flatpak Steam when it is there.
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

    match TmpfsDir::check(args.tmpfs()) {
        Ok(dir) => {
            r.ok(
                "tmpfs",
                format!("{} ({} free)", dir.path.display(), human_bytes(dir.free)),
            );
            // Run inside a Flatpak sandbox (`flatpak run --command=sh`).
            if flatpak::is_sandbox_dev_shm(&dir.path) {
                let app = std::env::var("FLATPAK_ID").ok();
                r.warn("tmpfs", flatpak::sandbox_note(app.as_deref()));
            }
        }
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
    let flatpak_steam = FlatpakSteam::find();
    if let Some(steam) = &flatpak_steam {
        flatpak_view(&mut r, steam);
    }
    let me = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "shm-bridge".into());
    r.line(format_args!(
        "\nSteam launch option (Properties > General > Launch Options):\n  {me} launch --game TITLE -- %command%"
    ));
    if let Some(steam) = &flatpak_steam {
        r.line(format_args!(
            "Flatpak Steam's launch option (the same path inside its sandbox and out):\n  {} launch --game TITLE -- %command%",
            in_sandbox(steam).program.display()
        ));
    }
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

/// Where `cargo xtask install --prefix` puts both sides in Flatpak Steam's
/// home, `~/.var/app/com.valvesoftware.Steam/.local`: the sandbox shows
/// that directory at its own path, so the launch option names the program
/// by the same path inside and out, and `launch` finds the Windows side
/// beside it (`../share/shm-bridge`, also the sandbox's `$XDG_DATA_HOME`).
struct SandboxInstall {
    prefix: PathBuf,
    program: PathBuf,
    exe: PathBuf,
}

fn in_sandbox(steam: &FlatpakSteam) -> SandboxInstall {
    let prefix = steam.app_home.join(".local");
    SandboxInstall {
        program: prefix.join("bin/shm-bridge"),
        exe: prefix.join("share/shm-bridge/shm-bridge.exe"),
        prefix,
    }
}

/// Flatpak Steam: where its games' pages go, and whether the launch
/// option's program is where its sandbox sees it.
fn flatpak_view(r: &mut Report, steam: &FlatpakSteam) {
    let installed = match steam.installed.as_slice() {
        [] => "its home exists".to_owned(),
        list => format!(
            "{}installed {}",
            if steam.has_run { "" } else { "not run yet, " },
            list.iter()
                .map(|i| match i {
                    Installation::User => "for you (--user)",
                    Installation::System => "system-wide",
                })
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    };
    r.ok(
        "Flatpak Steam",
        format!("{} ({installed})", steam.app_home.display()),
    );
    const SHM: &str = "Flatpak Steam's /dev/shm";
    let dev_shm = steam.dev_shm();
    if let Some(file) = &dev_shm.shared_by {
        r.ok(
            SHM,
            format!(
                "the host's, shared by the override in {} (--device=shm): Linux readers see \
                 the games' pages at /dev/shm/NAME",
                file.display()
            ),
        );
    } else if dev_shm.per_app.as_ref().is_some_and(|(asked, _)| !asked) {
        let file = dev_shm
            .per_app
            .as_ref()
            .map(|(_, f)| f.display().to_string());
        r.missing(
            SHM,
            format!(
                "private to each game ({} takes away per-app-dev-shm), so no Linux program \
                 sees the pages; share the host's: {}, then restart Steam",
                file.unwrap_or_default(),
                flatpak::SHARE_SHM
            ),
        );
    } else {
        let conditional = dev_shm
            .conditional
            .map(|f| format!(" ({} shares it only under a condition)", f.display()))
            .unwrap_or_default();
        r.warn(
            SHM,
            format!(
                "its own directory, /dev/shm/flatpak-{}-XXXXXX on the host{conditional}: \
                 `shm-bridge list`, `watch` and `clean` find the pages there, but other Linux \
                 readers (simapi, TinyPedal...) look in /dev/shm; for them: {}, then restart Steam",
                flatpak::STEAM,
                flatpak::SHARE_SHM
            ),
        );
    }
    const PROGRAM: &str = "shm-bridge in Flatpak Steam";
    let place = in_sandbox(steam);
    if place.program.is_file() && place.exe.is_file() {
        r.ok(
            PROGRAM,
            format!(
                "{} and the Windows side beside it, where the sandbox sees them",
                place.program.display()
            ),
        );
    } else {
        r.missing(
            PROGRAM,
            format!(
                "the sandbox does not see your home's programs; install them in its home \
                 with `cargo xtask install --prefix {}`",
                place.prefix.display()
            ),
        );
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
