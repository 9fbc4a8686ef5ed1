//! A second program for the segment service tests (Unix): a client that
//! holds segments, shares them, forks, or runs a service of its own.
//!
//! ```text
//! served-peer hold COUNT SIZE [ID SIZE]   create COUNT segments (and open ID); print their ids
//! served-peer client ID SIZE SLOT         open ID, count itself in, create one; print its id
//! served-peer fork explicit|implicit      create A, pre-fork, fork; the parent exits first;
//!                                         the child reads A, creates B, prints "A B";
//!                                         `implicit`: the child skips post_fork
//! served-peer host-fork keep|exit         run the service here (reached without a socket),
//!                                         create A, fork; `keep`: the child reads A, creates
//!                                         B, ends, and the parent checks all is freed;
//!                                         `exit`: the parent exits at once, and the child
//!                                         checks that the service's name went with it;
//!                                         both print "ok" at the end
//! served-peer connect                     connect and create one segment; print "ok"
//! served-peer knock                       (Linux) connect by hand, without checking the
//!                                         service's user; print how many bytes came
//! served-peer serve NAME                  run the service NAME on this thread, for good
//! served-peer time ROUNDS SIZE            time create, touch one byte, free; print the
//!                                         median, 10th and 90th percentiles in ns
//! ```
//! Every mode but `serve` talks to the service `SHMEM_SERVICE` names, prints
//! `ready` once done, then waits for its stdin to close. Any failure: a
//! message on stderr and exit code 1 (2 for bad arguments).

#[cfg(unix)]
fn main() -> std::process::ExitCode {
    use clap::Parser;
    match unix::run(unix::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("served-peer: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(unix))]
fn main() {
    eprintln!("served-peer: the segment service is for Unix");
    std::process::exit(1);
}

#[cfg(unix)]
mod unix {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicU64, Ordering};

    use shm_tests::served::{CHILD_WAS_HERE, FROM_PARENT, MADE_BY_CHILD};
    use shmem::{
        RcShMemProvider, ServedShMemProvider, ServiceName, ShMem, ShMemProvider, ShMemService,
    };

    #[derive(Debug, clap::Parser)]
    #[command(about = "A client of the segment service for the service tests")]
    pub enum Cli {
        /// Create COUNT segments (and open ID of OPEN_SIZE bytes); print their ids.
        Hold {
            count: usize,
            size: usize,
            #[arg(requires = "open_size")]
            id: Option<String>,
            open_size: Option<usize>,
        },
        /// Open ID, count itself in at SLOT, create one segment; print its id.
        Client {
            id: String,
            size: usize,
            slot: usize,
        },
        /// Create A, pre-fork, fork; the parent exits first.
        Fork { post_fork: PostFork },
        /// Run the service here, create A, fork.
        HostFork { parent: Parent },
        /// Connect and create one segment; print "ok".
        Connect,
        /// (Linux) connect by hand without checking the service's user.
        Knock,
        /// Run the service NAME on this thread, for good.
        Serve { name: String },
        /// Time create, touch one byte, free; print percentiles in ns.
        Time { rounds: usize, size: usize },
    }

    /// Whether the forked child calls `post_fork`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
    pub enum PostFork {
        Explicit,
        Implicit,
    }

    /// What the parent that runs the service does after the fork.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
    pub enum Parent {
        Keep,
        Exit,
    }

    pub fn run(cli: Cli) -> Result<(), String> {
        match cli {
            Cli::Hold {
                count,
                size,
                id,
                open_size,
            } => hold(count, size, id.zip(open_size)),
            Cli::Client { id, size, slot } => client(&id, size, slot),
            Cli::Fork { post_fork } => fork(post_fork == PostFork::Explicit),
            Cli::HostFork { parent } => host_fork(parent == Parent::Keep),
            Cli::Connect => {
                let mut provider = ServedShMemProvider::new().map_err(s)?;
                let _mem = provider.new_shmem(4096).map_err(s)?;
                println!("ok");
                Ok(())
            }
            #[cfg(target_os = "linux")]
            Cli::Knock => {
                use std::os::linux::net::SocketAddrExt;
                let name = ServiceName::from_env().map_err(s)?;
                let addr =
                    std::os::unix::net::SocketAddr::from_abstract_name(name.as_str()).map_err(s)?;
                let mut sock = std::os::unix::net::UnixStream::connect_addr(&addr).map_err(s)?;
                sock.set_read_timeout(Some(std::time::Duration::from_secs(20)))
                    .map_err(s)?;
                let mut got = Vec::new();
                match sock.read_to_end(&mut got) {
                    Ok(_) => println!("closed after {} bytes", got.len()),
                    Err(e) => println!("{e} after {} bytes", got.len()),
                }
                Ok(())
            }
            #[cfg(not(target_os = "linux"))]
            Cli::Knock => Err("knock: Linux only (abstract socket names)".into()),
            Cli::Time { rounds, size } => {
                let mut provider = ServedShMemProvider::new().map_err(s)?;
                let mut times = Vec::new();
                for _ in 0..rounds {
                    let start = std::time::Instant::now();
                    let mem = provider.new_shmem(size).map_err(s)?;
                    mem.store(0, 1);
                    drop(mem);
                    times.push(start.elapsed().as_nanos());
                }
                times.sort_unstable();
                let at = |q: usize| times.get(times.len() * q / 100).copied().unwrap_or(0);
                println!("{} {} {}", at(50), at(10), at(90));
                Ok(())
            }
            Cli::Serve { name } => {
                let name = ServiceName::new(&name).map_err(s)?;
                match ShMemService::serve(&name) {
                    Ok(never) => match never {},
                    Err(e) => Err(e.to_string()),
                }
            }
        }
    }

    fn hold(count: usize, size: usize, open: Option<(String, usize)>) -> Result<(), String> {
        let mut provider = ServedShMemProvider::new().map_err(s)?;
        let mut held = Vec::new();
        for i in 0..count {
            let mem = provider.new_shmem(size).map_err(s)?;
            mem[..8].copy_from_slice(&(i as u64).to_le_bytes());
            println!("{}", mem.id());
            held.push(mem);
        }
        let _opened = match open {
            Some((id, size)) => Some(
                provider
                    .shmem_from_id_and_size(id.parse().map_err(s)?, size)
                    .map_err(s)?,
            ),
            None => None,
        };
        ready_then_wait()
    }

    fn client(id: &str, size: usize, slot: usize) -> Result<(), String> {
        let mut provider = ServedShMemProvider::new().map_err(s)?;
        let common = provider
            .shmem_from_id_and_size(id.parse().map_err(s)?, size)
            .map_err(s)?;
        // SAFETY: the word at 0 is only ever reached as a u64 view; the
        // writes below are whole aligned words elsewhere.
        unsafe { common.atomic::<AtomicU64>(0) }
            .map_err(s)?
            .fetch_add(1, Ordering::SeqCst);
        common
            .write(8 * (slot + 1), &(1000 + slot as u64))
            .map_err(s)?;
        let own = provider.new_shmem(4096).map_err(s)?;
        let text = format!("client {slot}");
        own[..text.len()].copy_from_slice(text.as_bytes());
        println!("{}", own.id());
        ready_then_wait()
    }

    fn fork(explicit: bool) -> Result<(), String> {
        let mut provider = RcShMemProvider::<ServedShMemProvider>::new().map_err(s)?;
        let a = provider.new_shmem(4096).map_err(s)?;
        a[..FROM_PARENT.len()].copy_from_slice(FROM_PARENT);
        let parent = std::process::id();
        std::io::stdout().flush().map_err(s)?;
        provider.pre_fork().map_err(s)?;
        // SAFETY: this program has one thread; the child only runs code of
        // its own from here on.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(format!("fork: {}", std::io::Error::last_os_error()));
        }
        if pid > 0 {
            // The parent lets go of everything and exits at once.
            provider.post_fork(false).map_err(s)?;
            drop(a);
            drop(provider);
            return Ok(());
        }
        // The child: make sure the parent is gone before doing anything.
        let start = std::time::Instant::now();
        while rustix::process::getppid().is_some_and(|p| p.as_raw_nonzero().get() as u32 == parent)
        {
            if start.elapsed().as_secs() > 30 {
                return Err("the parent did not exit".into());
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        if explicit {
            provider.post_fork(true).map_err(s)?;
        }
        let seen = a[..FROM_PARENT.len()].to_vec();
        if seen != FROM_PARENT {
            return Err(format!("the child read {seen:?} in A"));
        }
        a[64..64 + CHILD_WAS_HERE.len()].copy_from_slice(CHILD_WAS_HERE);
        let b = provider.new_shmem(8192).map_err(s)?;
        b[..MADE_BY_CHILD.len()].copy_from_slice(MADE_BY_CHILD);
        if std::env::var_os("SERVED_PEER_DEBUG").is_some() {
            let stats = provider.with_inner(|p| p.service_stats()).map_err(s)?;
            eprintln!("served-peer: child sees {stats:?}");
        }
        println!("{} {}", a.id(), b.id());
        ready_then_wait()
    }

    fn host_fork(keep: bool) -> Result<(), String> {
        let name = ServiceName::from_env().map_err(s)?;
        let mut provider = RcShMemProvider::<ServedShMemProvider>::new().map_err(s)?;
        if !provider.with_inner(|p| p.is_local()) {
            return Err("the provider did not start the service here".into());
        }
        let a = provider.new_shmem(4096).map_err(s)?;
        a[..FROM_PARENT.len()].copy_from_slice(FROM_PARENT);
        std::io::stdout().flush().map_err(s)?;
        provider.pre_fork().map_err(s)?;
        // Taken before the fork: the parent may be gone before the child asks.
        let parent = rustix::process::getpid();
        // SAFETY: the service thread holds no lock across a fork that the child
        // needs: the child reaches the service through its socket only.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(format!("fork: {}", std::io::Error::last_os_error()));
        }
        let stats = |provider: &RcShMemProvider<ServedShMemProvider>| {
            provider.with_inner(|p| p.service_stats()).map_err(s)
        };
        if pid > 0 {
            provider.post_fork(false).map_err(s)?;
            if !keep {
                // Exit at once, service and all (no destructors).
                std::process::exit(0);
            }
            drop(a); // the child's share, set aside by pre_fork, keeps it
            let mut status = 0;
            // SAFETY: waits for our own child, writing its status into `status`.
            if unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
                return Err(format!("waitpid: {}", std::io::Error::last_os_error()));
            }
            if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
                return Err(format!("the child failed: status {status:#x}"));
            }
            let start = std::time::Instant::now();
            loop {
                let now = stats(&provider)?;
                if now.segments == 0 && now.clients == 1 {
                    break;
                }
                if start.elapsed().as_secs() > 20 {
                    return Err(format!("left behind after the child: {now:?}"));
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            println!("ok");
            return Ok(());
        }
        // The child.
        if keep {
            provider.post_fork(true).map_err(s)?;
            if provider.with_inner(|p| p.is_local()) {
                return Err("the child reaches its parent's service without a socket".into());
            }
            if a[..FROM_PARENT.len()].to_vec() != FROM_PARENT {
                return Err("the child does not see A".into());
            }
            let b = provider.new_shmem(8192).map_err(s)?;
            b[..MADE_BY_CHILD.len()].copy_from_slice(MADE_BY_CHILD);
            // A is held through the parent's snapshot even once the parent
            // has dropped it: wait for that drop, then look.
            let start = std::time::Instant::now();
            loop {
                let now = stats(&provider)?;
                if now.segments == 2 && now.clients == 2 {
                    break;
                }
                if start.elapsed().as_secs() > 20 {
                    return Err(format!("the child sees {now:?}"));
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            return Ok(());
        }
        let start = std::time::Instant::now();
        while rustix::process::getppid() == Some(parent) {
            if start.elapsed().as_secs() > 20 {
                return Err("the parent did not exit".into());
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        // The service ended with its process: nothing may still answer at its
        // name (the child's copy of the listening socket was swapped out).
        let start = std::time::Instant::now();
        let err = ServedShMemProvider::connect(&name)
            .err()
            .ok_or("the parent's service still answers")?;
        if start.elapsed().as_secs() >= 5 || !err.to_string().contains("no service") {
            return Err(format!("after {:?}: {err}", start.elapsed()));
        }
        if a[..FROM_PARENT.len()].to_vec() != FROM_PARENT {
            return Err("the child lost A's memory".into());
        }
        println!("ok");
        Ok(())
    }

    fn ready_then_wait() -> Result<(), String> {
        println!("ready");
        std::io::stdout().flush().map_err(s)?;
        let mut rest = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut rest);
        Ok(())
    }

    fn s(e: impl std::error::Error) -> String {
        shm_tests::chain(&e)
    }
}
