//! The Linux companion: launches the bridge exe in a game's prefix, shows
//! what is bridged, decodes live telemetry, cleans up, and demonstrates.

/// `println!` that returns the error of a closed or failing stdout instead
/// of panicking: `shm-bridge games | head -1` must end quietly.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

/// `eprintln!` that carries on when stderr is gone: a message no one can
/// read is no reason to stop a game or lose a clean-up.
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

mod command;
mod container;
mod escape;
mod flatpak;
mod gamecmd;
mod locate;
mod places;
mod presets_file;
mod procmaps;
mod tmpfs;
mod untrusted;

mod watch;
mod xdg;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::companion::{Cli, Command};

/// Runs the companion; errors are printed with their causes and exit with 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Launch(args) => command::launch::run(args),
        Command::List(args) => command::list::run(args),
        Command::Watch(args) => watch::run(args),
        Command::Record(args) => command::record::run(args),
        Command::Serve(args) => command::serve::run(args),
        Command::Clean(args) => command::clean::run(args),
        Command::Demo(args) => command::demo::run(args),
        Command::Attach(args) => command::attach::run(args),
        Command::Doctor(args) => command::doctor::run(args),
        Command::Games(args) => command::games::run(args),
    };
    match result {
        Ok(code) => code,
        // `shm-bridge list | head -1`: the reader has seen enough.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            note!("shm-bridge: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Whether `e` comes from writing to a pipe whose reader has gone.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
