//! A fake Steam for the tests of `shm-bridge launch`: stand-ins for
//! `reaper`, `steam-launch-wrapper` and `proton` (which does what
//! `waitforexitandrun` does: prefix from `STEAM_COMPAT_DATA_PATH`, then
//! `wine`), and for the Steam Linux Runtime's container.
// Each test binary uses a part of it.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use shm_tests::nonce;
use shm_tests::wine;

pub const RUNTIME: &str = "SteamLinuxRuntime_sniper";
pub const ENTRY_POINT: &str = "SteamLinuxRuntime_sniper/_v2-entry-point";

/// The Steam Linux Runtime's entry point: runs the command in a bwrap
/// container sharing host paths as pressure-vessel does where it matters
/// here: the host's `/usr` is under `/run/host` (bound before anything
/// hides part of it), `/opt` and `/usr/local` are not the host's (the
/// runtime brings its own `/usr`; Wine stays the host's here), and each
/// directory in `STEAM_COMPAT_MOUNTS` is shared.
pub const CONTAINER: &str = r#"#!/bin/sh
while [ "$#" -gt 0 ] && [ "$1" != -- ]; do shift; done
shift
mounts=""
old_ifs=$IFS
IFS=:
for dir in $STEAM_COMPAT_MOUNTS; do
    if [ -n "$dir" ] && [ -e "$dir" ]; then mounts="$mounts --bind $dir $dir"; fi
done
IFS=$old_ifs
exec bwrap --dev-bind / / --tmpfs /run --ro-bind /usr /run/host/usr \
    --tmpfs /opt --tmpfs /usr/local $mounts -- "$@"
"#;

/// A fake Steam installation: wrapper scripts and a compatdata directory
/// whose `pfx` is the tests' Wine prefix.
pub struct FakeSteam {
    root: PathBuf,
}

impl FakeSteam {
    pub fn new() -> FakeSteam {
        FakeSteam::with_prefix(&wine::prefix())
    }

    /// One whose game's compatdata holds `prefix`.
    pub fn with_prefix(prefix: &Path) -> FakeSteam {
        let root = std::env::temp_dir().join(format!("shm-test-steam-{}", nonce()));
        std::fs::create_dir_all(root.join("compatdata")).unwrap();
        std::os::unix::fs::symlink(prefix, root.join("compatdata/pfx")).unwrap();
        // reaper and steam-launch-wrapper: skip their own arguments up to `--`.
        let pass_through = "#!/bin/sh\nwhile [ \"$#\" -gt 0 ] && [ \"$1\" != -- ]; do shift; done\nshift\nexec \"$@\"\n";
        // proton: `proton VERB GAME.exe ARGS` runs the game in $STEAM_COMPAT_DATA_PATH/pfx.
        let proton = "#!/bin/sh\nverb=$1; shift\ncase $verb in waitforexitandrun|run) ;; *) echo \"proton: unknown verb $verb\" >&2; exit 2;; esac\nexport WINEPREFIX=\"$STEAM_COMPAT_DATA_PATH/pfx\"\nexec wine \"$@\"\n";
        std::fs::create_dir(root.join(RUNTIME)).unwrap();
        for (name, text) in [
            ("reaper", pass_through),
            ("steam-launch-wrapper", pass_through),
            ("proton", proton),
            (ENTRY_POINT, CONTAINER),
        ] {
            let path = root.join(name);
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        FakeSteam { root }
    }

    /// `%command%` for running `exe ARGS` as Steam would.
    pub fn command(&self, exe: &Path, args: &[&str]) -> Vec<String> {
        self.command_through(&[], exe, args)
    }

    /// `%command%` for running `exe ARGS` as Steam does in its container.
    pub fn command_in_container(&self, exe: &Path, args: &[&str]) -> Vec<String> {
        let entry = self.root.join(ENTRY_POINT).display().to_string();
        self.command_through(&[&entry, "--verb=waitforexitandrun", "--"], exe, args)
    }

    fn command_through(&self, runtime: &[&str], exe: &Path, args: &[&str]) -> Vec<String> {
        let mut cmd = vec![
            self.root.join("reaper").display().to_string(),
            "SteamLaunch".into(),
            "AppId=805550".into(),
            "--".into(),
            self.root.join("steam-launch-wrapper").display().to_string(),
            "--".into(),
        ];
        cmd.extend(runtime.iter().map(|s| s.to_string()));
        cmd.extend([
            self.root.join("proton").display().to_string(),
            "waitforexitandrun".into(),
            exe.display().to_string(),
        ]);
        cmd.extend(args.iter().map(|s| s.to_string()));
        cmd
    }

    pub fn compatdata(&self) -> PathBuf {
        self.root.join("compatdata")
    }
}

impl Drop for FakeSteam {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
