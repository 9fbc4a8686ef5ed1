//! A title's pages are written by the game, or by anyone who can write the
//! tmpfs: any bytes, decoded by every family, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    shm_bridge::fuzzing::decode_pages(data);
});
