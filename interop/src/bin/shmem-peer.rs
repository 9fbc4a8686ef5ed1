//! Our side: a program written against `shmem`'s `StdShMemProvider` as
//! a LibAFL or AFL user would write it.
//!
//! ```text
//! shmem-peer create SIZE -- CMD ARGS...   make a map, write_to_env, run CMD, check its answer
//! shmem-peer open std|posix               existing_from_env, check the mark, answer
//! shmem-peer afl-target                   as an AFL target: map __AFL_SHM_ID (no size given), mark edges
//! ```

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    imp::main()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("shmem-peer: Linux only");
}

#[cfg(target_os = "linux")]
mod imp {
    use std::process::{Command, ExitCode};

    use shm_interop::{AFL_EDGES, CREATOR_AT, CREATOR_MARK, ENV, OPENER_AT, OPENER_MARK};
    use shmem::{PosixShMemProvider, ShMem, ShMemProvider, StdShMemProvider};

    pub fn main() -> ExitCode {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let result = match args.as_slice() {
            ["create", size, "--", cmd @ ..] => create(size, cmd),
            ["open", "std"] => open(StdShMemProvider::new()),
            ["open", "posix"] => open(PosixShMemProvider::new()),
            ["afl-target"] => afl_target(),
            _ => {
                Err("usage: shmem-peer create SIZE -- CMD... | open std|posix | afl-target".into())
            }
        };
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("shmem-peer: {e}");
                ExitCode::FAILURE
            }
        }
    }

    fn create(size: &str, cmd: &[&str]) -> Result<(), String> {
        let size: usize = size.parse().map_err(|e| format!("size {size:?}: {e}"))?;
        let mut provider = StdShMemProvider::new().map_err(chain)?;
        let map = provider.new_shmem(size).map_err(chain)?;
        map[CREATOR_AT..CREATOR_AT + CREATOR_MARK.len()].copy_from_slice(CREATOR_MARK);
        // SAFETY: this program has one thread.
        unsafe { map.write_to_env(ENV) }.map_err(chain)?;
        let (program, args) = cmd.split_first().ok_or("no command to run")?;
        let status = Command::new(program)
            .args(args)
            .status()
            .map_err(|e| format!("run {program}: {e}"))?;
        if !status.success() {
            return Err(format!("{program} failed: {status}"));
        }
        let answer = map[OPENER_AT..OPENER_AT + OPENER_MARK.len()].to_vec();
        if answer != OPENER_MARK {
            return Err(format!("the opener's answer is missing: {answer:?}"));
        }
        println!("shmem saw {}", String::from_utf8_lossy(&answer));
        Ok(())
    }

    fn open<P: ShMemProvider>(provider: shmem::Result<P>) -> Result<(), String> {
        let map = provider
            .map_err(chain)?
            .existing_from_env(ENV)
            .map_err(chain)?;
        let mark = map[CREATOR_AT..CREATOR_AT + CREATOR_MARK.len()].to_vec();
        if mark != CREATOR_MARK {
            return Err(format!("the creator's mark is missing: {mark:?}"));
        }
        map[OPENER_AT..OPENER_AT + OPENER_MARK.len()].copy_from_slice(OPENER_MARK);
        println!("shmem opened {} bytes", map.len());
        Ok(())
    }

    /// What an AFL target does with the map afl-fuzz or afl-showmap gives
    /// it: `__AFL_SHM_ID` only, no size; the whole segment is the map.
    fn afl_target() -> Result<(), String> {
        let map = StdShMemProvider::new()
            .map_err(chain)?
            .existing_from_env("__AFL_SHM_ID")
            .map_err(chain)?;
        for (edge, count) in AFL_EDGES {
            if !map.store(edge, count) {
                return Err(format!("edge {edge} is past the map's {} bytes", map.len()));
            }
        }
        println!(
            "marked {} edges in a map of {} bytes",
            AFL_EDGES.len(),
            map.len()
        );
        Ok(())
    }

    fn chain(e: shmem::ShMemError) -> String {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        text
    }
}
