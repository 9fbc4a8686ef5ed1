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
use std::sync::atomic::{AtomicBool, Ordering};

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

use super::sync::{Event, wait_any};

/// The completion key of the job's own messages.
const JOB_KEY: usize = 1;
/// The completion key of the packet that says the bridge was asked to stop.
const STOP_KEY: usize = 2;

/// This process's job, which everything it starts from now on belongs to.
///
/// Its handles are never closed: the job lasts as long as the bridge.
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
    ///
    /// The job's messages are read on a thread of their own, joined before
    /// this returns; this thread waits on events. When this thread itself
    /// waited in `GetQueuedCompletionStatus`, a Ctrl-C under Wine 10 made
    /// the bridge's exit code 0 in about a third of the runs, whatever
    /// code it exited with.
    pub fn wait_for_others(&self, stop: &Event) -> io::Result<bool> {
        // Set by the reader on each of the job's messages.
        let news = Event::new()?;
        // The port as a number, which a thread may hold (see `Job`).
        let port = self.port as usize;
        // Set by the reader if it cannot go on.
        let failed = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let reader = scope.spawn(|| relay_messages(port as HANDLE, &news, &failed));
            let outcome = self.wait_for_last(stop, &news, || !failed.load(Ordering::Acquire));
            // SAFETY: the port lives as long as the process.
            unsafe { PostQueuedCompletionStatus(port as HANDLE, 0, STOP_KEY, std::ptr::null()) };
            let relayed = reader
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the job's reader panicked")));
            // The reader's error, if it failed, says more than ours.
            relayed.and(outcome)
        })
    }

    /// Until no other process is left (`true`) or `stop` is set (`false`),
    /// looking again each time `news` is set, while `reading` says the
    /// job's messages are still read.
    fn wait_for_last(
        &self,
        stop: &Event,
        news: &Event,
        reading: impl Fn() -> bool,
    ) -> io::Result<bool> {
        loop {
            news.reset();
            if self.others()? == 0 {
                return Ok(true);
            }
            if wait_any(&[stop.handle(), news.handle()])? == 0 {
                return Ok(false);
            }
            if !reading() {
                return Err(io::Error::other("the job's messages are no longer read"));
            }
        }
    }
}

/// Sets `news` for each message of the job on `port`, until the packet of
/// [`STOP_KEY`]; sets `failed`, then `news`, if it cannot read them.
fn relay_messages(port: HANDLE, news: &Event, failed: &AtomicBool) -> io::Result<()> {
    loop {
        let (mut message, mut key) = (0u32, 0usize);
        let mut overlapped: *mut OVERLAPPED = std::ptr::null_mut();
        // SAFETY: a live port; the three outputs are ours.
        let got = unsafe {
            GetQueuedCompletionStatus(port, &mut message, &mut key, &mut overlapped, INFINITE)
        };
        if got == 0 {
            // Taken before the calls below can change the last error.
            let error = check(got, "GetQueuedCompletionStatus");
            failed.store(true, Ordering::Release);
            news.set();
            return error;
        }
        if key == STOP_KEY {
            return Ok(());
        }
        news.set();
    }
}
