//! shm-bridge: the parts both sides share, and each side's program.
//!
//! The same program is built twice: for Windows it is the bridge exe that
//! runs inside a Wine/Proton prefix ([`win`]); for Linux it is the
//! companion that launches, lists, watches and cleans up.

pub mod presets;
pub mod spec;
