//! One segment used by several threads at once: the races the library
//! promises are races on values, never undefined behaviour. `cargo xtask
//! test` runs these under ThreadSanitizer too, which must report nothing.
#![cfg(any(unix, windows))]

use std::sync::atomic::{AtomicU64, Ordering};

use shmem::{ShMemProvider, StdShMemProvider};

const ROUNDS: usize = 2_000;

/// A writer fills the segment with one byte value after another, at
/// aligned and unaligned offsets, while a reader copies it out: every byte
/// the reader sees is one the writer wrote (or the zero it started with).
#[test]
fn two_threads_race_on_one_segment() {
    let mut provider = StdShMemProvider::new().unwrap();
    let mem = provider.new_shmem(4096 + 13).unwrap();
    let bytes = &*mem;
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut buf = vec![0u8; 1000];
            for round in 0..ROUNDS {
                let value = 1 + (round % 200) as u8;
                bytes.fill(value);
                buf.fill(value);
                bytes[3..1003].copy_from_slice(&buf);
                bytes.store(round % bytes.len(), value);
                bytes.write(5, &[value; 16]).unwrap();
            }
        });
        s.spawn(|| {
            let mut out = vec![0u8; bytes.len()];
            for round in 0..ROUNDS {
                bytes.copy_to_slice(&mut out);
                assert!(
                    out.iter().all(|&b| b <= 200),
                    "a byte nobody wrote in round {round}"
                );
                let _: [u8; 16] = bytes.read(1).unwrap();
                let _ = bytes.load(round % bytes.len());
                let _ = bytes[7..4000].to_vec();
            }
        });
    });
}

/// Counters bumped by four threads through the safe atomic view lose no
/// increment.
#[test]
fn threads_count_through_atomics() {
    let mut provider = StdShMemProvider::new().unwrap();
    let mut mem = provider.new_shmem(64).unwrap();
    let counters = mem.atomics::<AtomicU64>().unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            s.spawn(move || {
                for _ in 0..ROUNDS {
                    counters[t].fetch_add(1, Ordering::Relaxed);
                    counters[7].fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let totals: Vec<u64> = counters.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    assert_eq!(totals[..4], [ROUNDS as u64; 4]);
    assert_eq!(totals[7], 4 * ROUNDS as u64);
}

/// A sequence lock over one segment: the writer publishes records that a
/// reader takes only when the sequence number says the copy was quiet, so
/// every record it takes is whole.
#[test]
fn a_seqlock_over_one_segment_hands_whole_records() {
    let mut provider = StdShMemProvider::new().unwrap();
    let mut mem = provider.new_shmem(8 + 256).unwrap();
    let (head, body) = mem.split_at_mut(8);
    let seq = &head.atomics::<AtomicU64>().unwrap()[0];
    let body = &*body;
    std::thread::scope(|s| {
        s.spawn(|| {
            for round in 1..=ROUNDS as u64 {
                seq.fetch_add(1, Ordering::Relaxed);
                std::sync::atomic::fence(Ordering::Release);
                let record = [(round % 251) as u8; 256];
                body.copy_from_slice(&record);
                seq.fetch_add(1, Ordering::Release);
            }
        });
        s.spawn(|| {
            let mut taken = 0;
            let mut record = [0u8; 256];
            while taken < 200 {
                let before = seq.load(Ordering::Acquire);
                if before % 2 == 1 {
                    std::hint::spin_loop();
                    continue;
                }
                body.copy_to_slice(&mut record);
                std::sync::atomic::fence(Ordering::Acquire);
                if seq.load(Ordering::Relaxed) == before {
                    assert!(
                        record.iter().all(|&b| b == record[0]),
                        "a torn record passed the sequence check"
                    );
                    taken += 1;
                }
                if before >= 2 * ROUNDS as u64 {
                    break;
                }
            }
        });
    });
}

/// A second mapping of the segment in the same process, used from another
/// thread, sees the first one's writes.
#[test]
fn two_mappings_in_two_threads_share_bytes() {
    let mut provider = StdShMemProvider::new().unwrap();
    let a = provider.new_shmem(4096).unwrap();
    let b = provider.clone_ref(&a).unwrap();
    assert_ne!(a.as_ptr(), b.as_ptr(), "a second mapping");
    std::thread::scope(|s| {
        s.spawn(|| a[100..105].copy_from_slice(b"hello"));
    });
    assert_eq!(b[100..105].to_vec(), b"hello");
}
