//! `gpu-ci pin` against a small GitHub API the test serves on 127.0.0.1: never the internet.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use predicates::prelude::*;

use crate::common::{GENERATED, Project};

/// A canned answer: status, extra headers, JSON body.
pub type Answer = (u16, Vec<(&'static str, String)>, String);

/// The whole HTTP response to a request for `path`: its route's answer, else GitHub's 404.
pub fn answer(routes: &HashMap<String, Answer>, path: &str) -> String {
    let (status, extra, body) = routes.get(path).cloned().unwrap_or((
        404,
        Vec::new(),
        "{\"message\":\"Not Found\"}".into(),
    ));
    let mut response = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (name, value) in extra {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str("\r\n");
    response.push_str(&body);
    response
}

#[derive(Debug, Clone)]
struct Seen {
    path: String,
    authorization: Option<String>,
    user_agent: Option<String>,
}

pub struct FakeGitHub {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeGitHub {
    pub fn start(routes: HashMap<String, Answer>) -> FakeGitHub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let mut headers = HashMap::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':') {
                        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
                    }
                }
                let target = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("")
                    .to_string();
                let path = target.split('?').next().unwrap().to_string();
                log.lock().unwrap().push(Seen {
                    path: path.clone(),
                    authorization: headers.get("authorization").cloned(),
                    user_agent: headers.get("user-agent").cloned(),
                });
                let response = answer(&routes, &path);
                let _ = stream.write_all(response.as_bytes());
            }
        });
        FakeGitHub { url, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

pub fn sha(n: u32) -> String {
    format!("{n:040x}")
}

pub fn ok(body: String) -> Answer {
    (200, Vec::new(), body)
}

pub fn tag_ref(tag: &str, object_sha: &str, kind: &str) -> String {
    format!(
        "{{\"ref\":\"refs/tags/{tag}\",\"object\":{{\"sha\":\"{object_sha}\",\"type\":\"{kind}\"}}}}"
    )
}

/// The four actions the templates use, each with a few tags and a latest release.
pub fn routes() -> HashMap<String, Answer> {
    let mut r = HashMap::new();
    // checkout: lightweight tags; v4.3.1 is the newest v4; a pre-release and v40 are ignored.
    r.insert(
        "/repos/actions/checkout/git/matching-refs/tags/v4".into(),
        ok(format!(
            "[{},{},{},{}]",
            tag_ref("v4.0.0", &sha(0x400), "commit"),
            tag_ref("v4.3.1", &sha(0x431), "commit"),
            tag_ref("v4.10.0-rc1", &sha(0x999), "commit"),
            tag_ref("v40.0.0", &sha(0x4000), "commit"),
        )),
    );
    r.insert(
        "/repos/actions/checkout/releases/latest".into(),
        ok("{\"tag_name\":\"v5.0.0\"}".into()),
    );
    r.insert(
        "/repos/actions/checkout/git/ref/tags/v5.0.0".into(),
        ok(tag_ref("v5.0.0", &sha(0x500), "commit")),
    );
    // setup-python: the newest v5 is an annotated tag, dereferenced to its commit.
    r.insert(
        "/repos/actions/setup-python/git/matching-refs/tags/v5".into(),
        ok(format!(
            "[{},{}]",
            tag_ref("v5.6.0", &sha(0x560), "commit"),
            tag_ref("v5.7.0", &sha(0xa570), "tag")
        )),
    );
    r.insert(
        format!("/repos/actions/setup-python/git/tags/{}", sha(0xa570)),
        ok(format!(
            "{{\"object\":{{\"sha\":\"{}\",\"type\":\"commit\"}}}}",
            sha(0x570)
        )),
    );
    r.insert(
        "/repos/actions/setup-python/releases/latest".into(),
        ok("{\"tag_name\":\"v5.7.0\"}".into()),
    );
    r.insert(
        "/repos/actions/setup-python/git/ref/tags/v5.7.0".into(),
        ok(tag_ref("v5.7.0", &sha(0xa570), "tag")),
    );
    for (repo, newest, latest) in [
        ("upload-artifact", 0x470, 0x600),
        ("download-artifact", 0x450, 0x700),
    ] {
        r.insert(
            format!("/repos/actions/{repo}/git/matching-refs/tags/v4"),
            ok(format!("[{}]", tag_ref("v4.7.0", &sha(newest), "commit"))),
        );
        let latest_tag = format!("v{}.0.0", latest >> 8);
        r.insert(
            format!("/repos/actions/{repo}/releases/latest"),
            ok(format!("{{\"tag_name\":\"{latest_tag}\"}}")),
        );
        r.insert(
            format!("/repos/actions/{repo}/git/ref/tags/{latest_tag}"),
            ok(tag_ref(&latest_tag, &sha(latest), "commit")),
        );
    }
    r
}

pub fn pin(project: &Project, server: &FakeGitHub, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = crate::common::gpu_ci();
    cmd.arg("-C")
        .arg(&project.root)
        .arg("pin")
        .args(args)
        .env("GITHUB_API_URL", &server.url)
        .env("GPU_CI_RETRY_DELAY_MS", "1");
    cmd
}

/// `gpu-ci pin` fails with exit 2, saying each of `messages`, and changes nothing.
fn assert_pin_fails(project: &Project, server: &FakeGitHub, messages: &[&str]) {
    let before = project.snapshot_tree();
    let mut assert = pin(project, server, &[]).assert().code(2);
    for message in messages {
        assert = assert.stderr(predicate::str::contains(*message));
    }
    assert_eq!(
        before,
        project.snapshot_tree(),
        "a failed pin must change nothing"
    );
}

/// Every remote `uses:` in the workflows.
pub fn uses_lines(project: &Project) -> Vec<String> {
    GENERATED[..3]
        .iter()
        .flat_map(|rel| {
            project
                .read(rel)
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter_map(|l| l.trim().strip_prefix("uses: ").map(str::to_string))
        .filter(|u| !u.starts_with("./"))
        .collect()
}

#[test]
fn pins_the_newest_tag_of_each_major_and_keeps_update_green() {
    let project = Project::initialised("uv-groups-src");
    let server = FakeGitHub::start(routes());
    pin(&project, &server, &[])
        .env("GITHUB_TOKEN", "ghp-test-token")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "pinned actions/checkout v4.2.2 → v4.3.1",
        ));
    let expected = [
        format!("actions/checkout@{} # v4.3.1", sha(0x431)),
        format!("actions/setup-python@{} # v5.7.0", sha(0x570)),
        format!("actions/upload-artifact@{} # v4.7.0", sha(0x470)),
        format!("actions/download-artifact@{} # v4.7.0", sha(0x450)),
    ];
    let uses = uses_lines(&project);
    assert!(!uses.is_empty());
    for line in &uses {
        assert!(
            expected.contains(line),
            "{line} is not a SHA the server gave"
        );
    }
    let config = project.read("pyproject.toml");
    assert!(
        config.contains(&format!(
            "[tool.gpu-ci.actions]\n\"actions/checkout\" = \"{} # v4.3.1\"",
            sha(0x431)
        )),
        "{config}"
    );
    assert!(config.contains(&format!(
        "\"actions/setup-python\" = \"{} # v5.7.0\"",
        sha(0x570)
    )));
    for request in server.seen() {
        assert_eq!(
            request.authorization.as_deref(),
            Some("Bearer ghp-test-token"),
            "{request:?}"
        );
        assert!(
            request
                .user_agent
                .as_deref()
                .unwrap_or("")
                .starts_with("gpu-ci/")
        );
    }
    project.gpu_ci(&["update", "--check"]).success();
    // Pinning again is a no-op.
    let tree = project.snapshot_tree();
    pin(&project, &server, &[]).assert().success();
    assert_eq!(tree, project.snapshot_tree());
}

#[test]
fn dry_run_shows_what_pin_would_change_and_writes_nothing() {
    let project = Project::initialised("uv-groups-src");
    let server = FakeGitHub::start(routes());
    let before = project.snapshot_tree();
    let output = pin(&project, &server, &["--dry-run"])
        .assert()
        .success()
        .stderr(predicate::str::contains("dry run: nothing written"))
        .get_output()
        .clone();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains("would change .github/workflows/_modal-gpu-tests.yml  +"),
        "{stdout}"
    );
    assert!(stdout.contains("would change pyproject.toml"), "{stdout}");
    assert!(!stdout.contains("@@"), "a summary, not a diff: {stdout}");
    assert_eq!(before, project.snapshot_tree());

    let output = pin(&project, &server, &["--dry-run", "--diff"])
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains(&format!(
            "+        uses: actions/checkout@{} # v4.3.1",
            sha(0x431)
        )),
        "{stdout}"
    );
    assert_eq!(before, project.snapshot_tree());
}

#[test]
fn upgrade_pins_the_latest_release_and_gh_token_works_too() {
    let project = Project::initialised("uv-groups-src");
    let server = FakeGitHub::start(routes());
    pin(&project, &server, &["--upgrade"])
        .env("GH_TOKEN", "gho-other")
        .assert()
        .success();
    let uses = uses_lines(&project);
    assert!(
        uses.contains(&format!("actions/checkout@{} # v5.0.0", sha(0x500))),
        "{uses:?}"
    );
    assert!(uses.contains(&format!("actions/upload-artifact@{} # v6.0.0", sha(0x600))));
    assert!(uses.contains(&format!("actions/setup-python@{} # v5.7.0", sha(0x570))));
    assert!(
        server
            .seen()
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer gho-other"))
    );
    project.gpu_ci(&["update", "--check"]).success();
}

#[test]
fn a_server_error_on_one_action_changes_nothing() {
    let project = Project::initialised("uv-groups-src");
    let mut routes = routes();
    let failing = "/repos/actions/upload-artifact/git/matching-refs/tags/v4".to_string();
    routes.insert(failing.clone(), (500, Vec::new(), "{}".into()));
    let server = FakeGitHub::start(routes);
    assert_pin_fails(
        &project,
        &server,
        &[
            "error: cannot resolve `actions/upload-artifact`: GitHub answered 500 Internal Server Error (after 3 tries",
            "nothing was changed",
        ],
    );
    let tries = server.seen().iter().filter(|r| r.path == failing).count();
    assert_eq!(tries, 3, "server errors are retried");
}

#[test]
fn rate_limit_names_the_reset_time_and_suggests_a_token() {
    let project = Project::initialised("uv-groups-src");
    let mut routes = HashMap::new();
    routes.insert(
        "/repos/actions/checkout/git/matching-refs/tags/v4".to_string(),
        (
            403,
            vec![
                ("x-ratelimit-remaining", "0".to_string()),
                ("x-ratelimit-reset", "1795000000".to_string()),
            ],
            "{\"message\":\"API rate limit exceeded\"}".to_string(),
        ),
    );
    let server = FakeGitHub::start(routes);
    assert_pin_fails(
        &project,
        &server,
        &[
            "error: GitHub's API rate limit is exhausted while resolving `actions/checkout`; it resets at 2026-11-18 11:06:40 UTC",
            "help: set GITHUB_TOKEN (or GH_TOKEN)",
        ],
    );
}

#[test]
fn check_lists_newer_releases_and_writes_nothing() {
    let project = Project::initialised("uv-groups-src");
    let server = FakeGitHub::start(routes());
    let before = project.snapshot_tree();
    pin(&project, &server, &["--check"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "actions/checkout: v4.2.2 → v5.0.0",
        ))
        .stdout(predicate::str::contains(
            "actions/setup-python: v5.6.0 → v5.7.0",
        ))
        .stderr(predicate::str::contains(
            "error: 4 actions have a newer release",
        ));
    assert_eq!(before, project.snapshot_tree());
    pin(&project, &server, &["--upgrade"]).assert().success();
    pin(&project, &server, &["--check"]).assert().success();
}

/// Issue 24: `pin --check --json`: every pinned action with its pin, its latest release and
/// whether that is newer; parsed here, exit 1 while any is, 0 after `--upgrade`.
#[test]
fn check_json_lists_every_action_and_its_latest_release() {
    let project = Project::initialised("uv-groups-src");
    let server = FakeGitHub::start(routes());
    let answer = |code: i32| -> serde_json::Value {
        let output = pin(&project, &server, &["--check", "--json"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(code), "{output:?}");
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let before = project.snapshot_tree();
    let first = answer(1);
    assert_eq!(before, project.snapshot_tree());
    assert_eq!(first["up_to_date"], false);
    let actions = first["actions"].as_array().unwrap();
    assert_eq!(
        actions.len(),
        gpu_ci::pins::PINNED_ACTIONS.len(),
        "{first:#}"
    );
    let checkout = actions
        .iter()
        .find(|a| a["repo"] == "actions/checkout")
        .unwrap();
    assert_eq!(
        checkout,
        &serde_json::json!({ "repo": "actions/checkout", "pinned": "v4.2.2", "latest": "v5.0.0", "newer": true })
    );
    assert_eq!(
        actions.iter().filter(|a| a["newer"] == true).count(),
        4,
        "{first:#}"
    );
    pin(&project, &server, &["--upgrade"]).assert().success();
    let after = answer(0);
    assert_eq!(after["up_to_date"], true);
    assert!(
        after["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["newer"] == false && a["pinned"] == a["latest"]),
        "{after:#}"
    );
}

/// A tag that names another commit than the pin (a re-release, or a compromised repository) is
/// pinned, and said: a warning with both commits and what to check.
#[test]
fn a_moved_tag_is_named_with_both_commits_and_what_to_check() {
    let project = Project::initialised("uv-groups-src");
    let mut routes = routes();
    routes.insert(
        "/repos/actions/checkout/git/matching-refs/tags/v4".into(),
        ok(format!("[{}]", tag_ref("v4.2.2", &sha(0x422), "commit"))),
    );
    let server = FakeGitHub::start(routes);
    pin(&project, &server, &[])
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "warning: `actions/checkout` v4.2.2 now names commit {}, not 11bd71901bbe5b1630ceea73d27597364c9af683: the tag was moved",
            sha(0x422)
        )))
        .stderr(predicate::str::contains(
            "help: a moved tag is a re-release or a compromised repository: compare the two commits in `actions/checkout`",
        ));
    assert!(uses_lines(&project).contains(&format!("actions/checkout@{} # v4.2.2", sha(0x422))));
}
