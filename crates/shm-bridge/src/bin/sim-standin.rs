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
mod standin {
    use std::process::ExitCode;
    use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    use clap::{Args, Parser, Subcommand};
    use shm_bridge::cli::values;
    use shm_bridge::sys::windows::game::{crash_with_access_violation, game_mapping};
    use shm_bridge::sys::windows::sync::Event;
    use shm_bridge::titles::ac::{self, synthetic};
    use shmem::ShBytes;

    /// The offsets of the ping-pong page: the benchmark's number, the echo.
    const PING: usize = 0;
    const PONG: usize = 8;

    /// The offsets of the counter page.
    const COUNTER: usize = 0;
    const REQUEST: usize = 8;
    const ECHO: usize = 16;
    const QUIT: usize = 24;
    const PAGE_LEN: usize = 32;

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
    enum SignalKind {
        /// A manual-reset event, pulsed (iRacing).
        Pulse,
        /// An auto-reset event, set (Le Mans Ultimate).
        Set,
    }

    #[derive(Debug, Args)]
    struct PageArgs {
        /// The mapping's name.
        #[arg(long = "map")]
        map: String,
        /// The view's size in bytes (at least 32).
        #[arg(long, value_parser = clap::value_parser!(u32).range(PAGE_LEN as i64..))]
        size: u32,
    }

    #[derive(Debug, Args)]
    struct RunArgs {
        /// The exit code when done.
        #[arg(long, default_value_t = 0)]
        exit_code: u8,
        /// Stop after this long (default: when told to).
        #[arg(long, value_parser = values::seconds)]
        seconds: Option<Duration>,
    }

    impl RunArgs {
        /// Whether the time given with `--seconds` has passed.
        fn expired(&self, start: Instant) -> bool {
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
    fn mapping(name: &str, size: usize) -> Result<&'static mut ShBytes, String> {
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

    fn counter(p: &PageArgs, run: &RunArgs) -> Result<(), String> {
        let page = mapping(&p.map, p.size as usize)?;
        let error = |e: shmem::ShMemError| format!("{}: {e}", p.map);
        // The page as atomics of the sizes its layout gives each word.
        let (words, flag) = page
            .get_mut(..PAGE_LEN)
            .ok_or_else(|| format!("{}: shorter than the counter page", p.map))?
            .split_at_mut(QUIT);
        let words = words.atomics::<AtomicU64>().map_err(error)?;
        let (counter, request, echo) = (&words[COUNTER / 8], &words[REQUEST / 8], &words[ECHO / 8]);
        let quit = &flag
            .split_at_mut(4)
            .0
            .atomics::<AtomicU32>()
            .map_err(error)?[0];
        let start = Instant::now();
        let mut last_request = request.load(Ordering::Acquire);
        loop {
            counter.fetch_add(1, Ordering::Release);
            let r = request.load(Ordering::Acquire);
            if r != last_request {
                echo.store(r, Ordering::Release);
                println!("request {r}");
                last_request = r;
            }
            match quit.load(Ordering::Acquire) {
                1 => {
                    println!("quit requested");
                    break;
                }
                2 => {
                    println!("crashing as asked");
                    crash_with_access_violation();
                }
                _ => {}
            }
            if run.expired(start) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// Creates the event `name` as a game does and signals it `rate` times a
    /// second until `--seconds` pass.
    fn signal(name: &str, kind: SignalKind, rate: u32, run: &RunArgs) -> Result<(), String> {
        let (event, existed) = Event::create_named(name, kind == SignalKind::Pulse)
            .map_err(|e| format!("creating the event {name}: {e}"))?;
        println!(
            "event {name}: {}",
            if existed {
                "already existed (bridged)"
            } else {
                "created by the game itself (not bridged)"
            }
        );
        let start = Instant::now();
        let period = Duration::from_secs(1) / rate;
        let mut sent: u32 = 0;
        while !run.expired(start) {
            match kind {
                SignalKind::Pulse => event.pulse(),
                SignalKind::Set => event.set(),
            }
            sent += 1;
            let next = period
                .checked_mul(sent)
                .and_then(|d| start.checked_add(d))
                .ok_or("the clock ran out")?;
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
        println!("signalled {sent}");
        Ok(())
    }

    /// Counts the returns of waits on the existing event `name` until
    /// `--seconds` pass.
    fn wait(name: &str, run: &RunArgs) -> Result<(), String> {
        let event =
            Event::open_named(name).map_err(|e| format!("opening the event {name}: {e}"))?;
        println!("waiting on {name}");
        let start = Instant::now();
        let limit = run.seconds.unwrap_or(Duration::from_secs(10));
        let mut woke: u32 = 0;
        while let Some(left) = limit.checked_sub(start.elapsed()).filter(|l| !l.is_zero()) {
            let millis = u32::try_from(left.as_millis()).unwrap_or(u32::MAX);
            if event.wait_at_most(millis) {
                woke += 1;
            }
        }
        println!("woke {woke}");
        Ok(())
    }

    /// Prints the first `count` new values of the i32 at offset 0 of the
    /// existing mapping `name`, checking every 10 ms.
    fn read(name: &str, count: u32, run: &RunArgs) -> Result<(), String> {
        let mapping = shmem::WinShMem::open(name).map_err(|e| format!("opening {name}: {e}"))?;
        println!("opened {name}: {} bytes", mapping.len());
        let start = Instant::now();
        let mut last = None;
        let mut seen = 0;
        while seen < count && !run.expired(start) {
            let value = mapping.read::<i32>(0).map_err(|e| format!("{name}: {e}"))?;
            if last != Some(value) {
                println!("value {value}");
                last = Some(value);
                seen += 1;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// Echoes every new number at PING into PONG, spinning, until `u64::MAX`.
    fn pingpong(p: &PageArgs) -> Result<(), String> {
        let page = mapping(&p.map, p.size as usize)?;
        let words = page
            .get_mut(..16)
            .ok_or_else(|| format!("{}: shorter than the ping-pong page", p.map))?
            .atomics::<AtomicU64>()
            .map_err(|e| format!("{}: {e}", p.map))?;
        let (ping, pong) = (&words[PING / 8], &words[PONG / 8]);
        println!("echoing");
        let mut last = pong.load(Ordering::Acquire);
        loop {
            let now = ping.load(Ordering::Acquire);
            if now != last {
                if now == u64::MAX {
                    return Ok(());
                }
                pong.store(now, Ordering::Release);
                last = now;
            }
        }
    }

    /// Signals the event `name` for every new number at PING, spinning,
    /// until `u64::MAX`.
    fn event_echo(p: &PageArgs, name: &str, kind: SignalKind) -> Result<(), String> {
        let page = mapping(&p.map, p.size as usize)?;
        let ping = page
            .get_mut(..8)
            .ok_or_else(|| format!("{}: shorter than 8 bytes", p.map))?
            .atomics::<AtomicU64>()
            .map_err(|e| format!("{}: {e}", p.map))?;
        let event =
            Event::open_named(name).map_err(|e| format!("opening the event {name}: {e}"))?;
        println!("echoing");
        let mut last = ping[0].load(Ordering::Acquire);
        loop {
            let now = ping[0].load(Ordering::Acquire);
            if now != last {
                if now == u64::MAX {
                    return Ok(());
                }
                match kind {
                    SignalKind::Pulse => event.pulse(),
                    SignalKind::Set => event.set(),
                }
                last = now;
            }
        }
    }

    /// One of the pages ACC bumps a packet id in.
    struct Page {
        name: &'static str,
        view: &'static mut ShBytes,
        /// The next update, encoded here first and then copied in.
        buf: Vec<u8>,
    }

    impl Page {
        fn open(name: &'static str, len: usize) -> Result<Page, String> {
            Ok(Page {
                name,
                view: mapping(&format!("Local\\{name}"), len)?,
                buf: vec![0; len],
            })
        }

        /// Copies the update in: every field first, then the packet id (at
        /// offset 0) with release ordering, so that a reader that sees the
        /// new id after the copy also sees the fields it stands for.
        fn publish(&mut self) -> Result<(), String> {
            let (packet_id, fields) = self.view.split_at_mut(4);
            fields.copy_from_slice(&self.buf[4..]);
            let id = i32::from_le_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]);
            packet_id
                .atomics::<AtomicI32>()
                .map_err(|e| format!("{}: {e}", self.name))?[0]
                .store(id, Ordering::Release);
            Ok(())
        }
    }

    fn acc_session(run: &RunArgs) -> Result<(), String> {
        let mut physics = Page::open(ac::PHYSICS, ac::PHYSICS_LEN)?;
        let mut graphics = Page::open(ac::GRAPHICS, ac::GRAPHICS_LEN)?;
        let statics = mapping(&format!("Local\\{}", ac::STATIC), ac::STATIC_LEN)?;

        let session = synthetic::statics();
        let mut buf = vec![0u8; ac::STATIC_LEN];
        session.encode(&mut buf);
        statics.copy_from_slice(&buf);
        println!(
            "static page written: {} at {}",
            session.car_model, session.track
        );
        println!("writing physics and graphics at {} Hz", synthetic::RATE_HZ);

        let start = Instant::now();
        let period = Duration::from_secs(1) / synthetic::RATE_HZ;
        let mut id: i32 = 0;
        while !run.expired(start) {
            id = id.checked_add(1).ok_or("packet id overflow")?;
            synthetic::physics(id).encode(&mut physics.buf);
            physics.publish()?;
            synthetic::graphics(id).encode(&mut graphics.buf);
            graphics.publish()?;
            // Ticks are counted from the start, so sleeping late never drifts the rate.
            let next = period
                .checked_mul(id.unsigned_abs())
                .and_then(|d| start.checked_add(d))
                .ok_or("the clock ran out")?;
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
        println!("wrote {id} packets; done");
        Ok(())
    }
}
