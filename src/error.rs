//! The one error type every command returns, and the one exit-status type mapped to codes.
//!
//! Each variant keeps what caused it (the path and the io error, the TOML position, the network
//! cause), so messages are built here, from data, and nothing branches on message text.

use std::any::Any;
use std::fmt;
use std::panic::{self, PanicHookInfo};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

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

/// Set by the panic hook: a panic in any thread makes the command end as [`ExitStatus::Internal`].
static PANICKED: AtomicBool = AtomicBool::new(false);

/// What a panic's payload says (`panic!`'s message, an index out of bounds, …).
fn panic_text(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message")
}

/// The one `error:` line a panic becomes (`ui::error` escapes it and keeps it on one line).
pub fn panic_line(info: &PanicHookInfo<'_>) -> String {
    let at = info
        .location()
        .map(|l| format!(" at {}:{}", l.file(), l.line()))
        .unwrap_or_default();
    format!(
        "internal error{at}: {}; this is a bug in gpu-ci, please report it",
        panic_text(info.payload())
    )
}

/// Runs `body` (a whole command) so that a panic anywhere, in this thread or another, ends as
/// one `error:` line and exit status 3, never Rust's 101 and its backtrace advice.
pub fn guarded(body: impl FnOnce() -> ExitStatus + panic::UnwindSafe) -> ExitStatus {
    panic::set_hook(Box::new(|info| {
        PANICKED.store(true, Ordering::SeqCst);
        crate::ui::error(&panic_line(info));
    }));
    let status = panic::catch_unwind(body).unwrap_or(ExitStatus::Internal);
    if PANICKED.load(Ordering::SeqCst) {
        ExitStatus::Internal
    } else {
        status
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

    /// The child half of the test below: a real panic (a slice out of bounds, as the merge's
    /// was) inside `guarded`, in a process of its own so the hook and the exit are real.
    #[test]
    fn a_panic_ends_as_one_error_line_and_exit_status_3() {
        const CHILD: &str = "GPU_CI_TEST_PANIC_CHILD";
        if std::env::var_os(CHILD).is_some() {
            let status = guarded(|| {
                let lines: Vec<&str> = "a\nb\n".lines().collect();
                let start = lines.len() + std::env::args().count();
                println!("{:?}", &lines[start..2]);
                ExitStatus::Success
            });
            std::process::exit(i32::from(status.code()));
        }
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "error::tests::a_panic_ends_as_one_error_line_and_exit_status_3",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{stderr}");
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{stderr}");
        assert!(
            errors[0].starts_with("error: internal error at src/error.rs:")
                && errors[0].contains("out of range for slice")
                && errors[0].ends_with("; this is a bug in gpu-ci, please report it"),
            "{stderr}"
        );
        assert!(!stderr.contains("RUST_BACKTRACE"), "{stderr}");
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
