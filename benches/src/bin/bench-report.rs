//! The benchmark report: `bench-report RUN...` reads criterion's results of
//! the named runs (baselines saved with `--save-baseline RUN`) and the
//! extra measurements of the same runs, and prints Markdown: the machine,
//! then each comparison's medians with their spread, and the ratios of
//! medians taken round by round (a benchmark `GROUP/NAME/PARAM/rN` is round
//! N of `GROUP/NAME/PARAM`; see `shm_benches::ROUNDS`).
//!
//! `cargo xtask bench` runs the benchmarks three times and then this.

#[cfg(target_os = "linux")]
fn main() {
    let runs: Vec<String> = std::env::args().skip(1).collect();
    let runs = if runs.is_empty() {
        vec!["new".to_owned()]
    } else {
        runs
    };
    print!("{}", report::render(&runs));
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("bench-report: the benchmarks run on Linux");
    std::process::exit(2);
}

#[cfg(target_os = "linux")]
mod report {
    use std::collections::BTreeMap;
    use std::fmt::Write;
    use std::path::Path;

    use shm_benches::results;

    /// Samples (criterion's medians), one per (run, round).
    type Samples = BTreeMap<(usize, usize), f64>;

    /// Samples keyed by (group, function, parameter).
    type Results = BTreeMap<(String, String, String), Samples>;

    /// `PARAM/rN` → (`PARAM`, N); no round → round 0.
    fn split_round(value: &str) -> (String, usize) {
        let (param, last) = match value.rsplit_once('/') {
            Some((p, last)) => (p, last),
            None => ("", value),
        };
        match last.strip_prefix('r').and_then(|n| n.parse().ok()) {
            Some(round) => (param.to_owned(), round),
            None => (value.to_owned(), 0),
        }
    }

    /// Reads every `benchmark.json`/`estimates.json` pair of the runs.
    fn criterion_results(runs: &[String]) -> Results {
        let mut found = Results::new();
        let root = results::target_dir().join("criterion");
        let mut dirs = vec![root];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                }
            }
            for (i, run) in runs.iter().enumerate() {
                let (Some(bench), Some(estimates)) = (
                    json(&dir.join(run).join("benchmark.json")),
                    json(&dir.join(run).join("estimates.json")),
                ) else {
                    continue;
                };
                let text = |key: &str| bench[key].as_str().unwrap_or("").to_owned();
                let (param, round) = split_round(&text("value_str"));
                let key = (text("group_id"), text("function_id"), param);
                if let Some(median) = estimates["median"]["point_estimate"].as_f64() {
                    found.entry(key).or_default().insert((i, round), median);
                }
            }
        }
        found
    }

    /// The extra measurements (values as recorded, not nanoseconds).
    fn extra_results(runs: &[String]) -> (Results, BTreeMap<String, String>) {
        let mut found = Results::new();
        let mut units = BTreeMap::new();
        for (i, run) in runs.iter().enumerate() {
            let text = std::fs::read_to_string(results::path(run)).unwrap_or_default();
            for line in text.lines() {
                let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                    continue;
                };
                let s = |k: &str| v[k].as_str().unwrap_or("").to_owned();
                units.insert(s("group"), s("unit"));
                if let Some(value) = v["value"].as_f64() {
                    found
                        .entry((s("group"), s("name"), String::new()))
                        .or_default()
                        .insert((i, 0), value);
                }
            }
        }
        (found, units)
    }

    fn json(path: &Path) -> Option<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
    }

    fn median(values: &[f64]) -> Option<f64> {
        let mut v: Vec<f64> = values.to_vec();
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => None,
            n if n % 2 == 1 => Some(v[n / 2]),
            n => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
        }
    }

    /// Nanoseconds in the unit that reads best; a difference of two
    /// durations may be negative.
    fn time(ns: f64) -> String {
        let sign = if ns < 0.0 { "−" } else { "" };
        let ns = ns.abs();
        if ns >= 1e6 {
            format!("{sign}{:.2} ms", ns / 1e6)
        } else if ns >= 1e3 {
            format!("{sign}{:.2} µs", ns / 1e3)
        } else {
            format!("{sign}{ns:.0} ns")
        }
    }

    /// A summary of samples: median, and (min–max) when
    /// there are several.
    fn summary(values: &Samples, show: impl Fn(f64) -> String) -> String {
        let v: Vec<f64> = values.values().copied().collect();
        let Some(mid) = median(&v) else {
            return "—".into();
        };
        if v.len() < 2 {
            return show(mid);
        }
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        format!("{} ({}–{})", show(mid), show(lo), show(hi))
    }

    /// Ratios `a / b` round by round, where both were measured.
    fn ratios(a: &Samples, b: &Samples) -> Samples {
        a.iter()
            .filter_map(|(k, x)| Some((*k, x / b.get(k)?)))
            .collect()
    }

    fn ratio(r: f64) -> String {
        format!("{r:.2}")
    }

    struct Table<'a> {
        results: &'a Results,
        out: String,
    }

    impl Table<'_> {
        fn get(&self, group: &str, function: &str, param: &str) -> Option<&Samples> {
            self.results
                .get(&(group.to_owned(), function.to_owned(), param.to_owned()))
                .filter(|v| !v.is_empty())
        }

        /// The parameters measured in `group`, in the order of `order`
        /// (then any others).
        fn params(&self, group: &str, order: &[&str]) -> Vec<String> {
            let mut seen: Vec<String> = self
                .results
                .keys()
                .filter(|(g, _, _)| g == group)
                .map(|(_, _, p)| p.clone())
                .collect();
            seen.sort_by_key(|p| order.iter().position(|o| o == p).unwrap_or(order.len()));
            seen.dedup();
            seen
        }

        /// One row: `ours` and each reference, then ours/reference ratios.
        fn row(&mut self, label: &str, group: &str, param: &str, ours: &str, refs: &[&str]) {
            let Some(mine) = self.get(group, ours, param).cloned() else {
                return;
            };
            let mut cells = vec![label.to_owned(), summary(&mine, time)];
            let mut ratio_cells = Vec::new();
            for r in refs {
                match self.get(group, r, param) {
                    Some(theirs) => {
                        cells.push(summary(theirs, time));
                        ratio_cells.push(summary(&ratios(&mine, theirs), ratio));
                    }
                    None => {
                        cells.push("—".into());
                        ratio_cells.push("—".into());
                    }
                }
            }
            cells.extend(ratio_cells);
            let _ = writeln!(self.out, "| {} |", cells.join(" | "));
        }

        fn header(&mut self, columns: &[&str]) {
            let _ = writeln!(self.out, "| {} |", columns.join(" | "));
            let _ = writeln!(self.out, "|{}", "---|".repeat(columns.len()));
        }
    }

    const SIZES: [&str; 3] = ["4KiB", "64KiB", "16MiB"];

    /// The life cycle and reopen ratios of contenders taking turns milliseconds apart
    /// (`shm_benches::interleave`), one value a run.
    fn interleaved(out: &mut String, extra: &Results) {
        // "lifecycle-memfd/4KiB: shmem / libafl" → row "lifecycle-memfd/4KiB".
        let mut rows: BTreeMap<(usize, usize, String), [Option<&Samples>; 2]> = BTreeMap::new();
        for ((group, name, _), values) in extra {
            let Some((row, versus)) = name.split_once(": shmem / ") else {
                continue;
            };
            if group != shm_benches::INTERLEAVED || row.starts_with("copy-") {
                continue;
            }
            let backend = ["memfd", "posix", "sysv"]
                .iter()
                .position(|b| row.starts_with(&format!("lifecycle-{b}/")))
                .unwrap_or(usize::MAX);
            let size = SIZES
                .iter()
                .position(|s| row.ends_with(&format!("/{s}")))
                .unwrap_or(usize::MAX);
            let column = usize::from(versus == "floor");
            rows.entry((backend, size, row.to_owned())).or_default()[column] = Some(values);
        }
        if rows.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "The life cycles and reopens again, their contenders taking turns in \
             batches of a few milliseconds (`shm_benches::take_turns`; life cycles \
             for 3 s, reopens for 1 s in each of 8 fresh sets of processes), so \
             that the machine's drift between batches cancels out: each ratio is \
             the median over turns within one run, then (lowest–highest) over runs. \
             Rows \"against\" a reference put it in the LibAFL column.\n"
        );
        let _ = writeln!(
            out,
            "| benchmark, in turns | shmem / LibAFL | shmem / floor |"
        );
        let _ = writeln!(out, "|---|---|---|");
        for ((_, _, row), [libafl, floor]) in rows {
            let show =
                |v: Option<&Samples>| v.map_or("—".into(), |v| summary(v, |r| format!("{r:.3}")));
            let _ = writeln!(out, "| {row} | {} | {} |", show(libafl), show(floor));
        }
        let _ = writeln!(out);
    }

    /// Copies into and out of a segment against memcpy on private memory:
    /// criterion's times, then the ratios in turns.
    fn copies(t: &mut Table<'_>, extra: &Results) {
        if t.params("copy", &[]).is_empty() {
            return;
        }
        let _ = writeln!(t.out, "### Copies into and out of a segment\n");
        t.header(&["benchmark", "shmem", "memcpy", "shmem / memcpy"]);
        for param in t.params("copy", &["4KiB", "1MiB"]) {
            for (way, what) in [("in", "into"), ("out", "out of")] {
                let label = format!("copy {param} {what} a segment (memcpy: private memory)");
                t.row(
                    &label,
                    "copy",
                    &param,
                    &format!("shmem-{way}"),
                    &[&format!("memcpy-{way}")],
                );
            }
        }
        let _ = writeln!(
            t.out,
            "\nIn turns (each ratio the median over turns within a run, then \
             (lowest–highest) over runs); throughput against memcpy's is the \
             inverse:\n"
        );
        let _ = writeln!(
            t.out,
            "| copy, in turns | shmem / memcpy (time) | throughput of memcpy's |"
        );
        let _ = writeln!(t.out, "|---|---|---|");
        for ((group, name, _), values) in extra {
            let Some(row) = name.strip_suffix(": shmem / memcpy") else {
                continue;
            };
            if group != shm_benches::INTERLEAVED {
                continue;
            }
            let inverse: Samples = values.iter().map(|(k, v)| (*k, 1.0 / v)).collect();
            let _ = writeln!(
                t.out,
                "| {row} | {} | {} |",
                summary(values, |r| format!("{r:.3}")),
                summary(&inverse, |r| format!("{r:.2}×"))
            );
        }
        let _ = writeln!(t.out);
    }

    pub fn render(runs: &[String]) -> String {
        let results = criterion_results(runs);
        let (extra, units) = extra_results(runs);
        let mut t = Table {
            results: &results,
            out: String::new(),
        };
        let _ = writeln!(
            t.out,
            "Runs: {} ({}), {} rounds each. Each cell: the median of criterion's \
             medians over all rounds of all runs, then (lowest–highest); ratios \
             are taken round by round (contenders measured one after the other), \
             then summarised the same way.\n",
            runs.len(),
            runs.join(", "),
            shm_benches::ROUNDS
        );
        let _ = writeln!(t.out, "{}\n", machine());

        let _ = writeln!(t.out, "### The library against LibAFL and the floor\n");
        t.header(&[
            "benchmark",
            "shmem",
            "LibAFL",
            "floor",
            "shmem / LibAFL",
            "shmem / floor",
        ]);
        for backend in ["memfd", "posix", "sysv"] {
            let group = format!("lifecycle-{backend}");
            for param in t.params(&group, &SIZES) {
                let label = format!("life cycle, {backend}, {param}");
                t.row(&label, &group, &param, "shmem", &["libafl", "floor"]);
            }
        }
        for backend in ["memfd", "posix", "sysv"] {
            let group = format!("reopen-{backend}");
            let label = format!("reopen by id in another process, {backend}, 64KiB");
            t.row(&label, &group, "", "shmem", &["libafl", "floor"]);
        }
        t.row(
            "reopen, memfd, 64KiB, LibAFL mapping an inherited descriptor (not a reopen by id)",
            "reopen-memfd",
            "",
            "shmem",
            &["libafl-inherited", "floor"],
        );
        t.row(
            "reopen, sysv, 64KiB, LibAFL after the size check shmem makes (IPC_STAT)",
            "reopen-sysv",
            "",
            "shmem",
            &["libafl+size-check", "floor"],
        );
        t.row(
            "reopen, sysv, 64KiB, shmem's `open_unchecked` (no size check, as LibAFL)",
            "reopen-sysv",
            "",
            "shmem-unchecked",
            &["libafl", "floor"],
        );
        t.row(
            "round trip between two processes",
            "roundtrip",
            "",
            "shmem",
            &["libafl", "floor"],
        );
        for param in t.params("served", &SIZES) {
            let label = format!("served create + free from another process, {param}");
            t.row(
                &label,
                "served",
                &param,
                "shmem",
                &["libafl", "memfd-unserved"],
            );
        }
        let _ = writeln!(
            t.out,
            "\nFor the served rows the last reference is not a floor but an \
             unserved memfd life cycle of the same size.\n"
        );
        interleaved(&mut t.out, &extra);
        copies(&mut t, &extra);

        let _ = writeln!(
            t.out,
            "### Options against the page faults of large segments\n"
        );
        t.header(&[
            "benchmark",
            "with the option",
            "plain",
            "floor",
            "/ plain",
            "/ floor",
        ]);
        for backend in ["memfd", "posix", "sysv"] {
            let group = format!("lifecycle-{backend}");
            for param in t.params(&group, &SIZES) {
                for (variant, what) in [
                    ("shmem+prefault", "prefault"),
                    ("floor+populate", "MAP_POPULATE (floor)"),
                    ("shmem+thp", "transparent huge pages"),
                    ("shmem+hugetlb", "HugeTLB pages"),
                ] {
                    let label = format!("{backend}, {param}, {what}");
                    let mut row = Table {
                        results: t.results,
                        out: String::new(),
                    };
                    // Compared with the plain life cycle and the floor.
                    row.row(&label, &group, &param, variant, &["shmem", "floor"]);
                    t.out.push_str(&row.out);
                }
            }
        }

        let _ = writeln!(
            t.out,
            "\n### Decoding a sample: the model and the pages as JSON, against copying the pages\n"
        );
        t.header(&["title family", "decode + JSON", "copy (floor)", "/ copy"]);
        let families: std::collections::BTreeSet<String> =
            t.params("decode", &[]).into_iter().collect();
        for family in families {
            t.row(&family, "decode", &family, "decode+json", &["copy"]);
        }

        let _ = writeln!(t.out, "\n### The bridge under Wine\n");
        t.header(&["benchmark", "bridge", "native", "bridge / native"]);
        t.row(
            "round trip, Windows program ↔ Linux program through the bridged mapping \
             (native: two Linux processes through a tmpfs file)",
            "bridge-roundtrip",
            "",
            "wine",
            &["native"],
        );
        t.row(
            "start to \"all mappings exist\" (`--game acc`; native: Wine starting a \
             program that does nothing)",
            "bridge-startup",
            "",
            "shm-bridge",
            &["empty-program"],
        );
        for (kind, name) in [("SetEvent", "wine-set"), ("PulseEvent", "wine-pulse")] {
            t.row(
                &format!(
                    "event: {kind} under Wine to a Linux waiter's return, through the bridge \
                     (native: `ShEvent::notify` in another Linux process)"
                ),
                "bridge-event",
                "",
                name,
                &["native"],
            );
        }
        if let (Some(bridge), Some(empty)) = (
            t.get("bridge-startup", "shm-bridge", "").cloned(),
            t.get("bridge-startup", "empty-program", "").cloned(),
        ) {
            let beyond: Samples = bridge
                .iter()
                .filter_map(|(k, b)| Some((*k, b - empty.get(k)?)))
                .collect();
            let _ = writeln!(
                t.out,
                "\nStart-up beyond Wine's own: {}.",
                summary(&beyond, time)
            );
        }
        for ((group, name, _), values) in &extra {
            if group == shm_benches::INTERLEAVED {
                continue;
            }
            let unit = units.get(group).map_or("", String::as_str);
            let _ = writeln!(
                t.out,
                "\n{group}, {name}: {} {unit}",
                summary(values, |v| if v.fract() != 0.0 && v.abs() < 10.0 {
                    format!("{v:.2}")
                } else {
                    format!("{v:.0}")
                })
            );
        }
        t.out
    }

    /// What the numbers were measured on.
    fn machine() -> String {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
            .map_or("?", |(_, m)| m.trim());
        let cpus = cpuinfo
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count();
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let wine = std::process::Command::new("wine")
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_else(|_| "not found".into());
        let hypervisor = if cpuinfo.contains(" hypervisor") {
            ", virtual machine"
        } else {
            ""
        };
        format!(
            "Machine: {model}, {cpus} CPUs{hypervisor}; Linux {}; {wine}; \
             shmem_enabled {}, {} MiB of HugeTLB pages free.",
            kernel.trim(),
            shm_benches::thp_shmem_setting().unwrap_or_else(|| "absent".into()),
            shm_benches::huge_pages_free() >> 20,
        )
    }
}
