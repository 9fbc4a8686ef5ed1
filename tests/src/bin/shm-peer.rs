//! The second process of the cross-process tests, on Linux and on Windows
//! (under Wine): opens a segment as told and runs the handshake.
//!
//! ```text
//! shm-peer open BACKEND id ID SIZE NONCE      reopen by id
//! shm-peer open BACKEND env VAR NONCE         reopen from VAR and VAR_SIZE
//! shm-peer open named name NAME NONCE         open a named segment
//! shm-peer create-named NAME SIZE NONCE       create it, wait for an opener
//! shm-peer create-file-backed NAME PATH SIZE NONCE   (Windows) a mapping of a new file
//! shm-peer hold BACKEND COUNT SIZE            create COUNT segments, print their
//!                                             ids, then `ready`, and wait to be killed
//! ```
//! (Android has no named segments.)
//! BACKEND is memfd, posix, sysv, sysv-unchecked (`open_unchecked`, by id
//! only), served (Unix; the service `SHMEM_SERVICE` names), windows or std.
//! Creators print `ready` once the segment exists. Openers print the
//! creator's last message.
//! Any failure: a message on stderr and exit code 1.

use std::io::Write;
use std::process::ExitCode;

use shm_tests::handshake;
use shmem::{ShBytes, ShMem, ShMemProvider};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shm-peer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[&str]) -> Result<(), String> {
    match args {
        ["open", backend, how @ ..] => open(backend, how),
        #[cfg(not(target_os = "android"))]
        ["create-named", name, size, nonce] => {
            let mut mem = shmem::NamedShMem::create(name, parse_size(size)?).map_err(s)?;
            as_creator(&mut mem, nonce)
        }
        #[cfg(windows)]
        ["create-file-backed", name, path, size, nonce] => {
            let mut mem = shmem::WinShMem::create_file_backed(
                name,
                std::path::Path::new(path),
                parse_size(size)?,
            )
            .map_err(s)?;
            as_creator(&mut mem, nonce)
        }
        ["hold", backend, count, size] => hold(backend, count, size),
        _ => Err(format!(
            "unknown arguments {args:?}; see the comment at the top of shm-peer.rs"
        )),
    }
}

#[cfg_attr(target_os = "android", allow(dead_code))]
fn as_creator(mem: &mut impl ShMem, nonce: &str) -> Result<(), String> {
    handshake::creator_start(mem, nonce);
    println!("ready");
    std::io::stdout().flush().map_err(s)?;
    handshake::creator_finish(mem, nonce, || true)
}

/// Creates segments and holds them until killed: what a crash leaves.
fn hold(backend: &str, count: &str, size: &str) -> Result<(), String> {
    let count: usize = count.parse().map_err(s)?;
    let size = parse_size(size)?;
    match backend {
        "std" => hold_with::<shmem::StdShMemProvider>(count, size),
        #[cfg(any(target_os = "linux", target_os = "android"))]
        "memfd" => hold_with::<shmem::MemfdShMemProvider>(count, size),
        #[cfg(all(unix, not(target_os = "android")))]
        "sysv" => hold_with::<shmem::SysvShMemProvider>(count, size),
        #[cfg(unix)]
        "served" => hold_with::<shmem::ServedShMemProvider>(count, size),
        other => Err(format!("hold: unknown or named backend {other:?}")),
    }
}

fn hold_with<P: ShMemProvider>(count: usize, size: usize) -> Result<(), String> {
    let mut provider = P::new().map_err(s)?;
    let mut held = Vec::with_capacity(count);
    for _ in 0..count {
        let mem = provider.new_shmem(size).map_err(s)?;
        mem.fill(0x5A);
        println!("{}", mem.id());
        held.push(mem);
    }
    println!("ready");
    std::io::stdout().flush().map_err(s)?;
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

fn open(backend: &str, how: &[&str]) -> Result<(), String> {
    match backend {
        "std" => open_with::<shmem::StdShMemProvider>(how),
        #[cfg(any(target_os = "linux", target_os = "android"))]
        "memfd" => open_with::<shmem::MemfdShMemProvider>(how),
        #[cfg(all(unix, not(target_os = "android")))]
        "posix" => open_with::<shmem::PosixShMemProvider>(how),
        #[cfg(all(unix, not(target_os = "android")))]
        "sysv" => open_with::<shmem::SysvShMemProvider>(how),
        #[cfg(all(unix, not(target_os = "android")))]
        "sysv-unchecked" => match how {
            ["id", shmid, size, nonce] => {
                let shmid = shmid.parse().map_err(|e| format!("shmid {shmid:?}: {e}"))?;
                // SAFETY: the test that runs us made the segment SIZE bytes long.
                let mem = unsafe { shmem::SysvShMem::open_unchecked(shmid, parse_size(size)?) }
                    .map_err(s)?;
                as_opener(&mem, nonce)
            }
            _ => Err(format!(
                "expected: sysv-unchecked id SHMID SIZE NONCE, got {how:?}"
            )),
        },
        #[cfg(unix)]
        "served" => open_with::<shmem::ServedShMemProvider>(how),
        #[cfg(windows)]
        "windows" => open_with::<shmem::WinShMemProvider>(how),
        #[cfg(not(target_os = "android"))]
        "named" => match how {
            ["name", name, nonce] => {
                let mem = shmem::NamedShMem::open(name).map_err(s)?;
                as_opener(&mem, nonce)
            }
            _ => Err(format!("expected: named name NAME NONCE, got {how:?}")),
        },
        other => Err(format!("unknown backend {other:?}")),
    }
}

fn open_with<P: ShMemProvider>(how: &[&str]) -> Result<(), String> {
    let mut provider = P::new().map_err(s)?;
    let (mem, nonce) = match how {
        ["id", id, size, nonce] => {
            let id = id.parse().map_err(s)?;
            (
                provider
                    .shmem_from_id_and_size(id, parse_size(size)?)
                    .map_err(s)?,
                nonce,
            )
        }
        ["env", var, nonce] => (provider.existing_from_env(var).map_err(s)?, nonce),
        _ => {
            return Err(format!(
                "expected id ID SIZE NONCE or env VAR NONCE, got {how:?}"
            ));
        }
    };
    as_opener(&mem, nonce)
}

fn as_opener(mem: &ShBytes, nonce: &str) -> Result<(), String> {
    let bye = handshake::opener(mem, nonce)?;
    println!("{bye}");
    Ok(())
}

fn parse_size(text: &str) -> Result<usize, String> {
    text.parse().map_err(|e| format!("size {text:?}: {e}"))
}

fn s(e: impl std::error::Error) -> String {
    shm_tests::chain(&e)
}
