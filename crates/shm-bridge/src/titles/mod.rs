//! What the project knows of each title, one file per family of titles that
//! share page layouts: which of a title's files it decodes, how a copy of
//! each is known to be whole, and how the pages become the [`Telemetry`]
//! every view shows. The presets table (`presets.toml`) stays the one source
//! of mapping names and sizes, and names a title's family (`family = "ac"`).
//!
//! Adding a decoder is adding a file here that defines `pub static FAMILY`
//! (a value implementing [`Family`]) and naming it in the presets table;
//! `build.rs` registers every file of this directory.

use serde_json::Value;

use crate::core::presets::Preset;
use crate::model::Telemetry;
use crate::scenario::Scenario;

include!(concat!(env!("OUT_DIR"), "/families.rs"));

/// A family of titles whose pages share layouts.
pub trait Family: Sync + std::fmt::Debug {
    /// The name the presets table's `family` field uses.
    fn key(&self) -> &'static str;

    /// How to read the file `file` (a mapping's file name), if it is one of
    /// this family's pages; `None` leaves it to be shown as bytes.
    fn page(&self, file: &str) -> Option<Page>;

    /// The model and the family's own view of a sample's pages: each page
    /// this family knew and could read, as one consistent copy.
    fn decode(&self, pages: &Copies<'_>) -> Decoded;

    /// A known session of the family's pages, for the stand-in and tests.
    fn scenario(&self) -> Option<&'static dyn Scenario> {
        None
    }
}

/// One page of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Its name in the views and in JSON (`physics`).
    pub label: &'static str,
    /// Bytes to copy: its layout's size (the files are often larger).
    pub len: usize,
    /// Bytes the decoder reads at least; a shorter file is refused.
    pub needed: usize,
    /// How a copy is known to be whole.
    pub protocol: Protocol,
}

/// How a writer lets readers know a copy of its page is whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Nothing: a copy is taken as whole when two agree.
    Settled,
    /// A little-endian `i32` at `offset` the writer bumps after each update
    /// (AC's `packetId`): whole when it is the same before and after two
    /// copies that agree.
    CounterAfter {
        /// Where the counter is.
        offset: usize,
    },
    /// Two little-endian `u32`s the writer raises, `begin` before an update
    /// and `end` after it (rFactor 2's `mVersionUpdateBegin`/`End`): whole
    /// when they are equal, and the same, before and after two copies that
    /// agree.
    VersionPair {
        /// Where `begin` is.
        begin: usize,
        /// Where `end` is.
        end: usize,
    },
    /// A little-endian `u32` the writer makes odd while it writes (Project
    /// CARS 2's `mSequenceNumber`): whole when it is even, and the same,
    /// before and after two copies that agree.
    OddWhileWriting {
        /// Where the sequence number is.
        offset: usize,
    },
    /// iRacing's rotating buffers (`irsdk_header`): a little-endian `i32`
    /// at `count` says how many buffers there are (2 to 4), each with an
    /// `i32` tick count (the first at `ticks`, the next `stride` bytes on)
    /// that the writer sets after filling that buffer, always the oldest;
    /// a `u32` at `rare` is raised after the rarely rewritten rest (the
    /// session info). Whole in one copy when the highest tick count and
    /// `rare` are the same before and after it (and a pause): the newest
    /// buffer, the one the decoder reads, was not being written. A header
    /// with another count of buffers is copied as `Settled` pages are.
    NewestTick {
        /// Where the count of buffers is (`numBuf`).
        count: usize,
        /// Where the first buffer's tick count is (`varBuf[0].tickCount`).
        ticks: usize,
        /// Bytes from one tick count to the next.
        stride: usize,
        /// Where the counter of the rest is (`sessionInfoUpdate`).
        rare: usize,
    },
    /// A spin lock the writer holds while it writes, kept in another
    /// mapping (Le Mans Ultimate's `LMU_SharedMemoryLockData`, `{LONG
    /// waiters; LONG busy}`): the little-endian `i32` at `busy` of the file
    /// `lock` is 1 while someone holds it. The lock is never taken: that
    /// would write to the game's page and could make the game wait. A copy
    /// is whole when `busy` reads 0 before, between and after two copies
    /// that agree: a write in progress across the read between the copies
    /// is seen there, and any other write that changed the bytes while
    /// they were copied makes the copies differ. Without the lock's file
    /// (not bridged), as [`Protocol::Settled`].
    BusyLock {
        /// The lock's mapping, by file name.
        lock: &'static str,
        /// Where `busy` is in it.
        busy: usize,
    },
}

impl Protocol {
    /// Whether its words move with every update of the page, so that a
    /// page whose words have not moved since a whole copy has not changed.
    pub fn counts_updates(self) -> bool {
        !matches!(self, Protocol::Settled | Protocol::BusyLock { .. })
    }
}

/// The consistent copies of a sample's pages, by label.
#[derive(Debug, Default)]
pub struct Copies<'a> {
    pages: Vec<(&'static str, &'a [u8])>,
}

impl<'a> Copies<'a> {
    /// Adds the copy of the page `label`.
    pub fn push(&mut self, label: &'static str, bytes: &'a [u8]) {
        self.pages.push((label, bytes));
    }

    /// The copy of the page `label`, if it was read.
    pub fn get(&self, label: &str) -> Option<&'a [u8]> {
        self.pages
            .iter()
            .find(|(l, _)| *l == label)
            .map(|(_, b)| *b)
    }
}

/// What a family made of a sample.
#[derive(Debug, Clone, Default)]
pub struct Decoded {
    /// The model every view shows.
    pub telemetry: Telemetry,
    /// Each page decoded in the family's own terms, by label (`--json`).
    pub pages: Vec<(&'static str, Value)>,
    /// What else the title tells, as labelled lines for the text views
    /// (versions, the pages' counters).
    pub notes: Vec<(&'static str, String)>,
}

impl Decoded {
    /// The note `label`, if the family left one.
    pub fn note(&self, label: &str) -> Option<&str> {
        self.notes
            .iter()
            .find(|(l, _)| *l == label)
            .map(|(_, n)| n.as_str())
    }
}

/// The family called `key`.
pub fn family(key: &str) -> Option<&'static dyn Family> {
    FAMILIES.iter().copied().find(|f| f.key() == key)
}

/// The family a preset names, if it names a known one.
pub fn of_preset(preset: &Preset) -> Option<&'static dyn Family> {
    preset.family.as_deref().and_then(family)
}

/// The family that decodes one of `files` (mappings' file names), for
/// mappings named one by one rather than by title.
pub fn of_files(files: &[&str]) -> Option<&'static dyn Family> {
    FAMILIES
        .iter()
        .copied()
        .find(|f| files.iter().any(|file| f.page(file).is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::presets::Presets;
    use crate::scenario::Publish;

    #[test]
    fn every_family_named_by_a_preset_exists_and_every_family_is_named() {
        let presets = Presets::builtin();
        for game in presets.games() {
            if let Some(key) = &game.family {
                assert!(family(key).is_some(), "{}: no family {key:?}", game.title);
            }
        }
        for f in FAMILIES {
            assert!(
                presets
                    .games()
                    .iter()
                    .any(|g| g.family.as_deref() == Some(f.key())),
                "no title uses the family {}",
                f.key()
            );
        }
    }

    /// Whether a reader following `protocol` takes whole the copies a
    /// writer publishing as `publish` makes: the two enums are written
    /// apart (the writer needs sizes the reader finds in the page).
    fn pairs(protocol: Protocol, publish: Publish) -> bool {
        match (protocol, publish) {
            (Protocol::Settled, Publish::Plain) => true,
            (Protocol::CounterAfter { offset: read }, Publish::CounterLast { offset: written }) => {
                read == written
            }
            (
                Protocol::VersionPair { begin, end },
                Publish::VersionPair {
                    begin: written_begin,
                    end: written_end,
                },
            ) => (begin, end) == (written_begin, written_end),
            (
                Protocol::OddWhileWriting { offset: read },
                Publish::OddWhileWriting { offset: written },
            ) => read == written,
            (Protocol::NewestTick { ticks, stride, .. }, Publish::NextBuffer { tick, .. }) => {
                tick >= ticks && (tick - ticks) % stride == 0
            }
            (
                Protocol::BusyLock { lock, busy },
                Publish::UnderLock {
                    lock: written_lock,
                    busy: written_busy,
                },
            ) => (lock, busy) == (written_lock, written_busy),
            _ => false,
        }
    }

    #[test]
    fn every_scenario_publishes_its_pages_as_their_reader_expects() {
        for family in FAMILIES {
            let Some(scenario) = family.scenario() else {
                continue;
            };
            for n in [1, 2, 3, 4, 5] {
                for update in scenario.frame(n) {
                    let page = family.page(update.file).expect("a page of the family");
                    assert!(
                        pairs(page.protocol, update.publish),
                        "{}: {} is read as {:?} and written as {:?}",
                        family.key(),
                        update.file,
                        page.protocol,
                        update.publish
                    );
                }
            }
        }
    }

    #[test]
    fn every_scenario_decodes_to_the_model_it_expects() {
        for family in FAMILIES {
            let Some(scenario) = family.scenario() else {
                continue;
            };
            for n in [1, 2, 599, 6001, 123_457] {
                let frame = scenario.frame(n);
                let mut copies = Copies::default();
                for update in &frame {
                    let page = family.page(update.file).expect("a page of the family");
                    let len = page.len.min(update.bytes.len());
                    copies.push(page.label, &update.bytes[..len]);
                }
                let decoded = family.decode(&copies);
                let differences =
                    crate::scenario::differences(&decoded.telemetry, &scenario.expected(n));
                assert!(
                    differences.is_empty(),
                    "{}, frame {n}: {differences:?}",
                    family.key()
                );
                assert_eq!(scenario.expected(n).update, Some(i64::from(n)));
                for (label, page) in &decoded.pages {
                    scenario
                        .check_page(label, page)
                        .unwrap_or_else(|e| panic!("{}, frame {n}: {e}", family.key()));
                }
            }
        }
    }
}
