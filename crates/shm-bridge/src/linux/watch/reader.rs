//! Reading a title's pages from the tmpfs while the game writes them.
//!
//! Pages are copied with `pread` from a descriptor checked when it was
//! opened ([`untrusted`]): the tmpfs is shared with every local user, and
//! a file that another process truncates under a mapping would end us with
//! SIGBUS (and leave the full-screen view's terminal raw); a read of a
//! shrunk file is merely short. A file is opened anew for each sample, so
//! a bridge that was restarted (a new file under the name) is picked up.
//!
//! A copy can still catch the game halfway through an update, so each page
//! is copied the way its title family says a copy is whole
//! ([`Protocol`]): with a counter the writer bumps after each update, a
//! sample is taken as: read the counter, copy the page, pause, read the
//! counter, copy again, read the counter; it is accepted when the counters
//! and both copies agree, and retried otherwise. The pause matters: a
//! writer that has stored every field but not yet the new counter leaves
//! two quick copies equal, with the old counter; after the pause it has
//! bumped it, and the mismatch shows. Pages without a counter are accepted
//! when two copies agree. A lock kept in another mapping (Le Mans
//! Ultimate's) is read, never taken, from that mapping's file. The second
//! copy is read a chunk at a time and compared with the first, so a page
//! of hundreds of megabytes is held once, not twice. iRacing's page is
//! copied once: its writer fills the oldest of its rotating buffers and
//! only then sets that buffer's tick count, so a copy is whole for the
//! newest buffer when the highest tick count did not move while it was
//! taken.
//!
//! Nothing here writes to the pages: they are the game's.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[cfg(test)]
use super::stable::{CHUNK, Copy, stable_copy_with};
use super::stable::{Guard, Outcome, TRIES, digest, read_word, stable_copy};
use crate::core::spec::MapSpec;
use crate::linux::places;
use crate::linux::untrusted::{self, CheckedFile, OpenError, Owners};
use crate::titles::{Copies, Decoded, Family, Page, Protocol};

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
    /// The file is there but may not be read: another user's, a link, a
    /// FIFO or socket, or the OS refused.
    #[error("{0}")]
    Refused(OpenError),
    /// Reading failed.
    #[error("cannot read {path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The OS's words.
        reason: String,
    },
    /// The file became shorter while it was read: someone truncated it.
    #[error("{path} became shorter while it was read (someone truncated it); no consistent sample")]
    Shrank {
        /// The file.
        path: String,
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
    fn io(path: &Path, e: &std::io::Error) -> ReadError {
        ReadError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
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
    /// All of its bytes (shared with the reader, which compares the next
    /// sample with them).
    pub bytes: Arc<Vec<u8>>,
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

/// How long [`Reader::may_have_news`] trusts its last sample: a file
/// replaced under a page's name (a restarted bridge), a page that came or
/// went, shows within this.
pub const RELOOK: Duration = Duration::from_millis(100);

/// The pages of one title (or of the names given), opened as they appear
/// and dropped when their files go.
#[derive(Debug)]
pub struct Reader {
    dir: PathBuf,
    /// Every directory the pages may be in, `dir` among them.
    places: Vec<PathBuf>,
    family: Option<&'static dyn Family>,
    pages: Vec<PageState>,
    /// When the last sample was taken.
    last_sample: Option<Instant>,
}

#[derive(Debug)]
struct PageState {
    name: String,
    file: String,
    /// How the family reads it; `None`: shown as bytes.
    page: Option<Page>,
    /// Device and inode of the file last read; another file under the
    /// name means the bridge was restarted, and nothing of the old one
    /// is compared with it.
    identity: Option<(u64, u64)>,
    /// The last copy of a raw page, to tell what changed.
    previous: Option<Arc<Vec<u8>>>,
    /// The counter of the last whole copy of a page whose protocol is a
    /// counter written last, and a digest of its bytes.
    last_counted: Option<(u64, u64)>,
    /// The file of the last whole copy and its protocol's counters then,
    /// for a page whose counters move with every update: what
    /// [`Reader::may_have_news`] looks at.
    last_whole: Option<(CheckedFile, u64)>,
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
            places: Vec::new(),
            last_sample: None,
            family,
            pages: specs
                .iter()
                .map(|s| PageState {
                    name: s.name.to_string(),
                    file: s.file_name().to_owned(),
                    page: family.and_then(|f| f.page(s.file_name())),
                    identity: None,
                    previous: None,
                    last_counted: None,
                    last_whole: None,
                })
                .collect(),
        }
    }

    /// Looks in `places` too: while none of the pages is in the directory
    /// read, the first of them that holds one is read instead (a game of
    /// Flatpak Steam's writes in its own `/dev/shm`, others in the host's).
    pub fn also_in(mut self, places: Vec<PathBuf>) -> Reader {
        self.places = places;
        self
    }

    /// The directory read.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Moves to the first place holding one of the pages, if the directory
    /// read holds none.
    fn follow_the_pages(&mut self) {
        let holds_one = |dir: &Path| self.pages.iter().any(|p| places::is_mine_at(dir, &p.file));
        if self.places.is_empty() || holds_one(&self.dir) {
            return;
        }
        if let Some(dir) = self.places.iter().find(|d| holds_one(d)).cloned() {
            self.dir = dir;
            for page in &mut self.pages {
                page.forget();
            }
        }
    }

    /// Whether a sample taken now may hold anything the last one did not:
    /// false only while the last sample is younger than [`RELOOK`], some
    /// page has counters its writer moves with every update, and every such
    /// page was read whole last time and its counters have not moved since
    /// (pages without counters, such as AC's static page, which changes
    /// between sessions, are then read again within [`RELOOK`]). Costs a
    /// read of a word or two per page, where a sample copies every page
    /// twice: a reader that looks often between the game's frames asks
    /// this first.
    pub fn may_have_news(&self) -> bool {
        if self.last_sample.is_none_or(|at| at.elapsed() >= RELOOK) {
            return true;
        }
        let mut counting = self
            .pages
            .iter()
            .filter(|state| state.page.is_some_and(|p| p.protocol.counts_updates()))
            .peekable();
        if counting.peek().is_none() {
            return true;
        }
        counting.any(|state| {
            let (Some(page), Some((file, seen))) = (state.page, &state.last_whole) else {
                return true;
            };
            Guard::of(page.protocol, |offset| read_word(file, offset))
                .is_none_or(|now| now.value != *seen)
        })
    }

    /// Whether any page is of a layout the family decodes.
    pub fn decodes(&self) -> bool {
        self.pages.iter().any(|p| p.page.is_some())
    }

    /// Reads every page once (opening files that appeared, letting go of
    /// those that went), and decodes the family's pages.
    pub fn sample(&mut self) -> Sample {
        self.follow_the_pages();
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
        let taken = Instant::now();
        self.last_sample = Some(taken);
        Sample {
            pages,
            decoded,
            taken,
        }
    }
}

impl PageState {
    fn read(&mut self, dir: &Path, path: &Path) -> Result<Copied, ReadError> {
        let page = self.page;
        let file = self.open(dir, path)?;
        let size = file.len_now().map_err(|e| ReadError::io(path, &e))?;
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        let len = page.map_or(size, |p| p.len.min(size));
        if let Some(p) = page.filter(|p| len < p.needed) {
            return Err(ReadError::TooSmall {
                path: path.display().to_string(),
                len: size,
                what: p.label,
                needed: p.needed,
            });
        }
        let protocol = page.map_or(Protocol::Settled, |p| p.protocol);
        // A lock kept in another mapping is read from that file; without
        // it (not bridged, or still being sized), two agreeing copies.
        let (protocol, lock_file) = match protocol {
            Protocol::BusyLock { lock, busy } => {
                let holds_busy = |len: u64| len >= busy as u64 + 4;
                match untrusted::open(dir, lock.as_ref(), Owners::Mine) {
                    Ok(f) if holds_busy(f.len) => (protocol, Some(f)),
                    Ok(_) | Err(OpenError::Missing { .. }) => (Protocol::Settled, None),
                    Err(e) => return Err(ReadError::Refused(e)),
                }
            }
            _ => (protocol, None),
        };
        let words = lock_file.as_ref().unwrap_or(&file);
        // With a counter written last, a writer stalled between its fields
        // and its counter leaves copies that agree, under the old counter:
        // the same counter as the last whole copy with other bytes is that.
        // (A stall longer than SETTLE under a counter not seen before is
        // beyond what such a protocol can tell.)
        let last = self.last_counted;
        let mut counted = None;
        let mut whole_at = None;
        let copy = stable_copy(&file, words, len, protocol, |bytes, guard| {
            whole_at = guard
                .filter(|g| g.one_copy || !matches!(protocol, Protocol::NewestTick { .. }))
                .map(|g| g.value);
            let Some(guard) = guard.filter(|_| matches!(protocol, Protocol::CounterAfter { .. }))
            else {
                return true;
            };
            let digest = digest(bytes);
            counted = Some((guard.value, digest));
            last.is_none_or(|(value, seen)| value != guard.value || seen == digest)
        })
        .map_err(|e| ReadError::io(path, &e))?;
        self.last_whole = None;
        if copy.outcome == Outcome::Consistent {
            self.last_counted = counted;
            // A lock's word is no counter: it says nothing of news.
            let counts = lock_file.is_none() && protocol.counts_updates();
            if let Some(value) = whole_at.filter(|_| counts) {
                self.last_whole = Some((file, value));
            }
        }
        let Some(page) = page else {
            let changed = match &self.previous {
                Some(prev) if prev.len() == copy.bytes.len() => {
                    prev.iter().zip(&copy.bytes).filter(|(a, b)| a != b).count()
                }
                Some(_) => copy.bytes.len(),
                None => 0,
            };
            // Shared, not copied: a raw page can be hundreds of megabytes.
            let bytes = Arc::new(copy.bytes);
            self.previous = Some(bytes.clone());
            return Ok(Copied::Raw(RawPage {
                bytes,
                changed,
                consistent: copy.outcome == Outcome::Consistent,
            }));
        };
        match copy.outcome {
            Outcome::Consistent => Ok(Copied::Page(page.label, copy.bytes)),
            Outcome::Changing => Err(ReadError::Unstable {
                path: path.display().to_string(),
                tries: TRIES,
            }),
            Outcome::Shrank => Err(ReadError::Shrank {
                path: path.display().to_string(),
            }),
        }
    }

    /// The file now at `path`, checked (ours, regular, one name); `Missing`
    /// when there is none (an empty file counts as none: the bridge is
    /// still sizing it). A file other than the last one read starts afresh.
    fn open(&mut self, dir: &Path, path: &Path) -> Result<CheckedFile, ReadError> {
        let missing = || ReadError::Missing {
            path: path.display().to_string(),
        };
        let opened = untrusted::open(dir, self.file.as_ref(), Owners::Mine);
        let file = match opened {
            Ok(file) if file.len > 0 => file,
            Ok(_) | Err(OpenError::Missing { .. }) => {
                self.forget();
                return Err(missing());
            }
            Err(e) => {
                self.forget();
                return Err(ReadError::Refused(e));
            }
        };
        if self.identity != Some(file.identity) {
            self.forget();
            self.identity = Some(file.identity);
        }
        Ok(file)
    }

    fn forget(&mut self) {
        self.identity = None;
        self.last_whole = None;
        self.previous = None;
        self.last_counted = None;
    }
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
