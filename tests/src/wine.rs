//! Running this project's Windows programs under the real Wine.
//!
//! `cargo xtask test` builds them for x86_64-pc-windows-gnu, boots a
//! private prefix under `target/`, and passes both locations in
//! `SHM_BRIDGE_WIN_DIR` and `WINEPREFIX`; without those, the same places
//! are derived from where this test binary lives.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `target/` of this build: test binaries live in `target/<profile>/deps/`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors()
        .nth(3)
        .expect("test binaries live in target/<profile>/deps")
        .to_owned()
}

/// Where the Windows programs are.
pub fn windows_dir() -> PathBuf {
    std::env::var_os("SHM_BRIDGE_WIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("x86_64-pc-windows-gnu/debug"))
}

/// The Windows program `name` (without `.exe`); panics with what to run if
/// it was not built.
pub fn exe(name: &str) -> PathBuf {
    let path = windows_dir().join(format!("{name}.exe"));
    assert!(
        path.exists() && windows_dir().join("bcryptprimitives.dll").exists(),
        "{} is missing: build the Windows side first with `cargo xtask build-windows` \
         (or run everything with `cargo xtask test`)",
        path.display()
    );
    path
}

/// The Wine prefix the tests share.
pub fn prefix() -> PathBuf {
    std::env::var_os("WINEPREFIX")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("wine-prefix"))
}

/// `wine EXE` in the tests' prefix, quiet.
pub fn command(exe: &Path) -> Command {
    let mut cmd = Command::new("wine");
    cmd.arg(exe)
        .env("WINEPREFIX", prefix())
        .env("WINEDEBUG", "-all");
    cmd
}

/// A Unix path as the `Z:` drive of a default prefix shows it.
pub fn z_path(path: &Path) -> String {
    format!("Z:{}", path.display().to_string().replace('/', "\\"))
}
