//! The client side: [`ServedShMemProvider`] and its segments.
//!
//! A client reaches its service over the service's socket
//! ([`transport`]), or, when the service runs in this very process,
//! directly: the same bookkeeping under a lock, with no message and no
//! thread switch ([`connection`]). [`fork`] carries its references into a
//! forked child; [`shared`] is the lock a child cannot hang on.

mod connection;
mod fork;
mod provider;
mod shared;
mod transport;

pub use provider::{ServedShMem, ServedShMemProvider};
