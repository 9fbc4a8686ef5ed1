//! The Linux companion against a tmpfs shared with every local user: what
//! another user (a second uid, made by the test, which runs as root as CI
//! does) or another process does there, and input meant to break it.
//! `launch`, `list` and `watch` must not hang, crash, panic, print what a
//! terminal would act on, or use memory out of proportion; each refusal
//! says what is wrong.
#![cfg(target_os = "linux")]

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use shm_bridge::core::ledger::Marker;
use shm_bridge::titles::ac::synthetic;
use shm_tests::nonce;
use shm_tests::tmpfs::Tmpfs;
use shm_tests::wine::{self, Running, ShmDir};

const SHM_BRIDGE: &str = env!("CARGO_BIN_EXE_shm-bridge");
/// The other local user: a uid no account has, as an attacker's would be.
const STRANGER: u32 = 61_235;
/// Longer than anything here takes when it works.
const PATIENCE: Duration = Duration::from_secs(60);

fn need_root(why: &str) {
    assert!(
        rustix::process::geteuid().is_root(),
        "this test {why} and so needs root (CI runs as root)"
    );
}

/// What a finished program did.
struct Ran {
    status: ExitStatus,
    out: Vec<u8>,
    err: String,
}

impl Ran {
    fn out(&self) -> String {
        String::from_utf8_lossy(&self.out).into_owned()
    }

    /// Exited by itself (no signal), with `code`, and without a panic.
    fn assert_exit(&self, code: i32, what: &str) {
        assert_eq!(
            self.status.code(),
            Some(code),
            "{what}: {} (signal {:?}); stderr: {}",
            self.status,
            self.status.signal(),
            self.err
        );
        assert!(!self.err.contains("panicked"), "{what}: {}", self.err);
    }
}

/// Runs `cmd` to its end, killing it (and failing) after `timeout`.
fn run_within(cmd: &mut Command, timeout: Duration) -> Ran {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
    let read = |mut stream: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stream.read_to_end(&mut bytes);
            bytes
        })
    };
    let out = read(Box::new(child.stdout.take().expect("piped")));
    let err = read(Box::new(child.stderr.take().expect("piped")));
    let status = wait_within(&mut child, timeout, &format!("{cmd:?}"));
    Ran {
        status,
        out: out.join().expect("stdout reader"),
        err: String::from_utf8_lossy(&err.join().expect("stderr reader")).into_owned(),
    }
}

/// Waits for `child`, killing it and failing after `timeout`.
fn wait_within(child: &mut Child, timeout: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("poll child") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} still ran after {timeout:?}: it hung");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn companion(args: &[&str]) -> Command {
    let mut c = Command::new(SHM_BRIDGE);
    c.args(args);
    c
}

/// A tmpfs mounted like `/dev/shm`: every user may make files, only in
/// their own name (sticky).
fn shared_tmpfs(size: &str) -> Tmpfs {
    use std::os::unix::fs::PermissionsExt;
    let t = Tmpfs::mount_in(&std::env::temp_dir(), size);
    std::fs::set_permissions(&t.path, std::fs::Permissions::from_mode(0o1777)).unwrap();
    t
}

/// A shell loop run as the other user, in a process group of its own,
/// killed with all it started on drop.
struct Attacker(Child);

impl Attacker {
    fn start(dir: &Path, script: &str) -> Attacker {
        let child = Command::new("sh")
            .args(["-c", script])
            .current_dir(dir)
            .uid(STRANGER)
            .gid(STRANGER)
            .process_group(0)
            .stdin(Stdio::null())
            .spawn()
            .expect("start the other user's shell");
        Attacker(child)
    }

    /// Runs `script` as the other user to its end.
    fn once(dir: &Path, script: &str) {
        let mut a = Attacker::start(dir, script);
        let status = wait_within(&mut a.0, PATIENCE, script);
        assert!(status.success(), "{script}: {status}");
    }
}

impl Drop for Attacker {
    fn drop(&mut self) {
        if let Some(group) = rustix::process::Pid::from_raw(self.0.id() as i32) {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        let _ = self.0.wait();
    }
}

/// ACC's three pages in `dir`, `physics` and `graphics` as given.
fn acc_pages(
    dir: &Path,
    physics: &shm_bridge::titles::ac::Physics,
    graphics: &shm_bridge::titles::ac::Graphics,
) {
    let mut page = vec![0u8; 2048];
    physics.encode(&mut page);
    std::fs::write(dir.join("acpmf_physics"), &page).unwrap();
    page.fill(0);
    graphics.encode(&mut page);
    std::fs::write(dir.join("acpmf_graphics"), &page).unwrap();
    page.fill(0);
    synthetic::statics().encode(&mut page);
    std::fs::write(dir.join("acpmf_static"), &page).unwrap();
}

// ---------------------------------------------------------------- watch

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
/// 256 MiB page runs within 3 times its size of data memory (the limit is
/// set with prlimit, util-linux; it once took 7 times).
#[test]
fn watch_json_of_a_huge_page_holds_it_at_most_twice() {
    const SIZE: u64 = 256 << 20;
    let dir = ShmDir::new();
    let file = std::fs::File::create(dir.path.join("huge")).unwrap();
    file.set_len(SIZE).unwrap();
    // A pattern, so that the hex is checked, at the start and the end.
    use std::os::unix::fs::FileExt;
    file.write_all_at(b"\x01\x02\xfe\xff", 0).unwrap();
    file.write_all_at(b"\xab", SIZE - 1).unwrap();
    drop(file);
    let limit = format!("--data={}", 3 * SIZE);
    let mut cmd = Command::new("prlimit");
    cmd.args([
        &limit, SHM_BRIDGE, "watch", "--map", "huge", "--once", "--json",
    ])
    .args(["--tmpfs", &dir.arg()]);
    let ran = run_within(&mut cmd, Duration::from_secs(300));
    ran.assert_exit(0, "watch --once --json on 256 MiB");
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
/// one: it reads a bounded digest, not the file (its data memory is held
/// to 50 MB with prlimit; it once read all 4 GiB).
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
        let mut cmd = Command::new("prlimit");
        cmd.args(["--data=50000000", SHM_BRIDGE, "list", "--tmpfs", &d])
            .args(extra);
        run_within(&mut cmd, PATIENCE)
    };
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
    let all = list(&["--json", "--other-users"]);
    all.assert_exit(0, "list --other-users");
    let row: serde_json::Value = serde_json::from_str(all.out().trim()).expect("one row");
    assert_eq!(row["name"], "acpmf_static");
    assert_eq!(row["size"], 4u64 << 30);
    assert_eq!(row["owner"], STRANGER);
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

// ---------------------------------------------------------------- launch

/// A stand-in for the bridge exe that `launch` checks for and puts in the
/// command; the commands here never run it (`/bin/sh` is the "launcher").
struct FakeExe(PathBuf);

impl FakeExe {
    fn new() -> FakeExe {
        let dir = std::env::temp_dir().join(format!("shm-test-exe-{}", nonce()));
        std::fs::create_dir(&dir).unwrap();
        let exe = dir.join("shm-bridge.exe");
        std::fs::write(&exe, b"MZ").unwrap();
        FakeExe(exe)
    }

    fn arg(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for FakeExe {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// `launch` with `args` before `--`, and a game command that runs the
/// shell `script` (the bridge's arguments are inserted before `game.exe`).
fn launch(exe: &FakeExe, dir: &ShmDir, args: &[&str], script: &str) -> Command {
    let mut c = Command::new(SHM_BRIDGE);
    c.arg("launch")
        .args(args)
        .args(["--exe", &exe.arg(), "--tmpfs", &dir.arg(), "--"])
        .args(["/bin/sh", "-c", script, "game.exe"])
        .env_remove("WINEPREFIX")
        .env_remove("STEAM_COMPAT_DATA_PATH");
    c
}

/// Sizes whose sum is past 2^64 are refused with a message, in a debug
/// build too (where the sum once panicked, and wrapped to 1 in release,
/// passing the free-space check); nothing starts or is made.
#[test]
fn launch_refuses_sizes_whose_sum_would_wrap() {
    let (exe, dir) = (FakeExe::new(), ShmDir::new());
    let huge = "9223372036854775807";
    let ran = run_within(
        &mut launch(
            &exe,
            &dir,
            &["-m", "a", "b", "c", "-s", huge, huge, "3"],
            "touch started",
        ),
        PATIENCE,
    );
    ran.assert_exit(1, "launch with sizes past 2^64");
    assert!(
        ran.err.contains("add up to more than any machine can map"),
        "{}",
        ran.err
    );
    for too_big in [
        "9223372036854775808",
        "18446744073709551615",
        "18446744073709551616",
    ] {
        let ran = run_within(
            &mut launch(&exe, &dir, &["-m", "a", "-s", too_big], "touch started"),
            PATIENCE,
        );
        ran.assert_exit(1, too_big);
        assert!(
            ran.err.contains("more than any machine can map"),
            "{}",
            ran.err
        );
    }
    assert_eq!(
        dir.entries(),
        Vec::<String>::new(),
        "nothing made, nothing started"
    );
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

/// `launch` whose stderr is a pipe no one reads any more still starts the
/// game and passes its exit code on: a message no one can read is no
/// reason to stop (writing one once panicked).
#[test]
fn launch_with_its_stderr_closed_still_runs_the_game() {
    let (exe, dir) = (FakeExe::new(), ShmDir::new());
    let proof = dir.path.join("game-ran");
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut cmd = launch(
        &exe,
        &dir,
        &["-m", "closed", "-s", "64"],
        &format!("echo ran > {}; exit 7", proof.display()),
    );
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(writer)
        .spawn()
        .unwrap();
    drop(cmd);
    let status = wait_within(&mut child, PATIENCE, "launch");
    assert_eq!(
        status.code(),
        Some(7),
        "{status}: the game's code, passed on"
    );
    assert!(proof.exists(), "the game did not run");
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

// ---------------------------------------------------------------- input

/// Values that would overflow a clock or a counter: refused with a
/// message, or shown as they are, never a panic (in a debug build).
#[test]
fn extreme_values_are_refused_or_shown_never_a_panic() {
    for seconds in ["1e19", "18446744073709551616", "inf"] {
        let ran = run_within(&mut companion(&["watch", "--seconds", seconds]), PATIENCE);
        ran.assert_exit(2, &format!("watch --seconds {seconds}"));
        assert!(ran.err.contains("a year"), "{}", ran.err);
    }
    let dir = ShmDir::new();
    let mut physics = synthetic::physics(i32::MAX);
    physics.gear = i32::MIN;
    physics.rpm = i32::MIN;
    let mut graphics = synthetic::graphics(i32::MAX);
    graphics.completed_laps = i32::MAX;
    graphics.position = i32::MIN;
    graphics.i_current_time = i32::MIN;
    graphics.i_last_time = i32::MAX;
    graphics.i_best_time = i32::MIN;
    acc_pages(&dir.path, &physics, &graphics);
    let d = dir.arg();
    let json = run_within(
        &mut companion(&["watch", "--game", "acc", "--once", "--json", "--tmpfs", &d]),
        PATIENCE,
    );
    json.assert_exit(0, "watch --once --json");
    let v: serde_json::Value = serde_json::from_slice(&json.out).expect("JSON");
    assert_eq!(v["physics"]["gear"], i32::MIN);
    assert_eq!(v["graphics"]["completed_laps"], i32::MAX);
    let text = run_within(
        &mut companion(&["watch", "--game", "acc", "--once", "--tmpfs", &d]),
        PATIENCE,
    );
    text.assert_exit(0, "watch --once");
    // A lap past the last i32 is no lap the model can count: shown as unknown.
    assert!(text.out().contains("gear R"), "{}", text.out());
    assert!(text.out().contains("(- completed)"), "{}", text.out());
    let plain = run_within(
        &mut companion(&["watch", "--game", "acc", "--seconds", "0.5", "--tmpfs", &d]),
        PATIENCE,
    );
    plain.assert_exit(0, "watch (plain)");
}

/// A presets file of 200,000 entries is read in linear time (it once took
/// over ten minutes: each entry was compared with all before it); two
/// entries answering to one name are an error naming both; an entry that
/// takes a built-in one's name replaces it, and the user is told once.
#[test]
fn presets_files_are_read_in_linear_time_and_clashes_are_said() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.toml");
    let mut text = String::new();
    for i in 0..200_000u32 {
        text.push_str(&format!(
            "[[game]]\ntitle = \"Game {i}\"\naliases = [\"g{i}\"]\nsteam_app_ids = [{}]\n\
             maps = [{{ name = \"page{i}\", size = 4096, source = \"test\" }}]\n",
            3_000_000_000u32 + i
        ));
    }
    std::fs::write(&big, text).unwrap();
    let games = |file: &Path| {
        let presets = file.display().to_string();
        run_within(
            &mut companion(&["games", "--presets", &presets]),
            Duration::from_secs(300),
        )
    };
    let ran = games(&big);
    ran.assert_exit(0, "games with 200,000 entries");
    assert!(ran.out().contains("Game 199999"));

    let clash = dir.path().join("clash.toml");
    std::fs::write(
        &clash,
        "[[game]]\ntitle = \"Mine\"\nmaps = [{ name = \"a\", size = 1, source = \"me\" }]\n\
         [[game]]\ntitle = \"Other\"\naliases = [\"MINE\"]\nmaps = [{ name = \"b\", size = 1, source = \"me\" }]\n",
    )
    .unwrap();
    let ran = games(&clash);
    ran.assert_exit(1, "two entries, one name");
    assert!(
        ran.err
            .contains("games \"Mine\" and \"Other\" both answer to --game \"mine\""),
        "{}",
        ran.err
    );

    let over = dir.path().join("over.toml");
    std::fs::write(
        &over,
        "[[game]]\ntitle = \"My ACC\"\naliases = [\"acc\"]\nmaps = [{ name = \"mine\", size = 64, source = \"me\" }]\n",
    )
    .unwrap();
    let ran = games(&over);
    ran.assert_exit(0, "a user's acc");
    let notice =
        "your presets file's \"My ACC\" replaces the built-in \"Assetto Corsa Competizione\"";
    assert_eq!(ran.err.matches(notice).count(), 1, "{}", ran.err);
    assert!(
        !ran.out().contains("Assetto Corsa Competizione"),
        "{}",
        ran.out()
    );
    let presets = over.display().to_string();
    let shm = ShmDir::new();
    let tmpfs = shm.arg();
    let watched = run_within(
        &mut companion(&[
            "watch",
            "--game",
            "acc",
            "--once",
            "--json",
            "--presets",
            &presets,
            "--tmpfs",
            &tmpfs,
        ]),
        PATIENCE,
    );
    assert!(
        watched.err.contains("mine does not exist"),
        "the user's acc: {}",
        watched.err
    );
    assert_eq!(watched.err.matches(notice).count(), 1, "{}", watched.err);
}
