//! What the interop peers write to each other, so that each side checks
//! the other's bytes and not its own: the creator's mark at
//! [`CREATOR_AT`], the opener's answer at [`OPENER_AT`].

/// Where the process that made the segment writes [`CREATOR_MARK`].
pub const CREATOR_AT: usize = 0;
/// Where the process that opened it writes [`OPENER_MARK`].
pub const OPENER_AT: usize = 64;
/// What the creator writes.
pub const CREATOR_MARK: &[u8] = b"made here";
/// What the opener writes back.
pub const OPENER_MARK: &[u8] = b"opened there";
/// The environment variable the segment travels in.
pub const ENV: &str = "INTEROP_MAP";

/// The edges `shmem-peer afl-target` marks, with their counts, for the
/// test to find in afl-showmap's output: the first, one in the middle, and
/// the last byte of AFL's default map of 65536.
pub const AFL_EDGES: [(usize, u8); 3] = [(17, 1), (4242, 3), (65535, 2)];
