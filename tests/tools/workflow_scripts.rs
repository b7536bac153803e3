//! The shell scripts inside the generated workflows, taken out of the rendered YAML and run as
//! GitHub runs them (`bash -e`, and `-o pipefail` too), against a fake `gh` on PATH that
//! answers from canned responses and records every call (issue 12). They need bash, jq and
//! openssl, which GitHub's hosted runners have.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::common::{Project, add_config, describe};

const REPO: &str = "octo/gpu";
const PR: &str = "7";
const BOT: &str = "github-actions[bot]";

/// The `run:` script and `env:` of a step, from a rendered workflow.
struct Step {
    script: String,
    env: BTreeMap<String, String>,
}

fn step(project: &Project, workflow: &str, job: &str, name: &str) -> Step {
    let text = project.read(&format!(".github/workflows/{workflow}"));
    let parsed: Value = serde_saphyr::from_str(&text).unwrap();
    let step = parsed["jobs"][job]["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("no job `{job}` in {workflow}"))
        .iter()
        .find(|s| s["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no step `{name}` in {workflow} job {job}"));
    let env = step["env"]
        .as_object()
        .map(|env| {
            env.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect()
        })
        .unwrap_or_default();
    Step {
        script: step["run"].as_str().unwrap().to_string(),
        env,
    }
}

/// A fake `gh`: `gh api [--method M] [--include] [--paginate] [--silent] [--jq E] [-F k=v] PATH`.
/// A request `M PATH` is answered from `<key>.json` and `<key>.status` (default 200), where
/// the key is the request with every character outside `[A-Za-z0-9]` made `_`; a request
/// nobody prepared fails loudly. Every call is logged to `calls`, and a `-F body=@FILE` is
/// kept as `body-<call number>`.
const FAKE_GH: &str = r#"#!/usr/bin/env bash
set -u
method=GET; path=""; include=0; silent=0; expr=""; fields=()
[ "${1:-}" = api ] || { echo "fake gh: only 'gh api' is faked" >&2; exit 64; }
shift
while [ $# -gt 0 ]; do
  case "$1" in
    --method|-X) method="$2"; shift ;;
    --include|-i) include=1 ;;
    --paginate) ;;
    --silent) silent=1 ;;
    --jq|-q) expr="$2"; shift ;;
    -F|-f|--field|--raw-field) fields+=("$2"); shift ;;
    -*) echo "fake gh: unexpected flag $1" >&2; exit 64 ;;
    *) path="$1" ;;
  esac
  shift
done
printf '%s %s\n' "$method" "$path" >> "$FAKE_GH_DIR/calls"
n=$(wc -l < "$FAKE_GH_DIR/calls" | tr -d ' ')
for field in "${fields[@]+"${fields[@]}"}"; do
  case "$field" in body=@*) cp "${field#body=@}" "$FAKE_GH_DIR/body-$n" ;; esac
done
key=$(printf '%s %s' "$method" "$path" | tr -c 'A-Za-z0-9' '_')
if [ ! -f "$FAKE_GH_DIR/$key.json" ]; then
  echo "fake gh: nobody prepared '$method $path' ($key)" >&2
  exit 97
fi
status=200
[ -f "$FAKE_GH_DIR/$key.status" ] && status=$(cat "$FAKE_GH_DIR/$key.status")
[ "$include" = 1 ] && printf 'HTTP/2.0 %s Status\r\nContent-Type: application/json\r\n\r\n' "$status"
case "$status" in
  2??)
    if [ -n "$expr" ]; then jq -r "$expr" "$FAKE_GH_DIR/$key.json"
    elif [ "$silent" = 0 ]; then cat "$FAKE_GH_DIR/$key.json"; fi
    exit 0 ;;
  *)
    [ "$silent" = 0 ] && cat "$FAKE_GH_DIR/$key.json"
    echo "gh: request failed (HTTP $status)" >&2
    exit 1 ;;
esac
"#;

/// A folder to run one step in: the fake `gh` on PATH, a step summary, a runner temp.
struct Sandbox {
    dir: TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        for tool in ["bash", "jq", "openssl"] {
            assert!(
                Command::new("sh")
                    .args(["-c", &format!("command -v {tool}")])
                    .output()
                    .unwrap()
                    .status
                    .success(),
                "`{tool}` is missing: the workflow scripts need it, as GitHub's runners have it"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        for sub in ["bin", "gh", "work", "temp"] {
            fs::create_dir(dir.path().join(sub)).unwrap();
        }
        let gh = dir.path().join("bin/gh");
        fs::write(&gh, FAKE_GH).unwrap();
        make_executable(&gh);
        fs::write(dir.path().join("summary.md"), "").unwrap();
        Sandbox { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Prepares the answer to `METHOD PATH`.
    fn answer(&self, method: &str, path: &str, status: u16, body: &str) {
        let key: String = format!("{method} {path}")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        fs::write(self.path("gh").join(format!("{key}.json")), body).unwrap();
        fs::write(
            self.path("gh").join(format!("{key}.status")),
            status.to_string(),
        )
        .unwrap();
    }

    /// What the Modal run left for the comment: `test-outputs/summary.md`.
    fn test_outputs_summary(&self, text: &str) {
        fs::create_dir_all(self.path("work/test-outputs")).unwrap();
        fs::write(self.path("work/test-outputs/summary.md"), text).unwrap();
    }

    /// The calls the fake `gh` received, as `METHOD PATH`.
    fn calls(&self) -> Vec<String> {
        fs::read_to_string(self.path("gh/calls"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn summary(&self) -> String {
        fs::read_to_string(self.path("summary.md")).unwrap()
    }

    /// Runs `step` with `bash -e` (GitHub's default) and then `bash -e -o pipefail` (its
    /// `shell: bash`) from fresh state, checks both end alike, and returns the first run.
    /// Every `${{ }}` value of the step's env must be given in `values`.
    fn run(&self, step: &Step, values: &[(&str, &str)]) -> Output {
        let first = self.run_once(step, values, &["-e"]);
        let first_calls = self.calls();
        let first_summary = self.summary();
        let _ = fs::remove_file(self.path("gh/calls"));
        fs::write(self.path("summary.md"), "").unwrap();
        let second = self.run_once(step, values, &["-e", "-o", "pipefail"]);
        assert_eq!(
            first.status.code(),
            second.status.code(),
            "pipefail changes the outcome:\n{}\n{}",
            describe(&first),
            describe(&second)
        );
        assert_eq!(first_calls, self.calls(), "pipefail changes the calls");
        // Leave the first run's record for the test to read.
        fs::write(self.path("gh/calls"), first_calls.join("\n") + "\n").unwrap();
        fs::write(self.path("summary.md"), first_summary).unwrap();
        first
    }

    fn run_once(&self, step: &Step, values: &[(&str, &str)], flags: &[&str]) -> Output {
        let script = self.path("step.sh");
        fs::write(&script, &step.script).unwrap();
        let mut cmd = Command::new("bash");
        cmd.arg("--noprofile")
            .arg("--norc")
            .args(flags)
            .arg(&script)
            .current_dir(self.path("work"))
            .env_clear()
            .env(
                "PATH",
                format!(
                    "{}:/usr/local/bin:/usr/bin:/bin",
                    self.path("bin").display()
                ),
            )
            .env("HOME", self.path("temp"))
            .env("RUNNER_TEMP", self.path("temp"))
            .env("GITHUB_STEP_SUMMARY", self.path("summary.md"))
            .env("FAKE_GH_DIR", self.path("gh"));
        for (name, value) in &step.env {
            if value.contains("${{") {
                let given = values
                    .iter()
                    .find(|(k, _)| k == name)
                    .unwrap_or_else(|| panic!("give the test a value for {name} = {value}"));
                cmd.env(name, given.1);
            } else {
                cmd.env(name, value);
            }
        }
        cmd.output().unwrap()
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn fork_project(label: &str) -> Project {
    let project = Project::fixture("extras-flat");
    let flag = format!("--label={label}");
    project
        .gpu_ci(&["init", "--yes", "--fork-prs", &flag])
        .success();
    project
}

const GH: [(&str, &str); 3] = [
    ("GH_TOKEN", "fake-token"),
    ("GH_REPO", REPO),
    ("PR_NUMBER", PR),
];

fn comment_values() -> Vec<(&'static str, &'static str)> {
    let mut values = GH.to_vec();
    values.extend([
        ("RESULT", "success"),
        ("TESTED_SHA", "0123456789abcdef0123456789abcdef01234567"),
        ("RUN_URL", "https://github.com/octo/gpu/actions/runs/1"),
        ("ARTIFACT_URL", ""),
    ]);
    values
}

fn comment(id: u64, login: &str, kind: &str, body: &str) -> Value {
    json!({"id": id, "user": {"login": login, "type": kind}, "body": body})
}

/// An attacker's comment carrying the marker comes first, on the first page; the bot's own
/// comment comes later, on the second. Only the bot's is edited (issue 12).
#[test]
fn the_comment_never_edits_an_attackers_marker_comment() {
    let project = fork_project("ci: gpu");
    let step = step(
        &project,
        "label-gpu-tests.yml",
        "comment",
        "Create or update the results comment",
    );
    let marker = "<!-- gpu-ci:ci%3A%20gpu -->";
    let sandbox = Sandbox::new();
    let page1 = json!([
        comment(
            101,
            "mallory",
            "User",
            &format!("{marker}\n### ✅ GPU tests passed")
        ),
        comment(102, "evil-app[bot]", "Bot", &format!("{marker}\nalso fake")),
        // A spoofed login is not enough: the type must be Bot too.
        comment(103, BOT, "User", &format!("{marker}\nspoofed")),
        comment(
            104,
            BOT,
            "Bot",
            "<!-- gpu-ci:other-label -->\nanother label's comment"
        ),
        json!({"id": 105, "user": null, "body": null}),
    ]);
    let page2 = json!([comment(202, BOT, "Bot", &format!("{marker}\nold results"))]);
    sandbox.answer(
        "GET",
        &format!("repos/{REPO}/issues/{PR}/comments"),
        200,
        &format!("{page1}\n{page2}"),
    );
    sandbox.answer(
        "PATCH",
        &format!("repos/{REPO}/issues/comments/202"),
        200,
        "{}",
    );
    sandbox.test_outputs_summary("### ✅ GPU tests passed (summary.md)\n");
    let output = sandbox.run(&step, &comment_values());
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(
        sandbox.calls(),
        [
            format!("GET repos/{REPO}/issues/{PR}/comments"),
            format!("PATCH repos/{REPO}/issues/comments/202"),
        ]
    );
    let body = fs::read_to_string(sandbox.path("gh/body-2")).unwrap();
    assert!(
        body.starts_with(&format!("{marker}\n### ✅ GPU tests passed (summary.md)")),
        "{body}"
    );
    assert!(
        body.contains("Tested `0123456789abcdef0123456789abcdef01234567`"),
        "{body}"
    );
    assert!(sandbox.summary().starts_with(marker));
}

/// When only other authors carry the marker, the bot posts a comment of its own.
#[test]
fn the_comment_is_new_when_only_others_carry_the_marker() {
    for fork in [false, true] {
        let project = Project::fixture("extras-flat");
        let mut args = vec!["init", "--yes"];
        if fork {
            args.push("--fork-prs");
        }
        project.gpu_ci(&args).success();
        let step = step(
            &project,
            "label-gpu-tests.yml",
            "comment",
            "Create or update the results comment",
        );
        let marker = "<!-- gpu-ci:gpu-tests -->";
        let sandbox = Sandbox::new();
        sandbox.answer(
            "GET",
            &format!("repos/{REPO}/issues/{PR}/comments"),
            200,
            &json!([comment(101, "mallory", "User", &format!("{marker}\nfake"))]).to_string(),
        );
        sandbox.answer(
            "POST",
            &format!("repos/{REPO}/issues/{PR}/comments"),
            201,
            "{}",
        );
        let output = sandbox.run(&step, &comment_values());
        assert!(output.status.success(), "{}", describe(&output));
        assert_eq!(
            sandbox.calls(),
            [
                format!("GET repos/{REPO}/issues/{PR}/comments"),
                format!("POST repos/{REPO}/issues/{PR}/comments"),
            ],
            "fork mode: {fork}"
        );
        let body = fs::read_to_string(sandbox.path("gh/body-2")).unwrap();
        assert!(
            body.starts_with(&format!("{marker}\n### GPU tests: success")),
            "{body}"
        );
    }
}

/// Listing the comments fails: the step fails, and posts or edits nothing.
#[test]
fn the_comment_step_fails_when_the_comments_cannot_be_read() {
    let project = fork_project("gpu-tests");
    let step = step(
        &project,
        "label-gpu-tests.yml",
        "comment",
        "Create or update the results comment",
    );
    let sandbox = Sandbox::new();
    sandbox.answer(
        "GET",
        &format!("repos/{REPO}/issues/{PR}/comments"),
        502,
        "{}",
    );
    let output = sandbox.run(&step, &comment_values());
    assert!(!output.status.success(), "{}", describe(&output));
    assert_eq!(sandbox.calls().len(), 1);
}

/// Both label removals (after a push, after a run) in fork mode, and the one of same-repository
/// mode: the label URL-encoded in the path, a label already gone (404) is fine, any other
/// failure fails the step (issue 12).
#[test]
fn removing_the_label_tolerates_only_a_label_already_gone() {
    let fork = fork_project("ci: gpu");
    let same = Project::fixture("extras-flat");
    same.gpu_ci(&["init", "--yes", "--label=ci: gpu"]).success();
    let steps = [
        step(
            &fork,
            "label-gpu-tests.yml",
            "unlabel-on-push",
            "Remove the label, so the new commits need a fresh review",
        ),
        step(
            &fork,
            "label-gpu-tests.yml",
            "remove-label",
            "Remove the label",
        ),
        step(
            &same,
            "label-gpu-tests.yml",
            "remove-label",
            "Remove the label",
        ),
    ];
    let path = format!("repos/{REPO}/issues/{PR}/labels/ci%3A%20gpu");
    for step in &steps {
        for (status, succeeds, says) in [
            (200, true, "Removed the label."),
            (404, true, "The label was already gone."),
            (
                403,
                false,
                "::error::Could not remove the label: HTTP/2.0 403",
            ),
            (
                500,
                false,
                "::error::Could not remove the label: HTTP/2.0 500",
            ),
        ] {
            let sandbox = Sandbox::new();
            sandbox.answer("DELETE", &path, status, "{\"message\": \"x\"}");
            let output = sandbox.run(step, &GH);
            assert_eq!(
                output.status.success(),
                succeeds,
                "{status}: {}",
                describe(&output)
            );
            assert!(
                stdout(&output).contains(says),
                "{status}: {}",
                describe(&output)
            );
            assert_eq!(sandbox.calls(), [format!("DELETE {path}")]);
        }
    }
}

/// The fork-mode gate: admin, maintain and write start a run; Triage (reported as `read`),
/// read, none, and an unreadable permission do not (issue 12).
#[test]
fn the_gate_admits_only_write_maintain_and_admin() {
    let project = fork_project("gpu-tests");
    let check = step(
        &project,
        "label-gpu-tests.yml",
        "gate",
        "Check that the labeller has write access",
    );
    // jq's @uri keeps `-`, so the login reaches the path as it is.
    let path = format!("repos/{REPO}/collaborators/some-user/permission");
    for (status, permission, role, admitted) in [
        (200, "admin", "admin", true),
        (200, "write", "maintain", true),
        (200, "maintain", "maintain", true),
        (200, "write", "write", true),
        (200, "read", "triage", false),
        (200, "read", "read", false),
        (200, "none", "none", false),
        (404, "", "", false),
        (500, "", "", false),
    ] {
        let sandbox = Sandbox::new();
        sandbox.answer(
            "GET",
            &path,
            status,
            &json!({"permission": permission, "role_name": role, "user": {"login": "some-user"}})
                .to_string(),
        );
        let mut values = GH.to_vec();
        values.push(("LABELLER", "some-user"));
        let output = sandbox.run(&check, &values);
        assert_eq!(
            output.status.success(),
            admitted,
            "{permission}/{role}: {}",
            describe(&output)
        );
        if !admitted {
            assert!(
                stdout(&output).contains("::error::"),
                "{}",
                describe(&output)
            );
        }
        if status == 200 && !admitted {
            assert!(
                sandbox
                    .summary()
                    .contains("only people with write, maintain or admin access"),
                "{}",
                sandbox.summary()
            );
        }
    }
}

/// The gate's second step refuses a PR whose head moved after it was labelled.
#[test]
fn the_gate_refuses_a_pr_that_moved_after_labelling() {
    let project = fork_project("gpu-tests");
    let check = step(
        &project,
        "label-gpu-tests.yml",
        "gate",
        "Check the PR has not moved since it was labelled",
    );
    for (head_now, passes) in [("aaa", true), ("bbb", false)] {
        let sandbox = Sandbox::new();
        sandbox.answer(
            "GET",
            &format!("repos/{REPO}/pulls/{PR}"),
            200,
            &json!({"head": {"sha": head_now}}).to_string(),
        );
        let mut values = GH.to_vec();
        values.push(("LABELLED_SHA", "aaa"));
        let output = sandbox.run(&check, &values);
        assert_eq!(output.status.success(), passes, "{}", describe(&output));
        let said = if passes {
            "Testing aaa, the commit that was labelled."
        } else {
            "The PR moved from aaa to bbb after it was labelled"
        };
        assert!(sandbox.summary().contains(said), "{}", sandbox.summary());
    }
}

/// The Modal run is fenced: the tests' output, between a random `::stop-commands::` token
/// and its end, cannot issue workflow commands; the token is fresh each run and the tests
/// never see it; pytest's exit code survives the fence (issue 12).
#[test]
fn the_modal_run_is_fenced_with_a_fresh_token() {
    let project = Project::initialised("extras-flat");
    let run = step(
        &project,
        "_modal-gpu-tests.yml",
        "gpu-tests",
        "Run the tests on a Modal GPU",
    );
    let values = [
        ("MODAL_TOKEN_ID", "ak-id"),
        ("MODAL_TOKEN_SECRET", "as-secret"),
        ("MODAL_ENVIRONMENT", "ci"),
        ("MODAL_GPU", "L4"),
        ("GPU_CI_SHARDS", ""),
        ("GPU_CI_PYTHON", "3.12"),
        ("TEST_PATH", "test/"),
        ("PYTEST_ARGS", "-v -k 'gpu and not slow'"),
    ];
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let sandbox = Sandbox::new();
        // The client the install step puts in RUNNER_TEMP: a fake that prints workflow
        // commands, as a hostile test would, and records what it was given.
        let bin = sandbox.path("temp/modal-client/bin");
        fs::create_dir_all(&bin).unwrap();
        fs::write(
            bin.join("modal"),
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$RUNNER_TEMP/modal-args\"\nenv > \"$RUNNER_TEMP/modal-env\"\n\
             echo '::add-mask::ak-id'\necho '::error file=setup.py::tests failed'\necho '::stop-commands::mine'\nexit 3\n",
        )
        .unwrap();
        make_executable(&bin.join("modal"));
        let output = sandbox.run(&run, &values);
        assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
        let out = stdout(&output);
        let lines: Vec<&str> = out.lines().collect();
        let token = lines[0]
            .strip_prefix("::stop-commands::")
            .unwrap_or_else(|| panic!("no fence first: {out}"));
        assert!(
            token.len() == 32 && token.chars().all(|c| c.is_ascii_hexdigit()),
            "{token}"
        );
        assert_eq!(lines.last().unwrap(), &format!("::{token}::"), "{out}");
        assert!(lines[1..lines.len() - 1].iter().all(|l| !l.contains(token)));
        let env = fs::read_to_string(sandbox.path("temp/modal-env")).unwrap();
        assert!(!env.contains(token), "the tests could end the fence");
        assert!(env.contains("GPU_CI_PROJECT_DIR=tree-under-test"), "{env}");
        assert_eq!(
            fs::read_to_string(sandbox.path("temp/modal-args")).unwrap(),
            "run\n.modal/test_runner.py\n--test-path=test/\n--pytest-args=-v -k 'gpu and not slow'\n"
        );
        tokens.push(token.to_string());
    }
    assert_ne!(tokens[0], tokens[1], "the token must be fresh each run");
}

/// The first step names the missing secret and where to add it; with an environment
/// configured, it names the environment too (issue 12).
#[test]
fn a_missing_modal_secret_is_named_with_where_to_add_it() {
    let plain = Project::initialised("extras-flat");
    let with_env = Project::fixture("extras-flat");
    add_config(&with_env, "environment = \"gpu ci\"\n");
    with_env.gpu_ci(&["init", "--yes"]).success();
    for (project, place) in [
        (&plain, "Settings → Secrets and variables → Actions"),
        (
            &with_env,
            "secrets of the 'gpu ci' environment (Settings → Environments)",
        ),
    ] {
        let check = step(
            project,
            "_modal-gpu-tests.yml",
            "gpu-tests",
            "Check that the Modal token is set",
        );
        for (id, secret, missing) in [
            ("true", "true", None),
            (
                "false",
                "true",
                Some("The secret MODAL_TOKEN_ID is not set"),
            ),
            (
                "true",
                "false",
                Some("The secret MODAL_TOKEN_SECRET is not set"),
            ),
            (
                "false",
                "false",
                Some("The secrets MODAL_TOKEN_ID and MODAL_TOKEN_SECRET are not set"),
            ),
        ] {
            let sandbox = Sandbox::new();
            let output = sandbox.run(
                &check,
                &[("HAS_TOKEN_ID", id), ("HAS_TOKEN_SECRET", secret)],
            );
            match missing {
                None => assert!(output.status.success(), "{}", describe(&output)),
                Some(message) => {
                    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
                    let out = stdout(&output);
                    assert!(
                        out.starts_with("::error title=Modal token missing::"),
                        "{out}"
                    );
                    assert!(out.contains(message), "{out}");
                    assert!(out.contains(place), "{out}");
                    assert!(sandbox.summary().contains(message));
                }
            }
        }
    }
}
