//! `cargo xtask bench [--runs N] [--huge-pages]`: the benchmarks
//! (`benches/`, see BENCHMARKS.md), N times over, then their report. Not
//! part of `test`: they take minutes and want a quiet machine.

use anyhow::{Context, Result, bail};

use crate::process::{cargo, is_root, run as run_cmd, target_dir};
use crate::{setup, windows};

/// Builds the Windows side for release, runs every benchmark `runs` times
/// and prints the report of BENCHMARKS.md.
pub fn run(runs: u32, huge_pages: bool) -> Result<()> {
    setup::run(setup::Scope::WindowsSide)?;
    let windows_dir = windows::build(windows::Profile::Release)?;
    run_cmd(cargo().args(["bench", "-p", "shm-benches", "--no-run"]))?;
    // The serve bench measures the companion as users run it.
    run_cmd(cargo().args([
        "build",
        "--release",
        "-p",
        "shm-bridge",
        "--bin",
        "shm-bridge",
    ]))?;
    let _settings = if huge_pages {
        Some(HugePageSettings::apply()?)
    } else {
        None
    };
    let names: Vec<String> = (1..=runs).map(|i| format!("run{i}")).collect();
    for name in &names {
        // This run's extra measurements start afresh.
        let _ = std::fs::remove_file(target_dir().join("shm-bench").join(format!("{name}.jsonl")));
        let mut bench = cargo();
        bench
            .args(["bench", "-p", "shm-benches", "--", "--save-baseline", name])
            .env("SHM_BENCH_RUN", name)
            .env("SHM_BRIDGE_WIN_DIR", &windows_dir)
            .env("WINEDEBUG", "-all")
            // The bridge benches start Wine hundreds of times: one lost start
            // would end the whole run.
            .env("PATH", windows::path_with_wine_fixed_heap()?);
        run_cmd(&mut bench)?;
    }
    run_cmd(
        cargo()
            .args([
                "run",
                "--release",
                "--quiet",
                "-p",
                "shm-benches",
                "--bin",
                "bench-report",
                "--",
            ])
            .args(&names),
    )
}

/// HugeTLB pages and transparent huge pages for shared memory, set for the
/// benchmarks and put back as they were on drop.
struct HugePageSettings {
    pages: String,
    shmem_enabled: Option<String>,
}

const NR_HUGEPAGES: &str = "/proc/sys/vm/nr_hugepages";
const SHMEM_ENABLED: &str = "/sys/kernel/mm/transparent_hugepage/shmem_enabled";

impl HugePageSettings {
    fn apply() -> Result<HugePageSettings> {
        if !is_root() {
            bail!("--huge-pages changes {NR_HUGEPAGES} and {SHMEM_ENABLED}: run as root");
        }
        let pages = std::fs::read_to_string(NR_HUGEPAGES)?.trim().to_owned();
        // The file lists every mode with the current one in brackets.
        let shmem_enabled = std::fs::read_to_string(SHMEM_ENABLED).ok().and_then(|s| {
            let start = s.find('[')? + 1;
            Some(s[start..start + s[start..].find(']')?].to_owned())
        });
        let settings = HugePageSettings {
            pages,
            shmem_enabled,
        };
        // 32 pages of 2 MiB: the 16 MiB segments and room to spare.
        std::fs::write(NR_HUGEPAGES, "32").context(NR_HUGEPAGES)?;
        if settings.shmem_enabled.is_some() {
            std::fs::write(SHMEM_ENABLED, "advise").context(SHMEM_ENABLED)?;
        }
        eprintln!("xtask: {NR_HUGEPAGES} = 32, {SHMEM_ENABLED} = advise for the benchmarks");
        Ok(settings)
    }
}

impl Drop for HugePageSettings {
    fn drop(&mut self) {
        let _ = std::fs::write(NR_HUGEPAGES, &self.pages);
        if let Some(old) = &self.shmem_enabled {
            let _ = std::fs::write(SHMEM_ENABLED, old);
        }
        eprintln!(
            "xtask: {NR_HUGEPAGES} = {}, {SHMEM_ENABLED} = {} again",
            self.pages,
            self.shmem_enabled.as_deref().unwrap_or("(absent)")
        );
    }
}
