//! Finding the Windows game in a launch command, and putting the bridge
//! exe in front of it.
//!
//! Steam runs a Proton game as a chain of wrappers ending in
//! `.../proton waitforexitandrun GAME.exe ARGS`, possibly behind `reaper`,
//! `steam-launch-wrapper` and the Steam Linux Runtime's entry point
//! (`_v2-entry-point --verb=waitforexitandrun --`). Lutris, Heroic and a
//! shell run `wine GAME.exe ARGS`. In both, the bridge goes right before
//! the game's exe, so it runs in the same prefix, wineserver and sync
//! mode, and starts the game itself (its wrapper mode).

use anyhow::{Result, bail};

/// Proton verbs that run a program.
const PROTON_VERBS: [&str; 3] = ["waitforexitandrun", "run", "runinprefix"];
/// Names of Wine launchers.
const WINE_LAUNCHERS: [&str; 5] = [
    "wine",
    "wine64",
    "wine-stable",
    "wine-staging",
    "wine-development",
];

fn basename(arg: &str) -> &str {
    arg.rsplit('/').next().unwrap_or(arg)
}

fn is_windows_program(arg: &str) -> bool {
    let lower = arg.to_ascii_lowercase();
    lower.ends_with(".exe") || lower.ends_with(".bat") || lower.ends_with(".msi")
}

/// How the game is launched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launcher {
    /// Through Proton's `proton VERB GAME.exe`.
    Proton,
    /// Through `wine GAME.exe`.
    Wine,
    /// Only a `.exe` was recognised.
    Other,
}

/// The index of the game's exe in `args`, and how it is launched.
pub fn find_game(args: &[String]) -> Result<(usize, Launcher)> {
    for (i, arg) in args.iter().enumerate() {
        if basename(arg) == "proton"
            && args
                .get(i + 1)
                .is_some_and(|v| PROTON_VERBS.contains(&v.as_str()))
            && args.get(i + 2).is_some_and(|exe| is_windows_program(exe))
        {
            return Ok((i + 2, Launcher::Proton));
        }
    }
    for (i, arg) in args.iter().enumerate() {
        if WINE_LAUNCHERS.contains(&basename(arg)) {
            // Wine's own options (none take a value we need) come before the program.
            if let Some(j) = (i + 1..args.len()).find(|&j| !args[j].starts_with('-'))
                && is_windows_program(&args[j])
            {
                return Ok((j, Launcher::Wine));
            }
        }
    }
    if let Some(i) = args.iter().position(|a| is_windows_program(a)) {
        return Ok((i, Launcher::Other));
    }
    bail!(
        "found no Windows program (.exe) in the command {:?}; `launch` expects Steam's \
         %command% (… proton waitforexitandrun GAME.exe) or `wine GAME.exe`",
        args.join(" ")
    )
}

/// `args` with `bridge` (the exe and its options, ending in `--`) inserted
/// before the game's exe at `at`.
pub fn insert_bridge(args: &[String], at: usize, bridge: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len() + bridge.len());
    out.extend_from_slice(&args[..at]);
    out.extend_from_slice(bridge);
    out.extend_from_slice(&args[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn finds_the_game_in_a_steam_command() {
        let cmd = v(
            "/home/u/.local/share/Steam/ubuntu12_32/reaper SteamLaunch AppId=805550 -- \
             /home/u/.local/share/Steam/ubuntu12_32/steam-launch-wrapper -- \
             /home/u/.local/share/Steam/steamapps/common/SteamLinuxRuntime_sniper/_v2-entry-point \
             --verb=waitforexitandrun -- /home/u/.local/share/Steam/steamapps/common/Proton-9.0/proton \
             waitforexitandrun /games/acc/AC2/Binaries/Win64/AC2-Win64-Shipping.exe -dx11",
        );
        let (i, launcher) = find_game(&cmd).unwrap();
        assert_eq!(launcher, Launcher::Proton);
        assert!(cmd[i].ends_with("AC2-Win64-Shipping.exe"));
        let bridged = insert_bridge(&cmd, i, &v("/x/shm-bridge.exe --game acc --"));
        assert_eq!(
            &bridged[i - 1..i + 5],
            &v(
                "waitforexitandrun /x/shm-bridge.exe --game acc -- /games/acc/AC2/Binaries/Win64/AC2-Win64-Shipping.exe"
            )[..]
        );
        assert_eq!(bridged.last().unwrap(), "-dx11");
    }

    #[test]
    fn finds_the_game_in_a_wine_command() {
        let cmd = v("env WINEPREFIX=/p /usr/bin/wine C:\\Games\\rf2\\rFactor2.exe +fullscreen");
        assert_eq!(find_game(&cmd).unwrap(), (3, Launcher::Wine));
        let odd = v("gamemoderun mystery-launcher Game.EXE");
        assert_eq!(find_game(&odd).unwrap(), (2, Launcher::Other));
    }

    #[test]
    fn a_command_without_an_exe_is_an_error() {
        let err = find_game(&v("/usr/bin/glxgears -fullscreen")).unwrap_err();
        assert!(
            err.to_string().contains("found no Windows program"),
            "{err}"
        );
        assert!(find_game(&[]).is_err());
    }
}
