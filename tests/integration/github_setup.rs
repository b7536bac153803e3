//! `gpu-ci github setup` against a fake GitHub on 127.0.0.1 (tests/integration/fake_github.rs)
//! that opens every sealed secret with the repository's private key. Never the internet.

use std::path::PathBuf;

use predicates::prelude::*;
use tempfile::TempDir;

use crate::common::{Project, gpu_ci};
use crate::fake_github::{FakeGitHub, REPO, State, TOKEN, committed_project};

/// A Modal config file with two profiles; `ci` is the active one.
const MODAL_TOML: &str = r#"
[default]
token_id = "ak-default-id"
token_secret = "as-default-secret"

[ci]
token_id = "ak-ci-id"
token_secret = "as-ci-secret"
environment = "ci-env"
active = true
"#;

struct Modal {
    _dir: TempDir,
    config: PathBuf,
}

fn modal_config(text: &str) -> Modal {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("modal.toml");
    std::fs::write(&config, text).unwrap();
    Modal { _dir: dir, config }
}

fn setup(project: &Project, server: &FakeGitHub, modal: &Modal) -> assert_cmd::Command {
    let mut cmd = gpu_ci();
    cmd.arg("-C")
        .arg(&project.root)
        .args(["github", "setup"])
        .env("GITHUB_API_URL", &server.url)
        .env("GITHUB_TOKEN", TOKEN)
        .env("MODAL_CONFIG_PATH", &modal.config)
        .env("GPU_CI_RETRY_DELAY_MS", "1");
    cmd
}

/// Everything the command printed.
fn output_of(assert: &assert_cmd::assert::Assert) -> String {
    let output = assert.get_output();
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn assert_no_secret_shown(text: &str) {
    for secret in [
        "ak-ci-id",
        "as-ci-secret",
        "ak-default-id",
        "as-default-secret",
        "as-env-secret",
    ] {
        assert!(!text.contains(secret), "a secret was printed:\n{text}");
    }
}

#[test]
fn creates_the_label_and_secrets_that_open_to_the_profiles_token_and_a_rerun_changes_nothing() {
    let project = committed_project("uv-groups-src");
    let server = FakeGitHub::start(State::new());
    let modal = modal_config(MODAL_TOML);

    let first = setup(&project, &server, &modal).assert().success();
    let text = output_of(&first);
    assert_no_secret_shown(&text);
    assert!(text.contains("created label `gpu-tests`"), "{text}");
    assert!(
        text.contains("set secret MODAL_TOKEN_SECRET from profile `ci`"),
        "{text}"
    );
    let state = server.state();
    assert_eq!(
        state.labels["gpu-tests"],
        (
            "1d76db".to_string(),
            "Run the GPU tests on Modal (gpu-ci)".to_string()
        )
    );
    // The active profile's token, opened with the repository's private key.
    assert_eq!(state.secrets["MODAL_TOKEN_ID"], "ak-ci-id");
    assert_eq!(state.secrets["MODAL_TOKEN_SECRET"], "as-ci-secret");
    // The profile's Modal environment goes with its token.
    assert_eq!(state.variables["MODAL_ENVIRONMENT"], "ci-env");
    // No secret crossed the wire unsealed.
    for request in server.requests() {
        assert_no_secret_shown(&request.body);
    }

    server.forget_requests();
    let second = setup(&project, &server, &modal).assert().success();
    assert_eq!(
        server.changes(),
        Vec::<String>::new(),
        "a rerun changed GitHub"
    );
    let text = output_of(&second);
    assert!(text.contains("nothing changed"), "{text}");
    assert_no_secret_shown(&text);
}

#[test]
fn modal_profile_and_token_variables_win_as_in_modals_own_client() {
    let project = committed_project("extras-flat");
    let server = FakeGitHub::start(State::new());
    let modal = modal_config(MODAL_TOML);
    let assert = setup(&project, &server, &modal)
        .env("MODAL_PROFILE", "default")
        .env("MODAL_TOKEN_SECRET", "as-env-secret")
        .assert()
        .success();
    let text = output_of(&assert);
    assert_no_secret_shown(&text);
    assert!(
        text.contains("secret MODAL_TOKEN_SECRET from MODAL_TOKEN_SECRET"),
        "{text}"
    );
    let state = server.state();
    assert_eq!(state.secrets["MODAL_TOKEN_ID"], "ak-default-id");
    assert_eq!(state.secrets["MODAL_TOKEN_SECRET"], "as-env-secret");
    // The default profile names no environment: no variable.
    assert!(state.variables.is_empty(), "{:?}", state.variables);
}

#[test]
fn dry_run_reads_github_and_changes_nothing() {
    let project = committed_project("uv-groups-src");
    let server = FakeGitHub::start(State::new());
    let modal = modal_config(MODAL_TOML);
    let assert = setup(&project, &server, &modal)
        .args(["--dry-run", "--gpu", "H100:2", "--environment", "gpu ci"])
        .assert()
        .success();
    let text = output_of(&assert);
    for line in [
        "would create label `gpu-tests`",
        "would set secret MODAL_TOKEN_ID from profile `ci`",
        "would set variable MODAL_GPU = \"H100:2\"",
        "would create environment `gpu ci`",
        "dry run: nothing changed",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    assert_no_secret_shown(&text);
    assert_eq!(server.changes(), Vec::<String>::new());
}

#[test]
fn variables_are_updated_and_environments_created_once() {
    let project = committed_project("uv-groups-src");
    let mut state = State::new();
    state.variables.insert("MODAL_GPU".into(), "L4".into());
    let server = FakeGitHub::start(state);
    let modal = modal_config(MODAL_TOML);
    let args = [
        "--repo",
        REPO,
        "--gpu",
        "h100:2",
        "--modal-environment",
        "gpu-ci",
        "--environment",
        "gpu tests",
    ];
    let assert = setup(&project, &server, &modal)
        .args(args)
        .assert()
        .success();
    let text = output_of(&assert);
    assert!(
        text.contains("updated variable MODAL_GPU = \"H100:2\""),
        "{text}"
    );
    let state = server.state();
    assert_eq!(state.variables["MODAL_GPU"], "H100:2");
    // The flag beats the profile's environment.
    assert_eq!(state.variables["MODAL_ENVIRONMENT"], "gpu-ci");
    assert!(state.environments.contains("gpu tests"));

    server.forget_requests();
    setup(&project, &server, &modal)
        .args(args)
        .assert()
        .success();
    assert_eq!(server.changes(), Vec::<String>::new());
}

#[test]
fn existing_secrets_are_kept_unless_replaced() {
    let project = committed_project("uv-groups-src");
    let mut state = State::new();
    for name in ["MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET"] {
        state.secrets.insert(name.into(), "old".into());
    }
    state
        .labels
        .insert("gpu-tests".into(), ("ededed".into(), String::new()));
    let server = FakeGitHub::start(state);
    // No local token is needed when there is nothing to set.
    let modal = modal_config("");
    setup(&project, &server, &modal)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "secret MODAL_TOKEN_ID exists (--replace-secrets sets it again)",
        ));
    assert_eq!(server.changes(), Vec::<String>::new());
    // A label that exists is left as the maintainer made it.
    assert_eq!(server.state().labels["gpu-tests"].0, "ededed");

    let modal = modal_config(MODAL_TOML);
    let assert = setup(&project, &server, &modal)
        .arg("--replace-secrets")
        .assert()
        .success();
    assert!(output_of(&assert).contains("replaced secret MODAL_TOKEN_ID"));
    assert_eq!(server.state().secrets["MODAL_TOKEN_SECRET"], "as-ci-secret");
}

#[test]
fn a_label_with_spaces_is_found_and_created_by_its_name() {
    let project = Project::fixture("uv-groups-src");
    project
        .gpu_ci(&["init", "--yes", "--label", "run on gpu"])
        .success();
    let server = FakeGitHub::start(State::new());
    let modal = modal_config(MODAL_TOML);
    setup(&project, &server, &modal)
        .args(["--repo", REPO])
        .assert()
        .success();
    assert!(server.state().labels.contains_key("run on gpu"));
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/labels/run%20on%20gpu")),
        "the label's name is percent-encoded in the path"
    );
}

#[test]
fn refuses_before_changing_anything() {
    let project = committed_project("uv-groups-src");
    let server = FakeGitHub::start(State::new());
    let modal = modal_config(MODAL_TOML);

    // No token.
    setup(&project, &server, &modal)
        .env_remove("GITHUB_TOKEN")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("needs a GitHub token"))
        .stderr(predicate::str::contains("GH_TOKEN"));
    // A token GitHub refuses.
    setup(&project, &server, &modal)
        .env("GITHUB_TOKEN", "wrong")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("401"))
        .stderr(predicate::str::contains("expired"));
    // No Modal token anywhere.
    let empty = modal_config("[default]\n");
    setup(&project, &server, &empty)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no value for the secrets MODAL_TOKEN_ID and MODAL_TOKEN_SECRET",
        ))
        .stderr(predicate::str::contains("modal token new"));
    // No remote and no --repo.
    let bare = Project::initialised("uv-groups-src");
    setup(&bare, &server, &modal)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no git remote `origin`"))
        .stderr(predicate::str::contains("--repo OWNER/NAME"));
    // A remote that names no repository, with a token in it: the message leaves it out.
    let tokened = committed_project("uv-groups-src");
    crate::common::git(
        &tokened.root,
        &[
            "remote",
            "set-url",
            "origin",
            "https://x-access-token:ghp-in-the-remote@github.example.com/",
        ],
    );
    let assert = setup(&tokened, &server, &modal).assert().code(2);
    let text = output_of(&assert);
    assert!(
        text.contains("the remote `origin` (\"https://github.example.com/\")"),
        "{text}"
    );
    assert!(text.contains("--repo OWNER/NAME"), "{text}");
    assert!(
        !text.contains("ghp-in-the-remote"),
        "a token was printed:\n{text}"
    );
    // A malformed --repo.
    setup(&project, &server, &modal)
        .args(["--repo", "octo-org"])
        .assert()
        .code(2);
    // Not set up.
    setup(&Project::fixture("uv-groups-src"), &server, &modal)
        .args(["--repo", REPO])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("gpu-ci init"));
    assert_eq!(server.changes(), Vec::<String>::new());
}

/// Issue 20, finding 5: a 307 to another origin (a second server on another local port) is not
/// followed, for the sealing key nor for the sealed secret: that server sees no request, the
/// command fails with an `error:` naming where the redirect pointed, and no secret is set.
#[test]
fn a_redirect_to_another_origin_gets_neither_the_key_request_nor_the_secret() {
    let key = format!("/repos/{REPO}/actions/secrets/public-key");
    let secret = format!("/repos/{REPO}/actions/secrets/MODAL_TOKEN_SECRET");
    for (method, path) in [("GET", key.as_str()), ("PUT", secret.as_str())] {
        let project = committed_project("uv-groups-src");
        let elsewhere = FakeGitHub::start(State::new());
        let mut state = State::new();
        state.redirects.insert(
            (method.to_string(), path.to_string()),
            elsewhere.url.clone(),
        );
        let server = FakeGitHub::start(state);
        let modal = modal_config(MODAL_TOML);
        let failed = setup(&project, &server, &modal).assert().code(2);
        let text = output_of(&failed);
        let port = elsewhere.url.rsplit(':').next().unwrap();
        assert!(
            text.contains("error: cannot ")
                && text.contains("answered 307 Temporary Redirect with a redirect to")
                && text.contains(port),
            "{method} {path}:\n{text}"
        );
        assert_no_secret_shown(&text);
        assert_eq!(
            elsewhere
                .requests()
                .iter()
                .map(|r| format!("{} {}", r.method, r.path))
                .collect::<Vec<_>>(),
            Vec::<String>::new(),
            "{method} {path}: the other origin was asked"
        );
        assert!(
            !server.state().secrets.contains_key("MODAL_TOKEN_SECRET"),
            "{method} {path}"
        );
    }
}
