//! `cargo xtask setup`: installs what a fresh Debian/Ubuntu machine lacks,
//! asking for nothing that is there.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::process::{have, is_root, run as run_cmd};
use crate::windows::WINDOWS;

/// Targets whose backends must at least compile here.
pub const CHECK_ONLY: [&str; 3] = [
    "x86_64-apple-darwin",
    "aarch64-linux-android",
    "x86_64-unknown-freebsd",
];
const APT_PACKAGES: [&str; 3] = ["wine", "wine64", "gcc-mingw-w64-x86-64"];

/// What to set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Building and running the Windows side (demo, install, bench).
    WindowsSide,
    /// Everything the tests and lints need as well.
    Everything,
}

/// Installs missing apt packages, rustup targets and components.
pub fn run(scope: Scope) -> Result<()> {
    let everything = scope == Scope::Everything;
    let mut packages: Vec<&str> = Vec::new();
    if !(have("wine") && have("wineserver") && have("x86_64-w64-mingw32-gcc")) {
        packages.extend(APT_PACKAGES);
    }
    // The tests' stand-in for Steam's container is a bwrap sandbox, as the
    // real one is; the Wine 10 run's chroot is made by debootstrap.
    if everything && !have("bwrap") {
        packages.push("bubblewrap");
    }
    if everything && !have("debootstrap") {
        packages.push("debootstrap");
    }
    // `serve`'s tests: a Mosquitto broker of their own (in /usr/sbin, which
    // a user's PATH may lack) and the dashboard in headless Chromium.
    if everything && !(have("mosquitto") || Path::new("/usr/sbin/mosquitto").exists()) {
        packages.push("mosquitto");
    }
    if everything && !have("chromium") {
        packages.push("chromium");
    }
    // The library's interop tests: AFL++ (afl-cc, afl-showmap), clang, Python.
    if everything {
        packages.extend(crate::shmem_checks::missing_packages());
    }
    if !packages.is_empty() {
        apt_install(&packages)?;
    }
    let wanted: Vec<&str> = if everything {
        std::iter::once(WINDOWS).chain(CHECK_ONLY).collect()
    } else {
        vec![WINDOWS]
    };
    let installed = rustup_list(&["target", "list", "--installed"])
        .context("rustup is needed to add the Windows target (https://rustup.rs)")?;
    let missing: Vec<&str> = wanted
        .into_iter()
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if !missing.is_empty() {
        run_cmd(
            Command::new("rustup")
                .args(["target", "add"])
                .args(&missing),
        )?;
    }
    if everything {
        let components = rustup_list(&["component", "list", "--installed"])?;
        for component in ["clippy", "rustfmt"] {
            if !components.lines().any(|l| l.starts_with(component)) {
                run_cmd(Command::new("rustup").args(["component", "add", component]))?;
            }
        }
    }
    Ok(())
}

fn rustup_list(args: &[&str]) -> Result<String> {
    let out = Command::new("rustup").args(args).output()?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn apt_install(packages: &[&str]) -> Result<()> {
    let missing = packages.join(" ");
    if !have("apt-get") {
        bail!(
            "missing: {missing} (Wine 64-bit, the MinGW-w64 linker x86_64-w64-mingw32-gcc, \
             bwrap, debootstrap, mosquitto and chromium for the tests); install your distribution's packages for \
             them, then rerun"
        );
    }
    let sudo: &[&str] = if is_root() {
        &[]
    } else if have("sudo") {
        &["sudo"]
    } else {
        bail!("missing: {missing}; as root run: apt-get install {missing}");
    };
    let apt = |args: &[&str]| {
        let mut c = Command::new(sudo.first().copied().unwrap_or("apt-get"));
        if !sudo.is_empty() {
            c.arg("apt-get");
        }
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    run_cmd(&mut apt(&["update", "-q"]))?;
    let mut install = apt(&["install", "-y", "-q", "--no-install-recommends"]);
    install.args(packages);
    run_cmd(&mut install)
}
