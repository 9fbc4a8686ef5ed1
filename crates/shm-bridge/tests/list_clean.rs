//! `shm-bridge list` and `clean` against a real bridge exe and game
//! stand-in under Wine.
#![cfg(target_os = "linux")]

use std::process::Command;
use std::time::Duration;

use rustix::process::Signal;
use shm_tests::standin::{self, CounterPage};
use shm_tests::wine::{self, Running, ShmDir};
use shm_tests::{nonce, wait_for};

const SHM_BRIDGE: &str = env!("CARGO_BIN_EXE_shm-bridge");
const TIMEOUT: Duration = standin::START;

fn companion(args: &[&str]) -> (Option<i32>, String, String) {
    wine::run(Command::new(SHM_BRIDGE).args(args))
}

fn bridge(dir: &ShmDir, maps: &[&str], sizes: &[&str]) -> Running {
    let mut b = Running::spawn(
        wine::command(&wine::exe("shm-bridge"))
            .arg("-m")
            .args(maps)
            .arg("-s")
            .args(sizes)
            .args(["--tmpfs", &dir.arg()]),
    );
    b.expect_line("mappings exist", TIMEOUT);
    b
}

fn quit_game(dir: &ShmDir, name: &str, mut g: Running) {
    CounterPage(&standin::open(&dir.path, name)).quit();
    assert_eq!(g.wait_exit(TIMEOUT), Some(0));
}

/// `list --json` rows by name.
fn list_json(dir: &ShmDir, all: bool) -> Vec<serde_json::Value> {
    let mut args = vec!["list", "--json", "--tmpfs"];
    let d = dir.arg();
    args.push(&d);
    if all {
        args.push("--all");
    }
    let (code, out, err) = companion(&args);
    assert_eq!(code, Some(0), "{err}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn programs(row: &serde_json::Value) -> Vec<String> {
    row["mapped_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["program"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn list_shows_size_mappers_and_whether_bytes_change() {
    let dir = ShmDir::new();
    let (busy, quiet) = (format!("busy-{}", nonce()), format!("quiet-{}", nonce()));
    std::fs::write(dir.path.join("foreign"), b"not bridged").unwrap();
    let mut b = bridge(&dir, &[&busy, &quiet], &["4096", "2048"]);
    let g = standin::game(&busy);

    let rows = list_json(&dir, false);
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [busy.as_str(), quiet.as_str()],
        "bridged files only, sorted"
    );
    let (busy_row, quiet_row) = (&rows[0], &rows[1]);
    assert_eq!(busy_row["size"], 4096);
    assert_eq!(quiet_row["size"], 2048);
    assert_eq!(busy_row["bridged"], true);
    assert_eq!(busy_row["written"], true, "the game writes it");
    assert_eq!(quiet_row["written"], false, "nobody writes it");
    assert!(
        programs(busy_row).contains(&"shm-bridge.exe".to_owned()),
        "{busy_row}"
    );
    assert!(
        programs(busy_row).contains(&"sim-standin.exe".to_owned()),
        "{busy_row}"
    );
    assert_eq!(programs(quiet_row), ["shm-bridge.exe"], "{quiet_row}");

    let all = list_json(&dir, true);
    assert!(
        all.iter()
            .any(|r| r["name"] == "foreign" && r["bridged"] == false)
    );

    let (code, table, _) = companion(&["list", "--tmpfs", &dir.arg()]);
    assert_eq!(code, Some(0));
    assert!(
        table.contains("MAPPED BY") && table.contains(&busy),
        "{table}"
    );

    quit_game(&dir, &busy, g);
    b.signal(Signal::INT);
    assert_eq!(b.wait_exit(TIMEOUT), Some(0));
}

#[test]
fn clean_keeps_what_a_live_process_maps_unless_forced() {
    let dir = ShmDir::new();
    let (kept, forced) = (format!("kept-{}", nonce()), format!("forced-{}", nonce()));
    std::fs::write(dir.path.join("foreign"), b"a Linux program's").unwrap();
    let mut b = bridge(&dir, &[&kept, &forced], &["4096", "4096"]);
    let g = standin::game(&kept);
    // The bridge dies; the game keeps the mapping (and the file) alive.
    b.signal(Signal::KILL);
    b.wait_exit(TIMEOUT);

    let (code, out, err) = companion(&["clean", "--tmpfs", &dir.arg()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains(&format!("{kept}: kept: still mapped by sim-standin.exe")),
        "{out}"
    );
    assert!(out.contains(&format!("{forced}: removed")), "{out}");
    assert!(dir.path.join(&kept).exists());

    let (code, out, _) = companion(&[
        "clean",
        "--map",
        &kept,
        "foreign",
        "--force",
        "--tmpfs",
        &dir.arg(),
    ]);
    assert_eq!(code, Some(0));
    assert!(out.contains(&format!("{kept}: removed")), "{out}");
    assert!(
        out.contains("foreign: left alone: shm-bridge did not create it"),
        "{out}"
    );
    assert_eq!(dir.entries(), ["foreign"]);
    assert_eq!(
        std::fs::read(dir.path.join("foreign")).unwrap(),
        b"a Linux program's"
    );

    // Once the game is gone too, nothing is left to clean.
    let mut g = g;
    g.signal(Signal::KILL);
    g.wait_exit(TIMEOUT);
    let (_, out, _) = companion(&["clean", "--tmpfs", &dir.arg()]);
    assert!(out.contains("nothing a bridge left behind"), "{out}");
}

#[test]
fn clean_after_the_game_ends_removes_the_leftovers() {
    let dir = ShmDir::new();
    let name = format!("shm-test-{}", nonce());
    let mut b = bridge(&dir, &[&name], &["4096"]);
    let g = standin::game(&name);
    b.signal(Signal::KILL);
    b.wait_exit(TIMEOUT);
    quit_game(&dir, &name, g);
    wait_for("the game's mapping to go", TIMEOUT, || {
        let (_, out, _) = companion(&["list", "--json", "--tmpfs", &dir.arg()]);
        (!out.contains("sim-standin.exe")).then_some(())
    });
    let (code, out, _) = companion(&[
        "clean",
        "--game",
        "nonexistent-title",
        "--tmpfs",
        &dir.arg(),
    ]);
    assert_eq!(code, Some(1), "unknown game: {out}");
    let (code, out, _) = companion(&["clean", "--map", &name, "--tmpfs", &dir.arg()]);
    assert_eq!(code, Some(0));
    assert!(out.contains(&format!("{name}: removed")), "{out}");
    assert_eq!(dir.entries(), Vec::<String>::new());
}
