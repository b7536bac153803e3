//! test-path and pytest-args are argument lists, checked where the plan is built with the
//! runner's own splitting rules (Python's shlex): what init accepts, the runner runs (issue 11).

use predicates::prelude::*;

use crate::common::Project;

#[test]
fn an_unclosed_quote_is_refused_where_it_is_set() {
    let project = Project::fixture("extras-flat");
    project
        .gpu_ci(&["init", "--yes", "--pytest-args", "-k 'a"])
        .code(2)
        .stderr(predicate::str::contains(
            "error: `pytest-args` is not a valid argument list: a quote left open in `-k 'a`\nhelp: quote as in a POSIX shell, e.g. -k 'gpu and not slow'",
        ));
    assert!(!project.path(".modal").exists(), "nothing is written");

    let config = format!(
        "{}\n[tool.gpu-ci]\ntest-path = \"tests\\\\\"\n",
        project.read("pyproject.toml")
    );
    project.write("pyproject.toml", &config);
    project
        .gpu_ci(&["config"])
        .code(2)
        .stderr(predicate::str::contains(
            "error: `test-path` is not a valid argument list: a backslash at the end in `tests\\`",
        ));
}

#[test]
fn a_detected_path_with_a_space_is_written_as_one_argument() {
    let project = Project::fixture("extras-flat");
    std::fs::rename(project.path("test"), project.path("my tests")).unwrap();
    let pyproject = format!(
        "{}\n[tool.pytest.ini_options]\ntestpaths = [\"my tests\", \"other\"]\n",
        project.read("pyproject.toml")
    );
    project.write("pyproject.toml", &pyproject);
    project
        .gpu_ci(&["init", "--yes"])
        .success()
        .stderr(predicate::str::contains(
            "running the tests in `'my tests' other`",
        ))
        .stderr(predicate::str::contains("does not exist").not());
    assert!(
        project
            .read("pyproject.toml")
            .contains("test-path = \"'my tests' other\"")
    );
    assert!(
        project
            .read(".modal/test_runner.py")
            .contains("TEST_PATH = \"'my tests' other\"")
    );
}

/// Python's shlex leaves `#` alone and keeps a backslash before `$` inside double quotes;
/// the Rust shlex crate did neither, so init and the runner would have disagreed.
#[test]
fn the_split_is_pythons() {
    let project = Project::fixture("extras-flat");
    project
        .gpu_ci(&["init", "--yes", "--pytest-args", "-k \"a\\$b\" #x"])
        .success();
    assert!(
        project
            .read(".modal/test_runner.py")
            .contains(r#"PYTEST_ARGS = "-k \"a\\$b\" #x""#)
    );
}
