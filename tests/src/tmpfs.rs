//! A tmpfs mounted for one test, where a test needs a small one or one in
//! a particular place (these tests run as root, as CI does).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs of its own, unmounted and its directory removed on drop.
#[derive(Debug)]
pub struct Tmpfs {
    /// Where it is mounted.
    pub path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`64k`, ...) on a new directory in `parent`.
    pub fn mount_in(parent: &Path, size: &str) -> Tmpfs {
        assert!(
            rustix::process::geteuid().is_root(),
            "this test mounts a tmpfs and so needs root (CI runs as root)"
        );
        let path = parent.join(format!("shm-test-tmpfs-{}", crate::nonce()));
        std::fs::create_dir(&path).unwrap();
        let tmpfs = Tmpfs { path };
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(&tmpfs.path)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "mount a tmpfs on {}",
            tmpfs.path.display()
        );
        tmpfs
    }

    /// How many entries it holds.
    pub fn entries(&self) -> usize {
        std::fs::read_dir(&self.path).unwrap().count()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Fails only while mounted (then the directory stays, and says so).
        let _ = Command::new("umount").arg(&self.path).status();
        let _ = std::fs::remove_dir(&self.path);
    }
}
