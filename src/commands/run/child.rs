//! The test run's client as a child process that no signal to gpu-ci leaves running: it gets a
//! process group of its own; SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to gpu-ci are passed on to
//! that group; whatever of the group is still there `GRACE` after the first one is killed.
//!
//! On Linux gpu-ci is also a child subreaper: a process the run started that left its group or
//! its session (`setsid`), and whose parent ended, is adopted by gpu-ci rather than by init. When
//! the client has ended, for whatever reason (its exit, a signal, the tests' deadline), every
//! process still descending from gpu-ci is stopped (SIGTERM, then SIGKILL) and reaped. Elsewhere
//! a process that leaves the client's group and loses its parent escapes: docs/usage.md says so.

use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{ChildStderr, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::error::{Error, Result};

/// How long the client may take to stop (the Modal client stops its app) after a signal.
pub const GRACE: Duration = Duration::from_secs(10);
/// How often gpu-ci looks at the child and at signals that arrived.
const POLL: Duration = Duration::from_millis(25);
/// How long processes left behind by the run have between SIGTERM and SIGKILL.
const LEFTOVER_GRACE: Duration = Duration::from_secs(2);

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

/// How the child ended, and how many processes it left running that gpu-ci then stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    pub end: ChildEnd,
    pub leftovers: usize,
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
/// reading the terminal would be stopped) and stdout and stderr inherited, live; then stops
/// whatever it left running (see the module's text). With `keep_stderr`, stderr goes through
/// gpu-ci, which returns its last `STDERR_KEPT` bytes.
pub fn supervise(command: Command, keep_stderr: bool) -> Result<(Ended, String)> {
    // Before the spawn, so that every process the run starts and orphans is adopted here.
    descendants::adopt_orphans();
    let mut tee = None;
    let end = run_to_end(command, keep_stderr, &mut tee);
    // Whatever the end, nothing the run started outlives it.
    let leftovers = descendants::stop_all(LEFTOVER_GRACE);
    let kept = tee.map(Tee::finish).unwrap_or_default();
    Ok((
        Ended {
            end: end?,
            leftovers,
        },
        kept,
    ))
}

fn run_to_end(mut command: Command, keep_stderr: bool, tee: &mut Option<Tee>) -> Result<ChildEnd> {
    if keep_stderr {
        command.stderr(Stdio::piped());
    }
    // Before the spawn, so that no signal falls between the two.
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT])
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

/// The processes descending from gpu-ci, which it adopts as a child subreaper.
#[cfg(target_os = "linux")]
mod descendants {
    use std::collections::HashMap;
    use std::time::{Duration, Instant};

    use nix::sys::signal::{Signal, kill};
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    use nix::unistd::Pid;

    use super::POLL;

    /// From now on an orphaned descendant is re-parented to gpu-ci, not to init.
    pub fn adopt_orphans() {
        // Without it (a kernel before 3.4) a detached process can escape, as elsewhere.
        let _ = nix::sys::prctl::set_child_subreaper(true);
    }

    /// Every live (not zombie) process below gpu-ci, parents before their children.
    fn below_us() -> Vec<Pid> {
        let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        for entry in entries.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
            let Some((_, rest)) = stat.rsplit_once(')') else {
                continue;
            };
            let mut fields = rest.split_whitespace();
            let (Some(state), Some(parent)) = (fields.next(), fields.next()) else {
                continue;
            };
            if state == "Z" || state == "X" {
                continue;
            }
            if let Ok(parent) = parent.parse::<i32>() {
                children.entry(parent).or_default().push(pid);
            }
        }
        let mut found = Vec::new();
        let mut next = vec![std::process::id().cast_signed()];
        while let Some(parent) = next.pop() {
            for &child in children.get(&parent).map_or(&[][..], Vec::as_slice) {
                found.push(Pid::from_raw(child));
                next.push(child);
            }
        }
        found
    }

    /// Reaps every child that has ended (the client was reaped already).
    fn reap() {
        while let Ok(status) = waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            if status == WaitStatus::StillAlive {
                break;
            }
        }
    }

    fn signal_all(pids: &[Pid], signal: Signal) {
        for &pid in pids {
            // One that ended since the scan gives ESRCH. Our own children stay (as zombies)
            // until we reap them, so their pids cannot be reused meanwhile.
            let _ = kill(pid, signal);
        }
    }

    /// Stops every descendant: SIGTERM, up to `grace` to end, then SIGKILL; reaps them all.
    /// Returns how many there were.
    pub fn stop_all(grace: Duration) -> usize {
        reap();
        let first = below_us();
        if first.is_empty() {
            return 0;
        }
        signal_all(&first, Signal::SIGTERM);
        let deadline = Instant::now() + grace;
        loop {
            reap();
            if below_us().is_empty() || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(POLL);
        }
        // Those that ignored SIGTERM, and what they started meanwhile: a bounded number of
        // rounds, as a process may fork between a scan and the kill.
        for _ in 0..400 {
            reap();
            let left = below_us();
            if left.is_empty() {
                break;
            }
            signal_all(&left, Signal::SIGKILL);
            std::thread::sleep(POLL);
        }
        reap();
        first.len()
    }
}

/// Elsewhere there is no subreaper: what left the client's process group and lost its parent
/// is not found (docs/usage.md says so).
#[cfg(not(target_os = "linux"))]
mod descendants {
    use std::time::Duration;

    pub fn adopt_orphans() {}

    pub fn stop_all(_grace: Duration) -> usize {
        0
    }
}
