//! Issue 27: a project set up before the runner was split by where it runs (two files,
//! `test_runner.py` and `in_container.py`) is moved to the four files by `update`, keeping the
//! maintainer's edits; `doctor` says when a project still has the old layout.
//!
//! The fixture `before-issue-27` is `uv-groups-src` after `init --yes` by gpu-ci before the
//! split (the main branch's binary at the time): its lock lists the two files.

use std::process::Command;

use predicates::prelude::*;

use crate::common::Project;

const RUNNER: &str = ".modal/test_runner.py";
const IN_CONTAINER: &str = ".modal/in_container.py";
const RESULTS: &str = ".modal/gpu_ci_results.py";
const LOCAL_RUN: &str = ".modal/local_run.py";

fn git(project: &Project, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(&project.root)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
        .args(args)
        .output()
        .unwrap();
    assert!(status.status.success(), "git {args:?}: {status:?}");
}

/// The old layout as the maintainer committed it: git history holds what gpu-ci wrote.
fn old_layout() -> Project {
    let project = Project::fixture("before-issue-27");
    assert!(project.read(".gpu-ci.lock").contains(IN_CONTAINER));
    assert!(!project.path(RESULTS).exists());
    git(&project, &["init", "-q"]);
    git(&project, &["add", "-A"]);
    git(
        &project,
        &["commit", "-q", "-m", "gpu-ci init (two-file runner)"],
    );
    project
}

/// `doctor --json`'s exit code and its `generated-files` check; GitHub is asked nothing (no
/// remote, and an address where nothing listens).
fn doctor_generated_check(project: &Project) -> (Option<i32>, serde_json::Value) {
    let output = crate::common::gpu_ci()
        .arg("-C")
        .arg(&project.root)
        .args(["doctor", "--json"])
        .env("GITHUB_API_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let check = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "generated-files")
        .cloned()
        .unwrap();
    (output.status.code(), check)
}

fn edit(project: &Project, rel: &str, from: &str, to: &str) {
    let text = project.read(rel);
    assert_eq!(text.matches(from).count(), 1, "{rel}: {from}");
    project.write(rel, &text.replacen(from, to, 1));
}

#[test]
fn doctor_names_the_old_layout_and_update_moves_it() {
    let project = old_layout();
    let (code, generated) = doctor_generated_check(&project);
    assert_ne!(code, Some(0));
    assert_eq!(generated["status"], "fail", "{generated}");
    assert!(
        generated["detail"]
            .as_str()
            .unwrap()
            .contains("old two-file layout"),
        "{generated}"
    );
    assert!(
        generated["fix"].as_str().unwrap().contains("gpu-ci update"),
        "{generated}"
    );
    project
        .gpu_ci(&["update", "--check"])
        .code(1)
        .stdout(predicate::str::contains(format!("would create {RESULTS}")));
    project
        .gpu_ci(&["update"])
        .success()
        .stderr(predicate::str::contains("moved the runner to 4 files"));
    // No edits: the four files are exactly what init writes now.
    let fresh = Project::initialised("uv-groups-src");
    for rel in [RUNNER, IN_CONTAINER, RESULTS, LOCAL_RUN] {
        assert_eq!(project.read(rel), fresh.read(rel), "{rel}");
    }
    assert!(project.read(".gpu-ci.lock").contains(RESULTS));
    project.gpu_ci(&["update", "--check"]).success();
    let (_, generated) = doctor_generated_check(&project);
    assert_eq!(generated["status"], "pass", "{generated}");
}

/// An edit to code that moved (the summary's excerpt, now in gpu_ci_results.py), one to code
/// that stayed (the trusted side's cost), and one to code that was rewritten (in_container.py's
/// `main`): the first two are carried where their code is now, the third is named with its
/// lines, and nothing is left in a file that no longer holds that code.
#[test]
fn update_carries_edits_into_the_split_files_and_names_what_it_cannot() {
    let project = old_layout();
    edit(
        &project,
        IN_CONTAINER,
        "def excerpt(text: str, lines: int = 15) -> str:\n",
        "def excerpt(text: str, lines: int = 40) -> str:  # ours: longer excerpts\n",
    );
    edit(
        &project,
        RUNNER,
        "def estimated_cost(gpu: str, seconds: float) -> float | None:\n",
        "def estimated_cost(gpu: str, seconds: float) -> float | None:\n    # ours: our negotiated prices\n",
    );
    edit(
        &project,
        IN_CONTAINER,
        "    parser.add_argument(\"--shards\", type=int, default=1, help=\"with --local: run the suite as N parallel shards\")\n",
        "    parser.add_argument(\"--shards\", type=int, default=4, help=\"with --local: run the suite as N parallel shards\")  # ours\n",
    );
    let assert = project.gpu_ci(&["update"]).success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("your edits: 2 carried, 1 left out"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "could not carry your edit to {IN_CONTAINER} (line "
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("default=4"),
        "the note shows the edit: {stderr}"
    );

    let results = project.read(RESULTS);
    assert!(
        results
            .contains("def excerpt(text: str, lines: int = 40) -> str:  # ours: longer excerpts\n"),
        "{results}"
    );
    let runner = project.read(RUNNER);
    assert!(
        runner.contains("    # ours: our negotiated prices\n"),
        "{runner}"
    );
    assert!(!project.read(IN_CONTAINER).contains("# ours"));
    assert!(!project.read(LOCAL_RUN).contains("# ours"));
    // The edits are the maintainer's now: a second update keeps them and changes nothing.
    project.gpu_ci(&["update", "--check"]).success();
    project.gpu_ci(&["update"]).success();
    assert!(project.read(RESULTS).contains("lines: int = 40"));
}

/// Without git history or a lock that re-renders the old files, there is no base to carry
/// edits from: each file then goes through the ordinary update (the new render beside an
/// edited file, exit 1), and nothing is lost.
#[test]
fn an_old_layout_without_history_keeps_the_maintainers_file() {
    let project = Project::fixture("before-issue-27");
    edit(
        &project,
        IN_CONTAINER,
        "def excerpt(text: str, lines: int = 15) -> str:\n",
        "def excerpt(text: str, lines: int = 40) -> str:\n",
    );
    project
        .gpu_ci(&["update"])
        .code(1)
        .stderr(predicate::str::contains(format!(
            "wrote {IN_CONTAINER}.new beside your edited {IN_CONTAINER}"
        )));
    assert!(project.read(IN_CONTAINER).contains("lines: int = 40"));
    let fresh = Project::initialised("uv-groups-src");
    assert_eq!(
        project.read(&format!("{IN_CONTAINER}.new")),
        fresh.read(IN_CONTAINER)
    );
    assert_eq!(project.read(RESULTS), fresh.read(RESULTS));
}
