//! Known sessions that a stand-in writes the way a title's game does.
//!
//! Frame `n` of a scenario is a pure function of `n`: its pages' bytes, how
//! the game publishes each (the title's update protocol), and the model a
//! reader must make of them. The Windows stand-in (`sim-standin scenario`)
//! writes them into the bridged mappings under Wine; tests compare what
//! `watch` decodes with [`Scenario::expected`], which each title writes
//! from its scenario's numbers, not through its decoder.

use std::sync::atomic::{AtomicI32, AtomicU32, Ordering, fence};

use shmem::{AtomicView, ShBytes, ShMemError};

use crate::model::Telemetry;

/// A title family's known session.
pub trait Scenario: Sync {
    /// Frame `n`'s pages, by mapping file name.
    fn frame(&self, n: u32) -> Vec<Update>;

    /// The model a reader makes of frame `n` (its `title` left `None`);
    /// its `update` says `n`.
    fn expected(&self, n: u32) -> Telemetry;

    /// Whether the page `label`, as the family shows it (`watch --json`'s
    /// `pages`), is all of one frame; what is mixed if not. The frames of
    /// two pages may differ (games update them apart); one page's fields
    /// never may.
    fn check_page(&self, label: &str, page: &serde_json::Value) -> Result<(), String>;
}

/// A page as the family shows it (`watch --json`'s `pages`), read back as
/// the family's view `T`, for [`Scenario::check_page`].
pub fn page_as<T: serde::de::DeserializeOwned>(page: &serde_json::Value) -> Result<T, String> {
    serde_json::from_value(page.clone()).map_err(|e| e.to_string())
}

/// [`Scenario::check_page`]'s answer for a page that is `whole` (the very
/// copy the scenario wrote for one packet) or not.
pub fn one_packet(label: &str, page: &serde_json::Value, whole: bool) -> Result<(), String> {
    if whole {
        Ok(())
    } else {
        Err(format!("{label} is not one packet's: {page}"))
    }
}

/// How `got` differs from `want`, field by field; numbers agree within a
/// millionth (relative) or 1e-6, so that units converted in another order
/// still match. Empty when they are the same.
pub fn differences(got: &Telemetry, want: &Telemetry) -> Vec<String> {
    json_differences(
        &serde_json::to_value(got).unwrap_or_default(),
        &serde_json::to_value(want).unwrap_or_default(),
    )
}

/// How the JSON `got` differs from `want`, as [`differences`] tells: for
/// pages whose numbers went through JSON (a parsed `f64` may be a unit in
/// the last place off).
pub fn json_differences(got: &serde_json::Value, want: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    compare("", got, want, &mut out);
    out
}

fn compare(at: &str, got: &serde_json::Value, want: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    match (got, want) {
        (Value::Number(g), Value::Number(w)) => {
            let (g, w) = (
                g.as_f64().unwrap_or(f64::NAN),
                w.as_f64().unwrap_or(f64::NAN),
            );
            if (g - w).abs() > 1e-6_f64.max(w.abs() * 1e-6) {
                out.push(format!("{at}: {g}, expected {w}"));
            }
        }
        (Value::Object(g), Value::Object(w)) => {
            for (key, wv) in w {
                let gv = g.get(key).unwrap_or(&Value::Null);
                compare(&format!("{at}.{key}"), gv, wv, out);
            }
            for key in g.keys().filter(|k| !w.contains_key(*k)) {
                out.push(format!("{at}.{key}: not expected"));
            }
        }
        (Value::Array(g), Value::Array(w)) if g.len() == w.len() => {
            for (i, (gv, wv)) in g.iter().zip(w).enumerate() {
                compare(&format!("{at}[{i}]"), gv, wv, out);
            }
        }
        (g, w) if g != w => out.push(format!("{at}: {g}, expected {w}")),
        _ => {}
    }
}

/// One page of a frame.
#[derive(Debug, Clone)]
pub struct Update {
    /// The mapping's file name (`acpmf_physics`).
    pub file: &'static str,
    /// The page's bytes from its start (the mapping may be larger).
    pub bytes: Vec<u8>,
    /// How the game makes a new copy known.
    pub publish: Publish,
}

impl Update {
    /// A page of `len` bytes, zero but for what `encode` writes.
    pub fn encoded(
        file: &'static str,
        len: usize,
        publish: Publish,
        encode: impl FnOnce(&mut [u8]),
    ) -> Update {
        let mut bytes = vec![0u8; len];
        encode(&mut bytes);
        Update {
            file,
            bytes,
            publish,
        }
    }
}

/// How a game publishes an update of a page, so that readers can tell a
/// whole copy from one taken while it wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publish {
    /// Written as it is: a page written once, or a title with no protocol.
    Plain,
    /// The fields, then the little-endian `i32` counter at `offset`, which
    /// moves with each update (AC's `packetId`).
    CounterLast {
        /// Where the counter is.
        offset: usize,
    },
    /// rFactor 2's: the `u32` at `begin` set to the update's version (the
    /// one its bytes carry there: the game raises it by one each update, as
    /// frames written in order do), the fields, then the `u32` at `end`
    /// made equal to it.
    VersionPair {
        /// `mVersionUpdateBegin`.
        begin: usize,
        /// `mVersionUpdateEnd`.
        end: usize,
    },
    /// Project CARS 2's `mSequenceNumber`, one more at the start of an
    /// update and one more at its end: the `u32` at `offset` made the
    /// frame's even number less one, the fields, then the frame's number
    /// (so that a held frame shows the number its frame has).
    OddWhileWriting {
        /// Where the sequence number is.
        offset: usize,
    },
    /// iRacing's (`irsdk_server.cpp`, `pollSampleVars`): the rest of the
    /// page as it is, then the variable buffer of `len` bytes at `buffer`
    /// (the oldest, which readers have left), then its little-endian `i32`
    /// tick count at `tick`.
    NextBuffer {
        /// The buffer's tick count (`varBuf[i].tickCount`).
        tick: usize,
        /// Where the buffer starts (`varBuf[i].bufOffset`).
        buffer: usize,
        /// Its length.
        len: usize,
    },
    /// Le Mans Ultimate's: the fields written while holding the game's
    /// spin lock, the little-endian `i32` at `busy` of the mapping file
    /// `lock`, taken from 0 to 1 before and set back to 0 after (the SDK's
    /// `SharedMemoryLock`; see [`Update::publish_with`]).
    UnderLock {
        /// The lock's mapping, by file name.
        lock: &'static str,
        /// Where `busy` is in it.
        busy: usize,
    },
}

impl Update {
    /// Writes the update into `page` as the game does. `midway` runs
    /// between the two halves of the fields: a stand-in that pauses there
    /// is caught mid-write by any reader that ignores the protocol.
    pub fn publish(&self, page: &mut ShBytes, midway: impl FnMut()) -> Result<(), ShMemError> {
        self.publish_with(page, None, midway)
    }

    /// As [`Update::publish`], with the `busy` word of the lock a
    /// [`Publish::UnderLock`] update takes (an error without it).
    pub fn publish_with(
        &self,
        page: &mut ShBytes,
        lock: Option<&AtomicI32>,
        mut midway: impl FnMut(),
    ) -> Result<(), ShMemError> {
        let len = self.bytes.len().min(page.len());
        let bytes = &self.bytes[..len];
        // The words of the protocol are written by the protocol, not with the fields.
        let words: &[usize] = match self.publish {
            Publish::Plain | Publish::UnderLock { .. } => &[],
            Publish::CounterLast { offset } | Publish::OddWhileWriting { offset } => &[offset],
            Publish::NextBuffer { tick, .. } => &[tick],
            Publish::VersionPair { begin, end } => &[begin, end],
        };
        let fields = |page: &ShBytes, midway: &mut dyn FnMut()| {
            write_except(page, bytes, words, 0..len, midway);
        };
        match self.publish {
            Publish::Plain => fields(page, &mut midway),
            Publish::CounterLast { offset } => {
                fields(page, &mut midway);
                let value = i32::from_le_bytes(word_of(bytes, offset));
                counter::<AtomicI32>(page, offset)?.store(value, Ordering::Release);
            }
            Publish::VersionPair { begin, end } => {
                let version = u32::from_le_bytes(word_of(bytes, begin));
                counter::<AtomicU32>(page, begin)?.store(version, Ordering::Relaxed);
                fence(Ordering::Release);
                fields(page, &mut midway);
                counter::<AtomicU32>(page, end)?.store(version, Ordering::Release);
            }
            Publish::OddWhileWriting { offset } => {
                let done = u32::from_le_bytes(word_of(bytes, offset)) & !1;
                let writing = done.wrapping_sub(1);
                counter::<AtomicU32>(page, offset)?.store(writing, Ordering::Relaxed);
                fence(Ordering::Release);
                fields(page, &mut midway);
                counter::<AtomicU32>(page, offset)?.store(done, Ordering::Release);
            }
            Publish::NextBuffer {
                tick,
                buffer,
                len: n,
            } => {
                let start = buffer.min(len);
                let end = buffer.saturating_add(n).min(len);
                write_except(page, bytes, words, 0..start, &mut || {});
                write_except(page, bytes, words, end..len, &mut || {});
                write_except(page, bytes, words, start..end, &mut midway);
                let value = i32::from_le_bytes(word_of(bytes, tick));
                counter::<AtomicI32>(page, tick)?.store(value, Ordering::Release);
            }
            Publish::UnderLock { busy, .. } => {
                let lock = lock.ok_or(ShMemError::OutOfBounds {
                    what: "the lock of an update written under it (no lock page given)",
                    offset: busy,
                    needed: 4,
                    len: 0,
                })?;
                // As the SDK's Lock(): spin until busy goes from 0 to 1,
                // then give the CPU up between tries (readers that take it
                // hold it for one copy).
                let mut spins = 0u32;
                while lock
                    .compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed)
                    .is_err()
                {
                    spins = spins.saturating_add(1);
                    if spins < 4000 {
                        std::hint::spin_loop();
                    } else {
                        std::thread::yield_now();
                    }
                }
                fields(page, &mut midway);
                lock.store(0, Ordering::Release);
            }
        }
        Ok(())
    }
}

/// Copies the `span` of `bytes` into `page` but for the 4-byte `words`,
/// in two halves with `midway` between them.
fn write_except(
    page: &ShBytes,
    bytes: &[u8],
    words: &[usize],
    span: std::ops::Range<usize>,
    midway: &mut dyn FnMut(),
) {
    let len = span.end.min(bytes.len());
    let start = span.start.min(len);
    let half = start + (len - start) / 2;
    let mut cuts = vec![start, half, len];
    for &word in words {
        cuts.extend([word.clamp(start, len), (word + 4).clamp(start, len)]);
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut paused = false;
    for span in cuts.windows(2) {
        let (from, to) = (span[0], span[1]);
        if from == half && !paused {
            midway();
            paused = true;
        }
        let in_a_word = words.iter().any(|&w| from >= w && to <= w + 4);
        if !in_a_word && let Some(dst) = page.get(from..to) {
            dst.copy_from_slice(&bytes[from..to]);
        }
    }
    if !paused {
        midway();
    }
}

/// The 4 bytes at `offset` of `bytes` (zeros past its end).
fn word_of(bytes: &[u8], offset: usize) -> [u8; 4] {
    let mut word = [0u8; 4];
    if let Some(src) = bytes.get(offset..offset + 4) {
        word.copy_from_slice(src);
    }
    word
}

/// The counter at `offset` of `page`, as the atomic `A` (a `u32` or `i32`).
fn counter<A: AtomicView>(page: &mut ShBytes, offset: usize) -> Result<&A, ShMemError> {
    let len = page.len();
    let word = page
        .get_mut(offset..offset + 4)
        .ok_or(ShMemError::OutOfBounds {
            what: "an update protocol's counter",
            offset,
            needed: 4,
            len,
        })?;
    Ok(&word.atomics::<A>()?[0])
}

/// A title's pages as files of a directory (the tmpfs a bridge makes them
/// in), each mapped and written frame by frame with its update protocol, as
/// the game writes them: for the tests and benchmarks of Linux readers that
/// need no Wine.
#[cfg(unix)]
pub struct FilePages {
    pages: Vec<(String, shmem::PosixShMem)>,
    scenario: &'static dyn Scenario,
}

#[cfg(unix)]
impl std::fmt::Debug for FilePages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.pages.iter().map(|(file, _)| file))
            .finish()
    }
}

#[cfg(unix)]
impl FilePages {
    /// Makes the files of `specs` (each of its size) in `dir`, readable by
    /// their owner alone, for `scenario`'s frames.
    pub fn create(
        dir: &std::path::Path,
        specs: &[crate::core::spec::MapSpec],
        scenario: &'static dyn Scenario,
    ) -> Result<FilePages, ShMemError> {
        let mut pages = Vec::new();
        for spec in specs {
            let file = spec.file_name();
            let size = spec.size.and_then(|s| usize::try_from(s).ok()).unwrap_or(0);
            pages.push((
                file.to_owned(),
                shmem::PosixShMem::create_in(dir, file, size, 0o600)?,
            ));
        }
        Ok(FilePages { pages, scenario })
    }

    /// Writes frame `n`.
    pub fn write(&mut self, n: u32) -> Result<(), ShMemError> {
        for update in self.scenario.frame(n) {
            if let Some((_, page)) = self.pages.iter_mut().find(|(f, _)| f == update.file) {
                update.publish(page, || {})?;
            }
        }
        Ok(())
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use shmem::{MemfdShMemProvider, ShMem, ShMemProvider};

    use super::*;

    #[test]
    fn an_odd_sequence_guards_the_fields_and_the_frames_own_number_ends_it() {
        let mut provider = MemfdShMemProvider::new().unwrap();
        let mut game = provider.new_shmem(16).unwrap();
        // A reader's view of the same memory.
        let reader = provider.shmem_from_id_and_size(game.id(), 16).unwrap();
        let mut bytes = vec![7u8; 16];
        bytes[4..8].copy_from_slice(&20u32.to_le_bytes());
        let update = Update {
            file: "page",
            bytes,
            publish: Publish::OddWhileWriting { offset: 4 },
        };
        let mut midway = Vec::new();
        update
            .publish(&mut game, || midway = reader.to_vec())
            .unwrap();
        assert_eq!(&midway[4..8], &19u32.to_le_bytes(), "odd while writing");
        assert_eq!(midway[0], 7, "the first half written");
        assert_eq!(midway[12], 0, "the second half not yet");
        let after = reader.to_vec();
        assert_eq!(&after[4..8], &20u32.to_le_bytes(), "the frame's own number");
        assert_eq!(after[12], 7);
    }
}
