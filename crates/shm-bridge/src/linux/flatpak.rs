//! Steam as a Flatpak (`com.valvesoftware.Steam` from Flathub): where its
//! sandbox keeps the games' `/dev/shm`, where its home is, and whether the
//! host's `/dev/shm` is shared with it.
//!
//! From the Flathub manifest (`com.valvesoftware.Steam.yml`, finish-args)
//! and flatpak's own sources:
//! - `--device=all` with `--allow=per-app-dev-shm`: flatpak
//!   (`common/flatpak-run.c`) binds over the sandbox's `/dev/shm` one host
//!   directory that every instance of the app shares, made by
//!   `common/flatpak-instance.c` as `/dev/shm/flatpak-APPID-XXXXXX`
//!   (`mkdtemp`, with a `.flatpak-tmpdir` flag file in it) and pointed at by
//!   the link `$XDG_RUNTIME_DIR/.flatpak/APPID/dev-shm`. The games' pages
//!   are there, not in the host's `/dev/shm`.
//! - The `shm` device wins over that feature (`doc/flatpak-metadata.xml`:
//!   "If the application has the shm device permission in its devices
//!   list, then this feature flag is ignored"): `flatpak override --user
//!   --device=shm com.valvesoftware.Steam` shares the host's `/dev/shm`.
//! - `--persist=.` and no access to the home directory: the sandbox's home,
//!   at the real home's path, is the host's `~/.var/app/APPID`, which is
//!   also shown at its own path (`common/flatpak-context.c`); the real
//!   home's `~/.local` is not seen.
//! - Overrides (`doc/flatpak-override.xml`, `common/flatpak-dir.c`): key
//!   files `overrides/global` and `overrides/APPID` under the user
//!   installation (`$XDG_DATA_HOME/flatpak`, or `$FLATPAK_USER_DIR`) and,
//!   for a system-wide app, the system one (`/var/lib/flatpak`, or
//!   `$FLATPAK_SYSTEM_DIR`); group `[Context]`, keys `devices` and
//!   `features`, `;`-separated, `NAME` granting and `!NAME` taking away;
//!   applied over the app's own metadata in the order system global,
//!   system app, user global, user app.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::linux::untrusted;

/// Steam's Flatpak app id.
pub const STEAM: &str = "com.valvesoftware.Steam";
/// The directory flatpak makes its per-app `/dev/shm` directories in.
pub const HOST_DEV_SHM: &str = "/dev/shm";
/// The file flatpak puts in each per-app `/dev/shm` directory it makes.
pub const FLAG_FILE: &str = ".flatpak-tmpdir";
/// The command that shares the host's `/dev/shm` with Flatpak Steam.
pub const SHARE_SHM: &str = "flatpak override --user --device=shm com.valvesoftware.Steam";
/// Bytes of a key file read at most (an override is a few lines).
const KEY_FILE_MAX: u64 = 1 << 20;

/// `~/.var/app/APPID`: the app's home in its sandbox.
pub fn app_home(home: &Path, app_id: &str) -> PathBuf {
    home.join(".var/app").join(app_id)
}

/// A flatpak installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installation {
    /// The user's own (`flatpak --user`).
    User,
    /// The system-wide one.
    System,
}

impl Installation {
    /// Its directory: `$FLATPAK_USER_DIR` or `$XDG_DATA_HOME/flatpak`;
    /// `$FLATPAK_SYSTEM_DIR` or `/var/lib/flatpak` (as flatpak-dir.c
    /// finds them; a distribution may build flatpak with another system
    /// directory, which is then not found).
    pub fn base(self) -> Option<PathBuf> {
        let (var, default) = match self {
            Installation::User => (
                "FLATPAK_USER_DIR",
                dirs::data_dir().map(|d| d.join("flatpak")),
            ),
            Installation::System => (
                "FLATPAK_SYSTEM_DIR",
                Some(PathBuf::from("/var/lib/flatpak")),
            ),
        };
        match std::env::var_os(var) {
            Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
            _ => default,
        }
    }
}

/// Flatpak Steam, as found on this machine.
#[derive(Debug, Clone)]
pub struct FlatpakSteam {
    /// Its home in the sandbox (`~/.var/app/com.valvesoftware.Steam`),
    /// made on its first run.
    pub app_home: PathBuf,
    /// Whether that directory exists.
    pub has_run: bool,
    /// The installations it is in.
    pub installed: Vec<Installation>,
}

impl FlatpakSteam {
    /// Flatpak Steam, if it is installed or its home exists.
    pub fn find() -> Option<FlatpakSteam> {
        let home = std::env::var_os("HOME").map(PathBuf::from)?;
        let app_home = app_home(&home, STEAM);
        let has_run = std::fs::metadata(&app_home).is_ok_and(|m| m.is_dir());
        let installed: Vec<Installation> = [Installation::User, Installation::System]
            .into_iter()
            .filter(|i| i.app_dir(STEAM).is_some_and(|d| d.is_dir()))
            .collect();
        (has_run || !installed.is_empty()).then_some(FlatpakSteam {
            app_home,
            has_run,
            installed,
        })
    }

    /// What the sandbox's `/dev/shm` is, by the app's metadata and the
    /// overrides that apply to it.
    pub fn dev_shm(&self) -> DevShm {
        let mut files = Vec::new();
        // The app's own metadata, from the installation flatpak runs
        // (the user's wins when both have it).
        let metadata = self
            .installed
            .iter()
            .filter_map(|i| i.app_dir(STEAM))
            .map(|d| d.join("current/active/metadata"))
            .find(|f| f.is_file());
        files.extend(metadata);
        // System overrides apply to a system-wide app only; when where it is
        // installed is unknown, both are read.
        let system = self.installed.is_empty() || self.installed == [Installation::System];
        let mut bases = Vec::new();
        if system {
            bases.extend(Installation::System.base());
        }
        bases.extend(Installation::User.base());
        for base in bases {
            for name in ["global", STEAM] {
                files.push(base.join("overrides").join(name));
            }
        }
        DevShm::from_layers(&files)
    }
}

impl Installation {
    /// `BASE/app/APPID`, where the app is deployed.
    fn app_dir(self, app_id: &str) -> Option<PathBuf> {
        self.base().map(|b| b.join("app").join(app_id))
    }
}

/// What the sandbox's `/dev/shm` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevShm {
    /// The host's, shared: the `shm` device is granted (by the file named).
    pub shared_by: Option<PathBuf>,
    /// The `shm` device is granted only under a condition (`if:shm:...`).
    pub conditional: Option<PathBuf>,
    /// Whether the per-app directory is asked for (`per-app-dev-shm`), and
    /// by which file; `None` when no file read says.
    pub per_app: Option<(bool, PathBuf)>,
}

impl DevShm {
    /// The state after each key file of `files` that exists is applied,
    /// in order.
    fn from_layers(files: &[PathBuf]) -> DevShm {
        let mut state = DevShm {
            shared_by: None,
            conditional: None,
            per_app: None,
        };
        for file in files {
            let Some(context) = read_context(file) else {
                continue;
            };
            match Grant::of("shm", context.devices.as_deref()) {
                Grant::Yes => {
                    state.shared_by = Some(file.clone());
                    state.conditional = None;
                }
                Grant::If => {
                    state.shared_by = None;
                    state.conditional = Some(file.clone());
                }
                Grant::No => {
                    state.shared_by = None;
                    state.conditional = None;
                }
                Grant::Unsaid => {}
            }
            match Grant::of("per-app-dev-shm", context.features.as_deref()) {
                Grant::Yes | Grant::If => state.per_app = Some((true, file.clone())),
                Grant::No => state.per_app = Some((false, file.clone())),
                Grant::Unsaid => {}
            }
        }
        state
    }
}

/// What one key file says of one permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    Yes,
    /// Only under a condition (flatpak 1.17's `if:NAME:CONDITION`).
    If,
    No,
    Unsaid,
}

impl Grant {
    /// The grant of `name` in a `;`-separated list such as `dri;!shm;`.
    fn of(name: &str, list: Option<&str>) -> Grant {
        let Some(list) = list else {
            return Grant::Unsaid;
        };
        let entries: Vec<&str> = list.split(';').map(str::trim).collect();
        let conditional = format!("if:{name}:");
        if entries.iter().any(|e| e.starts_with(&conditional)) {
            Grant::If
        } else if entries.contains(&name) {
            Grant::Yes
        } else if entries.iter().any(|e| e.strip_prefix('!') == Some(name)) {
            Grant::No
        } else {
            Grant::Unsaid
        }
    }
}

/// The `[Context]` keys of a flatpak key file that matter here.
#[derive(Debug, Default, PartialEq, Eq)]
struct Context {
    devices: Option<String>,
    features: Option<String>,
}

/// Reads `[Context]`'s `devices` and `features` from the key file `path`
/// (`None` if it cannot be read).
fn read_context(path: &Path) -> Option<Context> {
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(KEY_FILE_MAX)
        .read_to_string(&mut text)
        .ok()?;
    Some(parse_context(&text))
}

/// `[Context]`'s `devices` and `features` in a GLib key file: `[Group]`
/// lines, `key=value` lines (blanks around `=` ignored), `#` comments; a
/// key given twice keeps its last value.
fn parse_context(text: &str) -> Context {
    let mut context = Context::default();
    let mut in_context = false;
    for line in text.lines() {
        let line = line.trim_start();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(group) = line.strip_prefix('[') {
            in_context = group.trim_end().strip_suffix(']') == Some("Context");
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if !in_context {
            continue;
        }
        let value = Some(value.trim().to_owned());
        match key.trim_end() {
            "devices" => context.devices = value,
            "features" => context.features = value,
            _ => {}
        }
    }
    context
}

/// The per-app `/dev/shm` directories of Flatpak Steam that are this
/// user's: the one its `dev-shm` link names, else every directory of
/// flatpak's making in `/dev/shm` (the link is gone, or no
/// `XDG_RUNTIME_DIR` is set).
pub fn steam_dev_shm_dirs() -> Vec<PathBuf> {
    per_app_dev_shm_dirs(
        STEAM,
        std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from),
    )
}

/// [`steam_dev_shm_dirs`] for any app, with the runtime directory given.
fn per_app_dev_shm_dirs(app_id: &str, runtime_dir: Option<PathBuf>) -> Vec<PathBuf> {
    // Resolved as flatpak resolves it (`/var/run` may be a link to `/run`).
    let linked = runtime_dir
        .filter(|d| d.is_absolute())
        .and_then(|d| std::fs::canonicalize(d).ok())
        .and_then(|d| std::fs::read_link(d.join(".flatpak").join(app_id).join("dev-shm")).ok())
        .filter(|target| is_per_app_dir(target, app_id));
    if let Some(dir) = linked {
        return vec![dir];
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(HOST_DEV_SHM)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| Path::new(HOST_DEV_SHM).join(e.file_name()))
        .filter(|path| is_per_app_dir(path, app_id))
        .collect();
    found.sort();
    found
}

/// Whether `path` is a per-app `/dev/shm` directory flatpak made for
/// `app_id` and this user: named `/dev/shm/flatpak-APPID-XXXXXX`, a
/// directory (not a link to one) of this user's, holding the flag file.
/// Anyone may make a directory by that name in `/dev/shm`; only the owner
/// can remove or rename it there (the directory is sticky), so one that
/// passes stays what it was.
fn is_per_app_dir(path: &Path, app_id: &str) -> bool {
    let prefix = format!("flatpak-{app_id}-");
    let named = path.parent() == Some(Path::new(HOST_DEV_SHM))
        && path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix(&prefix))
            .is_some_and(|rest| !rest.is_empty());
    if !named {
        return false;
    }
    let ours = |p: &Path, dir: bool| {
        std::fs::symlink_metadata(p).is_ok_and(|m| {
            m.uid() == untrusted::me()
                && if dir {
                    m.file_type().is_dir()
                } else {
                    m.file_type().is_file()
                }
        })
    };
    ours(path, true) && ours(&path.join(FLAG_FILE), false)
}

/// Whether `dir` is a per-app `/dev/shm` that flatpak made (it holds the
/// flag file, of this user's): this process runs in a Flatpak sandbox,
/// where `/dev/shm` is that directory.
pub fn is_sandbox_dev_shm(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir.join(FLAG_FILE))
        .is_ok_and(|m| m.file_type().is_file() && m.uid() == untrusted::me())
}

/// What `launch` says when the game's `/dev/shm` is a Flatpak app's own:
/// where the pages will be on the host, and how other readers get them.
/// `app` is the sandbox's `FLATPAK_ID`, if set (flatpak-run.c sets it).
pub fn sandbox_note(app: Option<&str>) -> String {
    let app = app.filter(|a| !a.is_empty() && !a.contains(['/', '\n']));
    let Some(app) = app else {
        return "/dev/shm here is a Flatpak app's own: Linux programs outside its sandbox do \
                not see the pages at /dev/shm/NAME"
            .to_owned();
    };
    let ours = if app == STEAM {
        ", where `shm-bridge list`, `watch` and `clean` find them"
    } else {
        ""
    };
    format!(
        "/dev/shm here is {app}'s own: on the host the pages are in \
         /dev/shm/flatpak-{app}-XXXXXX{ours}; to give other Linux readers /dev/shm/NAME: \
         flatpak override --user --device=shm {app} (then restart it)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_read_as_flatpak_writes_them() {
        assert_eq!(Grant::of("shm", Some("all;shm;")), Grant::Yes);
        assert_eq!(Grant::of("shm", Some("!shm;")), Grant::No);
        assert_eq!(Grant::of("shm", Some("dri;")), Grant::Unsaid);
        assert_eq!(Grant::of("shm", None), Grant::Unsaid);
        // A conditional grant is written after a reset and a plain grant
        // kept for older flatpaks, which newer ones ignore.
        assert_eq!(
            Grant::of("shm", Some("!shm;shm;if:shm:has-wayland;")),
            Grant::If
        );
        assert_eq!(Grant::of("shm", Some("shmx;")), Grant::Unsaid);
    }

    #[test]
    fn only_the_context_group_is_read() {
        let text = "# c\n[Application]\ndevices=shm\n[Context]\nshared=ipc;\n\
                    devices = all;!shm;\nfeatures=per-app-dev-shm;\ndevices=all;shm;\n\
                    [Session Bus Policy]\ndevices=x\n";
        assert_eq!(
            parse_context(text),
            Context {
                devices: Some("all;shm;".into()),
                features: Some("per-app-dev-shm;".into()),
            }
        );
    }

    #[test]
    fn later_layers_win() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let metadata = file(
            "metadata",
            "[Context]\ndevices=all;\nfeatures=per-app-dev-shm;\n",
        );
        let user = file("user", "[Context]\ndevices=shm;\n");
        let withdrawn = file("withdrawn", "[Context]\ndevices=!shm;\n");
        let missing = dir.path().join("missing");

        let base = DevShm::from_layers(&[metadata.clone(), missing.clone()]);
        assert_eq!(base.shared_by, None);
        assert_eq!(base.per_app, Some((true, metadata.clone())));
        let shared = DevShm::from_layers(&[metadata.clone(), user.clone()]);
        assert_eq!(shared.shared_by, Some(user.clone()));
        let taken = DevShm::from_layers(&[metadata, user, withdrawn]);
        assert_eq!(taken.shared_by, None);
    }

    #[test]
    fn per_app_dirs_are_named_and_owned_as_flatpak_makes_them() {
        let app = format!("org.example.Test{}", std::process::id());
        let dir = tempfile::Builder::new()
            .prefix(&format!("flatpak-{app}-"))
            .tempdir_in(HOST_DEV_SHM)
            .unwrap();
        // Without the flag file it is not one of flatpak's.
        assert!(!is_per_app_dir(dir.path(), &app));
        std::fs::write(dir.path().join(FLAG_FILE), "").unwrap();
        assert!(is_per_app_dir(dir.path(), &app));
        assert!(is_sandbox_dev_shm(dir.path()));
        assert!(!is_per_app_dir(dir.path(), "org.example.Other"));
        // Found by scanning /dev/shm without a runtime directory, and
        // through the link of one.
        assert_eq!(per_app_dev_shm_dirs(&app, None), [dir.path()]);
        let runtime = tempfile::tempdir().unwrap();
        let link_dir = runtime.path().join(".flatpak").join(&app);
        std::fs::create_dir_all(&link_dir).unwrap();
        std::os::unix::fs::symlink(dir.path(), link_dir.join("dev-shm")).unwrap();
        let other = tempfile::Builder::new()
            .prefix(&format!("flatpak-{app}-"))
            .tempdir_in(HOST_DEV_SHM)
            .unwrap();
        std::fs::write(other.path().join(FLAG_FILE), "").unwrap();
        assert_eq!(
            per_app_dev_shm_dirs(&app, Some(runtime.path().to_owned())),
            [dir.path()]
        );
        assert_eq!(per_app_dev_shm_dirs(&app, None).len(), 2);
        // A link to elsewhere, or a directory by another name, is not one.
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::write(elsewhere.path().join(FLAG_FILE), "").unwrap();
        assert!(!is_per_app_dir(elsewhere.path(), &app));
        let link = Path::new(HOST_DEV_SHM).join(format!("flatpak-{app}-link"));
        std::os::unix::fs::symlink(dir.path(), &link).unwrap();
        assert!(!is_per_app_dir(&link, &app));
        std::fs::remove_file(&link).unwrap();
        // Another user's, made to look like one (giving it away needs root,
        // as CI is), is not one, and the link is not followed to it.
        if rustix::process::geteuid().is_root() {
            std::os::unix::fs::chown(other.path(), Some(61_235), None).unwrap();
            assert!(!is_per_app_dir(other.path(), &app));
            assert_eq!(per_app_dev_shm_dirs(&app, None), [dir.path()]);
            std::fs::remove_file(link_dir.join("dev-shm")).unwrap();
            std::os::unix::fs::symlink(other.path(), link_dir.join("dev-shm")).unwrap();
            assert_eq!(
                per_app_dev_shm_dirs(&app, Some(runtime.path().to_owned())),
                [dir.path()],
                "found by scanning, not through the link"
            );
        }
    }
}
