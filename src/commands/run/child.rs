//! The test run's client as a child process that no signal to gpu-ci leaves running: it gets a
//! process group of its own; SIGINT, SIGTERM and SIGHUP sent to gpu-ci are passed on to that
//! group; whatever of the group is still there `GRACE` after the first one is killed.

use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{ChildStderr, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::error::{Error, Result};

/// How long the client may take to stop (the Modal client stops its app) after a signal.
pub const GRACE: Duration = Duration::from_secs(10);
/// How often gpu-ci looks at the child and at signals that arrived.
const POLL: Duration = Duration::from_millis(25);

/// How the child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildEnd {
    /// It exited with this code.
    Exited(i32),
    /// gpu-ci received `signal` and passed it on; `killed` when the group outlived `GRACE`.
    Interrupted { signal: i32, killed: bool },
    /// It died of a signal that gpu-ci did not pass on: a crash, or someone else's kill.
    Killed(i32),
}

/// `SIGSEGV` for 11; the number for a signal this system does not name.
pub fn signal_name(signal: i32) -> String {
    Signal::try_from(signal).map_or_else(|_| format!("signal {signal}"), |s| s.as_str().into())
}

/// How much of the child's stderr `supervise` keeps, its end: enough for the client's last error.
const STDERR_KEPT: usize = 16 * 1024;
/// How long the copy of stderr may go on after the child ended (something it started may hold
/// the pipe open).
const STDERR_DRAIN: Duration = Duration::from_secs(2);

/// The child's stderr passed on to gpu-ci's as it comes, byte for byte, its end kept.
struct Tee {
    kept: Arc<Mutex<Vec<u8>>>,
    done: mpsc::Receiver<()>,
}

impl Tee {
    fn start(mut from: ChildStderr) -> Tee {
        let kept = Arc::new(Mutex::new(Vec::new()));
        let (tell, done) = mpsc::channel();
        let keep = Arc::clone(&kept);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            let mut out = std::io::stderr();
            while let Ok(read @ 1..) = from.read(&mut buffer) {
                let chunk = &buffer[..read];
                let _ = out.write_all(chunk).and_then(|()| out.flush());
                if let Ok(mut kept) = keep.lock() {
                    kept.extend_from_slice(chunk);
                    let over = kept.len().saturating_sub(STDERR_KEPT);
                    kept.drain(..over);
                }
            }
            let _ = tell.send(());
        });
        Tee { kept, done }
    }

    /// What was kept, once the copy ended or `STDERR_DRAIN` passed.
    fn finish(self) -> String {
        let _ = self.done.recv_timeout(STDERR_DRAIN);
        let kept = self.kept.lock().map(|k| k.clone()).unwrap_or_default();
        String::from_utf8_lossy(&kept).into_owned()
    }
}

/// Runs `command` to its end in its own process group, with stdin closed (a background group
/// reading the terminal would be stopped) and stdout and stderr inherited, live; with
/// `keep_stderr`, stderr goes through gpu-ci, which returns its last `STDERR_KEPT` bytes.
pub fn supervise(command: Command, keep_stderr: bool) -> Result<(ChildEnd, String)> {
    let mut tee = None;
    let end = run_to_end(command, keep_stderr, &mut tee)?;
    Ok((end, tee.map(Tee::finish).unwrap_or_default()))
}

fn run_to_end(mut command: Command, keep_stderr: bool, tee: &mut Option<Tee>) -> Result<ChildEnd> {
    if keep_stderr {
        command.stderr(Stdio::piped());
    }
    // Before the spawn, so that no signal falls between the two.
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])
        .map_err(|err| Error::internal(format!("cannot watch for signals: {err}")))?;
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .process_group(0)
        .stdin(Stdio::null())
        .spawn()
        .map_err(|err| Error::usage(format!("cannot start `{program}`: {err}")))?;
    *tee = child.stderr.take().map(Tee::start);
    let lost = |err: std::io::Error| Error::usage(format!("lost `{program}`: {err}"));
    // Its own group: the group's id is the child's pid.
    let group = Pid::from_raw(i32::try_from(child.id()).map_err(|_| Error::internal("pid"))?);
    let mut stop = Stop::default();
    let mut killed = false;
    let status = loop {
        stop.pass_on(&mut signals, group);
        if let Some(status) = child.try_wait().map_err(lost)? {
            break status;
        }
        if stop.deadline.is_some_and(|at| Instant::now() >= at) && !killed {
            let _ = killpg(group, Signal::SIGKILL);
            killed = true;
        }
        std::thread::sleep(POLL);
    };
    let (Some(signal), Some(deadline)) = (stop.received, stop.deadline) else {
        return Ok(match (status.code(), status.signal()) {
            (Some(code), _) => ChildEnd::Exited(code),
            (None, Some(signal)) => ChildEnd::Killed(signal),
            (None, None) => ChildEnd::Exited(1),
        });
    };
    // The client is gone; what it started in its group has the rest of the grace period.
    while killpg(group, None).is_ok() && Instant::now() < deadline {
        stop.pass_on(&mut signals, group);
        std::thread::sleep(POLL);
    }
    if killpg(group, None).is_ok() {
        let _ = killpg(group, Signal::SIGKILL);
        killed = true;
    }
    Ok(ChildEnd::Interrupted { signal, killed })
}

/// The signals gpu-ci received: the first decides the exit code and starts the grace period.
#[derive(Default)]
struct Stop {
    received: Option<i32>,
    deadline: Option<Instant>,
}

impl Stop {
    /// Passes every signal that arrived since the last look on to the child's group.
    fn pass_on(&mut self, signals: &mut Signals, group: Pid) {
        for signal in signals.pending() {
            self.received.get_or_insert(signal);
            self.deadline.get_or_insert_with(|| Instant::now() + GRACE);
            if let Ok(signal) = Signal::try_from(signal) {
                let _ = killpg(group, signal);
            }
        }
    }
}
