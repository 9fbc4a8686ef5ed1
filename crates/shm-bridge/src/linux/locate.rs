//! Finding the Windows side: `shm-bridge.exe`, the demo's `sim-standin.exe`
//! and the `bcryptprimitives.dll` shim that Wine before 8.13 needs beside them.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::linux::xdg;

/// Where the Windows programs may be, in the order searched.
pub fn search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("SHM_BRIDGE_EXE_DIR") {
        dirs.push(PathBuf::from(dir));
    }
    if let Some(here) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_owned))
    {
        dirs.push(here.clone());
        dirs.push(here.join("../share/shm-bridge"));
        // A development build: target/<profile>/shm-bridge beside
        // target/x86_64-pc-windows-gnu/<profile>/shm-bridge.exe.
        if let (Some(profile), Some(target)) = (here.file_name(), here.parent()) {
            dirs.push(target.join("x86_64-pc-windows-gnu").join(profile));
        }
    }
    if let Some(data) = xdg::data() {
        dirs.push(data);
    }
    dirs
}

/// The Windows program `file` (e.g. `shm-bridge.exe`): `explicit` if given,
/// else the first of [`search_dirs`] that has it.
pub fn windows_program(file: &str, explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        if !path.is_file() {
            bail!("{} does not exist (or is not a file)", path.display());
        }
        return Ok(absolute(path));
    }
    let dirs = search_dirs();
    if let Some(found) = dirs.iter().map(|d| d.join(file)).find(|p| p.is_file()) {
        return Ok(absolute(&found));
    }
    bail!(
        "{file} not found; looked in {}. Install the Windows side with `cargo xtask install` \
         (see the README), or say where it is with SHM_BRIDGE_EXE_DIR",
        dirs.iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// `wine --version` (`wine-8.0 (Debian 8.0~repack-4)`), or `None` without Wine.
pub fn wine_version() -> Option<String> {
    let out = std::process::Command::new("wine")
        .arg("--version")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The shim Wine before 8.13 needs beside our exes, if it is there.
pub fn shim_beside(exe: &Path) -> Option<PathBuf> {
    let dll = exe.parent()?.join("bcryptprimitives.dll");
    dll.is_file().then_some(dll)
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
}
