//! `cargo xtask test`: every test (the under-Wine ones on this machine's
//! Wine and again on Wine 10), the lints and the fuzz targets, then a check
//! that the tests left nothing behind.

use std::collections::BTreeSet;
use std::process::Command;

use anyhow::{Result, bail};

use crate::process::{cargo, run as run_cmd};
use crate::windows::{self, WINDOWS};
use crate::{fuzz, leftovers, lint, setup, wine10};

pub fn run() -> Result<()> {
    setup::run(setup::Scope::Everything)?;
    let before = leftovers::find();
    let windows_dir = windows::build(windows::Profile::Debug)?;
    let prefix = windows::prefix()?;
    // Keep the wineserver up between the tests' Wine programs: each start
    // then takes about 25 ms instead of 300 (Debian's default is to exit).
    // (It fails when one runs already, which serves as well.)
    let _ = Command::new("wineserver")
        .arg("-p")
        .env("WINEPREFIX", &prefix)
        .status();
    let path = windows::path_with_wine_fixed_heap()?;
    let with_wine = |c: &mut Command| {
        c.env("PATH", &path)
            .env("WINEPREFIX", &prefix)
            .env("WINEDEBUG", "-all")
            .env("SHM_BRIDGE_WIN_DIR", &windows_dir);
    };
    let result = (|| {
        let mut host = cargo();
        host.args(["test", "--workspace"]);
        with_wine(&mut host);
        run_cmd(&mut host)?;
        let mut windows = cargo();
        windows
            .args(["test", "--target", WINDOWS])
            .args(windows::TEST_PACKAGES);
        with_wine(&mut windows);
        run_cmd(&mut windows)?;
        wine10::run(&windows_dir)?;
        lint::run()?;
        crate::shmem_checks::run()?;
        fuzz::run(fuzz::SECONDS_CI)
    })();
    let _ = Command::new("wineserver")
        .arg("-k")
        .env("WINEPREFIX", &prefix)
        .status();
    result?;
    nothing_left_since(&before)?;
    eprintln!("xtask: every test passed; nothing was left in /dev/shm, SysV or mounted");
    Ok(())
}

/// `cargo xtask test-wine10`: the second run alone.
pub fn run_wine10() -> Result<()> {
    setup::run(setup::Scope::Everything)?;
    let before = leftovers::find();
    let windows_dir = windows::build(windows::Profile::Debug)?;
    wine10::run(&windows_dir)?;
    nothing_left_since(&before)?;
    eprintln!("xtask: every test passed on Wine 10; nothing was left in /dev/shm, SysV or mounted");
    Ok(())
}

fn nothing_left_since(before: &BTreeSet<String>) -> Result<()> {
    let left: Vec<String> = leftovers::find().difference(before).cloned().collect();
    if !left.is_empty() {
        bail!("the tests left behind: {}", left.join(", "));
    }
    Ok(())
}
