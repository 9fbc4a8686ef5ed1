//! What a client (or a server) may send over the service's socket.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    shmem::fuzzing::service_wire(bytes);
});
