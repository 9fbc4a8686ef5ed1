//! `shm-bridge list`: what is bridged in the tmpfs (and, without
//! `--tmpfs`, in Flatpak Steam's own `/dev/shm`), who maps it, and whether
//! it is being written.
//!
//! Everything in the directory may have been put there by another user to
//! trip whoever lists it, so: other users' files are left out unless asked
//! for; a file is opened without following a link or waiting on a FIFO,
//! and checked on its descriptor; a bounded part of it is read, not all of
//! it; `/proc` is read once for all files; names are printed escaped.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::os::unix::fs::MetadataExt;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use crate::cli::companion::ListArgs;
use crate::core::cleanup::{Mapper, describe_mappers};
use crate::core::ledger;
use crate::linux::places::{self, Place};
use crate::linux::procmaps::MapIndex;
use crate::linux::tmpfs::TmpfsDir;
use crate::linux::untrusted::{self, CheckedFile, Owners};
use crate::linux::{escape, flatpak, presets_file};

/// How long to watch the bytes for changes.
const SAMPLE_GAP: Duration = Duration::from_millis(300);
/// Files up to this size are read whole for their digest; of larger ones,
/// this many bytes in blocks spread over the file.
const DIGEST_BYTES: u64 = 1 << 20;
/// One block of a large file's digest.
const DIGEST_BLOCK: u64 = 4096;

#[derive(Debug, Serialize)]
struct Row {
    name: String,
    path: String,
    size: u64,
    owner: u32,
    bridged: bool,
    /// An event's counter (its first 4 bytes), not a mapping's pages.
    event: bool,
    mapped_by: Vec<Mapper>,
    written: bool,
    /// The Flatpak app whose own `/dev/shm` the file is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    flatpak_app: Option<&'static str>,
}

/// A file chosen for the list, before its second look.
struct Candidate {
    name: OsString,
    size: u64,
    owner: u32,
    identity: (u64, u64),
    bridged: bool,
    event: bool,
    /// `None`: it could not be read (another user's private file).
    digest: Option<u64>,
}

/// The files chosen in one place, before their second look.
struct Look {
    place: Place,
    dir: TmpfsDir,
    candidates: Vec<Candidate>,
    /// Other users' files not listed.
    others_left_out: usize,
}

/// Lists known and bridged files (all files with `--all`), the user's own
/// only unless `--other-users`, in the tmpfs and, without `--tmpfs`, in
/// Flatpak Steam's own `/dev/shm` too.
pub fn run(args: ListArgs) -> Result<ExitCode> {
    let presets = presets_file::load(&args.common)?;
    let known: BTreeSet<String> = presets
        .games()
        .iter()
        .flat_map(|g| g.specs().unwrap_or_default())
        .map(|s| s.file_name().to_owned())
        .collect();
    let mut looks = Vec::new();
    for (place, dir) in places::checked(&args.common)? {
        looks.push(first_look(&args, &known, place, dir)?);
    }
    if looks.iter().any(|l| !l.candidates.is_empty()) {
        std::thread::sleep(SAMPLE_GAP);
    }
    // One pass over /proc per device (an app's /dev/shm is on the host's).
    let mut indexes: HashMap<u64, MapIndex> = HashMap::new();
    let mut listed = Vec::with_capacity(looks.len());
    for look in looks {
        let device = look.dir.device()?;
        let index = indexes
            .entry(device)
            .or_insert_with(|| MapIndex::scan(device));
        let rows = second_look(&look, index);
        listed.push((look, rows));
    }
    if args.json {
        for (_, rows) in &listed {
            for row in rows {
                outln!("{}", serde_json::to_string(row)?)?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    for (i, (look, rows)) in listed.iter().enumerate() {
        if look.place.flatpak_app.is_some() {
            outln!("\nIn {}:", look.place.label())?;
        } else if i > 0 {
            outln!()?;
        }
        print_table(&args, &look.dir, rows, &look.candidates)?;
        if look.others_left_out > 0 {
            outln!(
                "({} file(s) of other users left out; --other-users lists them)",
                look.others_left_out
            )?;
        }
        if look.place.flatpak_app.is_some() && !rows.is_empty() {
            outln!(
                "Games of Flatpak Steam write here, not in /dev/shm where other Linux readers \
                 look; to share /dev/shm with them: {} (then restart Steam)",
                flatpak::SHARE_SHM
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The files of `dir` to list, with a first digest of each.
fn first_look(
    args: &ListArgs,
    known: &BTreeSet<String>,
    place: Place,
    dir: TmpfsDir,
) -> Result<Look> {
    let names = dir.names()?;
    let marked: HashSet<&str> = names
        .iter()
        .filter_map(|n| ledger::file_of_marker(n.to_str()?))
        .collect();
    let me = untrusted::me();
    let mut others_left_out = 0usize;
    let mut candidates = Vec::new();
    for name in &names {
        let text = name.to_str();
        if text.is_some_and(|t| ledger::file_of_marker(t).is_some()) {
            continue;
        }
        let wanted = args.all || text.is_some_and(|t| known.contains(t) || marked.contains(t));
        if !wanted {
            continue;
        }
        // A first look by name, to leave out what will not be listed
        // without opening it; what is opened is checked again.
        let Ok(meta) = std::fs::symlink_metadata(dir.path.join(name)) else {
            continue;
        };
        if !meta.file_type().is_file() {
            continue;
        }
        if meta.uid() != me && !args.other_users {
            others_left_out += 1;
            continue;
        }
        if let Some(c) = look(&dir, name, &meta, args.other_users) {
            candidates.push(c);
        }
    }
    candidates.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Look {
        place,
        dir,
        candidates,
        others_left_out,
    })
}

/// The rows of `look`'s files, each looked at again: is it being written?
fn second_look(look: &Look, index: &MapIndex) -> Vec<Row> {
    let dir = &look.dir;
    look.candidates
        .iter()
        .map(|c| {
            let written = match untrusted::open(&dir.path, &c.name, Owners::Anyone) {
                // Another file under the name now: written anew.
                Ok(file) if file.identity != c.identity => true,
                Ok(file) => c.digest.is_some() && digest(&file) != c.digest,
                Err(_) => false,
            };
            Row {
                name: escape::json_name(&c.name),
                path: dir
                    .path
                    .join(escape::json_name(&c.name))
                    .display()
                    .to_string(),
                size: c.size,
                owner: c.owner,
                bridged: c.bridged,
                event: c.event,
                mapped_by: index.mappers(c.identity.1),
                written,
                flatpak_app: look.place.flatpak_app,
            }
        })
        .collect()
}

/// Opens the file `name` (found as `meta`) and takes its first digest;
/// `None` if it is no longer a regular file, or not the user's when only
/// theirs are wanted.
fn look(
    dir: &TmpfsDir,
    name: &OsStr,
    meta: &std::fs::Metadata,
    other_users: bool,
) -> Option<Candidate> {
    let me = untrusted::me();
    let owners = if other_users {
        Owners::Anyone
    } else {
        Owners::Mine
    };
    match untrusted::open(&dir.path, name, owners) {
        Ok(file) => {
            let marker = name
                .to_str()
                .filter(|_| file.owner == me)
                .and_then(|n| dir.marker(n))
                .filter(|m| m.inode == file.identity.1);
            Some(Candidate {
                name: name.to_owned(),
                size: file.len,
                owner: file.owner,
                identity: file.identity,
                bridged: marker.is_some(),
                event: marker.is_some_and(|m| m.event),
                digest: digest(&file),
            })
        }
        // Another user's file we may not read: listed as seen, unread.
        Err(untrusted::OpenError::NotOwned { owner, .. }) if other_users => Some(Candidate {
            name: name.to_owned(),
            size: meta.len(),
            owner,
            identity: (meta.dev(), meta.ino()),
            bridged: false,
            event: false,
            digest: None,
        }),
        Err(_) => None,
    }
}

/// The table for people; names escaped.
fn print_table(
    args: &ListArgs,
    dir: &TmpfsDir,
    rows: &[Row],
    candidates: &[Candidate],
) -> Result<()> {
    if rows.is_empty() {
        outln!(
            "Nothing bridged in {} (--all to show every file).",
            dir.path.display()
        )?;
        return Ok(());
    }
    let owner_column = if args.other_users { "OWNER  " } else { "" };
    outln!(
        "{:<32} {:>10}  {owner_column}{:<8} {:<9} MAPPED BY",
        "NAME",
        "BYTES",
        "BRIDGED",
        "WRITTEN"
    )?;
    for (row, c) in rows.iter().zip(candidates) {
        let owner = if args.other_users {
            format!("{:<6} ", row.owner)
        } else {
            String::new()
        };
        outln!(
            "{:<32} {:>10}  {owner}{:<8} {:<9} {}",
            escape::name(&c.name),
            row.size,
            match (row.bridged, row.event) {
                (true, true) => "event",
                (true, false) => "yes",
                (false, _) => "no",
            },
            if row.written { "changing" } else { "still" },
            if row.mapped_by.is_empty() {
                "-".to_owned()
            } else {
                describe_mappers(&row.mapped_by)
            }
        )?;
    }
    Ok(())
}

/// A digest of the file's bytes now (read through the page cache, which
/// is the very memory the mappings share): all of a small file, and
/// [`DIGEST_BYTES`] in blocks spread over a larger one, so that a huge
/// file costs as little as a small one. `None` if it cannot be read.
fn digest(file: &CheckedFile) -> Option<u64> {
    let len = file.len_now().ok()?;
    let mut h = DefaultHasher::new();
    len.hash(&mut h);
    let mut buf = vec![0u8; DIGEST_BLOCK as usize * 16];
    if len <= DIGEST_BYTES {
        let mut at = 0;
        while at < len {
            let n = file.read_at(&mut buf, at).ok()?;
            if n == 0 {
                break;
            }
            buf[..n].hash(&mut h);
            at += n as u64;
        }
    } else {
        let blocks = DIGEST_BYTES / DIGEST_BLOCK;
        let stride = (len - DIGEST_BLOCK) / (blocks - 1);
        let block = &mut buf[..DIGEST_BLOCK as usize];
        for i in 0..blocks {
            let n = file.read_at(block, i * stride).ok()?;
            block[..n].hash(&mut h);
        }
    }
    Some(h.finish())
}
