//! `--map` and `--size` values as a user types them: NUL-separated
//! arguments, the names before an argument `--` and the sizes after it;
//! what parses is sized and summed as the programs do. Seeds in
//! `corpus/map_specs/seed-*` hold sizes near 2^63 and 2^64.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shm_bridge::cli::maps::MapArgs;
use shm_bridge::core::spec;

fuzz_target!(|bytes: &[u8]| {
    let args: Vec<String> = bytes
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let (maps, sizes) = match args.iter().position(|a| a == "--") {
        Some(at) => (args[..at].to_vec(), args[at + 1..].to_vec()),
        None => (args, Vec::new()),
    };
    if let Ok(specs) = spec::from_flags(&maps, &sizes) {
        for s in &specs {
            let file = s.file_name();
            assert!(!file.is_empty() && !file.contains('/') && !file.contains("..") && !file.contains('\0'));
            assert!(!file.starts_with('-'), "a name the exe would read as an option");
        }
        let _ = spec::check_unique(&specs);
        // The same names as events: checked against the maps, never a panic.
        let named: Vec<(String, bool)> = maps.iter().map(|m| (m.clone(), false)).collect();
        let _ = spec::events(&named, &specs);
    }
    shm_bridge::fuzzing::plan_sizes(&MapArgs {
        game: None,
        maps,
        sizes,
        events: Vec::new(),
        pulsed_events: Vec::new(),
    });
});
