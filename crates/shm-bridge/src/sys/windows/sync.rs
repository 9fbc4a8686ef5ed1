//! Waiting without using CPU: events, waits on several handles, and the
//! console's stop requests (Ctrl-C, Ctrl-Break, the console closing).

use std::io;
use std::os::windows::io::{AsRawHandle, BorrowedHandle, FromRawHandle, OwnedHandle};
use std::sync::OnceLock;

use windows_sys::Win32::Foundation::{
    ERROR_ALREADY_EXISTS, GetLastError, TRUE, WAIT_FAILED, WAIT_OBJECT_0,
};
use windows_sys::Win32::System::Console::{
    CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT, CTRL_SHUTDOWN_EVENT, SetConsoleCtrlHandler,
};
use windows_sys::Win32::System::Threading::{
    CreateEventW, EVENT_MODIFY_STATE, INFINITE, OpenEventW, PulseEvent, ResetEvent,
    SYNCHRONIZATION_SYNCHRONIZE, SetEvent, WaitForMultipleObjects, WaitForSingleObject,
};

use super::check;
use crate::core::utf16::to_wide_nul;

/// An event: unnamed and manual-reset (once set, every wait on it
/// returns), or a game's named one.
#[derive(Debug)]
pub struct Event(OwnedHandle);

impl Event {
    /// A new unnamed manual-reset event, not set.
    pub fn new() -> io::Result<Event> {
        // SAFETY: no attributes, no name; a fresh handle or null.
        let handle = unsafe { CreateEventW(std::ptr::null(), TRUE, 0, std::ptr::null()) };
        check(!handle.is_null())?;
        // SAFETY: a fresh handle that nothing else owns.
        Ok(Event(unsafe { OwnedHandle::from_raw_handle(handle) }))
    }

    /// Creates the named event `name` (manual-reset if `manual`, not set),
    /// or opens it if it exists; says whether it existed (then its kind is
    /// its creator's).
    pub fn create_named(name: &str, manual: bool) -> io::Result<(Event, bool)> {
        let wide = to_wide_nul(name);
        // SAFETY: no attributes; a NUL-terminated name; a fresh handle or null.
        let handle = unsafe { CreateEventW(std::ptr::null(), i32::from(manual), 0, wide.as_ptr()) };
        // SAFETY: read right after the call, on the same thread.
        let existed = unsafe { GetLastError() } == ERROR_ALREADY_EXISTS;
        check(!handle.is_null())?;
        // SAFETY: a fresh handle that nothing else owns.
        Ok((
            Event(unsafe { OwnedHandle::from_raw_handle(handle) }),
            existed,
        ))
    }

    /// Opens the existing named event `name`, to wait on it and set it.
    pub fn open_named(name: &str) -> io::Result<Event> {
        let wide = to_wide_nul(name);
        let access = SYNCHRONIZATION_SYNCHRONIZE | EVENT_MODIFY_STATE;
        // SAFETY: a NUL-terminated name; a fresh handle or null.
        let handle = unsafe { OpenEventW(access, 0, wide.as_ptr()) };
        check(!handle.is_null())?;
        // SAFETY: a fresh handle that nothing else owns.
        Ok(Event(unsafe { OwnedHandle::from_raw_handle(handle) }))
    }

    /// Resets the event.
    pub fn reset(&self) {
        // SAFETY: a live event handle.
        unsafe { ResetEvent(self.0.as_raw_handle()) };
    }

    /// Wakes the threads waiting now and leaves the event reset.
    pub fn pulse(&self) {
        // SAFETY: a live event handle.
        unsafe { PulseEvent(self.0.as_raw_handle()) };
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

    /// Whether the event is set, without waiting.
    pub fn is_set(&self) -> bool {
        // SAFETY: a live event handle; a zero timeout only polls.
        unsafe { WaitForSingleObject(self.0.as_raw_handle(), 0) == WAIT_OBJECT_0 }
    }

    /// Blocks until the event is set (`true`) or `millis` have passed.
    pub fn wait_at_most(&self, millis: u32) -> bool {
        // SAFETY: a live event handle.
        unsafe { WaitForSingleObject(self.0.as_raw_handle(), millis) == WAIT_OBJECT_0 }
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
            let _ = done.wait_at_most(CLOSE_GRACE_MS);
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
