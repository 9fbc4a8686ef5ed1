//! `shm-bridge clean`: removes the files of mappings a bridge left behind.

use std::process::ExitCode;

use anyhow::Result;

use crate::linux::cli::CleanArgs;
use crate::linux::maps;
use crate::linux::tmpfs::{TmpfsDir, Verdict};

/// Cleans the named mappings' files, or every file a bridge marked.
pub fn run(args: CleanArgs) -> Result<ExitCode> {
    let presets = maps::load_presets(&args.common)?;
    let dir = TmpfsDir::check(&args.common.tmpfs)?;
    let names: Vec<String> = match maps::resolve(&args.maps, &presets)? {
        Some(specs) => specs.iter().map(|s| s.file_name().to_owned()).collect(),
        None => dir.marked_names(),
    };
    if names.is_empty() {
        println!("{}: nothing a bridge left behind", dir.path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let mut failed = false;
    for name in names {
        let verdict = dir.remove_leftover(&name, args.force);
        failed |= matches!(verdict, Verdict::Failed(_));
        println!("{}: {verdict}", dir.path.join(&name).display());
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
