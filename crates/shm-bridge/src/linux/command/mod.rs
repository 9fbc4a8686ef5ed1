//! One module per subcommand but `watch`, which has a directory of its own.

pub mod attach;
pub mod clean;
pub mod demo;
pub mod doctor;
pub mod games;
pub mod launch;
pub mod list;
pub mod record;
