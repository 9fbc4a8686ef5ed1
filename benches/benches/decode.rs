//! Decoding one sample of each title family and writing it as JSON (the
//! model and the pages, as `watch --json` does), against copying the same
//! pages (the floor: what any reader does first), in the same run. The
//! pages are the family's scenario's (`shm_bridge::scenario`), frame 1000.

#[cfg(target_os = "linux")]
criterion::criterion_main!(linux::benches);

#[cfg(not(target_os = "linux"))]
fn main() {}

#[cfg(target_os = "linux")]
mod linux {
    use std::hint::black_box;
    use std::time::Duration;

    use criterion::{BenchmarkId, Criterion};
    use shm_benches::{ROUNDS, round_param};
    use shm_bridge::titles::{Copies, FAMILIES, Page};

    criterion::criterion_group! {
        name = benches;
        config = Criterion::default()
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1));
        targets = decode
    }

    fn decode(c: &mut Criterion) {
        let mut g = c.benchmark_group("decode");
        for family in FAMILIES {
            let Some(scenario) = family.scenario() else {
                continue;
            };
            // The family's pages of frame 1000, each as long as the reader copies.
            let pages: Vec<(Page, Vec<u8>)> = scenario
                .frame(1000)
                .into_iter()
                .filter_map(|u| {
                    let page = family.page(u.file)?;
                    let mut bytes = u.bytes;
                    bytes.resize(page.len, 0);
                    Some((page, bytes))
                })
                .collect();
            let mut copies_out: Vec<Vec<u8>> =
                pages.iter().map(|(_, b)| vec![0; b.len()]).collect();
            let mut json = Vec::with_capacity(64 << 10);
            for round in 1..=ROUNDS {
                let param = round_param(family.key(), round);
                g.bench_function(BenchmarkId::new("decode+json", &param), |b| {
                    b.iter(|| {
                        let mut copies = Copies::default();
                        for (page, bytes) in &pages {
                            copies.push(page.label, black_box(bytes));
                        }
                        let decoded = family.decode(&copies);
                        json.clear();
                        serde_json::to_writer(&mut json, &decoded.telemetry).expect("JSON");
                        for (_, page) in &decoded.pages {
                            serde_json::to_writer(&mut json, page).expect("JSON");
                        }
                        black_box(&json);
                    })
                });
                g.bench_function(BenchmarkId::new("copy", &param), |b| {
                    b.iter(|| {
                        for ((_, bytes), out) in pages.iter().zip(copies_out.iter_mut()) {
                            out.copy_from_slice(black_box(bytes));
                        }
                        black_box(&copies_out);
                    })
                });
            }
        }
        g.finish();
    }
}
