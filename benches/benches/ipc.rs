//! Across processes: reopening a segment by id in another process, a round
//! trip through one segment between two processes spinning on atomics, and
//! create-and-free through the segment service. Each against LibAFL's
//! provider of the same kind and, where there is one, the bare system calls.

#[cfg(target_os = "linux")]
criterion::criterion_main!(linux::benches);

#[cfg(not(target_os = "linux"))]
fn main() {}

#[cfg(target_os = "linux")]
mod linux {
    use std::process::Command;
    use std::time::{Duration, Instant};

    use criterion::{BenchmarkId, Criterion};
    use shm_benches::peer::Peer;
    use shm_benches::{
        ROUNDS, cpus, floor, interleave, pin_self, pingpong, record_turn_ratio, record_turn_ratios,
        round_param, take_turns, touch, touch_raw,
    };
    use shmem::{
        MemfdShMemProvider, PosixShMemProvider, ServedShMemProvider, ServiceName, ShMem,
        ShMemProvider, ShMemService, SysvShMemProvider,
    };
    use shmem_providers::unix_shmem::memfd::MemfdShMemProvider as AflMemfd;
    use shmem_providers::unix_shmem::{
        MmapShMemProvider as AflPosix, UnixShMemProvider as AflSysv,
    };
    use shmem_providers::{ShMem as _, ShMemProvider as AflProvider};

    const PEER: &str = env!("CARGO_BIN_EXE_bench-peer");
    /// Size of the reopened segments.
    const REOPEN_SIZE: usize = 64 << 10;

    criterion::criterion_group! {
        name = benches;
        config = Criterion::default()
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        targets = reopen, roundtrip, served
    }

    fn peer(args: &[&str], cpu: Option<usize>) -> Peer {
        Peer::spawn(Command::new(PEER).args(args), cpu)
    }

    type Group<'a> = criterion::BenchmarkGroup<'a, criterion::measurement::WallTime>;

    /// Reopen benchmarks, their contenders in turn: each peer maps its
    /// segment `iters` times and reports how long that took.
    fn bench_reopen(g: &mut Group<'_>, group: &str, contenders: &[(&str, Vec<&str>)]) {
        let mut peers = spawn_warm(contenders);
        for round in 1..=ROUNDS {
            for (name, p) in &mut peers {
                g.bench_function(BenchmarkId::new(*name, round_param("", round)), |b| {
                    b.iter_custom(|iters| p.timed(iters))
                });
            }
        }
        for (_, p) in peers {
            p.finish();
        }
        interleaved(group, contenders);
    }

    /// The contenders' peers, each warmed up (unrecorded).
    fn spawn_warm<'a>(contenders: &[(&'a str, Vec<&str>)]) -> Vec<(&'a str, Peer)> {
        let mut peers: Vec<(&str, Peer)> = contenders
            .iter()
            .map(|(name, args)| (*name, peer(args, None)))
            .collect();
        for (_, p) in &mut peers {
            p.timed(2000);
        }
        peers
    }

    /// The first contender (`shmem`) against the others (`libafl`,
    /// `floor`, then any reference, each a row of its own), in turns of
    /// 200 reopens each: the ratios with the machine's drift taken out
    /// (see `shm_benches::take_turns`). A process's own layout (where its
    /// mappings land) moves its reopen time by several per cent for as long
    /// as it lives, so the turns are taken by `PEER_SETS` fresh sets of
    /// peers, a second each, and the ratio is the median over all their
    /// turns.
    fn interleaved(group: &str, contenders: &[(&str, Vec<&str>)]) {
        const BATCH: u64 = 200;
        const PEER_SETS: usize = 8;
        let mut turns = Vec::new();
        for _ in 0..PEER_SETS {
            let mut peers = spawn_warm(contenders);
            let mut batches: Vec<_> = peers
                .iter_mut()
                .map(|(_, p)| move || p.timed(BATCH).as_nanos() as f64 / BATCH as f64)
                .collect();
            turns.extend(take_turns(&mut batches, Duration::from_secs(1)));
            for (_, p) in peers {
                p.finish();
            }
        }
        let row = format!("{group}/64KiB");
        record_turn_ratios(&row, &turns, 0);
        for (i, (name, _)) in contenders.iter().enumerate().skip(3) {
            if name.starts_with("shmem") {
                // A variant of ours: a row of its own against LibAFL and the floor.
                record_turn_ratios(&format!("{row}, {name}"), &turns, i);
            } else {
                let versus = format!("{row}, against {name}: shmem / libafl");
                record_turn_ratio(&versus, &turns, 0, i);
            }
        }
    }

    fn reopen(c: &mut Criterion) {
        let size = REOPEN_SIZE.to_string();
        {
            let mut g = c.benchmark_group("reopen-memfd");
            let ours = MemfdShMemProvider::default()
                .new_shmem(REOPEN_SIZE)
                .expect("create");
            let ours_id = ours.id().to_string();
            // LibAFL's memfd is not close-on-exec: the peers inherit it, and
            // its id (the descriptor number) is valid there.
            let afl = AflMemfd::new()
                .expect("LibAFL memfd")
                .new_shmem(REOPEN_SIZE)
                .expect("create");
            // The same work as ours: a process that inherited nothing opens
            // the descriptor through /proc. `libafl-inherited` maps the
            // inherited one, as only a child of the creator can.
            let afl_path = format!("/proc/{}/fd/{}", std::process::id(), afl.id().as_str());
            let bare = floor::Memfd::new(REOPEN_SIZE);
            let bare_path = bare.path();
            bench_reopen(
                &mut g,
                "reopen-memfd",
                &[
                    ("shmem", vec!["reopen", "shmem", &ours_id, &size]),
                    (
                        "libafl",
                        vec!["reopen", "libafl-memfd-proc", &afl_path, &size],
                    ),
                    ("floor", vec!["reopen", "floor-file", &bare_path, &size]),
                    (
                        "libafl-inherited",
                        vec!["reopen", "libafl-memfd", afl.id().as_str(), &size],
                    ),
                ],
            );
            g.finish();
        }
        {
            let mut g = c.benchmark_group("reopen-posix");
            let ours = PosixShMemProvider::default()
                .new_shmem(REOPEN_SIZE)
                .expect("create");
            let ours_id = ours.id().to_string();
            let mut afl_provider = AflPosix::new().expect("LibAFL mmap provider");
            let mut afl = afl_provider.new_shmem(REOPEN_SIZE).expect("create");
            let path = ours.path().expect("a file on Linux");
            bench_reopen(
                &mut g,
                "reopen-posix",
                &[
                    ("shmem", vec!["reopen", "shmem", &ours_id, &size]),
                    (
                        "libafl",
                        vec!["reopen", "libafl-posix", afl.id().as_str(), &size],
                    ),
                    (
                        "floor",
                        vec!["reopen", "floor-file", path.to_str().expect("UTF-8"), &size],
                    ),
                ],
            );
            // LibAFL leaves its name behind: removed by hand.
            let name = afl.filename_path().expect("a created segment has a name");
            afl_provider.release_shmem(&mut afl);
            drop(afl);
            // SAFETY: LibAFL's names are NUL-terminated within the array.
            unsafe { libc::shm_unlink(name.as_ptr().cast()) };
            g.finish();
        }
        {
            let mut g = c.benchmark_group("reopen-sysv");
            let ours = SysvShMemProvider::default()
                .new_shmem(REOPEN_SIZE)
                .expect("create");
            let shmid = ours.id().to_string();
            let afl = AflSysv::new()
                .expect("LibAFL SysV provider")
                .new_shmem(REOPEN_SIZE)
                .expect("create");
            bench_reopen(
                &mut g,
                "reopen-sysv",
                &[
                    ("shmem", vec!["reopen", "shmem", &shmid, &size]),
                    (
                        "libafl",
                        vec!["reopen", "libafl-sysv", afl.id().as_str(), &size],
                    ),
                    ("floor", vec!["reopen", "floor-sysv", &shmid, &size]),
                    (
                        "libafl+size-check",
                        vec!["reopen", "libafl-sysv-checked", afl.id().as_str(), &size],
                    ),
                    (
                        "shmem-unchecked",
                        vec!["reopen", "shmem-unchecked", &shmid, &size],
                    ),
                ],
            );
            g.finish();
        }
    }

    /// Round trips against an echoing peer on the other core, which runs
    /// for this one benchmark (only one may spin there at a time).
    fn bench_round_trips(
        g: &mut Group<'_>,
        name: &str,
        round: usize,
        words: (&std::sync::atomic::AtomicU64, &std::sync::atomic::AtomicU64),
        args: &[&str],
    ) {
        let (ping, pong) = words;
        let (mine, theirs) = cpus();
        let mut seq = pingpong::reset(ping, pong);
        let p = peer(args, Some(theirs));
        pin_self(Some(mine));
        g.bench_function(BenchmarkId::new(name, round_param("", round)), |b| {
            b.iter_custom(|iters| pingpong::round_trips_median(ping, pong, &mut seq, iters))
        });
        pingpong::quit(ping);
        pin_self(None);
        p.finish();
    }

    fn roundtrip(c: &mut Criterion) {
        let mut g = c.benchmark_group("roundtrip");
        let size = "4096";
        let ours = MemfdShMemProvider::default()
            .new_shmem(4096)
            .expect("create");
        let ours_id = ours.id().to_string();
        let mut afl = AflMemfd::new()
            .expect("LibAFL memfd")
            .new_shmem(4096)
            .expect("create");
        let afl_id = afl.id().to_string();
        // SAFETY: a page-aligned mapping of 4096 bytes, reached only through
        // atomics while the round trips run.
        let afl_words = unsafe { pingpong::words(afl.as_mut_ptr()) };
        let bare = floor::Memfd::new(4096);
        // SAFETY: as above, for the mapping made by hand.
        let bare_words = unsafe { pingpong::words(bare.ptr) };
        let bare_path = bare.path();
        for round in 1..=ROUNDS {
            let args = ["echo", "shmem", &ours_id, size];
            bench_round_trips(&mut g, "shmem", round, pingpong::shm_words(&ours), &args);
            let args = ["echo", "libafl", &afl_id, size];
            bench_round_trips(&mut g, "libafl", round, afl_words, &args);
            let args = ["echo", "floor", &bare_path, size];
            bench_round_trips(&mut g, "floor", round, bare_words, &args);
        }
        g.finish();
    }

    /// Waits until the service `name` answers (its process is starting).
    fn connect(name: &ServiceName) -> ServedShMemProvider {
        let start = Instant::now();
        loop {
            match ServedShMemProvider::connect(name) {
                Ok(p) => return p,
                Err(e) if start.elapsed() > Duration::from_secs(10) => {
                    panic!("service {name}: {e}")
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    }

    fn served(c: &mut Criterion) {
        let mut g = c.benchmark_group("served");
        let name =
            ServiceName::new(&format!("shm-bench-{}", std::process::id())).expect("a service name");
        let remote = peer(&["serve-shmem", name.as_str()], None);
        let mut ours = connect(&name);
        assert!(!ours.is_local(), "the service runs in the peer");
        let local_name = ServiceName::new(&format!("shm-bench-local-{}", std::process::id()))
            .expect("a service name");
        let _local_service = ShMemService::start(&local_name).expect("start a service here");
        let mut local = ServedShMemProvider::connect(&local_name).expect("connect");
        assert!(local.is_local());
        let libafl_service = peer(&["serve-libafl"], None);
        // LibAFL's served provider over memfd, wrapped for reference counting
        // as LibAFL's own StdServedShMemProvider is (which panics in its
        // service on Linux: its mmap provider's ids are names, not fds).
        let mut afl = shmem_providers::RcShMemProvider::<
            shmem_providers::ServedShMemProvider<AflMemfd>,
        >::new()
        .expect("connect to LibAFL's service");
        let mut memfd = MemfdShMemProvider::default();
        for (size, label) in [(4 << 10, "4KiB"), (64 << 10, "64KiB")] {
            for round in 1..=ROUNDS {
                let label = &round_param(label, round);
                g.bench_function(BenchmarkId::new("shmem", label), |b| {
                    b.iter(|| {
                        let mem = ours.new_shmem(size).expect("create");
                        touch(&mem, false);
                        drop(mem);
                    })
                });
                g.bench_function(BenchmarkId::new("libafl", label), |b| {
                    b.iter(|| {
                        let mut mem = afl.new_shmem(size).expect("create");
                        // SAFETY: the mapping holds `size` bytes.
                        unsafe { touch_raw(mem.as_mut_ptr(), size, false) };
                        drop(mem);
                    })
                });
                g.bench_function(BenchmarkId::new("shmem-in-process", label), |b| {
                    b.iter(|| {
                        let mem = local.new_shmem(size).expect("create");
                        touch(&mem, false);
                        drop(mem);
                    })
                });
                g.bench_function(BenchmarkId::new("memfd-unserved", label), |b| {
                    b.iter(|| {
                        let mem = memfd.new_shmem(size).expect("create");
                        touch(&mem, false);
                        drop(mem);
                    })
                });
            }
            // The same three in turns of a few milliseconds: where the
            // scheduler puts each service moves these times by 2x between
            // criterion's rounds.
            let mut served = || {
                let mem = ours.new_shmem(size).expect("create");
                touch(&mem, false);
            };
            let mut libafl = || {
                let mut mem = afl.new_shmem(size).expect("create");
                // SAFETY: the mapping holds `size` bytes.
                unsafe { touch_raw(mem.as_mut_ptr(), size, false) };
            };
            let mut unserved = || {
                let mem = memfd.new_shmem(size).expect("create");
                touch(&mem, false);
            };
            let turns = interleave(
                &mut [&mut served, &mut libafl, &mut unserved],
                Duration::from_secs(3),
            );
            record_turn_ratios(&format!("served/{label}"), &turns, 0);
        }
        g.finish();
        drop(afl);
        libafl_service.finish();
        drop(ours);
        drop(remote);
    }
}
