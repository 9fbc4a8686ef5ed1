//! What the service tests share: the peers, a fresh service, waiting on its
//! counters, and the served peer's output.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use shm_tests::{nonce, wait_for};
use shmem::{SERVICE_ENV, ServiceName, ServiceStats, ShMemId, ShMemService};

pub const PEER: &str = env!("CARGO_BIN_EXE_shm-peer");
pub const SERVED_PEER: &str = env!("CARGO_BIN_EXE_served-peer");
pub const PATIENCE: Duration = Duration::from_secs(20);
/// A user id no account has, for the other-user tests.
pub const STRANGER: u32 = 61_234;

pub fn start_service() -> (ShMemService, ServiceName) {
    let name = ServiceName::new(&format!("shm-test-{}", nonce())).unwrap();
    (ShMemService::start(&name).unwrap(), name)
}

pub fn stats_reach(
    service: &ShMemService,
    what: &str,
    f: impl Fn(&ServiceStats) -> bool,
) -> ServiceStats {
    wait_for(what, PATIENCE, || Some(service.stats()).filter(&f))
}

/// A `served-peer` with piped stdin and stdout, talking to `name`.
pub fn served_peer(name: &ServiceName, args: &[&str]) -> (Child, BufReader<ChildStdout>) {
    let mut child = Command::new(SERVED_PEER)
        .args(args)
        .env(SERVICE_ENV, name.as_str())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    (child, out)
}

/// Lines up to `ready`.
pub fn lines_until_ready(out: &mut BufReader<ChildStdout>) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the peer ended before it was ready; it said {lines:?}"
        );
        match line.trim() {
            "ready" => return lines,
            other => lines.push(other.to_owned()),
        }
    }
}

pub fn ids(lines: &[String]) -> Vec<ShMemId> {
    lines.iter().map(|l| l.parse().unwrap()).collect()
}

pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}
