//! A small stateful GitHub REST API on 127.0.0.1 for `github setup` and `doctor`: one
//! repository's labels, secrets, variables, environments and files. It holds the private half
//! of the secrets key, so a test can check that a sealed secret opens to the right value.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use crypto_box::SecretKey;
use crypto_box::aead::OsRng;
use serde_json::{Value, json};

use crate::common::{Project, git};

pub const REPO: &str = "octo-org/octo-repo";
pub const TOKEN: &str = "ghp-test-token";
const KEY_ID: &str = "key-1";

/// What the fake repository holds.
#[derive(Debug, Clone, Default)]
pub struct State {
    pub default_branch: String,
    /// name → (colour, description)
    pub labels: BTreeMap<String, (String, String)>,
    /// name → the value, as opened with the private key
    pub secrets: BTreeMap<String, String>,
    pub organization_secrets: Vec<String>,
    /// The token may not list the organisation's secrets (403).
    pub organization_secrets_forbidden: bool,
    pub variables: BTreeMap<String, String>,
    pub environments: BTreeSet<String>,
    /// Paths on the default branch.
    pub files: BTreeSet<String>,
    /// `(METHOD, path)` → a server that the request is sent on to with a 307 (issue 20).
    pub redirects: BTreeMap<(String, String), String>,
    /// Other repositories (the actions'): `owner/name` → its default branch and refs.
    pub action_repos: BTreeMap<String, ActionRepo>,
}

/// An action's repository, for the compare API: each ref (a tag or branch) with the commits
/// reachable from it, its own first.
#[derive(Debug, Clone, Default)]
pub struct ActionRepo {
    pub default_branch: String,
    pub refs: BTreeMap<String, Vec<String>>,
}

impl State {
    /// The repository, and each action gpu-ci pins with its embedded commit on its tag and,
    /// behind a newer commit, on `main`.
    pub fn new() -> State {
        let action_repos = gpu_ci::pins::PINNED_ACTIONS
            .iter()
            .map(|action| {
                let refs = BTreeMap::from([
                    (action.version.to_string(), vec![action.sha.to_string()]),
                    (
                        "main".to_string(),
                        vec!["f".repeat(40), action.sha.to_string()],
                    ),
                ]);
                let repo = ActionRepo {
                    default_branch: "main".into(),
                    refs,
                };
                (action.repo.to_string(), repo)
            })
            .collect();
        State {
            default_branch: "main".into(),
            action_repos,
            ..State::default()
        }
    }
}

/// GitHub's compare API for an action's repository: `identical`, `behind` (an ancestor of
/// the base), `diverged` (a commit elsewhere in the fork network), or 404.
fn route_action(state: &State, method: &str, path: &str) -> (u16, String) {
    let parts: Vec<String> = path.split('/').skip(2).map(decode).collect();
    let (Some(owner), Some(name)) = (parts.first(), parts.get(1)) else {
        return not_found();
    };
    let Some(repo) = state.action_repos.get(&format!("{owner}/{name}")) else {
        return not_found();
    };
    match (method, &parts[2..]) {
        ("GET", []) => answer(200, json!({"default_branch": repo.default_branch})),
        ("GET", [compare, basehead]) if compare == "compare" => {
            let Some((base, head)) = basehead.split_once("...") else {
                return not_found();
            };
            let Some(commits) = repo.refs.get(base) else {
                return not_found();
            };
            let status = match commits.iter().position(|c| c == head) {
                Some(0) => "identical",
                Some(_) => "behind",
                None => "diverged",
            };
            answer(200, json!({"status": status}))
        }
        _ => not_found(),
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub body: String,
}

impl Request {
    /// Whether the request asks for a change.
    pub fn changes(&self) -> bool {
        self.method != "GET"
    }
}

pub struct FakeGitHub {
    pub url: String,
    state: Arc<Mutex<State>>,
    log: Arc<Mutex<Vec<Request>>>,
}

fn decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn answer(status: u16, body: Value) -> (u16, String) {
    (status, body.to_string())
}

fn not_found() -> (u16, String) {
    answer(404, json!({"message": "Not Found"}))
}

/// The answer to one request, changing `state` as GitHub would.
fn route(
    state: &mut State,
    key: &SecretKey,
    method: &str,
    path: &str,
    query: &str,
    body: &str,
) -> (u16, String) {
    let Some(rest) = path.strip_prefix(&format!("/repos/{REPO}")) else {
        return route_action(state, method, path);
    };
    let parts: Vec<String> = rest.split('/').skip(1).map(decode).collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let text = |field: &str| body[field].as_str().unwrap_or_default().to_string();
    match (method, parts.as_slice()) {
        ("GET", []) => answer(200, json!({"default_branch": state.default_branch})),
        ("GET", ["labels", name]) => match state.labels.get(*name) {
            Some((color, description)) => answer(
                200,
                json!({"name": name, "color": color, "description": description}),
            ),
            None => not_found(),
        },
        ("POST", ["labels"]) => {
            let name = text("name");
            if state.labels.contains_key(&name) {
                return answer(422, json!({"message": "Validation Failed"}));
            }
            state
                .labels
                .insert(name.clone(), (text("color"), text("description")));
            answer(201, json!({"name": name}))
        }
        ("GET", ["actions", "secrets"]) => {
            let secrets: Vec<Value> = state.secrets.keys().map(|n| json!({"name": n})).collect();
            answer(
                200,
                json!({"total_count": secrets.len(), "secrets": secrets}),
            )
        }
        ("GET", ["actions", "organization-secrets"]) if state.organization_secrets_forbidden => {
            answer(
                403,
                json!({"message": "Resource not accessible by integration"}),
            )
        }
        ("GET", ["actions", "organization-secrets"]) => {
            let secrets: Vec<Value> = state
                .organization_secrets
                .iter()
                .map(|n| json!({"name": n}))
                .collect();
            answer(
                200,
                json!({"total_count": secrets.len(), "secrets": secrets}),
            )
        }
        ("GET", ["actions", "secrets", "public-key"]) => answer(
            200,
            json!({"key_id": KEY_ID, "key": BASE64.encode(key.public_key().as_bytes())}),
        ),
        ("PUT", ["actions", "secrets", name]) => {
            if text("key_id") != KEY_ID {
                return answer(422, json!({"message": "wrong key_id"}));
            }
            let Ok(sealed) = BASE64.decode(text("encrypted_value")) else {
                return answer(422, json!({"message": "not base64"}));
            };
            let Ok(opened) = key.unseal(&sealed) else {
                return answer(
                    422,
                    json!({"message": "does not open with the repository key"}),
                );
            };
            let existed = state
                .secrets
                .insert(name.to_string(), String::from_utf8(opened).unwrap())
                .is_some();
            answer(if existed { 204 } else { 201 }, json!({}))
        }
        ("GET", ["actions", "variables", name]) => match state.variables.get(*name) {
            Some(value) => answer(200, json!({"name": name, "value": value})),
            None => not_found(),
        },
        ("POST", ["actions", "variables"]) => {
            let name = text("name");
            if state.variables.contains_key(&name) {
                return answer(409, json!({"message": "Already exists"}));
            }
            state.variables.insert(name, text("value"));
            answer(201, json!({}))
        }
        ("PATCH", ["actions", "variables", name]) => {
            if !state.variables.contains_key(*name) {
                return not_found();
            }
            state.variables.insert(name.to_string(), text("value"));
            answer(204, json!({}))
        }
        ("GET", ["environments", name]) if state.environments.contains(*name) => {
            answer(200, json!({"name": name}))
        }
        ("PUT", ["environments", name]) => {
            state.environments.insert(name.to_string());
            answer(200, json!({"name": name}))
        }
        ("GET", ["contents", ..]) => {
            let file = parts[1..].join("/");
            let on_default = query == format!("ref={}", state.default_branch);
            if on_default && state.files.contains(&file) {
                answer(200, json!({"path": file, "type": "file"}))
            } else {
                not_found()
            }
        }
        _ => not_found(),
    }
}

impl FakeGitHub {
    pub fn start(state: State) -> FakeGitHub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(state));
        let log = Arc::new(Mutex::new(Vec::new()));
        let key = SecretKey::generate(&mut OsRng);
        let (shared, seen) = (Arc::clone(&state), Arc::clone(&log));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let mut length = 0;
                let mut authorization = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':') {
                        match name.trim().to_ascii_lowercase().as_str() {
                            "content-length" => length = value.trim().parse().unwrap_or(0),
                            "authorization" => authorization = Some(value.trim().to_string()),
                            _ => {}
                        }
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                let body = String::from_utf8_lossy(&body).into_owned();
                let mut words = request_line.split_whitespace();
                let method = words.next().unwrap_or("").to_string();
                let target = words.next().unwrap_or("").to_string();
                let (path, query) = target.split_once('?').unwrap_or((&target, ""));
                seen.lock().unwrap().push(Request {
                    method: method.clone(),
                    path: path.to_string(),
                    body: body.clone(),
                });
                let redirect = shared
                    .lock()
                    .unwrap()
                    .redirects
                    .get(&(method.clone(), path.to_string()))
                    .cloned();
                if let Some(to) = redirect {
                    let response = format!(
                        "HTTP/1.1 307 Temporary Redirect\r\nlocation: {to}{target}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    let _ = stream.write_all(response.as_bytes());
                    continue;
                }
                let (status, answer) =
                    if authorization.as_deref() != Some(&format!("Bearer {TOKEN}")) {
                        answer(401, json!({"message": "Bad credentials"}))
                    } else {
                        route(
                            &mut shared.lock().unwrap(),
                            &key,
                            &method,
                            path,
                            query,
                            &body,
                        )
                    };
                let response = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = stream.write_all(response.as_bytes());
            }
        });
        FakeGitHub { url, state, log }
    }

    pub fn state(&self) -> State {
        self.state.lock().unwrap().clone()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }

    /// The requests that asked for a change, as `METHOD path`.
    pub fn changes(&self) -> Vec<String> {
        self.requests()
            .iter()
            .filter(|r| r.changes())
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    pub fn forget_requests(&self) {
        self.log.lock().unwrap().clear();
    }
}

/// A fixture after `gpu-ci init --yes`, committed on `main`, with `origin` on GitHub (ssh).
pub fn committed_project(fixture: &str) -> Project {
    let project = Project::initialised(fixture);
    git(&project.root, &["init", "-q", "-b", "main"]);
    git(
        &project.root,
        &[
            "remote",
            "add",
            "origin",
            &format!("git@github.com:{REPO}.git"),
        ],
    );
    git(&project.root, &["add", "-A"]);
    git(&project.root, &["commit", "-q", "-m", "gpu-ci init"]);
    project
}
