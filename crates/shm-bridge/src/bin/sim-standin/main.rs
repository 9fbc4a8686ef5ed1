//! A Windows program that does what sim games do with named shared memory,
//! for tests and the demo, under Wine:
//!
//! `CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, SIZE,
//! L"Local\\NAME")`, notes whether it got `ERROR_ALREADY_EXISTS` (the bridge
//! made it first), maps a view of its own size, and writes in a loop.
//!
//! ```text
//! sim-standin counter --map NAME --size BYTES [--exit-code N] [--seconds S]
//! sim-standin acc [--exit-code N] [--seconds S]
//! sim-standin pingpong --map NAME --size BYTES
//! sim-standin empty
//! sim-standin bootstrap MODE ARGS...
//! sim-standin idle
//! sim-standin read --map NAME [--count N] [--seconds S]
//! sim-standin pages [--hold S] NAME:SIZE...
//! sim-standin signal --event NAME --kind pulse|set [--rate HZ] [--seconds S]
//! sim-standin wait --event NAME [--seconds S]
//! sim-standin scenario --game TITLE [--rate HZ] [--frame N] [--torn] [--seconds S]
//! ```
//! The counter page: u64 counter at 0 (bumped every 10 ms), u64 request at
//! 8 (written by someone else), u64 echo at 16 (the game copies the request
//! there), u32 quit flag at 24 (set to 1 to make the game exit, to 2 to
//! make it crash with an access violation, as games do).
//!
//! `acc` is Assetto Corsa Competizione as far as its shared memory goes:
//! the three `Local\acpmf_*` pages, each mapped at its SDK struct size; the
//! static page written once, then physics and graphics at
//! `synthetic::RATE_HZ` with the values of `titles::ac::synthetic`, which
//! are a pure function of the packet id so that readers can check what they
//! decoded.
//!
//! `pingpong` is the Windows side of the bridge's round-trip benchmark
//! (`benches/`): it spins on the `u64` at 0 and copies every new value to
//! the `u64` at 8, with no sleep and no system call, until the value is
//! `u64::MAX`. `empty` prints `ready` and exits: Wine's own start-up, which
//! the benchmark of the bridge's start-up is measured against.
//!
//! `bootstrap` is a game's launcher that starts the game (`sim-standin MODE
//! ARGS...`, a process of its own) and exits at once with 0, not waiting.
//!
//! `idle` does nothing, using no CPU, until it is ended: copied under a
//! game's exe name, it is the process tools in another prefix look for.
//! `read` is such a tool: it opens an existing mapping by name, as readers
//! do, and prints each new value of the `i32` at offset 0 (a packet id).
//!
//! `pages` is any title as far as creating its pages goes: each `NAME:SIZE`
//! is created as the game does, at the size of the game's own view, and
//! gets 1000 + its place in the list as an `i32` at offset 0; then it holds
//! them for `--hold` seconds (default 2) and exits.
//!
//! `scenario` is any title with a decoder: its family's known session
//! (`shm_bridge::scenario`), written into the title's mappings (the presets
//! table's names and sizes) with the title's own update protocol, RATE
//! frames a second from frame 1, or `--frame N` once and held. `--torn`
//! pauses halfway through each page's write, inside the protocol.
//!
//! `signal` is a game's update event: it creates the named event as the
//! game's SDK does (`pulse`: manual-reset and pulsed each frame, as
//! iRacing's irsdk_server.cpp; `set`: auto-reset and set each update, as Le
//! Mans Ultimate's SharedMemoryInterface.hpp), says whether it existed
//! (bridged), signals it `--rate` times a second and prints how many times.
//! `wait` is a Windows reader of such an event: it opens it and counts the
//! times its waits return until `--seconds` have passed.
#![deny(unsafe_code)]

#[cfg(windows)]
fn main() -> std::process::ExitCode {
    standin::main()
}

#[cfg(not(windows))]
fn main() -> std::process::ExitCode {
    eprintln!("sim-standin is a Windows program: run sim-standin.exe under Wine");
    std::process::ExitCode::from(2)
}

#[cfg(windows)]
mod events;
#[cfg(windows)]
mod pages;
#[cfg(windows)]
mod sessions;

#[cfg(windows)]
mod standin {
    use std::process::ExitCode;
    use std::time::{Duration, Instant};

    use clap::{Args, Parser, Subcommand};
    use shm_bridge::cli::values;
    use shm_bridge::sys::windows::game::game_mapping;
    use shmem::ShBytes;

    use crate::events::{event_echo, signal, wait};
    use crate::pages::{PAGE_LEN, counter, pingpong, read};
    use crate::sessions::{acc_session, scenario};

    /// A sim game's shared memory, for tests and the demo.
    #[derive(Debug, Parser)]
    #[command(name = "sim-standin")]
    struct Cli {
        #[command(subcommand)]
        mode: Mode,
    }

    #[derive(Debug, Subcommand)]
    enum Mode {
        /// A page with a counter, a request/echo pair and a quit flag.
        Counter {
            #[command(flatten)]
            page: PageArgs,
            #[command(flatten)]
            run: RunArgs,
        },
        /// Assetto Corsa Competizione's three pages, written at 60 Hz.
        Acc {
            #[command(flatten)]
            run: RunArgs,
        },
        /// Echoes the number at 0 into 8, spinning, until u64::MAX.
        Pingpong {
            #[command(flatten)]
            page: PageArgs,
        },
        /// Sets or pulses the existing event EVENT each time the number at 0
        /// changes, spinning, until u64::MAX (the events benchmark's game).
        EventEcho {
            #[command(flatten)]
            page: PageArgs,
            /// The event's name.
            #[arg(long = "event")]
            event: String,
            /// How to signal it.
            #[arg(long)]
            kind: SignalKind,
        },
        /// A title's known scenario (its family's), written into the title's
        /// mappings with its update protocol: RATE frames a second, or one
        /// frame held.
        Scenario {
            /// The title, as `--game` takes it.
            #[arg(long)]
            game: String,
            /// Frames a second.
            #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=1000))]
            rate: u32,
            /// Writes this frame once and holds it.
            #[arg(long)]
            frame: Option<u32>,
            /// Pauses (100 µs) halfway through writing each page, within its
            /// update protocol, where a reader ignoring the protocol is caught.
            #[arg(long)]
            torn: bool,
            #[command(flatten)]
            run: RunArgs,
        },
        /// Prints `ready` and exits.
        Empty,
        /// Does nothing until ended, under whatever exe name it was given.
        Idle,
        /// Creates each NAME:SIZE as a game does and writes 1000 + its place at offset 0.
        Pages {
            /// How long to hold the pages before exiting.
            #[arg(long, value_parser = values::seconds, default_value = "2")]
            hold: Duration,
            /// The pages: NAME:SIZE, the game's own view sizes.
            #[arg(required = true, value_parser = page_arg)]
            pages: Vec<(String, usize)>,
        },
        /// Opens the existing mapping NAME and prints each new i32 at offset 0.
        Read {
            /// The mapping's name.
            #[arg(long = "map")]
            map: String,
            /// Stop after this many new values.
            #[arg(long, default_value_t = 3)]
            count: u32,
            #[command(flatten)]
            run: RunArgs,
        },
        /// Signals a named event as a game does, RATE times a second.
        Signal {
            /// The event's name.
            #[arg(long = "event")]
            event: String,
            /// `pulse` (a manual-reset event, pulsed) or `set` (auto-reset, set).
            #[arg(long)]
            kind: SignalKind,
            /// Signals a second.
            #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=10_000))]
            rate: u32,
            #[command(flatten)]
            run: RunArgs,
        },
        /// Waits on a named event as a Windows reader does, and counts its wakes.
        Wait {
            /// The event's name.
            #[arg(long = "event")]
            event: String,
            #[command(flatten)]
            run: RunArgs,
        },
        /// Starts `sim-standin MODE ARGS...` and exits at once, as a launcher does.
        Bootstrap {
            /// The game's mode and its arguments.
            #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
            game: Vec<String>,
        },
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
    pub enum SignalKind {
        /// A manual-reset event, pulsed (iRacing).
        Pulse,
        /// An auto-reset event, set (Le Mans Ultimate).
        Set,
    }

    #[derive(Debug, Args)]
    pub struct PageArgs {
        /// The mapping's name.
        #[arg(long = "map")]
        pub map: String,
        /// The view's size in bytes (at least 32).
        #[arg(long, value_parser = clap::value_parser!(u32).range(PAGE_LEN as i64..))]
        pub size: u32,
    }

    #[derive(Debug, Args)]
    pub struct RunArgs {
        /// The exit code when done.
        #[arg(long, default_value_t = 0)]
        pub exit_code: u8,
        /// Stop after this long (default: when told to).
        #[arg(long, value_parser = values::seconds)]
        pub seconds: Option<Duration>,
    }

    impl RunArgs {
        /// Whether the time given with `--seconds` has passed.
        pub fn expired(&self, start: Instant) -> bool {
            self.seconds.is_some_and(|s| start.elapsed() >= s)
        }
    }

    pub fn main() -> ExitCode {
        let cli = Cli::parse();
        match run(cli.mode) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("sim-standin: {e}");
                ExitCode::from(2)
            }
        }
    }

    fn run(mode: Mode) -> Result<ExitCode, String> {
        match mode {
            Mode::Counter { page, run } => {
                counter(&page, &run)?;
                Ok(ExitCode::from(run.exit_code))
            }
            Mode::Acc { run } => {
                acc_session(&run)?;
                Ok(ExitCode::from(run.exit_code))
            }
            Mode::Pingpong { page } => {
                pingpong(&page)?;
                Ok(ExitCode::SUCCESS)
            }
            Mode::EventEcho { page, event, kind } => {
                event_echo(&page, &event, kind)?;
                Ok(ExitCode::SUCCESS)
            }
            Mode::Scenario {
                game,
                rate,
                frame,
                torn,
                run,
            } => {
                scenario(&game, rate, frame, torn, &run)?;
                Ok(ExitCode::from(run.exit_code))
            }
            Mode::Empty => {
                println!("ready");
                Ok(ExitCode::SUCCESS)
            }
            Mode::Idle => {
                println!("standing in");
                loop {
                    std::thread::park();
                }
            }
            Mode::Pages { hold, pages } => {
                for (at, (name, size)) in pages.iter().enumerate() {
                    let page = mapping(name, *size)?;
                    let value = 1000 + i32::try_from(at).map_err(|_| "too many pages")?;
                    page.write(0, &value).map_err(|e| format!("{name}: {e}"))?;
                }
                println!("wrote {} pages", pages.len());
                std::thread::sleep(hold);
                Ok(ExitCode::SUCCESS)
            }
            Mode::Signal {
                event,
                kind,
                rate,
                run,
            } => {
                signal(&event, kind, rate, &run)?;
                Ok(ExitCode::from(run.exit_code))
            }
            Mode::Wait { event, run } => {
                wait(&event, &run)?;
                Ok(ExitCode::from(run.exit_code))
            }
            Mode::Read { map, count, run } => {
                read(&map, count, &run)?;
                Ok(ExitCode::from(run.exit_code))
            }
            Mode::Bootstrap { game } => {
                let me = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
                let child = std::process::Command::new(me)
                    .args(game)
                    .spawn()
                    .map_err(|e| format!("starting the game: {e}"))?;
                println!("bootstrap: started the game (pid {}); exiting", child.id());
                Ok(ExitCode::SUCCESS)
            }
        }
    }

    /// `NAME:SIZE`, a page of `pages`.
    fn page_arg(text: &str) -> Result<(String, usize), String> {
        let (name, size) = text
            .rsplit_once(':')
            .ok_or_else(|| format!("{text:?}: give NAME:SIZE"))?;
        let size = size
            .parse::<usize>()
            .ok()
            .filter(|&s| s >= 4)
            .ok_or_else(|| format!("{text:?}: the size is a number of bytes, 4 or more"))?;
        Ok((name.to_owned(), size))
    }

    /// The mapping `name` as a game makes it, saying whether it was bridged.
    pub fn mapping(name: &str, size: usize) -> Result<&'static mut ShBytes, String> {
        let (page, existed) =
            game_mapping(name, size).map_err(|e| format!("creating the mapping {name}: {e}"))?;
        println!(
            "mapping {name}: {}",
            if existed {
                "already existed (bridged)"
            } else {
                "created by the game itself (not bridged)"
            }
        );
        Ok(page)
    }
}
