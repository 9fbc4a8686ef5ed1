//! Nothing leaks: not after 10,000 create/drop cycles per backend, and not
//! when a process holding anonymous segments is killed with SIGKILL.
#![cfg(target_os = "linux")]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use shmem::{
    MemfdShMemProvider, PosixShMemProvider, ServedShMemProvider, ShMem, ShMemId, ShMemProvider,
    StdShMemProvider, SysvShMemProvider,
};

const PEER: &str = env!("CARGO_BIN_EXE_shm-peer");

/// This file's tests count the process's descriptors: one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// What a leak would show up in.
#[derive(Debug, PartialEq, Eq)]
struct Resources {
    fds: usize,
    mappings: usize,
    dev_shm: BTreeSet<String>,
    sysv: BTreeSet<String>,
}

/// SysV segments created by one of `pids`.
fn sysv_ids(pids: &[u32]) -> BTreeSet<String> {
    std::fs::read_to_string("/proc/sysvipc/shm")
        .unwrap_or_default()
        .lines()
        .skip(1)
        .filter_map(|l| {
            // key shmid perms size cpid ...
            let fields: Vec<&str> = l.split_whitespace().collect();
            let creator: u32 = fields.get(4)?.parse().ok()?;
            pids.contains(&creator).then(|| fields[1].to_owned())
        })
        .collect()
}

/// How shared memory shows in `/proc/self/maps`.
const SHARED: [&str; 3] = ["/memfd:", "/dev/shm/", "/SYSV"];

/// What this process holds, and what `pids` made in /dev/shm and SysV:
/// other programs on the machine (a browser, a sound server, another
/// test run) make and remove their own segments as they please.
fn resources(pids: &[u32]) -> Resources {
    Resources {
        fds: std::fs::read_dir("/proc/self/fd").unwrap().count(),
        // Shared memory mappings only: test threads come and go with their stacks.
        mappings: std::fs::read_to_string("/proc/self/maps")
            .unwrap()
            .lines()
            .filter(|l| SHARED.iter().any(|k| l.contains(k)))
            .count(),
        // The library names its files `shmem-PID-...`.
        dev_shm: std::fs::read_dir("/dev/shm")
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| {
                pids.iter()
                    .any(|pid| name.starts_with(&format!("shmem-{pid}-")))
            })
            .collect(),
        sysv: sysv_ids(pids),
    }
}

fn cycles<P: ShMemProvider>(n: usize) {
    let mut provider = P::new().unwrap();
    // Warm up: a provider may keep a connection or a lazily made resource.
    drop(provider.new_shmem(4096).unwrap());
    let me = [std::process::id()];
    let before = resources(&me);
    for i in 0..n {
        let mem = provider.new_shmem(4096 + i % 3 * 4096).unwrap();
        mem.store(i % 4096, 1);
        let again = provider.clone_ref(&mem).unwrap();
        drop(mem);
        drop(again);
    }
    let after = resources(&me);
    assert_eq!(before, after, "{} leaked", std::any::type_name::<P>());
}

#[test]
fn ten_thousand_create_drop_cycles_per_backend_leak_nothing() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    cycles::<MemfdShMemProvider>(10_000);
    cycles::<PosixShMemProvider>(10_000);
    cycles::<SysvShMemProvider>(10_000);
    cycles::<ServedShMemProvider>(10_000);
    cycles::<StdShMemProvider>(10_000);
}

/// Starts a peer holding `count` segments, returns it and their ids.
fn holder(backend: &str, count: usize) -> (std::process::Child, Vec<ShMemId>) {
    let mut child = Command::new(PEER)
        .args(["hold", backend, &count.to_string(), "65536"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ids = Vec::new();
    for line in BufReader::new(child.stdout.as_mut().unwrap()).lines() {
        let line = line.unwrap();
        if line == "ready" {
            break;
        }
        ids.push(line.parse().unwrap());
    }
    assert_eq!(ids.len(), count);
    (child, ids)
}

#[test]
fn a_process_killed_holding_anonymous_segments_leaves_nothing() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut holders = Vec::new();
    for backend in ["memfd", "sysv", "std"] {
        let (mut child, ids) = holder(backend, 8);
        holders.push(child.id());
        if backend == "sysv" {
            let seen = resources(&[child.id()]).sysv;
            assert_eq!(seen.len(), ids.len(), "the holder's segments: {seen:?}");
        }
        // While it lives, its segments are real and reachable.
        let mut probe = MemfdShMemProvider::new().unwrap();
        for id in &ids {
            let seen = match id {
                ShMemId::SysV(_) => SysvShMemProvider::default()
                    .shmem_from_id_and_size(id.clone(), 65536)
                    .map(|m| m.load(0)),
                _ => probe
                    .shmem_from_id_and_size(id.clone(), 65536)
                    .map(|m| m.load(0)),
            };
            assert_eq!(seen.unwrap(), Some(0x5A), "{backend} {id}");
        }
        child.kill().unwrap();
        child.wait().unwrap();
        for id in &ids {
            let reopened = match id {
                ShMemId::SysV(_) => SysvShMemProvider::default()
                    .shmem_from_id_and_size(id.clone(), 65536)
                    .map(|m| m.id()),
                _ => probe
                    .shmem_from_id_and_size(id.clone(), 65536)
                    .map(|m| m.id()),
            };
            assert!(
                reopened.is_err(),
                "{backend}: {id} outlived its killed holder"
            );
        }
    }
    let left = resources(&holders);
    assert_eq!(left.sysv, BTreeSet::new(), "no SysV segment left");
    assert_eq!(left.dev_shm, BTreeSet::new(), "nothing left in /dev/shm");
}
