//! LibAFL's side, written as a LibAFL fuzzer would, with no change for
//! shmem: `shmem_providers` 0.16.1 from crates.io.
//!
//! ```text
//! libafl-peer create std|mmap SIZE -- CMD ARGS...   make a map, write_to_env, run CMD, check its answer
//! libafl-peer open                                  existing_from_env, check the mark, answer
//! ```

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    imp::main()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("libafl-peer: Linux only");
}

#[cfg(target_os = "linux")]
mod imp {
    use std::process::{Command, ExitCode};

    use shm_interop::{CREATOR_AT, CREATOR_MARK, ENV, OPENER_AT, OPENER_MARK};
    use shmem_providers::{MmapShMemProvider, ShMem, ShMemProvider, StdShMemProvider};

    pub fn main() -> ExitCode {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let result = match args.as_slice() {
            ["create", "std", size, "--", cmd @ ..] => create(StdShMemProvider::new(), size, cmd),
            ["create", "mmap", size, "--", cmd @ ..] => {
                create(Ok(MmapShMemProvider::with_filename_as_id()), size, cmd)
            }
            ["open"] => open(),
            _ => Err("usage: libafl-peer create std|mmap SIZE -- CMD... | open".into()),
        };
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("libafl-peer: {e}");
                ExitCode::FAILURE
            }
        }
    }

    fn create<P: ShMemProvider>(
        provider: Result<P, shmem_providers::Error>,
        size: &str,
        cmd: &[&str],
    ) -> Result<(), String> {
        let size: usize = size.parse().map_err(|e| format!("size {size:?}: {e}"))?;
        let mut provider = provider.map_err(|e| e.to_string())?;
        let mut map = provider.new_shmem(size).map_err(|e| e.to_string())?;
        map[CREATOR_AT..CREATOR_AT + CREATOR_MARK.len()].copy_from_slice(CREATOR_MARK);
        // SAFETY: this program has one thread.
        unsafe { map.write_to_env(ENV) }.map_err(|e| e.to_string())?;
        let (program, args) = cmd.split_first().ok_or("no command to run")?;
        let status = Command::new(program)
            .args(args)
            .status()
            .map_err(|e| format!("run {program}: {e}"))?;
        if !status.success() {
            return Err(format!("{program} failed: {status}"));
        }
        let answer = &map[OPENER_AT..OPENER_AT + OPENER_MARK.len()];
        if answer != OPENER_MARK {
            return Err(format!("the opener's answer is missing: {answer:?}"));
        }
        println!("libafl saw {}", String::from_utf8_lossy(answer));
        // LibAFL leaves its POSIX objects for the user to remove ("it's
        // user's responsibility to delete them"): do so, as its users must.
        let id = map.id().to_string();
        if let Some(name) = id.strip_prefix('/') {
            std::fs::remove_file(format!("/dev/shm/{name}"))
                .map_err(|e| format!("remove /dev/shm/{name}: {e}"))?;
        }
        Ok(())
    }

    fn open() -> Result<(), String> {
        let mut provider = StdShMemProvider::new().map_err(|e| e.to_string())?;
        let mut map = provider.existing_from_env(ENV).map_err(|e| e.to_string())?;
        let mark = &map[CREATOR_AT..CREATOR_AT + CREATOR_MARK.len()];
        if mark != CREATOR_MARK {
            return Err(format!("the creator's mark is missing: {mark:?}"));
        }
        map[OPENER_AT..OPENER_AT + OPENER_MARK.len()].copy_from_slice(OPENER_MARK);
        println!("libafl opened {} bytes", map.len());
        Ok(())
    }
}
