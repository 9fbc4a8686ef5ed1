//! The game and every process it starts, followed as one job object.
//!
//! Some games' first program only starts the real one and exits; the
//! mappings must last while anything of the game runs. Children inherit
//! the job of the process that starts them, so the bridge puts itself in a
//! new job before it starts the game. Wine's own processes (the desktop's
//! explorer, services) are not started by the game and stay out of it,
//! and jobs nest, so a game can still make its own (both seen under Wine
//! 8, with a game window on a real X server).

use std::io;

use windows_sys::Win32::Foundation::{HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::System::IO::{
    CreateIoCompletionPort, GetQueuedCompletionStatus, OVERLAPPED, PostQueuedCompletionStatus,
};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JOBOBJECT_ASSOCIATE_COMPLETION_PORT,
    JOBOBJECT_BASIC_ACCOUNTING_INFORMATION, JobObjectAssociateCompletionPortInformation,
    JobObjectBasicAccountingInformation, QueryInformationJobObject, SetInformationJobObject,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, INFINITE, WaitForSingleObject};

/// The completion key of the job's own messages.
const JOB_KEY: usize = 1;
/// The completion key of the packet that says the bridge was asked to stop.
const STOP_KEY: usize = 2;

/// This process's job, which everything it starts from now on belongs to.
///
/// Its handles are never closed: the job lasts as long as the bridge, and
/// the thread that relays a stop request may post to the port at any time.
#[derive(Debug)]
pub struct Family {
    job: HANDLE,
    port: HANDLE,
}

fn check(ok: i32, what: &str) -> io::Result<()> {
    if ok == 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(e.kind(), format!("{what}: {e}")));
    }
    Ok(())
}

impl Family {
    /// Puts this process at the head of a new job.
    pub fn join() -> io::Result<Family> {
        // SAFETY: no attributes, no name; a fresh handle or null.
        let job = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
        if job.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a new port, associated with no file.
        let port =
            unsafe { CreateIoCompletionPort(INVALID_HANDLE_VALUE, std::ptr::null_mut(), 0, 1) };
        if port.is_null() {
            return Err(io::Error::last_os_error());
        }
        let link = JOBOBJECT_ASSOCIATE_COMPLETION_PORT {
            CompletionKey: JOB_KEY as *mut _,
            CompletionPort: port,
        };
        // SAFETY: `link` is the structure this information class takes, of its size.
        let linked = unsafe {
            SetInformationJobObject(
                job,
                JobObjectAssociateCompletionPortInformation,
                (&raw const link).cast(),
                size_of_val(&link) as u32,
            )
        };
        check(linked, "SetInformationJobObject")?;
        // SAFETY: both handles are live; the pseudo-handle needs no closing.
        let joined = unsafe { AssignProcessToJobObject(job, GetCurrentProcess()) };
        check(joined, "AssignProcessToJobObject")?;
        Ok(Family { job, port })
    }

    /// How many processes of the family are running besides this one.
    pub fn others(&self) -> io::Result<u32> {
        // SAFETY: plain old data; zeroes are a valid value.
        let mut info: JOBOBJECT_BASIC_ACCOUNTING_INFORMATION = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is the structure this information class fills, of its size.
        let queried = unsafe {
            QueryInformationJobObject(
                self.job,
                JobObjectBasicAccountingInformation,
                (&raw mut info).cast(),
                size_of_val(&info) as u32,
                std::ptr::null_mut(),
            )
        };
        check(queried, "QueryInformationJobObject")?;
        Ok(info.ActiveProcesses.saturating_sub(1))
    }

    /// Waits, using no CPU, until no other process of the family is left
    /// (`true`) or the `stop` event is set (`false`).
    pub fn wait_for_others(&self, stop: HANDLE) -> io::Result<bool> {
        // Handles as numbers: they outlive the thread's use (see `Family`).
        let (stop_event, port) = (stop as usize, self.port as usize);
        std::thread::spawn(move || {
            // SAFETY: the stop event and the port live as long as the process.
            unsafe {
                WaitForSingleObject(stop_event as HANDLE, INFINITE);
                PostQueuedCompletionStatus(port as HANDLE, 0, STOP_KEY, std::ptr::null());
            }
        });
        loop {
            if self.others()? == 0 {
                return Ok(true);
            }
            let (mut message, mut key) = (0u32, 0usize);
            let mut overlapped: *mut OVERLAPPED = std::ptr::null_mut();
            // SAFETY: a live port; the three outputs are ours.
            let got = unsafe {
                GetQueuedCompletionStatus(
                    self.port,
                    &mut message,
                    &mut key,
                    &mut overlapped,
                    INFINITE,
                )
            };
            check(got, "GetQueuedCompletionStatus")?;
            if key == STOP_KEY {
                return Ok(false);
            }
        }
    }
}
