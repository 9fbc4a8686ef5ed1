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
use windows_sys::Win32::System::Threading::{GetCurrentProcess, INFINITE};

use super::sync::Event;

/// The completion key of the job's own messages.
const JOB_KEY: usize = 1;
/// The completion key of the packet that says the bridge was asked to stop.
const STOP_KEY: usize = 2;

/// This process's job, which everything it starts from now on belongs to.
///
/// Its handles are never closed: the job lasts as long as the bridge, and
/// the thread that relays a stop request may post to the port at any time.
#[derive(Debug)]
pub struct Job {
    job: HANDLE,
    port: HANDLE,
}

/// `Err` naming the call `what` when a Win32 call returned 0.
fn check(ok: i32, what: &str) -> io::Result<()> {
    super::check(ok != 0).map_err(|e| io::Error::new(e.kind(), format!("{what}: {e}")))
}

impl Job {
    /// Puts this process at the head of a new job.
    pub fn join() -> io::Result<Job> {
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
        Ok(Job { job, port })
    }

    /// How many processes of the job are running besides this one.
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

    /// Waits, using no CPU, until no other process of the job is left
    /// (`true`) or `stop` is set (`false`).
    pub fn wait_for_others(&self, stop: &'static Event) -> io::Result<bool> {
        // The port as a number: it outlives the thread's use (see `Job`).
        let port = self.port as usize;
        std::thread::spawn(move || {
            stop.wait();
            // SAFETY: the port lives as long as the process.
            unsafe { PostQueuedCompletionStatus(port as HANDLE, 0, STOP_KEY, std::ptr::null()) };
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
