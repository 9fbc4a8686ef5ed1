//! The game's named events, forwarded to Linux programs.
//!
//! A bridged event `NAME` is the file `NAME` in the tmpfs, whose first 4
//! bytes are a little-endian `u32` counter: for each signal of the game the
//! bridge adds one (release ordering) and wakes every process waiting on
//! the word with a shared `FUTEX_WAKE`. A reader polls the counter, or
//! waits with `FUTEX_WAIT` on its own mapping of the file; a missed signal
//! shows as a jump of the counter.
//!
//! The bridge creates the event before the game, so the game's
//! `CreateEvent` opens it, and a thread waits on it with no timeout (no
//! CPU while the game is quiet). It is created manual-reset, so that every
//! waiter waiting at the moment of a signal wakes, the bridge and the
//! game's Windows readers alike. A pulsed event (iRacing's: manual-reset,
//! `PulseEvent` each frame) is then as the game made it, and forwarding
//! it costs its readers nothing. An event the game sets (Le Mans
//! Ultimate's, auto-reset in its SDK, where each signal wakes one waiter
//! and the bridge would take signals from the game's readers) is reset by
//! the bridge as soon as it wakes; a Windows reader that waits again before
//! that may wake more than once for one signal, which is why a title's
//! auto-reset events are forwarded only when asked for by name.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;

use anyhow::{Context, Result, bail};

use super::files::{self, TmpfsFile};
use super::tmpfs::Tmpfs;
use crate::core::spec::{EventSpec, MapSpec};
use crate::sys::windows::files::FileView;
use crate::sys::windows::linux::futex_wake_all;
use crate::sys::windows::sync::{self, Event};

/// Bytes of an event's file: one page, the counter at its start.
const FILE_LEN: u64 = 4096;

/// One event forwarded while this value lives.
#[derive(Debug)]
pub struct Forwarded<'t> {
    thread: Option<JoinHandle<()>>,
    quit: Arc<Event>,
    /// Its counter file.
    pub file: TmpfsFile<'t>,
}

impl Drop for Forwarded<'_> {
    fn drop(&mut self) {
        self.quit.set();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        // Then the view (the thread's), then the file.
    }
}

/// Makes the counter file of each event and starts forwarding it, or
/// does neither for any. Files get the permission bits `mode`.
pub fn forward_all<'t>(
    events: &[EventSpec],
    tmpfs: &'t Tmpfs,
    mode: u32,
) -> Result<Vec<Forwarded<'t>>> {
    let specs: Vec<MapSpec> = events
        .iter()
        .map(|e| MapSpec {
            name: e.name.clone(),
            size: Some(FILE_LEN),
            link: None,
        })
        .collect();
    let plans = files::plan_all(&specs, tmpfs, false)?;
    let mut forwarded = Vec::with_capacity(plans.len());
    for (mut plan, pulsed) in plans.into_iter().zip(events.iter().map(|e| e.pulsed)) {
        plan.event = true;
        // On error, `forwarded` drops and removes what was made so far.
        forwarded.push(forward(files::make(plan, tmpfs, mode)?, pulsed)?);
    }
    Ok(forwarded)
}

fn forward(file: TmpfsFile<'_>, pulsed: bool) -> Result<Forwarded<'_>> {
    let (name, path) = (file.name.as_str(), &file.unix_path);
    let view = Arc::new(FileView::map(file.handle()).with_context(|| format!("mapping {path}"))?);
    let (event, existed) =
        Event::create_named(name, true).with_context(|| format!("creating the event {name}"))?;
    if existed {
        bail!(
            "an event named {name} already exists in this Wine prefix: the game (or another \
             shm-bridge) made it first, and waiting on it would take its signals from the \
             game's readers. Start shm-bridge before the game"
        );
    }
    let quit = Arc::new(Event::new().context("CreateEventW")?);
    let (signal, stop) = (Arc::new(event), quit.clone());
    let thread = std::thread::Builder::new()
        .name(format!("event {name}"))
        .spawn(move || {
            let counter = view.counter();
            while sync::wait_any(&[signal.handle(), stop.handle()]).ok() == Some(0) {
                // Linux first: the reset below is a round trip to the
                // wineserver, which waiters need not wait for.
                counter.fetch_add(1, Ordering::Release);
                futex_wake_all(counter);
                // A pulse left it reset; a set must be undone for the next
                // wait (a set given meanwhile counts once, as it would for
                // an auto-reset event's waiter that had not come back yet).
                if !pulsed {
                    signal.reset();
                }
            }
        })
        .context("starting the thread that forwards an event")?;
    Ok(Forwarded {
        thread: Some(thread),
        quit,
        file,
    })
}
