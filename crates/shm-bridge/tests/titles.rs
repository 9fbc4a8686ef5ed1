//! Each title added or changed in the presets, bridged for a game stand-in
//! under real Wine that creates its pages as that game does (its names, at
//! the sizes of its own views): every page it creates already exists
//! (bridged), is the file in the tmpfs at the preset's size, and holds what
//! the game wrote; the truck simulators' page is also where Linux readers
//! look for it.
#![cfg(target_os = "linux")]

use std::time::Duration;

use shm_tests::wine::{self, Running, ShmDir};

const TIMEOUT: Duration = Duration::from_secs(60);

/// Bridges `game` in wrapper mode for the stand-in creating `pages` (name,
/// the game's view size, the preset's size), and checks what Linux sees.
fn bridge_title(game: &str, pages: &[(&str, usize, u64)]) {
    let dir = ShmDir::new();
    let standin = wine::exe("sim-standin").display().to_string();
    let mut args = vec![
        "--game".to_owned(),
        game.to_owned(),
        "--tmpfs".to_owned(),
        dir.arg(),
        "--".to_owned(),
        standin,
        "pages".to_owned(),
        "--hold".to_owned(),
        "3".to_owned(),
    ];
    args.extend(pages.iter().map(|(name, size, _)| format!("{name}:{size}")));
    let mut run = Running::spawn(wine::command(&wine::exe("shm-bridge")).args(&args));
    run.expect_line("wrote", TIMEOUT);
    let out = run.output();
    for (at, (name, _, preset_size)) in pages.iter().enumerate() {
        assert!(
            out.contains(&format!("mapping {name}: already existed (bridged)")),
            "{name}: {out}"
        );
        let file = dir.path.join(name.rsplit('\\').next().unwrap_or(name));
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(bytes.len() as u64, *preset_size, "{name}");
        let written = i32::from_le_bytes(bytes[..4].try_into().unwrap());
        assert_eq!(written, 1000 + at as i32, "{name}: what the game wrote");
    }
    // The game exits; the bridge with it, taking its files.
    assert_eq!(run.wait_exit(TIMEOUT), Some(0), "{}", run.output());
    assert!(dir.entries().is_empty(), "{game}: {:?}", dir.entries());
}

#[test]
fn ac_evo_since_0_6() {
    bridge_title(
        "acevo",
        &[
            ("Local\\acevo_pmf_physics", 800, 800),
            ("Local\\acevo_pmf_graphics", 3944, 4900),
            ("Local\\acevo_pmf_static", 256, 256),
        ],
    );
}

#[test]
fn iracing() {
    bridge_title(
        "iracing",
        &[("Local\\IRSDKMemMapFileName", 1_191_936, 1_191_936)],
    );
}

#[test]
fn rfactor_and_automobilista() {
    for game in ["rf1", "ams1"] {
        bridge_title(game, &[("$rFactorShared$", 11_367, 11_367)]);
    }
}

#[test]
fn rfactor_2s_control_buffers() {
    bridge_title(
        "rf2",
        &[
            ("$rFactor2SMMP_Telemetry$", 241_680, 250_000),
            ("$rFactor2SMMP_HWControl$", 116, 116),
            ("$rFactor2SMMP_WeatherControl$", 628, 628),
            ("$rFactor2SMMP_RulesControl$", 45_264, 45_264),
            ("$rFactor2SMMP_PluginControl$", 20, 20),
        ],
    );
}

#[test]
fn le_mans_ultimate_and_its_lock() {
    bridge_title(
        "lmu",
        &[
            ("LMU_Data", 324_820, 505_000),
            ("LMU_SharedMemoryLockData", 8, 8),
        ],
    );
}

/// The bridge for the truck simulator `game` and, through it, a stand-in
/// writing the telemetry page as the game's plugin does, once it wrote.
fn truck_game_bridged(dir: &ShmDir, game: &str) -> Running {
    let standin = wine::exe("sim-standin").display().to_string();
    let mut run = Running::spawn(wine::command(&wine::exe("shm-bridge")).args([
        "--game",
        game,
        "--tmpfs",
        &dir.arg(),
        "--",
        &standin,
        "pages",
        "--hold",
        "3",
        "Local\\SCSTelemetry:21619",
    ]));
    run.expect_line("wrote", TIMEOUT);
    run
}

#[test]
fn truck_simulators_also_where_linux_readers_look() {
    let dir = ShmDir::new();
    let mut run = truck_game_bridged(&dir, "ets2");
    // Where the bridge always put it, and where simapi and the native
    // plugin look: the same page.
    let here = std::fs::read(dir.path.join("SCSTelemetry")).unwrap();
    let there = std::fs::read(dir.path.join("SCS/SCSTelemetry")).unwrap();
    assert_eq!(here.len(), 32768);
    assert_eq!(here, there);
    assert_eq!(i32::from_le_bytes(there[..4].try_into().unwrap()), 1000);
    assert_eq!(run.wait_exit(TIMEOUT), Some(0), "{}", run.output());
    assert!(dir.entries().is_empty(), "{:?}", dir.entries());
}

#[test]
fn clean_removes_the_second_path_a_killed_bridge_left() {
    let dir = ShmDir::new();
    let mut run = truck_game_bridged(&dir, "ats");
    run.signal(rustix::process::Signal::KILL);
    run.wait_exit(TIMEOUT);
    assert!(
        dir.path.join("SCS/SCSTelemetry").exists(),
        "{:?}",
        dir.entries()
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shm-bridge"))
        .args(["clean", "--force", "--game", "ats", "--tmpfs", &dir.arg()])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("removed"), "{said}");
    assert!(dir.entries().is_empty(), "{:?}", dir.entries());
}
