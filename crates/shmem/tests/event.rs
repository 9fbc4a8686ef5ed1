//! `ShEvent` across processes: a waiter in another process, which maps
//! the segment at an address of its own, wakes on each notify; missed
//! signals show as the count having moved; timeouts end a wait.
#![cfg(target_os = "linux")]

use std::time::{Duration, Instant};

use shmem::{NamedShMem, ShEvent};

const PATIENCE: Option<Duration> = Some(Duration::from_secs(20));
const ROUNDS: u32 = 200;

/// Two events in one named segment: `ping` at 0, `pong` at 64.
fn events(mem: &mut shmem::ShBytes) -> (ShEvent<'_>, ShEvent<'_>) {
    let (ping, rest) = mem.split_at_mut(64);
    (ShEvent::new(ping).unwrap(), ShEvent::new(rest).unwrap())
}

/// The parent pings, a child process that opened the segment by name
/// (another mapping) pongs, [`ROUNDS`] times: each side sleeps in the
/// kernel until the other's notify wakes it.
#[test]
fn a_waiter_in_another_process_wakes_on_each_notify() {
    let name = format!("shmem-event-{}", std::process::id());
    let mut mem = NamedShMem::create(&name, 4096).unwrap();
    // SAFETY: the child opens the segment, waits and notifies, then `_exit`s.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let code = match NamedShMem::open(&name) {
            Ok(mut theirs) => {
                let (ping, pong) = events(&mut theirs);
                let mut seen = 0;
                let mut code = 0;
                for _ in 0..ROUNDS {
                    match ping.wait_after(seen, PATIENCE) {
                        Some(now) => seen = now,
                        None => {
                            code = 2;
                            break;
                        }
                    }
                    pong.notify();
                }
                code
            }
            Err(_) => 3,
        };
        // SAFETY: ends the child without running the test harness.
        unsafe { libc::_exit(code) };
    }
    let (ping, pong) = events(&mut mem);
    let mut seen = 0;
    for round in 1..=ROUNDS {
        assert_eq!(ping.notify(), round);
        seen = pong
            .wait_after(seen, PATIENCE)
            .unwrap_or_else(|| panic!("no pong in round {round}"));
        assert_eq!(seen, round, "one pong for each ping");
    }
    let mut status = 0;
    // SAFETY: waits for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{status:#x}"
    );
}

/// Signals given while nobody waits are counted: a late waiter sees the
/// count jump, and returns at once.
#[test]
fn missed_signals_show_as_a_jump() {
    let name = format!("shmem-event-late-{}", std::process::id());
    let mut mem = NamedShMem::create(&name, 64).unwrap();
    let event = ShEvent::new(&mut mem).unwrap();
    for _ in 0..5 {
        event.notify();
    }
    let mut theirs = NamedShMem::open(&name).unwrap();
    let late = ShEvent::new(&mut theirs).unwrap();
    assert_eq!(late.wait_after(0, Some(Duration::ZERO)), Some(5));
}

#[test]
fn a_wait_ends_at_its_timeout() {
    let name = format!("shmem-event-timeout-{}", std::process::id());
    let mut mem = NamedShMem::create(&name, 64).unwrap();
    let event = ShEvent::new(&mut mem).unwrap();
    let start = Instant::now();
    assert_eq!(event.wait(Some(Duration::from_millis(30))), None);
    assert!(start.elapsed() >= Duration::from_millis(30));
}

/// One notify wakes every waiter, at once: a waiter left asleep would
/// only see the count when its wait times out, 20 s later.
#[test]
fn one_notify_wakes_every_waiting_thread() {
    let name = format!("shmem-event-threads-{}", std::process::id());
    let mut mem = NamedShMem::create(&name, 64).unwrap();
    let event = ShEvent::new(&mut mem).unwrap();
    for round in 0..20 {
        std::thread::scope(|s| {
            let waiters: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(move || {
                        let woke = event.wait_after(round, PATIENCE);
                        (woke, Instant::now())
                    })
                })
                .collect();
            event.notify();
            let notified = Instant::now();
            for waiter in waiters {
                let (woke, at) = waiter.join().unwrap();
                assert_eq!(woke, Some(round + 1));
                assert!(
                    at.saturating_duration_since(notified) < Duration::from_secs(5),
                    "round {round}: a waiter slept on after the notify"
                );
            }
        });
    }
}
