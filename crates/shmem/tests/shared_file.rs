//! Reading files of a shared tmpfs that others may shrink, swap or plant:
//! `SharedFile` survives what kills a mapping's reader.
#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::Command;

use shmem::{PosixShMem, ShMemError, SharedFile};

/// A private directory in /dev/shm for one test, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(test: &str) -> Dir {
        let dir = Path::new("/dev/shm").join(format!("shmem-file-{test}-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        Dir(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn truncate(path: &Path, size: u64) {
    let status = Command::new("truncate")
        .args(["-s", &size.to_string()])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// Another process shrinks the file: a read through the descriptor gets
/// what is left and an error, where a read through a mapping dies of SIGBUS.
#[test]
fn a_file_shrunk_by_another_process_is_an_error_not_a_crash() {
    let dir = Dir::new("shrink");
    let path = dir.0.join("page");
    std::fs::write(&path, vec![7u8; 8192]).unwrap();
    let file = SharedFile::open_own_in(&dir.0, "page").unwrap();
    let mapped = PosixShMem::open_in_read_only(&dir.0, "page").unwrap();
    let mut buf = vec![0u8; 8192];
    file.read_exact_at(0, &mut buf).unwrap();
    assert_eq!(buf, vec![7u8; 8192]);
    truncate(&path, 100);
    let err = file.read_exact_at(0, &mut buf).unwrap_err();
    assert!(
        matches!(
            err,
            ShMemError::TooSmall {
                actual: 100,
                requested: 8192,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(file.read_at(0, &mut buf).unwrap(), 100);
    assert_eq!(file.len().unwrap(), 100);
    // The mapping of the same file, read past the new end, kills its reader.
    // SAFETY: the child reads one byte of the mapping and leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let _ = mapped.load(4096);
        // SAFETY: ends the child without running the test harness.
        unsafe { libc::_exit(0) };
    }
    let mut status = 0;
    // SAFETY: waits for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(
        libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGBUS,
        "the mapping's reader was expected to die of SIGBUS: {status:#x}"
    );
}

/// Another user's file, a FIFO, a symlink at the name: refused at once.
#[test]
fn what_others_plant_at_a_name_is_refused() {
    let dir = Dir::new("plant");
    let theirs = dir.0.join("theirs");
    std::fs::write(&theirs, b"data").unwrap();
    std::os::unix::fs::chown(&theirs, Some(61_234), Some(61_234)).unwrap();
    let err = SharedFile::open_own_in(&dir.0, "theirs").unwrap_err();
    assert!(
        matches!(err, ShMemError::NotOwned { owner: 61_234, .. }),
        "{err}"
    );
    assert_eq!(
        SharedFile::open_in(&dir.0, "theirs")
            .unwrap()
            .read_all(64)
            .unwrap(),
        b"data"
    );

    let fifo = dir.0.join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let err = SharedFile::open_own_in(&dir.0, "fifo").unwrap_err();
    assert!(
        shm_tests::chain(&err).contains("not a regular file"),
        "{err}"
    );

    std::os::unix::fs::symlink(&theirs, dir.0.join("link")).unwrap();
    let err = SharedFile::open_in(&dir.0, "link").unwrap_err();
    assert!(shm_tests::chain(&err).contains("symbolic link"), "{err}");
}
