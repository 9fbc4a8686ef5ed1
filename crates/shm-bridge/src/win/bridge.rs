//! The named mappings of the bridge, each of a file on the tmpfs
//! ([`super::files`]), created before the game so that the game's
//! `CreateFileMapping` finds them and writes into those very pages.
//! Creation is all or nothing; a full tmpfs fails here, at start, not as
//! a crash of the game later.

use std::path::Path;

use anyhow::{Context, Result};
use shmem::{ShMemError, ShMemName, WinShMem};

use super::files::{self, TmpfsFile};
use super::tmpfs::Tmpfs;
use crate::core::spec::MapSpec;
use crate::sys::windows::wine;

/// One mapping that exists while this value lives.
#[derive(Debug)]
pub struct Bridged<'t> {
    // Dropped first: the mapping must be gone before the file is removed.
    _mapping: WinShMem,
    /// Its file.
    pub file: TmpfsFile<'t>,
}

/// Creates every mapping of `specs`, or none. Files it creates get the
/// permission bits `mode`. With `attach`, only maps files that exist (made
/// by the bridge of a game in another prefix) and creates nothing.
pub fn create_all<'t>(
    specs: &[MapSpec],
    tmpfs: &'t Tmpfs,
    mode: u32,
    attach: bool,
) -> Result<Vec<Bridged<'t>>> {
    let plans = files::plan_all(specs, tmpfs, attach)?;
    let mut bridged = Vec::with_capacity(plans.len());
    for p in plans {
        // On error, `bridged` drops and removes what was created so far.
        let file = files::make(p, tmpfs, mode)?;
        bridged.push(map(file)?);
    }
    Ok(bridged)
}

/// The mapping of `file` under its name.
fn map(file: TmpfsFile<'_>) -> Result<Bridged<'_>> {
    let (name, unix_path) = (&file.name, &file.unix_path);
    let size = usize::try_from(file.size).context("size exceeds this machine's address space")?;
    let mapping = match WinShMem::from_file(name, file.handle(), size) {
        Ok(mapping) => mapping,
        // A program in the prefix holds a mapping of that name already. If its
        // pages are this very file (a bridge made it, was killed, and the game
        // kept running), take it over; otherwise the game started first.
        Err(ShMemError::AlreadyExists { .. }) => adopt(name, unix_path).ok_or_else(|| {
            anyhow::anyhow!(
                "a mapping named {name} already exists in this Wine prefix and is not backed \
                 by {unix_path}: the game (or another shm-bridge) made it first. Start \
                 shm-bridge before the game"
            )
        })?,
        Err(other) => {
            return Err(anyhow::Error::new(other).context(format!("mapping {unix_path} as {name}")));
        }
    };
    Ok(Bridged {
        _mapping: mapping,
        file,
    })
}

/// The existing mapping `name`, if its pages are the file `unix_path`.
fn adopt(name: &ShMemName, unix_path: &str) -> Option<WinShMem> {
    let mapping = WinShMem::open(name.as_str()).ok()?;
    let backing = crate::sys::windows::files::mapped_file_name(mapping.as_ptr())?;
    let backing = wine::unix_path(Path::new(backing.trim_start_matches(r"\??\"))).ok()?;
    (backing == unix_path).then_some(mapping)
}
