//! `shm-bridge watch` reading what a game writes: the real bridge exe
//! under Wine in wrapper mode, running the sim stand-in in its `acc` mode
//! (ACC's three pages, every value a function of the packet id), and the
//! Linux `watch` decoding the pages from the tmpfs. Also what `watch` says
//! without a bridge, on raw titles, and on bad input (no Wine needed).
#![cfg(target_os = "linux")]

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use shm_bridge::titles::ac::{self as acc, Graphics, Physics, Static};
use shm_tests::wait_for;
use shm_tests::wine::{self, Running, ShmDir};
use shmem::PosixShMem;

const SHM_BRIDGE: &str = env!("CARGO_BIN_EXE_shm-bridge");
const START: Duration = Duration::from_secs(60);

/// The `acpmf_*` names are global in the tests' shared Wine prefix: one
/// stand-in at a time.
static ACC_NAMES: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    ACC_NAMES.lock().unwrap_or_else(|e| e.into_inner())
}

/// The bridge for ACC in `dir`, running the stand-in for `seconds`; returns
/// once the stand-in writes into the bridged pages.
fn acc_session(dir: &ShmDir, seconds: u32) -> Running {
    let standin = wine::exe("sim-standin");
    let mut bridge = Running::spawn(wine::command(&wine::exe("shm-bridge")).args([
        "--game",
        "acc",
        "--tmpfs",
        &dir.arg(),
        "--",
        &standin.display().to_string(),
        "acc",
        "--seconds",
        &seconds.to_string(),
    ]));
    for page in ["physics", "graphics", "static"] {
        bridge.expect_line(
            &format!("mapping Local\\acpmf_{page}: already existed (bridged)"),
            START,
        );
    }
    bridge.expect_line("static page written: porsche_992_gt3_r at spa", START);
    bridge.expect_line("writing physics and graphics at 60 Hz", START);
    bridge
}

/// The stand-in ends by itself; the bridge passes its exit code on and
/// removes what it made.
fn finish(mut bridge: Running, dir: &ShmDir) {
    assert_eq!(bridge.wait_exit(START), Some(0), "{}", bridge.output());
    assert_eq!(dir.entries(), Vec::<String>::new(), "left behind");
}

fn watch(args: &[&str]) -> (Option<i32>, String, String) {
    wine::run(Command::new(SHM_BRIDGE).arg("watch").args(args))
}

/// `watch --once --json` in `dir`, parsed.
fn once_json(dir: &ShmDir, game: &str) -> Value {
    let (code, out, err) = watch(&["--game", game, "--tmpfs", &dir.arg(), "--once", "--json"]);
    assert_eq!(code, Some(0), "watch failed: {err}");
    assert_eq!(out.lines().count(), 1, "one JSON object on one line: {out}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

fn page<T: serde::de::DeserializeOwned>(sample: &Value, key: &str) -> T {
    serde_json::from_value(sample["pages"][key].clone())
        .unwrap_or_else(|e| panic!("{key} does not decode ({e}): {sample}"))
}

/// The decoded pages are exactly what the stand-in wrote for their packet ids.
fn check_acc_sample(sample: &Value) -> (i32, i32) {
    assert_eq!(sample["game"], "Assetto Corsa Competizione");
    let physics: Physics = page(sample, "physics");
    let graphics: Graphics = page(sample, "graphics");
    let statics: Static = page(sample, "static");
    assert!(physics.packet_id > 0, "the stand-in has written: {sample}");
    assert!(graphics.packet_id > 0, "the stand-in has written: {sample}");
    assert_eq!(physics, acc::synthetic::physics(physics.packet_id));
    assert_eq!(graphics, acc::synthetic::graphics(graphics.packet_id));
    assert_eq!(statics, acc::synthetic::statics());
    assert_eq!(statics.car_model, "porsche_992_gt3_r");
    assert_eq!(statics.track, "spa");
    (physics.packet_id, graphics.packet_id)
}

#[test]
fn once_json_holds_exactly_what_the_game_wrote_and_it_advances() {
    let _acc = one_at_a_time();
    let dir = ShmDir::new();
    let bridge = acc_session(&dir, 5);
    let (physics, graphics) = check_acc_sample(&once_json(&dir, "acc"));
    // Another spelling of the title, the same pages, and later packets: the
    // stand-in writes on, and each sample shows what it wrote last.
    let (physics2, graphics2) = wait_for("later packets in a new sample", START, || {
        let later = check_acc_sample(&once_json(&dir, "Assetto Corsa Competizione"));
        (later.0 > physics && later.1 > graphics).then_some(later)
    });
    assert!(physics2 > physics && graphics2 > graphics);
    finish(bridge, &dir);
}

/// `[  1.25s] 167.9 km/h  gear  3 ... (packet 251)`: (seconds, speed, packet).
fn time_speed_and_packet(line: &str) -> Option<(f64, String, i32)> {
    let time = line.strip_prefix('[')?.split("s] ").next()?.trim();
    let speed = line.split("] ").nth(1)?.split(" km/h").next()?.trim();
    let packet = line.split("(packet ").nth(1)?.trim_end_matches(')');
    Some((time.parse().ok()?, speed.to_owned(), packet.parse().ok()?))
}

#[test]
fn piped_watch_prints_a_live_line_several_times_a_second() {
    let _acc = one_at_a_time();
    let dir = ShmDir::new();
    let bridge = acc_session(&dir, 6);
    let (code, out, err) = watch(&["--game", "acc", "--tmpfs", &dir.arg(), "--seconds", "2"]);
    assert_eq!(code, Some(0), "{err}");
    let mut times = Vec::new();
    let mut packets = Vec::new();
    for line in out.lines() {
        let (time, speed, packet) = time_speed_and_packet(line)
            .unwrap_or_else(|| panic!("no time, speed or packet in {line:?}"));
        let wrote = acc::synthetic::physics(packet);
        assert_eq!(speed, format!("{:.1}", wrote.speed_kmh), "{line}");
        assert!(line.contains(&format!("{} rpm", wrote.rpm)), "{line}");
        assert!(line.contains("porsche_992_gt3_r @ spa"), "{line}");
        times.push(time);
        packets.push(packet);
    }
    // The lines' own times: from the start to the end of the 2 s, at a rate
    // of four a second (measured on them, so a slow machine cannot fail it).
    let (first, last) = (times[0], times[times.len() - 1]);
    assert!(first < 1.0 && last >= 2.0, "the 2 s covered: {times:?}");
    assert!(
        times.windows(2).all(|w| w[1] >= w[0]),
        "in order: {times:?}"
    );
    let rate = (times.len() - 1) as f64 / (last - first);
    assert!(
        (2.0..=8.0).contains(&rate),
        "four lines a second, not {rate:.1}: {times:?}"
    );
    // What the stand-in wrote moves on under the watch.
    assert!(
        packets.windows(2).all(|w| w[1] >= w[0]) && packets[packets.len() - 1] > packets[0],
        "no line older than the last, and newer packets by the end: {packets:?}"
    );
    finish(bridge, &dir);
}

#[test]
fn a_live_watch_waits_for_the_pages_and_picks_them_up() {
    let _acc = one_at_a_time();
    let dir = ShmDir::new();
    let mut watching = Running::spawn(Command::new(SHM_BRIDGE).args([
        "watch",
        "--game",
        "acc",
        "--tmpfs",
        &dir.arg(),
        "--seconds",
        "120",
    ]));
    watching.expect_line(
        &format!(
            "waiting for acpmf_physics, acpmf_graphics, acpmf_static in {}...",
            dir.arg()
        ),
        START,
    );
    let bridge = acc_session(&dir, 3);
    let line = watching.expect_line("porsche_992_gt3_r @ spa", START);
    let (_, speed, packet) = time_speed_and_packet(&line).unwrap();
    assert_eq!(
        speed,
        format!("{:.1}", acc::synthetic::physics(packet).speed_kmh)
    );
    finish(bridge, &dir);
    // The files went with the bridge: back to waiting.
    watching.expect_line("waiting for acpmf_physics", START);
}

#[test]
fn once_without_a_bridge_fails_naming_the_file() {
    let dir = ShmDir::new();
    let (code, out, err) = watch(&["--game", "acc", "--tmpfs", &dir.arg(), "--once", "--json"]);
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(out, "", "nothing on stdout for scripts to misread");
    let file = dir.path.join("acpmf_physics");
    assert!(
        err.contains(&format!("{} does not exist", file.display())),
        "{err}"
    );
    assert!(err.contains("is shm-bridge running?"), "{err}");
    // Told to wait, it waits that long, then says the same.
    let started = std::time::Instant::now();
    let (code, _, err) = watch(&[
        "--game",
        "acc",
        "--tmpfs",
        &dir.arg(),
        "--once",
        "--seconds",
        "0.5",
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("does not exist"), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(500));
}

#[test]
fn acc_pages_written_by_a_linux_program_decode_by_name() {
    let dir = ShmDir::new();
    let page_of = |name: &str, encode: &dyn Fn(&mut [u8])| {
        let mem = PosixShMem::create_in(&dir.path, name, 2048, 0o600).unwrap();
        let mut bytes = vec![0; 2048];
        encode(&mut bytes);
        mem.copy_from_slice(&bytes);
        mem
    };
    let _pages = [
        page_of(acc::PHYSICS, &|b| acc::synthetic::physics(4242).encode(b)),
        page_of(acc::GRAPHICS, &|b| acc::synthetic::graphics(4242).encode(b)),
        page_of(acc::STATIC, &|b| acc::synthetic::statics().encode(b)),
    ];
    let (code, out, err) = watch(&[
        "--map",
        "acpmf_static",
        "Local\\acpmf_physics",
        "acpmf_graphics",
        "--tmpfs",
        &dir.arg(),
        "--once",
        "--json",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let sample: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        page::<Physics>(&sample, "physics"),
        acc::synthetic::physics(4242)
    );
    assert_eq!(
        page::<Graphics>(&sample, "graphics"),
        acc::synthetic::graphics(4242)
    );
    assert_eq!(page::<Static>(&sample, "static").track, "spa");
    // The same as text, for people.
    let (code, out, err) = watch(&[
        "--map",
        "acpmf_physics",
        "acpmf_graphics",
        "acpmf_static",
        "--tmpfs",
        &dir.arg(),
        "--once",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let p = acc::synthetic::physics(4242);
    for expected in [
        "car       porsche_992_gt3_r at spa".to_owned(),
        format!(
            "{:.1} km/h, gear {}, {} rpm of 9250",
            p.speed_kmh,
            p.gear_label(),
            p.rpm
        ),
        "packets   physics 4242, graphics 4242".to_owned(),
    ] {
        assert!(out.contains(&expected), "{expected:?} missing from:\n{out}");
    }
}

#[test]
fn without_a_title_watch_finds_the_bridged_one() {
    let dir = ShmDir::new();
    let page_of =
        |name: &str, size: usize| PosixShMem::create_in(&dir.path, name, size, 0o600).unwrap();
    let physics = page_of(acc::PHYSICS, 2048);
    let mut bytes = vec![0; 2048];
    acc::synthetic::physics(77).encode(&mut bytes);
    physics.copy_from_slice(&bytes);
    let _graphics = page_of(acc::GRAPHICS, 2048);
    let _statics = page_of(acc::STATIC, 2048);
    let found = || watch(&["--tmpfs", &dir.arg(), "--once", "--json"]);

    // ACC and AC Rally have the same three pages: both are named.
    let (code, out, err) = found();
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("Watching Assetto Corsa Competizione / Assetto Corsa Rally"),
        "{err}"
    );
    let sample: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        page::<Physics>(&sample, "physics"),
        acc::synthetic::physics(77)
    );

    // AC's further pages make it AC's.
    let crewchief = page_of("acpmf_crewchief", 16000);
    let simhub = page_of("acpmf_simhub_v2", 30252);
    let (code, _, err) = found();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("Watching Assetto Corsa: "), "{err}");
    drop((crewchief, simhub));

    // Two titles with different pages bridged at once: the user picks.
    let _r3e = page_of("$R3E", 64000);
    let (code, out, err) = found();
    assert_eq!(code, Some(1), "{out}");
    assert!(err.contains("fit several titles"), "{err}");
    assert!(err.contains("RaceRoom Racing Experience"), "{err}");
    assert!(err.contains("give --game TITLE"), "{err}");
}

#[test]
fn raw_titles_show_their_bytes_in_hex_and_whether_they_change() {
    let dir = ShmDir::new();
    let still = PosixShMem::create_in(&dir.path, "still", 40, 0o600).unwrap();
    let moving = PosixShMem::create_in(&dir.path, "moving", 16, 0o600).unwrap();
    let pattern: Vec<u8> = (0..40).collect();
    still.copy_from_slice(&pattern);
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut n = 0u8;
            while !stop.load(Ordering::Relaxed) {
                n = n.wrapping_add(1);
                moving.store(0, n);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let result = watch(&[
            "--map",
            "still",
            "moving",
            "--tmpfs",
            &dir.arg(),
            "--once",
            "--json",
        ]);
        stop.store(true, Ordering::Relaxed);
        let (code, out, err) = result;
        assert_eq!(code, Some(0), "{err}");
        let sample: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(sample["game"], "still, moving");
        let still_json = &sample["maps"]["still"];
        assert_eq!(
            still_json["hex"],
            pattern
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        assert_eq!(still_json["size"], 40);
        assert_eq!(still_json["changed"], 0);
        assert_eq!(still_json["consistent"], true);
        assert!(
            sample["maps"]["moving"]["changed"].as_u64().unwrap() >= 1,
            "{out}"
        );
        assert!(sample.get("pages").is_none(), "{out}");
    });
    // As text: a hex dump.
    let (code, out, err) = watch(&["--map", "still", "--tmpfs", &dir.arg(), "--once"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("00000000  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f"),
        "{out}"
    );
    assert!(out.contains("40 bytes, still"), "{out}");
}

#[test]
fn bad_input_gets_a_clear_message_and_a_failure_code() {
    let dir = ShmDir::new();
    let tmpfs = dir.arg();
    let presets = dir.path.join("bad-presets.toml");
    std::fs::write(&presets, "[[game]\ntitle = ").unwrap();
    let presets = presets.display().to_string();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--game", "Gran Turismo 7"],
            "unknown game \"Gran Turismo 7\"; `shm-bridge games` shows the known titles",
        ),
        (&["--map", "a/b"], "--map \"a/b\""),
        (&["--map", "x..y"], "'..'"),
        (&[], "No known title's mappings are in"),
        (&["--map", "a", "--size", "10"], "drop --size"),
        (
            &["--game", "acc", "--seconds=-1"],
            "invalid value '-1' for '--seconds <SECONDS>'",
        ),
        (
            &["--game", "acc", "--seconds", "NaN"],
            "invalid value 'NaN' for '--seconds <SECONDS>'",
        ),
        (
            &["--game", "acc", "--seconds", "soon"],
            "invalid value 'soon'",
        ),
        (
            &["--game", "acc", "--seconds", "1e30"],
            "is not a number of seconds from 0 to 31536000 (a year)",
        ),
        (&["--game"], "a value is required"),
        (
            &["--game", "acc", "--presets", &presets],
            "bad-presets.toml",
        ),
    ];
    for (args, expected) in cases {
        let (code, out, err) = watch(&[args, &["--tmpfs", &tmpfs, "--once"][..]].concat());
        assert!(
            code.is_some_and(|c| c != 0),
            "{args:?} exited {code:?}: {out}"
        );
        assert!(
            err.contains(expected),
            "{args:?}: expected {expected:?} in: {err}"
        );
    }
    let (code, _, err) = watch(&["--game", "acc", "--tmpfs", "/nonexistent/dir", "--once"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("--tmpfs /nonexistent/dir"), "{err}");
}
