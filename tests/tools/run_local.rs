//! `gpu-ci run --local` for real: the in-container script runs the suite with the test venv's
//! Python and pytest, with the Modal client made unimportable.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use predicates::prelude::*;

use crate::common::{Project, gpu_ci, gpu_ci_process, repo_root, shown};
use crate::installed::{python, stand_in_dists, stand_ins};

/// A PATH whose python3 is the test venv's, which has pytest.
fn venv_path() -> String {
    format!("{}:/usr/bin:/bin", repo_root().join(".venv/bin").display())
}

/// A folder for PYTHONPATH whose `modal` fails to import: `--local` must never need it (and
/// the stand-ins of the fixture's test dependencies).
fn no_modal() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    stand_in_dists(dir.path());
    std::fs::create_dir(dir.path().join("modal")).unwrap();
    std::fs::write(
        dir.path().join("modal/__init__.py"),
        "raise ImportError('gpu-ci run --local must not import modal')\n",
    )
    .unwrap();
    dir
}

#[test]
fn local_runs_the_suite_for_real_without_the_modal_client() {
    python();
    let blocked = no_modal();
    let project = Project::fixture("extras-flat");
    project.write(
        "test/test_more.py",
        "def test_two():\n    assert 1 + 1 == 2\n",
    );
    gpu_ci()
        .arg("-C")
        .arg(&project.root)
        .args(["run", "--local"])
        .env("PATH", venv_path())
        .env("PYTHONPATH", stand_ins())
        .env("PYTHONPATH", blocked.path())
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "test/test_more.py::test_two PASSED",
        ))
        .stdout(predicate::str::contains("GPU report"))
        .stderr(predicate::str::contains(
            "gpu-ci: 2 passed, 0 failed, 0 skipped, 0 errors",
        ));
    for file in ["pytest-output.log", "junit.xml", "summary.md"] {
        assert!(project.path("test-outputs").join(file).is_file(), "{file}");
    }

    project.write(
        "test/test_more.py",
        "def test_two():\n    assert 1 + 1 == 3\n",
    );
    gpu_ci()
        .arg("-C")
        .arg(&project.root)
        .args(["run", "--local", "--", "-q", "-k", "two or ok"])
        .env("PATH", venv_path())
        .env("PYTHONPATH", stand_ins())
        .env("PYTHONPATH", blocked.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "gpu-ci: 1 passed, 1 failed, 0 skipped, 0 errors",
        ));
    assert!(
        shown(&project.read("test-outputs/summary.md"))
            .contains("<pre>gpu-ci run -- test/test_more.py::test_two</pre>")
    );
}

#[test]
fn local_prefers_the_projects_virtualenv() {
    let project = Project::fixture("extras-flat");
    python();
    // The test tools' venv stands in for the project's own (it has pytest).
    std::os::unix::fs::symlink(repo_root().join(".venv"), project.path(".venv")).unwrap();
    // No python3 on PATH at all: only the project's .venv can run the suite.
    let empty = tempfile::tempdir().unwrap();
    gpu_ci()
        .arg("-C")
        .arg(&project.root)
        .args(["run", "--local"])
        .env("PATH", empty.path())
        .env("PYTHONPATH", stand_ins())
        .assert()
        .success()
        .stderr(predicate::str::contains("gpu-ci: 1 passed, 0 failed"));
}

/// The configured timeout is the deadline: pytest is stopped, the run says so, exits 124, and
/// the test ran once.
#[test]
fn local_stops_the_tests_at_the_deadline() {
    python();
    let project = Project::fixture("extras-flat");
    project.write(
        "test/test_hang.py",
        "import pathlib, time\n\ndef test_hangs():\n    with pathlib.Path('../runs.txt').open('a') as f:\n        f.write('ran\\n')\n    time.sleep(60)\n",
    );
    project.gpu_ci(&["init", "--yes"]).success();
    // Long enough for pytest to start and reach the test on a loaded two-core machine (it
    // missed a 3 s deadline there), short beside the test's 60 s sleep.
    let config = format!("{}timeout = 10\n", project.read("pyproject.toml"));
    project.write("pyproject.toml", &config);
    let started = std::time::Instant::now();
    gpu_ci()
        .arg("-C")
        .arg(&project.root)
        .args(["run", "--local", "--", "-v"])
        .env("PATH", venv_path())
        .env("PYTHONPATH", stand_ins())
        .assert()
        .code(124)
        .stdout(predicate::str::contains(
            "gpu-ci: the tests ran past their deadline of 10 s and were stopped; nothing is re-run.",
        ))
        .stdout(predicate::str::contains("test/test_hang.py::test_hangs"));
    assert!(started.elapsed().as_secs() < 45);
    let runs = std::fs::read_to_string(project.root.parent().unwrap().join("runs.txt")).unwrap();
    assert_eq!(runs, "ran\n");
    let summary = shown(&project.read("test-outputs/summary.md"));
    assert!(
        summary.starts_with("### ⏱️ GPU tests stopped at the deadline"),
        "{summary}"
    );
}

/// pytest runs in a process group of its own (so that the deadline can stop all it started);
/// a terminal's Ctrl-C therefore reaches the script, which stops pytest, and the run exits 130.
#[test]
fn ctrl_c_stops_pytest_and_exits_130() {
    python();
    let project = Project::fixture("extras-flat");
    let pid_file = project.root.parent().unwrap().join("pytest.pid");
    project.write(
        "test/test_hang.py",
        &format!(
            "import os, time\n\ndef test_hangs():\n    open({:?}, 'w').write(str(os.getpid()))\n    time.sleep(60)\n",
            pid_file.display().to_string()
        ),
    );
    let mut child = gpu_ci_process()
        .arg("-C")
        .arg(&project.root)
        .args(["run", "--local"])
        .env("PATH", venv_path())
        .env("PYTHONPATH", stand_ins())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let pid = loop {
        if let Ok(pid) = std::fs::read_to_string(&pid_file)
            && !pid.is_empty()
        {
            break pid;
        }
        assert!(Instant::now() < deadline, "the test never started");
        std::thread::sleep(Duration::from_millis(50));
    };
    let group = format!("-{}", child.id());
    assert!(
        Command::new("kill")
            .args(["-INT", "--", &group])
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(child.wait().unwrap().code(), Some(130));
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "pytest ({pid}) outlived the run"
    );
}

/// Whether `pid` is a live process (not a zombie).
fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let (_, rest) = stat.rsplit_once(')')?;
            rest.split_whitespace().next().map(|state| state != "Z")
        })
        .unwrap_or(false)
}

/// Kills, by pid, what a failed test left behind.
struct Reap(Vec<String>);

impl Drop for Reap {
    fn drop(&mut self) {
        for pid in self.0.iter().filter(|pid| alive(pid)) {
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
    }
}

/// A test that writes its own pid, then starts `sleep` in a session of its own (out of reach
/// of pytest's process group) and writes its pid, then hangs.
fn detaching_test(project: &Project) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = project.root.parent().unwrap();
    let (pytest_pid, detached_pid) = (dir.join("pytest.pid"), dir.join("detached.pid"));
    project.write(
        "test/test_detach.py",
        &format!(
            "import os, subprocess, time\n\n\
             def test_detaches():\n    \
             open({:?}, 'w').write(str(os.getpid()))\n    \
             p = subprocess.Popen(['sleep', '60'], start_new_session=True)\n    \
             open({:?}, 'w').write(str(p.pid))\n    \
             time.sleep(60)\n",
            pytest_pid.display().to_string(),
            detached_pid.display().to_string()
        ),
    );
    (pytest_pid, detached_pid)
}

fn wait_for_pid(file: &std::path::Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(pid) = std::fs::read_to_string(file)
            && !pid.is_empty()
        {
            return pid;
        }
        assert!(Instant::now() < deadline, "the test never started");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Issue 20, finding 11: SIGHUP (and each other signal) sent to gpu-ci alone stops pytest and
/// a process a test detached into a session of its own; the exit code is 128 + the signal.
#[test]
fn finding_11_no_signal_leaves_pytest_or_a_detached_process_running() {
    python();
    for (signal, number) in [("HUP", 1), ("QUIT", 3), ("TERM", 15), ("INT", 2)] {
        let project = Project::fixture("extras-flat");
        let (pytest_file, detached_file) = detaching_test(&project);
        let child = gpu_ci_process()
            .arg("-C")
            .arg(&project.root)
            .args(["run", "--local"])
            .env("PATH", venv_path())
            .env("PYTHONPATH", stand_ins())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pytest = wait_for_pid(&pytest_file);
        let detached = wait_for_pid(&detached_file);
        let _guard = Reap(vec![pytest.clone(), detached.clone()]);
        assert!(
            Command::new("kill")
                .args([&format!("-{signal}"), &child.id().to_string()])
                .status()
                .unwrap()
                .success()
        );
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(128 + number),
            "SIG{signal}: {stderr}"
        );
        assert!(
            !alive(&pytest),
            "SIG{signal}: pytest ({pytest}) outlived the run"
        );
        assert!(
            !alive(&detached),
            "SIG{signal}: the detached process ({detached}) outlived the run"
        );
        assert!(!stderr.contains("Modal"), "SIG{signal}: {stderr}");
    }
}

/// Issue 20, finding 11: at the deadline the detached process is stopped too (exit 124).
#[test]
fn finding_11_the_deadline_leaves_no_detached_process_running() {
    python();
    let project = Project::fixture("extras-flat");
    let (_, detached_file) = detaching_test(&project);
    project.gpu_ci(&["init", "--yes"]).success();
    let config = format!("{}timeout = 10\n", project.read("pyproject.toml"));
    project.write("pyproject.toml", &config);
    let output = gpu_ci()
        .arg("-C")
        .arg(&project.root)
        .args(["run", "--local"])
        .env("PATH", venv_path())
        .env("PYTHONPATH", stand_ins())
        .output()
        .unwrap();
    let detached = std::fs::read_to_string(&detached_file).expect("the test detached a process");
    let _guard = Reap(vec![detached.clone()]);
    assert_eq!(
        output.status.code(),
        Some(124),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !alive(&detached),
        "the detached process ({detached}) outlived the deadline"
    );
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("note: stopped 1 process that the local test run left running"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Issue 24: without pytest, `--local` ran nothing and called it a test failure (exit 1, 0/0/0/0).
/// Now it stops before anything runs, exit 2, with the command that installs this project's
/// test dependencies, from its plan.
#[test]
fn local_without_pytest_is_an_error_naming_the_install_command() {
    for (fixture, install) in [
        ("extras-flat", "`uv sync --extra test`"),
        ("uv-groups-src", "`uv sync --group tests`"),
        (
            "setup-requirements",
            "`.venv/bin/python -m pip install -r requirements.txt -r requirements/test.txt`",
        ),
    ] {
        let project = Project::fixture(fixture);
        // The project's own virtualenv, which `--local` prefers, without pytest (or pip).
        let venv = std::process::Command::new(python())
            .args(["-m", "venv", "--without-pip"])
            .arg(project.path(".venv"))
            .output()
            .unwrap();
        assert!(
            venv.status.success(),
            "{}",
            String::from_utf8_lossy(&venv.stderr)
        );
        let out = gpu_ci()
            .arg("-C")
            .arg(&project.root)
            .args(["run", "--local"])
            .env("PATH", venv_path())
            .env("PYTHONPATH", stand_ins())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{fixture}: {stderr}");
        assert!(
            stderr.contains("error: pytest is not installed for `"),
            "{fixture}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("install the test dependencies: {install}")),
            "{fixture}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{fixture}: nothing ran");
        assert!(
            !project.path("test-outputs").exists(),
            "{fixture}: nothing was written"
        );
    }
}

/// Issue 24: `--local` checks not only pytest but every test dependency the plan names (the
/// project's dependencies and the chosen extra, or the chosen requirements file and its `-r`
/// includes): one missing in the chosen Python is an error with the install command, exit 2,
/// before anything runs. A requirement whose marker does not hold here is never counted, nor a
/// constraint file's; the requirements reach Python as arguments, never as code, and one that
/// cannot be an argument (a NUL) does not stop the check of the others.
#[test]
fn local_checks_the_plans_test_dependencies_before_anything_runs() {
    python();
    let project = Project::fixture("extras-flat");
    let pyproject = project.read("pyproject.toml").replace(
        r#"dependencies = ["torch", "scipy"]"#,
        r#"dependencies = ["torch", "scipy", "pywin32; sys_platform == 'win32'", "ancient; python_version < '3'", "evil\"), open(\"PWNED\", \"w\"), (\"", "nul\u0000byte"]"#,
    );
    project.write("pyproject.toml", &pyproject);
    project.gpu_ci(&["init", "--yes"]).success();
    let empty = tempfile::tempdir().unwrap();
    let run = |pythonpath: &std::path::Path| {
        gpu_ci()
            .arg("-C")
            .arg(&project.root)
            .args(["run", "--local"])
            .env("PATH", venv_path())
            .env("PYTHONPATH", pythonpath)
            .output()
            .unwrap()
    };
    let out = run(empty.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with(
            "error: the test dependencies `torch`, `scipy`, `evil` and `pytest-xdist` are not installed for `"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("help: install the test dependencies: `uv sync --extra test`"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("pywin32") && !stderr.contains("ancient"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing ran: {stderr}");
    assert!(
        !project.path("test-outputs").exists(),
        "nothing was written"
    );
    assert!(!project.path("PWNED").exists(), "a requirement ran as code");

    // Installed (their metadata on PYTHONPATH, as the test run sees it): the tests run.
    let dists = tempfile::tempdir().unwrap();
    stand_in_dists(dists.path());
    let info = dists.path().join("evil-1.dist-info");
    std::fs::create_dir(&info).unwrap();
    std::fs::write(
        info.join("METADATA"),
        "Metadata-Version: 2.1\nName: evil\nVersion: 1\n",
    )
    .unwrap();
    let out = run(dists.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("gpu-ci: 1 passed"), "{stderr}");

    // A requirements file: its `-r` includes count, its `-c` constraints do not.
    let project = Project::fixture("extras-flat");
    project.write("requirements.txt", "absent-base>=1 # the base\n");
    project.write("constraints.txt", "constrained-only==1\n");
    project.write(
        "requirements/test.txt",
        "-r ../requirements.txt\n-c ../constraints.txt\npytest\nabsent-test ; python_version >= '3'\n",
    );
    project
        .gpu_ci(&["init", "--yes", "--requirements", "requirements/test.txt"])
        .success();
    let out = gpu_ci()
        .arg("-C")
        .arg(&project.root)
        .args(["run", "--local"])
        .env("PATH", venv_path())
        .env("PYTHONPATH", empty.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with(
            "error: the test dependencies `absent-base` and `absent-test` are not installed for `"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("constrained-only"), "{stderr}");
}
