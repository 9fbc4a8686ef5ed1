//! Copying into and out of a segment (`ShBytes::copy_from_slice` and
//! `copy_to_slice`, relaxed atomic words) against `memcpy` between two
//! buffers of private memory (`<[u8]>::copy_from_slice`), the same sizes,
//! in the same run: what the soundness of the copies costs.

#[cfg(target_os = "linux")]
criterion::criterion_main!(linux::benches);

#[cfg(not(target_os = "linux"))]
fn main() {}

#[cfg(target_os = "linux")]
mod linux {
    use std::hint::black_box;
    use std::time::Duration;

    use criterion::{BenchmarkId, Criterion, Throughput};
    use shm_benches::{ROUNDS, interleave, record_turn_ratio, round_param};
    use shmem::{ShMemProvider, StdShMemProvider};

    criterion::criterion_group! {
        name = benches;
        config = Criterion::default()
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1));
        targets = copy
    }

    /// One contender: its name and one copy.
    type Contender<'a> = (&'static str, Box<dyn FnMut() + 'a>);

    /// The sizes copied: a page, and a large block.
    pub const COPY_SIZES: [(usize, &str); 2] = [(4 << 10, "4KiB"), (1 << 20, "1MiB")];

    fn copy(c: &mut Criterion) {
        let mut g = c.benchmark_group("copy");
        let mut provider = StdShMemProvider::new().expect("provider");
        for (size, label) in COPY_SIZES {
            g.throughput(Throughput::Bytes(size as u64));
            let segment = provider.new_shmem(size).expect("segment");
            let source: Vec<u8> = (0..size).map(|i| i as u8).collect();
            let mut private = vec![0u8; size];
            let mut out = vec![0u8; size];
            let mut spare = vec![0u8; size];
            segment.copy_from_slice(&source);
            let mut contenders: [Contender<'_>; 4] = [
                (
                    "shmem-in",
                    Box::new(|| segment.copy_from_slice(black_box(&source))),
                ),
                (
                    "memcpy-in",
                    Box::new(|| black_box(&mut private[..]).copy_from_slice(black_box(&source))),
                ),
                (
                    "shmem-out",
                    Box::new(|| segment.copy_to_slice(black_box(&mut out[..]))),
                ),
                // Out of private memory: another buffer, of the same size.
                (
                    "memcpy-out",
                    Box::new(|| black_box(&mut spare[..]).copy_from_slice(black_box(&source))),
                ),
            ];
            for round in 1..=ROUNDS {
                for (name, run) in &mut contenders {
                    g.bench_function(BenchmarkId::new(*name, round_param(label, round)), |b| {
                        b.iter(&mut *run)
                    });
                }
            }
            let mut runs: Vec<&mut dyn FnMut()> = contenders
                .iter_mut()
                .map(|(_, run)| &mut **run as &mut dyn FnMut())
                .collect();
            let turns = interleave(&mut runs, Duration::from_secs(2));
            record_turn_ratio(&format!("copy-in/{label}: shmem / memcpy"), &turns, 0, 1);
            record_turn_ratio(&format!("copy-out/{label}: shmem / memcpy"), &turns, 2, 3);
        }
        g.finish();
    }
}
