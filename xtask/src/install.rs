//! `cargo xtask install [--prefix DIR]`: release builds of both sides, put
//! where `shm-bridge launch` looks for the Windows side.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use etcetera::BaseStrategy;

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
    /// `~/.local/share/shm-bridge`), where the bridge looks.
    fn new(prefix: Option<PathBuf>) -> Result<Layout> {
        if let Some(prefix) = prefix {
            return Ok(Layout {
                bin: prefix.join("bin"),
                data: prefix.join("share/shm-bridge"),
            });
        }
        let xdg = etcetera::base_strategy::Xdg::new()
            .context("no home directory (HOME is not set); pass --prefix DIR")?;
        Ok(Layout {
            bin: xdg.home_dir().join(".local/bin"),
            data: xdg.data_dir().join("shm-bridge"),
        })
    }
}

pub fn run(prefix: Option<PathBuf>) -> Result<()> {
    let layout = Layout::new(prefix)?;
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
    use std::process::Command;

    use super::*;

    /// The layout this test process's environment gives, as `bin data`
    /// (run by the test below in a child with the environment it sets).
    #[test]
    #[ignore = "run by where_install_puts_things_follows_xdg_data_home"]
    fn print_layout() {
        let prefix = std::env::var_os("LAYOUT_PREFIX").map(PathBuf::from);
        let layout = Layout::new(prefix).unwrap();
        println!("layout: {} {}", layout.bin.display(), layout.data.display());
    }

    /// The layout the same test binary prints with `env` set.
    fn layout_with(env: &[(&str, &str)]) -> String {
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "install::tests::print_layout", "--ignored"])
            .args(["--nocapture", "--test-threads=1"])
            .env_remove("XDG_DATA_HOME")
            .env_remove("LAYOUT_PREFIX")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        stdout
            .lines()
            .find_map(|l| l.split_once("layout: ").map(|(_, layout)| layout))
            .unwrap_or_else(|| panic!("no layout printed: {stdout}"))
            .to_owned()
    }

    #[test]
    fn where_install_puts_things_follows_xdg_data_home() {
        assert_eq!(
            layout_with(&[("HOME", "/home/racer")]),
            "/home/racer/.local/bin /home/racer/.local/share/shm-bridge"
        );
        assert_eq!(
            layout_with(&[("HOME", "/home/racer"), ("XDG_DATA_HOME", "/data/racer")]),
            "/home/racer/.local/bin /data/racer/shm-bridge"
        );
        // The XDG specification ignores relative paths; so does the bridge.
        assert_eq!(
            layout_with(&[("HOME", "/home/racer"), ("XDG_DATA_HOME", "data")]),
            "/home/racer/.local/bin /home/racer/.local/share/shm-bridge"
        );
        assert_eq!(
            layout_with(&[
                ("XDG_DATA_HOME", "/data/racer"),
                ("LAYOUT_PREFIX", "/opt/sb")
            ]),
            "/opt/sb/bin /opt/sb/share/shm-bridge"
        );
    }
}
