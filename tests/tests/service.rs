//! The segment service across real processes: this test process runs a
//! service in a thread, `shm-peer` and `served-peer` are its other clients.
//! Each test has a service of its own (a fresh name, passed to the peers in
//! `SHMEM_SERVICE`), so its counters tell what that test left. Other users
//! and malformed clients: `service_security.rs`.
#![cfg(target_os = "linux")]

mod service_common;

use std::io::Read;
use std::process::{Command, Stdio};

use service_common::*;
use shm_tests::served::{CHILD_WAS_HERE, FROM_PARENT, MADE_BY_CHILD};
use shm_tests::{exchange, nonce};
use shmem::{
    SERVICE_ENV, ServedShMemProvider, ServiceName, ShMem, ShMemError, ShMemId, ShMemProvider,
};

#[test]
fn another_process_reopens_a_served_segment_by_id_and_from_the_environment() {
    let (service, name) = start_service();
    let mut provider = ServedShMemProvider::connect(&name).unwrap();
    let mem = provider.new_shmem(4096 * 3 + 17).unwrap();
    assert!(matches!(mem.id(), ShMemId::Served { .. }), "{:?}", mem.id());
    let n = nonce();
    exchange(
        &mem,
        &n,
        Command::new(PEER)
            .args(["open", "served", "id", &mem.id().to_string(), "12305", &n])
            .env(SERVICE_ENV, name.as_str()),
    );
    let n = nonce();
    exchange(
        &mem,
        &n,
        Command::new(PEER)
            .args(["open", "served", "env", "TEST_SHMEM", &n])
            .envs(mem.description().env_vars("TEST_SHMEM"))
            .env(SERVICE_ENV, name.as_str()),
    );
    // The memory is a memfd the service passed: no file in /dev/shm.
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    assert!(maps.contains("/memfd:shmem-served"), "{maps}");
    let stats = stats_reach(&service, "the peers to go", |s| s.clients == 1);
    assert_eq!((stats.segments, stats.bytes), (1, 4096 * 3 + 17));
    drop(mem);
    stats_reach(&service, "the segment to be freed", |s| s.segments == 0);
}

#[test]
fn several_clients_share_a_segment_and_create_their_own() {
    const CLIENTS: usize = 4;
    let (service, name) = start_service();
    let mut provider = ServedShMemProvider::connect(&name).unwrap();
    let common = provider.new_shmem(4096).unwrap();
    let common_id = common.id().to_string();
    let mut peers: Vec<_> = (0..CLIENTS)
        .map(|slot| served_peer(&name, &["client", &common_id, "4096", &slot.to_string()]))
        .collect();
    let mut own = Vec::new();
    for (_, out) in &mut peers {
        let lines = lines_until_ready(out);
        own.extend(ids(&lines));
    }
    assert_eq!(own.len(), CLIENTS);
    assert_eq!(
        common.read::<u64>(0).unwrap(),
        CLIENTS as u64,
        "every client counted itself in"
    );
    for slot in 0..CLIENTS {
        assert_eq!(
            common.read::<u64>(8 * (slot + 1)).unwrap(),
            1000 + slot as u64
        );
    }
    let mut seen: Vec<String> = own
        .iter()
        .map(|id| {
            let mem = provider.shmem_from_id_and_size(id.clone(), 4096).unwrap();
            String::from_utf8(mem[..8].to_vec()).unwrap()
        })
        .collect();
    seen.sort();
    assert_eq!(seen, ["client 0", "client 1", "client 2", "client 3"]);
    let stats = service.stats();
    assert_eq!(
        (stats.clients, stats.segments),
        (1 + CLIENTS as u64, 1 + CLIENTS as u64)
    );

    for (mut child, _) in peers {
        drop(child.stdin.take());
        assert!(child.wait().unwrap().success());
    }
    let stats = stats_reach(&service, "the clients to go", |s| s.clients == 1);
    assert_eq!(
        stats.segments, 1,
        "their own segments went with them; ours stays"
    );
    for id in own {
        assert!(matches!(
            provider.shmem_from_id_and_size(id, 4096),
            Err(ShMemError::NotFound { .. })
        ));
    }
    drop(common);
    stats_reach(&service, "the last segment to be freed", |s| {
        s.segments == 0 && s.bytes == 0
    });
}

#[test]
fn a_client_killed_with_sigkill_loses_its_segments_and_nothing_else() {
    let (service, name) = start_service();
    let mut provider = ServedShMemProvider::connect(&name).unwrap();
    let shared = provider.new_shmem(4096).unwrap();
    shared[..6].copy_from_slice(b"shared");
    let (mut child, mut out) = served_peer(
        &name,
        &["hold", "3", "65536", &shared.id().to_string(), "4096"],
    );
    let held = ids(&lines_until_ready(&mut out));
    assert_eq!(held.len(), 3);
    let stats = service.stats();
    assert_eq!((stats.clients, stats.segments), (2, 4));

    child.kill().unwrap(); // SIGKILL: no destructor, no goodbye
    child.wait().unwrap();
    let stats = stats_reach(&service, "the killed client's segments to be freed", |s| {
        s.clients == 1 && s.segments == 1
    });
    assert_eq!(stats.bytes, 4096);
    for id in held {
        let err = provider.shmem_from_id_and_size(id, 65536).unwrap_err();
        assert!(matches!(err, ShMemError::NotFound { .. }), "{err}");
    }
    // The segment it shared with us has one reference less, not none.
    let again = provider.shmem_from_id_and_size(shared.id(), 4096).unwrap();
    assert_eq!(again[..6].to_vec(), b"shared");
    drop((shared, again));
    stats_reach(&service, "the shared segment to be freed", |s| {
        s.segments == 0
    });
}

fn fork_child_outlives_parent(how: &str) {
    let (service, name) = start_service();
    let (mut parent, mut out) = served_peer(&name, &["fork", how]);
    // The child's stdin too: it exits when that closes (and `wait` would close it).
    let stdin = parent.stdin.take();
    let lines = lines_until_ready(&mut out);
    // The child waited for its parent to exit before touching anything.
    assert!(parent.wait().unwrap().success());
    let Ok([a, b]) = <[ShMemId; 2]>::try_from(ids(&lines[0]
        .split(' ')
        .map(str::to_owned)
        .collect::<Vec<_>>()))
    else {
        panic!("expected two ids, got {lines:?}");
    };

    let mut provider = ServedShMemProvider::connect(&name).unwrap();
    let mem_a = provider.shmem_from_id_and_size(a, 4096).unwrap();
    assert_eq!(mem_a[..FROM_PARENT.len()].to_vec(), FROM_PARENT);
    assert_eq!(
        mem_a[64..64 + CHILD_WAS_HERE.len()].to_vec(),
        CHILD_WAS_HERE,
        "the parent's segment survived its exit and release"
    );
    let mem_b = provider.shmem_from_id_and_size(b, 8192).unwrap();
    assert_eq!(mem_b[..MADE_BY_CHILD.len()].to_vec(), MADE_BY_CHILD);
    drop((mem_a, mem_b));
    // The child holds both, on a connection of its own: exactly one client
    // besides us, the parent's connection closed and its references gone.
    let stats = stats_reach(&service, "our references to go", |s| s.clients == 2);
    assert_eq!(stats.segments, 2, "{stats:?}");

    drop(stdin); // the child reads its stdin to the end, then exits
    stats_reach(&service, "the child to go, with its segments", |s| {
        s.clients == 1 && s.segments == 0
    });
}

#[test]
fn a_forked_child_keeps_and_creates_segments_after_its_parent_exits() {
    fork_child_outlives_parent("explicit");
}

#[test]
fn a_forked_child_that_skips_post_fork_reconnects_on_first_use() {
    fork_child_outlives_parent("implicit");
}

#[test]
fn a_service_host_that_forks_serves_its_child_through_the_socket() {
    let name = format!("shm-test-{}", nonce());
    let out = Command::new(SERVED_PEER)
        .args(["host-fork", "keep"])
        .env(SERVICE_ENV, &name)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ok",
        "{stderr}"
    );
}

#[test]
fn a_service_ends_with_its_host_even_if_a_forked_child_lives_on() {
    let name = format!("shm-test-{}", nonce());
    let mut child = Command::new(SERVED_PEER)
        .args(["host-fork", "exit"])
        .env(SERVICE_ENV, &name)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // The grandchild prints, and its stdout closes when it ends.
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(out.trim(), "ok");
}

#[test]
fn providers_start_the_service_they_need_and_share_one_connection() {
    let name = ServiceName::new(&format!("shm-test-{}", nonce())).unwrap();
    assert!(
        ServedShMemProvider::connect(&name).is_err(),
        "nothing runs yet"
    );
    let mut provider = ServedShMemProvider::connect_or_start(&name).unwrap();
    let mut clone = provider.clone();
    let a = provider.new_shmem(4096).unwrap();
    let b = clone.shmem_from_id_and_size(a.id(), 4096).unwrap();
    let stats = clone.service_stats().unwrap();
    assert_eq!(
        (stats.clients, stats.segments),
        (1, 1),
        "one connection for both"
    );
    // Another process finds the service this one started.
    let n = nonce();
    exchange(
        &a,
        &n,
        Command::new(PEER)
            .args(["open", "served", "id", &a.id().to_string(), "4096", &n])
            .env(SERVICE_ENV, name.as_str()),
    );
    drop((a, b));
}
