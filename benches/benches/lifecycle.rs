//! Segment life cycle: create, touch (one byte, or every page of 16 MiB),
//! drop; for each Linux backend, this library against LibAFL's provider of
//! the same backend and against the bare system calls.
//!
//! Then what closes the gap the floor leaves on large segments (a page
//! fault per page): this library's prefaulting (`MapOptions::with_prefault`,
//! against `MAP_POPULATE` by hand), transparent huge pages (where
//! `/sys/kernel/mm/transparent_hugepage/shmem_enabled` lets memfd and SysV
//! segments have them) and HugeTLB pages (where the pool has 16 MiB free).

#[cfg(target_os = "linux")]
criterion::criterion_main!(linux::benches);

#[cfg(not(target_os = "linux"))]
fn main() {}

#[cfg(target_os = "linux")]
mod linux {
    use std::time::Duration;

    use criterion::{BenchmarkId, Criterion, SamplingMode};
    use shm_benches::{
        LIFECYCLE_SIZES, ROUNDS, floor, huge_pages_free, interleave, record_turn_ratios,
        round_param, thp_for_shmem, touch, touch_raw,
    };
    use shmem::{
        HugePages, MapOptions, MemfdShMemProvider, PosixShMemProvider, ShMemProvider,
        SysvShMemProvider,
    };
    use shmem_providers::ShMemProvider as AflProvider;
    use shmem_providers::unix_shmem::memfd::MemfdShMemProvider as AflMemfd;
    use shmem_providers::unix_shmem::{
        MmapShMemProvider as AflPosix, UnixShMemProvider as AflSysv,
    };

    criterion::criterion_group! {
        name = benches;
        config = Criterion::default()
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1));
        targets = memfd, posix, sysv
    }

    const PREFAULT: MapOptions = MapOptions::new().with_prefault(true);
    const THP: MapOptions = MapOptions::new().with_huge_pages(HugePages::Transparent);
    const HUGETLB: MapOptions = MapOptions::new().with_huge_pages(HugePages::Hugetlb);

    /// One contender: a name and one life cycle (create, touch, drop).
    type Contender = (&'static str, Box<dyn FnMut()>);

    /// Measures the contenders of each size, in turn, [`ROUNDS`] times.
    fn compare(c: &mut Criterion, group: &str, contenders: impl Fn(usize, bool) -> Vec<Contender>) {
        let mut g = c.benchmark_group(group);
        for (size, label, every_page) in LIFECYCLE_SIZES {
            if every_page {
                // Milliseconds an iteration: equal samples, fewer of them.
                g.sampling_mode(SamplingMode::Flat).sample_size(20);
            } else {
                g.sampling_mode(SamplingMode::Auto).sample_size(100);
            }
            let mut all = contenders(size, every_page);
            // A warm-up of every contender first, unrecorded: the first of
            // a fresh process otherwise pays for caches the others find filled.
            for (_, cycle) in &mut all {
                let start = std::time::Instant::now();
                while start.elapsed() < Duration::from_millis(200) {
                    cycle();
                }
            }
            for round in 1..=ROUNDS {
                for (name, cycle) in &mut all {
                    g.bench_function(BenchmarkId::new(*name, round_param(label, round)), |b| {
                        b.iter(&mut *cycle)
                    });
                }
            }
            interleaved(group, label, &mut all);
        }
        g.finish();
    }

    /// The first contender (`shmem`) against the next two (`libafl`,
    /// `floor`), in turns milliseconds apart ([`interleave`]): the ratios
    /// of the targets, with the machine's drift taken out.
    fn interleaved(group: &str, label: &str, all: &mut [Contender]) {
        let [(_, ours), (_, libafl), (_, floor), ..] = all else {
            return;
        };
        let turns = interleave(&mut [ours, libafl, floor], Duration::from_secs(3));
        record_turn_ratios(&format!("{group}/{label}"), &turns, 0);
    }

    fn ours<P: ShMemProvider + 'static>(
        name: &'static str,
        mut provider: P,
        size: usize,
        every_page: bool,
    ) -> Contender {
        (
            name,
            Box::new(move || {
                let mem = provider.new_shmem(size).expect("create");
                touch(&mem, every_page);
                drop(mem);
            }),
        )
    }

    /// LibAFL's provider of the same backend, where its drop frees all.
    fn theirs<P: AflProvider + 'static>(
        mut provider: P,
        size: usize,
        every_page: bool,
    ) -> Contender {
        (
            "libafl",
            Box::new(move || {
                let mut mem = provider.new_shmem(size).expect("create");
                // SAFETY: LibAFL's segment maps (or attaches) `size` bytes.
                unsafe { touch_raw(mem.as_mut_ptr(), size, every_page) };
                drop(mem);
            }),
        )
    }

    /// The huge page contenders, for the large size, where the system has them.
    fn huge<P: ShMemProvider + 'static>(
        all: &mut Vec<Contender>,
        with: impl Fn(MapOptions) -> P,
        size: usize,
        every_page: bool,
    ) {
        if !every_page {
            return;
        }
        if thp_for_shmem() {
            all.push(ours("shmem+thp", with(THP), size, true));
        }
        if huge_pages_free() >= size {
            all.push(ours("shmem+hugetlb", with(HUGETLB), size, true));
        }
    }

    fn memfd(c: &mut Criterion) {
        compare(c, "lifecycle-memfd", |size, every_page| {
            let afl = AflMemfd::new().expect("LibAFL memfd");
            let mut all: Vec<Contender> = vec![
                ours("shmem", MemfdShMemProvider::default(), size, every_page),
                theirs(afl, size, every_page),
                (
                    "floor",
                    Box::new(move || floor::memfd_cycle(size, every_page, false)),
                ),
                ours(
                    "shmem+prefault",
                    MemfdShMemProvider::with_options(PREFAULT),
                    size,
                    every_page,
                ),
                (
                    "floor+populate",
                    Box::new(move || floor::memfd_cycle(size, every_page, true)),
                ),
            ];
            huge(&mut all, MemfdShMemProvider::with_options, size, every_page);
            all
        });
    }

    fn posix(c: &mut Criterion) {
        compare(c, "lifecycle-posix", |size, every_page| {
            let mut afl = AflPosix::new().expect("LibAFL mmap provider");
            // No huge pages: /dev/shm is a tmpfs mounted without `huge=`, and
            // a tmpfs cannot hold HugeTLB pages.
            vec![
                ours("shmem", PosixShMemProvider::default(), size, every_page),
                (
                    "libafl",
                    Box::new(move || {
                        let mut mem = afl.new_shmem(size).expect("create");
                        // SAFETY: the mapping holds `size` bytes.
                        unsafe { touch_raw(mem.as_mut_ptr(), size, every_page) };
                        // The same work as the others: LibAFL's drop only unmaps,
                        // leaving the descriptor open and the name in /dev/shm;
                        // release closes the descriptor, the name goes by hand.
                        let name = mem.filename_path().expect("a created segment has a name");
                        afl.release_shmem(&mut mem);
                        drop(mem);
                        // SAFETY: LibAFL's names are NUL-terminated within the array.
                        unsafe { libc::shm_unlink(name.as_ptr().cast()) };
                    }),
                ),
                (
                    "floor",
                    Box::new(move || floor::posix_cycle(size, every_page, false)),
                ),
                ours(
                    "shmem+prefault",
                    PosixShMemProvider::with_options(PREFAULT),
                    size,
                    every_page,
                ),
                (
                    "floor+populate",
                    Box::new(move || floor::posix_cycle(size, every_page, true)),
                ),
            ]
        });
    }

    fn sysv(c: &mut Criterion) {
        compare(c, "lifecycle-sysv", |size, every_page| {
            let afl = AflSysv::new().expect("LibAFL SysV provider");
            let mut all: Vec<Contender> = vec![
                ours("shmem", SysvShMemProvider::default(), size, every_page),
                theirs(afl, size, every_page),
                (
                    "floor",
                    Box::new(move || floor::sysv_cycle(size, every_page)),
                ),
                ours(
                    "shmem+prefault",
                    SysvShMemProvider::with_options(PREFAULT),
                    size,
                    every_page,
                ),
            ];
            huge(&mut all, SysvShMemProvider::with_options, size, every_page);
            all
        });
    }
}
