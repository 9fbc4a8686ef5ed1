//! Creating the named mappings, each backed by a file on the tmpfs, and
//! removing what was created when the bridge ends.
//!
//! All checks run before anything is created; creation is all or nothing.
//! A file that exists already (made by a Linux program of this user) is
//! mapped as it is and never truncated or deleted; anything else at a
//! name (another user's file, a link, a FIFO) is refused. A file we create
//! is private from its first instant, gets its marker before its pages are
//! reserved, and its pages are reserved up front, so a full tmpfs fails
//! here, at start, not as a crash of the game later.

use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result, bail};
use shmem::{ShMemError, ShMemName, WinShMem};

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
    /// A program of this user made it: mapped as it is, never removed.
    Existing,
}

/// One mapping that exists while this value lives; its file and marker go
/// with it unless someone else made the file.
#[derive(Debug)]
pub struct Bridged<'t> {
    /// The mapping's name.
    pub name: ShMemName,
    /// The file, as Linux programs open it.
    pub unix_path: String,
    /// The mapping's size.
    pub size: u64,
    /// Where the file came from.
    pub origin: Origin,
    tmpfs: &'t Tmpfs,
    /// Our handles; closed before the files are removed.
    held: Option<(WinShMem, File, Fd)>,
    /// The inodes of the file and the marker to remove (none for an existing file).
    file_ino: Option<u64>,
    marker_ino: Option<u64>,
    /// The link to the file this bridge made, removed with it.
    link: Option<MadeLink>,
}

impl Bridged<'_> {
    /// The link to the file this bridge made, as Linux programs open it.
    pub fn link_path(&self) -> Option<String> {
        let link = self.link.as_ref()?;
        Some(self.tmpfs.unix_file(&link.link.to_string()))
    }
}

impl Drop for Bridged<'_> {
    fn drop(&mut self) {
        // The mapping and the file must be closed before the file is removed.
        drop(self.held.take());
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

/// A link to a bridged file at a second path (`SCS/SCSTelemetry`), where
/// Linux readers of that title look, and the directory if it was made for it.
#[derive(Debug)]
struct MadeLink {
    link: Link,
    dir: Fd,
    target: String,
    made_dir: bool,
}

impl MadeLink {
    /// Makes `link` lead to the file `file`; `Err` says why none was made
    /// (something of someone else's in the way), which costs only the link.
    fn make(tmpfs: &Tmpfs, link: &Link, file: &str, mode: u32) -> Result<MadeLink> {
        let where_ = tmpfs.unix_file(&link.to_string());
        let mut made_dir = false;
        let dir = match tmpfs.dir().open_dir_at(&link.dir) {
            Ok(dir) => dir,
            Err(Errno::ENOENT) => {
                // Searchable where readable: a reader of another user given
                // the file by --mode can reach it through the directory too.
                let dir_mode = mode | ((mode & 0o444) >> 2);
                tmpfs
                    .dir()
                    .mkdir_at(&link.dir, dir_mode)
                    .with_context(|| format!("making {}", tmpfs.unix_file(&link.dir)))?;
                made_dir = true;
                tmpfs.dir().open_dir_at(&link.dir)?
            }
            Err(e) => bail!("{}: {e}", tmpfs.unix_file(&link.dir)),
        };
        let st = dir.stat()?;
        if !st.is_dir() || !tmpfs.ours(&st) {
            bail!(
                "{} is not a directory of yours ({}, uid {})",
                tmpfs.unix_file(&link.dir),
                st.kind(),
                st.uid
            );
        }
        let target = format!("../{file}");
        match dir.symlink_at(&target, &link.file) {
            Ok(()) => {}
            // One an earlier bridge of ours left, leading to this file: taken over.
            Err(Errno::EEXIST)
                if dir.read_link_at(&link.file).ok().as_deref() == Some(&target)
                    && dir.stat_at(&link.file).is_ok_and(|st| tmpfs.ours(&st)) => {}
            Err(e) => bail!("{where_}: {e}"),
        }
        Ok(MadeLink {
            link: link.clone(),
            dir,
            target,
            made_dir,
        })
    }

    /// Removes the link, if it is still ours and leads to the file, and the
    /// directory made for it, if it is empty.
    fn remove(self, tmpfs: &Tmpfs) {
        remove_link(tmpfs, &self.dir, &self.link, &self.target, self.made_dir);
    }
}

/// Removes the link `link` in `dir` if it is a link of ours leading to
/// `target`, and with `dir_too` the directory, if that leaves it empty.
pub fn remove_link(tmpfs: &Tmpfs, dir: &Fd, link: &Link, target: &str, dir_too: bool) {
    let ours = dir
        .stat_at(&link.file)
        .is_ok_and(|st| st.is_symlink() && tmpfs.ours(&st));
    if ours && dir.read_link_at(&link.file).ok().as_deref() == Some(target) {
        let _ = dir.unlink_at(&link.file);
    }
    if dir_too {
        let _ = tmpfs.dir().remove_dir_at(&link.dir);
    }
}

/// What we found for one spec before creating anything.
struct Plan<'a> {
    spec: &'a MapSpec,
    found: Option<(Fd, Stat)>,
    /// Our marker beside it, if there is one.
    marker: Option<Marker>,
    size: u64,
    /// Mapping another bridge's file as it is (`--attach`).
    attach: bool,
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

/// Creates every mapping of `specs`, or none. Files it creates get the
/// permission bits `mode`. With `attach`, only maps files that exist (made
/// by the bridge of a game in another prefix) and creates nothing.
pub fn create_all<'t>(
    specs: &[MapSpec],
    tmpfs: &'t Tmpfs,
    mode: u32,
    attach: bool,
) -> Result<Vec<Bridged<'t>>> {
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
    let mut bridged = Vec::with_capacity(plans.len());
    for p in plans {
        // On error, `bridged` drops and removes what was created so far.
        bridged.push(create(p, tmpfs, mode)?);
    }
    Ok(bridged)
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

fn create<'t>(plan: Plan<'_>, tmpfs: &'t Tmpfs, mode: u32) -> Result<Bridged<'t>> {
    let name = plan.spec.name.clone();
    let file = plan.spec.file_name();
    let unix_path = tmpfs.unix_file(file);
    let leftover = plan.leftover();
    let mut bridged = Bridged {
        name: name.clone(),
        unix_path: unix_path.clone(),
        size: plan.size,
        origin: Origin::Existing,
        tmpfs,
        held: None,
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
    let size = usize::try_from(plan.size).context("size exceeds this machine's address space")?;
    let mapping = match WinShMem::from_file(&name, &handle, size) {
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
    bridged.held = Some((mapping, handle, fd));
    if let Some(link) = plan.spec.link.as_ref().filter(|_| !plan.attach) {
        match MadeLink::make(tmpfs, link, file, mode) {
            Ok(made) => bridged.link = Some(made),
            Err(e) => println!("  note: no link {link} to {unix_path} was made: {e:#}"),
        }
    }
    Ok(bridged)
}

/// Writes our marker beside `file` (replacing our own earlier one when
/// `replace`), private like the file; returns its inode.
fn write_marker(
    tmpfs: &Tmpfs,
    file: &str,
    replace: bool,
    marker: &Marker,
    mode: u32,
) -> Result<u64> {
    let name = marker_name(file);
    let unix = tmpfs.unix_file(&name);
    if replace {
        // Ours (checked when it was read); another user cannot swap a file
        // of ours in the tmpfs, whose sticky bit lets only owners remove.
        tmpfs
            .dir()
            .unlink_at(&name)
            .with_context(|| format!("replacing {unix}"))?;
    }
    let fd = tmpfs
        .dir()
        .create_at(&name, mode)
        .with_context(|| format!("creating the marker {unix}"))?;
    fd.write_all(marker.to_text().as_bytes())
        .with_context(|| format!("writing the marker {unix}"))?;
    Ok(fd.stat().with_context(|| format!("fstat {unix}"))?.ino)
}

/// The existing mapping `name`, if its pages are the file `unix_path`.
fn adopt(name: &ShMemName, unix_path: &str) -> Option<WinShMem> {
    let mapping = WinShMem::open(name.as_str()).ok()?;
    let backing = files::mapped_file_name(mapping.as_ptr())?;
    let backing = wine::unix_path(Path::new(backing.trim_start_matches(r"\??\"))).ok()?;
    (backing == unix_path).then_some(mapping)
}
