//! A game's update event, forwarded by the bridge under real Wine: a game
//! stand-in signals it 60 times a second for 2 s, as iRacing (a manual-reset
//! event, pulsed) and Le Mans Ultimate (auto-reset, set) do, while a Linux
//! waiter through the library, the README's Python and C waiters and a
//! Windows waiter in the same prefix each count what they see. The bridge
//! uses no CPU while no signal comes.
#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use shm_tests::nonce;
use shm_tests::wine::{self, Running, ShmDir};
use shmem::{PosixShMem, ShEvent};

const SHM_BRIDGE: &str = env!("CARGO_BIN_EXE_shm-bridge");
const TIMEOUT: Duration = Duration::from_secs(60);
/// How long the waiters wait: the game's 2 s of signals, and room to start.
const WAITING: &str = "8";

fn example(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/events")
        .join(file)
}

/// `woke W, counter moved M` at the end of a waiter's output.
fn woke_and_moved(out: &str) -> (u32, u32) {
    let line = out
        .lines()
        .find(|l| l.starts_with("woke "))
        .unwrap_or_else(|| panic!("no summary in: {out}"));
    let numbers: Vec<u32> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

/// Bridges `game` (with `options`), waits on its event `name` (file
/// `file`) with every kind of waiter while the stand-in signals it with
/// `kind`, and checks each saw every signal the bridge forwarded (a wake,
/// or a counter jump for a signal missed while busy).
fn forward(game: &str, options: &[&str], name: &str, file: &str, kind: &str) {
    let dir = ShmDir::new();
    let mut bridge = Running::spawn(
        wine::command(&wine::exe("shm-bridge"))
            .args(["--game", game, "--tmpfs", &dir.arg()])
            .args(options),
    );
    bridge.expect_line("mappings exist", TIMEOUT);
    let counter_file = dir.path.join(file);
    let bridge_pid = bridge.pid();

    // No signal yet: the bridge's thread waits without a timeout loop.
    let before = cpu_ticks(bridge_pid);
    std::thread::sleep(Duration::from_secs(10));
    assert_eq!(cpu_ticks(bridge_pid) - before, 0, "CPU used while idle");

    // A Linux waiter through the library, in this process.
    let mut mem = PosixShMem::open_own_in(&dir.path, file).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let stop = done.clone();
    let rust = std::thread::spawn(move || {
        let event = ShEvent::new(&mut mem).unwrap();
        let (first, mut seen, mut woke) = (event.count(), event.count(), 0u32);
        while !stop.load(Ordering::Relaxed) {
            if let Some(now) = event.wait_after(seen, Some(Duration::from_millis(200))) {
                woke += 1;
                seen = now;
            }
        }
        (woke, seen.wrapping_sub(first))
    });
    // The README's waiters, and a Windows one in the game's prefix.
    let c_dir = tempfile::tempdir().unwrap();
    let c_waiter = c_dir.path().join("wait");
    let cc = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&c_waiter)
        .arg(example("wait.c"))
        .status()
        .unwrap();
    assert!(cc.success(), "the C example compiles");
    let mut waiters = vec![
        Running::spawn(
            Command::new("python3")
                .arg(example("wait.py"))
                .arg(&counter_file)
                .arg(WAITING),
        ),
        Running::spawn(Command::new(&c_waiter).arg(&counter_file).arg(WAITING)),
    ];
    for w in &mut waiters {
        w.expect_line("waiting on", TIMEOUT);
    }
    let mut windows = Running::spawn(wine::command(&wine::exe("sim-standin")).args([
        "wait",
        "--event",
        name,
        "--seconds",
        WAITING,
    ]));
    windows.expect_line("waiting on", TIMEOUT);

    let mut game = Running::spawn(wine::command(&wine::exe("sim-standin")).args([
        "signal",
        "--event",
        name,
        "--kind",
        kind,
        "--rate",
        "60",
        "--seconds",
        "2",
    ]));
    game.expect_line("already existed (bridged)", TIMEOUT);
    let sent: u32 = game
        .expect_line("signalled ", TIMEOUT)
        .trim()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(game.wait_exit(TIMEOUT), Some(0), "{}", game.output());
    assert!(
        (100..=130).contains(&sent),
        "about 60 a second for 2 s: {sent}"
    );

    // What the bridge forwarded: a signal given while its thread is between
    // two waits is lost to it, as to any Windows waiter, on a loaded machine.
    let page = std::fs::read(&counter_file).unwrap();
    let forwarded = u32::from_le_bytes(page[..4].try_into().unwrap());
    assert!(
        forwarded >= sent * 95 / 100 && forwarded <= sent,
        "the bridge forwarded {forwarded} of {sent} signals"
    );
    for mut waiter in waiters {
        assert_eq!(waiter.wait_exit(TIMEOUT), Some(0), "{}", waiter.output());
        let (woke, moved) = woke_and_moved(&waiter.output());
        assert_eq!(
            moved,
            forwarded,
            "each signal is a wake or a jump: {}",
            waiter.output()
        );
        assert!(woke > 0 && woke <= moved, "{}", waiter.output());
    }
    done.store(true, Ordering::Relaxed);
    let (woke, moved) = rust.join().unwrap();
    assert_eq!(moved, forwarded, "the library's waiter");
    assert!(woke > 0 && woke <= moved);

    // The Windows waiter still sees the game's signals: each, or (with the
    // event it waited on set again before the bridge reset it) a wake more.
    assert_eq!(windows.wait_exit(TIMEOUT), Some(0), "{}", windows.output());
    let windows_out = windows.output();
    let woke_windows: u32 = windows_out
        .lines()
        .find_map(|l| l.strip_prefix("woke "))
        .unwrap()
        .parse()
        .unwrap();
    eprintln!(
        "{name} ({kind}): sent {sent}, forwarded {forwarded}, Windows waiter woke {woke_windows}"
    );
    assert!(
        woke_windows >= sent * 95 / 100,
        "the Windows reader lost signals: sent {sent}, woke {woke_windows}"
    );

    bridge.signal(rustix::process::Signal::INT);
    assert_eq!(bridge.wait_exit(TIMEOUT), Some(0), "{}", bridge.output());
    assert!(dir.entries().is_empty(), "{:?}", dir.entries());
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn iracing_pulses_its_event_and_every_waiter_counts_each() {
    forward(
        "iracing",
        &[],
        "Local\\IRSDKDataValidEvent",
        "IRSDKDataValidEvent",
        "pulse",
    );
}

#[test]
fn le_mans_ultimate_sets_its_auto_reset_event_and_no_waiter_loses_one() {
    // Its auto-reset event is forwarded when named.
    forward(
        "lmu",
        &["--event", "LMU_Data_Event"],
        "LMU_Data_Event",
        "LMU_Data_Event",
        "set",
    );
}

#[test]
fn bad_event_names_are_refused_and_nothing_is_made() {
    let dir = ShmDir::new();
    let map = format!("shm-test-{}", nonce());
    let long = "x".repeat(300);
    for (event, says) in [
        (map.as_str(), "the mapping"),
        ("", "the name is empty"),
        (long.as_str(), "longer than this OS allows"),
        ("a/b", "a name cannot hold a path"),
        ("../x", "a name cannot hold a path"),
        ("..", "'.' and '..' name directories"),
        ("Local\\..", "'.' and '..' name directories"),
    ] {
        let out = wine::command(&wine::exe("shm-bridge"))
            .args(["--tmpfs", &dir.arg(), "-m", &map, "-s", "4096", "--event"])
            .arg(event)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{event:?}: {err}");
        assert!(
            err.contains("error: --event") && err.contains(says),
            "{event:?}: {err}"
        );
        assert!(dir.entries().is_empty(), "{event:?}: {:?}", dir.entries());
    }
}

/// A bridge of a page `shm-test-N` and a pulsed event `{namespace}shm-test-N-frame`.
fn bridge_with_an_event(namespace: &str) -> (ShmDir, String, String, Running) {
    let dir = ShmDir::new();
    let map = format!("shm-test-{}", nonce());
    let event = format!("{namespace}{map}-frame");
    let mut bridge = Running::spawn(wine::command(&wine::exe("shm-bridge")).args([
        "--tmpfs",
        &dir.arg(),
        "-m",
        &map,
        "-s",
        "4096",
        "--pulsed-event",
        &event,
    ]));
    bridge.expect_line("mappings exist", TIMEOUT);
    (dir, map, event, bridge)
}

#[test]
fn list_and_clean_know_event_files() {
    let (dir, map, event, mut bridge) = bridge_with_an_event("");
    let list = Command::new(SHM_BRIDGE)
        .args(["list", "--json", "--tmpfs", &dir.arg()])
        .output()
        .unwrap();
    assert!(list.status.success());
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let row = |name: &str| {
        rows.iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} not listed: {rows:?}"))
    };
    assert_eq!(row(&event)["event"], true);
    assert_eq!(row(&event)["bridged"], true);
    assert_eq!(row(&event)["size"], 4096);
    assert_eq!(row(&map)["event"], false);
    let table = Command::new(SHM_BRIDGE)
        .args(["list", "--tmpfs", &dir.arg()])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with(&event) && l.contains(" event ")),
        "{table}"
    );

    // Killed, the bridge leaves both; clean, told the names, removes both.
    bridge.signal(rustix::process::Signal::KILL);
    bridge.wait_exit(TIMEOUT);
    assert_eq!(dir.entries().len(), 4, "{:?}", dir.entries());
    let clean = Command::new(SHM_BRIDGE)
        .args([
            "clean",
            "--tmpfs",
            &dir.arg(),
            "--map",
            &map,
            "--event",
            &event,
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&clean.stdout);
    assert!(clean.status.success(), "{said}");
    assert!(dir.entries().is_empty(), "{said}\n{:?}", dir.entries());
}

#[test]
fn watch_writes_a_json_line_on_each_frame() {
    let (dir, map, event, mut bridge) = bridge_with_an_event("Local\\");
    let mut watch = Running::spawn(Command::new(SHM_BRIDGE).args([
        "watch",
        "--json",
        "--seconds",
        "6",
        "--tmpfs",
        &dir.arg(),
        "--map",
        &map,
        "--pulsed-event",
        &event,
    ]));
    watch.expect_line("\"frame\":0", TIMEOUT);
    let mut game = Running::spawn(wine::command(&wine::exe("sim-standin")).args([
        "signal",
        "--event",
        &event,
        "--kind",
        "pulse",
        "--rate",
        "60",
        "--seconds",
        "2",
    ]));
    assert_eq!(game.wait_exit(TIMEOUT), Some(0), "{}", game.output());
    let page = std::fs::read(dir.path.join(format!("{map}-frame"))).unwrap();
    let forwarded = u32::from_le_bytes(page[..4].try_into().unwrap());
    assert_eq!(watch.wait_exit(TIMEOUT), Some(0), "{}", watch.output());
    let frames: Vec<u64> = watch
        .output()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["frame"].as_u64())
        .collect();
    let woken = frames.windows(2).filter(|w| w[1] != w[0]).count() as u32;
    // Ten lines a second without frames would be 60 in all; a line on each
    // of the ~120 frames (a few run together on a busy machine) is more.
    assert_eq!(frames.last().copied(), Some(u64::from(forwarded)));
    assert!(
        woken >= forwarded * 3 / 4,
        "{woken} lines for {forwarded} frames"
    );
    bridge.signal(rustix::process::Signal::INT);
    assert_eq!(bridge.wait_exit(TIMEOUT), Some(0), "{}", bridge.output());
}
