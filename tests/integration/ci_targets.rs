//! GitLab CI and Bitbucket Pipelines (issue 17): choosing targets, the `include:` edit of
//! `.gitlab-ci.yml` in the same all-or-nothing write, `update` and `--check` per target, and
//! what the generated files promise (the runner from the pipeline's own commit, the tested
//! commit as data, the label matched exactly, the tokens kept from the Modal client).

use predicates::prelude::*;
use serde_json::Value;

use crate::common::{Project, all_generated_for_every_ci};

const GITLAB: &str = ".gitlab/gpu-ci.yml";
const NOTE: &str = ".gitlab/gpu-ci-note.py";
const BITBUCKET: &str = "bitbucket-pipelines.yml";
const COMMENT: &str = ".bitbucket/gpu-ci-comment.py";
const GITHUB: [&str; 3] = [
    ".github/workflows/_modal-gpu-tests.yml",
    ".github/workflows/label-gpu-tests.yml",
    ".github/workflows/run-gpu-tests.yml",
];
const RUNNER: [&str; 4] = [
    ".modal/test_runner.py",
    ".modal/in_container.py",
    ".modal/gpu_ci_results.py",
    ".modal/local_run.py",
];
const LOCK: &str = ".gpu-ci.lock";

fn parse(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap()
}

fn exists(project: &Project, rel: &str) -> bool {
    project.path(rel).exists()
}

fn config_line(project: &Project) -> Option<String> {
    project
        .read("pyproject.toml")
        .lines()
        .find(|l| l.starts_with("ci = "))
        .map(str::to_string)
}

#[test]
fn each_ci_writes_its_own_files_and_the_runner_always() {
    let cases: [(&[&str], &[&str], &[&str]); 4] = [
        (
            &["--ci", "gitlab"],
            &[GITLAB, NOTE, ".gitlab-ci.yml"],
            &[BITBUCKET, GITHUB[0]],
        ),
        (
            &["--ci", "bitbucket"],
            &[BITBUCKET, COMMENT],
            &[GITLAB, ".gitlab-ci.yml", GITHUB[1]],
        ),
        (
            &["--ci", "gitlab", "--ci", "github"],
            &[GITLAB, GITHUB[0], GITHUB[2]],
            &[BITBUCKET],
        ),
        (
            &["--ci=github,bitbucket,gitlab"],
            &[GITLAB, BITBUCKET, GITHUB[1]],
            &[],
        ),
    ];
    for (flags, present, absent) in cases {
        let project = Project::fixture("uv-groups-src");
        let mut args = vec!["init", "--yes"];
        args.extend_from_slice(flags);
        project.gpu_ci(&args).success();
        for rel in present.iter().chain(&RUNNER).chain([&LOCK]) {
            assert!(exists(&project, rel), "{flags:?}: {rel} missing");
        }
        for rel in absent {
            assert!(!exists(&project, rel), "{flags:?}: {rel} written");
        }
        // A second init and update --check find everything current.
        project.gpu_ci(&["update", "--check"]).success();
        let lock: Value = serde_json::from_str(&project.read(LOCK)).unwrap();
        let files: Vec<&str> = lock["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        assert!(
            !files.contains(&".gitlab-ci.yml"),
            "the user's file is not gpu-ci's"
        );
        for rel in present.iter().filter(|r| **r != ".gitlab-ci.yml") {
            assert!(files.contains(rel), "{flags:?}: {rel} not in the lock");
        }
    }
}

#[test]
fn the_ci_key_is_written_unless_it_is_github_alone() {
    let project = Project::fixture("uv-groups-src");
    project.gpu_ci(&["init", "--yes"]).success();
    assert_eq!(
        config_line(&project),
        None,
        "GitHub alone, as before the key"
    );
    let project = Project::fixture("uv-groups-src");
    project
        .gpu_ci(&["init", "--yes", "--ci", "bitbucket", "--ci", "gitlab"])
        .success();
    assert_eq!(
        config_line(&project).as_deref(),
        Some("ci = [\"gitlab\", \"bitbucket\"]")
    );
    // `gpu-ci config` shows where the value came from.
    project
        .gpu_ci(&["config"])
        .success()
        .stdout(predicate::str::contains("ci = [\"gitlab\", \"bitbucket\"]"))
        .stdout(predicate::str::contains("config: `ci` in [tool.gpu-ci]"));
    project
        .gpu_ci(&["config", "--json", "--ci", "github"])
        .success()
        .stdout(predicate::str::contains("\"--ci\""));
}

#[test]
fn the_targets_are_detected_from_the_files_each_ci_reads() {
    let project = Project::fixture("extras-flat");
    let own = "# our pipeline\nstages: [build, test]\n\nlint:\n  stage: build\n  script: [ruff check .]  # fast\n";
    project.write(".gitlab-ci.yml", own);
    project
        .gpu_ci(&["init", "--yes"])
        .success()
        .stderr(predicate::str::contains(
            "writing CI files for gitlab (from .gitlab-ci.yml); change it with --ci",
        ));
    assert_eq!(config_line(&project).as_deref(), Some("ci = [\"gitlab\"]"));
    assert!(!exists(&project, GITHUB[0]));
    let edited = project.read(".gitlab-ci.yml");
    assert!(edited.starts_with(own), "the user's bytes stay:\n{edited}");
    assert!(
        edited.ends_with("include:\n  - local: .gitlab/gpu-ci.yml\n"),
        "{edited}"
    );

    // .github/ with something of the project's own means GitHub.
    let project = Project::fixture("extras-flat");
    project.write(".github/dependabot.yml", "version: 2\n");
    project.gpu_ci(&["init", "--yes"]).success();
    assert!(exists(&project, GITHUB[0]));
    assert_eq!(config_line(&project), None);
}

#[test]
fn a_set_up_project_keeps_its_targets_when_a_ci_file_appears() {
    let project = Project::initialised("uv-groups-src");
    project.write(".gitlab-ci.yml", "job:\n  script: [x]\n");
    project.gpu_ci(&["update", "--check"]).success();
    project.gpu_ci(&["update"]).success();
    assert!(!exists(&project, GITLAB));
    assert_eq!(project.read(".gitlab-ci.yml"), "job:\n  script: [x]\n");
}

#[test]
fn update_and_check_per_target() {
    for (ci, file, needle) in [
        (
            "gitlab",
            GITLAB,
            "MODAL_GPU=\"${GPU:-${MODAL_GPU:-A100-80GB}}\"",
        ),
        (
            "bitbucket",
            BITBUCKET,
            "MODAL_GPU=\"${GPU:-${MODAL_GPU:-A100-80GB}}\"",
        ),
    ] {
        let project = Project::fixture("uv-groups-src");
        project.gpu_ci(&["init", "--yes", "--ci", ci]).success();
        project.gpu_ci(&["update", "--check"]).success();
        // The maintainer's own edit...
        let text = project.read(file);
        let edited = text.replacen("\n\n", "\n\n# ours: keep me\n", 1);
        project.write(file, &edited);
        // ...and a settings change.
        let config = project.read("pyproject.toml");
        project.write(
            "pyproject.toml",
            &config.replacen("gpu = \"L4\"", "gpu = \"A100-80GB\"", 1),
        );
        let before = project.snapshot_tree();
        project
            .gpu_ci(&["update", "--check"])
            .code(1)
            .stdout(predicate::str::contains(format!("--- a/{file}")))
            .stdout(predicate::str::contains(needle));
        assert_eq!(before, project.snapshot_tree(), "--check writes nothing");
        project
            .gpu_ci(&["update"])
            .success()
            .stderr(predicate::str::contains(format!("  merged {file}")));
        let after = project.read(file);
        assert!(
            after.contains("# ours: keep me") && after.contains(needle),
            "{ci}"
        );
        project.gpu_ci(&["update", "--check"]).success();
    }
}

#[test]
fn update_puts_back_a_removed_include_and_check_shows_it() {
    let project = Project::fixture("uv-groups-src");
    project
        .gpu_ci(&["init", "--yes", "--ci", "gitlab"])
        .success();
    let own = "# mine\ninclude:\n  - template: Jobs/SAST.gitlab-ci.yml  # security\n\nbuild:\n  script: [make]\n";
    project.write(".gitlab-ci.yml", own);
    project
        .gpu_ci(&["update", "--check"])
        .code(1)
        .stdout(predicate::str::contains(
            "   - template: Jobs/SAST.gitlab-ci.yml  # security\n+  - local: .gitlab/gpu-ci.yml\n",
        ));
    project.gpu_ci(&["update"]).success();
    assert_eq!(
        project.read(".gitlab-ci.yml"),
        "# mine\ninclude:\n  - template: Jobs/SAST.gitlab-ci.yml  # security\n  - local: .gitlab/gpu-ci.yml\n\nbuild:\n  script: [make]\n"
    );
    project.gpu_ci(&["update", "--check"]).success();
    project
        .gpu_ci(&["doctor", "--json"])
        .stdout(predicate::str::contains("\"id\": \"gitlab-include\""))
        .stdout(predicate::str::contains("\"id\": \"github-repo\"").not());
}

/// The include edit is part of the one write: when it cannot be made, nothing is written.
#[test]
fn an_include_gpu_ci_cannot_add_safely_writes_nothing() {
    let project = Project::fixture("uv-groups-src");
    project.write(".gitlab-ci.yml", "include:\n  local: other.yml\n");
    let before = project.snapshot_tree();
    project
        .gpu_ci(&["init", "--yes", "--ci", "gitlab"])
        .code(2)
        .stderr(predicate::str::contains("cannot add `.gitlab/gpu-ci.yml`"))
        .stderr(predicate::str::contains(
            "help: add `- local: .gitlab/gpu-ci.yml`",
        ));
    assert_eq!(before, project.snapshot_tree());

    // A folder where .gitlab-ci.yml must go: refused before anything is written.
    let project = Project::fixture("uv-groups-src");
    std::fs::create_dir(project.path(".gitlab-ci.yml")).unwrap();
    let before = project.snapshot_tree();
    project.gpu_ci(&["init", "--yes", "--ci", "gitlab"]).code(2);
    assert_eq!(before, project.snapshot_tree());
    assert!(!exists(&project, GITLAB));
}

#[test]
fn a_bitbucket_file_of_the_projects_own_is_never_replaced() {
    let project = Project::fixture("uv-groups-src");
    project.write(
        BITBUCKET,
        "pipelines:\n  default:\n    - step:\n        script: [make]\n",
    );
    let before = project.snapshot_tree();
    project
        .gpu_ci(&["init", "--yes"])
        .code(2)
        .stderr(predicate::str::contains(
            "is your own, and Bitbucket reads no other file",
        ))
        .stderr(predicate::str::contains("leave Bitbucket out with `--ci`"));
    assert_eq!(before, project.snapshot_tree());
    project
        .gpu_ci(&["init", "--yes", "--ci", "github"])
        .success();
}

#[test]
fn bad_ci_values_are_refused() {
    let project = Project::fixture("uv-groups-src");
    project
        .gpu_ci(&["init", "--yes", "--ci", "jenkins"])
        .code(2)
        .stderr(predicate::str::contains(
            "possible values: github, gitlab, bitbucket",
        ));
    let text = project.read("pyproject.toml");
    for (value, message) in [
        ("ci = [\"circleci\"]", "unknown CI system `circleci`"),
        ("ci = []", "`ci` names no CI system"),
        ("ci = 3", "must be a list of CI systems"),
    ] {
        project.write(
            "pyproject.toml",
            &format!("{text}\n[tool.gpu-ci]\n{value}\n"),
        );
        project
            .gpu_ci(&["config"])
            .code(2)
            .stderr(predicate::str::contains(message));
    }
    // One name as a string is a list of one.
    project.write(
        "pyproject.toml",
        &format!("{text}\n[tool.gpu-ci]\nci = \"bitbucket\"\n"),
    );
    project
        .gpu_ci(&["config"])
        .success()
        .stdout(predicate::str::contains("ci = [\"bitbucket\"]"));
    project
        .gpu_ci(&["init", "--yes", "--ci", "gitlab", "--label", "gpu,tests"])
        .code(2)
        .stderr(predicate::str::contains("holds a comma"));
}

/// Every file is found by the job: the same runner, the tested commit as data, the tokens out
/// of the Modal client's reach, the label matched whole.
#[test]
fn gitlab_and_bitbucket_jobs_hold_the_security_model() {
    for (case, project) in all_generated_for_every_ci() {
        let gitlab = parse(&project.read(GITLAB));
        let job = &gitlab["gpu-tests"];
        let script = job["script"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect::<Vec<_>>()
            .join("\n");
        let bitbucket = parse(&project.read(BITBUCKET));
        let step = &bitbucket["definitions"]["steps"][0]["step"];
        let bb_script = step["script"][0].as_str().unwrap();
        for (ci, script, hidden) in [
            (
                "gitlab",
                script.as_str(),
                "env -u GPU_CI_GITLAB_TOKEN -u CI_JOB_TOKEN modal run",
            ),
            (
                "bitbucket",
                bb_script,
                "env -u GPU_CI_BITBUCKET_TOKEN modal run",
            ),
        ] {
            let at = format!("{case} {ci}");
            assert!(script.contains(hidden), "{at}: a token reaches the client");
            assert!(
                script.contains("modal run .modal/test_runner.py"),
                "{at}: the runner comes from the pipeline's checkout"
            );
            assert!(
                !script.contains("cd tree-under-test") && !script.contains("cd \"$tree"),
                "{at}"
            );
            assert!(
                script.contains("export GPU_CI_PROJECT_DIR=\"$tree\""),
                "{at}"
            );
            assert!(
                script.contains(
                    "--require-hashes --only-binary :all: -r \"$tmp/modal-requirements.txt\""
                ),
                "{at}"
            );
            assert!(
                script.contains("*[!A-Za-z0-9._/-]*"),
                "{at}: REF is checked"
            );
            // The fetched commit is unpacked as files, never run; with `submodules` (issue 21)
            // it is a detached worktree, whose submodules git fetches (no file:// or ext::).
            if case.contains("--submodules") {
                assert!(
                    script.contains(
                        "git worktree add --quiet --detach tree-under-test \"$tested\"\n"
                    ),
                    "{at}"
                );
                assert!(
                    script.contains(
                        "git -C tree-under-test submodule update --init --recursive --quiet"
                    ),
                    "{at}"
                );
            } else {
                assert!(
                    script.contains("git archive --format=tar \"$tested\" | tar -x --no-same-owner -C tree-under-test"),
                    "{at}"
                );
            }
        }
        assert_eq!(job["interruptible"], Value::Bool(true), "{case}");
        assert!(
            job["timeout"].as_str().unwrap().ends_with(" minutes"),
            "{case}"
        );
        assert_eq!(
            job["resource_group"], "gpu-ci-$CI_COMMIT_REF_SLUG-mr$CI_MERGE_REQUEST_IID",
            "{case}"
        );
        assert_eq!(
            job["artifacts"]["reports"]["junit"],
            "test-outputs/junit.xml"
        );
        let results = &gitlab["gpu-tests-results"];
        assert_eq!(results["needs"][0]["job"], "gpu-tests");
        assert_eq!(results["allow_failure"], Value::Bool(true));
        for rule in results["rules"].as_array().unwrap() {
            assert_eq!(
                rule["when"], "always",
                "{case}: the note follows a failure too"
            );
        }
        assert!(step["max-time"].as_u64().is_some(), "{case}");
        assert!(
            bitbucket["pipelines"]["custom"]["gpu-tests"].is_array(),
            "{case}"
        );
        assert!(
            bitbucket["pipelines"]["branches"]["main"].is_array(),
            "{case}"
        );
        // The note and comment scripts talk to their API with the standard library only
        // (the label reaching them as a literal is checked with hostile labels below).
        for rel in [NOTE, COMMENT] {
            let text = project.read(rel);
            assert!(text.contains("import urllib.request"), "{case} {rel}");
        }
    }
}

#[test]
fn the_label_rule_names_the_label_in_a_pattern_that_only_it_matches() {
    for label in [
        "gpu-tests",
        "run on gpu",
        "ci: gpu",
        "it's \"gpu\" \\ ci",
        "a/b.c*",
        "gpu ✓",
    ] {
        let project = Project::fixture("uv-groups-src");
        let flag = format!("--label={label}");
        project
            .gpu_ci(&["init", "--yes", "--ci", "gitlab", &flag])
            .success();
        let gitlab = parse(&project.read(GITLAB));
        let rule = gitlab["gpu-tests"]["rules"][0]["if"].as_str().unwrap();
        let pattern = rule
            .split_once("$CI_MERGE_REQUEST_LABELS =~ /")
            .unwrap()
            .1
            .strip_suffix('/')
            .unwrap();
        assert!(
            pattern.starts_with("(^|,)") && pattern.ends_with("(,|$)"),
            "{rule}"
        );
        let inner = &pattern[5..pattern.len() - 5];
        // Only letters, digits, `-`, `_`, escapes and non-ASCII: no `/`, quote or `$` that
        // GitLab's expression parser could take for the end of the pattern or a variable.
        assert!(
            inner
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '\\' | '✓')),
            "{label}: {inner}"
        );
        let decoded = decode_pattern(inner);
        assert_eq!(decoded, label);
        // The note script holds the label, and the marker naming it, as Python literals that
        // read back as exactly those strings.
        let (read_label, marker) = note_literals(&project);
        assert_eq!(read_label, label);
        assert_eq!(
            marker,
            format!("<!-- gpu-ci:{} -->", gpu_ci::github::repo::segment(label))
        );
    }
}

/// `LABEL` and `MARKER` of the rendered note script, as Python reads them.
fn note_literals(project: &Project) -> (String, String) {
    const READ: &str = r#"
import ast, json, sys
names = {}
for node in ast.parse(open(sys.argv[1], encoding="utf-8").read()).body:
    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
        if node.targets[0].id in ("LABEL", "MARKER"):
            names[node.targets[0].id] = ast.literal_eval(node.value)
print(json.dumps([names["LABEL"], names["MARKER"]]))
"#;
    let output = std::process::Command::new("python3")
        .args(["-c", READ])
        .arg(project.path(NOTE))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        crate::common::describe(&output)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `\xHH` escapes back to characters.
fn decode_pattern(pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            assert_eq!(chars.next(), Some('x'));
            let hex: String = chars.by_ref().take(2).collect();
            out.push(u8::from_str_radix(&hex, 16).unwrap() as char);
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn next_steps_name_each_targets_settings() {
    let project = Project::fixture("uv-groups-src");
    project
        .gpu_ci(&["init", "--yes", "--ci", "gitlab,bitbucket"])
        .success()
        .stderr(predicate::str::contains("GPU_CI_GITLAB_TOKEN"))
        .stderr(predicate::str::contains("GPU_CI_BITBUCKET_TOKEN"))
        .stderr(predicate::str::contains("github setup").not());
}

#[test]
fn dropping_a_target_leaves_its_files_and_says_so() {
    let project = Project::fixture("uv-groups-src");
    project
        .gpu_ci(&["init", "--yes", "--ci", "github,gitlab"])
        .success();
    let text = project.read("pyproject.toml");
    project.write(
        "pyproject.toml",
        &text.replace("ci = [\"github\", \"gitlab\"]", "ci = [\"github\"]"),
    );
    project
        .gpu_ci(&["update"])
        .success()
        .stderr(predicate::str::contains(
            "left .gitlab/gpu-ci.yml: `ci` no longer names its CI system",
        ));
    assert!(exists(&project, GITLAB));
    let lock: Value = serde_json::from_str(&project.read(LOCK)).unwrap();
    assert!(lock["contexts"].get("gitlab").is_none());
}
