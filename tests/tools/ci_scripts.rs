//! GitLab CI and Bitbucket Pipelines (issue 17), run rather than read:
//! - every generated file passes check-jsonschema's `vendor.gitlab-ci` and
//!   `vendor.bitbucket-pipelines`, and the note and comment scripts py_compile and pass ruff;
//! - the GPU job's script, taken out of the YAML, runs under sh and bash against a real git
//!   remote, with stand-ins for pip, uv and the Modal client;
//! - the MR-note script against a fake GitLab API, the PR-comment script against a fake
//!   Bitbucket API, both on 127.0.0.1.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::common::{Project, all_generated_for_every_ci, describe};
use crate::fake_forge::{Answer, FakeForge, Request};
use crate::installed::tool;

fn parse(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn generated_files_pass_the_schemas_and_the_scripts_ruff() {
    let projects = all_generated_for_every_ci();
    let gitlab: Vec<PathBuf> = projects
        .iter()
        .flat_map(|(_, p)| [p.path(".gitlab/gpu-ci.yml"), p.path(".gitlab-ci.yml")])
        .collect();
    let schema = Command::new(tool("check-jsonschema"))
        .args(["--builtin-schema", "vendor.gitlab-ci"])
        .args(&gitlab)
        .output()
        .unwrap();
    assert!(schema.status.success(), "gitlab-ci: {}", describe(&schema));
    let bitbucket: Vec<PathBuf> = projects
        .iter()
        .map(|(_, p)| p.path("bitbucket-pipelines.yml"))
        .collect();
    let schema = Command::new(tool("check-jsonschema"))
        .args(["--builtin-schema", "vendor.bitbucket-pipelines"])
        .args(&bitbucket)
        .output()
        .unwrap();
    assert!(schema.status.success(), "bitbucket: {}", describe(&schema));

    let scripts: Vec<PathBuf> = projects
        .iter()
        .flat_map(|(_, p)| {
            [
                p.path(".gitlab/gpu-ci-note.py"),
                p.path(".bitbucket/gpu-ci-comment.py"),
            ]
        })
        .collect();
    let compile = Command::new(tool("python"))
        .args(["-m", "py_compile"])
        .args(&scripts)
        .output()
        .unwrap();
    assert!(compile.status.success(), "{}", describe(&compile));
    // The job image's Python is 3.12; the scripts keep to 3.9 so they run anywhere. Linted
    // without their directives, which exempt them from the project's own linters.
    let dir = tempfile::tempdir().unwrap();
    let scripts = crate::lint::without_exemptions(&scripts, dir.path());
    let ruff = Command::new(tool("ruff"))
        .args(["check", "--no-cache", "--isolated", "--line-length", "120"])
        .args(["--target-version", "py39", "--select", "E,F,W,B,S,UP"])
        .args(["--ignore", "S310"])
        .args(&scripts)
        .output()
        .unwrap();
    assert!(ruff.status.success(), "ruff: {}", describe(&ruff));
}

/// The schemas catch what they are here to catch.
#[test]
fn the_schemas_reject_a_bad_pipeline() {
    let project = Project::empty();
    project.write("gl.yml", "job:\n  script: 3\n  when: sometimes\n");
    project.write(
        "bb.yml",
        "pipelines:\n  custom:\n    x:\n      - step:\n          max-time: -1\n",
    );
    for (schema, file) in [
        ("vendor.gitlab-ci", "gl.yml"),
        ("vendor.bitbucket-pipelines", "bb.yml"),
    ] {
        let out = Command::new(tool("check-jsonschema"))
            .args(["--builtin-schema", schema])
            .arg(project.path(file))
            .output()
            .unwrap();
        assert!(!out.status.success(), "{schema} passed a bad file");
    }
}

// ---------------------------------------------------------------------------------------------
// The GPU job's script.

/// Not the local Modal API (tests/tools/modal_api): the job script installs the client from the
/// network, which the tests never reach, so the stand-ins record what it would run; the runner
/// itself meets the real client in tests/tools/modal_harness.rs.
/// Stand-ins: `python3 -m pip install --target DIR` makes DIR/bin/uv; `uv venv DIR` makes a
/// venv folder; `uv pip install --python PY` puts a `modal` beside PY that records its
/// arguments, working folder and environment, and exits with $FAKE_MODAL_EXIT.
const FAKE_PYTHON: &str = r#"#!/bin/sh
target=""
while [ $# -gt 0 ]; do
  case "$1" in --target) target="$2"; shift ;; esac
  shift
done
[ -n "$target" ] || { echo "fake python3: expected pip install --target" >&2; exit 64; }
mkdir -p "$target/bin"
cp "$FAKE_BIN/uv.fake" "$target/bin/uv"
chmod +x "$target/bin/uv"
"#;

const FAKE_UV: &str = r#"#!/bin/sh
case "$1" in
  venv)
    for last in "$@"; do :; done
    mkdir -p "$last/bin" && : > "$last/bin/python" ;;
  pip)
    python=""
    while [ $# -gt 0 ]; do
      case "$1" in --python) python="$2"; shift ;; esac
      shift
    done
    cp "$FAKE_BIN/modal.fake" "$(dirname "$python")/modal"
    chmod +x "$(dirname "$python")/modal" ;;
  *) echo "fake uv: $*" >&2; exit 64 ;;
esac
"#;

const FAKE_MODAL: &str = r#"#!/bin/sh
printf '%s\n' "$@" > "$FAKE_LOG/modal-args"
pwd > "$FAKE_LOG/modal-cwd"
env > "$FAKE_LOG/modal-env"
exit "${FAKE_MODAL_EXIT:-0}"
"#;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "protocol.file.allow=always",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", describe(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// An origin with `main` and `feature` (whose tree holds a runner of its own, as an attacker's
/// would), and the pipeline's shallow checkout of `main`.
struct Repos {
    dir: TempDir,
    main_sha: String,
    feature_sha: String,
    /// A commit on `feature` that no ref names.
    inner_sha: String,
}

impl Repos {
    fn new(project: &Project) -> Repos {
        let dir = tempfile::tempdir().unwrap();
        let origin = dir.path().join("origin");
        fs::create_dir(&origin).unwrap();
        git(&origin, &["init", "-q"]);
        fs::write(origin.join("README"), "main\n").unwrap();
        git(&origin, &["add", "."]);
        git(&origin, &["commit", "-q", "-m", "main"]);
        let main_sha = git(&origin, &["rev-parse", "HEAD"]);
        git(&origin, &["checkout", "-q", "-b", "feature"]);
        fs::write(origin.join("one.py"), "x = 1\n").unwrap();
        git(&origin, &["add", "."]);
        git(&origin, &["commit", "-q", "-m", "one"]);
        let inner_sha = git(&origin, &["rev-parse", "HEAD"]);
        fs::create_dir_all(origin.join(".modal")).unwrap();
        fs::write(origin.join(".modal/test_runner.py"), "EVIL = True\n").unwrap();
        git(&origin, &["add", "."]);
        git(&origin, &["commit", "-q", "-m", "feature"]);
        let feature_sha = git(&origin, &["rev-parse", "HEAD"]);
        git(&origin, &["checkout", "-q", "main"]);
        let url = format!("file://{}", origin.display());
        git(
            dir.path(),
            &["clone", "-q", "--depth", "1", &url, "checkout"],
        );
        // The pipeline's own commit holds the generated runner and pipelines.
        let checkout = dir.path().join("checkout");
        copy_dir(&project.path(".modal"), &checkout.join(".modal"));
        let bin = dir.path().join("bin");
        fs::create_dir(&bin).unwrap();
        for (name, text) in [
            ("python3", FAKE_PYTHON),
            ("uv.fake", FAKE_UV),
            ("modal.fake", FAKE_MODAL),
        ] {
            fs::write(bin.join(name), text).unwrap();
            make_executable(&bin.join(name));
        }
        fs::create_dir(dir.path().join("log")).unwrap();
        Repos {
            dir,
            main_sha,
            feature_sha,
            inner_sha,
        }
    }

    fn checkout(&self) -> PathBuf {
        self.dir.path().join("checkout")
    }

    fn log(&self, name: &str) -> Option<String> {
        fs::read_to_string(self.dir.path().join("log").join(name)).ok()
    }

    /// Runs `script` in the checkout with `shell`, the stand-ins first on PATH.
    fn run(&self, shell: &str, script: &str, env: &[(&str, &str)]) -> Output {
        let _ = fs::remove_dir_all(self.dir.path().join("log"));
        fs::create_dir(self.dir.path().join("log")).unwrap();
        let _ = fs::remove_dir_all(self.checkout().join("tree-under-test"));
        let _ = fs::remove_dir_all(self.checkout().join("gpu-ci-run"));
        let mut cmd = Command::new(shell);
        cmd.arg("-c")
            .arg(script)
            .current_dir(self.checkout())
            .env_clear()
            .env(
                "PATH",
                format!(
                    "{}:/usr/local/bin:/usr/bin:/bin",
                    self.dir.path().join("bin").display()
                ),
            )
            .env("HOME", self.dir.path())
            .env("FAKE_BIN", self.dir.path().join("bin"))
            .env("FAKE_LOG", self.dir.path().join("log"))
            .env("GIT_CONFIG_COUNT", "1")
            .env("GIT_CONFIG_KEY_0", "protocol.file.allow")
            .env("GIT_CONFIG_VALUE_0", "always");
        for (name, value) in env {
            cmd.env(name, value);
        }
        cmd.output().unwrap()
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap().flatten() {
        fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// A target's name, its GPU job's script, and the variables its CI system sets.
type GpuScript = (&'static str, String, Vec<(&'static str, &'static str)>);

/// The GPU job's script of each target, and the variables its CI system sets.
fn gpu_scripts(project: &Project) -> Vec<GpuScript> {
    let gitlab = parse(&project.read(".gitlab/gpu-ci.yml"));
    let gitlab_script = gitlab["gpu-tests"]["script"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    let bitbucket = parse(&project.read("bitbucket-pipelines.yml"));
    let bitbucket_script = bitbucket["definitions"]["steps"][0]["step"]["script"][0]
        .as_str()
        .unwrap()
        .to_string();
    vec![
        (
            "gitlab",
            gitlab_script,
            vec![
                ("CI_JOB_URL", "https://gitlab.example/g/p/-/jobs/9"),
                ("CI_JOB_TOKEN", "job-token"),
                ("GPU_CI_GITLAB_TOKEN", "note-token"),
            ],
        ),
        (
            "bitbucket",
            bitbucket_script,
            vec![("GPU_CI_BITBUCKET_TOKEN", "comment-token")],
        ),
    ]
}

#[test]
fn the_gpu_job_runs_the_trusted_runner_with_the_tested_commit_as_data() {
    let project = Project::fixture("uv-groups-src");
    project
        .gpu_ci(&[
            "init",
            "--yes",
            "--ci",
            "gitlab,bitbucket",
            "--pytest-args=-k 'gpu and not $slow'",
        ])
        .success();
    let repos = Repos::new(&project);
    for (ci, script, ci_env) in gpu_scripts(&project) {
        let commit_var = if ci == "gitlab" {
            "CI_COMMIT_SHA"
        } else {
            "BITBUCKET_COMMIT"
        };
        for shell in ["sh", "bash"] {
            for (reference, want) in [
                ("feature", repos.feature_sha.as_str()),
                ("refs/heads/feature", repos.feature_sha.as_str()),
                // A commit no ref names: found among the branches, the clone unshallowed.
                (repos.inner_sha.as_str(), repos.inner_sha.as_str()),
            ] {
                let at = format!("{ci} {shell} REF={reference}");
                let mut env = vec![
                    ("MODAL_TOKEN_ID", "ak-1"),
                    ("MODAL_TOKEN_SECRET", "as-1"),
                    (commit_var, repos.main_sha.as_str()),
                    ("REF", reference),
                    ("GPU", "H100:2"),
                ];
                env.extend(ci_env.iter().copied());
                let out = repos.run(shell, &script, &env);
                assert!(out.status.success(), "{at}: {}", describe(&out));
                let checkout = repos.checkout();
                // The runner ran from the pipeline's own checkout...
                assert_eq!(
                    repos.log("modal-cwd").unwrap().trim(),
                    checkout.canonicalize().unwrap().to_str().unwrap(),
                    "{at}"
                );
                let args = repos.log("modal-args").unwrap();
                assert_eq!(
                    args,
                    "run\n.modal/test_runner.py\n--test-path=tests/\n--pytest-args=-k 'gpu and not $slow'\n",
                    "{at}"
                );
                assert!(
                    !fs::read_to_string(checkout.join(".modal/test_runner.py"))
                        .unwrap()
                        .contains("EVIL"),
                    "{at}"
                );
                // ...and the tested commit is only data beside it.
                let tree = checkout.join("tree-under-test");
                if reference == repos.inner_sha {
                    assert!(
                        tree.join("one.py").is_file() && !tree.join(".modal").exists(),
                        "{at}"
                    );
                } else {
                    assert!(
                        fs::read_to_string(tree.join(".modal/test_runner.py"))
                            .unwrap()
                            .contains("EVIL"),
                        "{at}"
                    );
                }
                assert!(!tree.join(".git").exists(), "{at}: files only");
                let modal_env = repos.log("modal-env").unwrap();
                assert!(
                    modal_env.contains("GPU_CI_PROJECT_DIR=tree-under-test\n"),
                    "{at}"
                );
                assert!(modal_env.contains("MODAL_GPU=H100:2\n"), "{at}");
                assert!(modal_env.contains("MODAL_TOKEN_ID=ak-1\n"), "{at}");
                for (name, _) in &ci_env {
                    if *name != "CI_JOB_URL" {
                        assert!(
                            !modal_env.contains(&format!("{name}=")),
                            "{at}: {name} reached modal"
                        );
                    }
                }
                let record = checkout.join("gpu-ci-run");
                assert_eq!(
                    fs::read_to_string(record.join("tested-sha"))
                        .unwrap()
                        .trim(),
                    want,
                    "{at}"
                );
                assert_eq!(
                    fs::read_to_string(record.join("exit-code")).unwrap().trim(),
                    "0",
                    "{at}"
                );
            }

            // No REF: the pipeline's own commit, where it is; the MODAL_GPU variable, else the
            // config's GPU; pytest's exit code is the job's, and is recorded.
            let mut env = vec![
                ("MODAL_TOKEN_ID", "ak-1"),
                ("MODAL_TOKEN_SECRET", "as-1"),
                (commit_var, repos.main_sha.as_str()),
                ("MODAL_GPU", "A10G"),
                ("FAKE_MODAL_EXIT", "1"),
            ];
            env.extend(ci_env.iter().copied());
            let out = repos.run(shell, &script, &env);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{ci} {shell}: {}",
                describe(&out)
            );
            let modal_env = repos.log("modal-env").unwrap();
            assert!(modal_env.contains("GPU_CI_PROJECT_DIR=.\n"), "{ci} {shell}");
            assert!(modal_env.contains("MODAL_GPU=A10G\n"), "{ci} {shell}");
            let record = repos.checkout().join("gpu-ci-run");
            assert_eq!(
                fs::read_to_string(record.join("exit-code")).unwrap().trim(),
                "1"
            );
            assert_eq!(
                fs::read_to_string(record.join("tested-sha"))
                    .unwrap()
                    .trim(),
                repos.main_sha
            );
            let env: Vec<_> = env.into_iter().filter(|(n, _)| *n != "MODAL_GPU").collect();
            repos.run(shell, &script, &env);
            assert!(repos.log("modal-env").unwrap().contains("MODAL_GPU=L4\n"));
        }
    }
}

#[test]
fn the_gpu_job_refuses_a_bad_ref_and_a_missing_token_before_anything_runs() {
    let project = Project::fixture("extras-flat");
    project
        .gpu_ci(&["init", "--yes", "--ci", "gitlab,bitbucket"])
        .success();
    let repos = Repos::new(&project);
    for (ci, script, ci_env) in gpu_scripts(&project) {
        let commit_var = if ci == "gitlab" {
            "CI_COMMIT_SHA"
        } else {
            "BITBUCKET_COMMIT"
        };
        for reference in [
            "--upload-pack=touch /tmp/x",
            "a b",
            "main..feature",
            "x;id",
            "@{-1}",
        ] {
            let mut env = vec![
                ("MODAL_TOKEN_ID", "ak-1"),
                ("MODAL_TOKEN_SECRET", "as-1"),
                (commit_var, repos.main_sha.as_str()),
                ("REF", reference),
            ];
            env.extend(ci_env.iter().copied());
            let out = repos.run("sh", &script, &env);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{ci} {reference}: {}",
                describe(&out)
            );
            assert!(
                stderr(&out).contains("is not a branch, tag, commit"),
                "{ci}"
            );
            assert!(
                repos.log("modal-args").is_none(),
                "{ci} {reference}: modal ran"
            );
        }
        let mut env = vec![
            ("MODAL_TOKEN_ID", "ak-1"),
            (commit_var, repos.main_sha.as_str()),
        ];
        env.extend(ci_env.iter().copied());
        let out = repos.run("sh", &script, &env);
        assert_eq!(out.status.code(), Some(1), "{ci}");
        assert!(
            stderr(&out).contains("error: the Modal token is not available to this pipeline"),
            "{ci}: {}",
            describe(&out)
        );
        assert!(!repos.checkout().join("gpu-ci-run/tested-sha").exists());
    }
}

// ---------------------------------------------------------------------------------------------
// The results note on GitLab.

const PROJECT_ID: u64 = 42;
const MR: u64 = 5;
const BOT: u64 = 7;
const NOTE_TOKEN: &str = "glpat-test";

#[derive(Default)]
struct GitLabState {
    /// (id, author id, body, system)
    notes: Vec<(u64, u64, String, bool)>,
    labels: Vec<String>,
    next_id: u64,
}

fn gitlab_route(state: &mut GitLabState, request: &Request) -> Answer {
    if request.header("PRIVATE-TOKEN") != Some(NOTE_TOKEN) {
        return Answer::json(401, json!({"message": "401 Unauthorized"}));
    }
    let mr = format!("/api/v4/projects/{PROJECT_ID}/merge_requests/{MR}");
    let notes = format!("{mr}/notes");
    let path = request.path().to_string();
    match (request.method.as_str(), path.as_str()) {
        ("GET", "/api/v4/user") => {
            Answer::json(200, json!({"id": BOT, "username": "project_42_bot"}))
        }
        ("GET", p) if p == notes => {
            let per_page: usize = request.query("per_page").unwrap().parse().unwrap();
            let page: usize = request.query("page").unwrap().parse().unwrap();
            let all: Vec<Value> = state
                .notes
                .iter()
                .map(|(id, author, body, system)| {
                    json!({"id": id, "body": body, "system": system, "author": {"id": author}})
                })
                .collect();
            let slice: Vec<Value> = all
                .iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .cloned()
                .collect();
            let more = all.len() > page * per_page;
            let answer = Answer::json(200, Value::Array(slice));
            answer.with_header(
                "X-Next-Page",
                &if more {
                    (page + 1).to_string()
                } else {
                    String::new()
                },
            )
        }
        ("POST", p) if p == notes => {
            state.next_id += 1;
            let id = 1000 + state.next_id;
            let body = request.json()["body"].as_str().unwrap().to_string();
            state.notes.push((id, BOT, body, false));
            Answer::json(201, json!({"id": id}))
        }
        ("PUT", p) if p.starts_with(&format!("{notes}/")) => {
            let id: u64 = p.rsplit('/').next().unwrap().parse().unwrap();
            let Some(note) = state.notes.iter_mut().find(|n| n.0 == id) else {
                return Answer::json(404, json!({}));
            };
            if note.1 != BOT {
                return Answer::json(403, json!({"message": "403 Forbidden"}));
            }
            note.2 = request.json()["body"].as_str().unwrap().to_string();
            Answer::json(200, json!({"id": id}))
        }
        ("PUT", p) if p == mr => {
            let remove = request.json()["remove_labels"]
                .as_str()
                .unwrap()
                .to_string();
            state.labels.retain(|l| *l != remove);
            Answer::json(200, json!({"iid": MR}))
        }
        _ => Answer::json(404, json!({"message": "404 Not Found"})),
    }
}

/// A folder holding what the GPU job left: test-outputs/ and gpu-ci-run/.
struct Work {
    dir: TempDir,
}

impl Work {
    fn new(summary: Option<&str>, exit_code: &str) -> Work {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("test-outputs")).unwrap();
        fs::create_dir_all(dir.path().join("gpu-ci-run")).unwrap();
        if let Some(summary) = summary {
            fs::write(dir.path().join("test-outputs/summary.md"), summary).unwrap();
        }
        fs::write(
            dir.path().join("gpu-ci-run/exit-code"),
            format!("{exit_code}\n"),
        )
        .unwrap();
        fs::write(
            dir.path().join("gpu-ci-run/tested-sha"),
            "0123456789abcdef0123456789abcdef01234567\n",
        )
        .unwrap();
        fs::write(
            dir.path().join("gpu-ci-run/job-url"),
            "https://gitlab.example/g/p/-/jobs/9\n",
        )
        .unwrap();
        Work { dir }
    }

    fn run(&self, script: &Path, env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new("python3");
        cmd.arg("-I")
            .arg(script)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin");
        for (name, value) in env {
            cmd.env(name, value);
        }
        cmd.output().unwrap()
    }
}

fn note_project(label: &str) -> (Project, PathBuf, String) {
    let project = Project::fixture("uv-groups-src");
    let flag = format!("--label={label}");
    project
        .gpu_ci(&["init", "--yes", "--ci", "gitlab", &flag])
        .success();
    let script = project.path(".gitlab/gpu-ci-note.py");
    let encoded: String = label
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    (project, script, format!("<!-- gpu-ci:{encoded} -->"))
}

fn gitlab_env(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("CI_API_V4_URL", format!("{url}/api/v4")),
        ("CI_PROJECT_ID", PROJECT_ID.to_string()),
        ("CI_MERGE_REQUEST_IID", MR.to_string()),
        ("CI_SERVER_URL", "https://gitlab.example".into()),
        (
            "CI_PIPELINE_URL",
            "https://gitlab.example/g/p/-/pipelines/3".into(),
        ),
        ("GPU_CI_GITLAB_TOKEN", NOTE_TOKEN.into()),
    ]
}

fn as_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[test]
fn the_note_is_created_then_updated_in_place_and_the_label_removed() {
    let label = "run on gpu";
    let (_project, script, marker) = note_project(label);
    let mut state = GitLabState::default();
    // 150 notes of others first: the bot's note is found on the second page.
    for i in 0..150 {
        state
            .notes
            .push((i + 1, 100 + i, format!("comment {i}"), false));
    }
    state.labels = vec![label.into(), "other".into()];
    let server = FakeForge::start(state, gitlab_route);
    let env = gitlab_env(&server.url);

    let work = Work::new(Some("### ✅ GPU tests passed\n\n| passed |\n"), "0");
    let out = work.run(&script, &as_refs(&env));
    assert!(out.status.success(), "{}", describe(&out));
    let created = {
        let state = server.state.lock().unwrap();
        let mine: Vec<_> = state.notes.iter().filter(|n| n.1 == BOT).cloned().collect();
        assert_eq!(mine.len(), 1);
        assert_eq!(
            state.labels,
            ["other"],
            "the label is removed, the others kept"
        );
        mine[0].clone()
    };
    assert!(
        created
            .2
            .starts_with(&format!("{marker}\n### ✅ GPU tests passed")),
        "{}",
        created.2
    );
    assert!(
        created
            .2
            .contains("Tested `0123456789abcdef0123456789abcdef01234567`")
    );
    assert!(
        created
            .2
            .contains("[test outputs](https://gitlab.example/g/p/-/jobs/9/artifacts/browse)")
    );

    // Added again and run again: the same note, updated.
    server.state.lock().unwrap().labels.push(label.into());
    server.clear_log();
    let work = Work::new(Some("### ❌ GPU tests failed\n"), "1");
    let out = work.run(&script, &as_refs(&env));
    assert!(out.status.success(), "{}", describe(&out));
    let state = server.state.lock().unwrap();
    let mine: Vec<_> = state.notes.iter().filter(|n| n.1 == BOT).collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].0, created.0, "the same note");
    assert!(mine[0].2.contains("GPU tests failed"));
    assert_eq!(state.labels, ["other"]);
    let calls = server.calls();
    assert!(calls.contains(&format!(
        "PUT /api/v4/projects/{PROJECT_ID}/merge_requests/{MR}/notes/{}",
        created.0
    )));
    assert!(!calls.iter().any(|c| c.starts_with("POST")), "{calls:?}");
}

#[test]
fn an_attackers_marker_note_is_never_edited() {
    let (_project, script, marker) = note_project("gpu-tests");
    let mut state = GitLabState::default();
    let forged = format!("{marker}\n### ✅ GPU tests passed (forged)");
    state.notes.push((1, 666, forged.clone(), false));
    // A system note carries the bot's id in some GitLab answers: never edited either.
    state.notes.push((2, BOT, format!("{marker} system"), true));
    let server = FakeForge::start(state, gitlab_route);
    let env = gitlab_env(&server.url);
    let work = Work::new(Some("### ❌ GPU tests failed\n"), "1");
    let out = work.run(&script, &as_refs(&env));
    assert!(out.status.success(), "{}", describe(&out));
    let state = server.state.lock().unwrap();
    assert_eq!(state.notes[0].2, forged);
    assert_eq!(state.notes[1].2, format!("{marker} system"));
    assert_eq!(state.notes.len(), 3, "the bot posts its own beside them");
    assert!(
        !server
            .calls()
            .iter()
            .any(|c| c.contains("/notes/1") || c.contains("/notes/2"))
    );
}

#[test]
fn test_output_cannot_start_a_quick_action() {
    let (_project, script, _) = note_project("gpu-tests");
    let server = FakeForge::start(GitLabState::default(), gitlab_route);
    let env = gitlab_env(&server.url);
    let summary =
        "### ❌ GPU tests failed\n\n<pre>E assert\n/label ~hacked\n  /close\nok /x\n</pre>\n";
    let work = Work::new(Some(summary), "1");
    let out = work.run(&script, &as_refs(&env));
    assert!(out.status.success(), "{}", describe(&out));
    let state = server.state.lock().unwrap();
    let body = &state.notes[0].2;
    assert!(
        body.lines().all(|l| !l.trim_start().starts_with('/')),
        "{body}"
    );
    assert!(
        body.contains("<pre>E assert\n&#47;label ~hacked\n  &#47;close\nok /x"),
        "{body}"
    );
}

/// A redirect from the API is an error: urllib would send the token along to its target.
#[test]
fn the_token_never_follows_a_redirect() {
    let (_project, script, _) = note_project("gpu-tests");
    let thief = FakeForge::start((), |_, _| Answer::json(200, json!({"id": BOT})));
    let target = format!("{}/steal", thief.url);
    let server = FakeForge::start((), move |_, _| {
        Answer::json(302, json!({})).with_header("Location", &target)
    });
    let env = gitlab_env(&server.url);
    let out = Work::new(None, "0").run(&script, &as_refs(&env));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(stderr(&out).contains("HTTP 302"), "{}", describe(&out));
    assert!(thief.calls().is_empty(), "{:?}", thief.calls());

    let (_project, script) = comment_project();
    let target = format!("{}/steal", thief.url);
    let server = FakeForge::start((), move |_, _| {
        Answer::json(307, json!({})).with_header("Location", &target)
    });
    let env = bitbucket_env(&server.url);
    let out = Work::new(None, "0").run(&script, &as_refs(&env));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(thief.calls().is_empty(), "{:?}", thief.calls());
}

#[test]
fn the_note_script_explains_what_is_missing_and_follows_ref() {
    let (_project, script, _) = note_project("gpu-tests");
    let server = FakeForge::start(GitLabState::default(), gitlab_route);
    // No token: says which variable, calls nothing.
    let env: Vec<_> = gitlab_env(&server.url)
        .into_iter()
        .filter(|(k, _)| *k != "GPU_CI_GITLAB_TOKEN")
        .collect();
    let out = Work::new(None, "1").run(&script, &as_refs(&env));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("GPU_CI_GITLAB_TOKEN is not set"),
        "{}",
        describe(&out)
    );
    assert!(server.calls().is_empty());

    // A pipeline run by hand with REF=refs/merge-requests/5/head notes MR 5.
    let mut env: Vec<_> = gitlab_env(&server.url)
        .into_iter()
        .filter(|(k, _)| *k != "CI_MERGE_REQUEST_IID")
        .collect();
    env.push(("REF", "refs/merge-requests/5/head".into()));
    let out = Work::new(None, "").run(&script, &as_refs(&env));
    assert!(out.status.success(), "{}", describe(&out));
    {
        let state = server.state.lock().unwrap();
        assert!(
            state.notes[0].2.contains("### GPU tests did not finish"),
            "{}",
            state.notes[0].2
        );
    }
    // A REF that names no merge request: nothing to do.
    server.clear_log();
    env.pop();
    env.push(("REF", "main".into()));
    let out = Work::new(None, "0").run(&script, &as_refs(&env));
    assert!(out.status.success());
    assert!(server.calls().is_empty());
}

// ---------------------------------------------------------------------------------------------
// The results comment on Bitbucket.

const BB_TOKEN: &str = "bb-token";
const BB_BOT: &str = "{bot-uuid}";
const PAGE: usize = 2;

#[derive(Default)]
struct BitbucketState {
    /// (id, author uuid, raw, deleted)
    comments: Vec<(u64, String, String, bool)>,
    next_id: u64,
    /// Where `next` links point, when set.
    next_base: Option<String>,
    url: String,
}

fn bitbucket_route(state: &mut BitbucketState, request: &Request) -> Answer {
    if request.header("Authorization") != Some(&format!("Bearer {BB_TOKEN}")) {
        return Answer::json(401, json!({"type": "error"}));
    }
    let comments = "/2.0/repositories/ws/repo/pullrequests/3/comments";
    let path = request.path().to_string();
    match (request.method.as_str(), path.as_str()) {
        ("POST", p) if p == comments => {
            state.next_id += 1;
            let id = 500 + state.next_id;
            let raw = request.json()["content"]["raw"]
                .as_str()
                .unwrap()
                .to_string();
            state.comments.push((id, BB_BOT.into(), raw.clone(), false));
            Answer::json(
                201,
                json!({"id": id, "user": {"uuid": BB_BOT}, "content": {"raw": raw}}),
            )
        }
        ("GET", p) if p == comments => {
            let page: usize = request.query("page").map_or(1, |p| p.parse().unwrap());
            let values: Vec<Value> = state
                .comments
                .iter()
                .skip((page - 1) * PAGE)
                .take(PAGE)
                .map(|(id, uuid, raw, deleted)| {
                    json!({"id": id, "user": {"uuid": uuid}, "content": {"raw": raw}, "deleted": deleted})
                })
                .collect();
            let mut body = json!({"values": values, "pagelen": PAGE});
            if state.comments.len() > page * PAGE {
                let base = state.next_base.clone().unwrap_or_else(|| state.url.clone());
                body["next"] = json!(format!("{base}{comments}?pagelen=100&page={}", page + 1));
            }
            Answer::json(200, body)
        }
        ("DELETE", p) if p.starts_with(&format!("{comments}/")) => {
            let id: u64 = p.rsplit('/').next().unwrap().parse().unwrap();
            let Some(comment) = state.comments.iter_mut().find(|c| c.0 == id) else {
                return Answer::json(404, json!({}));
            };
            if comment.1 != BB_BOT {
                return Answer::json(403, json!({"type": "error"}));
            }
            comment.3 = true;
            Answer {
                status: 204,
                headers: Vec::new(),
                body: String::new(),
            }
        }
        _ => Answer::json(404, json!({"type": "error"})),
    }
}

fn comment_project() -> (Project, PathBuf) {
    let project = Project::fixture("extras-flat");
    project
        .gpu_ci(&["init", "--yes", "--ci", "bitbucket"])
        .success();
    let script = project.path(".bitbucket/gpu-ci-comment.py");
    (project, script)
}

fn bitbucket_env(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("GPU_CI_BITBUCKET_API_URL", format!("{url}/2.0")),
        ("BITBUCKET_WORKSPACE", "ws".into()),
        ("BITBUCKET_REPO_SLUG", "repo".into()),
        ("BITBUCKET_REPO_FULL_NAME", "ws/repo".into()),
        ("BITBUCKET_BUILD_NUMBER", "12".into()),
        ("GPU_CI_BITBUCKET_TOKEN", BB_TOKEN.into()),
        ("PR", "3".into()),
    ]
}

fn start_bitbucket(state: BitbucketState) -> FakeForge<BitbucketState> {
    let server = FakeForge::start(state, bitbucket_route);
    server.state.lock().unwrap().url = server.url.clone();
    server
}

#[test]
fn one_results_comment_per_pr_and_an_attackers_is_never_touched() {
    const MARKER: &str = "[gpu-ci]: # (gpu-ci results)";
    let (_project, script) = comment_project();
    let mut state = BitbucketState::default();
    // Others' comments, one of them the marker's forgery, across pages.
    state
        .comments
        .push((1, "{someone}".into(), "hello".into(), false));
    state.comments.push((
        2,
        "{attacker}".into(),
        format!("{MARKER}\n\n### ✅ forged"),
        false,
    ));
    state
        .comments
        .push((3, "{someone}".into(), "more".into(), false));
    let server = start_bitbucket(state);
    let env = bitbucket_env(&server.url);

    let out = Work::new(Some("### ✅ GPU tests passed\n"), "0").run(&script, &as_refs(&env));
    assert!(out.status.success(), "{}", describe(&out));
    let first = {
        let state = server.state.lock().unwrap();
        let mine: Vec<_> = state
            .comments
            .iter()
            .filter(|c| c.1 == BB_BOT)
            .cloned()
            .collect();
        assert_eq!(mine.len(), 1);
        assert!(
            mine[0]
                .2
                .starts_with(&format!("{MARKER}\n\n### ✅ GPU tests passed"))
        );
        assert!(
            mine[0]
                .2
                .contains("[pipeline](https://bitbucket.org/ws/repo/pipelines/results/12)")
        );
        mine[0].0
    };
    let out = Work::new(Some("### ❌ GPU tests failed\n"), "1").run(&script, &as_refs(&env));
    assert!(out.status.success(), "{}", describe(&out));
    let state = server.state.lock().unwrap();
    let live: Vec<_> = state
        .comments
        .iter()
        .filter(|c| c.1 == BB_BOT && !c.3)
        .collect();
    assert_eq!(live.len(), 1, "one results comment");
    assert!(live[0].2.contains("GPU tests failed"));
    assert!(
        state.comments.iter().any(|c| c.0 == first && c.3),
        "the older one is deleted"
    );
    assert!(!state.comments[1].3, "the forgery stays");
    assert!(!server.calls().iter().any(|c| c.ends_with("/comments/2")));
}

#[test]
fn the_comment_is_bitbucket_markdown_and_the_token_stays_with_the_api() {
    let (_project, script) = comment_project();
    let server = start_bitbucket(BitbucketState::default());
    let env = bitbucket_env(&server.url);
    let summary = "### ❌ GPU tests failed\n\nRerun the failing tests:\n\n<pre>gpu-ci run -- tests/t.py::test_a</pre>\n\n#### Failing tests\n\n<details><summary><code>tests/t.py::test_a</code> (failed)</summary>\n\n<pre>assert 1 &lt; 0 ```x```\n@\u{200b}someone</pre>\n</details>\n";
    let out = Work::new(Some(summary), "1").run(&script, &as_refs(&env));
    assert!(out.status.success(), "{}", describe(&out));
    {
        let state = server.state.lock().unwrap();
        let body = &state.comments[0].2;
        for tag in ["<pre>", "</pre>", "<details>", "<summary>", "<code>"] {
            assert!(!body.contains(tag), "{tag} in {body}");
        }
        assert!(
            body.contains("**` tests/t.py::test_a ` (failed)**"),
            "{body}"
        );
        assert!(
            body.contains("\n````\nassert 1 < 0 ```x```\n@\u{200b}someone\n````\n"),
            "{body}"
        );
    }

    // A `next` link to another host never gets the token.
    let mut state = BitbucketState::default();
    for i in 0..3 {
        state.comments.push((i, "{x}".into(), "c".into(), false));
    }
    state.next_base = Some("http://127.0.0.1:9".into());
    let server = start_bitbucket(state);
    let env = bitbucket_env(&server.url);
    let out = Work::new(None, "1").run(&script, &as_refs(&env));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("refusing to send the token"),
        "{}",
        describe(&out)
    );

    // No PR: nothing to post, no call.
    let server = start_bitbucket(BitbucketState::default());
    let env: Vec<_> = bitbucket_env(&server.url)
        .into_iter()
        .filter(|(k, _)| *k != "PR")
        .collect();
    let out = Work::new(None, "0").run(&script, &as_refs(&env));
    assert!(out.status.success());
    assert!(server.calls().is_empty());
}

// ---------------------------------------------------------------------------------------------
// What each script posts for a summary, for the Markdown tests (markdown.rs).

/// The note body the GitLab script posts for each of `summaries`, one fresh forge each.
pub(crate) fn gitlab_notes_of(summaries: &[String]) -> Vec<String> {
    let (_project, script, _) = note_project("gpu-tests");
    summaries
        .iter()
        .map(|summary| {
            let server = FakeForge::start(GitLabState::default(), gitlab_route);
            let env = gitlab_env(&server.url);
            let out = Work::new(Some(summary), "1").run(&script, &as_refs(&env));
            assert!(out.status.success(), "{}", describe(&out));
            let state = server.state.lock().unwrap();
            assert_eq!(state.notes.len(), 1);
            state.notes[0].2.clone()
        })
        .collect()
}

/// The comment the Bitbucket script posts for each of `summaries`, one fresh forge each.
pub(crate) fn bitbucket_comments_of(summaries: &[String]) -> Vec<String> {
    let (_project, script) = comment_project();
    summaries
        .iter()
        .map(|summary| {
            let server = start_bitbucket(BitbucketState::default());
            let env = bitbucket_env(&server.url);
            let out = Work::new(Some(summary), "1").run(&script, &as_refs(&env));
            assert!(out.status.success(), "{}", describe(&out));
            let state = server.state.lock().unwrap();
            assert_eq!(state.comments.len(), 1);
            state.comments[0].2.clone()
        })
        .collect()
}
