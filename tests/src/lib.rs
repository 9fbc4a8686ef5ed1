//! Support for the cross-process tests: the handshake two processes run
//! over a segment, the suite every backend runs, and running Windows
//! programs under Wine.

pub mod backend_suite;
pub mod handshake;
pub mod served;
#[cfg(unix)]
pub mod standin;
#[cfg(unix)]
pub mod tmpfs;
#[cfg(unix)]
pub mod wine;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use shmem::ShBytes;

/// Runs the creator's side of the handshake against `peer`, a second
/// process that must open the segment and print the creator's last message.
pub fn exchange(mem: &ShBytes, nonce: &str, peer: &mut Command) {
    handshake::creator_start(mem, nonce);
    let mut child = peer
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {:?}: {e}", peer.get_program()));
    let finished = handshake::creator_finish(mem, nonce, || {
        child.try_wait().expect("poll the peer").is_none()
    });
    let out = child.wait_with_output().expect("wait for the peer");
    let stderr = String::from_utf8_lossy(&out.stderr);
    finished.unwrap_or_else(|e| panic!("{e}; peer exited with {} and said: {stderr}", out.status));
    assert!(
        out.status.success(),
        "the peer failed ({}): {stderr}",
        out.status
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("bye {nonce}")
    );
}

/// Starts `cmd` with its stdout piped and waits for it to print `ready`.
pub fn spawn_until_ready(cmd: &mut Command) -> Child {
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {:?}: {e}", cmd.get_program()));
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().expect("piped"))
        .read_line(&mut line)
        .expect("read the peer's first line");
    assert_eq!(line.trim(), "ready", "the peer did not get ready");
    child
}

/// Polls `f` every few milliseconds until it returns `Some`, or panics with
/// `what` after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// How many times the threads of process `pid` have been put on a CPU
/// since they started (voluntary and involuntary context switches, summed
/// over `/proc/PID/task`): a process that waits without polling adds next
/// to none over seconds, one that looks every 100 ms ten a second.
pub fn wakes(pid: u32) -> u64 {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the process's threads");
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("status")).ok())
        .map(|status| {
            status
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>()
        })
        .sum()
}

/// A token unique to this test process and call, so that concurrent tests
/// and leftovers of earlier runs never satisfy each other's checks.
pub fn nonce() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{}-{}-{nanos:x}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// An error and every cause behind it, one after another, as `anyhow`'s
/// `{:#}` prints them: what a user of the library reads.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
