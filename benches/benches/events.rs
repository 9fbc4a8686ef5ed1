//! Events through the bridge: the time from the game stand-in's `SetEvent`
//! or `PulseEvent` under Wine to a Linux waiter's return (through the
//! bridge's counter file, waited on with the library's `ShEvent`), against
//! the same wake between two Linux processes through `ShEvent`, in the same
//! run; the wakes' median and 99th percentile; and the bridge's CPU over
//! 60 s while its events are idle.
//!
//! One wake: this process writes a new number to a page the other side
//! spins on (that leg is the `bridge-roundtrip` bench's, about 100 ns),
//! the other side signals, and this process returns from its wait on the
//! event's counter. Wakes are [`GAP`] apart, as a game's frames are apart:
//! a pulse then finds the bridge back in its wait (a pulse given while no
//! one waits is lost, to Windows readers as to the bridge).

#[cfg(target_os = "linux")]
fn main() {
    linux::main();
}

#[cfg(not(target_os = "linux"))]
fn main() {}

#[cfg(target_os = "linux")]
mod linux {
    use std::process::Command;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    use criterion::{BenchmarkId, Criterion, SamplingMode};
    use shm_benches::peer::Peer;
    use shm_benches::wine::{PATIENCE, Wine, c_filter_allows, cpu_ticks, stop};
    use shm_benches::{ROUNDS, cpus, pin_self, pingpong, results, round_param};
    use shm_tests::wine::{Running, ShmDir};
    use shmem::{PosixShMem, ShEvent};

    const PEER: &str = env!("CARGO_BIN_EXE_bench-peer");
    /// Between two wakes, not timed: a game's frames are 3 to 17 ms apart;
    /// shorter gaps find the bridge's thread not yet back in its wait (a
    /// pulse is then lost, and a set can fall into the reset of the last).
    const GAP: Duration = Duration::from_micros(500);
    /// A wake that takes longer was lost (a pulse nobody waited for).
    const LOST: Duration = Duration::from_millis(100);
    /// How long the idle bridge is watched.
    const IDLE: Duration = Duration::from_secs(60);

    /// One way of signalling, and the wakes it gave.
    struct Contender {
        name: &'static str,
        wakes: Vec<Duration>,
        lost: u64,
    }

    pub fn main() {
        let wine = Wine::start();
        let mut c = Criterion::default()
            .configure_from_args()
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(1));
        if c_filter_allows("bridge-event") {
            wakes(&mut c, &wine);
        }
        if c_filter_allows("bridge-event-idle") {
            idle(&wine);
        }
        c.final_summary();
    }

    fn wakes(c: &mut Criterion, wine: &Wine) {
        let dir = ShmDir::new();
        let me = std::process::id();
        let (ping_name, set_name, pulse_name) = (
            format!("shm-bench-ping-{me}"),
            format!("shm-bench-set-{me}"),
            format!("shm-bench-pulse-{me}"),
        );
        let bridge = wine.bridge(
            &[
                "-m",
                &ping_name,
                "-s",
                "4096",
                "--event",
                &set_name,
                "--pulsed-event",
                &pulse_name,
            ],
            &dir,
        );
        let mut ping_page = PosixShMem::open_in(&dir.path, &ping_name).expect("the bridged page");
        let mut set_file = PosixShMem::open_in(&dir.path, &set_name).expect("the set event");
        let mut pulse_file = PosixShMem::open_in(&dir.path, &pulse_name).expect("the pulse event");
        let mut native_ping =
            PosixShMem::create_in(&dir.path, "native-ping", 4096, 0o600).expect("a tmpfs file");
        let mut native_file =
            PosixShMem::create_in(&dir.path, "native-event", 4096, 0o600).expect("a tmpfs file");
        let (mine, theirs) = cpus();
        let mut contenders = [
            Contender::new("wine-set"),
            Contender::new("wine-pulse"),
            Contender::new("native"),
        ];
        let mut g = c.benchmark_group("bridge-event");
        g.sampling_mode(SamplingMode::Flat).sample_size(10);
        for round in 1..=ROUNDS {
            for contender in &mut contenders {
                let (page, file) = match contender.name {
                    "wine-set" => (&mut ping_page, &mut set_file),
                    "wine-pulse" => (&mut ping_page, &mut pulse_file),
                    _ => (&mut native_ping, &mut native_file),
                };
                let (ping, pong) = pingpong::shm_words(page);
                let mut seq = pingpong::reset(ping, pong);
                let finish: Box<dyn FnOnce()> = match contender.name {
                    "native" => {
                        let peer = Peer::spawn(
                            Command::new(PEER)
                                .arg("event-echo")
                                .arg(&dir.path)
                                .args(["native-ping", "native-event"]),
                            Some(theirs),
                        );
                        Box::new(move || peer.finish())
                    }
                    name => {
                        let (event, kind) = if name == "wine-set" {
                            (&set_name, "set")
                        } else {
                            (&pulse_name, "pulse")
                        };
                        let mut game =
                            Running::spawn(wine.command("sim-standin", Some(theirs)).args([
                                "event-echo",
                                "--map",
                                &ping_name,
                                "--size",
                                "4096",
                                "--event",
                                event,
                                "--kind",
                                kind,
                            ]));
                        game.expect_line("echoing", PATIENCE);
                        Box::new(move || {
                            game.wait_exit(PATIENCE);
                        })
                    }
                };
                let event = ShEvent::new(file).expect("an event's counter");
                pin_self(Some(mine));
                g.bench_function(
                    BenchmarkId::new(contender.name, round_param("", round)),
                    |b| b.iter_custom(|iters| contender.wake(ping, &mut seq, &event, iters)),
                );
                pin_self(None);
                pingpong::quit(ping);
                finish();
            }
        }
        g.finish();
        for contender in &mut contenders {
            contender.record();
        }
        stop(bridge);
    }

    impl Contender {
        fn new(name: &'static str) -> Contender {
            Contender {
                name,
                wakes: Vec::new(),
                lost: 0,
            }
        }

        /// `iters` wakes, [`GAP`] apart; returns the time they took (lost
        /// ones counted at the others' mean), and keeps each.
        fn wake(
            &mut self,
            ping: &AtomicU64,
            seq: &mut u64,
            event: &ShEvent,
            iters: u64,
        ) -> Duration {
            let mut total = Duration::ZERO;
            let lost_before = self.lost;
            let mut seen = event.count();
            for _ in 0..iters {
                *seq += 1;
                let start = Instant::now();
                ping.store(*seq, Ordering::Release);
                match event.wait_after(seen, Some(LOST)) {
                    Some(now) => {
                        let took = start.elapsed();
                        seen = now;
                        total += took;
                        self.wakes.push(took);
                    }
                    None => self.lost += 1,
                }
                let gap = Instant::now() + GAP;
                while Instant::now() < gap {
                    std::hint::spin_loop();
                }
            }
            let measured = iters - (self.lost - lost_before);
            if measured == 0 {
                return LOST * u32::try_from(iters).unwrap_or(u32::MAX);
            }
            total * u32::try_from(iters).unwrap_or(u32::MAX) / u32::try_from(measured).unwrap_or(1)
        }

        /// Records the median, the 99th percentile and the share of signals lost.
        fn record(&mut self) {
            self.wakes.sort_unstable();
            let at = |q: f64| {
                let i = ((self.wakes.len() as f64 - 1.0) * q).round() as usize;
                self.wakes
                    .get(i)
                    .map_or(f64::NAN, |d| d.as_secs_f64() * 1e6)
            };
            results::record("bridge-event-median", self.name, at(0.5), "µs");
            results::record("bridge-event-p99", self.name, at(0.99), "µs");
            let signals = self.wakes.len() as f64 + self.lost as f64;
            results::record(
                "bridge-event-lost",
                self.name,
                100.0 * self.lost as f64 / signals.max(1.0),
                "% of the signals",
            );
        }
    }

    /// The bridge's CPU use over [`IDLE`] while its two events (one set, one
    /// pulsed kind) wait for a game that does not signal.
    fn idle(wine: &Wine) {
        let dir = ShmDir::new();
        let me = std::process::id();
        let bridge = wine.bridge(
            &[
                "-m",
                &format!("shm-bench-idle-{me}"),
                "-s",
                "4096",
                "--event",
                &format!("shm-bench-idle-set-{me}"),
                "--pulsed-event",
                &format!("shm-bench-idle-pulse-{me}"),
            ],
            &dir,
        );
        let before = cpu_ticks(bridge.pid());
        std::thread::sleep(IDLE);
        let used = cpu_ticks(bridge.pid()) - before;
        stop(bridge);
        results::record(
            "bridge-event-idle",
            "shm-bridge",
            used as f64,
            "clock ticks/60 s",
        );
    }
}
