//! Issue 14, finding 2: no signal to `gpu-ci run` leaves the Modal client (a billing app)
//! running or the temporary runner behind, and a client killed by a signal is named.
//! The client is a fake `modal` on PATH that records its pid and the signals it traps.

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use predicates::prelude::*;
use tempfile::TempDir;

use crate::common::{Project, describe, gpu_ci, gpu_ci_process};

/// Not the local Modal API (tests/tools/modal_api): what is tested is how gpu-ci passes signals
/// to a client that traps, ignores or dies of them, which the real client cannot be made to do.
/// FAKE_MODE: `trap` (each of INT, TERM, HUP, QUIT is logged, then it exits 0), `ignore` (INT,
/// TERM and HUP ignored, also by a grandchild it starts), `crash` (it kills itself with
/// FAKE_SIGNAL). With FAKE_DETACH set it first starts a process in a session of its own, which
/// neither its process group nor its session reaches, and logs its pid as `detached`.
const FAKE_MODAL: &str = r#"#!/bin/sh
echo "pid=$$" > "$FAKE_LOG"
echo "runner=$2" >> "$FAKE_LOG"
if [ -n "$FAKE_DETACH" ]; then
  setsid sh -c 'echo "detached=$$" >> "$FAKE_LOG"; exec sleep 60' < /dev/null > /dev/null 2>&1 &
  while ! grep -q detached= "$FAKE_LOG"; do sleep 0.01; done
fi
case "$FAKE_MODE" in
  trap)
    for s in INT TERM HUP QUIT; do trap "echo got-$s >> \"$FAKE_LOG\"; exit 0" $s; done ;;
  ignore)
    trap '' INT TERM HUP
    sleep 60 &
    echo "grandchild=$!" >> "$FAKE_LOG" ;;
  crash)
    kill -"$FAKE_SIGNAL" $$ ;;
esac
echo ready >> "$FAKE_LOG"
i=0
while [ $i -lt 600 ]; do i=$((i + 1)); sleep 0.05; done
exit 0
"#;

struct Fake {
    dir: TempDir,
}

impl Fake {
    fn new() -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let modal = dir.path().join("modal");
        fs::write(&modal, FAKE_MODAL).unwrap();
        fs::set_permissions(&modal, fs::Permissions::from_mode(0o755)).unwrap();
        Fake { dir }
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("log")
    }

    fn recorded(&self) -> String {
        fs::read_to_string(self.log()).unwrap_or_default()
    }

    fn value(&self, key: &str) -> Option<String> {
        self.recorded()
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")).map(str::to_string))
    }

    /// `gpu-ci run`'s arguments and environment, with this fake first on PATH.
    fn setup(&self, project: &Project, mode: &str) -> (Vec<OsString>, Vec<(&str, OsString)>) {
        let args = vec!["-C".into(), project.root.clone().into(), "run".into()];
        let envs = vec![
            (
                "PATH",
                format!("{}:/usr/bin:/bin", self.dir.path().display()).into(),
            ),
            ("HOME", self.dir.path().into()),
            ("FAKE_LOG", self.log().into()),
            ("FAKE_MODE", mode.into()),
            ("MODAL_TOKEN_ID", "ak-test".into()),
            ("MODAL_TOKEN_SECRET", "as-test".into()),
        ];
        (args, envs)
    }

    /// gpu-ci started, its fake client past its traps.
    fn start(&self, project: &Project, mode: &str) -> Child {
        self.start_with(project, mode, &[])
    }

    fn start_with(&self, project: &Project, mode: &str, more: &[(&str, &str)]) -> Child {
        let (args, mut envs) = self.setup(project, mode);
        envs.extend(more.iter().map(|&(k, v)| (k, OsString::from(v))));
        let mut cmd = gpu_ci_process();
        cmd.args(args)
            .envs(envs)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let child = cmd.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.recorded().contains("ready") {
            assert!(Instant::now() < deadline, "the fake client never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        child
    }
}

/// Live (not zombie) processes whose process group is `group`.
fn members(group: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid pgrp …`; comm may hold spaces and parentheses.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() > 2 && fields[0] != "Z" && fields[2] == group.to_string() {
            found.push(pid);
        }
    }
    found
}

/// Waits (a little: SIGKILL takes effect at once, reaping may lag) for the group to be gone.
fn assert_group_gone(group: u32) {
    let deadline = Instant::now() + Duration::from_secs(3);
    while !members(group).is_empty() {
        assert!(
            Instant::now() < deadline,
            "processes of the client's group are still running: {:?}",
            members(group)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether `pid` is a live process (not a zombie). Once gpu-ci is gone a process it stopped
/// is reaped by init, or by gpu-ci before.
fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let (_, rest) = stat.rsplit_once(')')?;
            rest.split_whitespace().next().map(|state| state != "Z")
        })
        .unwrap_or(false)
}

/// Stops a process a failed test left behind, by its pid.
struct Reap(u32);

impl Drop for Reap {
    fn drop(&mut self) {
        if alive(self.0) {
            let _ = Command::new("kill")
                .args(["-KILL", &self.0.to_string()])
                .status();
        }
    }
}

fn send(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn runner_folder(fake: &Fake) -> PathBuf {
    let runner = fake.value("runner").expect("the runner path was recorded");
    Path::new(&runner).parent().unwrap().to_path_buf()
}

#[test]
fn finding_2_sigint_sigterm_and_sighup_reach_the_client_and_exit_128_plus_n() {
    for (signal, number) in [("INT", 2), ("TERM", 15), ("HUP", 1)] {
        let project = Project::fixture("extras-flat");
        let before = project.snapshot_tree();
        let fake = Fake::new();
        let child = fake.start(&project, "trap");
        let group: u32 = fake.value("pid").unwrap().parse().unwrap();
        assert!(
            runner_folder(&fake).is_dir(),
            "the bundled runner is in use"
        );
        // To gpu-ci's pid alone, as `kill`, systemd or a CI runner's cancel sends it: the
        // client is in a group of its own, so only gpu-ci can pass it on.
        let started = Instant::now();
        send(signal, child.id());
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(128 + number),
            "SIG{signal}: {}",
            describe(&output)
        );
        assert!(started.elapsed() < Duration::from_secs(8), "SIG{signal}");
        assert!(
            fake.recorded().contains(&format!("got-{signal}")),
            "SIG{signal} did not reach the client: {}",
            fake.recorded()
        );
        assert_group_gone(group);
        assert!(
            !runner_folder(&fake).exists(),
            "SIG{signal}: the temporary runner folder is left"
        );
        assert_eq!(before, project.snapshot_tree());
    }
}

#[test]
fn finding_2_a_client_that_ignores_signals_is_killed_after_the_grace_period() {
    let project = Project::fixture("extras-flat");
    let fake = Fake::new();
    let child = fake.start(&project, "ignore");
    let group: u32 = fake.value("pid").unwrap().parse().unwrap();
    let grandchild: u32 = fake.value("grandchild").unwrap().parse().unwrap();
    let started = Instant::now();
    send("TERM", child.id());
    let output = child.wait_with_output().unwrap();
    let elapsed = started.elapsed();
    assert_eq!(output.status.code(), Some(143), "{}", describe(&output));
    assert!(
        (Duration::from_secs(9)..Duration::from_secs(20)).contains(&elapsed),
        "the grace period is 10 s: {elapsed:?}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "warning: the Modal client did not stop within 10 s of SIGTERM, so it was killed"
        ),
        "{stderr}"
    );
    assert_group_gone(group);
    assert!(!members(group).contains(&grandchild));
    assert!(!runner_folder(&fake).exists());
}

#[test]
fn finding_2_a_client_killed_by_a_signal_is_named() {
    let project = Project::fixture("extras-flat");
    let fake = Fake::new();
    for (signal, number, name) in [("SEGV", 11, "SIGSEGV"), ("KILL", 9, "SIGKILL")] {
        let (args, envs) = fake.setup(&project, "crash");
        gpu_ci()
            .args(args)
            .envs(envs)
            .env("FAKE_SIGNAL", signal)
            .assert()
            .code(128 + number)
            .stderr(predicate::str::contains(format!(
                "error: the Modal client was killed by signal {number} ({name})"
            )));
        assert!(!runner_folder(&fake).exists());
    }
}

/// Issue 20, finding 11: a process the run started in a session of its own (`setsid`), out of
/// reach of the client's process group, is stopped too, after every signal gpu-ci passes on.
#[test]
fn finding_11_no_signal_leaves_a_detached_process_running() {
    for (signal, number) in [("INT", 2), ("TERM", 15), ("HUP", 1), ("QUIT", 3)] {
        let project = Project::fixture("extras-flat");
        let fake = Fake::new();
        let child = fake.start_with(&project, "trap", &[("FAKE_DETACH", "1")]);
        let detached: u32 = fake.value("detached").unwrap().parse().unwrap();
        let _guard = Reap(detached);
        assert!(alive(detached), "SIG{signal}: the detached process started");
        send(signal, child.id());
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(128 + number),
            "SIG{signal}: {}",
            describe(&output)
        );
        assert!(
            fake.recorded().contains(&format!("got-{signal}")),
            "SIG{signal} did not reach the client: {}",
            fake.recorded()
        );
        assert!(
            !alive(detached),
            "SIG{signal}: the detached process {detached} outlived gpu-ci"
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("note: stopped 1 process that the Modal client left running"),
            "SIG{signal}: {stderr}"
        );
    }
}

/// A client that ends by itself does not leave its detached process running either.
#[test]
fn finding_11_a_detached_process_does_not_outlive_a_client_that_exits() {
    let project = Project::fixture("extras-flat");
    let fake = Fake::new();
    let (args, envs) = fake.setup(&project, "crash");
    let output = gpu_ci()
        .args(args)
        .envs(envs)
        .env("FAKE_DETACH", "1")
        .env("FAKE_SIGNAL", "SEGV")
        .output()
        .unwrap();
    let detached: u32 = fake.value("detached").unwrap().parse().unwrap();
    let _guard = Reap(detached);
    assert_eq!(output.status.code(), Some(139), "{}", describe(&output));
    assert!(
        !alive(detached),
        "the detached process {detached} outlived gpu-ci"
    );
}
