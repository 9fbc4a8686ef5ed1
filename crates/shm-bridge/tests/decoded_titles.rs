//! Every title with a decoder, under real Wine: the game stand-in writes
//! the title's known scenario (`shm_bridge::scenario`) into the bridged
//! pages, at the title's names, sizes and offsets and with its update
//! protocol, and `watch --game T --once --json` gives the model the
//! scenario expects; every document validates against the JSON Schema.
//! Written torn (the writer pauses halfway through each page, inside its
//! protocol), no page of 10,000 samples of `watch --json` is ever mixed.
#![cfg(target_os = "linux")]

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use shm_bridge::core::presets::{Preset, Presets};
use shm_bridge::model::Telemetry;
use shm_bridge::scenario::{Scenario, differences};
use shm_bridge::titles;
use shm_tests::wine::{self, Running, ShmDir};

const SHM_BRIDGE: &str = env!("CARGO_BIN_EXE_shm-bridge");
const TIMEOUT: Duration = Duration::from_secs(60);
/// The frame the stand-in holds for `--once`.
const FRAME: u32 = 6_789;
/// Samples of the torn writer checked per title.
const TORN_SAMPLES: usize = 10_000;

/// Titles of one family share their pages' names in the shared prefix:
/// one test at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The titles whose family has a scenario, with it.
fn titles() -> Vec<(Preset, &'static dyn Scenario)> {
    Presets::builtin()
        .games()
        .iter()
        .filter_map(|p| Some((p.clone(), titles::of_preset(p)?.scenario()?)))
        .collect()
}

/// The presets' key for `--game`: the first alias, else the title.
fn key(preset: &Preset) -> String {
    preset
        .aliases
        .first()
        .cloned()
        .unwrap_or_else(|| preset.title.clone())
}

fn schema() -> jsonschema::Validator {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/telemetry.schema.json");
    let text = std::fs::read_to_string(path).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

/// The bridge for `game` in `dir`, and the stand-in writing its scenario
/// with `options` (on CPU `cpu`), both past their first lines.
fn bridge_and_game(
    game: &str,
    dir: &ShmDir,
    options: &[&str],
    cpu: Option<&str>,
) -> (Running, Running) {
    let bridge = wine::bridge_title(game, dir);
    let mut game_command = wine::scenario(game);
    game_command.args(options);
    if let Some(cpu) = cpu {
        game_command = pinned(game_command, cpu);
    }
    let mut standin = Running::spawn(&mut game_command);
    standin.expect_line("already existed (bridged)", TIMEOUT);
    (bridge, standin)
}

/// `command` run on CPU `cpu` only (`taskset`), as a real-time process
/// (`chrt`): a game on a core of its own, not taken off it between its
/// fields and its counter.
fn pinned(command: Command, cpu: &str) -> Command {
    let mut taskset = Command::new("chrt");
    taskset
        .args(["--fifo", "10", "taskset", "-c", cpu])
        .arg(command.get_program())
        .args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => taskset.env(key, value),
            None => taskset.env_remove(key),
        };
    }
    taskset
}

fn end(mut bridge: Running, mut standin: Running, dir: &ShmDir) {
    standin.signal(rustix::process::Signal::KILL);
    standin.wait_exit(TIMEOUT);
    bridge.signal(rustix::process::Signal::INT);
    assert_eq!(bridge.wait_exit(TIMEOUT), Some(0), "{}", bridge.output());
    assert!(dir.entries().is_empty(), "{:?}", dir.entries());
}

#[test]
fn every_title_decodes_its_scenario_into_the_model() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let validator = schema();
    let all = titles();
    assert!(all.len() >= 3, "the titles with scenarios: {}", all.len());
    for (preset, scenario) in all {
        let game = key(&preset);
        let dir = ShmDir::new();
        let frame = FRAME.to_string();
        let (bridge, mut standin) = bridge_and_game(&game, &dir, &["--frame", &frame], None);
        standin.expect_line(&format!("frame {FRAME} written"), TIMEOUT);
        let out = Command::new(SHM_BRIDGE)
            .args([
                "watch",
                "--game",
                &game,
                "--once",
                "--json",
                "--tmpfs",
                &dir.arg(),
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{game}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: Value = serde_json::from_str(&text).unwrap();
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{game}: {errors:?}\n{doc}");
        let got: Telemetry = serde_json::from_value(doc["telemetry"].clone()).unwrap();
        let want = Telemetry {
            title: Some(preset.title.clone()),
            ..scenario.expected(FRAME)
        };
        let wrong = differences(&got, &want);
        assert!(wrong.is_empty(), "{game}: {wrong:#?}");
        end(bridge, standin, &dir);
    }
}

/// The kinds of update protocol of `preset`'s pages, in words.
fn protocols(preset: &Preset) -> Vec<String> {
    let family = titles::of_preset(preset).unwrap();
    let mut kinds: Vec<String> = preset
        .specs()
        .unwrap()
        .iter()
        .filter_map(|s| family.page(s.file_name()))
        .map(|p| {
            format!("{:?}", p.protocol)
                .split([' ', '{'])
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

#[test]
fn torn_writes_never_reach_the_json() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // One title for each kind of protocol: more would only take longer.
    let mut covered: Vec<String> = Vec::new();
    for (preset, scenario) in titles() {
        let kinds = protocols(&preset);
        if kinds.iter().all(|k| covered.contains(k)) {
            continue;
        }
        covered.extend(kinds);
        let game = key(&preset);
        let dir = ShmDir::new();
        // The game and the reader on CPUs of their own: a counter written
        // last (AC's) cannot tell a writer taken off its CPU between its
        // fields and its counter for longer than the reader's pause.
        let (bridge, mut standin) =
            bridge_and_game(&game, &dir, &["--torn", "--rate", "250"], Some("1"));
        standin.expect_line("frames at 250 Hz", TIMEOUT);
        let mut watch = Command::new("taskset")
            .args([
                "-c",
                "0",
                SHM_BRIDGE,
                "watch",
                "--json",
                "--rate",
                "2000",
                "--seconds",
                "120",
            ])
            // Only the pages the family decodes are read (and written).
            .args(["--game", &game, "--tmpfs", &dir.arg()])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut checked = 0;
        let mut frames = std::collections::BTreeSet::new();
        let reader = std::io::BufReader::new(watch.stdout.take().unwrap());
        for line in std::io::BufRead::lines(reader) {
            let doc: Value = serde_json::from_str(&line.unwrap()).unwrap();
            let Some(pages) = doc["pages"].as_object() else {
                continue;
            };
            for (label, page) in pages {
                scenario
                    .check_page(label, page)
                    .unwrap_or_else(|e| panic!("{game}, sample {checked}: {e}"));
            }
            if let Some(update) = doc["telemetry"]["update"].as_i64() {
                frames.insert(update);
            }
            checked += 1;
            if checked == TORN_SAMPLES {
                break;
            }
        }
        let _ = watch.kill();
        let _ = watch.wait();
        assert_eq!(checked, TORN_SAMPLES, "{game}: watch ended early");
        // The samples saw the game move, not one frame over and over.
        assert!(frames.len() > 100, "{game}: {} frames seen", frames.len());
        end(bridge, standin, &dir);
    }
    assert!(covered.contains(&"CounterAfter".to_owned()), "{covered:?}");
}
