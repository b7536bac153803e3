//! `gpu-ci run` through the binary, against a fake `modal` client that records what reaches it.

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use predicates::prelude::*;
use tempfile::TempDir;

use crate::common::{Project, gpu_ci, gpu_ci_process};

/// A folder for PATH holding a fake `modal`: it writes its arguments, a few variables and the
/// runner it was given to $FAKE_LOG, prints to both streams, and exits with $FAKE_EXIT.
/// Not the local Modal API (tests/tools/modal_api): this binary runs without scripts/test.sh's
/// venv, and these tests check only the command line gpu-ci hands the client; the runner's path
/// through the real client is tests/tools/modal_harness.rs.
pub struct FakeBin {
    dir: TempDir,
}

const FAKE_MODAL: &str = r#"#!/bin/sh
{
  for arg in "$@"; do echo "arg=$arg"; done
  echo "MODAL_GPU=$MODAL_GPU"
  echo "GPU_CI_SHARDS=$GPU_CI_SHARDS"
  echo "GPU_CI_DURATIONS=$GPU_CI_DURATIONS"
  echo "cwd=$(pwd)"
  echo "runner-header=$(head -n 1 "$2")"
} > "$FAKE_LOG"
if [ -n "$FAKE_SLEEP" ]; then sleep "$FAKE_SLEEP"; fi
echo "from modal: stdout"
echo "from modal: stderr" >&2
# As the real runner does once the client started it.
if [ -n "$FAKE_SUMMARY" ]; then mkdir -p test-outputs && printf '%s' "$FAKE_SUMMARY" > test-outputs/summary.md; fi
if [ -n "$FAKE_STDERR" ]; then printf '%s\n' "$FAKE_STDERR" >&2; fi
if [ -n "$FAKE_WAIT_FOR" ]; then
  i=0
  trap 'echo interrupted >> "$FAKE_LOG"; exit 130' INT
  while [ ! -e "$FAKE_WAIT_FOR" ]; do
    i=$((i + 1)); [ $i -gt 200 ] && exit 9
    sleep 0.05
  done
  echo "from modal: after the wait"
fi
exit "${FAKE_EXIT:-0}"
"#;

impl FakeBin {
    fn new() -> FakeBin {
        FakeBin {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn with_modal() -> FakeBin {
        let bin = FakeBin::new();
        bin.script("modal", FAKE_MODAL);
        bin
    }

    fn script(&self, name: &str, text: &str) {
        let path = self.dir.path().join(name);
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// PATH with only this folder and the basic tools the fake needs.
    fn path(&self) -> String {
        format!("{}:/usr/bin:/bin", self.dir.path().display())
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("log")
    }

    pub fn recorded(&self) -> String {
        fs::read_to_string(self.log()).unwrap_or_default()
    }
}

/// `gpu-ci run` with the fake client first on PATH and Modal credentials in the environment.
pub fn run_cmd(project: &Project, bin: &FakeBin, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = gpu_ci();
    cmd.arg("-C")
        .arg(&project.root)
        .arg("run")
        .args(args)
        .env("PATH", bin.path())
        .env("FAKE_LOG", bin.log())
        .env("HOME", bin.dir.path())
        .env("MODAL_TOKEN_ID", "ak-test")
        .env("MODAL_TOKEN_SECRET", "as-test");
    cmd
}

#[test]
fn modal_gets_runner_gpu_path_and_args_and_its_exit_code_is_ours() {
    let project = Project::initialised("uv-groups-src");
    let bin = FakeBin::with_modal();
    run_cmd(
        &project,
        &bin,
        &["--gpu", "h100:2", "--", "-k", "gpu and not slow", "-x"],
    )
    .env("FAKE_EXIT", "1")
    .env("FAKE_SUMMARY", FAILED_SUMMARY)
    .assert()
    .code(1)
    .stdout(predicate::str::contains("from modal: stdout"))
    .stderr(predicate::str::contains("from modal: stderr"))
    .stderr(predicate::str::contains(
        "gpu-ci: 1 passed, 1 failed, 0 skipped, 0 errors · GPU: H100",
    ));
    let log = bin.recorded();
    let runner = project.root.join(".modal/test_runner.py");
    assert!(
        log.contains(&format!("arg=run\narg={}\n", runner.display())),
        "{log}"
    );
    assert!(log.contains("arg=--test-path=tests/\n"), "{log}");
    assert!(
        log.contains("arg=--pytest-args=-k 'gpu and not slow' -x\n"),
        "{log}"
    );
    assert!(log.contains("MODAL_GPU=H100:2\n"), "{log}");
    assert!(
        log.contains(&format!("cwd={}\n", project.root.display())),
        "{log}"
    );

    // Defaults come from [tool.gpu-ci]; MODAL_GPU from the environment beats the config.
    run_cmd(&project, &bin, &["--test-path", "tests/test_vecops.py"])
        .env("MODAL_GPU", "T4")
        .assert()
        .success();
    let log = bin.recorded();
    assert!(log.contains("arg=--pytest-args=-v\n"), "{log}");
    assert!(
        log.contains("arg=--test-path=tests/test_vecops.py\n"),
        "{log}"
    );
    assert!(log.contains("MODAL_GPU=T4\n"), "{log}");
}

const FAILED_SUMMARY: &str = "### ❌ GPU tests failed\n\n| passed | failed | skipped | errors |\n| ---: | ---: | ---: | ---: |\n| 1 | 1 | 0 | 0 |\n\n**GPU:** H100\n";

/// Issue 24: the client failing before the runner ran (no summary) is no test failure: exit 2,
/// with an `error:` that says which, read from the client's stderr as it passes through.
#[test]
fn a_client_that_never_started_the_runner_exits_2_saying_why() {
    let project = Project::initialised("uv-groups-src");
    let bin = FakeBin::with_modal();
    for (said, expected) in [
        (
            "Error: Could not connect to the Modal server.",
            "error: the Modal client could not connect to the Modal server (the client's exit code 1); no test ran",
        ),
        (
            "Error: Token missing. Could not authenticate client.",
            "error: Modal refused the token, so the run could not authenticate",
        ),
        (
            "Traceback (most recent call last): ...",
            "error: the Modal client stopped before the runner started",
        ),
    ] {
        run_cmd(&project, &bin, &[])
            .env("FAKE_EXIT", "1")
            .env("FAKE_STDERR", said)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "from modal: stderr\n{said}\n"
            )))
            .stderr(predicate::str::contains(expected))
            .stderr(predicate::str::contains("help: "))
            .stderr(predicate::str::contains("no test summary").not());
    }
    // A summary from before this run is not this run's.
    project.write("test-outputs/summary.md", FAILED_SUMMARY);
    std::thread::sleep(std::time::Duration::from_millis(20));
    run_cmd(&project, &bin, &[])
        .env("FAKE_EXIT", "1")
        .assert()
        .code(2);
}

/// `gpu-ci run` as a plain process (not assert_cmd's, which waits for the end), with a fake
/// client that holds on until `wait_for` exists; output is dropped unless the caller pipes it.
fn waiting_run(project: &Project, bin: &FakeBin, wait_for: &Path) -> Command {
    let mut cmd = gpu_ci_process();
    cmd.arg("-C")
        .arg(&project.root)
        .arg("run")
        .env("PATH", bin.path())
        .env("FAKE_LOG", bin.log())
        .env("FAKE_WAIT_FOR", wait_for)
        .env("MODAL_TOKEN_ID", "a")
        .env("MODAL_TOKEN_SECRET", "b")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

#[test]
fn output_streams_while_modal_runs() {
    let project = Project::fixture("extras-flat");
    let bin = FakeBin::with_modal();
    let go = bin.dir.path().join("go");
    let mut child = waiting_run(&project, &bin, &go)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    // The fake waits for `go` before finishing: this line can only arrive if it is streamed.
    stdout.read_line(&mut first).unwrap();
    assert_eq!(first, "from modal: stdout\n");
    fs::write(&go, "").unwrap();
    let mut rest = String::new();
    stdout.read_line(&mut rest).unwrap();
    assert_eq!(rest, "from modal: after the wait\n");
    assert!(child.wait().unwrap().success());
}

#[test]
fn without_init_the_bundled_runner_is_used_and_removed() {
    let project = Project::fixture("extras-flat");
    let before = project.snapshot_tree();
    let bin = FakeBin::with_modal();
    run_cmd(&project, &bin, &[])
        .assert()
        .success()
        .stderr(predicate::str::contains("running the bundled runner"));
    let log = bin.recorded();
    let runner = log
        .lines()
        .filter_map(|l| l.strip_prefix("arg="))
        .nth(1)
        .unwrap()
        .to_string();
    assert!(
        runner.ends_with("/test_runner.py")
            && !runner.starts_with(&project.root.display().to_string())
    );
    assert!(
        log.contains("runner-header=# Generated by gpu-ci"),
        "the runner existed during the run: {log}"
    );
    assert!(
        !Path::new(&runner).exists(),
        "the temporary runner must be removed"
    );
    assert!(log.contains("MODAL_GPU=L4\n"));
    assert_eq!(
        before,
        project.snapshot_tree(),
        "the repository must be left as it was"
    );
}

#[test]
fn missing_credentials_say_how_to_get_them() {
    let project = Project::fixture("extras-flat");
    let bin = FakeBin::with_modal();
    run_cmd(&project, &bin, &[])
        .env_remove("MODAL_TOKEN_SECRET")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: no Modal credentials found\nhelp: run `modal token new`, or set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET",
        ));
    assert_eq!(bin.recorded(), "", "modal must not be started");

    // Modal's own config file counts, wherever MODAL_CONFIG_PATH points.
    let config = bin.dir.path().join("modal.toml");
    fs::write(
        &config,
        "[default]\ntoken_id = \"ak-1\"\ntoken_secret = \"as-1\"\n",
    )
    .unwrap();
    run_cmd(&project, &bin, &[])
        .env_remove("MODAL_TOKEN_ID")
        .env_remove("MODAL_TOKEN_SECRET")
        .env("MODAL_CONFIG_PATH", &config)
        .assert()
        .success();

    // Only the current profile's token counts, as the Modal client reads it (and `doctor`
    // reports it): a token in another profile, or a half of one, is none.
    fs::write(
        &config,
        "[default]\ntoken_secret = \"as-1\"\n\n[work]\ntoken_id = \"ak-2\"\ntoken_secret = \"as-2\"\n",
    )
    .unwrap();
    let recorded_before = bin.recorded();
    run_cmd(&project, &bin, &[])
        .env_remove("MODAL_TOKEN_ID")
        .env_remove("MODAL_TOKEN_SECRET")
        .env("MODAL_CONFIG_PATH", &config)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: no Modal credentials found",
        ));
    assert_eq!(bin.recorded(), recorded_before, "modal must not be started");
    run_cmd(&project, &bin, &[])
        .env_remove("MODAL_TOKEN_ID")
        .env_remove("MODAL_TOKEN_SECRET")
        .env("MODAL_CONFIG_PATH", &config)
        .env("MODAL_PROFILE", "work")
        .assert()
        .success();
}

#[test]
fn missing_client_gives_the_install_command() {
    let project = Project::fixture("extras-flat");
    let bin = FakeBin::new();
    let mut cmd = run_cmd(&project, &bin, &[]);
    cmd.env("PATH", bin.dir.path());
    cmd.assert().code(2).stderr(predicate::str::contains(
        "error: the Modal client `modal` is not installed\nhelp: install it with `uv tool install modal==",
    ));
}

#[test]
fn ctrl_c_reaches_modal_and_exits_130() {
    let project = Project::fixture("extras-flat");
    let bin = FakeBin::with_modal();
    let never = bin.dir.path().join("never");
    // Its own process group, as a shell gives a foreground job; Ctrl-C signals the group.
    let mut child = waiting_run(&project, &bin, &never)
        .process_group(0)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !bin.recorded().contains("runner-header") {
        assert!(Instant::now() < deadline, "the fake client never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let group = format!("-{}", child.id());
    assert!(
        Command::new("kill")
            .args(["-INT", "--", &group])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(bin.recorded().contains("interrupted"), "{}", bin.recorded());
}

#[test]
fn local_needs_a_working_python() {
    let project = Project::fixture("extras-flat");
    let bin = FakeBin::new();
    bin.script("python3", "#!/bin/sh\nexit 1\n");
    gpu_ci()
        .arg("-C")
        .arg(&project.root)
        .args(["run", "--local"])
        .env("PATH", bin.dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "is not a working Python 3.9 or newer\nhelp: create the project's .venv with Python 3.9+",
        ));
}

/// Issue 21: tests named after `--` (a path, a node id) are what runs, not the configured
/// test path as well; an option's value that happens to be a path stays the option's.
#[test]
fn tests_named_after_the_separator_replace_the_test_path() {
    let project = Project::initialised("uv-groups-src");
    let bin = FakeBin::with_modal();
    run_cmd(
        &project,
        &bin,
        &[
            "--",
            "tests/test_vecops.py::test_add",
            "-x",
            "--ignore",
            "tests",
            "-k",
            "not slow",
        ],
    )
    .assert()
    .success();
    let log = bin.recorded();
    assert!(
        log.contains("arg=--test-path=tests/test_vecops.py::test_add\n"),
        "{log}"
    );
    assert!(
        log.contains("arg=--pytest-args=-x --ignore tests -k 'not slow'\n"),
        "{log}"
    );
    // Options alone keep the configured test path.
    run_cmd(&project, &bin, &["--", "-x"]).assert().success();
    let log = bin.recorded();
    assert!(log.contains("arg=--test-path=tests/\n"), "{log}");
    // Naming the tests twice is refused.
    run_cmd(
        &project,
        &bin,
        &["--test-path", "tests/", "--", "tests/test_vecops.py"],
    )
    .assert()
    .code(2)
    .stderr(predicate::str::contains(
        "error: `tests/test_vecops.py` after `--` names tests to run, and so does --test-path",
    ));
}

/// Issue 24: on a terminal, the Modal client's start shows a spinner with the time waited (the
/// client says nothing for seconds), cleared at its first output, which then streams as before;
/// in piped output (a CI log) nothing of it. The terminal is a pseudo-terminal (`script`).
#[test]
fn run_shows_a_spinner_on_a_terminal_until_the_client_says_something() {
    let project = Project::initialised("uv-groups-src");
    let bin = FakeBin::with_modal();
    // Piped: not a byte of a spinner, whatever the wait.
    let output = run_cmd(&project, &bin, &[])
        .env("FAKE_SLEEP", "1.5")
        .output()
        .unwrap();
    assert!(output.status.success());
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert_eq!(stdout, "from modal: stdout\n");
    assert!(
        !stderr.contains("Modal client") && !stderr.contains('\r'),
        "{stderr}"
    );

    // On a terminal: the spinner, then the client's lines, and no spinner after them.
    let gpu_ci = crate::common::gpu_ci_path();
    let shell = format!(
        "'{}' -C '{}' run; echo exit=$?",
        gpu_ci.display(),
        project.root.display()
    );
    let output = Command::new("script")
        .args(["-q", "-e", "-c", &shell, "/dev/null"])
        .env_clear()
        .env("PATH", bin.path())
        .env("FAKE_LOG", bin.log())
        .env("HOME", bin.dir.path())
        .env("TERM", "xterm")
        .env("MODAL_TOKEN_ID", "ak-test")
        .env("MODAL_TOKEN_SECRET", "as-test")
        .env("FAKE_SLEEP", "2")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&output.stdout);
    let spinner = shown.find("starting the Modal client (");
    let first = shown.find("from modal: ");
    assert!(
        spinner.is_some() && first.is_some() && spinner < first,
        "no spinner before the client's first line: {shown:?}"
    );
    assert!(
        !shown[first.unwrap()..].contains("starting the Modal client"),
        "the spinner came back: {shown:?}"
    );
    assert!(shown.contains("from modal: stdout"), "{shown:?}");
    assert!(shown.contains("from modal: stderr"), "{shown:?}");
    assert!(shown.contains("exit=0"), "{shown:?}");
}
