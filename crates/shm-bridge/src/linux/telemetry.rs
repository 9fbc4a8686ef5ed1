//! Reading a title's pages from the tmpfs while the game writes them.
//!
//! Every byte comes through the `shmem` library's volatile copies, never
//! through a `&[u8]` into the mapping: the game changes the pages under
//! us, which a plain slice would promise the compiler cannot happen.
//!
//! A copy can still catch the game halfway through an update. ACC-layout
//! pages carry a packet id the game bumps after each update, so a sample is
//! taken as: read the id, copy the page, pause, copy again, read the id; it
//! is accepted when both ids and both copies agree, and retried otherwise.
//! The pause matters: a writer that has stored every field but not yet the
//! new id leaves two quick copies equal, with the old id; after the pause
//! it has bumped the id, and the mismatch shows. Pages without an id (the
//! static page, unknown layouts) are accepted when two copies agree.
//!
//! Nothing here writes to the pages: they are the game's.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use shmem::{PosixShMem, ShBytes, ShMemError};

use crate::acc::{self, Graphics, Physics, Static};
use crate::spec::MapSpec;

/// How often a sample that changed while it was read is taken again.
pub const TRIES: u32 = 50;

/// Between the two copies of one try: long enough for a writer caught
/// between its fields and its packet id to finish, short against the
/// game's update period (ACC's physics runs at about 300 Hz).
const SETTLE: Duration = Duration::from_micros(300);

/// How a page is read, chosen by its file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `acpmf_physics` (AC, ACC, AC EVO, AC Rally).
    Physics,
    /// `acpmf_graphics`.
    Graphics,
    /// `acpmf_static`.
    Static,
    /// Anything else: bytes.
    Raw,
}

impl Layout {
    /// The layout of the file `file_name`.
    pub fn of(file_name: &str) -> Layout {
        match file_name {
            acc::PHYSICS => Layout::Physics,
            acc::GRAPHICS => Layout::Graphics,
            acc::STATIC => Layout::Static,
            _ => Layout::Raw,
        }
    }

    /// Bytes read for a sample: the SDK struct (the files are larger), or
    /// all of an unknown page.
    fn read_len(self, file_len: usize) -> usize {
        match self {
            Layout::Physics => acc::PHYSICS_LEN.min(file_len),
            Layout::Graphics => acc::GRAPHICS_LEN.min(file_len),
            Layout::Static => acc::STATIC_LEN.min(file_len),
            Layout::Raw => file_len,
        }
    }

    /// Bytes the decoder needs: up to the end of the last field shown
    /// (Assetto Corsa's pages are shorter than ACC's, but not that short).
    fn needed(self) -> usize {
        match self {
            Layout::Physics => 44,
            Layout::Graphics => 144,
            Layout::Static => 420,
            Layout::Raw => 1,
        }
    }

    /// Whether the page starts with a packet id the writer bumps last.
    fn has_packet_id(self) -> bool {
        matches!(self, Layout::Physics | Layout::Graphics)
    }

    fn what(self) -> &'static str {
        match self {
            Layout::Physics => "ACC physics",
            Layout::Graphics => "ACC graphics",
            Layout::Static => "ACC static",
            Layout::Raw => "raw",
        }
    }
}

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
    #[error("cannot map {path}")]
    Open {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: ShMemError,
    },
    /// The file is shorter than the fields decoded from it.
    #[error("{path} holds {len} bytes, too few for the {what} page ({needed} needed)")]
    TooSmall {
        /// The file.
        path: String,
        /// Its size.
        len: usize,
        /// The layout expected.
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

/// What one page held.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// A decoded physics page.
    Physics(Physics),
    /// A decoded graphics page.
    Graphics(Graphics),
    /// A decoded static page.
    Static(Static),
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

/// Every page, read once.
#[derive(Debug)]
pub struct Sample {
    /// In the order the mappings were given.
    pub pages: Vec<PageSample>,
    /// When it was taken.
    pub taken: Instant,
}

impl Sample {
    /// The decoded physics page, if read.
    pub fn physics(&self) -> Option<&Physics> {
        self.readings().find_map(|r| match r {
            Reading::Physics(p) => Some(p),
            _ => None,
        })
    }

    /// The decoded graphics page, if read.
    pub fn graphics(&self) -> Option<&Graphics> {
        self.readings().find_map(|r| match r {
            Reading::Graphics(g) => Some(g),
            _ => None,
        })
    }

    /// The decoded static page, if read.
    pub fn statics(&self) -> Option<&Static> {
        self.readings().find_map(|r| match r {
            Reading::Static(s) => Some(s),
            _ => None,
        })
    }

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
                Err(e) => Some(format!("{e:#}")),
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

    fn readings(&self) -> impl Iterator<Item = &Reading> {
        self.pages.iter().filter_map(|p| p.result.as_ref().ok())
    }
}

/// The pages of one title (or of the names given), opened as they appear
/// and dropped when their files go.
#[derive(Debug)]
pub struct Telemetry {
    dir: PathBuf,
    pages: Vec<Page>,
}

#[derive(Debug)]
struct Page {
    name: String,
    file: String,
    layout: Layout,
    open: Option<Opened>,
    /// The last copy of a raw page, to tell what changed.
    previous: Option<Vec<u8>>,
}

#[derive(Debug)]
struct Opened {
    mem: PosixShMem,
    /// Device, inode and size of the file mapped; another file (or size)
    /// under the same name means the bridge was restarted: map it again.
    identity: (u64, u64, u64),
}

impl Telemetry {
    /// The pages of `specs` in `dir`; nothing is opened yet.
    pub fn new(dir: &Path, specs: &[MapSpec]) -> Telemetry {
        Telemetry {
            dir: dir.to_owned(),
            pages: specs
                .iter()
                .map(|s| Page {
                    name: s.name.to_string(),
                    file: s.file_name().to_owned(),
                    layout: Layout::of(s.file_name()),
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

    /// Whether any page is of a known layout (the ACC family's).
    pub fn decodes(&self) -> bool {
        self.pages.iter().any(|p| p.layout != Layout::Raw)
    }

    /// Reads every page once (opening files that appeared, letting go of
    /// those that went).
    pub fn sample(&mut self) -> Sample {
        let pages = self
            .pages
            .iter_mut()
            .map(|page| {
                let path = self.dir.join(&page.file);
                let result = page.read(&self.dir, &path);
                PageSample {
                    name: page.name.clone(),
                    path,
                    result,
                }
            })
            .collect();
        Sample {
            pages,
            taken: Instant::now(),
        }
    }
}

impl Page {
    fn read(&mut self, dir: &Path, path: &Path) -> Result<Reading, ReadError> {
        let shown = path.display().to_string();
        let layout = self.layout;
        let copy = {
            let mem = self.ensure_open(dir, path)?;
            let len = layout.read_len(mem.len());
            if len < layout.needed() {
                return Err(ReadError::TooSmall {
                    path: shown,
                    len: mem.len(),
                    what: layout.what(),
                    needed: layout.needed(),
                });
            }
            stable_copy(&mem[..len], layout.has_packet_id())
        };
        if !copy.consistent && layout != Layout::Raw {
            return Err(ReadError::Unstable {
                path: shown,
                tries: TRIES,
            });
        }
        Ok(match layout {
            Layout::Physics => Reading::Physics(Physics::decode(&copy.bytes)),
            Layout::Graphics => Reading::Graphics(Graphics::decode(&copy.bytes)),
            Layout::Static => Reading::Static(Static::decode(&copy.bytes)),
            Layout::Raw => {
                let changed = match &self.previous {
                    Some(prev) if prev.len() == copy.bytes.len() => {
                        prev.iter().zip(&copy.bytes).filter(|(a, b)| a != b).count()
                    }
                    Some(_) => copy.bytes.len(),
                    None => 0,
                };
                self.previous = Some(copy.bytes.clone());
                Reading::Raw(RawPage {
                    bytes: copy.bytes,
                    changed,
                    consistent: copy.consistent,
                })
            }
        })
    }

    /// The mapping of the file now at `path`, (re)opened when the file
    /// appeared or was replaced; `Missing` when there is none (an empty
    /// file counts as none: the bridge is still sizing it).
    fn ensure_open(&mut self, dir: &Path, path: &Path) -> Result<&PosixShMem, ReadError> {
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
            let mem = PosixShMem::open_own_in(dir, &self.file).map_err(|e| match e {
                ShMemError::NotFound { .. } => missing(),
                source => ReadError::Open {
                    path: path.display().to_string(),
                    source,
                },
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

/// A copy of `bytes`, and whether it is consistent.
#[derive(Debug)]
struct Copy {
    bytes: Vec<u8>,
    consistent: bool,
}

/// Copies `bytes` until two copies (and, with `packet_id`, the packet ids
/// read before and after them) agree, at most [`TRIES`] times.
fn stable_copy(bytes: &ShBytes, packet_id: bool) -> Copy {
    // The mapping starts on a page boundary, so the id at 0 is aligned.
    // SAFETY: this process only reads the page (the id through this view,
    // everything through copies that read): reads of different sizes may overlap.
    let id = packet_id
        .then(|| unsafe { bytes.atomic::<AtomicI32>(0) }.ok())
        .flatten();
    stable_copy_with(
        bytes.len(),
        || id.map(|a| a.load(Ordering::Acquire)),
        |dst| bytes.copy_to_slice(dst),
        || std::thread::sleep(SETTLE),
    )
}

/// The protocol of [`stable_copy`], apart from the memory it reads.
fn stable_copy_with(
    len: usize,
    mut read_id: impl FnMut() -> Option<i32>,
    mut copy: impl FnMut(&mut [u8]),
    mut settle: impl FnMut(),
) -> Copy {
    let mut first = vec![0u8; len];
    let mut second = vec![0u8; len];
    for _ in 0..TRIES {
        let before = read_id();
        copy(&mut first);
        settle();
        copy(&mut second);
        let after = read_id();
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
mod tests {
    use super::*;
    use crate::spec;

    struct Dir(PathBuf);

    impl Dir {
        fn new() -> Dir {
            let path = std::env::temp_dir().join(format!(
                "shm-bridge-telemetry-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir(&path).unwrap();
            Dir(path)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn specs(names: &[&str]) -> Vec<MapSpec> {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        spec::from_flags(&names, &[]).unwrap()
    }

    #[test]
    fn pages_appear_are_decoded_and_go() {
        let dir = Dir::new();
        let mut t = Telemetry::new(&dir.0, &specs(&["Local\\acpmf_physics", "acpmf_static"]));
        let first = t.sample();
        assert_eq!(first.missing(), ["Local\\acpmf_physics", "acpmf_static"]);
        let err = first.into_complete().unwrap_err().to_string();
        assert!(
            err.contains("acpmf_physics does not exist") && err.contains("shm-bridge"),
            "{err}"
        );

        let physics = PosixShMem::create_in(&dir.0, "acpmf_physics", 2048, 0o600).unwrap();
        let statics = PosixShMem::create_in(&dir.0, "acpmf_static", 2048, 0o600).unwrap();
        let mut page = vec![0u8; 2048];
        acc::synthetic::physics(77).encode(&mut page);
        physics.copy_from_slice(&page);
        page.fill(0);
        acc::synthetic::statics().encode(&mut page);
        statics.copy_from_slice(&page);
        let s = t.sample().into_complete().unwrap();
        assert_eq!(s.physics(), Some(&acc::synthetic::physics(77)));
        assert_eq!(s.statics(), Some(&acc::synthetic::statics()));
        assert_eq!(s.graphics(), None);

        drop(physics);
        let s = t.sample();
        assert_eq!(s.missing(), ["Local\\acpmf_physics"], "gone with its file");
        assert!(s.statics().is_some());
    }

    #[test]
    fn raw_pages_report_what_changed_and_short_files_are_refused() {
        let dir = Dir::new();
        let mut t = Telemetry::new(&dir.0, &specs(&["$R3E", "acpmf_graphics"]));
        let raw = PosixShMem::create_in(&dir.0, "$R3E", 64, 0o600).unwrap();
        let _short = PosixShMem::create_in(&dir.0, "acpmf_graphics", 100, 0o600).unwrap();
        raw.copy_from_slice(&[7; 64]);
        let s = t.sample();
        let (_, page) = s.raw().next().unwrap();
        assert_eq!((page.bytes.as_slice(), page.changed), (&[7u8; 64][..], 0));
        assert!(page.consistent);
        let problems = s.problems();
        assert!(
            problems[0].contains("holds 100 bytes") && problems[0].contains("144 needed"),
            "{problems:?}"
        );
        raw[10..13].copy_from_slice(&[1, 2, 3]);
        let s = t.sample();
        assert_eq!(s.raw().next().unwrap().1.changed, 3);
    }

    #[test]
    fn a_replaced_file_is_mapped_again() {
        let dir = Dir::new();
        let mut t = Telemetry::new(&dir.0, &specs(&["x"]));
        let a = PosixShMem::create_in(&dir.0, "x", 16, 0o600).unwrap();
        a.copy_from_slice(&[1; 16]);
        assert_eq!(t.sample().raw().next().unwrap().1.bytes, [1; 16]);
        drop(a);
        let b = PosixShMem::create_in(&dir.0, "x", 32, 0o600).unwrap();
        b.copy_from_slice(&[2; 32]);
        assert_eq!(t.sample().raw().next().unwrap().1.bytes, [2; 32]);
    }

    /// A page whose bytes are `writes[n]` while the n-th write is in force;
    /// each call of `step` moves to the next write.
    struct Scripted {
        writes: Vec<(i32, u8)>,
        at: usize,
    }

    impl Scripted {
        fn run(writes: Vec<(i32, u8)>, step_on_copy: bool) -> (Copy, usize) {
            let page = std::cell::RefCell::new(Scripted { writes, at: 0 });
            let step = || {
                let mut p = page.borrow_mut();
                p.at = (p.at + 1).min(p.writes.len() - 1);
            };
            let copy = stable_copy_with(
                4,
                || Some(page.borrow().writes[page.borrow().at].0),
                |dst| {
                    dst.fill(page.borrow().writes[page.borrow().at].1);
                    if step_on_copy {
                        step();
                    }
                },
                || {
                    if !step_on_copy {
                        step();
                    }
                },
            );
            let at = page.borrow().at;
            (copy, at)
        }
    }

    #[test]
    fn a_sample_is_taken_again_until_it_held_still() {
        // Fields change under every copy for three writes, then settle.
        let (copy, _) = Scripted::run(vec![(1, 1), (2, 2), (3, 3), (4, 4), (4, 4)], true);
        assert!(copy.consistent);
        assert_eq!(copy.bytes, [4; 4]);
        // The writer stored its fields but not yet its id when the first copy
        // was taken; equal copies, but the id moved: taken again.
        let (copy, at) = Scripted::run(vec![(1, 2), (2, 2), (2, 2)], false);
        assert!(copy.consistent);
        assert_eq!(copy.bytes, [2; 4]);
        assert!(at >= 2, "the first try was refused");
        // A page that never holds still is reported after TRIES tries.
        let writes = (0..=2 * TRIES as i32 + 2).map(|n| (n, n as u8)).collect();
        let (copy, at) = Scripted::run(writes, true);
        assert!(!copy.consistent);
        assert_eq!(at, 2 * TRIES as usize, "two copies per try");
    }
}
