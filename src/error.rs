//! The one error type every command returns, and the one exit-status type mapped to codes.
//!
//! Each variant keeps what caused it (the path and the io error, the TOML position, the network
//! cause), so messages are built here, from data, and nothing branches on message text.

use std::any::Any;
use std::fmt;
use std::panic::{self, PanicHookInfo};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

/// How gpu-ci ends, documented in `--help` and docs/usage.md; mapped to a code in one place.
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

/// A code a help text lists: one status, or a family of them (`run`'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentedCode {
    /// One status, listed by its code.
    Status(ExitStatus),
    /// `run`: the tests' own exit code, any of them (`N`).
    Tests,
    /// 128 + the number of a signal (`128+N`).
    Signal,
}

impl DocumentedCode {
    /// The code as a help text shows it: `0`, `N`, `128+N`.
    pub fn label(self) -> String {
        match self {
            DocumentedCode::Status(status) => status.code().to_string(),
            DocumentedCode::Tests => "N".into(),
            DocumentedCode::Signal => "128+N".into(),
        }
    }
}

use DocumentedCode::{Signal as SIGNAL, Status, Tests as TESTS};

const INTERNAL: (DocumentedCode, &str) = (
    Status(ExitStatus::Internal),
    "internal error: a bug in gpu-ci (please report it)",
);

/// Every command's exit codes, and what each means for that command: the one table its
/// `--help`, its man page and docs/usage.md's list come from. The command is named by its words
/// after `gpu-ci` (`""` for gpu-ci itself, which lists every code any command can return).
pub const COMMAND_EXIT_CODES: &[(&str, &[(DocumentedCode, &str)])] = &[
    (
        "",
        &[
            (Status(ExitStatus::Success), "success"),
            (
                Status(ExitStatus::Failure),
                "a check found something out of date or failing, or the tests failed",
            ),
            (
                Status(ExitStatus::Usage),
                "bad input: arguments, configuration, project files, the file system or a server",
            ),
            INTERNAL,
            (
                Status(ExitStatus::Tests(124)),
                "run: the tests ran past the configured timeout and were stopped",
            ),
            (Status(ExitStatus::Interrupted), "interrupted (Ctrl-C)"),
            (
                SIGNAL,
                "run: stopped by signal N, passed on to the client (143 SIGTERM, 129 SIGHUP), or the client died of it (139 SIGSEGV)",
            ),
            (
                TESTS,
                "run: pytest's own exit code otherwise (5: no tests collected)",
            ),
        ],
    ),
    (
        "init",
        &[
            (
                Status(ExitStatus::Success),
                "the files were written (or there was nothing to change, or --dry-run)",
            ),
            (
                Status(ExitStatus::Usage),
                "bad input: arguments, configuration, project files, the file system, or generated files you edited (--force); nothing written",
            ),
            INTERNAL,
            (
                Status(ExitStatus::Interrupted),
                "interrupted at a question (Ctrl-C); nothing written",
            ),
        ],
    ),
    (
        "update",
        &[
            (
                Status(ExitStatus::Success),
                "the files are current (or were made so, or --dry-run)",
            ),
            (
                Status(ExitStatus::Failure),
                "--check: a file is out of date or holds conflict markers; or the update left a conflict for you to resolve",
            ),
            (
                Status(ExitStatus::Usage),
                "bad input: arguments, configuration, project files or the file system; nothing written",
            ),
            INTERNAL,
        ],
    ),
    (
        "run",
        &[
            (Status(ExitStatus::Success), "the tests passed"),
            (
                TESTS,
                "pytest's exit code (1 tests failed, 5 no tests collected, ...); with shards or a GPU matrix, the worst run's",
            ),
            (
                Status(ExitStatus::Usage),
                "bad input, a missing Modal client or missing credentials, or a run that could not start (no connection to Modal, token refused, image not built, no sandbox started)",
            ),
            (
                Status(ExitStatus::Internal),
                "internal error: a bug in gpu-ci, or pytest's own internal error",
            ),
            (
                Status(ExitStatus::Tests(124)),
                "the tests ran past the configured timeout and were stopped",
            ),
            (
                SIGNAL,
                "stopped by signal N, passed on to the client (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP), or the client died of it (139 SIGSEGV)",
            ),
        ],
    ),
    (
        "pin",
        &[
            (
                Status(ExitStatus::Success),
                "the pins were written (or are current)",
            ),
            (
                Status(ExitStatus::Failure),
                "--check: an action has a newer release",
            ),
            (
                Status(ExitStatus::Usage),
                "bad input, or GitHub could not resolve an action, answered something that is not a tag and a commit SHA, or would move a pin back without --allow-downgrade; nothing changed",
            ),
            INTERNAL,
        ],
    ),
    (
        "config",
        &[
            (Status(ExitStatus::Success), "the settings were shown"),
            (
                Status(ExitStatus::Usage),
                "bad input: arguments, configuration or project files",
            ),
            INTERNAL,
        ],
    ),
    (
        "github setup",
        &[
            (Status(ExitStatus::Success), "success (or nothing to do)"),
            (
                Status(ExitStatus::Usage),
                "bad input, no token, no Modal token, or GitHub refused (what was done stays done)",
            ),
            INTERNAL,
        ],
    ),
    (
        "doctor",
        &[
            (
                Status(ExitStatus::Success),
                "every check passed (or was skipped)",
            ),
            (Status(ExitStatus::Failure), "a check failed"),
            (Status(ExitStatus::Usage), "bad input"),
            INTERNAL,
        ],
    ),
    (
        "durations",
        &[
            (Status(ExitStatus::Success), "the durations were written"),
            (
                Status(ExitStatus::Usage),
                "the JUnit XML is missing, too large or not pytest's XML, or the file cannot be written",
            ),
            INTERNAL,
        ],
    ),
    (
        "costs",
        &[
            (
                Status(ExitStatus::Success),
                "the costs were shown (an artifact that could not be read is named and left out)",
            ),
            (
                Status(ExitStatus::Usage),
                "bad input, no token, or GitHub could not list the artifacts",
            ),
            INTERNAL,
        ],
    ),
    (
        "cache show",
        &[
            (Status(ExitStatus::Success), "the volumes were shown"),
            (
                Status(ExitStatus::Usage),
                "bad input, a missing Modal client or missing credentials, or Modal could not be reached or refused",
            ),
            INTERNAL,
        ],
    ),
    (
        "cache clear",
        &[
            (
                Status(ExitStatus::Success),
                "the volumes were deleted (or there were none), or the question was answered no",
            ),
            (
                Status(ExitStatus::Usage),
                "bad input, a missing Modal client or missing credentials, no --yes where no one can answer, or Modal could not be reached or refused",
            ),
            INTERNAL,
        ],
    ),
    (
        "completions",
        &[
            (Status(ExitStatus::Success), "the script was printed"),
            (
                Status(ExitStatus::Usage),
                "bad input: a shell gpu-ci does not know",
            ),
            INTERNAL,
        ],
    ),
    (
        "man",
        &[
            (
                Status(ExitStatus::Success),
                "the page was printed, or the pages written",
            ),
            (
                Status(ExitStatus::Usage),
                "bad input, or the folder cannot be written",
            ),
            INTERNAL,
        ],
    ),
];

/// The exit codes of `command` (its words after `gpu-ci`), from [`COMMAND_EXIT_CODES`].
pub fn exit_codes_of(command: &str) -> &'static [(DocumentedCode, &'static str)] {
    COMMAND_EXIT_CODES
        .iter()
        .find(|(name, _)| *name == command)
        .map(|(_, codes)| *codes)
        .unwrap_or_else(|| panic!("no exit codes listed for `gpu-ci {command}`"))
}

/// The `Exit codes:` block that ends `command`'s help.
pub fn exit_codes_help(command: &str) -> String {
    let codes = exit_codes_of(command);
    let width = codes
        .iter()
        .map(|(code, _)| code.label().len())
        .max()
        .unwrap_or(0)
        .max(3);
    // Each meaning wrapped at 100 columns, its further lines under its first word.
    let indent = 2 + width + 2;
    let mut text = String::from("Exit codes:");
    for (code, meaning) in codes {
        let mut line = format!("  {:width$}  ", code.label());
        for word in meaning.split(' ') {
            if line.len() > indent && line.len() + 1 + word.len() > 100 {
                text.push('\n');
                text.push_str(line.trim_end());
                line = " ".repeat(indent);
            } else if line.len() > indent {
                line.push(' ');
            }
            line.push_str(word);
        }
        text.push('\n');
        text.push_str(&line);
    }
    text
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
