//! `shm-bridge clean`: removes the files of mappings a bridge left behind.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::companion::CleanArgs;
use crate::core::cleanup::Verdict;
use crate::linux::presets_file;
use crate::linux::tmpfs::TmpfsDir;

/// Cleans the named mappings' files, or every file a bridge marked.
pub fn run(args: CleanArgs) -> Result<ExitCode> {
    let presets = presets_file::load(&args.common)?;
    let dir = TmpfsDir::check(&args.common.tmpfs)?;
    let names: Vec<String> = match args.maps.resolve(&presets)? {
        Some(specs) => specs.iter().map(|s| s.file_name().to_owned()).collect(),
        None => dir.marked_names(),
    };
    if names.is_empty() {
        outln!("{}: nothing a bridge left behind", dir.path.display())?;
        return Ok(ExitCode::SUCCESS);
    }
    // Every file is dealt with before anything is said: a reader that
    // goes away (`clean | head -1`) must not leave the rest behind.
    let verdicts: Vec<(String, Verdict)> = names
        .into_iter()
        .map(|name| {
            let verdict = dir.remove_leftover(&name, args.force);
            (name, verdict)
        })
        .collect();
    let failed = verdicts
        .iter()
        .any(|(_, v)| matches!(v, Verdict::Failed(_)));
    for (name, verdict) in &verdicts {
        outln!("{}: {verdict}", dir.path.join(name).display())?;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
