//! One module per subcommand.

pub mod clean;
pub mod demo;
pub mod doctor;
pub mod games;
pub mod launch;
pub mod list;
pub mod watch;
