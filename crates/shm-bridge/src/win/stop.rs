//! Knowing when to stop: Ctrl-C, Ctrl-Break, the console closing, and
//! (under Wine on Linux) SIGINT, SIGTERM and SIGHUP, all set one event
//! that the main thread waits on, using no CPU meanwhile.

use std::os::windows::io::{FromRawHandle, IntoRawHandle, OwnedHandle, RawHandle};
use std::sync::atomic::{AtomicPtr, Ordering};

use anyhow::{Result, bail};
use windows_sys::Win32::Foundation::{HANDLE, TRUE};
use windows_sys::Win32::System::Console::{
    CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT, CTRL_SHUTDOWN_EVENT, SetConsoleCtrlHandler,
};
use windows_sys::Win32::System::Threading::{CreateEventW, SetEvent, WaitForSingleObject};

use super::wine;

/// Set when the bridge should stop.
static STOP: AtomicPtr<std::ffi::c_void> = AtomicPtr::new(std::ptr::null_mut());
/// Set once the bridge has cleaned up; the console waits for it on close.
static DONE: AtomicPtr<std::ffi::c_void> = AtomicPtr::new(std::ptr::null_mut());

/// How long Windows lets a closing console's handler run is about 5 s.
const CLOSE_GRACE_MS: u32 = 4500;

unsafe extern "system" fn on_console_event(kind: u32) -> i32 {
    // SAFETY: the events are created before the handler is installed and are
    // never closed (they live as long as the process).
    unsafe {
        SetEvent(STOP.load(Ordering::Acquire));
        if matches!(
            kind,
            CTRL_CLOSE_EVENT | CTRL_LOGOFF_EVENT | CTRL_SHUTDOWN_EVENT
        ) {
            // The process ends when this returns: give the cleanup its time.
            WaitForSingleObject(DONE.load(Ordering::Acquire), CLOSE_GRACE_MS);
        }
    }
    TRUE
}

fn manual_reset_event() -> Result<OwnedHandle> {
    // SAFETY: no attributes, no name; a fresh handle or null.
    let handle = unsafe { CreateEventW(std::ptr::null(), TRUE, 0, std::ptr::null()) };
    if handle.is_null() {
        bail!("CreateEventW: {}", std::io::Error::last_os_error());
    }
    // SAFETY: a fresh handle we own.
    Ok(unsafe { OwnedHandle::from_raw_handle(handle) })
}

/// The stop event, once the handlers are installed.
#[derive(Debug)]
pub struct Stop {
    stop: RawHandle,
    done: RawHandle,
}

impl Stop {
    /// Installs the handlers (once per process).
    pub fn install() -> Result<Stop> {
        // The events live for the rest of the process (never closed): the
        // handler may run at any moment, even during exit.
        let stop = manual_reset_event()?.into_raw_handle();
        let done = manual_reset_event()?.into_raw_handle();
        STOP.store(stop, Ordering::Release);
        DONE.store(done, Ordering::Release);
        // SAFETY: `on_console_event` has the handler signature and only touches the events.
        if unsafe { SetConsoleCtrlHandler(Some(on_console_event), TRUE) } == 0 {
            bail!("SetConsoleCtrlHandler: {}", std::io::Error::last_os_error());
        }
        wine::forward_termination_signals();
        Ok(Stop { stop, done })
    }

    /// The event to wait on.
    pub fn event(&self) -> HANDLE {
        self.stop
    }

    /// Blocks until asked to stop.
    pub fn wait(&self) {
        // SAFETY: a live event handle.
        unsafe { WaitForSingleObject(self.stop, u32::MAX) };
    }

    /// Tells a closing console that cleanup is over.
    pub fn finished(&self) {
        // SAFETY: a live event handle.
        unsafe { SetEvent(self.done) };
    }
}
