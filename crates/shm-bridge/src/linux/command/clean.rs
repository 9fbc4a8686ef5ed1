//! `shm-bridge clean`: removes the files of mappings a bridge left behind,
//! in the tmpfs and, without `--tmpfs`, in Flatpak Steam's own `/dev/shm`.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::companion::CleanArgs;
use crate::core::cleanup::Verdict;
use crate::linux::places;
use crate::linux::presets_file;

/// Cleans the named mappings' files, or every file a bridge marked, in
/// each place.
pub fn run(args: CleanArgs) -> Result<ExitCode> {
    let presets = presets_file::load(&args.common)?;
    let places = places::checked(&args.common)?;
    let named = args.maps.files(&presets)?;
    // Every file is dealt with before anything is said: a reader that
    // goes away (`clean | head -1`) must not leave the rest behind.
    let mut results = Vec::with_capacity(places.len());
    for (place, dir) in &places {
        let names = named.clone().unwrap_or_else(|| dir.marked_names());
        let verdicts: Vec<(String, Verdict)> = names
            .into_iter()
            .map(|name| {
                let verdict = dir.remove_leftover(&name, args.force);
                (name, verdict)
            })
            .collect();
        results.push((place, dir, verdicts));
    }
    let failed = results
        .iter()
        .flat_map(|(_, _, v)| v)
        .any(|(_, v)| matches!(v, Verdict::Failed(_)));
    let found_somewhere = |name: &str| {
        results.iter().any(|(_, _, verdicts)| {
            verdicts
                .iter()
                .any(|(n, v)| n == name && !matches!(v, Verdict::NothingThere))
        })
    };
    for (i, (place, dir, verdicts)) in results.iter().enumerate() {
        if verdicts.is_empty() {
            outln!("{}: nothing a bridge left behind", place.label())?;
            continue;
        }
        for (name, verdict) in verdicts {
            // A name asked for and found nowhere is said once, for the first place.
            if matches!(verdict, Verdict::NothingThere) && (i > 0 || found_somewhere(name)) {
                continue;
            }
            let path = dir.path.join(name);
            match place.flatpak_app {
                Some(_) => outln!("{} (Flatpak Steam's /dev/shm): {verdict}", path.display())?,
                None => outln!("{}: {verdict}", path.display())?,
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
