//! One module per subcommand.

pub mod init;
pub mod run;
pub mod update;
