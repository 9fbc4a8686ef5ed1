//! `shm-bridge list`: what is bridged in the tmpfs, who maps it, and
//! whether it is being written.

use std::collections::{BTreeSet, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use crate::cli::companion::ListArgs;
use crate::core::cleanup::{FileKind, Mapper, describe_mappers};
use crate::linux::presets_file;
use crate::linux::tmpfs::{Entry, TmpfsDir};

/// How long to watch the bytes for changes.
const SAMPLE_GAP: Duration = Duration::from_millis(300);

#[derive(Debug, Serialize)]
struct Row {
    name: String,
    path: String,
    size: u64,
    bridged: bool,
    mapped_by: Vec<Mapper>,
    written: bool,
}

/// Lists known and bridged files (all files with `--all`).
pub fn run(args: ListArgs) -> Result<ExitCode> {
    let presets = presets_file::load(&args.common)?;
    let dir = TmpfsDir::check(&args.common.tmpfs)?;
    let known: BTreeSet<String> = presets
        .games()
        .iter()
        .flat_map(|g| g.specs().unwrap_or_default())
        .map(|s| s.file_name().to_owned())
        .collect();
    let entries: Vec<Entry> = dir
        .entries()?
        .into_iter()
        .filter(|e| e.kind == FileKind::File)
        .filter(|e| args.all || e.bridged() || known.contains(&e.name))
        .collect();
    let first: HashMap<String, u64> = entries
        .iter()
        .map(|e| (e.name.clone(), digest(e)))
        .collect();
    if !entries.is_empty() {
        std::thread::sleep(SAMPLE_GAP);
    }
    let rows: Vec<Row> = entries
        .iter()
        .map(|e| Row {
            name: e.name.clone(),
            path: e.path.display().to_string(),
            size: e.size,
            bridged: e.bridged(),
            mapped_by: e.mappers(),
            written: first.get(&e.name) != Some(&digest(e)),
        })
        .collect();
    if args.json {
        for row in &rows {
            outln!("{}", serde_json::to_string(row)?)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        outln!(
            "Nothing bridged in {} (--all to show every file).",
            dir.path.display()
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "{:<32} {:>10}  {:<8} {:<9} MAPPED BY",
        "NAME",
        "BYTES",
        "BRIDGED",
        "WRITTEN"
    )?;
    for row in &rows {
        outln!(
            "{:<32} {:>10}  {:<8} {:<9} {}",
            row.name,
            row.size,
            if row.bridged { "yes" } else { "no" },
            if row.written { "changing" } else { "still" },
            if row.mapped_by.is_empty() {
                "-".to_owned()
            } else {
                describe_mappers(&row.mapped_by)
            }
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A digest of the file's bytes now (read through the page cache, which
/// is the very memory the mappings share).
fn digest(e: &Entry) -> u64 {
    let mut h = DefaultHasher::new();
    std::fs::read(&e.path).unwrap_or_default().hash(&mut h);
    h.finish()
}
