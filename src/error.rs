//! The one error type every command returns, and the one exit-status type mapped to codes.
//!
//! Each variant keeps what caused it (the path and the io error, the TOML position, the network
//! cause), so messages are built here, from data, and nothing branches on message text.

use std::fmt;
use std::path::PathBuf;

/// How gpu-ci ends, documented in `--help` and the README; mapped to a code in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything went as asked.
    Success,
    /// A check found something out of date, or work is left to the user (a merge conflict).
    Failure,
    /// Bad input: arguments, configuration, project files, the file system or a server.
    Usage,
    /// A bug in gpu-ci.
    Internal,
    /// Interrupted by Ctrl-C.
    Interrupted,
    /// Ended by signal N (one gpu-ci received and passed on, or one that killed `run`'s
    /// client): 128 + N, as a shell reports it.
    Signal(u8),
    /// The exit code of the tests that `gpu-ci run` ran.
    Tests(u8),
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Internal => 3,
            ExitStatus::Interrupted => 130,
            ExitStatus::Signal(signal) => 128 + signal.min(127),
            ExitStatus::Tests(code) => code,
        }
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        std::process::ExitCode::from(status.code())
    }
}

/// What gpu-ci was doing with a path when the file system refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoOp {
    Read,
    Write,
    CreateFolder,
    CreateFolderIn,
    Move,
}

impl IoOp {
    fn verb(self) -> &'static str {
        match self {
            IoOp::Read => "read",
            IoOp::Write => "write",
            IoOp::CreateFolder => "create folder",
            IoOp::CreateFolderIn => "create a folder in",
            IoOp::Move => "move into place",
        }
    }
}

#[derive(Debug)]
pub enum Error {
    /// Bad input: an argument, a setting, or a project file's content.
    Invalid {
        message: String,
        help: Option<String>,
    },
    /// The file system refused.
    Io {
        op: IoOp,
        path: PathBuf,
        source: std::io::Error,
        help: Option<String>,
    },
    /// A TOML file that does not parse, with the position of the first error.
    Toml {
        file: String,
        line: usize,
        column: usize,
        reason: String,
    },
    /// A server that could not be reached, or whose answer cannot be used.
    Network {
        message: String,
        cause: Option<Box<dyn std::error::Error + Send + Sync>>,
        help: Option<String>,
    },
    /// A bug in gpu-ci: a template that does not render, a render that is not valid YAML.
    Internal { message: String },
    /// Ctrl-C.
    Interrupted,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Bad input from the user or the project: exit code 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Invalid {
            message: message.into(),
            help: None,
        }
    }

    /// A file-system failure on `path` (as shown to the user).
    pub fn io(op: IoOp, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
            help: None,
        }
    }

    /// A server failure; `cause` is kept whole, so TLS or DNS details reach the message.
    pub fn network(
        message: impl Into<String>,
        cause: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error::Network {
            message: message.into(),
            cause,
            help: None,
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Error::Internal {
            message: message.into(),
        }
    }

    /// Adds or replaces the `help:` line, where the variant has one of its own choosing.
    pub fn with_help(mut self, text: impl Into<String>) -> Self {
        match &mut self {
            Error::Invalid { help, .. } | Error::Io { help, .. } | Error::Network { help, .. } => {
                *help = Some(text.into())
            }
            Error::Toml { .. } | Error::Internal { .. } | Error::Interrupted => {}
        }
        self
    }

    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Internal { .. } => ExitStatus::Internal,
            Error::Interrupted => ExitStatus::Interrupted,
            Error::Invalid { .. }
            | Error::Io { .. }
            | Error::Toml { .. }
            | Error::Network { .. } => ExitStatus::Usage,
        }
    }

    /// The `help:` line: what to do about it.
    pub fn help(&self) -> Option<String> {
        use std::io::ErrorKind;
        match self {
            Error::Invalid { help, .. } | Error::Network { help, .. } => help.clone(),
            Error::Io {
                help: Some(help), ..
            } => Some(help.clone()),
            Error::Io { op, source, .. } => {
                let reading = *op == IoOp::Read;
                Some(
                    match (source.kind(), reading) {
                        (ErrorKind::PermissionDenied, true) => "check the file's permissions",
                        (ErrorKind::PermissionDenied, false) => {
                            "check the folder's permissions, or run gpu-ci where you may write"
                        }
                        (_, true) => "check that the path is a readable file",
                        (_, false) => {
                            "check that every folder on the path is a folder (not a file) and has room; nothing was written"
                        }
                    }
                    .to_string(),
                )
            }
            Error::Toml { file, .. } => Some(format!("fix `{file}` and run gpu-ci again")),
            Error::Internal { .. } => Some("this is a bug in gpu-ci; please report it".into()),
            Error::Interrupted => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid { message, .. } => f.write_str(message),
            Error::Io {
                op, path, source, ..
            } => write!(f, "cannot {} `{}`: {source}", op.verb(), path.display()),
            Error::Toml {
                file,
                line,
                column,
                reason,
            } => write!(
                f,
                "`{file}` is not valid TOML: {reason} at line {line}, column {column}"
            ),
            Error::Network { message, cause, .. } => {
                f.write_str(message)?;
                // The whole chain: reqwest's top error says "error sending request", its
                // sources say why (DNS, TLS, refused).
                let mut next: Option<&(dyn std::error::Error + 'static)> = cause
                    .as_deref()
                    .map(|c| c as &(dyn std::error::Error + 'static));
                while let Some(err) = next {
                    write!(f, ": {err}")?;
                    next = err.source();
                }
                Ok(())
            }
            Error::Internal { message } => write!(f, "internal error: {message}"),
            Error::Interrupted => f.write_str("interrupted"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Network {
                cause: Some(cause), ..
            } => Some(cause.as_ref()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_help_depends_on_the_operation_not_the_text() {
        let denied = || std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let read = Error::io(IoOp::Read, "a", denied());
        let write = Error::io(IoOp::Write, "a", denied());
        assert_eq!(read.help().unwrap(), "check the file's permissions");
        assert!(write.help().unwrap().contains("folder's permissions"));
        assert_eq!(read.exit_status(), ExitStatus::Usage);
    }

    #[test]
    fn network_errors_show_their_whole_cause_chain() {
        let inner = std::io::Error::other("certificate has expired");
        let outer = Error::internal("unused");
        assert_eq!(outer.exit_status().code(), 3);
        let err = Error::network("cannot reach GitHub", Some(Box::new(inner)));
        assert_eq!(
            err.to_string(),
            "cannot reach GitHub: certificate has expired"
        );
    }
}
