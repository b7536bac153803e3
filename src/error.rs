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
        use std::io::ErrorKind;
        let help = match (err.kind(), action == "read") {
            (ErrorKind::PermissionDenied, true) => "check the file's permissions",
            (ErrorKind::PermissionDenied, false) => {
                "check the folder's permissions, or run gpu-ci where you may write"
            }
            (_, true) => "check that the path is a readable file",
            (_, false) => {
                "check that every folder on the path is a folder (not a file) and has room; nothing was written"
            }
        };
        Error {
            message: format!("cannot {action} `{}`: {err}", path.display()),
            help: Some(help.to_string()),
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
