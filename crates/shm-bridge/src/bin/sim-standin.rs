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
//! ```
//! The counter page: u64 counter at 0 (bumped every 10 ms), u64 request at
//! 8 (written by someone else), u64 echo at 16 (the game copies the request
//! there), u32 quit flag at 24 (set to 1 to make the game exit, to 2 to
//! make it crash with an access violation, as games do).
//!
//! `acc` is Assetto Corsa Competizione as far as its shared memory goes:
//! the three `Local\acpmf_*` pages, each mapped at its SDK struct size; the
//! static page written once, then physics and graphics at
//! `acc::synthetic::RATE_HZ` with the values of `acc::synthetic`, which are
//! a pure function of the packet id so that readers can check what they
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

    use shm_bridge::acc;
    use shmem::ShBytes;
    use windows_sys::Win32::Foundation::{
        ERROR_ALREADY_EXISTS, GetLastError, INVALID_HANDLE_VALUE,
    };
    use windows_sys::Win32::System::Memory::{
        CreateFileMappingW, FILE_MAP_ALL_ACCESS, MapViewOfFile, PAGE_READWRITE,
    };

    const USAGE: &str = "usage: sim-standin counter --map NAME --size BYTES [--exit-code N] [--seconds S]\n       \
                         sim-standin acc [--exit-code N] [--seconds S]\n       \
                         sim-standin pingpong --map NAME --size BYTES\n       \
                         sim-standin empty\n       \
                         sim-standin bootstrap MODE ARGS...";

    /// The offsets of the ping-pong page: the benchmark's number, the echo.
    const PING: usize = 0;
    const PONG: usize = 8;

    /// The offsets of the counter page.
    const COUNTER: usize = 0;
    const REQUEST: usize = 8;
    const ECHO: usize = 16;
    const QUIT: usize = 24;
    const PAGE_LEN: usize = 32;

    pub fn main() -> ExitCode {
        let args: Vec<String> = std::env::args().skip(1).collect();
        match run(&args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("sim-standin: {e}");
                ExitCode::from(2)
            }
        }
    }

    #[derive(Debug, PartialEq)]
    enum Mode {
        Counter,
        Acc,
        Pingpong,
        Empty,
    }

    struct Options {
        mode: Mode,
        map: String,
        size: usize,
        exit_code: u8,
        seconds: Option<f64>,
    }

    impl Options {
        /// Whether the time given with `--seconds` has passed.
        fn expired(&self, start: Instant) -> bool {
            self.seconds
                .is_some_and(|s| start.elapsed() >= Duration::from_secs_f64(s))
        }
    }

    fn parse(args: &[String]) -> Result<Options, String> {
        let [mode, rest @ ..] = args else {
            return Err(USAGE.into());
        };
        let mode = match mode.as_str() {
            "counter" => Mode::Counter,
            "acc" => Mode::Acc,
            "pingpong" => Mode::Pingpong,
            "empty" => Mode::Empty,
            _ => return Err(format!("unknown mode {mode:?}\n{USAGE}")),
        };
        let mut o = Options {
            mode,
            map: String::new(),
            size: 0,
            exit_code: 0,
            seconds: None,
        };
        let mut it = rest.iter();
        while let Some(flag) = it.next() {
            let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let number = || {
                value
                    .parse::<u64>()
                    .map_err(|e| format!("{flag} {value}: {e}"))
            };
            match (flag.as_str(), &o.mode) {
                ("--map", Mode::Counter | Mode::Pingpong) => o.map = value.clone(),
                ("--size", Mode::Counter | Mode::Pingpong) => o.size = number()? as usize,
                ("--exit-code", _) => {
                    o.exit_code = u8::try_from(number()?)
                        .map_err(|_| format!("{flag} {value}: at most 255"))?
                }
                ("--seconds", _) => {
                    o.seconds = Some(
                        value
                            .parse::<f64>()
                            .ok()
                            .filter(|s| s.is_finite() && *s >= 0.0)
                            .ok_or_else(|| format!("{flag} {value}: not a number of seconds"))?,
                    )
                }
                _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
            }
        }
        if o.mode == Mode::Counter && (o.map.is_empty() || o.size < PAGE_LEN) {
            return Err(format!(
                "--map and a --size of at least {PAGE_LEN} are needed"
            ));
        }
        if o.mode == Mode::Pingpong && (o.map.is_empty() || o.size < PONG + 8) {
            return Err(format!(
                "--map and a --size of at least {} are needed",
                PONG + 8
            ));
        }
        Ok(o)
    }

    fn run(args: &[String]) -> Result<ExitCode, String> {
        if let [bootstrap, game @ ..] = args
            && bootstrap == "bootstrap"
        {
            let me = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
            let child = std::process::Command::new(me)
                .args(game)
                .spawn()
                .map_err(|e| format!("starting the game: {e}"))?;
            println!("bootstrap: started the game (pid {}); exiting", child.id());
            return Ok(ExitCode::SUCCESS);
        }
        let o = parse(args)?;
        match o.mode {
            Mode::Counter => counter(&o)?,
            Mode::Acc => acc_session(&o)?,
            Mode::Pingpong => pingpong(&o)?,
            Mode::Empty => println!("ready"),
        }
        Ok(ExitCode::from(o.exit_code))
    }

    /// Creates (or, if it exists, opens) the mapping `name` the way games
    /// do, with a view of `size` bytes, and says whether it already existed.
    fn game_mapping(name: &str, size: usize) -> Result<&'static ShBytes, String> {
        let wide: Vec<u16> = name.encode_utf16().chain(Some(0)).collect();
        // SAFETY: what every game does; the name is NUL-terminated.
        let handle = unsafe {
            CreateFileMappingW(
                INVALID_HANDLE_VALUE,
                std::ptr::null(),
                PAGE_READWRITE,
                0,
                size as u32,
                wide.as_ptr(),
            )
        };
        // SAFETY: read right after the call.
        let existed = unsafe { GetLastError() } == ERROR_ALREADY_EXISTS;
        if handle.is_null() {
            return Err(format!(
                "CreateFileMappingW {name}: {}",
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: a live mapping handle; a view of our struct's size.
        let view = unsafe { MapViewOfFile(handle, FILE_MAP_ALL_ACCESS, 0, 0, size) };
        if view.Value.is_null() {
            return Err(format!(
                "MapViewOfFile {name}: {}",
                std::io::Error::last_os_error()
            ));
        }
        println!(
            "mapping {name}: {}",
            if existed {
                "already existed (bridged)"
            } else {
                "created by the game itself (not bridged)"
            }
        );
        // SAFETY: the view holds `size` bytes and is never unmapped (the handle is
        // never closed either), so it lives until the process exits. Other processes
        // write it too: ShBytes reaches it only through volatile and atomic accesses.
        Ok(unsafe { ShBytes::from_raw_parts(view.Value.cast::<u8>(), size) })
    }

    fn counter(o: &Options) -> Result<(), String> {
        let page = game_mapping(&o.map, o.size)?;
        let atomic64 = |at| {
            // SAFETY: each word of the counter page is only ever reached as a
            // view of its own size, never copied over.
            unsafe { page.atomic::<AtomicU64>(at) }.map_err(|e| format!("{}: {e}", o.map))
        };
        let (counter, request, echo) = (atomic64(COUNTER)?, atomic64(REQUEST)?, atomic64(ECHO)?);
        // SAFETY: as for the counters: the flag is only ever reached as a u32.
        let quit = unsafe { page.atomic::<AtomicU32>(QUIT) };
        let quit = quit.map_err(|e| format!("{}: {e}", o.map))?;
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
                    crash();
                }
                _ => {}
            }
            if o.expired(start) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// Echoes every new number at PING into PONG, spinning, until `u64::MAX`.
    fn pingpong(o: &Options) -> Result<(), String> {
        let page = game_mapping(&o.map, o.size)?;
        let atomic64 = |at| {
            // SAFETY: the two words are only ever reached as u64 views.
            unsafe { page.atomic::<AtomicU64>(at) }.map_err(|e| format!("{}: {e}", o.map))
        };
        let (ping, pong) = (atomic64(PING)?, atomic64(PONG)?);
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

    /// Dies of an access violation (a write to address 0), as a crashing game does.
    fn crash() -> ! {
        let null = std::hint::black_box(std::ptr::null_mut::<u8>());
        // SAFETY: not safe at all, on purpose: the write faults and Windows
        // ends the process with STATUS_ACCESS_VIOLATION; nothing runs after it.
        unsafe { null.write_volatile(1) };
        unreachable!("the write to address 0 faults")
    }

    /// One of the pages ACC bumps a packet id in.
    struct Page {
        name: &'static str,
        view: &'static ShBytes,
        /// The next update, encoded here first and then copied in.
        buf: Vec<u8>,
    }

    impl Page {
        fn open(name: &'static str, len: usize) -> Result<Page, String> {
            Ok(Page {
                name,
                view: game_mapping(&format!("Local\\{name}"), len)?,
                buf: vec![0; len],
            })
        }

        /// Copies the update in: every field first, then the packet id (at
        /// offset 0) with release ordering, so that a reader that sees the
        /// new id after the copy also sees the fields it stands for.
        fn publish(&self) -> Result<(), String> {
            self.view[4..].copy_from_slice(&self.buf[4..]);
            let id = i32::from_le_bytes(self.buf[..4].try_into().expect("4 bytes"));
            // SAFETY: the copy above ended before this store, on this thread,
            // and covered bytes 4.. only: nothing of another size overlaps it.
            unsafe { self.view.atomic::<AtomicI32>(0) }
                .map_err(|e| format!("{}: {e}", self.name))?
                .store(id, Ordering::Release);
            Ok(())
        }
    }

    fn acc_session(o: &Options) -> Result<(), String> {
        let mut physics = Page::open(acc::PHYSICS, acc::PHYSICS_LEN)?;
        let mut graphics = Page::open(acc::GRAPHICS, acc::GRAPHICS_LEN)?;
        let statics = game_mapping(&format!("Local\\{}", acc::STATIC), acc::STATIC_LEN)?;

        let session = acc::synthetic::statics();
        let mut buf = vec![0u8; acc::STATIC_LEN];
        session.encode(&mut buf);
        statics.copy_from_slice(&buf);
        println!(
            "static page written: {} at {}",
            session.car_model, session.track
        );
        println!(
            "writing physics and graphics at {} Hz",
            acc::synthetic::RATE_HZ
        );

        let start = Instant::now();
        let period = Duration::from_secs(1) / acc::synthetic::RATE_HZ;
        let mut id: i32 = 0;
        while !o.expired(start) {
            id = id.checked_add(1).ok_or("packet id overflow")?;
            acc::synthetic::physics(id).encode(&mut physics.buf);
            physics.publish()?;
            acc::synthetic::graphics(id).encode(&mut graphics.buf);
            graphics.publish()?;
            // Ticks are counted from the start, so sleeping late never drifts the rate.
            let next = start + period * id as u32;
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
        println!("wrote {id} packets; done");
        Ok(())
    }
}
