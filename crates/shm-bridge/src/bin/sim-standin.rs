//! A Windows program that does what sim games do with named shared memory,
//! for tests and the demo, under Wine:
//!
//! `CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, SIZE,
//! L"Local\\NAME")`, notes whether it got `ERROR_ALREADY_EXISTS` (the bridge
//! made it first), maps a view of its own size, and writes in a loop.
//!
//! ```text
//! sim-standin counter --map NAME --size BYTES [--exit-code N] [--seconds S]
//! ```
//! The counter page: u64 counter at 0 (bumped every 10 ms), u64 request at
//! 8 (written by someone else), u64 echo at 16 (the game copies the request
//! there), u32 quit flag at 24 (set to 1 to make the game exit).

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
    use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    use windows_sys::Win32::Foundation::{
        ERROR_ALREADY_EXISTS, GetLastError, INVALID_HANDLE_VALUE,
    };
    use windows_sys::Win32::System::Memory::{
        CreateFileMappingW, FILE_MAP_ALL_ACCESS, MapViewOfFile, PAGE_READWRITE,
    };

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

    struct Options {
        map: String,
        size: usize,
        exit_code: u8,
        seconds: Option<u64>,
    }

    fn parse(args: &[String]) -> Result<Options, String> {
        let [mode, rest @ ..] = args else {
            return Err(
                "usage: sim-standin counter --map NAME --size BYTES [--exit-code N] [--seconds S]"
                    .into(),
            );
        };
        if mode != "counter" {
            return Err(format!("unknown mode {mode:?}"));
        }
        let mut o = Options {
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
            match flag.as_str() {
                "--map" => o.map = value.clone(),
                "--size" => o.size = number()? as usize,
                "--exit-code" => o.exit_code = number()? as u8,
                "--seconds" => o.seconds = Some(number()?),
                _ => return Err(format!("unknown flag {flag}")),
            }
        }
        if o.map.is_empty() || o.size < PAGE_LEN {
            return Err(format!(
                "--map and a --size of at least {PAGE_LEN} are needed"
            ));
        }
        Ok(o)
    }

    fn run(args: &[String]) -> Result<ExitCode, String> {
        let o = parse(args)?;
        let wide: Vec<u16> = o.map.encode_utf16().chain(Some(0)).collect();
        // SAFETY: what every game does; the name is NUL-terminated.
        let handle = unsafe {
            CreateFileMappingW(
                INVALID_HANDLE_VALUE,
                std::ptr::null(),
                PAGE_READWRITE,
                0,
                o.size as u32,
                wide.as_ptr(),
            )
        };
        // SAFETY: read right after the call.
        let existed = unsafe { GetLastError() } == ERROR_ALREADY_EXISTS;
        if handle.is_null() {
            return Err(format!(
                "CreateFileMappingW: {}",
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: a live mapping handle; a view of our struct's size.
        let view = unsafe { MapViewOfFile(handle, FILE_MAP_ALL_ACCESS, 0, 0, o.size) };
        if view.Value.is_null() {
            return Err(format!(
                "MapViewOfFile: {}",
                std::io::Error::last_os_error()
            ));
        }
        let base = view.Value.cast::<u8>();
        println!(
            "mapping {}: {}",
            o.map,
            if existed {
                "already existed (bridged)"
            } else {
                "created by the game itself (not bridged)"
            }
        );
        // SAFETY: the view is at least PAGE_LEN bytes, page-aligned, and lives until
        // the process exits; these words are shared with other processes, hence atomics.
        let (counter, request, echo, quit) = unsafe {
            (
                &*base.add(COUNTER).cast::<AtomicU64>(),
                &*base.add(REQUEST).cast::<AtomicU64>(),
                &*base.add(ECHO).cast::<AtomicU64>(),
                &*base.add(QUIT).cast::<AtomicU32>(),
            )
        };
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
            if quit.load(Ordering::Acquire) == 1 {
                println!("quit requested");
                break;
            }
            if o.seconds
                .is_some_and(|s| start.elapsed() >= Duration::from_secs(s))
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(ExitCode::from(o.exit_code))
    }
}
