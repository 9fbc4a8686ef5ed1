//! Ids arrive on command lines and in environment variables: parsing any
//! text must not panic, and what parses must print back to the same id.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shmem::ShMemId;

fuzz_target!(|text: &str| {
    if let Ok(id) = text.parse::<ShMemId>() {
        let again: ShMemId = id.to_string().parse().expect("a printed id parses");
        assert_eq!(again, id);
    }
});
