//! `shm-bridge serve` with 20 WebSocket clients while ACC's pages change 60
//! times a second: the server's CPU time per second (its process's `utime +
//! stime`, against the same server with no client, which still reads the
//! pages), and the delay from a page change to the message with it reaching
//! a client (so an upper bound of the delay to its leaving the server: the
//! loopback adds some 10–50 µs).
//!
//! The pages are written by this process with ACC's update protocol
//! (`shm_bridge::scenario::FilePages`), as the game writes them; the server
//! is the release build of the companion (`cargo build --release -p
//! shm-bridge`, which `cargo xtask bench` does), or `SHM_BRIDGE_BIN`.

#[cfg(target_os = "linux")]
fn main() {
    linux::main();
}

#[cfg(not(target_os = "linux"))]
fn main() {}

#[cfg(target_os = "linux")]
mod linux {
    use std::net::{SocketAddr, TcpStream};
    use std::path::PathBuf;
    use std::process::Command;
    use std::sync::Arc;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use criterion::{BenchmarkId, Criterion, SamplingMode};
    use shm_benches::wine::{PATIENCE, cpu_ticks};
    use shm_benches::{ROUNDS, results, round_param};
    use shm_bridge::core::presets::Presets;
    use shm_bridge::scenario::FilePages;
    use shm_bridge::titles::ac::synthetic::SESSION;
    use shm_tests::wine::{Running, ShmDir};

    /// WebSocket clients.
    const CLIENTS: usize = 20;
    /// The game's rate.
    const HZ: u32 = 60;
    /// How long the CPU is measured.
    const CPU_WINDOW: Duration = Duration::from_secs(20);

    pub fn main() {
        let mut c = Criterion::default()
            .configure_from_args()
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3));
        let mut bench = Bench::start();
        cpu(&mut bench);
        delay(&mut c, &mut bench);
        c.final_summary();
    }

    /// The companion's release build.
    fn companion() -> PathBuf {
        let path = std::env::var_os("SHM_BRIDGE_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| results::target_dir().join("release/shm-bridge"));
        assert!(
            path.exists(),
            "{} is missing: `cargo build --release -p shm-bridge` first (or set SHM_BRIDGE_BIN)",
            path.display()
        );
        path
    }

    /// The pages, the server, and the frames written so far.
    struct Bench {
        pages: FilePages,
        server: Running,
        addr: SocketAddr,
        frame: u32,
        _dir: ShmDir,
    }

    impl Bench {
        fn start() -> Bench {
            let dir = ShmDir::new();
            let presets = Presets::builtin();
            let specs = presets.find("acc").unwrap().specs().unwrap();
            let mut pages = FilePages::create(&dir.path, &specs, &SESSION).unwrap();
            pages.write(1).unwrap();
            let mut server = Running::spawn(
                Command::new(companion())
                    .args(["serve", "--game", "acc", "--listen", "127.0.0.1:0"])
                    .args(["--max-clients", "64", "--tmpfs"])
                    .arg(&dir.path),
            );
            let line = server.expect_line("  http://", PATIENCE);
            let addr = line
                .trim()
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .parse()
                .expect("the URL's address");
            Bench {
                pages,
                server,
                addr,
                frame: 1,
                _dir: dir,
            }
        }

        /// Writes the next frame; returns its number and when it was written.
        fn next_frame(&mut self) -> (u32, Instant) {
            self.frame += 1;
            self.pages.write(self.frame).unwrap();
            (self.frame, Instant::now())
        }

        /// The server's CPU ticks a second over `window` while frames are
        /// written at [`HZ`].
        fn cpu_per_second(&mut self, window: Duration) -> f64 {
            let pid = self.server.pid();
            let start = Instant::now();
            let before = cpu_ticks(pid);
            let mut n = 0;
            while start.elapsed() < window {
                n += 1;
                self.next_frame();
                let next = start + Duration::from_secs(1) / HZ * n;
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
            let ticks = cpu_ticks(pid) - before;
            ticks as f64 / start.elapsed().as_secs_f64()
        }
    }

    /// A client's arrivals: (frame, when), on a channel.
    fn client(addr: SocketAddr, tx: mpsc::Sender<(u32, Instant)>) -> Arc<TcpStream> {
        let stream = TcpStream::connect(addr).unwrap();
        let shared = Arc::new(stream.try_clone().unwrap());
        let (mut socket, _) = tungstenite::client(format!("ws://{addr}/api/ws"), stream).unwrap();
        std::thread::spawn(move || {
            while let Ok(message) = socket.read() {
                let at = Instant::now();
                let tungstenite::Message::Text(text) = message else {
                    continue;
                };
                let doc: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
                let Some(update) = doc["telemetry"]["update"].as_u64() else {
                    continue;
                };
                if tx.send((update as u32, at)).is_err() {
                    return;
                }
            }
        });
        shared
    }

    /// CPU per second of one core, in %, with no client and with [`CLIENTS`].
    fn cpu(bench: &mut Bench) {
        let ticks_per_s = rustix::param::clock_ticks_per_second() as f64;
        let idle = bench.cpu_per_second(CPU_WINDOW) / ticks_per_s * 100.0;
        let (tx, rx) = mpsc::channel();
        let streams: Vec<_> = (0..CLIENTS)
            .map(|_| client(bench.addr, tx.clone()))
            .collect();
        let busy = bench.cpu_per_second(CPU_WINDOW) / ticks_per_s * 100.0;
        let received = rx.try_iter().count();
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        eprintln!(
            "serve CPU: {idle:.2} % of a core with no client, {busy:.2} % with {CLIENTS} \
             clients at {HZ} Hz ({received} messages in {CPU_WINDOW:?}); load average {}",
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        );
        results::record("serve-cpu", "no-client", idle, "% of a core");
        results::record("serve-cpu", "20-clients", busy, "% of a core");
        for s in streams {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    /// The delay from a frame's writing to its message at the first and at
    /// the last of [`CLIENTS`] clients.
    fn delay(c: &mut Criterion, bench: &mut Bench) {
        let (tx, rx) = mpsc::channel();
        let streams: Vec<_> = (0..CLIENTS)
            .map(|_| client(bench.addr, tx.clone()))
            .collect();
        let mut first_all = Vec::new();
        let mut last_all = Vec::new();
        let mut g = c.benchmark_group("serve-delay");
        g.sampling_mode(SamplingMode::Flat).sample_size(10);
        for round in 1..=ROUNDS {
            g.bench_function(
                BenchmarkId::new("20-clients-60Hz", round_param("", round)),
                |b| {
                    b.iter_custom(|iters| {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            // A frame every 1/60 s, as the game writes them.
                            std::thread::sleep(Duration::from_secs(1) / HZ);
                            while rx.try_recv().is_ok() {}
                            let (n, written) = bench.next_frame();
                            let mut got = 0;
                            let mut first = None;
                            while got < CLIENTS {
                                let (update, at) = rx.recv_timeout(PATIENCE).expect("a message");
                                if update != n {
                                    continue;
                                }
                                got += 1;
                                first.get_or_insert(at);
                                if got == CLIENTS {
                                    last_all.push(at - written);
                                }
                            }
                            let first = first.expect("a client") - written;
                            first_all.push(first);
                            total += first;
                        }
                        total
                    })
                },
            );
        }
        g.finish();
        for (name, mut delays) in [("first-client", first_all), ("last-client", last_all)] {
            delays.sort();
            let at = |q: f64| delays[((delays.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3;
            eprintln!(
                "serve delay to the {name}: median {:.2} ms, 99th percentile {:.2} ms over {} frames",
                at(0.5),
                at(0.99),
                delays.len()
            );
            results::record("serve-delay-median", name, at(0.5), "ms");
            results::record("serve-delay-p99", name, at(0.99), "ms");
        }
        for s in streams {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        bench.server.signal(rustix::process::Signal::INT);
        bench.server.wait_exit(PATIENCE);
    }
}
