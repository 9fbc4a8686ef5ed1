//! `shm-bridge record` under real Wine: the ACC scenario written at 60 Hz
//! through the bridge is recorded one row per fresh sample, each row the
//! model of its frame, as CSV and as JSON lines valid against the schema;
//! bad input is refused and loses no data.
#![cfg(target_os = "linux")]

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use shm_bridge::model::Telemetry;
use shm_bridge::scenario::{Scenario, differences};
use shm_bridge::titles::ac::synthetic::SESSION;
use shm_tests::wine::{self, Running, ShmDir};

const SHM_BRIDGE: &str = env!("CARGO_BIN_EXE_shm-bridge");
const TIMEOUT: Duration = Duration::from_secs(60);

/// Records ACC's scenario for 2.5 s into each of `files` at once (two
/// recorders of one bridge); returns what each said.
fn record(dir: &ShmDir, files: &[&std::path::Path]) -> Vec<String> {
    let mut bridge = wine::bridge_title("acc", dir);
    let mut game = Running::spawn(wine::scenario("acc").args(["--rate", "60", "--seconds", "6"]));
    game.expect_line("frames at 60 Hz", TIMEOUT);
    let recorders: Vec<_> = files
        .iter()
        .map(|file| {
            Command::new(SHM_BRIDGE)
                .args([
                    "record",
                    "--game",
                    "acc",
                    "--seconds",
                    "2.5",
                    "--tmpfs",
                    &dir.arg(),
                ])
                .arg("--out")
                .arg(file)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let said = recorders
        .into_iter()
        .map(|r| {
            let out = r.wait_with_output().unwrap();
            let said = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(out.status.success(), "{said}");
            said
        })
        .collect();
    game.signal(rustix::process::Signal::KILL);
    game.wait_exit(TIMEOUT);
    bridge.signal(rustix::process::Signal::INT);
    assert_eq!(bridge.wait_exit(TIMEOUT), Some(0), "{}", bridge.output());
    said
}

/// The rows' updates: one row per frame, none twice, about 60 a second.
fn check_fresh(updates: &[i64]) {
    assert!(
        updates.windows(2).all(|w| w[1] > w[0]),
        "each row a fresh sample: {updates:?}"
    );
    assert!(
        (120..=160).contains(&updates.len()),
        "60 Hz for 2.5 s: {} rows",
        updates.len()
    );
    let skipped = updates.windows(2).filter(|w| w[1] != w[0] + 1).count();
    assert!(skipped * 20 <= updates.len(), "frames missed: {skipped}");
}

#[test]
fn csv_and_json_lines_have_a_row_per_frame_with_its_model() {
    let dir = ShmDir::new();
    let out = tempfile::tempdir().unwrap();
    let (csv_file, json_file) = (out.path().join("lap.csv"), out.path().join("lap.jsonl"));
    for said in record(&dir, &[&csv_file, &json_file]) {
        assert!(said.contains("recorded"), "{said}");
    }

    let mut reader = csv::Reader::from_path(&csv_file).unwrap();
    let header = reader.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut updates = Vec::new();
    for row in reader.records() {
        let row = row.unwrap();
        let update: i64 = row[column("update")].parse().unwrap();
        let want = SESSION.expected(u32::try_from(update).unwrap());
        let speed: f32 = row[column("speed_kmh")].parse().unwrap();
        assert_eq!(Some(speed), want.speed_kmh, "frame {update}");
        assert_eq!(row[column("gear")].parse::<i32>().ok(), want.gear);
        assert_eq!(row[column("rpm")].parse::<i32>().ok(), want.rpm);
        assert_eq!(&row[column("car")], "porsche_992_gt3_r");
        updates.push(update);
    }
    check_fresh(&updates);

    let schema_path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/telemetry.schema.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut updates = Vec::new();
    for line in std::fs::read_to_string(&json_file).unwrap().lines() {
        let doc: Value = serde_json::from_str(line).unwrap();
        assert!(validator.is_valid(&doc), "{doc}");
        let got: Telemetry = serde_json::from_value(doc["telemetry"].clone()).unwrap();
        let update = got.update.unwrap();
        let want = Telemetry {
            title: Some("Assetto Corsa Competizione".into()),
            ..SESSION.expected(u32::try_from(update).unwrap())
        };
        let wrong = differences(&got, &want);
        assert!(wrong.is_empty(), "frame {update}: {wrong:?}");
        updates.push(update);
    }
    check_fresh(&updates);
}

#[test]
fn bad_input_is_refused_and_loses_no_data() {
    let out = tempfile::tempdir().unwrap();
    let dir = ShmDir::new();
    let mine = out.path().join("mine.csv");
    std::fs::write(&mine, "precious\n").unwrap();
    let run = |args: &[&str]| {
        let o = Command::new(SHM_BRIDGE)
            .arg("record")
            .args(args)
            .args(["--tmpfs", &dir.arg()])
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let mine_arg = mine.display().to_string();
    let (code, err) = run(&["--game", "acc", "--out", &mine_arg, "--seconds", "1"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("never overwrites"), "{err}");
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "precious\n");
    let (code, err) = run(&["--game", "acc", "--out", "/nonexistent/dir/x.csv"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cannot create it"), "{err}");
    let (code, err) = run(&["--game", "acc", "--out", "x.csv", "--format", "xml"]);
    assert_eq!(code, Some(2), "{err}");
    let (code, err) = run(&["--map", "unknown_page", "--out", "-"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("does not decode"), "{err}");
    // Nothing bridged: said, after the time given, and the file it made
    // for nothing is gone.
    let empty = out.path().join("empty.csv");
    let empty_arg = empty.display().to_string();
    let (code, err) = run(&["--game", "acc", "--out", &empty_arg, "--seconds", "0.5"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("is shm-bridge running"), "{err}");
    assert!(!empty.exists());
}
