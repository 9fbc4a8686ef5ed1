//! Support for the benchmarks: the bare system calls each backend needs
//! (the floor every library is measured against), the second process the
//! cross-process benchmarks talk to, CPU pinning, and the ping-pong both
//! sides spin in.
//!
//! Everything is Linux-only; see `BENCHMARKS.md` at the repository root
//! for what is measured and how to rerun it.
#![cfg(target_os = "linux")]

pub mod floor;
pub mod peer;
pub mod pingpong;
pub mod results;
pub mod wine;

use std::time::Duration;

/// How many times each comparison is measured in one run, its contenders
/// in turn (A B C, A B C, ...): on a shared 2-core virtual machine the
/// speed drifts by 10 % and more over seconds, so contenders measured side
/// by side, and ratios taken round by round, are what compare fairly.
/// Each round is a benchmark of its own, `GROUP/NAME/PARAM/rN`.
pub const ROUNDS: usize = 3;

/// The parameter of round `round` (from 1) of a benchmark: `PARAM/rN`, or
/// `rN` without one.
pub fn round_param(param: &str, round: usize) -> String {
    if param.is_empty() {
        format!("r{round}")
    } else {
        format!("{param}/r{round}")
    }
}

/// The page size the touch loops step by.
pub const PAGE: usize = 4096;

/// The sizes of the life-cycle benchmarks, with whether every page is touched.
pub const LIFECYCLE_SIZES: [(usize, &str, bool); 3] = [
    (4 << 10, "4KiB", false),
    (64 << 10, "64KiB", false),
    (16 << 20, "16MiB", true),
];

/// Writes one byte at the start, or one in every page, through a raw pointer
/// (what LibAFL's `&mut [u8]` and the floor's `mmap` give).
///
/// # Safety
/// `ptr` must be valid for writes of `len` bytes.
pub unsafe fn touch_raw(ptr: *mut u8, len: usize, every_page: bool) {
    let step = if every_page { PAGE } else { len };
    let mut at = 0;
    while at < len {
        // SAFETY: at < len, and the caller vouches for `len` bytes.
        unsafe { ptr.add(at).write_volatile(1) };
        at += step;
    }
}

/// The same through this library's safe byte view.
pub fn touch(bytes: &shmem::ShBytes, every_page: bool) {
    let step = if every_page { PAGE } else { bytes.len() };
    let mut at = 0;
    while at < bytes.len() {
        bytes.store(at, 1);
        at += step;
    }
}

/// Pins the calling thread to `cpu`, or with `None` gives it back the CPUs
/// it had before the first pinning. Round trips between processes are
/// measured with each process on a core of its own.
pub fn pin_self(cpu: Option<usize>) {
    static ORIGINAL: std::sync::OnceLock<libc::cpu_set_t> = std::sync::OnceLock::new();
    let original = ORIGINAL.get_or_init(|| {
        // SAFETY: `cpu_set_t` is plain old data; all zeroes is the empty set.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: fills a set we own, of the size given.
        unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
        set
    });
    let set = cpu.map_or(*original, only_cpu);
    // SAFETY: passes a set we own and its exact size.
    unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) };
}

/// The CPU set holding `cpu` alone. Async-signal-safe (no allocation, no
/// lock): [`pin_command`] calls it between fork and exec.
fn only_cpu(cpu: usize) -> libc::cpu_set_t {
    // SAFETY: `cpu_set_t` is plain old data; all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` is below CPU_SETSIZE on any machine this runs on.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    set
}

/// Makes `cmd`'s process (and, through `exec`, whatever it becomes: Wine
/// execs its loader) start on `cpu` only (any CPU with `None`), and die
/// with the benchmark.
pub fn pin_command(cmd: &mut std::process::Command, cpu: Option<usize>) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the child between fork and exec and makes
    // only async-signal-safe system calls (sched_setaffinity, prctl).
    unsafe {
        cmd.pre_exec(move || {
            if let Some(cpu) = cpu {
                let set = only_cpu(cpu);
                libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set);
            }
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        })
    };
}

/// The CPU the benchmark's own process runs on during a round trip, and
/// the one the echoing process runs on: separate cores when there are two.
pub fn cpus() -> (usize, usize) {
    // Online CPUs, not this thread's share of them (which pinning changes).
    // SAFETY: plain query.
    let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    (0, if online > 1 { 1 } else { 0 })
}

/// Bytes of HugeTLB pages free in the pool (free less reserved).
pub fn huge_pages_free() -> usize {
    let info = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let get = |key: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse::<usize>().ok())
            .unwrap_or(0)
    };
    get("HugePages_Free").saturating_sub(get("HugePages_Rsvd")) * get("Hugepagesize") * 1024
}

/// The setting of `/sys/kernel/mm/transparent_hugepage/shmem_enabled`
/// (the bracketed word), if the kernel has one.
pub fn thp_shmem_setting() -> Option<String> {
    let text = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/shmem_enabled").ok()?;
    let start = text.find('[')? + 1;
    let end = start + text[start..].find(']')?;
    Some(text[start..end].to_owned())
}

/// Whether memfd and SysV segments that ask for transparent huge pages
/// (`madvise(MADV_HUGEPAGE)`) can get them.
pub fn thp_for_shmem() -> bool {
    thp_shmem_setting()
        .is_some_and(|s| matches!(s.as_str(), "advise" | "always" | "within_size" | "force"))
}

/// Median of durations (sorts them).
pub fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

/// Contenders taking turns, one batch each per turn, for about `budget`
/// (and at least 30 turns): each turn's times lie within milliseconds of
/// each other, so the ratios taken within a turn see the same machine,
/// however much its speed drifts between turns. Each contender runs one
/// batch and returns its time per iteration in nanoseconds; the result
/// holds those times, per turn.
pub fn take_turns(contenders: &mut [impl FnMut() -> f64], budget: Duration) -> Vec<Vec<f64>> {
    const MIN_TURNS: usize = 30;
    let start = std::time::Instant::now();
    let mut turns = Vec::new();
    while turns.len() < MIN_TURNS || start.elapsed() < budget {
        turns.push(contenders.iter_mut().map(|batch| batch()).collect());
    }
    turns
}

/// [`take_turns`] for contenders run here, one iteration per call: each
/// batch is as many iterations as fill about 2 ms, at least one.
pub fn interleave(contenders: &mut [&mut dyn FnMut()], budget: Duration) -> Vec<Vec<f64>> {
    const BATCH: Duration = Duration::from_millis(2);
    let mut batches: Vec<_> = contenders
        .iter_mut()
        .map(|run| {
            let start = std::time::Instant::now();
            run();
            let once = start.elapsed().max(Duration::from_nanos(1));
            let n = (BATCH.as_nanos() / once.as_nanos()).clamp(1, 100_000) as u32;
            move || {
                let batch = std::time::Instant::now();
                for _ in 0..n {
                    run();
                }
                batch.elapsed().as_nanos() as f64 / f64::from(n)
            }
        })
        .collect();
    take_turns(&mut batches, budget)
}

/// The group under which [`record_turn_ratios`] files its ratios.
pub const INTERLEAVED: &str = "interleaved";

/// Records, for the row `row`, the median over `turns` of contender
/// `mine`'s time (`shmem`, or a variant of it) over the second's (`libafl`)
/// and the third's (`floor`): the rows of `bench-report`'s table of ratios
/// in turns.
pub fn record_turn_ratios(row: &str, turns: &[Vec<f64>], mine: usize) {
    for (other, name) in [(1, "libafl"), (2, "floor")] {
        record_turn_ratio(&format!("{row}: shmem / {name}"), turns, mine, other);
    }
}

/// Records under `name` the median over `turns` of contender `mine`'s
/// time over contender `other`'s.
pub fn record_turn_ratio(name: &str, turns: &[Vec<f64>], mine: usize, other: usize) {
    let mut ratios: Vec<f64> = turns.iter().map(|t| t[mine] / t[other]).collect();
    results::record(INTERLEAVED, name, median_f64(&mut ratios), "ratio");
}

/// Median of numbers (sorts them); `NaN` for none.
pub fn median_f64(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}
