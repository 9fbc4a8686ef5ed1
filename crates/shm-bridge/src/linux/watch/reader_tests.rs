use super::*;
use crate::core::spec;
use crate::titles::ac::{self, synthetic};
use shmem::PosixShMem;

fn specs(names: &[&str]) -> Vec<MapSpec> {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    spec::from_flags(&names, &[]).unwrap()
}

fn page_json<T: serde::de::DeserializeOwned>(sample: &Sample, label: &str) -> Option<T> {
    let decoded = sample.decoded.as_ref()?;
    let (_, value) = decoded.pages.iter().find(|(l, _)| *l == label)?;
    Some(serde_json::from_value(value.clone()).unwrap())
}

#[test]
fn pages_appear_are_decoded_and_go() {
    let dir = tempfile::tempdir().unwrap();
    let names = specs(&["Local\\acpmf_physics", "acpmf_static"]);
    let mut t = Reader::new(dir.path(), &names, Some(&ac::FAMILY));
    let first = t.sample();
    assert_eq!(first.missing(), ["Local\\acpmf_physics", "acpmf_static"]);
    assert!(first.decoded.is_none());
    let err = first.into_complete().unwrap_err().to_string();
    assert!(
        err.contains("acpmf_physics does not exist") && err.contains("shm-bridge"),
        "{err}"
    );

    let physics = PosixShMem::create_in(dir.path(), "acpmf_physics", 2048, 0o600).unwrap();
    let statics = PosixShMem::create_in(dir.path(), "acpmf_static", 2048, 0o600).unwrap();
    let mut page = vec![0u8; 2048];
    synthetic::physics(77).encode(&mut page);
    physics.copy_from_slice(&page);
    page.fill(0);
    synthetic::statics().encode(&mut page);
    statics.copy_from_slice(&page);
    let s = t.sample().into_complete().unwrap();
    assert_eq!(page_json(&s, "physics"), Some(synthetic::physics(77)));
    assert_eq!(page_json(&s, "static"), Some(synthetic::statics()));
    assert_eq!(page_json::<ac::Graphics>(&s, "graphics"), None);
    let telemetry = &s.decoded.as_ref().unwrap().telemetry;
    assert_eq!(telemetry.update, Some(77));
    assert_eq!(telemetry.track.as_deref(), Some("spa"));

    drop(physics);
    let s = t.sample();
    assert_eq!(s.missing(), ["Local\\acpmf_physics"], "gone with its file");
    assert!(page_json::<ac::Static>(&s, "static").is_some());
}

#[test]
fn raw_pages_report_what_changed_and_short_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let names = specs(&["$R3E", "acpmf_graphics"]);
    let mut t = Reader::new(dir.path(), &names, Some(&ac::FAMILY));
    let raw = PosixShMem::create_in(dir.path(), "$R3E", 64, 0o600).unwrap();
    let _short = PosixShMem::create_in(dir.path(), "acpmf_graphics", 100, 0o600).unwrap();
    raw.copy_from_slice(&[7; 64]);
    let s = t.sample();
    let (_, page) = s.raw().next().unwrap();
    assert_eq!((page.bytes.as_slice(), page.changed), (&[7u8; 64][..], 0));
    assert!(page.consistent);
    let problems = s.problems();
    assert!(
        problems[0].contains("holds 100 bytes") && problems[0].contains("1232 needed"),
        "{problems:?}"
    );
    raw[10..13].copy_from_slice(&[1, 2, 3]);
    let s = t.sample();
    assert_eq!(s.raw().next().unwrap().1.changed, 3);
}

#[test]
fn news_is_a_moved_counter_and_pages_without_counters_always_may_have_it() {
    let dir = tempfile::tempdir().unwrap();
    let names = specs(&["acpmf_physics", "acpmf_static"]);
    let mut t = Reader::new(dir.path(), &names, Some(&ac::FAMILY));
    assert!(t.may_have_news(), "nothing read yet");
    let physics = PosixShMem::create_in(dir.path(), "acpmf_physics", 2048, 0o600).unwrap();
    let statics = PosixShMem::create_in(dir.path(), "acpmf_static", 2048, 0o600).unwrap();
    let mut page = vec![0u8; 2048];
    synthetic::statics().encode(&mut page);
    statics.copy_from_slice(&page);
    let write_physics = |id| {
        let mut page = vec![0u8; 2048];
        synthetic::physics(id).encode(&mut page);
        physics.copy_from_slice(&page);
    };
    write_physics(77);
    assert!(t.sample().into_complete().is_ok());
    assert!(!t.may_have_news(), "the counter has not moved");
    write_physics(78);
    assert!(t.may_have_news(), "the counter moved");
    assert!(t.sample().into_complete().is_ok());
    assert!(!t.may_have_news());

    // Without a page that counts its updates, only a sample can tell.
    let mut settled = Reader::new(dir.path(), &specs(&["acpmf_static"]), Some(&ac::FAMILY));
    assert!(settled.sample().into_complete().is_ok());
    assert!(settled.may_have_news());
}

#[test]
fn a_replaced_file_is_mapped_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Reader::new(dir.path(), &specs(&["x"]), None);
    let a = PosixShMem::create_in(dir.path(), "x", 16, 0o600).unwrap();
    a.copy_from_slice(&[1; 16]);
    assert_eq!(*t.sample().raw().next().unwrap().1.bytes, [1; 16]);
    drop(a);
    let b = PosixShMem::create_in(dir.path(), "x", 32, 0o600).unwrap();
    b.copy_from_slice(&[2; 32]);
    assert_eq!(*t.sample().raw().next().unwrap().1.bytes, [2; 32]);
}

#[test]
fn pages_are_read_in_the_place_that_holds_them() {
    let host = tempfile::tempdir().unwrap();
    let flatpak = tempfile::tempdir().unwrap();
    let places = vec![host.path().to_owned(), flatpak.path().to_owned()];
    let mut t = Reader::new(host.path(), &specs(&["x"]), None).also_in(places);
    assert_eq!(t.sample().missing(), ["x"]);
    // The game writes in the second place: read there.
    let b = PosixShMem::create_in(flatpak.path(), "x", 16, 0o600).unwrap();
    b.copy_from_slice(&[2; 16]);
    assert_eq!(*t.sample().raw().next().unwrap().1.bytes, [2; 16]);
    assert_eq!(t.dir(), flatpak.path());
    drop(b);
    // Another user's file by that name in the first place changes nothing
    // (giving a file away needs root, as CI is).
    if rustix::process::geteuid().is_root() {
        std::fs::write(host.path().join("x"), [9; 16]).unwrap();
        std::os::unix::fs::chown(host.path().join("x"), Some(61_235), None).unwrap();
        assert_eq!(t.sample().missing(), ["x"]);
        assert_eq!(t.dir(), flatpak.path());
        std::fs::remove_file(host.path().join("x")).unwrap();
    }
    // The game runs again, outside the sandbox: read in the first place.
    let a = PosixShMem::create_in(host.path(), "x", 16, 0o600).unwrap();
    a.copy_from_slice(&[1; 16]);
    assert_eq!(*t.sample().raw().next().unwrap().1.bytes, [1; 16]);
    assert_eq!(t.dir(), host.path());
}

/// A page whose bytes are `writes[n]` while the n-th write is in force;
/// each call of `step` moves to the next write.
struct Scripted {
    writes: Vec<(i32, u8)>,
    at: usize,
}

impl Scripted {
    fn run(writes: Vec<(i32, u8)>, step_on_copy: bool) -> (Copy, usize) {
        let page = std::cell::RefCell::new(Scripted { writes, at: 0 });
        let step = || {
            let mut p = page.borrow_mut();
            p.at = (p.at + 1).min(p.writes.len() - 1);
        };
        let copy = stable_copy_with(
            4,
            || {
                let value = page.borrow().writes[page.borrow().at].0;
                Ok(Some(Guard {
                    value: value as u64,
                    settled: true,
                    one_copy: false,
                }))
            },
            |dst, _| {
                dst.fill(page.borrow().writes[page.borrow().at].1);
                if step_on_copy {
                    step();
                }
                Ok(dst.len())
            },
            || {
                if !step_on_copy {
                    step();
                }
            },
            |_, _| true,
        )
        .unwrap();
        let at = page.borrow().at;
        (copy, at)
    }
}

#[test]
fn a_sample_is_taken_again_until_it_held_still() {
    // Fields change under every copy for three writes, then settle.
    let (copy, _) = Scripted::run(vec![(1, 1), (2, 2), (3, 3), (4, 4), (4, 4)], true);
    assert_eq!(copy.outcome, Outcome::Consistent);
    assert_eq!(copy.bytes, [4; 4]);
    // The writer stored its fields but not yet its counter when the first
    // copy was taken; equal copies, but the counter moved: taken again.
    let (copy, at) = Scripted::run(vec![(1, 2), (2, 2), (2, 2)], false);
    assert_eq!(copy.outcome, Outcome::Consistent);
    assert_eq!(copy.bytes, [2; 4]);
    assert!(at >= 2, "the first try was refused");
    // A page that never holds still is reported after TRIES tries.
    let writes = (0..=2 * TRIES as i32 + 2).map(|n| (n, n as u8)).collect();
    let (copy, at) = Scripted::run(writes, true);
    assert_eq!(copy.outcome, Outcome::Changing);
    assert_eq!(at, 2 * TRIES as usize, "two copies per try");
}

#[test]
fn a_page_compared_chunk_by_chunk_is_whole_or_taken_again() {
    // Three chunks and a bit; the writer changes the last byte once, while
    // the first try's second copy reads it.
    let len = 3 * CHUNK + 5;
    let page = std::cell::RefCell::new(vec![1u8; len]);
    let reads = std::cell::Cell::new(0);
    let copy = stable_copy_with(
        len,
        || Ok(None),
        |dst, offset| {
            reads.set(reads.get() + 1);
            if reads.get() == 3 {
                page.borrow_mut()[len - 1] = 2;
            }
            let p = page.borrow();
            dst.copy_from_slice(&p[offset..offset + dst.len()]);
            Ok(dst.len())
        },
        || {},
        |_, _| true,
    )
    .unwrap();
    assert_eq!(copy.outcome, Outcome::Consistent);
    assert_eq!(copy.bytes.len(), len);
    assert_eq!(copy.bytes[len - 1], 2, "the copy after the change");
    // 1 + 4 reads for the refused try, 1 + 4 for the accepted one.
    assert_eq!(reads.get(), 10);
}

#[test]
fn a_file_truncated_while_read_is_a_short_copy_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p");
    std::fs::write(&path, vec![9u8; 4096]).unwrap();
    let mut t = Reader::new(
        dir.path(),
        &specs(&["p", "Local\\acpmf_physics"]),
        Some(&ac::FAMILY),
    );
    std::fs::write(dir.path().join("acpmf_physics"), vec![0u8; 2048]).unwrap();
    let file = untrusted::open(dir.path(), "p".as_ref(), Owners::Mine).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(100)
        .unwrap();
    let copy = stable_copy(&file, &file, 4096, Protocol::Settled, |_, _| true).unwrap();
    assert_eq!((copy.outcome, copy.bytes.len()), (Outcome::Shrank, 100));
    let s = t.sample();
    assert_eq!(s.raw().next().unwrap().1.bytes.len(), 100);
    assert!(s.pages[1].result.is_ok());
}

#[test]
fn a_writer_mid_update_by_its_own_words_is_never_taken() {
    let words = |pairs: &'static [(usize, u32)]| {
        move |offset: usize| pairs.iter().find(|(o, _)| *o == offset).map(|(_, v)| *v)
    };
    let pair = Protocol::VersionPair { begin: 0, end: 4 };
    assert!(Guard::of(pair, words(&[(0, 7), (4, 7)])).unwrap().settled);
    assert!(!Guard::of(pair, words(&[(0, 8), (4, 7)])).unwrap().settled);
    let odd = Protocol::OddWhileWriting { offset: 8 };
    assert!(Guard::of(odd, words(&[(8, 10)])).unwrap().settled);
    assert!(!Guard::of(odd, words(&[(8, 11)])).unwrap().settled);
    assert_eq!(Guard::of(odd, words(&[])), None);
    // Copies that agree, words that say "writing": refused every time.
    let copy = stable_copy_with(
        4,
        || {
            Ok(Some(Guard {
                value: 11,
                settled: false,
                one_copy: false,
            }))
        },
        |dst, _| {
            dst.fill(1);
            Ok(dst.len())
        },
        || {},
        |_, _| true,
    )
    .unwrap();
    assert_eq!(copy.outcome, Outcome::Changing);
}

#[test]
fn the_newest_tick_vouches_for_one_copy_and_a_moved_one_refuses_it() {
    let ticked = Protocol::NewestTick {
        count: 0,
        ticks: 8,
        stride: 16,
        rare: 4,
    };
    let words = |pairs: Vec<(usize, u32)>| {
        move |offset: usize| pairs.iter().find(|(o, _)| *o == offset).map(|(_, v)| *v)
    };
    // Three buffers, the newest (tick 9) in the second; session info 2.
    let three = vec![(0, 3), (4, 2), (8, 7), (24, 9), (40, 8)];
    let guard = Guard::of(ticked, words(three.clone())).unwrap();
    assert!(guard.settled && guard.one_copy);
    assert_eq!(guard.value, 9 << 32 | 2);
    // The writer finished the next buffer: the newest tick moved.
    let mut moved = three.clone();
    moved[2] = (8, 10);
    assert_ne!(Guard::of(ticked, words(moved)).unwrap().value, guard.value);
    // Tick counts start at -1 (nothing written), and count as less.
    let fresh = vec![(0, 2), (4, 0), (8, u32::MAX), (24, u32::MAX)];
    assert_eq!(
        Guard::of(ticked, words(fresh)).unwrap().value >> 32,
        u64::from(u32::MAX)
    );
    // A header of no rotating buffers is read as a page without protocol.
    let none = Guard::of(ticked, words(vec![(0, 0)])).unwrap();
    assert!(none.settled && !none.one_copy);
    assert_eq!(Guard::of(ticked, words(vec![(0, 3), (4, 1)])), None);

    // One copy, when vouched for; taken again when the tick moved under it.
    let reads = std::cell::Cell::new(0);
    let guards = std::cell::Cell::new(0u64);
    let copy = stable_copy_with(
        4,
        || {
            guards.set(guards.get() + 1);
            // The first try's tick moves during its copy; then it holds.
            let value = if guards.get() == 1 { 1 } else { 2 };
            Ok(Some(Guard {
                value,
                settled: true,
                one_copy: true,
            }))
        },
        |dst, _| {
            reads.set(reads.get() + 1);
            dst.fill(5);
            Ok(dst.len())
        },
        || {},
        |_, _| true,
    )
    .unwrap();
    assert_eq!(copy.outcome, Outcome::Consistent);
    assert_eq!(reads.get(), 2, "one copy per try, two tries");
}

#[test]
fn a_lock_held_before_between_or_after_the_copies_refuses_them() {
    let lock = Protocol::BusyLock {
        lock: "lock",
        busy: 4,
    };
    let words = |busy: u32| move |offset: usize| (offset == 4).then_some(busy);
    assert!(Guard::of(lock, words(0)).unwrap().settled);
    assert!(!Guard::of(lock, words(1)).unwrap().settled);
    // Free before and after each pair of copies, held between them: a
    // writer stalled across both copies, which agree. Never taken.
    let reads = std::cell::Cell::new(0u32);
    let copy = stable_copy_with(
        4,
        || {
            reads.set(reads.get() + 1);
            let busy = u64::from(reads.get() % 3 == 2);
            Ok(Some(Guard {
                value: busy,
                settled: busy == 0,
                one_copy: false,
            }))
        },
        |dst, _| {
            dst.fill(1);
            Ok(dst.len())
        },
        || {},
        |_, _| true,
    )
    .unwrap();
    assert_eq!(copy.outcome, Outcome::Changing);
    assert_eq!(reads.get(), 3 * TRIES, "read before, between and after");
}

#[test]
fn le_mans_ultimate_is_read_when_its_lock_is_free_or_not_bridged() {
    use crate::scenario::Scenario;
    use crate::titles::lmu;
    use crate::titles::lmu::synthetic;
    let dir = tempfile::tempdir().unwrap();
    let names = specs(&[lmu::DATA, lmu::LOCK]);
    let mut t = Reader::new(dir.path(), &names, Some(&lmu::FAMILY));
    let data = PosixShMem::create_in(dir.path(), lmu::DATA, 505_000, 0o600).unwrap();
    let frame = synthetic::SESSION.frame(4321);
    data[..frame[0].bytes.len()].copy_from_slice(&frame[0].bytes);
    // Not bridged: two agreeing copies.
    let s = t.sample();
    assert_eq!(s.decoded.unwrap().telemetry.update, Some(4321));
    let lock = PosixShMem::create_in(dir.path(), lmu::LOCK, 8, 0o600).unwrap();
    lock.store(4, 1);
    let s = t.sample();
    let problems = s.problems();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("LMU_Data changed while it was read")),
        "{problems:?}"
    );
    assert!(s.decoded.is_some_and(|d| d.telemetry.update.is_none()));
    lock.store(4, 0);
    let s = t.sample().into_complete().unwrap();
    assert_eq!(s.decoded.unwrap().telemetry.update, Some(4321));
}
