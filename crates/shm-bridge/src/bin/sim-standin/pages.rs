//! Single pages: the counter page tests drive, a reader of another's
//! mapping, and the benchmark's ping-pong.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use shm_bridge::sys::windows::game::crash_with_access_violation;

use crate::standin::{PageArgs, RunArgs, mapping};

/// The offsets of the ping-pong page: the benchmark's number, the echo.
pub const PING: usize = 0;
pub const PONG: usize = 8;

/// The offsets of the counter page.
pub const COUNTER: usize = 0;
pub const REQUEST: usize = 8;
pub const ECHO: usize = 16;
pub const QUIT: usize = 24;
pub const PAGE_LEN: usize = 32;

pub fn counter(p: &PageArgs, run: &RunArgs) -> Result<(), String> {
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

/// Prints the first `count` new values of the i32 at offset 0 of the
/// existing mapping `name`, checking every 10 ms.
pub fn read(name: &str, count: u32, run: &RunArgs) -> Result<(), String> {
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
pub fn pingpong(p: &PageArgs) -> Result<(), String> {
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
