//! The one error type of the crate.
//!
//! Each message says what went wrong at its own level; the OS error behind
//! it, if any, is its [`source`](std::error::Error::source) and is not
//! repeated in the message, so that a chain printed whole (`anyhow`'s
//! `{:#}`, or a loop over `source()`) shows every cause once.

use std::io;

/// What went wrong with a shared memory segment, and on which one.
///
/// Every variant that concerns a segment names it, so a message read in a
/// log is enough to find the object at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShMemError {
    /// A segment of 0 bytes was asked for; no backend can map one.
    #[error("a shared memory segment of 0 bytes was requested; ask for at least 1 byte")]
    ZeroSize,

    /// The size does not fit the address space or the backend's size type.
    #[error("{size} bytes is more than this platform can map (at most {max})")]
    TooLarge {
        /// The size asked for.
        size: u64,
        /// The largest size this backend accepts.
        max: u64,
    },

    /// A segment name broke the naming rules (see [`crate::ShMemName`]).
    #[error("invalid shared memory name {name:?}: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// Which rule it broke.
        reason: &'static str,
    },

    /// A textual id could not be parsed, or names an impossible segment.
    #[error("invalid shared memory id {id:?}: {reason}")]
    InvalidId {
        /// The id text as given.
        id: String,
        /// Why it was refused.
        reason: String,
    },

    /// An id was handed to a provider of another backend.
    #[error("id {id} belongs to another backend; open it with a {expected} provider's peer")]
    WrongBackend {
        /// The id as text.
        id: String,
        /// The backend of the provider that refused it.
        expected: &'static str,
    },

    /// An environment variable that should describe a segment is missing or malformed.
    #[error("environment variable {var}: {reason}")]
    Env {
        /// The variable's name.
        var: String,
        /// What was wrong with it.
        reason: String,
    },

    /// The segment exists but is smaller than the size asked for; mapping
    /// more than it holds would end in SIGBUS on the first touch.
    #[error("segment {segment} holds {actual} bytes, fewer than the {requested} bytes asked for")]
    TooSmall {
        /// The segment.
        segment: String,
        /// Its real size.
        actual: u64,
        /// The size asked for.
        requested: u64,
    },

    /// A typed access reaches past the end of the segment.
    #[error("{what} needs {needed} bytes at offset {offset}, but the segment holds {len}")]
    OutOfBounds {
        /// The type accessed.
        what: &'static str,
        /// Its offset in the segment.
        offset: usize,
        /// Its size.
        needed: usize,
        /// The segment's length.
        len: usize,
    },

    /// A typed access is not aligned as its type requires.
    #[error("{what} at offset {offset} is not aligned to {align} bytes")]
    Misaligned {
        /// The type accessed.
        what: &'static str,
        /// Its offset in the segment.
        offset: usize,
        /// The alignment the type needs.
        align: usize,
    },

    /// A segment with this name exists already.
    #[error("shared memory {segment} already exists; pick another name or open it instead")]
    AlreadyExists {
        /// The segment.
        segment: String,
    },

    /// No segment with this name or id exists (or it is gone).
    #[error(
        "shared memory {segment} does not exist (was it created, and is its creator still alive?)"
    )]
    NotFound {
        /// The segment.
        segment: String,
    },

    /// This process has as many files open as it may (`EMFILE`): memfd and
    /// POSIX segments hold a descriptor each while they live.
    #[error(
        "{op} failed for shared memory {segment}: this process has as many files open as \
         its limit allows; every memfd and POSIX segment holds one while it lives, so drop \
         the segments no longer needed or raise the limit (`ulimit -n`, RLIMIT_NOFILE)"
    )]
    TooManyOpenFiles {
        /// The system call or step that failed.
        op: &'static str,
        /// The segment.
        segment: String,
    },

    /// A segment service could not be reached, refused a client, answered
    /// something unexpected, or is not to be trusted (it runs as another user).
    #[error("shared memory service {service}: {reason}")]
    Service {
        /// The service's name (its socket).
        service: String,
        /// What went wrong.
        reason: String,
        /// The OS error behind it, if one was.
        #[source]
        source: Option<io::Error>,
    },

    /// The segment's file belongs to another user, who could change or
    /// swap its contents at will; refused where only our own will do.
    #[error("shared memory {segment} belongs to uid {owner}, not to you; refusing to use it")]
    NotOwned {
        /// The segment.
        segment: String,
        /// Its owner's uid.
        owner: u32,
    },

    /// HugeTLB pages were asked for ([`crate::HugePages::Hugetlb`]) and the
    /// pool has too few free: it holds what the administrator reserved.
    #[error(
        "not enough free huge pages for shared memory {segment} ({size} bytes); \
         reserve some with `sysctl vm.nr_hugepages=N` (see HugePages_Free in /proc/meminfo)"
    )]
    NoHugePages {
        /// The segment.
        segment: String,
        /// Its size, rounded up to whole huge pages.
        size: u64,
    },

    /// The options ask for something this backend or system cannot do.
    #[error("{what} is not available for {backend} shared memory")]
    Unsupported {
        /// What was asked for.
        what: &'static str,
        /// The backend, or the system, that cannot.
        backend: &'static str,
    },

    /// The operating system refused an operation.
    #[error("{op} failed for shared memory {segment}")]
    Os {
        /// The system call or step that failed.
        op: &'static str,
        /// The segment.
        segment: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

#[cfg_attr(no_backend, allow(dead_code))]
impl ShMemError {
    /// Wraps an OS error, turning "exists" and "not found" into their own variants.
    pub(crate) fn os(op: &'static str, segment: impl Into<String>, source: io::Error) -> Self {
        let segment = segment.into();
        match source.kind() {
            io::ErrorKind::AlreadyExists => ShMemError::AlreadyExists { segment },
            io::ErrorKind::NotFound => ShMemError::NotFound { segment },
            #[cfg(unix)]
            _ if source.raw_os_error() == Some(libc::EMFILE) => {
                ShMemError::TooManyOpenFiles { op, segment }
            }
            _ => ShMemError::Os {
                op,
                segment,
                source,
            },
        }
    }
}

/// Short for results of this crate.
pub type Result<T, E = ShMemError> = std::result::Result<T, E>;

/// Checks a requested size: not zero, and representable on this platform.
#[cfg_attr(no_backend, allow(dead_code))]
pub(crate) fn check_size(size: usize) -> Result<usize> {
    if size == 0 {
        return Err(ShMemError::ZeroSize);
    }
    // A mapping larger than isize::MAX cannot be addressed as one Rust object.
    let max = isize::MAX as u64;
    if size as u64 > max {
        return Err(ShMemError::TooLarge {
            size: size as u64,
            max,
        });
    }
    Ok(size)
}
