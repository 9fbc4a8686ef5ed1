//! The cross-process suite every backend runs, on every OS: this test
//! process creates a segment, `shm-peer` (a second process) reopens it by
//! id or from the environment, and writes travel both ways; plus what a
//! provider must refuse. [`backend_suite!`](crate::backend_suite) makes
//! one test module per backend from it.

use std::process::Command;

use shmem::{ShMem, ShMemError, ShMemId, ShMemProvider};

use crate::{exchange, nonce};

/// A segment of `size` reopened by its id in the peer.
pub fn reopen_by_id<P: ShMemProvider>(mut peer: Command, backend: &str, size: usize) {
    let mut provider = P::new().unwrap();
    let mem = provider.new_shmem(size).unwrap();
    assert_eq!(mem.len(), size);
    let n = nonce();
    let id = mem.id().to_string();
    exchange(
        &mem,
        &n,
        peer.args(["open", backend, "id", &id, &size.to_string(), &n]),
    );
}

/// A segment reopened in the peer from the environment variables its
/// description gives.
pub fn reopen_from_env<P: ShMemProvider>(mut peer: Command, backend: &str) {
    let mut provider = P::new().unwrap();
    let mem = provider.new_shmem(4096).unwrap();
    let n = nonce();
    exchange(
        &mem,
        &n,
        peer.args(["open", backend, "env", "TEST_SHMEM", &n])
            .envs(mem.description().env_vars("TEST_SHMEM")),
    );
}

/// Reopening in the same process gives a second mapping of the same bytes.
pub fn clone_ref_shares_bytes<P: ShMemProvider>() {
    let mut provider = P::new().unwrap();
    let a = provider.new_shmem(100).unwrap();
    let b = provider.clone_ref(&a).unwrap();
    assert_ne!(a.as_ptr(), b.as_ptr(), "a second mapping, not the same one");
    a[10..15].copy_from_slice(b"hello");
    assert_eq!(b[10..15].to_vec(), b"hello");
    b.write(96, &0xDEAD_BEEFu32).unwrap();
    assert_eq!(a.read::<u32>(96).unwrap(), 0xDEAD_BEEF);
}

/// Whether a backend's `TooSmall` error says how large the segment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActualSize {
    Reported,
    /// Not yet: the Windows backend answers `actual: 0` (its reopen does not
    /// ask the section's size). Checked, so that this line must change
    /// once it does.
    ReportedAsZero,
}

/// Zero and impossible sizes, mapping past the end, and another backend's
/// id are typed errors.
pub fn bad_requests_are_errors<P: ShMemProvider>(foreign: ShMemId, actual_size: ActualSize) {
    let mut provider = P::new().unwrap();
    assert!(matches!(provider.new_shmem(0), Err(ShMemError::ZeroSize)));
    assert!(matches!(
        provider.new_shmem(usize::MAX),
        Err(ShMemError::TooLarge { .. })
    ));
    let mem = provider.new_shmem(4096).unwrap();
    let too_big = provider.shmem_from_id_and_size(mem.id(), 1 << 20);
    let actual = match actual_size {
        ActualSize::Reported => 4096,
        ActualSize::ReportedAsZero => 0,
    };
    assert!(
        matches!(too_big, Err(ShMemError::TooSmall { actual: a, requested, .. }) if a == actual && requested == 1 << 20),
        "mapping past the end must be refused, with the sizes, not SIGBUS later: {too_big:?}"
    );
    let wrong = provider.shmem_from_id_and_size(foreign, 4096);
    assert!(
        matches!(wrong, Err(ShMemError::WrongBackend { .. })),
        "{wrong:?}"
    );
}

/// One test module per backend: `backend_suite!(module, Provider,
/// "backend name for shm-peer", foreign id, peer)`, where `peer` is a
/// `fn() -> Command` starting `shm-peer` with what the backend needs; a
/// last argument `ActualSize::...` if its `TooSmall` errors do not say the
/// segment's size.
#[macro_export]
macro_rules! backend_suite {
    ($module:ident, $provider:ty, $backend:literal, $foreign:expr, $peer:expr) => {
        $crate::backend_suite!(
            $module,
            $provider,
            $backend,
            $foreign,
            $peer,
            $crate::backend_suite::ActualSize::Reported
        );
    };
    ($module:ident, $provider:ty, $backend:literal, $foreign:expr, $peer:expr, $actual_size:expr) => {
        mod $module {
            use super::*;
            use $crate::backend_suite as suite;

            #[test]
            fn another_process_reopens_by_id() {
                suite::reopen_by_id::<$provider>($peer(), $backend, 4096);
            }

            #[test]
            fn another_process_reopens_from_env() {
                suite::reopen_from_env::<$provider>($peer(), $backend);
            }

            #[test]
            fn odd_sizes_map_exactly() {
                suite::reopen_by_id::<$provider>($peer(), $backend, 4096 * 3 + 17);
            }

            #[test]
            fn sizes_of_4_gib_and_more_are_not_truncated() {
                suite::reopen_by_id::<$provider>($peer(), $backend, (4 << 30) + 4096 + 3);
            }

            #[test]
            fn clone_ref_maps_the_same_bytes() {
                suite::clone_ref_shares_bytes::<$provider>();
            }

            #[test]
            fn bad_requests_are_typed_errors() {
                suite::bad_requests_are_errors::<$provider>($foreign, $actual_size);
            }
        }
    };
}
