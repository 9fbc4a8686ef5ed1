//! Creating the named mappings, each backed by a file on the tmpfs, and
//! removing what was created when the bridge ends.
//!
//! All checks run before anything is created; creation is all or nothing.
//! A file that exists already (made by a Linux program) is mapped as it is
//! and never truncated or deleted. Pages are reserved by writing them, so
//! a full tmpfs fails here, at start, not as a crash of the game later.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use shmem::{ShMemError, ShMemName, WinShMem};
use windows_sys::Win32::Foundation::ERROR_DISK_FULL;

use super::tmpfs::Tmpfs;
use crate::core::ledger::{Marker, marker_name};
use crate::core::plan;
use crate::core::spec::MapSpec;
use crate::core::units::human_bytes;
use crate::sys::windows::{files, wine};

/// Where a bridged file came from, which decides whether we remove it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// We created it; removed when the bridge ends.
    Created,
    /// An earlier bridge created it and left it (it was killed); reused
    /// with its data, and removed when this bridge ends.
    Leftover,
    /// Someone else made it (a Linux program): mapped as it is, never removed.
    Existing,
}

/// One mapping that exists while this value lives; its file and marker go
/// with it unless someone else made the file.
#[derive(Debug)]
pub struct Bridged {
    /// The mapping's name.
    pub name: ShMemName,
    /// The file, as Linux programs open it.
    pub unix_path: String,
    /// The mapping's size.
    pub size: u64,
    /// Where the file came from.
    pub origin: Origin,
    /// Our handles; closed before the files are removed.
    held: Option<(WinShMem, File)>,
    /// The file and the marker to remove on drop (empty for an existing file).
    remove: Vec<PathBuf>,
}

impl Drop for Bridged {
    fn drop(&mut self) {
        // The mapping and the file must be closed before the file is removed.
        drop(self.held.take());
        for path in &self.remove {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// What we found for one spec before creating anything.
struct Plan<'a> {
    spec: &'a MapSpec,
    path: PathBuf,
    marker: PathBuf,
    found: Option<Found>,
    size: u64,
}

/// A file already at a mapping's place.
struct Found {
    file: File,
    len: u64,
    /// Whether an earlier bridge's marker names it.
    leftover: bool,
}

/// Creates every mapping of `specs`, or none.
/// Files it creates get the permission bits `mode`.
pub fn create_all(specs: &[MapSpec], tmpfs: &Tmpfs, mode: u32) -> Result<Vec<Bridged>> {
    let plans = specs
        .iter()
        .map(|spec| plan(spec, tmpfs))
        .collect::<Result<Vec<_>>>()?;
    let needed = plan::bytes_needed(
        plans
            .iter()
            .map(|p| (p.size, p.found.as_ref().map(|f| f.len))),
    )?;
    plan::check_room(needed, tmpfs.free, &tmpfs.unix)?;
    let mut bridged = Vec::with_capacity(plans.len());
    for p in plans {
        // On error, `bridged` drops and removes what was created so far.
        bridged.push(create(p, tmpfs, mode)?);
    }
    Ok(bridged)
}

fn plan<'a>(spec: &'a MapSpec, tmpfs: &Tmpfs) -> Result<Plan<'a>> {
    let name = spec.file_name();
    let path = tmpfs.dos_file(name);
    let marker = tmpfs.dos_file(&marker_name(name));
    let unix = tmpfs.unix_file(name);
    let found = match File::options().read(true).write(true).open(&path) {
        Ok(file) => {
            check_not_redirected(&file, tmpfs, name)?;
            let meta = file.metadata().with_context(|| format!("reading {unix}"))?;
            if !meta.is_file() {
                bail!("{unix} exists and is not a regular file; remove it or pick another name");
            }
            let leftover = read_marker(&marker)
                .is_some_and(|m| files::file_index(&file).is_ok_and(|ino| ino == m.inode));
            Some(Found {
                len: meta.len(),
                file,
                leftover,
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("opening {unix}")),
    };
    let size = plan::size_of(spec, found.as_ref().map(|f| f.len), &unix)?;
    Ok(Plan {
        spec,
        path,
        marker,
        found,
        size,
    })
}

fn create(plan: Plan<'_>, tmpfs: &Tmpfs, mode: u32) -> Result<Bridged> {
    let name = plan.spec.name.clone();
    let unix_path = tmpfs.unix_file(plan.spec.file_name());
    let mut bridged = Bridged {
        name: name.clone(),
        unix_path: unix_path.clone(),
        size: plan.size,
        origin: Origin::Existing,
        held: None,
        remove: Vec::new(),
    };
    let (mut file, from) = match plan.found {
        None => {
            let file = File::options()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&plan.path)
                .with_context(|| {
                    format!("creating {unix_path} (did it appear meanwhile, or is it a dangling symbolic link?)")
                })?;
            bridged.remove.push(plan.path.clone());
            bridged.origin = Origin::Created;
            // Before a byte is written: the file is private from its start.
            wine::chmod(&unix_path, mode)?;
            (file, 0)
        }
        Some(found) => {
            if found.leftover {
                bridged.remove.push(plan.path.clone());
                bridged.origin = Origin::Leftover;
            }
            (found.file, found.len)
        }
    };
    reserve(&mut file, from, plan.size)
        .with_context(|| format!("reserving {} for {unix_path}", human_bytes(plan.size)))?;
    if bridged.origin != Origin::Existing {
        write_marker(&plan.marker, &name, &file, plan.size)
            .with_context(|| format!("writing the marker beside {unix_path}"))?;
        bridged.remove.push(plan.marker.clone());
        let marker_unix = tmpfs.unix_file(&marker_name(plan.spec.file_name()));
        wine::chmod(&marker_unix, mode)?;
    }
    let size = usize::try_from(plan.size).context("size exceeds this machine's address space")?;
    let mapping = match WinShMem::from_file(&name, &file, size) {
        Ok(mapping) => mapping,
        // A program in the prefix holds a mapping of that name already. If its
        // pages are this very file (a bridge made it, was killed, and the game
        // kept running), take it over; otherwise the game started first.
        Err(ShMemError::AlreadyExists { .. }) => adopt(&name, &unix_path).ok_or_else(|| {
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
    bridged.held = Some((mapping, file));
    Ok(bridged)
}

/// The existing mapping `name`, if its pages are the file `unix_path`.
fn adopt(name: &ShMemName, unix_path: &str) -> Option<WinShMem> {
    let mapping = WinShMem::open(name.as_str()).ok()?;
    let backing = files::mapped_file_name(mapping.as_ptr())?;
    let backing = wine::unix_path(Path::new(backing.trim_start_matches(r"\??\"))).ok()?;
    (backing == unix_path).then_some(mapping)
}

/// Writes zeros from `from` to `to`: on a tmpfs only written pages are
/// allocated, and a mapping touched past the space left crashes its writer.
fn reserve(file: &mut File, from: u64, to: u64) -> Result<()> {
    if to <= from {
        return Ok(());
    }
    const CHUNK: usize = 1 << 20;
    let zeros = vec![0u8; CHUNK];
    file.seek(SeekFrom::Start(from))?;
    let mut left = to - from;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        if let Err(e) = file.write_all(&zeros[..n]) {
            if e.raw_os_error() == Some(ERROR_DISK_FULL as i32) {
                bail!("the tmpfs is full; free some space or pass --tmpfs with a larger one");
            }
            return Err(e.into());
        }
        left -= n as u64;
    }
    file.flush()?;
    Ok(())
}

/// Refuses a file reached through a symbolic link: the link may point
/// anywhere (the tmpfs is world-writable), and we would write there.
/// Wine does not flag links, but resolves them in the handle's final path.
fn check_not_redirected(file: &File, tmpfs: &Tmpfs, name: &str) -> Result<()> {
    let actual = files::final_path(file).context("GetFinalPathNameByHandleW")?;
    let dir =
        std::fs::canonicalize(&tmpfs.dos).with_context(|| format!("resolving {}", tmpfs.unix))?;
    let expected = dir.join(name);
    if !actual.eq_ignore_ascii_case(&expected.to_string_lossy()) {
        let target = wine::unix_path(Path::new(actual.trim_start_matches(r"\\?\")))
            .unwrap_or(actual.clone());
        bail!(
            "{} leads to {target} (a symbolic link?); refusing to use it. Remove it if it is yours",
            tmpfs.unix_file(name)
        );
    }
    Ok(())
}

/// The marker at `path`, if there is one.
pub fn read_marker(path: &Path) -> Option<Marker> {
    Marker::parse(&std::fs::read_to_string(path).ok()?)
}

fn write_marker(path: &Path, name: &ShMemName, file: &File, size: u64) -> Result<()> {
    let marker = Marker {
        name: name.to_string(),
        inode: files::file_index(file).context("GetFileInformationByHandle")?,
        size,
        pid: wine::linux_pid(),
    };
    // A file by that name that is not a marker is someone else's: leave it.
    if path.exists() && read_marker(path).is_none() {
        bail!("{} exists and is not a shm-bridge marker", path.display());
    }
    std::fs::write(path, marker.to_text())?;
    Ok(())
}
