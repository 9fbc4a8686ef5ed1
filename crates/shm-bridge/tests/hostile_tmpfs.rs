//! The Linux companion against a tmpfs shared with every local user: what
//! another user (a second uid, which the test, running as root as CI does,
//! acts as) or another process does there. `watch`, `list` and `launch`
//! must not hang, crash, print what a terminal would act on, or use memory
//! out of proportion; each refusal says what is wrong.
#![cfg(target_os = "linux")]

mod hostile;

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hostile::*;
use shm_bridge::core::ledger::Marker;
use shm_bridge::titles::ac::synthetic;
use shm_tests::nonce;
use shm_tests::wine::{self, Running, ShmDir};

/// A file truncated and grown again, over and over, by another process
/// (here, a thread of the test's), while `watch` reads it in every mode: a
/// mapping of it would die of SIGBUS; `watch` copies with reads, which
/// come up short instead, and says so.
#[test]
fn watch_survives_files_truncated_under_it_in_every_mode() {
    let dir = ShmDir::new();
    acc_pages(&dir.path, &synthetic::physics(5), &synthetic::graphics(5));
    std::fs::write(dir.path.join("rawpage"), vec![0x5a; 64 * 1024]).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let truncations = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let truncator = {
        let (stop, count) = (stop.clone(), truncations.clone());
        let files: Vec<(std::fs::File, u64)> = [("acpmf_physics", 2048), ("rawpage", 64 * 1024)]
            .iter()
            .map(|(name, len)| {
                let f = std::fs::File::options()
                    .write(true)
                    .open(dir.path.join(name))
                    .unwrap();
                (f, *len)
            })
            .collect();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for (f, len) in &files {
                    for size in [0, 100, *len] {
                        f.set_len(size).unwrap();
                    }
                }
                count.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let d = dir.arg();
    let maps = ["--map", "acpmf_physics", "--map", "rawpage", "--tmpfs", &d];

    // The full-screen view, 60 s in a pseudo-terminal of 120x40, alongside.
    let tui_command = format!(
        "stty cols 120 rows 40; exec {SHM_BRIDGE} watch --map acpmf_physics --map rawpage \
         --tmpfs {d} --seconds 60"
    );
    let mut tui = Command::new("script")
        .args(["-qfec", &tui_command, "/dev/null"])
        // Held open: at the end of its input, script would end the view.
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start script (util-linux)");
    let tui_out = {
        let mut stdout = tui.stdout.take().expect("piped");
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stdout.read_to_end(&mut bytes);
            bytes
        })
    };
    // The live modes for a few seconds each, meanwhile.
    let json_lines = std::thread::spawn({
        let mut args: Vec<String> = maps.iter().map(|s| s.to_string()).collect();
        args.extend(["--json", "--seconds", "3"].map(String::from));
        move || run_within(Command::new(SHM_BRIDGE).arg("watch").args(&args), PATIENCE)
    });
    let plain = std::thread::spawn({
        let mut args: Vec<String> = maps.iter().map(|s| s.to_string()).collect();
        args.extend(["--seconds", "3"].map(String::from));
        move || run_within(Command::new(SHM_BRIDGE).arg("watch").args(&args), PATIENCE)
    });

    let (mut whole, mut refused) = (0, 0);
    for run in 0..1000 {
        let mut args = vec!["watch"];
        args.extend(maps);
        args.extend(["--once", "--json"]);
        let ran = run_within(&mut companion(&args), PATIENCE);
        assert!(
            ran.status.code().is_some(),
            "run {run}: killed by signal {:?} (SIGBUS is 7)",
            ran.status.signal()
        );
        assert!(!ran.err.contains("panicked"), "run {run}: {}", ran.err);
        match ran.status.code() {
            Some(0) => {
                let v: serde_json::Value = serde_json::from_slice(&ran.out)
                    .unwrap_or_else(|e| panic!("run {run}: not JSON ({e}): {}", ran.out()));
                assert_eq!(v["game"], "acpmf_physics, rawpage");
                whole += 1;
            }
            Some(1) => {
                let said = &ran.err;
                assert!(
                    said.contains("does not exist")
                        || said.contains("bytes, too few")
                        || said.contains("became shorter while it was read")
                        || said.contains("changed while it was read"),
                    "run {run}: {said}"
                );
                refused += 1;
            }
            other => panic!("run {run}: exit {other:?}: {}", ran.err),
        }
    }
    for (what, mode) in [("--json", json_lines), ("plain", plain)] {
        let ran = mode.join().expect("watch thread");
        ran.assert_exit(0, what);
        assert!(!ran.out.is_empty(), "{what} printed nothing");
    }

    let status = wait_within(&mut tui, PATIENCE + Duration::from_secs(30), "the view");
    drop(tui.stdin.take());
    stop.store(true, Ordering::Relaxed);
    truncator.join().expect("truncator");
    let screen = tui_out.join().expect("view output");
    assert_eq!(status.code(), Some(0), "the view ended with {status}");
    let screen = String::from_utf8_lossy(&screen);
    assert!(
        screen.contains("\x1b[?1049h"),
        "the view never took the screen"
    );
    assert!(
        screen.contains("\x1b[?1049l"),
        "the alternate screen was not left: the terminal is not restored"
    );
    assert!(!screen.contains("panicked"), "{screen}");
    let cycles = truncations.load(Ordering::Relaxed);
    assert!(
        cycles > 1000,
        "only {cycles} truncations: the test proved little"
    );
    assert!(
        whole > 0 && refused > 0,
        "{whole} whole samples, {refused} refusals: the runs should see both"
    );
}

/// A page's JSON is written as it is read: `watch --once --json` on a
/// 256 MiB page peaks under 3 times its size in memory (it once took 7
/// times: two copies, the last sample's, and the hex twice over).
#[test]
fn watch_json_of_a_huge_page_stays_under_three_times_its_size() {
    const SIZE: u64 = 256 << 20;
    let dir = ShmDir::new();
    let file = std::fs::File::create(dir.path.join("huge")).unwrap();
    file.set_len(SIZE).unwrap();
    // A pattern, so that the hex is checked, at the start and the end.
    use std::os::unix::fs::FileExt;
    file.write_all_at(b"\x01\x02\xfe\xff", 0).unwrap();
    file.write_all_at(b"\xab", SIZE - 1).unwrap();
    drop(file);
    let ran = run_within(
        &mut companion(&[
            "watch",
            "--map",
            "huge",
            "--once",
            "--json",
            "--tmpfs",
            &dir.arg(),
        ]),
        Duration::from_secs(300),
    );
    ran.assert_exit(0, "watch --once --json on 256 MiB");
    assert!(
        ran.peak < 3 * SIZE,
        "peak memory {} MiB, 3 times the page is {} MiB",
        ran.peak >> 20,
        (3 * SIZE) >> 20
    );
    let v: serde_json::Value = serde_json::from_slice(&ran.out).expect("JSON");
    let hex = v["maps"]["huge"]["hex"].as_str().expect("hex");
    assert_eq!(hex.len() as u64, 2 * SIZE);
    assert!(hex.starts_with("0102feff00") && hex.ends_with("00ab"));
    assert_eq!(v["maps"]["huge"]["size"], SIZE);
}

/// Another user's FIFO, swapped in at a known name and out again as fast
/// as a shell can, never hangs `list`, whether it lists other users' files
/// or not.
#[test]
fn list_is_never_hung_by_a_fifo_swapped_in_at_a_known_name() {
    need_root("acts as a second user");
    let t = shared_tmpfs("16m");
    let _attacker = Attacker::start(
        &t.path,
        "while :; do mkfifo .f.$$; mv -f .f.$$ acpmf_physics; echo x > .r.$$; \
         mv -f .r.$$ acpmf_physics; done",
    );
    let d = t.path.display().to_string();
    for run in 0..40 {
        let mut args = vec!["list", "--tmpfs", &d];
        if run % 2 == 1 {
            args.push("--other-users");
        }
        let ran = run_within(&mut companion(&args), Duration::from_secs(20));
        ran.assert_exit(0, &format!("list run {run}"));
    }
}

/// A 4 GiB sparse file of another user costs `list` no more than a small
/// one, under 50 MB at its peak: it reads a bounded digest, not the file
/// (it once read all 4 GiB, in 30 s). Without `--other-users` the file is
/// left out, and the table says so.
#[test]
fn a_huge_file_of_another_user_costs_list_little() {
    need_root("acts as a second user");
    let t = shared_tmpfs("16m");
    Attacker::once(
        &t.path,
        "truncate -s 4G acpmf_static && chmod 644 acpmf_static",
    );
    let d = t.path.display().to_string();
    let list = |extra: &[&str]| {
        let mut cmd = companion(&["list", "--tmpfs", &d]);
        cmd.args(extra);
        run_within(&mut cmd, PATIENCE)
    };
    let all = list(&["--all", "--json", "--other-users"]);
    all.assert_exit(0, "list --all --other-users");
    assert!(
        all.peak < 50_000_000,
        "peak memory {} MB",
        all.peak / 1_000_000
    );
    let row: serde_json::Value = serde_json::from_str(all.out().trim()).expect("one row");
    assert_eq!(row["name"], "acpmf_static");
    assert_eq!(row["size"], 4u64 << 30);
    assert_eq!(row["owner"], STRANGER);
    let mine_only = list(&["--json"]);
    mine_only.assert_exit(0, "list");
    assert_eq!(mine_only.out(), "", "other users' files are left out");
    let table = list(&[]);
    table.assert_exit(0, "list");
    assert!(
        table.out().contains("1 file(s) of other users left out"),
        "{}",
        table.out()
    );
}

/// Names another user chose are printed escaped: no escape sequence of
/// theirs reaches the terminal, and names that are not UTF-8 are shown
/// (escaped), not skipped.
#[test]
fn names_are_printed_escaped_and_none_is_skipped() {
    need_root("acts as a second user");
    let t = shared_tmpfs("16m");
    // ESC ] 0 ; ... BEL sets a terminal's title; ESC [ 2 J clears it.
    Attacker::once(
        &t.path,
        "printf x > \"$(printf 'title\\033]0;owned\\007\\033[2J')\"; \
         printf x > \"$(printf 'bad\\377name')\"",
    );
    let mine = t.path.join(OsStr::from_bytes(b"mine\xfe\x1b[31m"));
    std::fs::write(&mine, b"y").unwrap();
    let d = t.path.display().to_string();
    let table = run_within(
        &mut companion(&["list", "--all", "--other-users", "--tmpfs", &d]),
        PATIENCE,
    );
    table.assert_exit(0, "list --all --other-users");
    assert!(
        !table.out.contains(&0x1b),
        "an escape reached the terminal: {}",
        table.out()
    );
    assert!(!table.out.contains(&0x07));
    let text = table.out();
    for shown in [
        "title\\x1b]0;owned\\x07\\x1b[2J",
        "bad\\xffname",
        "mine\\xfe\\x1b[31m",
    ] {
        assert!(text.contains(shown), "{shown:?} not in:\n{text}");
    }
    let json = run_within(
        &mut companion(&["list", "--all", "--json", "--tmpfs", &d]),
        PATIENCE,
    );
    json.assert_exit(0, "list --all --json");
    let names: Vec<String> = json
        .out()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("JSON");
            v["name"].as_str().expect("name").to_owned()
        })
        .collect();
    assert_eq!(names, ["mine\\xfe\\x1b[31m"], "only mine, escaped");
}

/// `list --all` over 10,000 files reads `/proc` once, not once per file:
/// it once took 25 s. (A loose bound: how fast is for benchmarks; this
/// shows the cost does not grow with files times processes.)
#[test]
fn list_all_of_ten_thousand_files_is_quick() {
    need_root("mounts a tmpfs");
    let t = shared_tmpfs("64m");
    for i in 0..10_000 {
        std::fs::write(t.path.join(format!("f{i:05}")), b"0123456789").unwrap();
    }
    let d = t.path.display().to_string();
    let start = Instant::now();
    let ran = run_within(
        &mut companion(&["list", "--all", "--json", "--tmpfs", &d]),
        PATIENCE,
    );
    let took = start.elapsed();
    ran.assert_exit(0, "list --all");
    assert_eq!(ran.out().lines().count(), 10_000);
    assert!(took < Duration::from_secs(10), "list --all took {took:?}");
}

/// A marker naming a live bridge's pid keeps a second `launch` from
/// taking over its files (each would remove the other's when it ended);
/// once that bridge is gone, what it left is reused as before. The bridge
/// here is the real exe under Wine.
#[test]
fn launch_refuses_names_a_live_bridge_serves() {
    let (exe, dir) = (FakeExe::new(), ShmDir::new());
    let name = format!("shm-test-{}", nonce());
    let mut bridge = Running::spawn(wine::command(&wine::exe("shm-bridge")).args([
        "-m",
        &name,
        "-s",
        "4096",
        "--tmpfs",
        &dir.arg(),
    ]));
    bridge.expect_line("mappings exist", PATIENCE);
    let marker = std::fs::read_to_string(dir.path.join(format!(".{name}.shm-bridge"))).unwrap();
    let pid = Marker::parse(&marker)
        .and_then(|m| m.pid)
        .expect("the marker names its bridge");
    let ran = run_within(
        &mut launch(&exe, &dir, &["-m", &name, "-s", "4096"], "touch started"),
        PATIENCE,
    );
    ran.assert_exit(1, "a second launch");
    assert!(
        ran.err.contains(&format!(
            "bridged already, by shm-bridge.exe running as pid {pid}"
        )),
        "{}",
        ran.err
    );
    assert!(!dir.path.join("started").exists());

    bridge.signal(rustix::process::Signal::KILL);
    bridge.wait_exit(PATIENCE);
    let ran = run_within(
        &mut launch(&exe, &dir, &["-m", &name, "-s", "4096"], "exit 0"),
        PATIENCE,
    );
    ran.assert_exit(0, "launch after the bridge was killed");
    assert!(
        ran.err.contains("removed"),
        "its leftover is cleaned up: {}",
        ran.err
    );
    assert_eq!(dir.entries(), Vec::<String>::new());
}

/// Names the exe cannot take are refused before anything starts: a name
/// that reads as an option, Windows device names (Wine would open the
/// device); and a FIFO or socket at a mapping's place is named for what it
/// is, by `launch` and by `watch`.
#[test]
fn names_the_bridge_cannot_use_are_refused_with_what_they_are() {
    let (exe, dir) = (FakeExe::new(), ShmDir::new());
    for (args, expected) in [
        (vec!["--map=-foo", "-s", "64"], "may not start with `-`"),
        (
            vec!["-m", "COM1", "-s", "64"],
            "COM1 is a Windows device name",
        ),
        (
            vec!["-m", "Local\\nul.txt", "-s", "64"],
            "nul is a Windows device name",
        ),
        (
            vec!["-m", "aux", "-s", "64"],
            "aux is a Windows device name",
        ),
    ] {
        let ran = run_within(&mut launch(&exe, &dir, &args, "touch started"), PATIENCE);
        ran.assert_exit(1, &format!("{args:?}"));
        assert!(ran.err.contains(expected), "{args:?}: {}", ran.err);
    }
    rustix::fs::mknodat(
        rustix::fs::CWD,
        dir.path.join("fifo"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let _socket = std::os::unix::net::UnixListener::bind(dir.path.join("socket")).unwrap();
    for (name, kind) in [("fifo", "a FIFO"), ("socket", "a socket")] {
        let expected = format!("is not a regular file (it is {kind})");
        let ran = run_within(
            &mut launch(&exe, &dir, &["-m", name, "-s", "64"], "touch started"),
            PATIENCE,
        );
        ran.assert_exit(1, &format!("launch -m {name}"));
        assert!(ran.err.contains(&expected), "launch -m {name}: {}", ran.err);
        let ran = run_within(
            &mut companion(&["watch", "--map", name, "--once", "--tmpfs", &dir.arg()]),
            Duration::from_secs(20),
        );
        ran.assert_exit(1, &format!("watch --map {name}"));
        assert!(
            ran.err.contains(&expected),
            "watch --map {name}: {}",
            ran.err
        );
    }
    assert_eq!(dir.entries(), ["fifo", "socket"], "nothing started");
}
