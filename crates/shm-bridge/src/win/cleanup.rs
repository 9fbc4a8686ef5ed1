//! `--clean-up`: removes files an earlier run left behind (it was killed),
//! and only those: a file is removed when its marker names its inode and no
//! program in this prefix still has the mapping open.

use std::fs::File;

use shmem::WinShMem;

use super::bridge::{inode, read_marker};
use super::tmpfs::Tmpfs;
use crate::ledger::marker_name;
use crate::spec::MapSpec;

/// Cleans up after each spec and says what it did.
pub fn clean_up(specs: &[MapSpec], tmpfs: &Tmpfs) {
    for spec in specs {
        let name = spec.file_name();
        let unix = tmpfs.unix_file(name);
        let path = tmpfs.dos_file(name);
        let marker_path = tmpfs.dos_file(&marker_name(name));
        let marker = read_marker(&marker_path);
        let file = File::open(&path).ok();
        let verdict = match (marker, file) {
            (None, None) => "nothing to clean".to_owned(),
            (None, Some(_)) => "left alone: shm-bridge did not create it".to_owned(),
            (Some(_), None) => {
                let _ = std::fs::remove_file(&marker_path);
                "already gone; removed its stale marker".to_owned()
            }
            (Some(marker), Some(file)) => {
                if inode(&file).ok() != Some(marker.inode) {
                    let _ = std::fs::remove_file(&marker_path);
                    "left alone: it was replaced after shm-bridge made it".to_owned()
                } else if WinShMem::open(spec.name.as_str()).is_ok() {
                    "left alone: a program in this prefix still has the mapping open".to_owned()
                } else {
                    drop(file);
                    match std::fs::remove_file(&path) {
                        Ok(()) => {
                            let _ = std::fs::remove_file(&marker_path);
                            "removed".to_owned()
                        }
                        Err(e) => format!("could not remove it: {e}"),
                    }
                }
            }
        };
        println!("{unix}: {verdict}");
    }
}
