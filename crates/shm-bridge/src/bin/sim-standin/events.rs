//! The game's update events: signalling one as a game does, waiting on
//! one as a Windows reader does, and signalling on cue for the benchmark.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use shm_bridge::sys::windows::sync::Event;

use crate::standin::{PageArgs, RunArgs, SignalKind, mapping};

/// Creates the event `name` as a game does and signals it `rate` times a
/// second until `--seconds` pass.
pub fn signal(name: &str, kind: SignalKind, rate: u32, run: &RunArgs) -> Result<(), String> {
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
pub fn wait(name: &str, run: &RunArgs) -> Result<(), String> {
    let event = Event::open_named(name).map_err(|e| format!("opening the event {name}: {e}"))?;
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

/// Signals the event `name` for every new number at PING, spinning,
/// until `u64::MAX`.
pub fn event_echo(p: &PageArgs, name: &str, kind: SignalKind) -> Result<(), String> {
    let page = mapping(&p.map, p.size as usize)?;
    let ping = page
        .get_mut(..8)
        .ok_or_else(|| format!("{}: shorter than 8 bytes", p.map))?
        .atomics::<AtomicU64>()
        .map_err(|e| format!("{}: {e}", p.map))?;
    let event = Event::open_named(name).map_err(|e| format!("opening the event {name}: {e}"))?;
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
