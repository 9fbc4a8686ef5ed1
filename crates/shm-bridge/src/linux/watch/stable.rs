//! Consistent copies of one page, the way its title's protocol makes them
//! possible ([`Protocol`]): read the protocol's words, copy, pause, read
//! them again, copy again (but for a page the protocol vouches for in one
//! copy), read them a last time; accepted when the words and the copies
//! agree and the words say no update was in progress, retried otherwise.

use std::time::Duration;

use crate::linux::untrusted::CheckedFile;
use crate::titles::Protocol;

/// How often a sample that changed while it was read is taken again.
pub const TRIES: u32 = 50;

/// Between the two copies of one try: long enough for a writer caught
/// between its fields and its counter to finish, short against the game's
/// update period (ACC's physics runs at about 300 Hz).
const SETTLE: Duration = Duration::from_micros(300);

/// A copy of a page's bytes, and whether it is whole.
#[derive(Debug)]
pub(super) struct Copy {
    pub(super) bytes: Vec<u8>,
    pub(super) outcome: Outcome,
}

/// What became of the tries to copy a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Two copies (and the counters around them) agreed.
    Consistent,
    /// Every try caught a change.
    Changing,
    /// The file ended before the bytes asked for: it was truncated.
    Shrank,
}

/// Bytes of the second copy compared at a time.
pub(super) const CHUNK: usize = 64 * 1024;

/// What a page's protocol words said around a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Guard {
    /// The words, as one number: a copy is whole only if it is the same
    /// before and after.
    pub(super) value: u64,
    /// Whether they said the writer was not in the middle of an update.
    pub(super) settled: bool,
    /// Whether they vouch for one copy, which then need not be compared
    /// with a second (iRacing's newest buffer, which the writer leaves be).
    pub(super) one_copy: bool,
}

impl Guard {
    /// The protocol's words, each read by `read(offset)`; `None` when
    /// one cannot be read or the protocol has none.
    pub(super) fn of(protocol: Protocol, read: impl Fn(usize) -> Option<u32>) -> Option<Guard> {
        match protocol {
            Protocol::Settled => None,
            Protocol::CounterAfter { offset } => read(offset).map(|v| Guard {
                value: u64::from(v),
                settled: true,
                one_copy: false,
            }),
            Protocol::VersionPair { begin, end } => {
                let (b, e) = (read(begin)?, read(end)?);
                Some(Guard {
                    value: u64::from(b) << 32 | u64::from(e),
                    settled: b == e,
                    one_copy: false,
                })
            }
            Protocol::OddWhileWriting { offset } => read(offset).map(|v| Guard {
                value: u64::from(v),
                settled: v % 2 == 0,
                one_copy: false,
            }),
            Protocol::NewestTick {
                count,
                ticks,
                stride,
                rare,
            } => {
                let buffers = read(count)?;
                if !(2..=4).contains(&buffers) {
                    // Not (yet) a header of rotating buffers: two copies must agree.
                    return Some(Guard {
                        value: u64::from(buffers),
                        settled: true,
                        one_copy: false,
                    });
                }
                let mut newest = i32::MIN;
                for i in 0..buffers as usize {
                    newest = newest.max(read(ticks + i * stride)?.cast_signed());
                }
                Some(Guard {
                    value: u64::from(newest.cast_unsigned()) << 32 | u64::from(read(rare)?),
                    settled: true,
                    one_copy: true,
                })
            }
            Protocol::BusyLock { busy, .. } => read(busy).map(|v| Guard {
                value: u64::from(v),
                settled: v == 0,
                one_copy: false,
            }),
        }
    }
}

/// The little-endian `u32` at `offset` of `file`; `None` when it cannot be
/// read whole (a short file).
pub(super) fn read_word(file: &CheckedFile, offset: usize) -> Option<u32> {
    let mut word = [0u8; 4];
    let n = file.read_at(&mut word, offset as u64).ok()?;
    (n == word.len()).then(|| u32::from_le_bytes(word))
}

/// A digest of a page's bytes.
pub(super) fn digest(bytes: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// Copies `len` bytes of `file` until the page's protocol, whose words are
/// in `words` (the page's own file, or its lock's), says a copy is whole
/// (and `whole` agrees), at most [`TRIES`] times.
pub(super) fn stable_copy(
    file: &CheckedFile,
    words: &CheckedFile,
    len: usize,
    protocol: Protocol,
    whole: impl FnMut(&[u8], Option<Guard>) -> bool,
) -> std::io::Result<Copy> {
    // The words are read the way the bytes are; a torn read of one differs
    // from the other, and the try is taken again. A word that cannot be
    // read (a short file) reads as none, and so never as settled.
    let read_guard = || -> std::io::Result<Option<Guard>> {
        Ok(match protocol {
            Protocol::Settled => None,
            _ => Some(
                Guard::of(protocol, |offset| read_word(words, offset)).unwrap_or(Guard {
                    value: 0,
                    settled: false,
                    one_copy: false,
                }),
            ),
        })
    };
    stable_copy_with(
        len,
        read_guard,
        |dst, offset| file.read_at(dst, offset as u64),
        || std::thread::sleep(SETTLE),
        whole,
    )
}

/// The protocol of [`stable_copy`], apart from the file it reads:
/// `copy(dst, offset)` fills `dst` with the bytes at `offset` and says how
/// many there were.
pub(super) fn stable_copy_with(
    len: usize,
    mut read_guard: impl FnMut() -> std::io::Result<Option<Guard>>,
    mut copy: impl FnMut(&mut [u8], usize) -> std::io::Result<usize>,
    mut settle: impl FnMut(),
    mut whole: impl FnMut(&[u8], Option<Guard>) -> bool,
) -> std::io::Result<Copy> {
    let mut bytes = vec![0u8; len];
    let mut chunk = vec![0u8; CHUNK.min(len)];
    for _ in 0..TRIES {
        let before = read_guard()?;
        let got = copy(&mut bytes, 0)?;
        if got < len {
            bytes.truncate(got);
            return Ok(Copy {
                bytes,
                outcome: Outcome::Shrank,
            });
        }
        settle();
        // Read between the copies too: a writer that holds a lock across
        // both copies, stalled where they read the same bytes, is seen here.
        let middle = read_guard()?;
        // A copy the protocol vouches for is not read twice (iRacing's page
        // is a megabyte, and the writer is busy elsewhere in it).
        let mut same = true;
        let chunks = if before.is_some_and(|g| g.one_copy) {
            [].chunks(CHUNK)
        } else {
            bytes.chunks(CHUNK)
        };
        for (at, first) in chunks.enumerate() {
            let again = &mut chunk[..first.len()];
            let got = copy(again, at * CHUNK)?;
            if got < first.len() {
                return Ok(Copy {
                    bytes,
                    outcome: Outcome::Shrank,
                });
            }
            if again != first {
                same = false;
                break;
            }
        }
        let after = read_guard()?;
        let agree = before == middle && middle == after;
        if same && agree && before.is_none_or(|g| g.settled) && whole(&bytes, after) {
            return Ok(Copy {
                bytes,
                outcome: Outcome::Consistent,
            });
        }
    }
    Ok(Copy {
        bytes,
        outcome: Outcome::Changing,
    })
}
