//! `--clean-up`: removes files an earlier run left behind (it was killed),
//! and only those, by the rules of [`crate::core::cleanup`]; a program in
//! this prefix that still has the mapping open keeps its file.

use std::io;

use shmem::{ShMemName, WinShMem};

use super::link::remove_link;
use super::tmpfs::Tmpfs;
use crate::core::cleanup::{self, FileKind, Found, Users};
use crate::core::ledger::{Marker, marker_name};
use crate::core::spec::{self, MapSpec};

/// The tmpfs as this prefix sees it, for one mapping.
struct PrefixView<'a> {
    tmpfs: &'a Tmpfs,
    mapping: &'a ShMemName,
}

impl cleanup::Tmpfs for PrefixView<'_> {
    fn look(&self, file: &str) -> Option<Found> {
        let st = self.tmpfs.look(file)?;
        Some(Found {
            kind: if st.is_file() {
                FileKind::File
            } else if st.is_symlink() {
                FileKind::Symlink
            } else {
                FileKind::Other
            },
            ours: self.tmpfs.ours(&st),
            inode: st.ino,
        })
    }

    fn marker(&self, file: &str) -> Option<Marker> {
        // Anything at the marker's name that is not ours is no marker.
        self.tmpfs.marker(file).ok().flatten()
    }

    fn users(&self, _: &str, _: &Found) -> Option<Users> {
        WinShMem::open(self.mapping.as_str())
            .is_ok()
            .then_some(Users::Prefix)
    }

    fn remove_file(&self, file: &str) -> io::Result<()> {
        let st = self.tmpfs.look(file).ok_or(io::ErrorKind::NotFound)?;
        // The link the bridge made to it goes first, with its directory if emptied.
        let link = self
            .marker(file)
            .and_then(|m| spec::parse_link(m.link.as_deref()?).ok());
        if let Some(link) = link
            && let Ok(dir) = self.tmpfs.dir().open_dir_at(&link.dir)
        {
            remove_link(self.tmpfs, &dir, &link, &format!("../{file}"), true);
        }
        self.tmpfs
            .remove_if(file, st.ino)
            .map_err(|e| io::Error::other(e.to_string()))
    }

    fn remove_marker(&self, file: &str) {
        let name = marker_name(file);
        if let Some(st) = self.tmpfs.look(&name).filter(|st| self.tmpfs.ours(st)) {
            let _ = self.tmpfs.remove_if(&name, st.ino);
        }
    }
}

/// Cleans up after each spec and says what it did.
pub fn clean_up(specs: &[MapSpec], tmpfs: &Tmpfs) {
    for spec in specs {
        let view = PrefixView {
            tmpfs,
            mapping: &spec.name,
        };
        let verdict = cleanup::clean(&view, spec.file_name(), false);
        println!("{}: {verdict}", tmpfs.unix_file(spec.file_name()));
    }
}
