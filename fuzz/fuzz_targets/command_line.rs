//! Both programs' command lines: any arguments.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|args: Vec<String>| {
    let mut exe = vec!["shm-bridge.exe".to_owned()];
    exe.extend(args.iter().cloned());
    shm_bridge::fuzzing::exe_cli(&exe);
    let mut linux = vec!["shm-bridge".to_owned()];
    linux.extend(args);
    shm_bridge::fuzzing::linux_cli(&linux);
});
