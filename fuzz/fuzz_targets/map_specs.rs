//! `--map` and `--size` values as a user types them: any lists of strings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shm_bridge::core::spec;

fuzz_target!(|input: (Vec<String>, Vec<String>)| {
    if let Ok(specs) = spec::from_flags(&input.0, &input.1) {
        for s in &specs {
            let file = s.file_name();
            assert!(!file.is_empty() && !file.contains('/') && !file.contains("..") && !file.contains('\0'));
        }
        let _ = spec::check_unique(&specs);
    }
});
