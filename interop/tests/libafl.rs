//! LibAFL's `shmem_providers` (0.16.1, crates.io) in one process and
//! shmem in another, both directions, with no change on LibAFL's side:
//! its `StdShMemProvider` and `write_to_env`, ours `existing_from_env`,
//! and the other way round; LibAFL's POSIX ids; ids in LibAFL's fixed form.
#![cfg(target_os = "linux")]

use std::process::Command;

const LIBAFL: &str = env!("CARGO_BIN_EXE_libafl-peer");
const SHMEM: &str = env!("CARGO_BIN_EXE_shmem-peer");

/// Runs `cmd`, which must succeed and print `expected` among its lines.
fn run(cmd: &mut Command, expected: &[&str]) {
    let out = cmd.output().expect("start the peer");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{:?} failed ({}): {stderr}{stdout}",
        cmd,
        out.status
    );
    for line in expected {
        assert!(
            stdout.lines().any(|l| l == *line),
            "no {line:?} in: {stdout}{stderr}"
        );
    }
}

#[test]
fn a_libafl_fuzzers_map_opens_in_a_shmem_target() {
    run(
        Command::new(LIBAFL).args(["create", "std", "65536", "--", SHMEM, "open", "std"]),
        &["shmem opened 65536 bytes", "libafl saw opened there"],
    );
}

#[test]
fn a_shmem_map_opens_in_a_libafl_target() {
    run(
        Command::new(SHMEM).args(["create", "65536", "--", LIBAFL, "open"]),
        &["libafl opened 65536 bytes", "shmem saw opened there"],
    );
}

#[test]
fn libafls_posix_ids_open_here() {
    run(
        Command::new(LIBAFL).args(["create", "mmap", "4096", "--", SHMEM, "open", "posix"]),
        &["shmem opened 4096 bytes", "libafl saw opened there"],
    );
}

/// Ids in LibAFL's fixed 20 bytes: ours go in where they fit and come out
/// the same; theirs parse here.
#[test]
fn ids_cross_in_libafls_fixed_form() {
    use shmem::{ShMem, ShMemProvider};
    let ours = shmem::StdShMemProvider::new()
        .unwrap()
        .new_shmem(4096)
        .unwrap();
    let bytes = ours.id().to_libafl_bytes().unwrap();
    let theirs = shmem_providers::ShMemId::from_array(&bytes);
    assert_eq!(theirs.as_str(), ours.id().to_string());
    assert_eq!(
        shmem::ShMemId::from_libafl_bytes(theirs.as_array()).unwrap(),
        ours.id()
    );
    let libafl_posix = shmem_providers::ShMemId::from_string("/libafl_1234_99");
    assert_eq!(
        shmem::ShMemId::from_libafl_bytes(libafl_posix.as_array()).unwrap(),
        shmem::ShMemId::Posix(shmem::ShMemName::new("libafl_1234_99").unwrap())
    );
}
