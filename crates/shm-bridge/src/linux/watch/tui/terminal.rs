//! The terminal's life cycle for the full-screen view: raw mode on the
//! alternate screen until dropped, and the terminating signals turned into
//! a flag the view polls, so that the terminal is put back before the
//! signal does what it did before.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};
use ratatui::DefaultTerminal;
use signal_hook::SigId;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// The terminal in raw mode on the alternate screen, until dropped.
pub struct Screen {
    /// The terminal to draw on.
    pub terminal: DefaultTerminal,
}

impl Screen {
    /// Takes over the terminal; ratatui also installs a panic hook that
    /// restores it.
    pub fn open() -> Result<Screen> {
        match ratatui::try_init() {
            Ok(terminal) => Ok(Screen { terminal }),
            Err(e) => {
                ratatui::restore();
                Err(e).context("setting up the terminal for the live view")
            }
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// SIGINT, SIGTERM and SIGHUP, caught while the view runs.
pub struct Signals {
    /// The last signal caught (0: none).
    caught: Arc<AtomicUsize>,
    ids: Vec<SigId>,
}

impl Signals {
    /// Catches the terminating signals from now on.
    pub fn install() -> Result<Signals> {
        let caught = Arc::new(AtomicUsize::new(0));
        let ids = [SIGINT, SIGTERM, SIGHUP]
            .into_iter()
            .map(|signal| {
                signal_hook::flag::register_usize(signal, caught.clone(), signal as usize)
            })
            .collect::<Result<Vec<_>, _>>()
            .context("installing signal handlers")?;
        Ok(Signals { caught, ids })
    }

    /// The signal caught, if any.
    pub fn caught(&self) -> Option<i32> {
        match self.caught.load(Ordering::Relaxed) {
            0 => None,
            signal => i32::try_from(signal).ok(),
        }
    }

    /// Stops catching; returns the signal caught, if any, for [`die_of`].
    pub fn restore(self) -> Option<i32> {
        self.caught()
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// Does what `signal` does by default (ends the process), now that the
/// terminal is back.
pub fn die_of(signal: i32) {
    let _ = signal_hook::low_level::emulate_default_handler(signal);
}
