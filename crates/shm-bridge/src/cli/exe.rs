//! The bridge exe's command line, as users of the original shm-bridge know
//! it. Pure parsing, so it is built (and tested, and fuzzed) on every OS.

use clap::Parser;

use super::maps::MapArgs;
use super::values;

/// Creates a game's named shared memory inside its Wine/Proton prefix,
/// backed by files on a Linux tmpfs, so Linux programs can map the pages
/// the game writes. Run it before the game, in the game's prefix.
#[derive(Debug, Parser)]
#[command(
    name = "shm-bridge.exe",
    version,
    after_help = "Examples:\n  \
        shm-bridge.exe --game acc\n  \
        shm-bridge.exe -m acpmf_crewchief acpmf_static acpmf_physics acpmf_graphics -s 15660 2048 2048 2048\n  \
        shm-bridge.exe --map Local\\SCSTelemetry --size 32768\n  \
        shm-bridge.exe --game acc -- C:\\Games\\acc.exe   (start the game, remove everything when it exits)"
)]
pub struct Cli {
    /// The mappings: a title, or names and sizes.
    #[command(flatten)]
    pub maps: MapArgs,

    /// Print the known titles and their mappings, and exit.
    #[arg(long)]
    pub list_games: bool,

    /// Remove the files an earlier run left behind for these mappings, and exit.
    #[arg(long = "clean-up")]
    pub clean_up: bool,

    /// The tmpfs directory for the files, as a Linux path (or a Windows one).
    #[arg(long, value_name = "DIR", default_value = "/dev/shm")]
    pub tmpfs: String,

    /// Permission bits of the files created, in octal. The default lets only
    /// you read them; 644 lets a reader running as another user read them too.
    #[arg(long, value_name = "OCTAL", default_value = "600", value_parser = values::mode)]
    pub mode: u32,

    /// A program to start once the mappings exist (wrapper mode); the bridge
    /// waits for it, removes what it created and exits with its exit code.
    #[arg(last = true, value_name = "GAME.exe [ARGS]")]
    pub command: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("shm-bridge.exe").chain(args.iter().copied()))
    }

    #[test]
    fn both_flag_forms_and_wrapper_mode_parse() {
        let cli = parse(&["-m", "a", "b", "-s", "1", "2", "--map", "c", "--size", "3"]).unwrap();
        assert_eq!(cli.maps.maps, ["a", "b", "c"]);
        assert_eq!(cli.maps.sizes, ["1", "2", "3"]);
        let cli = parse(&["--game", "acc", "--", "game.exe", "-windowed", "--x"]).unwrap();
        assert_eq!(cli.command, ["game.exe", "-windowed", "--x"]);
        assert_eq!(cli.mode, 0o600);
        assert_eq!(parse(&["--mode", "0644"]).unwrap().mode, 0o644);
    }

    #[test]
    fn missing_values_and_bad_modes_are_errors() {
        for bad in [
            &["-m"][..],
            &["-m", "a", "-s"],
            &["--game"],
            &["--mode", "8"],
            &["--mode", "1777"],
            &["--tmpfs"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
