//! A user's presets file: any text. What parses is looked up, added to
//! the built-in table and its sizes summed as `launch` does. Seeds in
//! `corpus/presets/seed-*` hold sizes near 2^63 and 2^64.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shm_bridge::core::plan;
use shm_bridge::core::presets::Presets;

fuzz_target!(|text: &str| {
    if let Ok(presets) = Presets::parse(text, "fuzz.toml") {
        let _ = presets.describe();
        for game in presets.games() {
            // A title of letters or digits finds its own entry, no other.
            if let Ok(found) = presets.find(&game.title) {
                assert_eq!(found, game);
            }
            let specs = game.specs().expect("parse validated every entry");
            let sizes: Vec<u64> = specs.iter().map(|s| s.size.unwrap_or(0)).collect();
            if let Ok(needed) = plan::bytes_needed(sizes.iter().map(|&s| (s, None))) {
                // A sum that wrapped would be less than one of its parts.
                assert!(sizes.iter().all(|&s| needed >= s), "{sizes:?}");
                let _ = plan::check_room(needed, u64::MAX, "fuzz");
            }
        }
        let mut all = Presets::builtin();
        let _ = all.extend(presets);
    }
});
