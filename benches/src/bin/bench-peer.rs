//! The second process of the cross-process benchmarks (Linux).
//!
//! ```text
//! bench-peer echo shmem ID SIZE        map a segment of this library by id; echo pings
//! bench-peer echo libafl FD SIZE       map an inherited LibAFL memfd by its id (the fd); echo
//! bench-peer echo floor PATH SIZE      map a file by hand (/proc/PID/fd/N, /dev/shm/NAME); echo
//! bench-peer reopen IMPL ID SIZE       then, for each line N on stdin: N reopens of the segment
//!                                      (map, read one byte, unmap), printed as total ns.
//!                                      IMPL: shmem (ID as this library prints it),
//!                                      shmem-unchecked (a SysV ID, attached without
//!                                      the size check: `SysvShMem::open_unchecked`),
//!                                      libafl-memfd (an inherited fd), libafl-memfd-proc
//!                                      (/proc/PID/fd/N opened, then mapped by LibAFL),
//!                                      libafl-posix (its name),
//!                                      libafl-sysv (the shmid), libafl-sysv-checked (the same
//!                                      after IPC_STAT), floor-file (a path), floor-sysv
//! bench-peer event-echo DIR PING EVENT  map the files DIR/PING and DIR/EVENT; for each new
//!                                      number at PING, notify the library's event in EVENT
//! bench-peer serve-shmem NAME          run this library's segment service NAME
//! bench-peer serve-libafl              run LibAFL's (over memfd) until stdin closes
//! ```
//! Each prints `ready` once set up; `echo` ends on the quit number,
//! `reopen` and `serve-libafl` when stdin closes. Failures panic.

#[cfg(target_os = "linux")]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    linux::run(&args);
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("bench-peer: the benchmarks run on Linux");
    std::process::exit(2);
}

#[cfg(target_os = "linux")]
mod linux {
    use std::ffi::CString;
    use std::io::BufRead;
    use std::time::Instant;

    use shm_benches::{floor, pingpong};
    use std::sync::atomic::Ordering;

    use shmem::{
        MemfdShMemProvider, PosixShMem, PosixShMemProvider, ShEvent, ShMemId, ShMemProvider,
        SysvShMem, SysvShMemProvider,
    };
    use shmem_providers::unix_shmem::memfd::MemfdShMemProvider as AflMemfd;
    use shmem_providers::unix_shmem::{
        MmapShMemProvider as AflPosix, UnixShMemProvider as AflSysv,
    };
    use shmem_providers::{ShMemId as AflId, ShMemProvider as AflProvider};

    pub fn run(args: &[&str]) {
        match args {
            ["echo", "shmem", id, size] => {
                let id: ShMemId = id.parse().expect("an id");
                let size = parse(size);
                match id.backend() {
                    "memfd" => echo_shmem::<MemfdShMemProvider>(id, size),
                    "posix" | "file" => echo_shmem::<PosixShMemProvider>(id, size),
                    "sysv" => echo_shmem::<SysvShMemProvider>(id, size),
                    other => panic!("no echo for {other}"),
                }
            }
            ["echo", "libafl", fd, size] => {
                let mut provider = AflMemfd::new().expect("LibAFL memfd provider");
                let mut mem = provider
                    .shmem_from_id_and_size(AflId::from_string(fd), parse(size))
                    .expect("LibAFL reopen");
                // SAFETY: the mapping holds at least MIN_SIZE bytes, page-aligned,
                // and both processes reach the two words only through atomics.
                let (ping, pong) = unsafe { pingpong::words(mem.as_mut_ptr()) };
                ready();
                pingpong::echo(ping, pong);
            }
            ["echo", "floor", path, size] => {
                let map = floor::Memfd::open(&cstring(path), parse(size));
                // SAFETY: as above, for the mapping made by hand.
                let (ping, pong) = unsafe { pingpong::words(map.ptr) };
                ready();
                pingpong::echo(ping, pong);
            }
            ["reopen", imp, id, size] => reopen(imp, id, parse(size)),
            ["event-echo", dir, ping, event] => event_echo(dir, ping, event),
            ["serve-shmem", name] => {
                let name = shmem::ServiceName::new(name).expect("a service name");
                // `serve` prints nothing; the benchmark waits for the socket.
                ready();
                match shmem::ShMemService::serve(&name) {
                    Ok(never) => match never {},
                    Err(e) => panic!("serve {name}: {e}"),
                }
            }
            ["serve-libafl"] => {
                let service = shmem_providers::ShMemService::<AflMemfd>::start();
                assert!(
                    matches!(service, shmem_providers::ShMemService::Started { .. }),
                    "LibAFL's service did not start: {service:?}"
                );
                ready();
                wait_for_eof();
                drop(service);
            }
            _ => panic!("unknown arguments {args:?}; see the top of bench-peer.rs"),
        }
    }

    fn parse(n: &str) -> usize {
        n.parse()
            .unwrap_or_else(|_| panic!("{n:?} is not a number"))
    }

    fn cstring(s: &str) -> CString {
        CString::new(s).expect("no NUL inside")
    }

    fn ready() {
        println!("ready");
    }

    fn wait_for_eof() {
        for line in std::io::stdin().lock().lines() {
            if line.is_err() {
                break;
            }
        }
    }

    fn echo_shmem<P: ShMemProvider>(id: ShMemId, size: usize) {
        let mut provider = P::new().expect("provider");
        let mem = provider
            .shmem_from_id_and_size(id, size)
            .expect("reopen by id");
        let (ping, pong) = pingpong::shm_words(&mem);
        ready();
        pingpong::echo(ping, pong);
    }

    /// Notifies the event in `dir/event` for each new number at ping in
    /// `dir/ping`, spinning, until the quit number.
    fn event_echo(dir: &str, ping: &str, event: &str) {
        let dir = std::path::Path::new(dir);
        let trigger = PosixShMem::open_in(dir, ping).expect("map the ping file");
        let mut counter = PosixShMem::open_in(dir, event).expect("map the event file");
        let event = ShEvent::new(&mut counter).expect("an event's counter");
        let (ping, _) = pingpong::shm_words(&trigger);
        ready();
        let mut last = ping.load(Ordering::Acquire);
        loop {
            let now = ping.load(Ordering::Acquire);
            if now != last {
                if now == pingpong::QUIT {
                    return;
                }
                event.notify();
                last = now;
            }
        }
    }

    /// Answers each line N with the time N reopens took, in ns.
    fn serve_timings(mut once: impl FnMut()) {
        ready();
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            let n: u64 = line.trim().parse().expect("a count");
            let start = Instant::now();
            for _ in 0..n {
                once();
            }
            println!("{}", start.elapsed().as_nanos());
        }
    }

    fn reopen_shmem<P: ShMemProvider>(id: ShMemId, size: usize) {
        let mut provider = P::new().expect("provider");
        serve_timings(|| {
            let mem = provider
                .shmem_from_id_and_size(id.clone(), size)
                .expect("reopen by id");
            std::hint::black_box(mem.load(0));
            drop(mem);
        });
    }

    fn reopen(imp: &str, id: &str, size: usize) {
        match imp {
            "shmem" => {
                let id: ShMemId = id.parse().expect("an id");
                match id.backend() {
                    "memfd" => reopen_shmem::<MemfdShMemProvider>(id, size),
                    "posix" | "file" => reopen_shmem::<PosixShMemProvider>(id, size),
                    "sysv" => reopen_shmem::<SysvShMemProvider>(id, size),
                    other => panic!("no reopen for {other}"),
                }
            }
            "shmem-unchecked" => {
                let id: ShMemId = id.parse().expect("an id");
                let ShMemId::SysV(shmid) = id else {
                    panic!("open_unchecked is SysV's, not {}'s", id.backend());
                };
                serve_timings(|| {
                    // SAFETY: the benchmark made the segment `size` bytes long.
                    let mem =
                        unsafe { SysvShMem::open_unchecked(shmid, size) }.expect("reopen by id");
                    std::hint::black_box(mem.load(0));
                    drop(mem);
                });
            }
            "libafl-memfd" => {
                // LibAFL's memfd id is the descriptor number, valid only where the
                // descriptor was inherited; dropping a reopened segment closes it,
                // so each round reopens a duplicate.
                let fd: libc::c_int = parse(id) as libc::c_int;
                let mut provider = AflMemfd::new().expect("LibAFL memfd provider");
                serve_timings(|| {
                    // SAFETY: duplicates a descriptor this process inherited.
                    let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
                    assert!(dup >= 0, "dup: {}", std::io::Error::last_os_error());
                    let mem = provider
                        .shmem_from_id_and_size(AflId::from_int(dup), size)
                        .expect("LibAFL reopen");
                    // SAFETY: a live mapping of at least one byte.
                    std::hint::black_box(unsafe { mem.as_ptr().read_volatile() });
                    drop(mem);
                });
            }
            "libafl-memfd-proc" => {
                // What a process that inherited nothing must do with LibAFL's
                // memfd: open the descriptor through /proc, as `shmem` and the
                // floor do, then have LibAFL map it by its id (the number).
                let path = cstring(id);
                let mut provider = AflMemfd::new().expect("LibAFL memfd provider");
                serve_timings(|| {
                    let fd = floor::open_rw(&path);
                    let mem = provider
                        .shmem_from_id_and_size(AflId::from_int(fd), size)
                        .expect("LibAFL reopen");
                    // SAFETY: a live mapping of at least one byte.
                    std::hint::black_box(unsafe { mem.as_ptr().read_volatile() });
                    drop(mem);
                });
            }
            "libafl-posix" => {
                let mut provider = AflPosix::new().expect("LibAFL mmap provider");
                let afl_id = AflId::from_string(id);
                serve_timings(|| {
                    let mut mem = provider
                        .shmem_from_id_and_size(afl_id, size)
                        .expect("LibAFL reopen");
                    // SAFETY: a live mapping of at least one byte.
                    std::hint::black_box(unsafe { mem.as_ptr().read_volatile() });
                    // Its drop unmaps but leaves the descriptor open; releasing closes it.
                    provider.release_shmem(&mut mem);
                    drop(mem);
                });
            }
            "libafl-sysv" | "libafl-sysv-checked" => {
                // Checked: after the size check LibAFL lacks and `shmem`
                // makes, what a caller who was told the size must add to be
                // safe from mapping less than it then reads.
                let checked = imp == "libafl-sysv-checked";
                let mut provider = AflSysv::new().expect("LibAFL SysV provider");
                let afl_id = AflId::from_string(id);
                let shmid = parse(id) as libc::c_int;
                serve_timings(|| {
                    if checked {
                        assert!(floor::sysv_size(shmid) >= size, "segment too small");
                    }
                    let mem = provider
                        .shmem_from_id_and_size(afl_id, size)
                        .expect("LibAFL reopen");
                    // SAFETY: a live mapping of at least one byte.
                    std::hint::black_box(unsafe { mem.as_ptr().read_volatile() });
                    drop(mem);
                });
            }
            "floor-file" => {
                let path = cstring(id);
                serve_timings(|| floor::file_reopen(&path, size));
            }
            "floor-sysv" => {
                let shmid = parse(id) as libc::c_int;
                serve_timings(|| floor::sysv_reopen(shmid));
            }
            other => panic!("unknown reopen {other}"),
        }
    }
}
