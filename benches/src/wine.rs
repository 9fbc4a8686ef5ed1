//! Wine for the bridge's benchmarks: the release build of the Windows
//! programs, a prefix of the benchmarks' own with its wineserver kept up,
//! and what is read of its processes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use shm_tests::wine::{PrivatePrefix, Running, ShmDir, command_in};

use crate::{pin_command, results};

/// How long Wine gets to start a program.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Where the release build of the Windows programs is.
pub fn windows_dir() -> PathBuf {
    let dir = std::env::var_os("SHM_BRIDGE_WIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| results::target_dir().join("x86_64-pc-windows-gnu/release"));
    for file in ["shm-bridge.exe", "sim-standin.exe", "bcryptprimitives.dll"] {
        assert!(
            dir.join(file).exists(),
            "{} is missing: run `cargo xtask bench`, which builds the Windows side first",
            dir.join(file).display()
        );
    }
    dir
}

/// A Wine prefix of the benchmark's own, its wineserver kept running.
#[derive(Debug)]
pub struct Wine {
    /// The prefix.
    pub prefix: PrivatePrefix,
    exes: PathBuf,
}

impl Wine {
    /// Boots the prefix and keeps its wineserver up.
    pub fn start() -> Wine {
        let exes = windows_dir();
        eprintln!("booting a Wine prefix for the benchmarks (several seconds)");
        let prefix = PrivatePrefix::boot();
        // Persistent: every program started later finds it running.
        let _ = Command::new("wineserver")
            .arg("-p")
            .env("WINEPREFIX", &prefix.path)
            .status();
        Wine { prefix, exes }
    }

    /// `wine EXE.exe` in the prefix, pinned to `cpu`.
    pub fn command(&self, exe: &str, cpu: Option<usize>) -> Command {
        let mut cmd = command_in(&self.prefix.path, &self.exes.join(format!("{exe}.exe")));
        pin_command(&mut cmd, cpu);
        cmd
    }

    /// The bridge, started and past its "mappings exist" line.
    pub fn bridge(&self, args: &[&str], dir: &ShmDir) -> Running {
        let mut b = Running::spawn(
            self.command("shm-bridge", None)
                .args(args)
                .args(["--tmpfs", &dir.arg()]),
        );
        b.expect_line("mappings exist", PATIENCE);
        b
    }
}

/// Stops a bridge the way users do (Ctrl-C) and waits for it.
pub fn stop(mut b: Running) {
    // SAFETY: plain system call with a pid of our own child.
    unsafe { libc::kill(b.pid() as libc::pid_t, libc::SIGINT) };
    b.wait_exit(PATIENCE);
}

/// Whether the command line's filter (criterion's first free argument)
/// selects `name`; the idle measurement is not criterion's, so it asks.
pub fn c_filter_allows(name: &str) -> bool {
    /// Criterion's options that take a value.
    const VALUED: [&str; 13] = [
        "--save-baseline",
        "--baseline",
        "--baseline-lenient",
        "--load-baseline",
        "--sample-size",
        "--warm-up-time",
        "--measurement-time",
        "--nresamples",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
        "--profile-time",
        "--output-format",
    ];
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut filter = None;
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if VALUED.contains(&a.as_str()) || a == "--color" || a == "--plotting-backend" {
            i += 2;
            continue;
        }
        if !a.starts_with('-') {
            filter = Some(a.clone());
            break;
        }
        i += 1;
    }
    filter.is_none_or(|f| name.contains(&f))
}

/// utime + stime of a process, in clock ticks.
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read stat");
    // After the parenthesised command: state is field 3, utime 14, stime 15.
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

/// The wineserver of `prefix`, found by its environment.
pub fn wineserver_pid(prefix: &Path) -> Option<u32> {
    let want = format!("WINEPREFIX={}", prefix.display());
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        if !comm.starts_with("wineserver") {
            return None;
        }
        let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
        env.split(|&b| b == 0)
            .any(|v| v == want.as_bytes())
            .then_some(pid)
    })
}
