//! Assetto Corsa (the first one): the Assetto Corsa family's pages and
//! decoder, with its own graphics page past the fields it shares with ACC
//! (see [`super::ac`]).

/// The family, registered by `build.rs`.
pub static FAMILY: super::ac::AcFamily = super::ac::AcFamily::ASSETTO_CORSA;
