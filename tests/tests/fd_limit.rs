//! A process at its limit of open files: memfd and POSIX segments hold a
//! descriptor each, so creating one more must fail with an error that says
//! so and what to do, and dropping some must make room again.
//!
//! This binary holds this one test: the limit it lowers is the process's.

#![cfg(target_os = "linux")]

use shmem::{MemfdShMemProvider, PosixShMemProvider, ShMem, ShMemError, ShMemProvider};

/// Creates segments until the limit of open files stops it; returns the
/// error and the segments made.
fn fill<P: ShMemProvider>(limit: usize) -> (ShMemError, Vec<P::ShMem>) {
    let mut provider = P::new().unwrap();
    let mut held = Vec::new();
    loop {
        match provider.new_shmem(4096) {
            Ok(mem) => held.push(mem),
            Err(e) => return (e, held),
        }
        assert!(
            held.len() <= limit,
            "{limit} open files allowed, yet more segments"
        );
    }
}

fn check<P: ShMemProvider>(limit: usize) {
    let name = std::any::type_name::<P>();
    let (error, held) = fill::<P>(limit);
    assert!(
        matches!(error, ShMemError::TooManyOpenFiles { .. }),
        "{name}: {error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("ulimit -n") && message.contains("holds one while it lives"),
        "{name}: the message says what to do: {message}"
    );
    assert!(
        held.len() > limit / 2,
        "{name}: only {} segments",
        held.len()
    );
    let ids: Vec<_> = held.iter().map(|m| m.id()).collect();
    drop(held);
    // Room again, and the dropped segments are gone (POSIX: their names too).
    let mut provider = P::new().unwrap();
    let again = provider.new_shmem(4096).unwrap();
    again.store(0, 1);
    for id in ids {
        assert!(
            provider.shmem_from_id_and_size(id.clone(), 4096).is_err(),
            "{name}: {id} outlived its drop"
        );
    }
}

#[test]
fn at_the_open_file_limit_a_new_segment_is_refused_with_what_to_do() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    const LIMIT: u64 = 64;
    let hard = getrlimit(Resource::Nofile).maximum;
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(LIMIT),
            maximum: hard,
        },
    )
    .unwrap();
    check::<PosixShMemProvider>(LIMIT as usize);
    check::<MemfdShMemProvider>(LIMIT as usize);
}
