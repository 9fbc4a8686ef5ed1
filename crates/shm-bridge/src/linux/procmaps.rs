//! Which processes map a file: `/proc/PID/maps` lists each mapping's
//! device and inode, which identify the file whatever its name. Every
//! process's list is read once per question, into an index by inode, so a
//! directory of ten thousand files costs one pass over `/proc`, not one
//! pass per file.

use std::collections::HashMap;

pub use crate::core::cleanup::Mapper;

/// The processes (that we may inspect) mapping each file of one device.
#[derive(Debug, Default)]
pub struct MapIndex {
    /// Pids by inode, each pid once.
    by_inode: HashMap<u64, Vec<u32>>,
}

impl MapIndex {
    /// Reads the mappings of every process we may inspect, keeping those
    /// of files on the device `dev`.
    pub fn scan(dev: u64) -> MapIndex {
        let wanted_dev = format!(
            "{:02x}:{:02x}",
            rustix::fs::major(dev),
            rustix::fs::minor(dev)
        );
        let mut index = MapIndex::default();
        let Ok(procs) = std::fs::read_dir("/proc") else {
            return index;
        };
        for entry in procs.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            // Gone meanwhile, or not ours to read: no mappings we can know.
            if let Ok(maps) = std::fs::read_to_string(entry.path().join("maps")) {
                index.add(pid, &maps, &wanted_dev);
            }
        }
        index
    }

    /// Adds the lines of one process's `maps` whose device is `dev`
    /// (`MAJOR:MINOR` in hex, as the kernel prints it).
    fn add(&mut self, pid: u32, maps: &str, dev: &str) {
        for line in maps.lines() {
            // address perms offset dev inode [path]
            let mut fields = line.split_whitespace().skip(3);
            if fields.next() != Some(dev) {
                continue;
            }
            let Some(ino) = fields.next().and_then(|i| i.parse::<u64>().ok()) else {
                continue;
            };
            let pids = self.by_inode.entry(ino).or_default();
            if !pids.contains(&pid) {
                pids.push(pid);
            }
        }
    }

    /// The processes mapping the file with inode `ino`.
    pub fn mappers(&self, ino: u64) -> Vec<Mapper> {
        self.by_inode
            .get(&ino)
            .into_iter()
            .flatten()
            .map(|&pid| Mapper {
                pid,
                program: program_name(pid),
            })
            .collect()
    }
}

/// The processes (that we may inspect) mapping the file with this identity.
pub fn mappers(dev: u64, ino: u64) -> Vec<Mapper> {
    MapIndex::scan(dev).mappers(ino)
}

/// The program a process runs, from its command line (Wine puts the .exe there).
fn program_name(pid: u32) -> String {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let first = cmdline.split(|&b| b == 0).next().unwrap_or_default();
    let first = String::from_utf8_lossy(first);
    let name = first.rsplit(['/', '\\']).next().unwrap_or_default();
    if name.is_empty() {
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .map(|c| c.trim().to_owned())
            .unwrap_or_else(|_| "?".into())
    } else {
        name.to_owned()
    }
}

/// Whether the process `pid` is alive and runs the bridge exe (under Wine,
/// its command line names `shm-bridge.exe`).
pub fn is_live_bridge(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
        cmdline
            .split(|&b| b == 0)
            .any(|arg| arg.to_ascii_lowercase().ends_with(b"shm-bridge.exe"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_keeps_each_process_once_per_file_of_the_device() {
        let mut index = MapIndex::default();
        let maps = "\
7f00-7f01 rw-s 00000000 00:1a 42 /dev/shm/a
7f01-7f02 rw-s 00001000 00:1a 42 /dev/shm/a
7f02-7f03 r--s 00000000 00:1b 42 /elsewhere/b
7f03-7f04 r-xp 00000000 08:01 42 /usr/lib/x
garbage
7f04-7f05 rw-p 00000000 00:1a notanumber
";
        index.add(7, maps, "00:1a");
        index.add(8, "7f00-7f01 rw-s 00000000 00:1a 43 /dev/shm/c\n", "00:1a");
        assert_eq!(index.by_inode.get(&42), Some(&vec![7]));
        assert_eq!(index.by_inode.get(&43), Some(&vec![8]));
        assert_eq!(index.by_inode.len(), 2);
        let me = std::process::id();
        assert!(!is_live_bridge(me), "the test runner is no bridge");
        assert!(!is_live_bridge(u32::MAX), "no such process");
    }
}
