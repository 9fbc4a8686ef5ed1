//! Both programs' command lines: any arguments (NUL-separated bytes, as a
//! process receives them), then the sizes they name summed as the
//! programs do. Seeds in `corpus/command_line/seed-*` hold sizes near 2^63
//! and 2^64 and times past what a clock holds.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let args: Vec<String> = bytes
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let mut exe = vec!["shm-bridge.exe".to_owned()];
    exe.extend(args.iter().cloned());
    shm_bridge::fuzzing::exe_cli(&exe);
    let mut linux = vec!["shm-bridge".to_owned()];
    linux.extend(args);
    shm_bridge::fuzzing::linux_cli(&linux);
});
