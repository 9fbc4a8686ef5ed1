//! `shm-bridge doctor` says what is missing; `games` and the other commands
//! read the user's own presets from the XDG config directory.
#![cfg(target_os = "linux")]

use std::process::Command;

use shm_tests::wine::{self, ShmDir};

const SHM_BRIDGE: &str = env!("CARGO_BIN_EXE_shm-bridge");

/// A home directory of the test's own, for XDG paths.
struct Home(std::path::PathBuf);

impl Home {
    fn new() -> Home {
        let path = std::env::temp_dir().join(format!("shm-test-home-{}", shm_tests::nonce()));
        std::fs::create_dir_all(path.join(".config/shm-bridge")).unwrap();
        Home(path)
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The companion with `home` as the home directory, and no flatpak
/// installation but the user's in it (a machine's own Flatpak Steam would
/// change what doctor says).
fn companion(home: &Home, args: &[&str]) -> Command {
    let mut c = Command::new(SHM_BRIDGE);
    c.args(args);
    in_home(&mut c, home);
    c
}

fn in_home<'c>(c: &'c mut Command, home: &Home) -> &'c mut Command {
    c.env("HOME", &home.0)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .env_remove("SHM_BRIDGE_EXE_DIR")
        .env_remove("FLATPAK_USER_DIR")
        .env("FLATPAK_SYSTEM_DIR", home.0.join("no-system-flatpak"))
}

#[test]
fn doctor_finds_the_windows_side_and_says_what_is_missing() {
    let home = Home::new();
    // From the build tree, the Windows side sits where doctor looks.
    let (code, out, err) = wine::run(&mut companion(&home, &["doctor"]));
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("ok       bridge exe"), "{out}");
    assert!(out.contains("ok       Steam's container: "), "{out}");
    assert!(out.contains("ok       tmpfs: /dev/shm"), "{out}");
    assert!(out.contains("launch --game TITLE -- %command%"), "{out}");

    // A copy of the binary far from any exe, and a tmpfs that is not one.
    let lonely = home.0.join("shm-bridge");
    // Copied by another process, so that no child forked by a concurrent
    // test inherits it open for writing (exec would fail with ETXTBSY).
    let copied = Command::new("install")
        .args(["-m", "0755", SHM_BRIDGE])
        .arg(&lonely)
        .status();
    assert!(copied.unwrap().success());
    let (code, out, _) = wine::run(in_home(
        Command::new(&lonely).args(["doctor", "--tmpfs", "/tmp"]),
        &home,
    ));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("MISSING  bridge exe: shm-bridge.exe not found"),
        "{out}"
    );
    assert!(out.contains("cargo xtask install"), "{out}");
    assert!(
        out.contains("MISSING  tmpfs: /tmp is not on a tmpfs"),
        "{out}"
    );

    // Installed where `cargo xtask install` puts it, it is found again.
    let data = home.0.join(".local/share/shm-bridge");
    std::fs::create_dir_all(&data).unwrap();
    for file in ["shm-bridge.exe", "sim-standin.exe", "bcryptprimitives.dll"] {
        std::fs::copy(wine::windows_dir().join(file), data.join(file)).unwrap();
    }
    let (code, out, _) = wine::run(in_home(Command::new(&lonely).arg("doctor"), &home));
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "ok       bridge exe: {}",
            data.join("shm-bridge.exe").display()
        )),
        "{out}"
    );
}

#[test]
fn doctor_reports_flatpak_steam_and_what_to_change() {
    let home = Home::new();
    let (_, out, _) = wine::run(&mut companion(&home, &["doctor"]));
    assert!(!out.contains("Flatpak"), "no Flatpak Steam here: {out}");

    // Its home, made by its first run (flatpak's `--persist=.`).
    let app_home = home.0.join(".var/app/com.valvesoftware.Steam");
    std::fs::create_dir_all(&app_home).unwrap();
    let (code, out, _) = wine::run(&mut companion(&home, &["doctor"]));
    assert_eq!(code, Some(1), "the program is not in its sandbox: {out}");
    assert!(
        out.contains(&format!(
            "ok       Flatpak Steam: {} (its home exists)",
            app_home.display()
        )),
        "{out}"
    );
    assert!(
        out.contains("note     Flatpak Steam's /dev/shm: its own directory, /dev/shm/flatpak-com.valvesoftware.Steam-XXXXXX")
            && out.contains("flatpak override --user --device=shm com.valvesoftware.Steam"),
        "{out}"
    );
    let prefix = app_home.join(".local");
    assert!(
        out.contains(&format!(
            "MISSING  shm-bridge in Flatpak Steam: the sandbox does not see your home's programs; \
             install them in its home with `cargo xtask install --prefix {}`",
            prefix.display()
        )),
        "{out}"
    );
    let program = prefix.join("bin/shm-bridge");
    assert!(
        out.contains(&format!(
            "Flatpak Steam's launch option (the same path inside its sandbox and out):\n  {} launch",
            program.display()
        )),
        "{out}"
    );

    // Installed as it says, and /dev/shm shared by a user override as
    // `flatpak override --user --device=shm` writes it.
    let data = prefix.join("share/shm-bridge");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(program.parent().unwrap()).unwrap();
    std::fs::copy(SHM_BRIDGE, &program).unwrap();
    std::fs::copy(
        wine::windows_dir().join("shm-bridge.exe"),
        data.join("shm-bridge.exe"),
    )
    .unwrap();
    let overrides = home.0.join(".local/share/flatpak/overrides");
    std::fs::create_dir_all(&overrides).unwrap();
    let user_override = overrides.join("com.valvesoftware.Steam");
    std::fs::write(&user_override, "[Context]\ndevices=shm;\n").unwrap();
    // The app's own override wins over the one for all apps.
    std::fs::write(overrides.join("global"), "[Context]\ndevices=!shm;\n").unwrap();
    let (code, out, _) = wine::run(&mut companion(&home, &["doctor"]));
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "ok       Flatpak Steam's /dev/shm: the host's, shared by the override in {} (--device=shm)",
            user_override.display()
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "ok       shm-bridge in Flatpak Steam: {} and the Windows side beside it",
            program.display()
        )),
        "{out}"
    );
    // `flatpak override --user --nodevice=shm` takes it back.
    std::fs::write(&user_override, "[Context]\ndevices=!shm;\n").unwrap();
    let (_, out, _) = wine::run(&mut companion(&home, &["doctor"]));
    assert!(
        out.contains("note     Flatpak Steam's /dev/shm: its own directory"),
        "{out}"
    );
}

#[test]
fn user_presets_in_the_xdg_config_dir_are_used_and_their_errors_named() {
    let home = Home::new();
    let file = home.0.join(".config/shm-bridge/presets.toml");
    std::fs::write(
        &file,
        "[[game]]\ntitle = \"My Sim\"\naliases = [\"mysim\"]\nmaps = [{ name = \"mysim_data\", size = 4096, source = \"me\" }]\n",
    )
    .unwrap();
    let (code, out, err) = wine::run(&mut companion(&home, &["games"]));
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("My Sim | mysim") && out.contains("mysim_data"),
        "{out}"
    );
    assert!(
        out.contains("Assetto Corsa Competizione"),
        "the built-in ones stay: {out}"
    );

    // The title works where titles are taken.
    let dir = ShmDir::new();
    std::fs::write(dir.path.join("mysim_data"), vec![0xABu8; 4096]).unwrap();
    let (code, out, err) = wine::run(&mut companion(
        &home,
        &[
            "watch",
            "--game",
            "mysim",
            "--once",
            "--json",
            "--tmpfs",
            &dir.arg(),
        ],
    ));
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("mysim_data"), "{out}");

    // A broken file is named, with its line.
    std::fs::write(
        &file,
        "[[game]]\ntitle = \"Broken\"\nmaps = [{ name = \"a/b\", size = 1, source = \"me\" }]\n",
    )
    .unwrap();
    let (code, _, err) = wine::run(&mut companion(&home, &["games"]));
    assert_eq!(code, Some(1));
    assert!(
        err.contains("presets.toml") && err.contains("\"Broken\"") && err.contains("'/'"),
        "{err}"
    );
    std::fs::write(&file, "[[game]\n").unwrap();
    let (code, _, err) = wine::run(&mut companion(&home, &["list", "--tmpfs", &dir.arg()]));
    assert_eq!(code, Some(1));
    assert!(
        err.contains("presets.toml") && err.contains("line 1"),
        "{err}"
    );
}
