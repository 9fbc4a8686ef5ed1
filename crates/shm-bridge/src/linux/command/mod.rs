//! One module per subcommand but `watch` and `serve`, which have directories of their own.

pub mod attach;
pub mod clean;
pub mod demo;
pub mod doctor;
pub mod games;
pub mod launch;
pub mod list;
pub mod record;
pub mod serve;
