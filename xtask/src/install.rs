//! `cargo xtask install [--prefix DIR]`: release builds of both sides, put
//! where `shm-bridge launch` looks for the Windows side.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::process::{cargo, run as run_cmd, target_dir};
use crate::{setup, windows};

/// Where the two sides go.
#[derive(Debug, PartialEq, Eq)]
struct Layout {
    /// The Linux program's directory.
    bin: PathBuf,
    /// The Windows side's directory.
    data: PathBuf,
}

impl Layout {
    /// `DIR/bin` and `DIR/share/shm-bridge` with a prefix; else
    /// `~/.local/bin` and `$XDG_DATA_HOME/shm-bridge` (by default
    /// `~/.local/share/shm-bridge`), where the bridge looks. `var` reads
    /// the environment.
    fn new(prefix: Option<PathBuf>, var: impl Fn(&str) -> Option<OsString>) -> Result<Layout> {
        if let Some(prefix) = prefix {
            return Ok(Layout {
                bin: prefix.join("bin"),
                data: prefix.join("share/shm-bridge"),
            });
        }
        let home = var("HOME")
            .map(PathBuf::from)
            .filter(|h| h.is_absolute())
            .context("no home directory (HOME is not set); pass --prefix DIR")?;
        // The XDG base directory specification ignores a relative value.
        let data = var("XDG_DATA_HOME")
            .map(PathBuf::from)
            .filter(|d| d.is_absolute())
            .unwrap_or_else(|| home.join(".local/share"));
        Ok(Layout {
            bin: home.join(".local/bin"),
            data: data.join("shm-bridge"),
        })
    }
}

pub fn run(prefix: Option<PathBuf>) -> Result<()> {
    let layout = Layout::new(prefix, |name| std::env::var_os(name))?;
    setup::run(setup::Scope::WindowsSide)?;
    let windows_dir = windows::build(windows::Profile::Release)?;
    run_cmd(cargo().args(["build", "--release", "-p", "shm-bridge"]))?;
    for dir in [&layout.bin, &layout.data] {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    copy(
        &target_dir().join("release/shm-bridge"),
        &layout.bin.join("shm-bridge"),
    )?;
    for file in ["shm-bridge.exe", "sim-standin.exe", "bcryptprimitives.dll"] {
        copy(&windows_dir.join(file), &layout.data.join(file))?;
    }
    eprintln!(
        "installed {} and the Windows side in {}; check with: shm-bridge doctor",
        layout.bin.join("shm-bridge").display(),
        layout.data.display()
    );
    Ok(())
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to)
        .with_context(|| format!("copy {} to {}", from.display(), to.display()))?;
    eprintln!("  {}", to.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout in an environment holding `env` only.
    fn layout_with(prefix: Option<&str>, env: &[(&str, &str)]) -> String {
        let layout = Layout::new(prefix.map(PathBuf::from), |name| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        })
        .unwrap();
        format!("{} {}", layout.bin.display(), layout.data.display())
    }

    #[test]
    fn where_install_puts_things_follows_xdg_data_home() {
        assert_eq!(
            layout_with(None, &[("HOME", "/home/racer")]),
            "/home/racer/.local/bin /home/racer/.local/share/shm-bridge"
        );
        assert_eq!(
            layout_with(
                None,
                &[("HOME", "/home/racer"), ("XDG_DATA_HOME", "/data/racer")]
            ),
            "/home/racer/.local/bin /data/racer/shm-bridge"
        );
        // The XDG specification ignores relative paths; so does the bridge.
        assert_eq!(
            layout_with(None, &[("HOME", "/home/racer"), ("XDG_DATA_HOME", "data")]),
            "/home/racer/.local/bin /home/racer/.local/share/shm-bridge"
        );
        assert_eq!(
            layout_with(Some("/opt/sb"), &[("XDG_DATA_HOME", "/data/racer")]),
            "/opt/sb/bin /opt/sb/share/shm-bridge"
        );
        assert!(Layout::new(None, |_| None).is_err(), "no home, no prefix");
    }
}
