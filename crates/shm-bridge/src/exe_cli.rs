//! The bridge exe's command line, as users of the original shm-bridge know
//! it. Pure parsing, so it is built (and tested, and fuzzed) on every OS.

use clap::{ArgAction, Parser};

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
    /// Mapping name(s); several may follow one flag. A leading `Local\` or
    /// `Global\` selects the Windows namespace and is not part of the file name.
    #[arg(short = 'm', long = "map", value_name = "NAME", num_args = 1.., action = ArgAction::Append)]
    pub maps: Vec<String>,

    /// Size(s) in bytes, one per --map, in the same order. Optional for
    /// files that already exist in the tmpfs (made by a Linux program).
    #[arg(short = 's', long = "size", value_name = "BYTES", num_args = 1..,
          action = ArgAction::Append, allow_negative_numbers = true)]
    pub sizes: Vec<String>,

    /// Take the mappings of a known title (see --list-games).
    #[arg(short = 'g', long, value_name = "TITLE")]
    pub game: Option<String>,

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
    #[arg(long, value_name = "OCTAL", default_value = "600", value_parser = parse_mode)]
    pub mode: u32,

    /// A program to start once the mappings exist (wrapper mode); the bridge
    /// waits for it, removes what it created and exits with its exit code.
    #[arg(last = true, value_name = "GAME.exe [ARGS]")]
    pub command: Vec<String>,
}

/// An octal file mode such as 600 or 0644, with no bits beyond 0777.
fn parse_mode(text: &str) -> Result<u32, String> {
    u32::from_str_radix(text, 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| format!("{text:?} is not an octal file mode such as 600 or 644"))
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
        assert_eq!(cli.maps, ["a", "b", "c"]);
        assert_eq!(cli.sizes, ["1", "2", "3"]);
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
