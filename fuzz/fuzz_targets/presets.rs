//! A user's presets file: any text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shm_bridge::core::presets::Presets;

fuzz_target!(|text: &str| {
    if let Ok(presets) = Presets::parse(text, "fuzz.toml") {
        let _ = presets.describe();
        for game in presets.games() {
            let _ = presets.find(&game.title);
            assert!(game.specs().is_ok(), "parse validated every entry");
        }
    }
});
