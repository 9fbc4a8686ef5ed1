//! `--clean-up`: removes files an earlier run left behind (it was killed),
//! and only those, by the rules of [`crate::core::cleanup`]; a program in
//! this prefix that still has the mapping open keeps its file.

use std::fs::File;
use std::io;

use shmem::{ShMemName, WinShMem};

use super::bridge::read_marker;
use super::tmpfs::Tmpfs;
use crate::core::cleanup::{self, FileKind, Found, Users};
use crate::core::ledger::{Marker, marker_name};
use crate::core::spec::MapSpec;
use crate::sys::windows::files;

/// The tmpfs as this prefix sees it, for one mapping.
struct PrefixView<'a> {
    tmpfs: &'a Tmpfs,
    mapping: &'a ShMemName,
}

impl cleanup::Tmpfs for PrefixView<'_> {
    fn look(&self, file: &str) -> Option<Found> {
        let opened = File::open(self.tmpfs.dos_file(file)).ok()?;
        // Win32 under Wine shows neither links nor owners; what it opened is
        // taken as a file of ours, and its marker decides.
        Some(Found {
            kind: FileKind::File,
            ours: true,
            inode: files::file_index(&opened).ok()?,
        })
    }

    fn marker(&self, file: &str) -> Option<Marker> {
        read_marker(&self.tmpfs.dos_file(&marker_name(file)))
    }

    fn users(&self, _: &str, _: &Found) -> Option<Users> {
        WinShMem::open(self.mapping.as_str())
            .is_ok()
            .then_some(Users::Prefix)
    }

    fn remove_file(&self, file: &str) -> io::Result<()> {
        std::fs::remove_file(self.tmpfs.dos_file(file))
    }

    fn remove_marker(&self, file: &str) {
        let _ = std::fs::remove_file(self.tmpfs.dos_file(&marker_name(file)));
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
