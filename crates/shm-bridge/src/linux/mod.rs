//! The Linux companion: launches the bridge exe in a game's prefix, shows
//! what is bridged, decodes live telemetry, cleans up, and demonstrates.

mod cli;
mod command;
mod container;
mod gamecmd;
mod locate;
mod maps;
mod procmaps;
mod telemetry;
mod tmpfs;
mod tui;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

/// Parses a command line as `main` does, for the fuzz target.
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz_cli(args: &[String]) {
    let _ = Cli::try_parse_from(args);
}

/// Runs the companion; errors are printed with their causes and exit with 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Launch(args) => command::launch::run(args),
        Command::List(args) => command::list::run(args),
        Command::Watch(args) => command::watch::run(args),
        Command::Clean(args) => command::clean::run(args),
        Command::Demo(args) => command::demo::run(args),
        Command::Doctor(args) => command::doctor::run(args),
        Command::Games(args) => command::games::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("shm-bridge: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
