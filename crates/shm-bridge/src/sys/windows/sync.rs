//! Waiting without using CPU: events, waits on several handles, and the
//! console's stop requests (Ctrl-C, Ctrl-Break, the console closing).

use std::io;
use std::os::windows::io::{AsRawHandle, BorrowedHandle, FromRawHandle, OwnedHandle};
use std::sync::OnceLock;

use windows_sys::Win32::Foundation::{TRUE, WAIT_FAILED, WAIT_OBJECT_0};
use windows_sys::Win32::System::Console::{
    CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT, CTRL_SHUTDOWN_EVENT, SetConsoleCtrlHandler,
};
use windows_sys::Win32::System::Threading::{
    CreateEventW, INFINITE, SetEvent, WaitForMultipleObjects, WaitForSingleObject,
};

use super::check;

/// An unnamed manual-reset event: once set, every wait on it returns.
#[derive(Debug)]
pub struct Event(OwnedHandle);

impl Event {
    /// A new event, not set.
    pub fn new() -> io::Result<Event> {
        // SAFETY: no attributes, no name; a fresh handle or null.
        let handle = unsafe { CreateEventW(std::ptr::null(), TRUE, 0, std::ptr::null()) };
        check(!handle.is_null())?;
        // SAFETY: a fresh handle that nothing else owns.
        Ok(Event(unsafe { OwnedHandle::from_raw_handle(handle) }))
    }

    /// Sets the event.
    pub fn set(&self) {
        // SAFETY: a live event handle.
        unsafe { SetEvent(self.0.as_raw_handle()) };
    }

    /// Blocks until the event is set.
    pub fn wait(&self) {
        // SAFETY: a live event handle.
        unsafe { WaitForSingleObject(self.0.as_raw_handle(), INFINITE) };
    }

    /// Blocks until the event is set or `millis` have passed.
    pub fn wait_at_most(&self, millis: u32) {
        // SAFETY: a live event handle.
        unsafe { WaitForSingleObject(self.0.as_raw_handle(), millis) };
    }

    /// The handle, to wait on with others.
    pub fn handle(&self) -> BorrowedHandle<'_> {
        use std::os::windows::io::AsHandle;
        self.0.as_handle()
    }
}

/// Blocks until one of `handles` is signalled; returns its index.
pub fn wait_any(handles: &[BorrowedHandle<'_>]) -> io::Result<usize> {
    let raw: Vec<_> = handles.iter().map(|h| h.as_raw_handle()).collect();
    // SAFETY: live handles, borrowed for the call; waits for any, no timeout.
    let which = unsafe { WaitForMultipleObjects(raw.len() as u32, raw.as_ptr(), 0, INFINITE) };
    if which == WAIT_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(which.wrapping_sub(WAIT_OBJECT_0) as usize)
}

/// The events the console handler sets and waits for.
static CONSOLE: OnceLock<(&'static Event, &'static Event)> = OnceLock::new();

/// How long Windows lets a closing console's handler run is about 5 s.
const CLOSE_GRACE_MS: u32 = 4500;

unsafe extern "system" fn on_console_event(kind: u32) -> i32 {
    if let Some((stop, done)) = CONSOLE.get() {
        stop.set();
        if matches!(
            kind,
            CTRL_CLOSE_EVENT | CTRL_LOGOFF_EVENT | CTRL_SHUTDOWN_EVENT
        ) {
            // The process ends when this returns: give the cleanup its time.
            done.wait_at_most(CLOSE_GRACE_MS);
        }
    }
    TRUE
}

/// Sets `stop` on every console stop request (Ctrl-C, Ctrl-Break, the
/// console closing, logoff, shutdown); for the last three, holds the
/// process up to 4.5 s until `done` is set. Once per process.
pub fn on_console_stop(stop: &'static Event, done: &'static Event) -> io::Result<()> {
    CONSOLE
        .set((stop, done))
        .map_err(|_| io::Error::other("the console handler is installed already"))?;
    // SAFETY: `on_console_event` has the handler's signature and only touches
    // the two events, which live as long as the process ('static).
    check(unsafe { SetConsoleCtrlHandler(Some(on_console_event), TRUE) } != 0)
}
