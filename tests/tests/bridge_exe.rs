//! shm-bridge.exe under real Wine, with a game stand-in (sim-standin.exe,
//! a Windows program doing what games do) and this Linux process reading
//! and writing the pages through the tmpfs files.
#![cfg(target_os = "linux")]

use std::path::Path;
use std::time::{Duration, Instant};

use rustix::process::Signal;
use shm_tests::standin::{self, CounterPage, START, game, open};
use shm_tests::wine::{self, Running, ShmDir};
use shm_tests::{handshake, nonce, wait_for};
use shmem::PosixShMem;

fn bridge(args: &[&str]) -> Running {
    standin::bridge_in(&wine::prefix(), args)
}

fn ready(b: &mut Running) {
    b.expect_line("mappings exist", START);
}

#[test]
fn a_game_writes_into_dev_shm_through_the_bridge_and_reads_linux_writes() {
    let base = format!("shm-test-{}", nonce());
    let mut b = bridge(&["--map", &base, "--size", "4096"]);
    ready(&mut b);
    // The game asks for Local\NAME: the same object as the bridge's NAME.
    let mut g = game(&format!("Local\\{base}"));
    let mem = open(Path::new("/dev/shm"), &base);
    assert_eq!(mem.len(), 4096, "the bridge's size, not the game's");
    let page = CounterPage(&mem);
    page.assert_advancing();
    page.assert_game_reads(0xC0FFEE);
    g.expect_line(&format!("request {}", 0xC0FFEE), START);
    page.quit();
    assert_eq!(g.wait_exit(START), Some(0));
    drop(mem);
    b.signal(Signal::INT);
    assert_eq!(b.wait_exit(START), Some(0), "{}", b.output());
    assert!(
        !Path::new("/dev/shm").join(&base).exists(),
        "removed on exit"
    );
    assert!(
        !Path::new("/dev/shm")
            .join(format!(".{base}.shm-bridge"))
            .exists(),
        "its marker too"
    );
}

#[test]
fn several_maps_in_both_flag_forms() {
    let dir = ShmDir::new();
    for args in [
        vec!["-m", "a", "b", "c", "-s", "4096", "8192", "100"],
        vec![
            "--map", "a", "--size", "4096", "--map", "b", "--size", "8192", "--map", "c", "--size",
            "100",
        ],
        vec![
            "--map", "a", "b", "--size", "4096", "8192", "-m", "c", "-s", "100",
        ],
    ] {
        let mut full = args.clone();
        let tmpfs = dir.arg();
        full.extend(["--tmpfs", &tmpfs]);
        let mut b = bridge(&full);
        ready(&mut b);
        for (name, size) in [("a", 4096), ("b", 8192), ("c", 100)] {
            let len = std::fs::metadata(dir.path.join(name)).unwrap().len();
            assert_eq!(len, size, "{name} with {args:?}");
        }
        let mut g = game("b");
        let mem = open(&dir.path, "b");
        CounterPage(&mem).assert_advancing();
        CounterPage(&mem).quit();
        assert_eq!(g.wait_exit(START), Some(0));
        b.signal(Signal::TERM);
        assert_eq!(b.wait_exit(START), Some(0), "{}", b.output());
        drop(mem);
        assert_eq!(
            dir.entries(),
            Vec::<String>::new(),
            "left behind with {args:?}"
        );
    }
}

/// Presets use fixed names, which the shared Wine prefix holds only once.
static PRESET_NAMES: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn a_preset_creates_the_mappings_of_its_title() {
    let _one_at_a_time = PRESET_NAMES.lock().unwrap_or_else(|e| e.into_inner());
    let dir = ShmDir::new();
    let mut b = bridge(&[
        "--game",
        "Assetto Corsa Competizione",
        "--tmpfs",
        &dir.arg(),
    ]);
    ready(&mut b);
    let mut files = dir.entries();
    files.retain(|f| !f.starts_with('.'));
    assert_eq!(files, ["acpmf_graphics", "acpmf_physics", "acpmf_static"]);
    for f in &files {
        assert_eq!(std::fs::metadata(dir.path.join(f)).unwrap().len(), 2048);
    }
    let mut g = game("acpmf_physics");
    let mem = open(&dir.path, "acpmf_physics");
    CounterPage(&mem).assert_advancing();
    CounterPage(&mem).quit();
    assert_eq!(g.wait_exit(START), Some(0));
    b.signal(Signal::INT);
    assert_eq!(b.wait_exit(START), Some(0));
    drop(mem);
    assert_eq!(dir.entries(), Vec::<String>::new());
}

#[test]
fn wrapper_mode_starts_the_game_and_passes_its_exit_code_through() {
    let dir = ShmDir::new();
    let base = format!("shm-test-{}", nonce());
    let mut b = standin::bridge_wrapping(
        &dir.path,
        &base,
        &[
            "counter",
            "--map",
            &base,
            "--size",
            "64",
            "--exit-code",
            "7",
        ],
    );
    b.expect_line("starting", START);
    b.expect_line("already existed (bridged)", START);
    let mem = open(&dir.path, &base);
    let page = CounterPage(&mem);
    page.assert_advancing();
    page.assert_game_reads(77);
    page.quit();
    assert_eq!(b.wait_exit(START), Some(7), "{}", b.output());
    drop(mem);
    assert_eq!(
        dir.entries(),
        Vec::<String>::new(),
        "removed after the game exited"
    );
}

#[test]
fn sigint_sigterm_and_sighup_remove_what_the_bridge_created() {
    for signal in [Signal::INT, Signal::TERM, Signal::HUP] {
        let dir = ShmDir::new();
        let mut b = bridge(&["-m", "x", "y", "-s", "5000", "6000", "--tmpfs", &dir.arg()]);
        ready(&mut b);
        assert_eq!(dir.entries().len(), 4, "two files and their markers");
        b.signal(signal);
        assert_eq!(b.wait_exit(START), Some(0), "{signal:?}: {}", b.output());
        assert_eq!(dir.entries(), Vec::<String>::new(), "after {signal:?}");
    }
}

#[test]
fn clean_up_after_sigkill_removes_only_what_the_bridge_made() {
    let dir = ShmDir::new();
    std::fs::write(dir.path.join("foreign"), b"a Linux program's data").unwrap();
    let mut b = bridge(&["-m", "mine", "-s", "4096", "--tmpfs", &dir.arg()]);
    ready(&mut b);
    b.signal(Signal::KILL);
    b.wait_exit(START);
    assert_eq!(
        dir.entries(),
        [".mine.shm-bridge", "foreign", "mine"],
        "SIGKILL leaves them"
    );

    let (code, out, err) = wine::run(wine::command(&wine::exe("shm-bridge")).args([
        "--clean-up",
        "-m",
        "mine",
        "foreign",
        "nothing",
        "--tmpfs",
        &dir.arg(),
    ]));
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("/mine: removed"), "{out}");
    assert!(out.contains("/foreign: left alone"), "{out}");
    assert!(out.contains("/nothing: nothing to clean"), "{out}");
    assert_eq!(dir.entries(), ["foreign"]);
    assert_eq!(
        std::fs::read(dir.path.join("foreign")).unwrap(),
        b"a Linux program's data"
    );
}

#[test]
fn a_file_a_linux_program_made_is_mapped_under_its_name_and_kept_intact() {
    let dir = ShmDir::new();
    let base = format!("shm-test-{}", nonce());
    let linux = PosixShMem::create_in(&dir.path, &base, 10_000, 0o600).unwrap();
    let n = nonce();
    handshake::creator_start(&linux, &n);

    // No size: the file's own.
    let mut b = bridge(&["-m", &base, "--tmpfs", &dir.arg()]);
    let line = b.expect_line(&base, START);
    assert!(
        line.contains("10000 bytes") && line.contains("existing file"),
        "{line}"
    );
    ready(&mut b);
    // A Windows program opens it by name and talks with this Linux process.
    let mut peer = Running::spawn(
        wine::command(&wine::exe("shm-peer")).args(["open", "named", "name", &base, &n]),
    );
    handshake::creator_finish(&linux, &n, || peer.is_running())
        .unwrap_or_else(|e| panic!("{e}: {}", peer.output()));
    peer.expect_line(&format!("bye {n}"), START);
    assert_eq!(peer.wait_exit(START), Some(0));
    b.signal(Signal::INT);
    assert_eq!(b.wait_exit(START), Some(0));
    assert_eq!(
        std::fs::metadata(dir.path.join(&base)).unwrap().len(),
        10_000
    );
    assert_eq!(
        handshake::get(&linux, handshake::PONG),
        format!("pong {n}"),
        "data intact"
    );

    // A larger size grows the file, keeping its data.
    let mut b = bridge(&["-m", &base, "-s", "20000", "--tmpfs", &dir.arg()]);
    ready(&mut b);
    b.signal(Signal::INT);
    assert_eq!(b.wait_exit(START), Some(0));
    assert_eq!(
        std::fs::metadata(dir.path.join(&base)).unwrap().len(),
        20_000
    );
    assert_eq!(handshake::get(&linux, handshake::PONG), format!("pong {n}"));

    // A smaller one is an error, and changes nothing.
    let (code, _, err) = wine::run(wine::command(&wine::exe("shm-bridge")).args([
        "-m",
        &base,
        "-s",
        "5000",
        "--tmpfs",
        &dir.arg(),
    ]));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("already holds 20000 bytes"), "{err}");
    assert_eq!(
        std::fs::metadata(dir.path.join(&base)).unwrap().len(),
        20_000
    );
    assert_eq!(handshake::get(&linux, handshake::PING), format!("ping {n}"));
    drop(linux);
    assert_eq!(
        dir.entries(),
        Vec::<String>::new(),
        "its creator removed it"
    );
}

#[test]
fn bad_input_gets_a_clear_message_a_failure_code_and_creates_nothing() {
    let dir = ShmDir::new();
    let tmpfs = dir.arg();
    let cases: &[(&[&str], &str)] = &[
        (&["-m", "a", "b", "-s", "10"], "2 map(s) but 1 size(s)"),
        (&["-m", "a", "-s", "0"], "at least 1 byte"),
        (&["-m", "a", "-s", "-5"], "whole number of bytes"),
        (&["-m", "a", "-s", "100000000000000"], "free"),
        (&["-m", "", "-s", "10"], "empty"),
        (&["-m", "a/b", "-s", "10"], "'/'"),
        (&["-m", "..", "-s", "10"], "'..'"),
        (&["-m", "x..y", "-s", "10"], "'..'"),
        (
            &["-m", "Foo\\bar", "-s", "10"],
            "only a leading Local\\ or Global\\",
        ),
        (&["-m", "Local\\", "-s", "10"], "empty"),
        (&["-m", "a", "a", "-s", "1", "2"], "same mapping"),
        (&["-m", "a", "Global\\a", "-s", "1", "2"], "same mapping"),
        (&["-m", "a"], "give --size"),
        (
            &["--game", "Gran Turismo 7"],
            "`shm-bridge.exe --list-games` shows the known titles",
        ),
        (&["-m"], "a value is required"),
        (&["-m", "a", "-s"], "a value is required"),
        (&["--game"], "a value is required"),
        (&[], "no mappings given"),
    ];
    for (args, expected) in cases {
        let (code, out, err) = wine::run(
            wine::command(&wine::exe("shm-bridge"))
                .args(*args)
                .args(["--tmpfs", &tmpfs]),
        );
        assert!(
            code.is_some_and(|c| c != 0),
            "{args:?} exited {code:?}: {out}"
        );
        assert!(
            err.contains(expected),
            "{args:?}: expected {expected:?} in: {err}"
        );
        assert_eq!(
            dir.entries(),
            Vec::<String>::new(),
            "{args:?} created something"
        );
    }
    // Not a tmpfs: /tmp is on the disk here.
    let not_tmpfs = tempfile::Builder::new()
        .prefix("shm-test-")
        .tempdir()
        .unwrap();
    let (code, _, err) = wine::run(wine::command(&wine::exe("shm-bridge")).args([
        "-m",
        "a",
        "-s",
        "10",
        "--tmpfs",
        &not_tmpfs.path().display().to_string(),
    ]));
    let left = std::fs::read_dir(not_tmpfs.path()).unwrap().count();
    assert_eq!(code, Some(1));
    assert!(err.contains("not a tmpfs"), "{err}");
    assert_eq!(left, 0);
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the parenthesised command: state is field 3, utime 14, stime 15.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// The share of one CPU that `pid` used over `window`, against the time
/// that really passed (longer than `window` on a busy machine).
fn cpu_share(pid: u32, window: Duration) -> f64 {
    let ticks_per_second = rustix::param::clock_ticks_per_second() as f64;
    let (start, before) = (Instant::now(), cpu_ticks(pid));
    std::thread::sleep(window);
    let used = (cpu_ticks(pid) - before) as f64 / ticks_per_second;
    used / start.elapsed().as_secs_f64()
}

/// Idle means this little: 1% of a CPU, five times what a waiting bridge
/// was seen to use (2 ticks in 10 s) and a small part of what polling
/// every few milliseconds would.
const IDLE_SHARE: f64 = 0.01;

#[test]
fn the_bridge_uses_no_cpu_while_it_waits() {
    let dir = ShmDir::new();
    let mut b = bridge(&["--game", "rf2", "--tmpfs", &dir.arg()]);
    ready(&mut b);
    // Wine may finish starting after the bridge has said it is ready.
    wait_for("the bridge to settle after its start", START, || {
        (cpu_share(b.pid(), Duration::from_millis(500)) <= IDLE_SHARE).then_some(())
    });
    let share = cpu_share(b.pid(), Duration::from_secs(10));
    b.signal(Signal::INT);
    assert_eq!(b.wait_exit(START), Some(0));
    assert!(
        share <= IDLE_SHARE,
        "the idle bridge used {:.2}% of a CPU",
        share * 100.0
    );
}

#[test]
fn the_bridge_works_in_a_prefix_without_a_z_drive() {
    let prefix = wine::PrivatePrefix::without_z_drive();
    let dir = ShmDir::new();
    let base = format!("shm-test-{}", nonce());
    let mut b = Running::spawn(
        wine::command_in(&prefix.path, &wine::exe("shm-bridge")).args([
            "-m",
            &base,
            "-s",
            "4096",
            "--tmpfs",
            &dir.arg(),
        ]),
    );
    ready(&mut b);
    let mut g = standin::game_in(&prefix.path, &base);
    let mem = open(&dir.path, &base);
    CounterPage(&mem).assert_advancing();
    CounterPage(&mem).assert_game_reads(5);
    CounterPage(&mem).quit();
    assert_eq!(g.wait_exit(START), Some(0));
    b.signal(Signal::INT);
    assert_eq!(b.wait_exit(START), Some(0), "{}", b.output());
    drop(mem);
    assert_eq!(dir.entries(), Vec::<String>::new());
}

#[test]
fn list_games_prints_every_title_with_its_mappings_and_sources() {
    let (code, out, err) = wine::run(wine::command(&wine::exe("shm-bridge")).arg("--list-games"));
    assert_eq!(code, Some(0), "{err}");
    for expected in [
        "Assetto Corsa | ac",
        "Assetto Corsa Competizione | acc | 805550",
        "rFactor 2",
        "$rFactor2SMMP_Telemetry$",
        "Le Mans Ultimate",
        "LMU_Data",
        "505000",
        "Automobilista 2",
        "$pcars2$",
        "RaceRoom",
        "$R3E",
        "Euro Truck Simulator 2",
        "Local\\SCSTelemetry",
        "simapi",
    ] {
        assert!(out.contains(expected), "{expected:?} missing from:\n{out}");
    }
}
