//! The Linux companion against input meant to break it: sizes and times
//! past what the arithmetic holds, pages holding extreme values, a closed
//! stderr, presets files huge or clashing. Each is refused with a message
//! or handled, never a panic, in debug builds too.
#![cfg(target_os = "linux")]

mod hostile;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use hostile::*;
use shm_bridge::titles::ac::synthetic;
use shm_tests::wine::ShmDir;

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

/// ACC's pages holding values at the ends of their range, in a new dir.
fn extreme_pages() -> ShmDir {
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
    dir
}

/// A time past what a clock holds is refused with its range, before
/// anything is watched (it once overflowed the deadline, a panic).
#[test]
fn watch_seconds_past_a_clock_are_refused() {
    let dir = extreme_pages();
    for seconds in ["1e19", "18446744073709551616", "inf"] {
        let ran = run_within(
            &mut companion(&[
                "watch",
                "--game",
                "acc",
                "--tmpfs",
                &dir.arg(),
                "--seconds",
                seconds,
            ]),
            PATIENCE,
        );
        ran.assert_exit(2, &format!("watch --seconds {seconds}"));
        assert!(ran.err.contains("a year"), "{}", ran.err);
    }
}

/// Pages holding gear `i32::MIN`, completed laps `i32::MAX` and such are
/// shown in every text view, never a panic in a debug build (the decoder
/// once added and subtracted unchecked).
#[test]
fn pages_with_extreme_values_are_shown_never_a_panic() {
    let dir = extreme_pages();
    let d = dir.arg();
    let json = run_within(
        &mut companion(&["watch", "--game", "acc", "--once", "--json", "--tmpfs", &d]),
        PATIENCE,
    );
    json.assert_exit(0, "watch --once --json");
    let v: serde_json::Value = serde_json::from_slice(&json.out).expect("JSON");
    assert_eq!(v["pages"]["physics"]["gear"], i32::MIN);
    assert_eq!(v["pages"]["graphics"]["completed_laps"], i32::MAX);
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
