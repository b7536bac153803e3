//! The one error type every command returns: a message, an optional `help:` line, an exit code.

use std::fmt;
use std::path::Path;

/// Exit codes, documented in `--help` and the README.
pub mod exit {
    /// Everything went as asked.
    pub const OK: u8 = 0;
    /// A check found something out of date, or the tests failed.
    pub const FAILURE: u8 = 1;
    /// Bad input: arguments, configuration, project files, or the file system.
    pub const USAGE: u8 = 2;
    /// Interrupted by Ctrl-C.
    pub const INTERRUPTED: u8 = 130;
}

#[derive(Debug)]
pub struct Error {
    pub message: String,
    pub help: Option<String>,
    pub code: u8,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Bad input from the user or the project: exit code 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            help: None,
            code: exit::USAGE,
        }
    }

    pub fn interrupted() -> Self {
        Error {
            message: "interrupted".into(),
            help: None,
            code: exit::INTERRUPTED,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// A file-system failure on `path`, phrased for a person.
    pub fn io(action: &str, path: &Path, err: &std::io::Error) -> Self {
        let help = match err.kind() {
            std::io::ErrorKind::PermissionDenied => Some(
                "check the folder's permissions, or run gpu-ci where you may write".to_string(),
            ),
            _ => None,
        };
        Error {
            message: format!("cannot {action} `{}`: {err}", path.display()),
            help,
            code: exit::USAGE,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
