//! Marker files sit in a world-writable directory: any text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shm_bridge::core::ledger::{Marker, file_of_marker};

fuzz_target!(|text: &str| {
    if let Some(marker) = Marker::parse(text) {
        assert_eq!(Marker::parse(&marker.to_text()), Some(marker));
    }
    let _ = file_of_marker(text);
});
