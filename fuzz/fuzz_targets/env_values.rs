//! A child's view of `NAME` and `NAME_SIZE`: any values, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shmem::ShMemDescription;

fuzz_target!(|input: (&str, &str)| {
    if let Ok(d) = ShMemDescription::from_env_values("FUZZ_SHMEM", input.0, input.1) {
        assert!(d.size > 0);
        let [(_, id), (_, size)] = d.env_vars("FUZZ_SHMEM");
        let again = ShMemDescription::from_env_values("FUZZ_SHMEM", &id, &size).unwrap();
        assert_eq!(again, d);
    }
});
