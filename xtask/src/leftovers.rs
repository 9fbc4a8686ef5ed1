//! What tests could leave behind, taken before and after `cargo xtask test`.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;

use crate::process::target_dir;

/// `/dev/shm` entries and SysV segments of this user, the tmpfs mounts,
/// links and installed copies of the bridge some tests make.
pub fn find() -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for dir in ["/opt", "/usr/local/share", "/run"] {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("shm-bridge-test-") || name.starts_with("shm-test-") {
                found.insert(format!("{dir}/{name}"));
            }
        }
    }
    // Test tmpfs, and anything in the target directory (the Wine 10 run's
    // chroot is only ever mounted on in namespaces of its own).
    let target = target_dir();
    for mount in proc_mounts::MountIter::new()
        .into_iter()
        .flatten()
        .flatten()
    {
        let point = mount.dest.to_string_lossy();
        if point.contains("shm-test-") || mount.dest.starts_with(&target) {
            found.insert(format!("a {} mounted on {point}", mount.fstype));
        }
    }
    // Shared memory of this user only: another user's programs (a desktop
    // session's browser, when the tests run as root) come and go meanwhile.
    let me = rustix::process::geteuid().as_raw();
    if let Ok(dir) = std::fs::read_dir("/dev/shm") {
        for entry in dir.flatten() {
            if entry.metadata().is_ok_and(|m| m.uid() == me) {
                found.insert(format!("/dev/shm/{}", entry.file_name().to_string_lossy()));
            }
        }
    }
    // (procfs's reader of this file takes uids for 16 bits and fails on larger ones.)
    if let Ok(text) = std::fs::read_to_string("/proc/sysvipc/shm") {
        for line in text.lines().skip(1) {
            // key shmid perms size cpid lpid nattch uid gid cuid ...
            let fields: Vec<&str> = line.split_whitespace().collect();
            let creator = fields.get(9).and_then(|uid| uid.parse().ok());
            if let Some(shmid) = fields.get(1).filter(|_| creator == Some(me)) {
                found.insert(format!("SysV segment {shmid}"));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use super::*;

    /// The end-of-run check sees this user's files and SysV segments, and
    /// not another user's (as root: the tests need root anyway).
    #[test]
    fn leftovers_are_this_users_shared_memory() {
        let file = format!("xtask-test-{}", std::process::id());
        let path = Path::new("/dev/shm").join(&file);
        std::fs::write(&path, b"left").unwrap();
        let theirs = Path::new("/dev/shm").join(format!("{file}-theirs"));
        std::fs::write(&theirs, b"someone else's").unwrap();
        std::os::unix::fs::chown(&theirs, Some(61_234), Some(61_234)).unwrap();
        let made = Command::new("ipcmk").args(["-M", "4096"]).output().unwrap();
        let said = String::from_utf8_lossy(&made.stdout);
        let shmid = said.trim().rsplit(' ').next().unwrap().to_owned();
        let found = find();
        std::fs::remove_file(&path).unwrap();
        std::fs::remove_file(&theirs).unwrap();
        assert!(
            Command::new("ipcrm")
                .args(["-m", &shmid])
                .status()
                .unwrap()
                .success()
        );
        assert!(found.contains(&format!("/dev/shm/{file}")), "{found:?}");
        assert!(
            found.contains(&format!("SysV segment {shmid}")),
            "{said} {found:?}"
        );
        assert!(!found.iter().any(|f| f.ends_with("-theirs")), "{found:?}");
    }

    /// A mount point with a space is listed as `\040` in /proc/mounts; the
    /// check names it as it is.
    #[test]
    fn a_tmpfs_left_mounted_is_found_by_its_real_path() {
        assert!(
            rustix::process::geteuid().is_root(),
            "this test mounts a tmpfs and so needs root (CI runs as root)"
        );
        let dir = std::env::temp_dir().join(format!("shm-test-xtask {}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(&dir)
            .status()
            .unwrap()
            .success();
        let found = find();
        let unmounted = Command::new("umount").arg(&dir).status().unwrap().success();
        std::fs::remove_dir(&dir).unwrap();
        assert!(mounted && unmounted, "mount and umount a tmpfs on {dir:?}");
        assert!(
            found.contains(&format!("a tmpfs mounted on {}", dir.display())),
            "{found:?}"
        );
    }
}
