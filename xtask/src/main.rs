//! Project tasks: `cargo xtask <task>`, one module per task.
//!
//! - `setup`: installs what a fresh Debian/Ubuntu machine lacks (Wine, the
//!   MinGW linker, bwrap for the tests, rustup targets), asking for nothing
//!   that is there.
//! - `build-windows`: builds the Windows programs and puts the
//!   bcryptprimitives shim beside them.
//! - `test`: setup, then every test: Linux, Windows under Wine, checks of
//!   the other OSes, lints, the library's checks (ThreadSanitizer, docs for
//!   every OS, the stub backend); fails if the tests left anything in `/dev/shm`,
//!   a SysV segment, a tmpfs mount or an installed copy behind.
//! - `test-wine10`: only the second run of `test`: the under-Wine tests on
//!   Debian trixie's Wine 10.0, in a chroot built on first use.
//! - `lint`, `fuzz [SECONDS]`: the lints and the fuzz targets of `test`.
//! - `demo [ARGS]`: setup, build, and run `shm-bridge demo ARGS`.
//! - `install [--prefix DIR]`: builds release binaries and installs them.
//! - `bench [--runs N] [--huge-pages]`: the benchmarks and their report.

mod bench;
mod demo;
mod fuzz;
mod install;
mod leftovers;
mod lint;
mod process;
mod setup;
mod shmem_checks;
mod test;
mod windows;
mod wine10;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Project tasks of shm-bridge"
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Install what is missing: Wine, the MinGW-w64 linker, bwrap, rustup targets.
    Setup,
    /// Build the Windows programs, with the bcryptprimitives shim beside them.
    BuildWindows,
    /// Run every test (Linux, Windows under Wine 8 and again under Wine 10,
    /// other OSes' builds, lints, fuzzing) and check that nothing was left behind.
    Test,
    /// Run the under-Wine tests on Debian trixie's Wine 10.0 only (root:
    /// builds its chroot under the target directory on first use).
    TestWine10,
    /// `cargo fmt --check` and clippy for every target the project builds.
    Lint,
    /// Run every fuzz target.
    Fuzz {
        /// How long each target runs.
        #[arg(value_name = "SECONDS", default_value_t = fuzz::SECONDS_CI)]
        seconds: u64,
    },
    /// Set up, build, and run `shm-bridge demo` with these arguments.
    Demo {
        /// Passed to `shm-bridge demo` as they are.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Build release binaries and install them: the program in ~/.local/bin,
    /// the Windows side in $XDG_DATA_HOME/shm-bridge (~/.local/share/shm-bridge).
    Install {
        /// Install in DIR/bin and DIR/share/shm-bridge instead.
        #[arg(long, value_name = "DIR")]
        prefix: Option<PathBuf>,
    },
    /// Run every benchmark N times and print the report of BENCHMARKS.md.
    Bench {
        /// How many runs.
        #[arg(long, value_name = "N", default_value_t = 3,
              value_parser = clap::value_parser!(u32).range(1..))]
        runs: u32,
        /// (root) Reserve 64 MiB of HugeTLB pages and let shared memory ask
        /// for transparent huge pages for the run; both are put back after.
        #[arg(long)]
        huge_pages: bool,
    },
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli.task) {
        eprintln!("xtask: error: {e:#}");
        std::process::exit(1);
    }
}

fn run(task: Task) -> Result<()> {
    match task {
        Task::Setup => setup::run(setup::Scope::Everything),
        Task::BuildWindows => windows::build(windows::Profile::Debug).map(drop),
        Task::Test => test::run(),
        Task::TestWine10 => test::run_wine10(),
        Task::Lint => lint::run(),
        Task::Fuzz { seconds } => fuzz::run(seconds),
        Task::Demo { args } => demo::run(&args),
        Task::Install { prefix } => install::run(prefix),
        Task::Bench { runs, huge_pages } => bench::run(runs, huge_pages),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Task, clap::Error> {
        Cli::try_parse_from(std::iter::once("xtask").chain(args.iter().copied())).map(|c| c.task)
    }

    /// Every invocation the README, CI and the developers use still parses.
    #[test]
    fn every_documented_invocation_parses() {
        assert!(matches!(parse(&["setup"]), Ok(Task::Setup)));
        assert!(matches!(parse(&["build-windows"]), Ok(Task::BuildWindows)));
        assert!(matches!(parse(&["test"]), Ok(Task::Test)));
        assert!(matches!(parse(&["test-wine10"]), Ok(Task::TestWine10)));
        assert!(matches!(parse(&["lint"]), Ok(Task::Lint)));
        assert!(matches!(
            parse(&["fuzz"]),
            Ok(Task::Fuzz {
                seconds: fuzz::SECONDS_CI
            })
        ));
        assert!(matches!(
            parse(&["fuzz", "3600"]),
            Ok(Task::Fuzz { seconds: 3600 })
        ));
        let Ok(Task::Demo { args }) = parse(&["demo", "--seconds", "5", "-v"]) else {
            panic!("demo with arguments");
        };
        assert_eq!(args, ["--seconds", "5", "-v"]);
        assert!(matches!(
            parse(&["install"]),
            Ok(Task::Install { prefix: None })
        ));
        let Ok(Task::Install { prefix: Some(dir) }) = parse(&["install", "--prefix", "/opt/x"])
        else {
            panic!("install --prefix");
        };
        assert_eq!(dir, PathBuf::from("/opt/x"));
        assert!(matches!(
            parse(&["bench"]),
            Ok(Task::Bench {
                runs: 3,
                huge_pages: false
            })
        ));
        assert!(matches!(
            parse(&["bench", "--runs", "5", "--huge-pages"]),
            Ok(Task::Bench {
                runs: 5,
                huge_pages: true
            })
        ));
    }

    #[test]
    fn bad_arguments_are_refused() {
        for bad in [
            &["fuzz", "soon"][..],
            &["fuzz", "-1"],
            &["bench", "--runs", "0"],
            &["bench", "--runs"],
            &["install", "--prefix"],
            &["install", "extra"],
            &["nonsense"],
            &[],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
