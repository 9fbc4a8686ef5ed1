//! A Windows process under real Wine maps a file-backed named mapping
//! whose file lives in `/dev/shm`; this Linux process maps the same file,
//! and writes travel both ways while both have it mapped.
#![cfg(target_os = "linux")]

use std::path::Path;

use shm_tests::{handshake, nonce, spawn_until_ready, wine};
use shmem::PosixShMem;

#[test]
fn linux_reads_and_writes_the_file_of_a_windows_file_backed_mapping() {
    let base = format!("shm-test-{}", nonce());
    let path = Path::new("/dev/shm").join(&base);
    let n = nonce();
    let size = 64 * 1024 + 5;
    let mut peer = spawn_until_ready(wine::command(&wine::exe("shm-peer")).args([
        "create-file-backed",
        &format!("Local\\{base}"),
        &wine::z_path(&path),
        &size.to_string(),
        &n,
    ]));

    let mem = PosixShMem::open_in(Path::new("/dev/shm"), &base).unwrap();
    assert_eq!(mem.len(), size, "the file has the mapping's size");
    let bye = handshake::opener(&mem, &n).unwrap();
    assert_eq!(bye, format!("bye {n}"));
    drop(mem);

    assert!(peer.wait().unwrap().success());
    assert!(
        !path.exists(),
        "the Windows side created the file, so it removes it"
    );
}

#[test]
fn a_second_windows_process_opens_the_file_backed_mapping_by_name() {
    let base = format!("shm-test-{}", nonce());
    let path = Path::new("/dev/shm").join(&base);
    let n = nonce();
    // The creator is a Windows process; the opener another one, by name;
    // the Linux side plays no part but to check the file after.
    let mut creator = spawn_until_ready(wine::command(&wine::exe("shm-peer")).args([
        "create-file-backed",
        &base,
        &wine::z_path(&path),
        "4096",
        &n,
    ]));
    let opener = wine::command(&wine::exe("shm-peer"))
        .args(["open", "named", "name", &format!("Local\\{base}"), &n])
        .output()
        .unwrap();
    assert!(
        opener.status.success(),
        "{}",
        String::from_utf8_lossy(&opener.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&opener.stdout).trim(),
        format!("bye {n}")
    );
    assert!(creator.wait().unwrap().success());
    assert!(!path.exists(), "the creator removes the file it made");
}
