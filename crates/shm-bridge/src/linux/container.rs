//! Steam's container (the Steam Linux Runtime's pressure-vessel): Proton
//! games run inside it, and it shows the game only some host paths, some of
//! them elsewhere. `launch` names the bridge exe and the tmpfs in the game's
//! command, so both must be paths the container sees.
//!
//! The rules follow steam-runtime-tools' `docs/shared-paths.md`: `/tmp`,
//! `/dev` and the home directory (with the removable-media directories that
//! follow it) are shared as they are; the host's `/usr` and `/etc` appear
//! under `/run/host`; `/run`, `/boot`, `/root` are never shared; any other
//! directory (`/opt`, `/srv`, a custom one) is shared only when named in
//! `STEAM_COMPAT_MOUNTS`.

use std::path::{Path, PathBuf};

/// The variable pressure-vessel reads for more directories to share.
pub const MOUNTS_VAR: &str = "STEAM_COMPAT_MOUNTS";

/// Whether the command runs its program in Steam's container: its entry
/// point (`SteamLinuxRuntime_sniper/_v2-entry-point`, or soldier's `run`)
/// comes before it.
pub fn in_command(args: &[String]) -> bool {
    args.iter().any(|arg| {
        let path = Path::new(arg);
        path.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with("-entry-point"))
            || path.components().any(|c| {
                c.as_os_str()
                    .to_str()
                    .is_some_and(|c| c.starts_with("SteamLinuxRuntime"))
            })
    })
}

/// How the container shows a host path.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    /// At the same path.
    Same,
    /// At another path.
    At(PathBuf),
    /// Only once its directory is named in [`MOUNTS_VAR`].
    IfMounted,
    /// Not at all.
    Never,
}

/// Where the container shows `path` (absolute, symlinks resolved), given the
/// home directory and whether the home is shared (it is unless the user set
/// `PRESSURE_VESSEL_SHARE_HOME=0`).
pub fn seen(path: &Path, home: Option<&Path>, home_shared: bool) -> Seen {
    let under = |dir: &str| path.starts_with(dir);
    let with_home = if home_shared {
        Seen::Same
    } else {
        Seen::IfMounted
    };
    if home.is_some_and(|h| h != Path::new("/") && path.starts_with(h)) {
        return with_home;
    }
    if ["/tmp", "/dev", "/proc", "/sys", "/nix", "/gnu"]
        .into_iter()
        .any(under)
    {
        return Seen::Same;
    }
    if ["/media", "/mnt", "/run/media", "/var/tmp"]
        .into_iter()
        .any(under)
    {
        return with_home;
    }
    // The host's OS, bound under /run/host (/var/usrlocal is /usr/local on
    // ostree systems; /bin and /lib* are themselves before the /usr merge).
    let host_os = [
        "/usr",
        "/var/usrlocal",
        "/etc",
        "/bin",
        "/sbin",
        "/lib",
        "/lib32",
        "/lib64",
        "/libx32",
    ];
    if host_os.into_iter().any(under) {
        let inside = path.strip_prefix("/").unwrap_or(path);
        return Seen::At(Path::new("/run/host").join(inside));
    }
    if ["/run", "/root", "/boot", "/app", "/overrides"]
        .into_iter()
        .any(under)
    {
        return Seen::Never;
    }
    Seen::IfMounted
}

/// [`seen`] for this process's home and environment.
pub fn seen_here(path: &Path) -> Seen {
    // Resolved as `path` is (on ostree systems /home is a link to /var/home).
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .map(|h| std::fs::canonicalize(&h).unwrap_or(h));
    let home_shared = std::env::var_os("PRESSURE_VESSEL_SHARE_HOME").is_none_or(|v| v != "0");
    seen(path, home.as_deref(), home_shared)
}

/// `STEAM_COMPAT_MOUNTS` with `dirs` added to what it held.
pub fn mounts_with(current: Option<&str>, dirs: &[PathBuf]) -> String {
    let mut all: Vec<String> = current
        .unwrap_or("")
        .split(':')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    for dir in dirs {
        let dir = dir.display().to_string();
        if !all.contains(&dir) {
            all.push(dir);
        }
    }
    all.join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    fn at(path: &str) -> Seen {
        seen(Path::new(path), Some(Path::new("/home/u")), true)
    }

    #[test]
    fn finds_the_runtime_in_a_steam_command() {
        let steam = strings(&[
            "/home/u/.steam/steam/ubuntu12_32/reaper",
            "SteamLaunch",
            "--",
            "/home/u/.steam/steam/steamapps/common/SteamLinuxRuntime_sniper/_v2-entry-point",
            "--verb=waitforexitandrun",
            "--",
            "/home/u/.steam/steam/steamapps/common/Proton 9.0/proton",
            "waitforexitandrun",
        ]);
        assert!(in_command(&steam));
        // Proton 5.13's soldier runtime: `/run %verb%` in its manifest.
        let soldier = strings(&[
            "/home/u/.steam/steam/steamapps/common/SteamLinuxRuntime_soldier/run",
            "waitforexitandrun",
            "--",
        ]);
        assert!(in_command(&soldier));
        let plain = strings(&["env", "WINEPREFIX=/p", "/usr/bin/wine"]);
        assert!(!in_command(&plain));
    }

    #[test]
    fn home_tmp_and_dev_are_shared_as_they_are() {
        assert_eq!(
            at("/home/u/.local/share/shm-bridge/shm-bridge.exe"),
            Seen::Same
        );
        assert_eq!(at("/tmp/x/shm-bridge.exe"), Seen::Same);
        assert_eq!(at("/dev/shm"), Seen::Same);
        assert_eq!(at("/mnt/games/x.exe"), Seen::Same);
        // A path that only starts like the home is not in it.
        assert_eq!(at("/home/user2/x.exe"), Seen::IfMounted);
    }

    #[test]
    fn the_hosts_usr_is_under_run_host() {
        assert_eq!(
            at("/usr/local/share/shm-bridge/shm-bridge.exe"),
            Seen::At("/run/host/usr/local/share/shm-bridge/shm-bridge.exe".into())
        );
        assert_eq!(
            at("/var/usrlocal/share/x.exe"),
            Seen::At("/run/host/var/usrlocal/share/x.exe".into())
        );
    }

    #[test]
    fn other_directories_need_mounting_and_run_is_never_seen() {
        assert_eq!(at("/opt/shm-bridge/shm-bridge.exe"), Seen::IfMounted);
        assert_eq!(at("/srv/x.exe"), Seen::IfMounted);
        assert_eq!(at("/var/lib/x.exe"), Seen::IfMounted);
        assert_eq!(at("/run/user/1000"), Seen::Never);
        assert_eq!(at("/root/x.exe"), Seen::Never);
        // Root's home is its own.
        assert_eq!(
            seen(Path::new("/root/x.exe"), Some(Path::new("/root")), true),
            Seen::Same
        );
    }

    #[test]
    fn a_private_home_needs_mounting() {
        let p = Path::new("/home/u/.local/share/shm-bridge/shm-bridge.exe");
        assert_eq!(seen(p, Some(Path::new("/home/u")), false), Seen::IfMounted);
        assert_eq!(seen(Path::new("/tmp/x"), None, false), Seen::Same);
    }

    #[test]
    fn mounts_keep_what_was_there_once() {
        let dirs = [PathBuf::from("/opt/a"), PathBuf::from("/srv/b")];
        assert_eq!(mounts_with(None, &dirs), "/opt/a:/srv/b");
        assert_eq!(mounts_with(Some("/x::/opt/a"), &dirs), "/x:/opt/a:/srv/b");
    }
}
