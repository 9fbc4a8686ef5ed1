//! The bridge under Wine: a Windows program and a Linux program ping-pong
//! through a bridged mapping (against two Linux processes through a tmpfs
//! file, in the same run); the time from starting `shm-bridge.exe` to its
//! "all mappings exist" line (against Wine starting a program that does
//! nothing); and the bridge's CPU time while it waits, over 60 s.
//!
//! Needs Wine and the Windows programs built for release
//! (`cargo xtask bench` builds them; `SHM_BRIDGE_WIN_DIR` points elsewhere).
//! Wine runs in a prefix of its own, booted first, its wineserver kept up
//! (`wineserver -p`) and ended (`wineserver -k`) with the benchmark.

#[cfg(target_os = "linux")]
fn main() {
    linux::main();
}

#[cfg(not(target_os = "linux"))]
fn main() {}

#[cfg(target_os = "linux")]
mod linux {
    use std::process::Command;
    use std::time::{Duration, Instant};

    use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, measurement::WallTime};
    use shm_benches::peer::Peer;
    use shm_benches::wine::{PATIENCE, Wine, c_filter_allows, cpu_ticks, stop, wineserver_pid};
    use shm_benches::{ROUNDS, cpus, pin_self, pingpong, results, round_param};
    use shm_tests::wine::{Running, ShmDir};
    use shmem::{PosixShMem, ShMem};

    const PEER: &str = env!("CARGO_BIN_EXE_bench-peer");
    /// How long the idle bridge is watched.
    const IDLE: Duration = Duration::from_secs(60);

    pub fn main() {
        let wine = Wine::start();
        let mut c = Criterion::default()
            .configure_from_args()
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(2));
        roundtrip(&mut c, &wine);
        startup(&mut c, &wine);
        if c_filter_allows("bridge-idle") {
            idle(&wine);
        }
        c.final_summary();
        drop(wine);
    }

    fn round_trips(
        g: &mut BenchmarkGroup<'_, WallTime>,
        name: &str,
        round: usize,
        mem: &shmem::ShBytes,
        echoing: impl FnOnce() -> Box<dyn FnOnce()>,
    ) {
        let (ping, pong) = pingpong::shm_words(mem);
        let (mine, _) = cpus();
        let mut seq = pingpong::reset(ping, pong);
        let finish = echoing();
        pin_self(Some(mine));
        g.bench_function(BenchmarkId::new(name, round_param("", round)), |b| {
            b.iter_custom(|iters| pingpong::round_trips_median(ping, pong, &mut seq, iters))
        });
        pingpong::quit(ping);
        pin_self(None);
        finish();
    }

    fn roundtrip(c: &mut Criterion, wine: &Wine) {
        let mut g = c.benchmark_group("bridge-roundtrip");
        let (_, theirs) = cpus();
        let dir = ShmDir::new();
        // A Windows program in the game's place, through the bridge: the
        // bridge creates the mapping, backed by a file of the tmpfs; the game
        // opens it by name; this process maps the file.
        let name = format!("shm-bench-pingpong-{}", std::process::id());
        let bridge = wine.bridge(&["-m", &name, "-s", "4096"], &dir);
        let bridged = PosixShMem::open_in(&dir.path, &name).expect("map the bridged file");
        // Two Linux processes through a file of the same tmpfs, mapped the
        // same way (MAP_SHARED), in the same run.
        let native = PosixShMem::create_in(&dir.path, "native-pingpong", 4096, 0o600)
            .expect("create a tmpfs file");
        let native_id = native.id().to_string();
        for round in 1..=ROUNDS {
            round_trips(&mut g, "wine", round, &bridged, || {
                let mut game = Running::spawn(
                    wine.command("sim-standin", Some(theirs))
                        .args(["pingpong", "--map", &name, "--size", "4096"]),
                );
                game.expect_line("already existed (bridged)", PATIENCE);
                game.expect_line("echoing", PATIENCE);
                Box::new(move || {
                    game.wait_exit(PATIENCE);
                })
            });
            round_trips(&mut g, "native", round, &native, || {
                let peer = Peer::spawn(
                    Command::new(PEER).args(["echo", "shmem", &native_id, "4096"]),
                    Some(theirs),
                );
                Box::new(move || peer.finish())
            });
        }
        g.finish();
        drop((bridged, native));
        stop(bridge);
    }

    /// Start-up: `wine EXE` to the line that says it is ready.
    fn startup(c: &mut Criterion, wine: &Wine) {
        let mut g = c.benchmark_group("bridge-startup");
        g.sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .measurement_time(Duration::from_secs(5));
        let dir = ShmDir::new();
        for round in 1..=ROUNDS {
            g.bench_function(
                BenchmarkId::new("shm-bridge", round_param("", round)),
                |b| {
                    b.iter_custom(|iters| {
                        (0..iters)
                            .map(|_| {
                                let start = Instant::now();
                                let bridge = wine.bridge(&["--game", "acc"], &dir);
                                let took = start.elapsed();
                                stop(bridge);
                                took
                            })
                            .sum()
                    })
                },
            );
            g.bench_function(
                BenchmarkId::new("empty-program", round_param("", round)),
                |b| {
                    b.iter_custom(|iters| {
                        (0..iters)
                            .map(|_| {
                                let start = Instant::now();
                                let mut empty =
                                    Running::spawn(wine.command("sim-standin", None).arg("empty"));
                                empty.expect_line("ready", PATIENCE);
                                let took = start.elapsed();
                                empty.wait_exit(PATIENCE);
                                took
                            })
                            .sum()
                    })
                },
            );
        }
        g.finish();
    }

    /// The bridge's CPU use while it waits, over [`IDLE`].
    fn idle(wine: &Wine) {
        let dir = ShmDir::new();
        let bridge = wine.bridge(&["--game", "acc"], &dir);
        std::thread::sleep(Duration::from_secs(1));
        let before = cpu_ticks(bridge.pid());
        let wineserver = wineserver_pid(&wine.prefix.path);
        let server_before = wineserver.map(cpu_ticks);
        std::thread::sleep(IDLE);
        let used = cpu_ticks(bridge.pid()) - before;
        let server_used = wineserver
            .zip(server_before)
            .map(|(pid, before)| cpu_ticks(pid) - before);
        stop(bridge);
        results::record("bridge-idle", "shm-bridge", used as f64, "clock ticks/60 s");
        if let Some(server) = server_used {
            results::record(
                "bridge-idle",
                "wineserver",
                server as f64,
                "clock ticks/60 s",
            );
        }
    }
}
