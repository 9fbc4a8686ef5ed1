//! Where `list`, `watch` and `clean` look for the pages: the `--tmpfs`
//! given; else `/dev/shm` and Flatpak Steam's own `/dev/shm`, a directory
//! of the host's `/dev/shm` where the games of a Steam installed as a
//! Flatpak write them (see [`crate::linux::flatpak`]).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::cli::companion::CommonArgs;
use crate::linux::flatpak;
use crate::linux::tmpfs::TmpfsDir;
use crate::linux::untrusted;

/// A directory the pages may be in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The directory.
    pub path: PathBuf,
    /// The Flatpak app whose `/dev/shm` it is, if it is one's.
    pub flatpak_app: Option<&'static str>,
}

impl Place {
    /// The directory, and whose `/dev/shm` it is when it is an app's:
    /// `/dev/shm/flatpak-com.valvesoftware.Steam-a1b2c3 (Flatpak Steam's /dev/shm)`.
    pub fn label(&self) -> String {
        match self.flatpak_app {
            Some(_) => format!("{} (Flatpak Steam's /dev/shm)", self.path.display()),
            None => self.path.display().to_string(),
        }
    }
}

/// The directories to look in: `--tmpfs` alone when given; else the
/// default, then Flatpak Steam's `/dev/shm` directories of this user's.
pub fn places(common: &CommonArgs) -> Vec<Place> {
    let first = Place {
        path: common.tmpfs().to_owned(),
        flatpak_app: None,
    };
    if common.tmpfs.is_some() {
        return vec![first];
    }
    let mut all = vec![first];
    all.extend(flatpak::steam_dev_shm_dirs().into_iter().map(|path| Place {
        path,
        flatpak_app: Some(flatpak::STEAM),
    }));
    all
}

/// [`places`], each checked to be a directory on a tmpfs: the first must
/// be (its error is returned); a Flatpak app's that is not is left out.
pub fn checked(common: &CommonArgs) -> Result<Vec<(Place, TmpfsDir)>> {
    let mut found = Vec::new();
    for place in places(common) {
        match TmpfsDir::check(&place.path) {
            Ok(dir) => found.push((place, dir)),
            Err(e) if found.is_empty() => return Err(e),
            Err(_) => {}
        }
    }
    Ok(found)
}

/// The first of `places` where a file of this user's named in `files` is now.
pub fn holding<'p>(places: &'p [Place], files: &[&str]) -> Option<&'p Place> {
    places
        .iter()
        .find(|place| files.iter().any(|file| is_mine_at(&place.path, file)))
}

/// Whether `dir/file` is a regular file of this user's (seen by name, no
/// link followed): another user's file under a page's name in `/dev/shm`
/// must not hide the pages in another place.
pub fn is_mine_at(dir: &Path, file: &str) -> bool {
    std::fs::symlink_metadata(dir.join(file))
        .is_ok_and(|m| m.file_type().is_file() && m.uid() == untrusted::me())
}
