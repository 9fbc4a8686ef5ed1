//! Segment life cycle: create, touch (one byte, or every page of 16 MiB),
//! drop; for each Linux backend, this library against LibAFL's provider of
//! the same backend and against the bare system calls.

#[cfg(target_os = "linux")]
criterion::criterion_main!(linux::benches);

#[cfg(not(target_os = "linux"))]
fn main() {}

#[cfg(target_os = "linux")]
mod linux {
    use std::time::Duration;

    use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, measurement::WallTime};
    use shm_benches::{LIFECYCLE_SIZES, floor, touch, touch_raw};
    use shmem::{MemfdShMemProvider, PosixShMemProvider, ShMemProvider, SysvShMemProvider};
    use shmem_providers::ShMemProvider as AflProvider;
    use shmem_providers::unix_shmem::memfd::MemfdShMemProvider as AflMemfd;
    use shmem_providers::unix_shmem::{
        MmapShMemProvider as AflPosix, UnixShMemProvider as AflSysv,
    };

    criterion::criterion_group! {
        name = benches;
        config = Criterion::default()
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        targets = memfd, posix, sysv
    }

    /// Runs `bench` for each size, in a group set up for the size's cost.
    fn sizes(
        c: &mut Criterion,
        group: &str,
        mut bench: impl FnMut(&mut BenchmarkGroup<'_, WallTime>, usize, &str, bool),
    ) {
        let mut g = c.benchmark_group(group);
        for (size, label, every_page) in LIFECYCLE_SIZES {
            if every_page {
                // Milliseconds an iteration: equal samples, fewer of them.
                g.sampling_mode(SamplingMode::Flat).sample_size(30);
            } else {
                g.sampling_mode(SamplingMode::Auto).sample_size(100);
            }
            bench(&mut g, size, label, every_page);
        }
        g.finish();
    }

    fn ours<P: ShMemProvider>(
        g: &mut BenchmarkGroup<'_, WallTime>,
        name: &str,
        size: usize,
        label: &str,
        every_page: bool,
    ) {
        let mut provider = P::new().expect("provider");
        g.bench_function(BenchmarkId::new(name, label), |b| {
            b.iter(|| {
                let mem = provider.new_shmem(size).expect("create");
                touch(&mem, every_page);
                drop(mem);
            })
        });
    }

    fn memfd(c: &mut Criterion) {
        sizes(c, "lifecycle-memfd", |g, size, label, every_page| {
            ours::<MemfdShMemProvider>(g, "shmem", size, label, every_page);
            let mut afl = AflMemfd::new().expect("LibAFL memfd");
            g.bench_function(BenchmarkId::new("libafl", label), |b| {
                b.iter(|| {
                    let mut mem = afl.new_shmem(size).expect("create");
                    // SAFETY: the mapping holds `size` bytes.
                    unsafe { touch_raw(mem.as_mut_ptr(), size, every_page) };
                    drop(mem);
                })
            });
            g.bench_function(BenchmarkId::new("floor", label), |b| {
                b.iter(|| floor::memfd_cycle(size, every_page, false))
            });
        });
    }

    fn posix(c: &mut Criterion) {
        sizes(c, "lifecycle-posix", |g, size, label, every_page| {
            ours::<PosixShMemProvider>(g, "shmem", size, label, every_page);
            let mut afl = AflPosix::new().expect("LibAFL mmap provider");
            g.bench_function(BenchmarkId::new("libafl", label), |b| {
                b.iter(|| {
                    let mut mem = afl.new_shmem(size).expect("create");
                    // SAFETY: the mapping holds `size` bytes.
                    unsafe { touch_raw(mem.as_mut_ptr(), size, every_page) };
                    // The same work as the others: LibAFL's drop only unmaps, leaving
                    // the descriptor open and the name in /dev/shm; release closes
                    // the descriptor, and the name is removed by hand.
                    let name = mem.filename_path().expect("a created segment has a name");
                    afl.release_shmem(&mut mem);
                    drop(mem);
                    // SAFETY: LibAFL's names are NUL-terminated within the array.
                    unsafe { libc::shm_unlink(name.as_ptr().cast()) };
                })
            });
            g.bench_function(BenchmarkId::new("floor", label), |b| {
                b.iter(|| floor::posix_cycle(size, every_page, false))
            });
        });
    }

    fn sysv(c: &mut Criterion) {
        sizes(c, "lifecycle-sysv", |g, size, label, every_page| {
            ours::<SysvShMemProvider>(g, "shmem", size, label, every_page);
            let mut afl = AflSysv::new().expect("LibAFL SysV provider");
            g.bench_function(BenchmarkId::new("libafl", label), |b| {
                b.iter(|| {
                    let mut mem = afl.new_shmem(size).expect("create");
                    // SAFETY: the attachment holds `size` bytes.
                    unsafe { touch_raw(mem.as_mut_ptr(), size, every_page) };
                    drop(mem);
                })
            });
            g.bench_function(BenchmarkId::new("floor", label), |b| {
                b.iter(|| floor::sysv_cycle(size, every_page))
            });
        });
    }
}
