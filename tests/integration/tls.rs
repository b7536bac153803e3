//! The GitHub client over real TLS: a local HTTPS server on 127.0.0.1 (rustls with *ring*, the
//! provider gpu-ci itself uses) with a certificate from a test CA. The client completes the
//! handshake and pins through it when the system's roots (`SSL_CERT_FILE`, which the platform
//! verifier reads on Linux) hold that CA, and refuses the server, before sending a request or
//! the token, when they hold only another CA. Linux only: macOS's verifier asks the keychain,
//! not `SSL_CERT_FILE`.
#![cfg(target_os = "linux")]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use predicates::prelude::*;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::common::{Project, repo_root};
use crate::pin::{Answer, answer, routes, sha, uses_lines};

fn tls_file(name: &str) -> PathBuf {
    repo_root().join("tests/integration/tls").join(name)
}

struct HttpsGitHub {
    url: String,
    /// `METHOD path` of every request that got through the handshake.
    seen: Arc<Mutex<Vec<String>>>,
}

impl HttpsGitHub {
    fn start(routes: HashMap<String, Answer>) -> HttpsGitHub {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(tls_file("server.pem"))
                .unwrap()
                .map(Result::unwrap)
                .collect();
        let key = PrivateKeyDer::from_pem_file(tls_file("server.key")).unwrap();
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
                let connection = rustls::ServerConnection::new(Arc::clone(&config)).unwrap();
                let mut tls = rustls::StreamOwned::new(connection, stream);
                // The handshake happens on the first read; a client that refuses the
                // certificate ends it here, and nothing is logged.
                let mut reader = BufReader::new(&mut tls);
                let mut request = String::new();
                if reader.read_line(&mut request).unwrap_or(0) == 0 {
                    continue;
                }
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                let mut words = request.split_whitespace();
                let method = words.next().unwrap_or("").to_string();
                let path = words.next().unwrap_or("").split('?').next().unwrap_or("");
                log.lock().unwrap().push(format!("{method} {path}"));
                let response = answer(&routes, path);
                let _ = tls.write_all(response.as_bytes());
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
        });
        HttpsGitHub { url, seen }
    }
}

fn pin_over_tls(project: &Project, server: &HttpsGitHub, roots: &str) -> assert_cmd::Command {
    let mut cmd = crate::common::gpu_ci();
    cmd.arg("-C")
        .arg(&project.root)
        .arg("pin")
        .env("GITHUB_API_URL", &server.url)
        .env("GITHUB_TOKEN", "ghp-tls-test-token")
        .env("GPU_CI_RETRY_DELAY_MS", "1")
        .env("SSL_CERT_FILE", tls_file(roots))
        .env_remove("SSL_CERT_DIR")
        .timeout(Duration::from_secs(60));
    cmd
}

#[test]
fn pin_works_over_tls_with_a_server_the_roots_trust() {
    let project = Project::initialised("uv-groups-src");
    let server = HttpsGitHub::start(routes());
    pin_over_tls(&project, &server, "ca.pem")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "pinned actions/checkout v4.2.2 → v4.3.1",
        ));
    let uses = uses_lines(&project);
    assert!(
        uses.contains(&format!("actions/checkout@{} # v4.3.1", sha(0x431))),
        "{uses:?}"
    );
    assert!(!server.seen.lock().unwrap().is_empty());
}

#[test]
fn pin_refuses_a_server_whose_certificate_the_roots_do_not_trust() {
    let project = Project::initialised("uv-groups-src");
    let before = project.snapshot_tree();
    let server = HttpsGitHub::start(routes());
    let output = pin_over_tls(&project, &server, "other-ca.pem")
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        server.seen.lock().unwrap().as_slice(),
        &[] as &[String],
        "no request (and so no token) may cross an untrusted connection"
    );
    assert_eq!(before, project.snapshot_tree());
}
