//! What both sides of the bridge decide alike, compiled on every OS: which
//! mappings (specs and the presets table), how large, whether they fit, what
//! clean-up may remove, and the marker files that record what we made.
//!
//! Each side supplies only what differs (how it reads the tmpfs, how it
//! learns who still uses a file) through the small traits here; the rules
//! and their messages are written once.

pub mod cleanup;
pub mod ledger;
pub mod mounts;
pub mod narrow;
pub mod plan;
pub mod presets;
pub mod spec;
pub mod units;
pub mod utf16;
