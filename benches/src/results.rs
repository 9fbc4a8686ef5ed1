//! Measurements that are not criterion's (a count of clock ticks over a
//! minute), kept beside criterion's results for the report.
//!
//! Each run of `cargo xtask bench` has a name (`SHM_BENCH_RUN`, criterion's
//! baseline of the same name); these land in
//! `<target>/shm-bench/<run>.jsonl`, one JSON object a line.

use std::io::Write;
use std::path::PathBuf;

/// The environment variable naming the run.
pub const RUN_ENV: &str = "SHM_BENCH_RUN";

/// The run's name: `SHM_BENCH_RUN`, else `new` (criterion's default).
pub fn run_name() -> String {
    std::env::var(RUN_ENV).unwrap_or_else(|_| "new".into())
}

/// `target/`: benchmark and peer binaries live in `target/<profile>/deps/`
/// or `target/<profile>/`; `CARGO_TARGET_DIR` wins when set.
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("own path");
    exe.ancestors()
        .find(|p| p.join("CACHEDIR.TAG").exists())
        .expect("the binary lives in a cargo target directory")
        .to_owned()
}

/// Where the extra results of `run` are.
pub fn path(run: &str) -> PathBuf {
    target_dir().join("shm-bench").join(format!("{run}.jsonl"))
}

/// Records `value` (in `unit`) under `group`/`name` for this run.
pub fn record(group: &str, name: &str, value: f64, unit: &str) {
    let path = path(&run_name());
    std::fs::create_dir_all(path.parent().expect("has a parent")).expect("create shm-bench dir");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .expect("open results file");
    let line = serde_json::json!({ "group": group, "name": name, "value": value, "unit": unit });
    writeln!(file, "{line}").expect("write results file");
    eprintln!("{group}/{name}: {value} {unit}");
}
