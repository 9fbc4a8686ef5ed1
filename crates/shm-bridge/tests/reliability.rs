//! Faults and hostile input around the bridge, with real processes under
//! real Wine: each test is a row of RELIABILITY.md.
#![cfg(target_os = "linux")]

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use rustix::process::Signal;
use shm_tests::nonce;
use shm_tests::standin::{self, CounterPage};
use shm_tests::tmpfs::Tmpfs;
use shm_tests::wine::{self, Running, ShmDir};

const TIMEOUT: Duration = standin::START;
const SHM_BRIDGE: &str = env!("CARGO_BIN_EXE_shm-bridge");

fn bridge(args: &[&str]) -> Running {
    standin::bridge_in(&wine::prefix(), args)
}

#[test]
fn a_sigkilled_bridge_leaves_the_game_running_and_a_restart_takes_over_its_files() {
    let dir = ShmDir::new();
    let name = format!("shm-test-{}", nonce());
    let args = ["-m", &name, "-s", "4096", "--tmpfs", &dir.arg()];
    let mut b = bridge(&args);
    b.expect_line("mappings exist", TIMEOUT);
    let mut g = standin::game(&name);
    let mem = standin::open(&dir.path, &name);
    CounterPage(&mem).assert_advancing();

    b.signal(Signal::KILL);
    b.wait_exit(TIMEOUT);
    // The game and this reader go on as if nothing happened.
    CounterPage(&mem).assert_advancing();
    CounterPage(&mem).assert_game_reads(31);

    let before = CounterPage(&mem).counter();
    let mut again = bridge(&args);
    let line = again.expect_line(&name, TIMEOUT);
    assert!(line.contains("reused"), "{line}");
    again.expect_line("mappings exist", TIMEOUT);
    assert!(
        CounterPage(&mem).counter() >= before,
        "the file was not truncated"
    );
    assert_eq!(
        CounterPage(&mem).echo(),
        31,
        "what the game wrote is still there"
    );
    CounterPage(&mem).assert_game_reads(32);

    CounterPage(&mem).quit();
    assert_eq!(g.wait_exit(TIMEOUT), Some(0));
    again.signal(Signal::INT);
    assert_eq!(again.wait_exit(TIMEOUT), Some(0), "{}", again.output());
    drop(mem);
    assert_eq!(
        dir.entries(),
        Vec::<String>::new(),
        "the restarted bridge removed them"
    );
}

#[test]
fn a_symlink_planted_in_the_tmpfs_is_refused_and_its_target_untouched() {
    let dir = ShmDir::new();
    let victim = std::env::temp_dir().join(format!("shm-test-victim-{}", nonce()));
    std::fs::write(&victim, b"precious").unwrap();
    std::os::unix::fs::symlink(&victim, dir.path.join("acpmf_physics")).unwrap();
    for args in [
        vec!["-m", "acpmf_physics", "-s", "4096"],
        vec!["-m", "acpmf_physics"],
    ] {
        let (code, _, err) = wine::run(
            wine::command(&wine::exe("shm-bridge"))
                .args(&args)
                .args(["--tmpfs", &dir.arg()]),
        );
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert!(err.contains("symbolic link"), "{args:?}: {err}");
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    std::fs::remove_file(&victim).unwrap();
    assert_eq!(dir.entries(), ["acpmf_physics"], "only the planted link");
}

#[test]
fn files_are_owner_only_unless_widened() {
    let dir = ShmDir::new();
    for (mode_arg, expected) in [(None, 0o600), (Some("644"), 0o644), (Some("0640"), 0o640)] {
        let name = format!("shm-test-{}", nonce());
        let mut args = vec!["-m", &name, "-s", "4096", "--tmpfs"];
        let d = dir.arg();
        args.push(&d);
        if let Some(m) = mode_arg {
            args.extend(["--mode", m]);
        }
        let mut b = bridge(&args);
        b.expect_line("mappings exist", TIMEOUT);
        let mode = std::fs::metadata(dir.path.join(&name)).unwrap().mode() & 0o777;
        let marker = std::fs::metadata(dir.path.join(format!(".{name}.shm-bridge")))
            .unwrap()
            .mode()
            & 0o777;
        b.signal(Signal::INT);
        b.wait_exit(TIMEOUT);
        assert_eq!(mode, expected, "--mode {mode_arg:?}");
        assert_eq!(marker, expected, "the marker too");
    }
    let (code, _, err) = wine::run(wine::command(&wine::exe("shm-bridge")).args([
        "-m",
        "x",
        "-s",
        "1",
        "--mode",
        "999",
        "--tmpfs",
        &dir.arg(),
    ]));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("octal file mode"), "{err}");
    assert_eq!(dir.entries(), Vec::<String>::new());
}

#[test]
fn wineserver_kill_hangs_nothing_and_leaves_only_what_clean_removes() {
    let prefix = wine::PrivatePrefix::boot();
    let dir = ShmDir::new();
    let name = format!("shm-test-{}", nonce());
    let mut b = standin::bridge_in(
        &prefix.path,
        &["-m", &name, "-s", "4096", "--tmpfs", &dir.arg()],
    );
    b.expect_line("mappings exist", TIMEOUT);
    let g = standin::game_in(&prefix.path, &name);
    assert!(prefix.stop_wineserver(), "wineserver -k");
    b.wait_exit(Duration::from_secs(20));
    let mut g = g;
    g.wait_exit(Duration::from_secs(20));
    // Killed outright, the bridge could not clean; the file is whole and marked,
    // and `clean` removes it now that nothing maps it.
    assert_eq!(std::fs::metadata(dir.path.join(&name)).unwrap().len(), 4096);
    assert!(dir.path.join(format!(".{name}.shm-bridge")).exists());
    let (code, out, err) =
        wine::run(std::process::Command::new(SHM_BRIDGE).args(["clean", "--tmpfs", &dir.arg()]));
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(&format!("{name}: removed")), "{out}");
    assert_eq!(dir.entries(), Vec::<String>::new());
}

#[test]
fn wineserver_kill_under_launch_ends_launch_and_cleans_up() {
    let prefix = wine::PrivatePrefix::boot();
    let dir = ShmDir::new();
    let name = format!("shm-test-{}", nonce());
    let mut launch = Running::spawn(
        std::process::Command::new(SHM_BRIDGE)
            .args([
                "launch",
                "-m",
                &name,
                "-s",
                "4096",
                "--tmpfs",
                &dir.arg(),
                "--",
                "wine",
            ])
            .arg(wine::exe("sim-standin"))
            .args(["counter", "--map", &name, "--size", "64"])
            .env("WINEPREFIX", &prefix.path)
            .env("WINEDEBUG", "-all"),
    );
    launch.expect_line("already existed (bridged)", TIMEOUT);
    assert!(prefix.stop_wineserver(), "wineserver -k");
    let code = launch.wait_exit(Duration::from_secs(20));
    assert_ne!(code, Some(0), "the game was killed: {}", launch.output());
    assert_eq!(
        dir.entries(),
        Vec::<String>::new(),
        "launch removed the leftovers"
    );
}

#[test]
fn a_game_crash_in_wrapper_mode_removes_the_files_and_fails() {
    let dir = ShmDir::new();
    let name = format!("shm-test-{}", nonce());
    let mut b = standin::bridge_wrapping(
        &dir.path,
        &name,
        &["counter", "--map", &name, "--size", "64"],
    );
    b.expect_line("already existed (bridged)", TIMEOUT);
    let mem = standin::open(&dir.path, &name);
    CounterPage(&mem).assert_advancing();
    CounterPage(&mem).crash();
    let code = b.wait_exit(TIMEOUT);
    drop(mem);
    let out = b.output();
    assert!(out.contains("crashing as asked"), "{out}");
    assert!(code.is_some_and(|c| c != 0), "exit {code:?}: {out}");
    assert_eq!(dir.entries(), Vec::<String>::new(), "{out}");
}

/// The bridge wrapping a launcher that starts the game and exits at once.
fn bridge_a_launcher(dir: &ShmDir, name: &str) -> Running {
    let mut b = standin::bridge_wrapping(
        &dir.path,
        name,
        &[
            "bootstrap",
            "counter",
            "--map",
            name,
            "--size",
            "64",
            "--exit-code",
            "3",
            // Ends by itself should the test fail before it asks the game to quit.
            "--seconds",
            "60",
        ],
    );
    b.expect_line("exited with code 0.", TIMEOUT);
    b.expect_line("Waiting for the 1 process(es) it started", TIMEOUT);
    b
}

#[test]
fn a_launcher_that_exits_first_leaves_the_bridge_up_until_the_game_ends() {
    let dir = ShmDir::new();
    let name = format!("shm-test-{}", nonce());
    let mut b = bridge_a_launcher(&dir, &name);
    // The launcher is gone; the game still writes through the bridged file.
    let mem = standin::open(&dir.path, &name);
    let page = CounterPage(&mem);
    page.assert_advancing();
    page.assert_game_reads(4242);
    assert!(
        dir.entries().contains(&name),
        "the file stays while the game runs"
    );
    // Waiting for the game's last process takes no looking: over 200 of
    // the game's frames (10 ms apart), the bridge is hardly woken.
    let (woken, first) = (shm_tests::wakes(b.pid()), page.counter());
    shm_tests::wait_for("200 of the game's frames", TIMEOUT, || {
        (page.counter() >= first + 200).then_some(())
    });
    let woken = shm_tests::wakes(b.pid()) - woken;
    assert!(woken < 5, "the waiting bridge was woken {woken} times");
    page.quit();
    let code = b.wait_exit(TIMEOUT);
    let out = b.output();
    assert_eq!(code, Some(0), "the launcher's exit code: {out}");
    assert!(
        out.contains("Every process it started has exited."),
        "{out}"
    );
    assert_eq!(dir.entries(), Vec::<String>::new(), "{out}");

    // Asked to stop while only the game runs: the bridge goes, the game stays.
    let dir = ShmDir::new();
    let mut b = bridge_a_launcher(&dir, &name);
    let mem = standin::open(&dir.path, &name);
    let page = CounterPage(&mem);
    page.assert_advancing();
    b.signal(Signal::INT);
    let code = b.wait_exit(TIMEOUT);
    let out = b.output();
    assert_eq!(code, Some(130), "{out}");
    assert!(out.contains("keep running without the bridge"), "{out}");
    page.assert_advancing();
    page.quit();
}

#[test]
fn a_tmpfs_too_small_fails_at_start_before_the_game_runs() {
    let tiny = Tmpfs::mount_in(&std::env::temp_dir(), "64k");
    let dir = tiny.path.display().to_string();
    for args in [
        vec!["-m", "big", "-s", "131072"],
        vec!["-m", "a", "b", "-s", "40960", "40960"],
    ] {
        let (code, _, err) = wine::run(
            wine::command(&wine::exe("shm-bridge"))
                .args(&args)
                .args(["--tmpfs", &dir]),
        );
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert!(
            err.contains("free") && err.contains("Nothing was created"),
            "{args:?}: {err}"
        );
        assert_eq!(tiny.entries(), 0, "{args:?}");
    }
    // Through launch: refused before the game is started.
    let (code, out, err) = wine::run(
        std::process::Command::new(SHM_BRIDGE)
            .args([
                "launch", "-m", "big", "-s", "131072", "--tmpfs", &dir, "--", "wine",
            ])
            .arg(wine::exe("sim-standin"))
            .args(["counter", "--map", "big", "--size", "64"])
            .env("WINEPREFIX", wine::prefix())
            .env("WINEDEBUG", "-all"),
    );
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(err.contains("the game was not started"), "{err}");
    assert!(!out.contains("mapping big"), "the game ran: {out}");
    assert_eq!(tiny.entries(), 0);
    // What fits, fits: 48 KiB on the 64 KiB tmpfs, pages reserved.
    let mut b = bridge(&["-m", "fits", "-s", "49152", "--tmpfs", &dir]);
    b.expect_line("mappings exist", TIMEOUT);
    let used = rustix::fs::statvfs(&tiny.path).unwrap();
    let free = used.f_bavail * used.f_frsize;
    b.signal(Signal::INT);
    assert_eq!(b.wait_exit(TIMEOUT), Some(0));
    assert!(
        free <= 16 * 1024,
        "the pages are reserved, not sparse: {free} bytes still free"
    );
    assert_eq!(tiny.entries(), 0);
}

#[test]
fn a_file_of_another_user_is_refused_by_the_linux_side() {
    assert!(
        rustix::process::geteuid().is_root(),
        "this test gives a file to another user and so needs root (CI runs as root)"
    );
    let dir = ShmDir::new();
    let planted = dir.path.join("acpmf_physics");
    std::fs::write(&planted, vec![7u8; 2048]).unwrap();
    // A marker too, as if a bridge had made it: ownership still decides.
    let inode = std::fs::metadata(&planted).unwrap().ino();
    std::fs::write(
        dir.path.join(".acpmf_physics.shm-bridge"),
        format!("shm-bridge marker 1\nname=acpmf_physics\ninode={inode}\nsize=2048\n"),
    )
    .unwrap();
    let nobody = rustix::process::Uid::from_raw(65534);
    rustix::fs::chown(&planted, Some(nobody), None).unwrap();

    let (code, out, err) = wine::run(std::process::Command::new(SHM_BRIDGE).args([
        "watch",
        "--map",
        "acpmf_physics",
        "--once",
        "--json",
        "--tmpfs",
        &dir.arg(),
    ]));
    assert_eq!(code, Some(1), "{out}");
    assert!(err.contains("belongs to uid 65534"), "{err}");

    let (code, out, _) = wine::run(std::process::Command::new(SHM_BRIDGE).args([
        "clean",
        "--map",
        "acpmf_physics",
        "--force",
        "--tmpfs",
        &dir.arg(),
    ]));
    assert_eq!(code, Some(0));
    assert!(
        out.contains("left alone: it belongs to another user"),
        "{out}"
    );
    assert_eq!(std::fs::read(&planted).unwrap(), vec![7u8; 2048]);
}

#[test]
fn a_game_started_before_the_bridge_gets_a_clear_error_and_nothing_is_left() {
    let dir = ShmDir::new();
    let name = format!("shm-test-{}", nonce());
    // The game made its own pagefile-backed mapping: the bridge cannot put a
    // file under it, and says so instead of bridging nothing.
    let mut g = Running::spawn(
        wine::command(&wine::exe("sim-standin")).args(["counter", "--map", &name, "--size", "64"]),
    );
    g.expect_line("created by the game itself (not bridged)", TIMEOUT);
    let (code, _, err) = wine::run(wine::command(&wine::exe("shm-bridge")).args([
        "-m",
        &name,
        "-s",
        "4096",
        "--tmpfs",
        &dir.arg(),
    ]));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("already exists in this Wine prefix") && err.contains("before the game"),
        "{err}"
    );
    assert_eq!(
        dir.entries(),
        Vec::<String>::new(),
        "the file it made for the mapping is gone"
    );
    g.signal(Signal::KILL);
    g.wait_exit(TIMEOUT);
}
