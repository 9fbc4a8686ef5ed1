//! Which processes map a file: `/proc/PID/maps` lists each mapping's
//! device and inode, which identify the file whatever its name.

pub use crate::core::cleanup::Mapper;

/// The processes (that we may inspect) mapping the file with this identity.
pub fn mappers(dev: u64, ino: u64) -> Vec<Mapper> {
    let major = rustix::fs::major(dev);
    let minor = rustix::fs::minor(dev);
    let wanted_dev = format!("{major:02x}:{minor:02x}");
    let wanted_ino = ino.to_string();
    let mut found = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(maps) = std::fs::read_to_string(entry.path().join("maps")) else {
            continue;
        };
        let maps_it = maps.lines().any(|line| {
            let mut f = line.split_whitespace().skip(3);
            f.next().is_some_and(|d| d == wanted_dev) && f.next().is_some_and(|i| i == wanted_ino)
        });
        if maps_it {
            found.push(Mapper {
                pid,
                program: program_name(pid),
            });
        }
    }
    found
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
