//! Knowing when to stop: Ctrl-C, Ctrl-Break, the console closing, and
//! (under Wine on Linux) SIGINT, SIGTERM and SIGHUP, all set one event
//! that the main thread waits on, using no CPU meanwhile.

use anyhow::{Context, Result};

use crate::sys::windows::sync::{self, Event};
use crate::sys::windows::wine;

/// The stop request, once the handlers are installed.
#[derive(Debug, Clone, Copy)]
pub struct Stop {
    /// Set when the bridge should stop.
    stop: &'static Event,
    /// Set once the bridge has cleaned up; a closing console waits for it.
    done: &'static Event,
}

impl Stop {
    /// Installs the handlers (once per process).
    pub fn install() -> Result<Stop> {
        // The events live for the rest of the process: a handler may run at
        // any moment, even during exit.
        let stop: &'static Event = Box::leak(Box::new(Event::new().context("CreateEventW")?));
        let done: &'static Event = Box::leak(Box::new(Event::new().context("CreateEventW")?));
        sync::on_console_stop(stop, done).context("SetConsoleCtrlHandler")?;
        wine::forward_termination_signals();
        Ok(Stop { stop, done })
    }

    /// The event that is set on a stop request.
    pub fn event(&self) -> &'static Event {
        self.stop
    }

    /// Blocks until asked to stop.
    pub fn wait(&self) {
        self.stop.wait();
    }

    /// Tells a closing console that cleanup is over.
    pub fn finished(&self) {
        self.done.set();
    }
}
