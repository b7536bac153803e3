//! `gpu-ci run --local` for real: the test venv's Python, `modal` and pytest run the suite.

use predicates::prelude::*;

use crate::common::{Project, gpu_ci, repo_root};
use crate::installed::python;

/// A PATH whose python3 is the test venv's, which has the real `modal` and pytest.
fn venv_path() -> String {
    format!("{}:/usr/bin:/bin", repo_root().join(".venv/bin").display())
}

#[test]
fn local_runs_the_suite_for_real() {
    python();
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
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "test/test_more.py::test_two PASSED",
        ))
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
        .args(["run", "--local", "--", "-q"])
        .env("PATH", venv_path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "gpu-ci: 1 passed, 1 failed, 0 skipped, 0 errors",
        ));
    assert!(
        project
            .read("test-outputs/summary.md")
            .contains("test_more::test_two")
    );
}

#[test]
fn local_prefers_the_projects_virtualenv() {
    let project = Project::fixture("extras-flat");
    python();
    // The test tools' venv stands in for the project's own (it has modal and pytest).
    std::os::unix::fs::symlink(repo_root().join(".venv"), project.path(".venv")).unwrap();
    // No python3 on PATH at all: only the project's .venv can run the suite.
    let empty = tempfile::tempdir().unwrap();
    gpu_ci()
        .arg("-C")
        .arg(&project.root)
        .args(["run", "--local"])
        .env("PATH", empty.path())
        .assert()
        .success()
        .stderr(predicate::str::contains("gpu-ci: 1 passed, 0 failed"));
}
