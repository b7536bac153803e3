//! `gpu-ci costs` (issue 26) against a local GitHub API and a local "storage" server on
//! another port (another origin, as GitHub's blob storage is): the artifact listing, the zip's
//! redirect followed without the token, and artifacts that are hostile: zip bombs, paths out
//! of their folder, huge entries, many entries, a ledger that is not gpu-ci's. Each is named
//! and left out; the rest is summed; nothing is written anywhere.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use zip::write::SimpleFileOptions;

use crate::common::{Project, gpu_ci};

const REPO: &str = "octo-org/octo-repo";
const TOKEN: &str = "ghp-costs-token";

/// One request as a server saw it: method, path with query, and its Authorization header.
type Seen = Arc<Mutex<Vec<(String, String, Option<String>)>>>;
type Handler = dyn Fn(&str, &str) -> (u16, Vec<(String, String)>, Vec<u8>) + Send + Sync;

/// A small HTTP/1.1 server on 127.0.0.1 for this test: each request answered by `handler`
/// (method, target) and recorded.
fn serve(handler: Arc<Handler>) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut authorization = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.trim().eq_ignore_ascii_case("authorization")
                {
                    authorization = Some(value.trim().to_string());
                }
            }
            let mut words = request_line.split_whitespace();
            let method = words.next().unwrap_or("").to_string();
            let target = words.next().unwrap_or("").to_string();
            log.lock()
                .unwrap()
                .push((method.clone(), target.clone(), authorization.clone()));
            let (status, headers, body) =
                if authorization.is_none() && target.starts_with("/repos/") {
                    (
                        401,
                        Vec::new(),
                        br#"{"message":"Requires authentication"}"#.to_vec(),
                    )
                } else {
                    handler(&method, &target)
                };
            let mut head = format!(
                "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    (url, seen)
}

/// A zip of `entries` (name, bytes, deflated or stored).
fn zip_of(entries: &[(&str, Vec<u8>, bool)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes, deflate) in entries {
        let method = if *deflate {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        writer
            .start_file(
                *name,
                SimpleFileOptions::default().compression_method(method),
            )
            .unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn ledger(trigger: &str, started: &str, runs: &[(&str, u8, f64, f64)]) -> Vec<u8> {
    let runs: Vec<Value> = runs
        .iter()
        .map(|(gpu, devices, seconds, cost)| {
            json!({"gpu": gpu, "devices": devices, "seconds": seconds, "cost_usd": cost})
        })
        .collect();
    let gpu_seconds: f64 = runs
        .iter()
        .map(|r| r["seconds"].as_f64().unwrap() * r["devices"].as_f64().unwrap())
        .sum();
    let cost: f64 = runs.iter().map(|r| r["cost_usd"].as_f64().unwrap()).sum();
    serde_json::to_vec_pretty(&json!({
        "schema": 1, "trigger": trigger, "started": started, "ended": started,
        "shards": runs.len().max(1), "deadline_seconds": 3600, "max_cost_usd": null,
        "gpu_seconds": gpu_seconds, "cost_usd": cost, "runs": runs,
    }))
    .unwrap()
}

struct Artifact {
    id: u64,
    created_at: &'static str,
    size: u64,
    expired: bool,
    zip: Vec<u8>,
}

fn artifact(id: u64, created_at: &'static str, zip: Vec<u8>) -> Artifact {
    Artifact {
        id,
        created_at,
        size: zip.len() as u64,
        expired: false,
        zip,
    }
}

/// The repository's artifacts, newest first: three good runs in two months, one run from before
/// the ledger, and the hostile ones; an expired one and one older than --since.
fn artifacts() -> Vec<Artifact> {
    let good = |bytes: Vec<u8>| {
        zip_of(&[
            ("summary.md", b"### ok".to_vec(), true),
            ("gpu-ci-cost.json", bytes, true),
        ])
    };
    let push = ledger(
        "push",
        "2026-11-20T10:00:00Z",
        &[("H100", 1, 600.0, 0.6582)],
    );
    let pull = ledger(
        "pull_request",
        "2026-12-02T10:00:00Z",
        &[("T4", 1, 100.0, 0.0164), ("T4", 1, 100.0, 0.0164)],
    );
    let dispatch = ledger(
        "workflow_dispatch",
        "2026-12-03T10:00:00Z",
        &[("H100", 2, 300.0, 0.6582)],
    );
    // A valid ledger followed by 4 MiB of spaces: deflated about a thousand to one.
    let mut bomb = push.clone();
    bomb.extend(std::iter::repeat_n(b' ', 4 << 20));
    // Under the size limit, but compressed far past any JSON's ratio.
    let mut dense = push.clone();
    dense.extend(std::iter::repeat_n(b' ', 60 << 10));
    let mut huge = push.clone();
    huge.extend(std::iter::repeat_n(b' ', 1 << 20));
    let many: Vec<(String, Vec<u8>, bool)> = (0..10_001)
        .map(|i| (format!("runs/{i}"), Vec::new(), false))
        .collect();
    let many: Vec<(&str, Vec<u8>, bool)> = many
        .iter()
        .map(|(n, b, d)| (n.as_str(), b.clone(), *d))
        .collect();
    let mut wrong_schema: Value = serde_json::from_slice(&push).unwrap();
    wrong_schema["schema"] = json!(2);
    let mut claims_huge = artifact(13, "2026-12-04T09:00:00Z", good(push.clone()));
    claims_huge.size = 1 << 30;
    let mut expired = artifact(15, "2026-12-04T07:00:00Z", good(push.clone()));
    expired.expired = true;
    vec![
        artifact(1, "2026-12-05T10:00:00Z", good(dispatch)),
        artifact(2, "2026-12-05T09:00:00Z", good(pull)),
        artifact(
            3,
            "2026-12-05T08:00:00Z",
            zip_of(&[("summary.md", b"old run".to_vec(), true)]),
        ),
        artifact(4, "2026-12-05T07:00:00Z", good(bomb)),
        artifact(5, "2026-12-05T06:00:00Z", good(dense)),
        artifact(
            6,
            "2026-12-05T05:00:00Z",
            zip_of(&[("gpu-ci-cost.json", huge, false)]),
        ),
        artifact(7, "2026-12-05T04:00:00Z", zip_of(&many)),
        artifact(
            8,
            "2026-12-05T03:00:00Z",
            zip_of(&[
                ("../../.bashrc", b"echo owned".to_vec(), true),
                ("gpu-ci-cost.json", push.clone(), true),
            ]),
        ),
        artifact(
            9,
            "2026-12-05T02:00:00Z",
            zip_of(&[
                ("/etc/cron.d/x", b"* * * * * root x".to_vec(), true),
                ("gpu-ci-cost.json", push.clone(), true),
            ]),
        ),
        artifact(10, "2026-12-05T01:00:00Z", good(b"{not json".to_vec())),
        artifact(
            11,
            "2026-12-05T00:00:00Z",
            good(serde_json::to_vec(&wrong_schema).unwrap()),
        ),
        artifact(
            12,
            "2026-12-04T10:00:00Z",
            b"PK\x03\x04 not really a zip".to_vec(),
        ),
        claims_huge,
        // Redirected to plain http on another machine: never asked.
        artifact(14, "2026-12-04T08:00:00Z", good(push.clone())),
        expired,
        artifact(16, "2026-11-20T10:00:00Z", good(push)),
        artifact(
            17,
            "2019-01-01T00:00:00Z",
            good(ledger(
                "push",
                "2019-01-01T00:00:00Z",
                &[("H100", 1, 1e6, 1097.0)],
            )),
        ),
    ]
}

struct Servers {
    api: String,
    api_seen: Seen,
    storage_seen: Seen,
}

fn start() -> Servers {
    let artifacts = artifacts();
    let blobs: BTreeMap<u64, Vec<u8>> = artifacts.iter().map(|a| (a.id, a.zip.clone())).collect();
    let storage_handler: Arc<Handler> = Arc::new(move |_method, target| {
        let id: Option<u64> = target
            .strip_prefix("/blob/")
            .and_then(|rest| rest.split('?').next())
            .and_then(|id| id.parse().ok());
        match id.and_then(|id| blobs.get(&id)) {
            Some(zip) => (
                200,
                vec![("content-type".into(), "application/zip".into())],
                zip.clone(),
            ),
            None => (404, Vec::new(), Vec::new()),
        }
    });
    let (storage, storage_seen) = serve(storage_handler);
    let listing: Vec<Value> = artifacts
        .iter()
        .map(|a| {
            json!({"id": a.id, "name": "gpu-test-outputs", "size_in_bytes": a.size,
                   "expired": a.expired, "created_at": a.created_at,
                   "workflow_run": {"id": a.id * 10, "head_branch": "main"}})
        })
        .collect();
    let api_handler: Arc<Handler> = Arc::new(move |_method, target| {
        let prefix = format!("/repos/{REPO}/actions/artifacts");
        let Some(rest) = target.strip_prefix(&prefix) else {
            return (404, Vec::new(), br#"{"message":"Not Found"}"#.to_vec());
        };
        if let Some(query) = rest.strip_prefix('?') {
            assert!(query.contains("name=gpu-test-outputs"), "{query}");
            // Three to a page, so the listing pages.
            let page: usize = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("page="))
                .unwrap()
                .parse()
                .unwrap();
            let chunk: Vec<&Value> = listing.iter().skip((page - 1) * 3).take(3).collect();
            let body = json!({"total_count": listing.len(), "artifacts": chunk});
            return (200, Vec::new(), body.to_string().into_bytes());
        }
        let id: u64 = rest
            .trim_start_matches('/')
            .trim_end_matches("/zip")
            .parse()
            .unwrap();
        let to = if id == 14 {
            "http://203.0.113.9/blob/14?sig=s".to_string()
        } else {
            format!("{storage}/blob/{id}?sig=signed")
        };
        (302, vec![("location".into(), to)], Vec::new())
    });
    let (api, api_seen) = serve(api_handler);
    Servers {
        api,
        api_seen,
        storage_seen,
    }
}

fn costs(
    servers: &Servers,
    project: &Project,
    tmp: &std::path::Path,
    args: &[&str],
) -> std::process::Output {
    gpu_ci()
        .arg("-C")
        .arg(&project.root)
        .args(["costs", "--repo", REPO, "--since", "2026-11-01"])
        .args(args)
        .env("GITHUB_API_URL", &servers.api)
        .env("GITHUB_TOKEN", TOKEN)
        .env("TMPDIR", tmp)
        .output()
        .unwrap()
}

#[test]
fn costs_sums_the_ledgers_and_names_every_artifact_it_refused() {
    let servers = start();
    let project = Project::fixture("uv-groups-src");
    let before = project.snapshot_tree();
    let tmp = tempfile::tempdir().unwrap();
    let output = costs(&servers, &project, tmp.path(), &["--json"]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();

    // Three runs counted: artifacts 1, 2 and 16 (2026-11-20); 17 is before --since.
    assert_eq!(report["runs"], 3, "{report:#}");
    assert_eq!(report["without_ledger"], 1);
    let rows = |key: &str, name: &str| -> BTreeMap<String, (u64, f64, f64)> {
        report[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                (
                    row[name].as_str().unwrap().to_string(),
                    (
                        row["count"].as_u64().unwrap(),
                        row["gpu_seconds"].as_f64().unwrap(),
                        row["cost_usd"].as_f64().unwrap(),
                    ),
                )
            })
            .collect()
    };
    assert_eq!(
        rows("by_trigger", "trigger"),
        BTreeMap::from([
            ("pull_request".into(), (1, 200.0, 0.0328)),
            ("push".into(), (1, 600.0, 0.6582)),
            ("workflow_dispatch".into(), (1, 600.0, 0.6582)),
        ])
    );
    assert_eq!(
        rows("by_gpu", "gpu"),
        BTreeMap::from([
            ("H100".into(), (2, 1200.0, 1.3164)),
            ("T4".into(), (2, 200.0, 0.0328)),
        ])
    );
    assert_eq!(
        rows("by_month", "month"),
        BTreeMap::from([
            ("2026-11".into(), (1, 600.0, 0.6582)),
            ("2026-12".into(), (2, 800.0, 0.691)),
        ])
    );
    assert_eq!(report["by_month"][1]["credit_usd"], 30.0);
    assert_eq!(report["by_month"][1]["credit_used"], 0.023);

    // Every hostile artifact named, with why.
    let refused: BTreeMap<u64, String> = report["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["artifact"].as_u64().unwrap(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expect = [
        (4, "more than 64 KiB"),
        (5, "a zip bomb"),
        (6, "more than 64 KiB"),
        (7, "more than 10000 entries"),
        (8, "leaves the folder"),
        (9, "leaves the folder"),
        (10, "is not JSON"),
        (11, "schema 2"),
        (12, "not a zip archive"),
        (13, "more than 16 MiB"),
        (14, "neither https nor this machine"),
    ];
    assert_eq!(
        refused.keys().copied().collect::<Vec<_>>(),
        expect.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        "{refused:#?}"
    );
    for (id, why) in expect {
        assert!(
            refused[&id].contains(why),
            "artifact {id}: {}",
            refused[&id]
        );
        assert!(
            stderr.contains(&format!("warning: artifact {id} was not counted")),
            "{stderr}"
        );
    }

    // The token went to the API only; the storage got the signed address and nothing else,
    // never an artifact that claims to be too large, nor one redirected elsewhere.
    let api = servers.api_seen.lock().unwrap().clone();
    assert!(
        api.iter()
            .all(|(_, _, auth)| auth.as_deref() == Some(&format!("Bearer {TOKEN}")))
    );
    let storage = servers.storage_seen.lock().unwrap().clone();
    assert!(
        storage.iter().all(|(_, _, auth)| auth.is_none()),
        "{storage:?}"
    );
    let fetched: Vec<&str> = storage
        .iter()
        .map(|(_, target, _)| target.as_str())
        .collect();
    assert!(!fetched.iter().any(|t| t.starts_with("/blob/13")
        || t.starts_with("/blob/14")
        || t.starts_with("/blob/15")));
    // The listing stopped at the artifact older than --since: 17 was listed, never fetched.
    assert!(!fetched.iter().any(|t| t.starts_with("/blob/17")));

    // Nothing written: not in the project, not in the temporary folder.
    assert_eq!(project.snapshot_tree(), before);
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn costs_prints_a_table_per_trigger_gpu_and_month() {
    let servers = start();
    let project = Project::fixture("uv-groups-src");
    let tmp = tempfile::tempdir().unwrap();
    let output = costs(&servers, &project, tmp.path(), &["--credit", "100"]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let line = |start: &str| {
        text.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no line `{start}`:\n{text}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        line("GPU runs of"),
        "GPU runs of octo-org/octo-repo since 2026-11-01: 3 runs, GPU time 23 min, estimated cost $1.35"
    );
    assert_eq!(line("push"), "push 1 10 min $0.66");
    assert_eq!(line("H100"), "H100 2 20 min $1.32");
    assert_eq!(line("2026-12"), "2026-12 2 13 min $0.69 1%");
    assert!(text.contains("of Modal's $100 monthly credit"), "{text}");
}

#[test]
fn costs_needs_a_token_and_a_plain_since() {
    let project = Project::fixture("uv-groups-src");
    project
        .gpu_ci(&["costs", "--repo", REPO])
        .code(2)
        .stderr(predicates::str::contains(
            "error: `gpu-ci costs` reads the runs' artifacts",
        ))
        .stderr(predicates::str::contains(
            "help: set GITHUB_TOKEN or GH_TOKEN",
        ));
    project
        .gpu_ci(&["costs", "--repo", REPO, "--since", "last week"])
        .code(2)
        .stderr(predicates::str::contains(
            "error: --since `last week` is neither",
        ));
}
