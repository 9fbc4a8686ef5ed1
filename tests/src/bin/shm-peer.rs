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
//! only), served (Unix; the service `SHMEM_SERVICE` names), windows or std;
//! one this OS lacks is an error.
//! Creators print `ready` once the segment exists. Openers print the
//! creator's last message.
//! Any failure: a message on stderr and exit code 1 (2 for bad arguments).

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use shm_tests::handshake;
use shmem::{ShBytes, ShMem, ShMemId, ShMemProvider};

#[derive(Debug, Parser)]
#[command(about = "The second process of the cross-process tests")]
enum Cli {
    /// Open an existing segment and answer the handshake.
    Open {
        backend: Backend,
        #[command(subcommand)]
        how: How,
    },
    /// Create a named segment, print `ready`, run the creator's side.
    CreateNamed {
        name: String,
        size: usize,
        nonce: String,
    },
    /// (Windows) create a mapping backed by the new file PATH.
    CreateFileBacked {
        name: String,
        path: std::path::PathBuf,
        size: usize,
        nonce: String,
    },
    /// Create COUNT segments, print their ids, then `ready`; wait to be killed.
    Hold {
        backend: Backend,
        count: usize,
        size: usize,
    },
}

/// How `open` finds the segment.
#[derive(Debug, Subcommand)]
enum How {
    /// By its id, mapping SIZE bytes.
    Id {
        id: String,
        size: usize,
        nonce: String,
    },
    /// From the environment variables VAR and VAR_SIZE.
    Env { var: String, nonce: String },
    /// By name (backend `named`).
    Name { name: String, nonce: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    Memfd,
    Posix,
    Sysv,
    SysvUnchecked,
    Served,
    Windows,
    Std,
    Named,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shm-peer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    match cli {
        Cli::Open { backend, how } => open(backend, how),
        #[cfg(not(target_os = "android"))]
        Cli::CreateNamed { name, size, nonce } => {
            let mut mem = shmem::NamedShMem::create(&name, size).map_err(s)?;
            as_creator(&mut mem, &nonce)
        }
        #[cfg(windows)]
        Cli::CreateFileBacked {
            name,
            path,
            size,
            nonce,
        } => {
            let mut mem = shmem::WinShMem::create_file_backed(&name, &path, size).map_err(s)?;
            as_creator(&mut mem, &nonce)
        }
        Cli::Hold {
            backend,
            count,
            size,
        } => hold(backend, count, size),
        #[allow(unreachable_patterns)]
        other => Err(format!("{other:?} is not available on this OS")),
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
fn hold(backend: Backend, count: usize, size: usize) -> Result<(), String> {
    match backend {
        Backend::Std => hold_with::<shmem::StdShMemProvider>(count, size),
        #[cfg(any(target_os = "linux", target_os = "android"))]
        Backend::Memfd => hold_with::<shmem::MemfdShMemProvider>(count, size),
        #[cfg(all(unix, not(target_os = "android")))]
        Backend::Sysv => hold_with::<shmem::SysvShMemProvider>(count, size),
        #[cfg(unix)]
        Backend::Served => hold_with::<shmem::ServedShMemProvider>(count, size),
        other => Err(format!(
            "hold: {other:?} is named or not available on this OS"
        )),
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

fn open(backend: Backend, how: How) -> Result<(), String> {
    match backend {
        Backend::Std => open_with::<shmem::StdShMemProvider>(how),
        #[cfg(any(target_os = "linux", target_os = "android"))]
        Backend::Memfd => open_with::<shmem::MemfdShMemProvider>(how),
        #[cfg(all(unix, not(target_os = "android")))]
        Backend::Posix => open_with::<shmem::PosixShMemProvider>(how),
        #[cfg(all(unix, not(target_os = "android")))]
        Backend::Sysv => open_with::<shmem::SysvShMemProvider>(how),
        #[cfg(all(unix, not(target_os = "android")))]
        Backend::SysvUnchecked => match how {
            How::Id { id, size, nonce } => {
                let shmid = id.parse().map_err(|e| format!("shmid {id:?}: {e}"))?;
                // SAFETY: the test that runs us made the segment SIZE bytes long.
                let mem = unsafe { shmem::SysvShMem::open_unchecked(shmid, size) }.map_err(s)?;
                as_opener(&mem, &nonce)
            }
            other => Err(format!("sysv-unchecked opens by id only, not {other:?}")),
        },
        #[cfg(unix)]
        Backend::Served => open_with::<shmem::ServedShMemProvider>(how),
        #[cfg(windows)]
        Backend::Windows => open_with::<shmem::WinShMemProvider>(how),
        #[cfg(not(target_os = "android"))]
        Backend::Named => match how {
            How::Name { name, nonce } => {
                let mem = shmem::NamedShMem::open(&name).map_err(s)?;
                as_opener(&mem, &nonce)
            }
            other => Err(format!("named opens by name only, not {other:?}")),
        },
        #[allow(unreachable_patterns)]
        other => Err(format!("backend {other:?} is not available on this OS")),
    }
}

fn open_with<P: ShMemProvider>(how: How) -> Result<(), String> {
    let mut provider = P::new().map_err(s)?;
    let (mem, nonce) = match how {
        How::Id { id, size, nonce } => {
            let id: ShMemId = id.parse().map_err(s)?;
            (provider.shmem_from_id_and_size(id, size).map_err(s)?, nonce)
        }
        How::Env { var, nonce } => (provider.existing_from_env(&var).map_err(s)?, nonce),
        How::Name { .. } => return Err("by name: use the backend `named`".into()),
    };
    as_opener(&mem, &nonce)
}

fn as_opener(mem: &ShBytes, nonce: &str) -> Result<(), String> {
    let bye = handshake::opener(mem, nonce)?;
    println!("{bye}");
    Ok(())
}

fn s(e: impl std::error::Error) -> String {
    shm_tests::chain(&e)
}
