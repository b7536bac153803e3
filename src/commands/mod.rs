//! One module per subcommand.

pub mod init;
pub mod pin;
pub mod run;
pub mod update;
