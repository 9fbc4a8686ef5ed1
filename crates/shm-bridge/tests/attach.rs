//! `shm-bridge attach`: the ACC stand-in writes its pages through the bridge
//! in one Wine prefix (the game's), and a Windows reader in a second prefix
//! (a tool's, as CrewChief or SimHub run in) opens `Local\acpmf_physics` by
//! name and reads what the game writes; a process of the game's exe name
//! lives in the second prefix exactly while the game's pages do.
#![cfg(target_os = "linux")]

use std::process::Command;
use std::time::Duration;

use shm_tests::wait_for;
use shm_tests::wine::{self, PrivatePrefix, Running, ShmDir};

const SHM_BRIDGE: &str = env!("CARGO_BIN_EXE_shm-bridge");
const TIMEOUT: Duration = Duration::from_secs(60);
const GAME_EXE: &str = "AC2-Win64-Shipping.exe";

/// Linux pids of the processes whose command line names `exe`.
fn processes_named(exe: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(exe))
        })
        .collect()
}

#[test]
fn a_tool_in_another_prefix_reads_the_games_pages_while_they_exist() {
    let dir = ShmDir::new();
    let tools = PrivatePrefix::boot();
    // The game, in the tests' prefix: the ACC stand-in behind the bridge.
    let standin = wine::exe("sim-standin").display().to_string();
    let mut game = Running::spawn(wine::command(&wine::exe("shm-bridge")).args([
        "--game",
        "acc",
        "--tmpfs",
        &dir.arg(),
        "--",
        &standin,
        "acc",
        "--seconds",
        "12",
    ]));
    game.expect_line("writing physics and graphics", TIMEOUT);
    let mut attach = Running::spawn(
        Command::new(SHM_BRIDGE)
            .args(["attach", "--game", "acc", "--stand-in", GAME_EXE, "--tmpfs"])
            .arg(&dir.path)
            .arg("--prefix")
            .arg(&tools.path)
            .env("SHM_BRIDGE_EXE_DIR", wine::windows_dir()),
    );
    attach.expect_line("mapped in", TIMEOUT);
    // The tool: opens the game's mapping by name in its own prefix.
    let mut reader = Running::spawn(
        wine::command_in(&tools.path, &wine::exe("sim-standin")).args([
            "read",
            "--map",
            "Local\\acpmf_physics",
            "--count",
            "3",
            "--seconds",
            "30",
        ]),
    );
    assert_eq!(reader.wait_exit(TIMEOUT), Some(0), "{}", reader.output());
    let out = reader.output();
    let values: Vec<i32> = out
        .lines()
        .filter_map(|l| l.strip_prefix("value ")?.parse().ok())
        .collect();
    assert_eq!(values.len(), 3, "{out}");
    assert!(
        values.windows(2).all(|w| w[1] > w[0]) && values[0] > 0,
        "the game's packet ids, advancing: {out}"
    );
    assert!(out.contains("2048 bytes"), "the bridge's size: {out}");
    wait_for("the stand-in process", TIMEOUT, || {
        (!processes_named(GAME_EXE).is_empty()).then_some(())
    });
    // The game ends: its bridge removes the pages, attach detaches.
    assert_eq!(game.wait_exit(TIMEOUT), Some(0), "{}", game.output());
    assert_eq!(attach.wait_exit(TIMEOUT), Some(0), "{}", attach.output());
    assert!(attach.output().contains("detached"), "{}", attach.output());
    assert!(
        processes_named(GAME_EXE).is_empty(),
        "the stand-in went too"
    );
    assert!(dir.entries().is_empty(), "{:?}", dir.entries());
    tools.stop_wineserver();
}

#[test]
fn attach_refuses_what_is_not_a_prefix_and_bad_stand_in_names() {
    let dir = ShmDir::new();
    for (args, expected) in [
        (
            vec!["--game", "acc", "--prefix", "/nonexistent"],
            "is not a Wine prefix",
        ),
        (
            vec![
                "--game",
                "acc",
                "--prefix",
                &wine::prefix().display().to_string(),
                "--stand-in",
                "../x.exe",
            ],
            "give an exe's file name",
        ),
        (vec!["--prefix", "/tmp"], "say which pages to attach"),
    ] {
        let out = Command::new(SHM_BRIDGE)
            .arg("attach")
            .args(&args)
            .arg("--tmpfs")
            .arg(&dir.path)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}
