//! Reading a title's pages from the tmpfs while the game writes them.
//!
//! Every byte comes through the `shmem` library's volatile copies, never
//! through a `&[u8]` into the mapping: the game changes the pages under
//! us, which a plain slice would promise the compiler cannot happen.
//!
//! A copy can still catch the game halfway through an update, so each page
//! is copied the way its title family says a copy is whole
//! ([`Protocol`]): with a counter the writer bumps after each update, a
//! sample is taken as: read the counter, copy the page, pause, copy again,
//! read the counter; it is accepted when both counters and both copies
//! agree, and retried otherwise. The pause matters: a writer that has stored
//! every field but not yet the new counter leaves two quick copies equal,
//! with the old counter; after the pause it has bumped it, and the mismatch
//! shows. Pages without a counter are accepted when two copies agree.
//!
//! Nothing here writes to the pages: they are the game's.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use shmem::{PosixShMem, ReadBytes, ReadOnlyShMem, ShMemError};

use crate::core::spec::MapSpec;
use crate::titles::{Copies, Decoded, Family, Page, Protocol};

/// How often a sample that changed while it was read is taken again.
pub const TRIES: u32 = 50;

/// Between the two copies of one try: long enough for a writer caught
/// between its fields and its counter to finish, short against the game's
/// update period (ACC's physics runs at about 300 Hz).
const SETTLE: Duration = Duration::from_micros(300);

/// Why a page could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// No file: the bridge is not running, or the game has not started.
    #[error(
        "{path} does not exist: is shm-bridge running? Start the game with \
         `shm-bridge launch --game TITLE -- %command%` (or run shm-bridge.exe in its \
         prefix first); `shm-bridge list` shows what is bridged"
    )]
    Missing {
        /// The file.
        path: String,
    },
    /// The file exists but could not be mapped.
    #[error("cannot map {path}: {reason}")]
    Open {
        /// The file.
        path: String,
        /// Why, with the OS's own words.
        reason: String,
    },
    /// The file is shorter than the fields decoded from it.
    #[error("{path} holds {len} bytes, too few for the {what} page ({needed} needed)")]
    TooSmall {
        /// The file.
        path: String,
        /// Its size.
        len: usize,
        /// The page expected.
        what: &'static str,
        /// Bytes the decoder reads.
        needed: usize,
    },
    /// Every try caught the writer in the middle of an update.
    #[error("{path} changed while it was read, {tries} times in a row; no consistent sample")]
    Unstable {
        /// The file.
        path: String,
        /// How many tries.
        tries: u32,
    },
}

impl ReadError {
    fn open(path: &Path, source: &ShMemError) -> ReadError {
        // The library's error and its causes, each once.
        let mut reason = source.to_string();
        let mut cause = std::error::Error::source(source);
        while let Some(c) = cause {
            reason = format!("{reason}: {c}");
            cause = c.source();
        }
        ReadError::Open {
            path: path.display().to_string(),
            reason,
        }
    }
}

/// What one page held.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// One of the family's pages, read whole and decoded into the sample.
    Decoded {
        /// The page's label (`physics`).
        label: &'static str,
        /// Bytes copied.
        len: usize,
    },
    /// The bytes of a page of unknown layout.
    Raw(RawPage),
}

/// A page of unknown layout.
#[derive(Debug, Clone, PartialEq)]
pub struct RawPage {
    /// All of its bytes.
    pub bytes: Vec<u8>,
    /// Bytes that differ from the previous sample (0 for the first).
    pub changed: usize,
    /// Whether two copies agreed: a page written all the time may never hold still.
    pub consistent: bool,
}

/// One page of a sample.
#[derive(Debug)]
pub struct PageSample {
    /// The mapping's name, as given.
    pub name: String,
    /// Its file.
    pub path: PathBuf,
    /// What was read, or why nothing was.
    pub result: Result<Reading, ReadError>,
}

/// Every page, read once, and what the family made of them.
#[derive(Debug)]
pub struct Sample {
    /// In the order the mappings were given.
    pub pages: Vec<PageSample>,
    /// The decoded pages' telemetry, if the title has a family and any of
    /// its pages was read.
    pub decoded: Option<Decoded>,
    /// When it was taken.
    pub taken: Instant,
}

impl Sample {
    /// Pages of unknown layout that were read, with their names.
    pub fn raw(&self) -> impl Iterator<Item = (&PageSample, &RawPage)> {
        self.pages.iter().filter_map(|p| match &p.result {
            Ok(Reading::Raw(raw)) => Some((p, raw)),
            _ => None,
        })
    }

    /// Names of the mappings whose files are not there.
    pub fn missing(&self) -> Vec<&str> {
        self.pages
            .iter()
            .filter(|p| matches!(p.result, Err(ReadError::Missing { .. })))
            .map(|p| p.name.as_str())
            .collect()
    }

    /// Problems other than missing files, as messages.
    pub fn problems(&self) -> Vec<String> {
        self.pages
            .iter()
            .filter_map(|p| match &p.result {
                Err(ReadError::Missing { .. }) | Ok(_) => None,
                Err(e) => Some(e.to_string()),
            })
            .collect()
    }

    /// Whether any page was read.
    pub fn any_read(&self) -> bool {
        self.pages.iter().any(|p| p.result.is_ok())
    }

    /// The first error, for callers that need every page.
    pub fn into_complete(self) -> Result<Sample, ReadError> {
        if self.pages.iter().all(|p| p.result.is_ok()) {
            return Ok(self);
        }
        Err(self
            .pages
            .into_iter()
            .find_map(|p| p.result.err())
            .expect("a page failed"))
    }
}

/// The pages of one title (or of the names given), opened as they appear
/// and dropped when their files go.
#[derive(Debug)]
pub struct Reader {
    dir: PathBuf,
    family: Option<&'static dyn Family>,
    pages: Vec<PageState>,
}

#[derive(Debug)]
struct PageState {
    name: String,
    file: String,
    /// How the family reads it; `None`: shown as bytes.
    page: Option<Page>,
    open: Option<Opened>,
    /// The last copy of a raw page, to tell what changed.
    previous: Option<Vec<u8>>,
}

#[derive(Debug)]
struct Opened {
    /// Mapped read-only: a reader has nothing to write.
    mem: ReadOnlyShMem<PosixShMem>,
    /// Device, inode and size of the file mapped; another file (or size)
    /// under the same name means the bridge was restarted: map it again.
    identity: (u64, u64, u64),
}

/// A consistent copy of one page, or why there is none.
enum Copied {
    /// A family page.
    Page(&'static str, Vec<u8>),
    /// Anything else.
    Raw(RawPage),
}

impl Reader {
    /// The pages of `specs` in `dir`, decoded by `family` where it knows
    /// them; nothing is opened yet.
    pub fn new(dir: &Path, specs: &[MapSpec], family: Option<&'static dyn Family>) -> Reader {
        Reader {
            dir: dir.to_owned(),
            family,
            pages: specs
                .iter()
                .map(|s| PageState {
                    name: s.name.to_string(),
                    file: s.file_name().to_owned(),
                    page: family.and_then(|f| f.page(s.file_name())),
                    open: None,
                    previous: None,
                })
                .collect(),
        }
    }

    /// The directory read.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether any page is of a layout the family decodes.
    pub fn decodes(&self) -> bool {
        self.pages.iter().any(|p| p.page.is_some())
    }

    /// Reads every page once (opening files that appeared, letting go of
    /// those that went), and decodes the family's pages.
    pub fn sample(&mut self) -> Sample {
        let mut copies = Vec::new();
        let pages = self
            .pages
            .iter_mut()
            .map(|state| {
                let path = self.dir.join(&state.file);
                let result = state.read(&self.dir, &path).map(|copied| match copied {
                    Copied::Page(label, bytes) => {
                        let len = bytes.len();
                        copies.push((label, bytes));
                        Reading::Decoded { label, len }
                    }
                    Copied::Raw(raw) => Reading::Raw(raw),
                });
                PageSample {
                    name: state.name.clone(),
                    path,
                    result,
                }
            })
            .collect();
        let decoded = self.family.filter(|_| !copies.is_empty()).map(|family| {
            let mut pages = Copies::default();
            for (label, bytes) in &copies {
                pages.push(label, bytes);
            }
            family.decode(&pages)
        });
        Sample {
            pages,
            decoded,
            taken: Instant::now(),
        }
    }
}

impl PageState {
    fn read(&mut self, dir: &Path, path: &Path) -> Result<Copied, ReadError> {
        let page = self.page;
        let copy = {
            let mem = self.ensure_open(dir, path)?;
            let len = page.map_or(mem.len(), |p| p.len.min(mem.len()));
            if let Some(p) = page.filter(|p| len < p.needed) {
                return Err(ReadError::TooSmall {
                    path: path.display().to_string(),
                    len: mem.len(),
                    what: p.label,
                    needed: p.needed,
                });
            }
            let protocol = page.map_or(Protocol::Settled, |p| p.protocol);
            stable_copy(&mem[..len], protocol)
        };
        let Some(page) = page else {
            let changed = match &self.previous {
                Some(prev) if prev.len() == copy.bytes.len() => {
                    prev.iter().zip(&copy.bytes).filter(|(a, b)| a != b).count()
                }
                Some(_) => copy.bytes.len(),
                None => 0,
            };
            self.previous = Some(copy.bytes.clone());
            return Ok(Copied::Raw(RawPage {
                bytes: copy.bytes,
                changed,
                consistent: copy.consistent,
            }));
        };
        if !copy.consistent {
            return Err(ReadError::Unstable {
                path: path.display().to_string(),
                tries: TRIES,
            });
        }
        Ok(Copied::Page(page.label, copy.bytes))
    }

    /// The mapping of the file now at `path`, (re)opened when the file
    /// appeared or was replaced; `Missing` when there is none (an empty
    /// file counts as none: the bridge is still sizing it).
    fn ensure_open(
        &mut self,
        dir: &Path,
        path: &Path,
    ) -> Result<&ReadOnlyShMem<PosixShMem>, ReadError> {
        let missing = || ReadError::Missing {
            path: path.display().to_string(),
        };
        let Some(now) = identity(path).filter(|id| id.2 > 0) else {
            self.open = None;
            self.previous = None;
            return Err(missing());
        };
        if self.open.as_ref().is_some_and(|o| o.identity != now) {
            self.open = None;
            self.previous = None;
        }
        if self.open.is_none() {
            let mem = PosixShMem::open_own_in_read_only(dir, &self.file).map_err(|e| match e {
                ShMemError::NotFound { .. } => missing(),
                other => ReadError::open(path, &other),
            })?;
            // Mapped what was stat'ed, not a file that replaced it meanwhile?
            // If not, the next sample maps it again.
            let after = identity(path);
            if after == Some(now) && mem.len() as u64 == now.2 {
                self.open = Some(Opened { mem, identity: now });
            } else {
                return Err(missing());
            }
        }
        Ok(&self.open.as_ref().expect("opened above").mem)
    }
}

/// Device, inode and size of the file at `path`, not following a link.
fn identity(path: &Path) -> Option<(u64, u64, u64)> {
    let st = rustix::fs::lstat(path).ok()?;
    (rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile)
        .then_some((st.st_dev as u64, st.st_ino as u64, st.st_size as u64))
}

/// A copy of a page's bytes, and whether it is consistent.
#[derive(Debug)]
struct Copy {
    bytes: Vec<u8>,
    consistent: bool,
}

/// Copies `bytes` until the page's protocol says a copy is whole, at most
/// [`TRIES`] times.
fn stable_copy(bytes: &ReadBytes, protocol: Protocol) -> Copy {
    let counter = match protocol {
        // The mapping starts on a page boundary; the SDKs align their counters.
        Protocol::CounterAfter { offset } => Some(offset),
        Protocol::Settled => None,
    };
    stable_copy_with(
        bytes.len(),
        || counter.and_then(|at| bytes.load_atomic::<AtomicI32>(at, Ordering::Acquire).ok()),
        |dst| bytes.copy_to_slice(dst),
        || std::thread::sleep(SETTLE),
    )
}

/// The protocol of [`stable_copy`], apart from the memory it reads.
fn stable_copy_with(
    len: usize,
    mut read_counter: impl FnMut() -> Option<i32>,
    mut copy: impl FnMut(&mut [u8]),
    mut settle: impl FnMut(),
) -> Copy {
    let mut first = vec![0u8; len];
    let mut second = vec![0u8; len];
    for _ in 0..TRIES {
        let before = read_counter();
        copy(&mut first);
        settle();
        copy(&mut second);
        let after = read_counter();
        if before == after && first == second {
            return Copy {
                bytes: second,
                consistent: true,
            };
        }
    }
    Copy {
        bytes: second,
        consistent: false,
    }
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
