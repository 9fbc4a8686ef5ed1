//! Ids written by other tools: AFL's `__AFL_SHM_ID` without a size,
//! LibAFL's POSIX names, and numbers that could be two things.
#![cfg(target_os = "linux")]

use std::os::fd::AsRawFd;

use shmem::{
    NamedShMem, PosixShMemProvider, ShMem, ShMemError, ShMemId, ShMemProvider, StdShMemProvider,
    SysvShMemProvider,
};

/// A number that is both a SysV id and a descriptor of this process
/// holding shared memory is refused, with both readings named.
#[test]
fn a_number_that_is_also_a_memfd_descriptor_is_refused() {
    let memfd = std::fs::File::from(
        rustix::fs::memfd_create("libafl-style", rustix::fs::MemfdFlags::CLOEXEC).unwrap(),
    );
    let fd = memfd.as_raw_fd();
    let err = SysvShMemProvider::new()
        .unwrap()
        .shmem_from_id_and_size(ShMemId::SysV(fd), 4096)
        .unwrap_err();
    assert!(matches!(err, ShMemError::InvalidId { .. }), "{err}");
    assert!(err.to_string().contains("ambiguous"), "{err}");
    assert!(err.to_string().contains("/memfd:libafl-style"), "{err}");
    // A number that is no such descriptor is a SysV id as ever.
    let mem = SysvShMemProvider::new().unwrap().new_shmem(4096).unwrap();
    let ShMemId::SysV(shmid) = mem.id() else {
        panic!("a SysV id")
    };
    assert!(
        SysvShMemProvider::new()
            .unwrap()
            .shmem_from_id_and_size(ShMemId::SysV(shmid), 4096)
            .is_ok()
    );
}

/// AFL passes only `__AFL_SHM_ID`; LibAFL's POSIX provider passes
/// `/libafl_PID_N` with a size. Both open, the first whole.
#[test]
fn ids_from_afl_and_libafl_environments_open() {
    let mut std_provider = StdShMemProvider::new().unwrap();
    let afl_map = std_provider.new_shmem(65536).unwrap();
    afl_map.store(65535, 7);
    let name = format!("libafl_{}_1", std::process::id());
    let named = NamedShMem::create(&name, 4096).unwrap();
    named.store(0, 9);
    // SAFETY: this test binary's only test that touches the environment,
    // and nothing in it reads the environment from another thread meanwhile.
    unsafe {
        std::env::set_var("__AFL_SHM_ID", afl_map.id().to_string());
        std::env::remove_var("__AFL_SHM_ID_SIZE");
        std::env::set_var("LIBAFL_MAP", format!("/{name}"));
        std::env::set_var("LIBAFL_MAP_SIZE", "4096");
        std::env::set_var("NO_SIZE_MEMFD", "memfd:1:2:3");
    }
    let whole = std_provider.existing_from_env("__AFL_SHM_ID").unwrap();
    assert_eq!(
        whole.len(),
        65536,
        "the whole map, its size asked of the kernel"
    );
    assert_eq!(whole.load(65535), Some(7));
    let posix = PosixShMemProvider::new()
        .unwrap()
        .existing_from_env("LIBAFL_MAP")
        .unwrap();
    assert_eq!(posix.load(0), Some(9));
    let err = shmem::NopShMemProvider
        .existing_from_env("NO_SIZE_MEMFD")
        .unwrap_err();
    assert!(
        matches!(&err, ShMemError::Env { var, .. } if var == "NO_SIZE_MEMFD_SIZE"),
        "{err}"
    );
}
