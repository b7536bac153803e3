//! The local Modal API (`modal_api/server.py`) that the real, pinned Modal client runs the
//! generated runner against: a child process of the test on 127.0.0.1, stopped by its pid when
//! the value drops. It names the client version it speaks (a test holds it to the pin), records
//! every request, and refuses an RPC it does not know, so a client bump that changes one the
//! runner uses fails here.

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

use crate::common::{Project, repo_root, scrub_env};
use crate::installed::{python, tool};

/// The fake token the client is given; it must reach the server only as request metadata.
pub const TOKEN_ID: &str = "ak-harnessTokenId4821";
pub const TOKEN_SECRET: &str = "as-harnessTokenSecret9375";

pub struct ModalApi {
    child: Child,
    dir: tempfile::TempDir,
    pub url: String,
}

impl ModalApi {
    /// A server with the faults given (see server.py; `{}` for none).
    pub fn start(faults: Value) -> ModalApi {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        std::fs::create_dir(&state).unwrap();
        std::fs::write(dir.path().join("faults.json"), faults.to_string()).unwrap();
        std::fs::write(dir.path().join("token-id"), TOKEN_ID).unwrap();
        std::fs::write(dir.path().join("token-secret"), TOKEN_SECRET).unwrap();
        let mut cmd = Command::new(python());
        scrub_env(&mut cmd);
        cmd.arg(repo_root().join("tests/tools/modal_api/server.py"))
            .arg("--state")
            .arg(&state)
            .arg("--token-id")
            .arg(dir.path().join("token-id"))
            .arg("--token-secret")
            .arg(dir.path().join("token-secret"))
            .arg("--faults")
            .arg(dir.path().join("faults.json"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("server.log")).unwrap());
        let mut child = cmd.spawn().unwrap();
        let port_file = state.join("port");
        let started = Instant::now();
        while !port_file.exists() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "the Modal API harness exited ({status}): {}",
                    std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the Modal API harness did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let port = std::fs::read_to_string(&port_file).unwrap();
        ModalApi {
            child,
            dir,
            url: format!("http://127.0.0.1:{}", port.trim()),
        }
    }

    /// The Modal client's environment for this server: its URL, the fake token, no config file.
    pub fn client_env(&self, cmd: &mut Command) {
        scrub_env(cmd);
        cmd.env("MODAL_SERVER_URL", &self.url)
            .env("MODAL_TOKEN_ID", TOKEN_ID)
            .env("MODAL_TOKEN_SECRET", TOKEN_SECRET)
            .env("MODAL_CONFIG_PATH", self.dir.path().join("no-modal.toml"));
    }

    /// Everything recorded so far, one JSON object each.
    pub fn records(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.dir.path().join("state/requests.jsonl")).unwrap();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// The raw record file, for looking for a secret in it.
    pub fn record_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("state/requests.jsonl")).unwrap()
    }

    /// Records of one kind (`request`, `exec`, `mount`, `sandbox-create`, …).
    pub fn kind(&self, kind: &str) -> Vec<Value> {
        self.records()
            .into_iter()
            .filter(|r| r["kind"] == kind)
            .collect()
    }

    /// The bodies of the requests of one RPC.
    pub fn requests(&self, rpc: &str) -> Vec<Value> {
        self.kind("request")
            .into_iter()
            .filter(|r| r["rpc"] == rpc)
            .map(|r| r["body"].clone())
            .collect()
    }

    /// Each image layer's Dockerfile commands, base first.
    pub fn layers(&self) -> Vec<Vec<String>> {
        self.requests("ImageGetOrCreate")
            .iter()
            .map(|body| {
                body["image"]["dockerfile_commands"]
                    .as_array()
                    .map(|cmds| {
                        cmds.iter()
                            .map(|c| c.as_str().unwrap().to_string())
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Every file uploaded in a mount: its remote path and its bytes (latin-1 text).
    pub fn uploaded(&self) -> Vec<(String, String)> {
        let mut files: Vec<(String, String)> = self
            .kind("mount")
            .iter()
            .flat_map(|m| {
                m["files"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect::<Vec<_>>()
            })
            .collect();
        files.sort();
        files
    }

    /// The folder that holds the volume `name` (it outlives the sandboxes).
    pub fn volume(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join("state/volumes").join(name)
    }

    /// The RPCs the client called, each once, in the order first called.
    pub fn rpcs(&self) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        for record in self.kind("request") {
            let rpc = record["rpc"].as_str().unwrap().to_string();
            if !seen.contains(&rpc) {
                seen.push(rpc);
            }
        }
        seen
    }
}

impl Drop for ModalApi {
    fn drop(&mut self) {
        // SIGTERM first: the server ends its sandboxes' processes; then it is killed, by pid.
        let pid = Pid::from_raw(self.child.id() as i32);
        let _ = kill(pid, Signal::SIGTERM);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `gpu-ci run ARGS` in `project`, with the venv's `modal` first on PATH, against `api`.
pub fn gpu_ci_run(api: &ModalApi, project: &Project, args: &[&str]) -> Output {
    gpu_ci_modal(api, project, "run", args, &[])
}

/// `gpu-ci COMMAND ARGS` in `project`, with the venv's `modal` first on PATH, against `api`,
/// with `env` besides (a name with an empty value is removed).
pub fn gpu_ci_modal(
    api: &ModalApi,
    project: &Project,
    command: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let mut cmd = Command::new(crate::common::gpu_ci_path());
    api.client_env(&mut cmd);
    let venv_bin = tool("modal").parent().unwrap().to_path_buf();
    let path = std::env::join_paths(
        std::iter::once(venv_bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    cmd.env("PATH", path)
        .arg("-C")
        .arg(&project.root)
        .arg(command)
        .args(args)
        .stdin(Stdio::null());
    for (name, value) in env {
        if value.is_empty() {
            cmd.env_remove(name);
        } else {
            cmd.env(name, value);
        }
    }
    cmd.output().unwrap()
}

/// `modal run .modal/test_runner.py` in `project` with the venv's client and `env`, against `api`.
pub fn modal_run(api: &ModalApi, project: &Project, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(tool("modal"));
    api.client_env(&mut cmd);
    cmd.current_dir(&project.root)
        .args(["run", ".modal/test_runner.py"])
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    cmd.output().unwrap()
}
