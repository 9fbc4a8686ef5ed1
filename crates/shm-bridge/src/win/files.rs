//! The files of a bridge in the tmpfs: what is found at a mapping's name
//! before anything is created, and making, marking, reserving and
//! removing a file of ours.
//!
//! A file that exists already (made by a program of this user) is used as
//! it is and never truncated or deleted; anything else at a name (another
//! user's file, a link, a FIFO) is refused. A file we create is private
//! from its first instant, has no name until its marker exists and its
//! pages are reserved, and goes with its marker when the bridge ends.

use std::fs::File;

use anyhow::{Context, Result, bail};
use shmem::ShMemName;

use super::link::MadeLink;
use super::tmpfs::Tmpfs;
use crate::core::ledger::{Marker, marker_name};
use crate::core::plan;
use crate::core::spec::{Link, MapSpec};
use crate::sys::windows::linux::{self, Errno, Fd, Stat};
use crate::sys::windows::{files, wine};

/// Where a bridged file came from, which decides whether we remove it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// We created it; removed when the bridge ends.
    Created,
    /// An earlier bridge created it and left it (it was killed); reused
    /// with its data, and removed when this bridge ends.
    Leftover,
    /// A program of this user made it: used as it is, never removed.
    Existing,
}

/// A file of the bridge in the tmpfs, open; it and its marker go with this
/// value unless someone else made the file.
#[derive(Debug)]
pub struct TmpfsFile<'t> {
    /// The name it is bridged under.
    pub name: ShMemName,
    /// The file, as Linux programs open it.
    pub unix_path: String,
    /// Its size.
    pub size: u64,
    /// Where it came from.
    pub origin: Origin,
    tmpfs: &'t Tmpfs,
    /// The file opened through Wine, and by Linux; closed before removal.
    handles: Option<(File, Fd)>,
    /// The inodes of the file and the marker to remove (none for an existing file).
    file_ino: Option<u64>,
    marker_ino: Option<u64>,
    /// The link to the file this bridge made, removed with it.
    link: Option<MadeLink>,
}

impl TmpfsFile<'_> {
    /// The file opened through Wine, for mapping it.
    pub fn handle(&self) -> &File {
        &self.handles.as_ref().expect("open while the value lives").0
    }

    /// The link to the file this bridge made, as Linux programs open it.
    pub fn link_path(&self) -> Option<String> {
        let link = self.link.as_ref()?;
        Some(self.tmpfs.unix_file(&link.link.to_string()))
    }
}

impl Drop for TmpfsFile<'_> {
    fn drop(&mut self) {
        drop(self.handles.take());
        if let Some(link) = self.link.take() {
            link.remove(self.tmpfs);
        }
        let file = self.name.base().to_owned();
        if let Some(ino) = self.file_ino {
            let _ = self.tmpfs.remove_if(&file, ino);
        }
        if let Some(ino) = self.marker_ino {
            let _ = self.tmpfs.remove_if(&marker_name(&file), ino);
        }
    }
}

/// What we found for one spec before creating anything.
pub struct Plan<'a> {
    /// The mapping.
    pub spec: &'a MapSpec,
    found: Option<(Fd, Stat)>,
    /// Our marker beside it, if there is one.
    marker: Option<Marker>,
    /// The size it will have.
    pub size: u64,
    /// Mapping another bridge's file as it is (`--attach`).
    attach: bool,
    /// An event's counter file rather than a mapping's (said in its marker).
    pub event: bool,
}

impl Plan<'_> {
    /// Whether an earlier bridge of ours made the file found (and left it).
    fn leftover(&self) -> bool {
        match (&self.found, &self.marker) {
            (Some((_, st)), Some(marker)) => !self.attach && marker.inode == st.ino,
            _ => false,
        }
    }
}

/// What is at each spec's place, checked, and the sizes: nothing is
/// created yet. With `attach`, every file must exist (another bridge made
/// it) and is used at its own size.
pub fn plan_all<'a>(specs: &'a [MapSpec], tmpfs: &Tmpfs, attach: bool) -> Result<Vec<Plan<'a>>> {
    let plans = specs
        .iter()
        .map(|spec| plan(spec, tmpfs, attach))
        .collect::<Result<Vec<_>>>()?;
    let needed = plan::bytes_needed(
        plans
            .iter()
            .map(|p| (p.size, p.found.as_ref().map(|(_, st)| st.size))),
    )?;
    plan::check_room(needed, tmpfs.free, &tmpfs.unix)?;
    Ok(plans)
}

fn plan<'a>(spec: &'a MapSpec, tmpfs: &Tmpfs, attach: bool) -> Result<Plan<'a>> {
    let name = spec.file_name();
    let unix = tmpfs.unix_file(name);
    let found = tmpfs.open_own(name, true)?;
    if attach && found.is_none() {
        bail!(
            "{unix} does not exist: --attach maps the pages the bridge of a running game \
             made; start the game through shm-bridge first"
        );
    }
    let marker = tmpfs.marker(name)?;
    let existing = found.as_ref().map(|(_, st)| st.size);
    let size = match (attach, existing) {
        // Another bridge's file is mapped at its own size, never grown.
        (true, Some(len)) if spec.size.is_none_or(|s| s <= len) => len,
        (true, Some(len)) => bail!(
            "{unix} holds {len} bytes, fewer than --size {} for {}; --attach maps files as \
             they are: give no size",
            spec.size.unwrap_or(len),
            spec.name
        ),
        _ => plan::size_of(spec, existing, &unix)?,
    };
    let plan = Plan {
        spec,
        found,
        marker,
        size,
        attach,
        event: false,
    };
    if plan.leftover()
        && let Some(pid) = plan.marker.as_ref().and_then(|m| m.pid)
        && pid != linux::getpid()
        && is_bridge(pid)
    {
        bail!(
            "{unix} belongs to a shm-bridge that is still running (Linux pid {pid}); stop it \
             first, or bridge these mappings in another --tmpfs"
        );
    }
    Ok(plan)
}

/// Whether the Linux process `pid` is a shm-bridge exe under Wine.
fn is_bridge(pid: u32) -> bool {
    linux::process_exists(pid)
        && linux::read_file(&format!("/proc/{pid}/cmdline"), 4096)
            .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains("shm-bridge"))
}

/// Makes the file of `plan` (or takes the one found), with its marker,
/// its pages reserved and its link, and opens it through Wine.
pub fn make<'t>(plan: Plan<'_>, tmpfs: &'t Tmpfs, mode: u32) -> Result<TmpfsFile<'t>> {
    let name = plan.spec.name.clone();
    let file = plan.spec.file_name();
    let unix_path = tmpfs.unix_file(file);
    let leftover = plan.leftover();
    let mut bridged = TmpfsFile {
        name: name.clone(),
        unix_path: unix_path.clone(),
        size: plan.size,
        origin: Origin::Existing,
        tmpfs,
        handles: None,
        file_ino: None,
        marker_ino: None,
        link: None,
    };
    // A file we make has no name until its marker exists and its pages are
    // reserved: killed before, it leaves nothing that holds memory.
    let unnamed = plan.found.is_none();
    let (fd, ino) = match plan.found {
        None => {
            let fd = tmpfs
                .dir()
                .create_unnamed(mode)
                .with_context(|| format!("creating a file for {unix_path} (O_TMPFILE)"))?;
            let ino = fd.stat().with_context(|| format!("fstat {unix_path}"))?.ino;
            bridged.origin = Origin::Created;
            bridged.file_ino = Some(ino);
            (fd, ino)
        }
        Some((fd, st)) => {
            if leftover {
                bridged.origin = Origin::Leftover;
                bridged.file_ino = Some(st.ino);
            }
            (fd, st.ino)
        }
    };
    if bridged.origin != Origin::Existing {
        // The marker comes before a page is reserved: a bridge killed while
        // reserving leaves a file that `clean` knows to be ours.
        let marker = Marker {
            name: name.to_string(),
            inode: ino,
            size: plan.size,
            pid: wine::linux_pid(),
            link: plan.spec.link.as_ref().map(Link::to_string),
            event: plan.event,
        };
        bridged.marker_ino = Some(write_marker(
            tmpfs,
            file,
            plan.marker.is_some(),
            &marker,
            mode,
        )?);
    }
    if !plan.attach {
        fd.allocate(plan.size).map_err(|e| match e {
            Errno::ENOSPC => anyhow::anyhow!(
                "reserving {} bytes for {unix_path}: the tmpfs is full; free some space or \
                 pass --tmpfs with a larger one",
                plan.size
            ),
            e => anyhow::anyhow!("reserving {} bytes for {unix_path}: {e}", plan.size),
        })?;
    }
    if unnamed {
        tmpfs.dir().link_at(&fd, file).map_err(|e| match e {
            Errno::EEXIST => anyhow::anyhow!(
                "creating {unix_path}: something appeared there meanwhile (a file, or a \
                 dangling symbolic link); look at it and start again"
            ),
            e => anyhow::anyhow!("creating {unix_path}: {e}"),
        })?;
    }
    // The handle Wine maps, opened by name: it must be the file checked.
    let handle = File::options()
        .read(true)
        .write(true)
        .open(tmpfs.dos_file(file))
        .with_context(|| format!("opening {unix_path} through Wine"))?;
    if files::file_index(&handle).ok() != Some(ino) {
        bail!("{unix_path} was replaced while it was being opened; start again");
    }
    if let Some(link) = plan.spec.link.as_ref().filter(|_| !plan.attach) {
        match MadeLink::make(tmpfs, link, file, mode) {
            Ok(made) => bridged.link = Some(made),
            Err(e) => println!("  note: no link {link} to {unix_path} was made: {e:#}"),
        }
    }
    bridged.handles = Some((handle, fd));
    Ok(bridged)
}

/// Writes our marker beside `file` (replacing our own earlier one when
/// `replace`), private like the file; returns its inode. The marker gets
/// its name only once all of it is written: a bridge killed meanwhile
/// leaves none, or a whole one, never a half that no one can read.
fn write_marker(
    tmpfs: &Tmpfs,
    file: &str,
    replace: bool,
    marker: &Marker,
    mode: u32,
) -> Result<u64> {
    let name = marker_name(file);
    let unix = tmpfs.unix_file(&name);
    let fd = tmpfs
        .dir()
        .create_unnamed(mode)
        .with_context(|| format!("creating the marker {unix} (O_TMPFILE)"))?;
    fd.write_all(marker.to_text().as_bytes())
        .with_context(|| format!("writing the marker {unix}"))?;
    let ino = fd.stat().with_context(|| format!("fstat {unix}"))?.ino;
    if replace {
        // The earlier one is ours (checked when it was read); the new one
        // takes its place in one step, by way of a name of its own.
        let staged = format!("{name}.new");
        if tmpfs.marker_at(&staged).is_ok_and(|m| m.is_some()) {
            // A bridge killed between the two steps left it.
            let _ = tmpfs.dir().unlink_at(&staged);
        }
        tmpfs
            .dir()
            .link_at(&fd, &staged)
            .and_then(|()| tmpfs.dir().rename_at(&staged, &name))
            .with_context(|| format!("replacing {unix}"))?;
    } else {
        tmpfs.dir().link_at(&fd, &name).map_err(|e| match e {
            Errno::EEXIST => anyhow::anyhow!(
                "creating the marker {unix}: something appeared there meanwhile; look at it \
                 and start again"
            ),
            e => anyhow::anyhow!("creating the marker {unix}: {e}"),
        })?;
    }
    Ok(ino)
}
