//! `gpu-ci run` on a project made by `gpu-ci init`, through the real, pinned Modal client,
//! against the local Modal API of `modal_api.rs` (issue 23): what is uploaded, each image
//! layer's Dockerfile commands, the sandboxes asked for, the faults a run meets, and where the
//! Modal token goes.

use std::collections::BTreeSet;
use std::process::{Command, Output};

use gpu_ci::pins::MODAL_CLIENT_VERSION;
use serde_json::{Value, json};

use crate::common::{Project, describe, git, shown};
use crate::installed::python;
use crate::modal_api::{ModalApi, TOKEN_ID, TOKEN_SECRET, gpu_ci_modal, gpu_ci_run, modal_run};
use crate::runner::{configure, suite};

/// Every RPC of the runner's path, and none other: a client that renames or adds one fails here.
const RUNNER_RPCS: [&str; 21] = [
    "AppCreate",
    "EnvironmentGetOrCreate",
    "AppGetLogs",
    "AppHeartbeat",
    "MountBatchedCheckExistence",
    "MountPutFile",
    "MountGetOrCreate",
    "ImageGetOrCreate",
    "AppPublish",
    "SandboxCreate",
    "SandboxGetTaskId",
    "TaskGetCommandRouterAccess",
    "TaskExecStart",
    "TaskExecStdioRead",
    "TaskExecWait",
    "SandboxWait",
    "SandboxTerminate",
    "AppClientDisconnect",
    "TaskExecStdinWrite",
    "ImageJoinStreaming",
    // `cache`: the repository's cache volume, by name.
    "VolumeGetOrCreate",
];

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn no_unknown_rpc(api: &ModalApi) {
    let unknown = api.kind("unknown-rpc");
    assert!(
        unknown.is_empty(),
        "the client called RPCs the harness does not know: {unknown:?}"
    );
}

/// FunctionGet, which the runner never calls, through the pinned client's own stub.
const UNKNOWN_RPC: &str = r#"
import asyncio, sys
import grpclib.client
from modal_proto import api_grpc, api_pb2

async def main():
    channel = grpclib.client.Channel("127.0.0.1", int(sys.argv[1]))
    try:
        await api_grpc.ModalClientStub(channel).FunctionGet(api_pb2.FunctionGetRequest(app_name="x", object_tag="y"))
    except Exception as error:
        print(type(error).__name__, error)
    channel.close()

asyncio.run(main())
"#;

/// The harness speaks the pinned client's version, refuses any other, and answers an RPC it
/// does not know with UNIMPLEMENTED, recorded.
#[test]
fn the_harness_speaks_the_pinned_client_and_refuses_unknown_rpcs() {
    let api = ModalApi::start(json!({}));
    let hello = &api.kind("hello")[0];
    assert_eq!(hello["client_version"], MODAL_CLIENT_VERSION);
    assert_eq!(
        hello["modal"], MODAL_CLIENT_VERSION,
        "the venv's client is the pinned one"
    );

    // An RPC the runner never uses, through the client's own stub.
    let mut cmd = Command::new(python());
    api.client_env(&mut cmd);
    let port = api.url.rsplit(':').next().unwrap().to_string();
    cmd.args(["-c", UNKNOWN_RPC]).arg(port);
    let output = cmd.output().unwrap();
    let (stdout, _) = text(&output);
    assert!(
        stdout.contains("does not know ModalClient/FunctionGet"),
        "{}",
        describe(&output)
    );
    assert_eq!(api.kind("unknown-rpc")[0]["rpc"], "FunctionGet");
}

#[test]
fn a_passing_and_a_failing_suite_run_end_to_end_through_the_real_client() {
    let project = suite(
        "import mathkit\n\ndef test_one():\n    assert mathkit is not None\n\ndef test_two():\n    print('two ran')\n",
        &["--gpu", "A100-80GB"],
    );
    let api = ModalApi::start(json!({}));
    let output = gpu_ci_run(&api, &project, &[]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    no_unknown_rpc(&api);
    assert!(
        stdout.contains("test/test_suite.py::test_two PASSED"),
        "{stdout}"
    );
    assert!(
        stderr.contains("gpu-ci: 2 passed, 0 failed, 0 skipped, 0 errors on A100-80GB"),
        "{stderr}"
    );
    assert!(
        project
            .read("test-outputs/pytest-output.log")
            .contains("2 passed")
    );
    assert!(
        project
            .read("test-outputs/junit.xml")
            .contains("tests=\"2\"")
    );
    let summary = shown(&project.read("test-outputs/summary.md"));
    assert!(summary.starts_with("### ✅ GPU tests passed"), "{summary}");
    assert!(summary.contains("**GPU:** A100-80GB"), "{summary}");

    // One sandbox, on the planned GPU, with the planned lifetime and workdir, idle until exec.
    let creates = api.requests("SandboxCreate");
    assert_eq!(creates.len(), 1);
    let definition = &creates[0]["definition"];
    assert_eq!(
        definition["resources"]["gpu_config"]["gpu_type"],
        "A100-80GB"
    );
    assert_eq!(definition["timeout_secs"], 3600);
    assert_eq!(definition["workdir"], "/root/project");
    assert_eq!(definition["entrypoint_args"], json!(["sleep", "3600"]));
    assert!(definition.get("secret_ids").is_none(), "{definition}");
    // The tests, then the JUnit XML read back capped; then the sandbox is ended.
    let execs = api.kind("exec");
    assert_eq!(execs.len(), 2);
    assert_eq!(execs[0]["command"][2], "/gpu-ci/in_container.py");
    assert_eq!(execs[1]["command"][0], "head");
    assert_eq!(api.kind("sandbox-terminate").len(), 1);

    // Every RPC the runner's path uses is one the harness knows and expects.
    let rpcs = api.rpcs();
    for rpc in &rpcs {
        assert!(RUNNER_RPCS.contains(&rpc.as_str()), "unexpected RPC {rpc}");
    }
    for rpc in [
        "AppCreate",
        "ImageGetOrCreate",
        "ImageJoinStreaming",
        "MountPutFile",
        "MountGetOrCreate",
        "SandboxCreate",
        "SandboxGetTaskId",
        "TaskGetCommandRouterAccess",
        "TaskExecStart",
        "TaskExecStdioRead",
        "TaskExecWait",
        "SandboxWait",
        "SandboxTerminate",
        "AppClientDisconnect",
    ] {
        assert!(rpcs.iter().any(|r| r == rpc), "{rpc} not called: {rpcs:?}");
    }

    project.write(
        "test/test_suite.py",
        "def test_fine():\n    pass\n\ndef test_broken():\n    assert [1, 2] == [1, 3], 'lists differ'\n",
    );
    let api = ModalApi::start(json!({}));
    let output = gpu_ci_run(&api, &project, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let summary = shown(&project.read("test-outputs/summary.md"));
    assert!(summary.starts_with("### ❌ GPU tests failed"), "{summary}");
    assert!(summary.contains("| 1 | 1 | 0 | 0 |"), "{summary}");
    assert!(
        summary.contains("<code>test/test_suite.py::test_broken</code>"),
        "{summary}"
    );
    assert!(summary.contains("lists differ"), "{summary}");
}

/// The Modal token reaches the server only as the client's request metadata: in no request
/// body, no uploaded file, no sandbox's environment (a test prints the one it runs in).
#[test]
fn the_modal_token_is_in_no_request_body_upload_or_sandbox_environment() {
    let project = suite(
        "import os\n\ndef test_env():\n    print('ENVIRON', sorted(os.environ.items()))\n",
        &["--pytest-args", "-v -s"],
    );
    let api = ModalApi::start(json!({}));
    let output = gpu_ci_run(&api, &project, &[]);
    let (stdout, _) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(stdout.contains("ENVIRON"), "{stdout}");
    for token in [TOKEN_ID, TOKEN_SECRET] {
        assert!(
            !stdout.contains(token),
            "the sandbox's environment holds the token"
        );
        assert!(
            !api.record_text().contains(token),
            "a request body, an upload or an exec's environment holds the token"
        );
        assert!(
            !project
                .read("test-outputs/pytest-output.log")
                .contains(token)
        );
    }
    // The record does hold what it should: uploads, and each exec's environment.
    assert!(!api.uploaded().is_empty());
    assert!(api.kind("exec")[0]["env"]["PATH"].is_string());

    // The server checks the token: a wrong one is refused before anything is built.
    let api = ModalApi::start(json!({}));
    let mut cmd = Command::new(crate::common::gpu_ci_path());
    api.client_env(&mut cmd);
    let venv_bin = crate::installed::tool("modal")
        .parent()
        .unwrap()
        .to_path_buf();
    let path = std::env::join_paths(
        std::iter::once(venv_bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let output = cmd
        .env("PATH", path)
        .env("MODAL_TOKEN_SECRET", "as-wrong")
        .arg("-C")
        .arg(&project.root)
        .arg("run")
        .output()
        .unwrap();
    assert_ne!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(!api.kind("unauthenticated").is_empty());
    assert!(api.requests("ImageGetOrCreate").is_empty());
    assert!(api.requests("SandboxCreate").is_empty());
}

/// What git would commit, as paths: tracked and untracked files that are not ignored, without
/// links to folders (Modal's walker does not enter them).
fn git_view(project: &Project) -> BTreeSet<String> {
    let output = Command::new("git")
        .current_dir(&project.root)
        .args([
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "-z",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    String::from_utf8(output.stdout)
        .unwrap()
        .split('\0')
        .filter(|p| !p.is_empty() && !project.path(p).is_dir())
        .map(str::to_string)
        .collect()
}

fn uploaded_tree(api: &ModalApi) -> BTreeSet<String> {
    api.uploaded()
        .into_iter()
        .filter_map(|(path, _)| path.strip_prefix("/root/project/").map(str::to_string))
        .collect()
}

/// The upload is git's view of the tree: nothing ignored, no `.git/`, a link inside the tree
/// uploaded as its target's bytes, a linked folder (here, one out of the tree) not entered.
#[test]
fn the_upload_is_gits_view_of_the_tree() {
    let project = suite("def test_ok():\n    pass\n", &[]);
    git(&project.root, &["init", "-q"]);
    project.write(".gitignore", "data/\n*.ckpt\n/build\n");
    for file in [
        "data/train.csv",
        "sub/data/more.csv",
        "model.ckpt",
        "build/out.txt",
        "sub/build/kept.txt",
        "docs/index.md",
        "mathkit/__pycache__/x.cpython-311.pyc",
    ] {
        project.write(file, "x");
    }
    std::os::unix::fs::symlink("../docs/index.md", project.path("test/index.md")).unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "outside").unwrap();
    std::os::unix::fs::symlink(outside.path(), project.path("test/outside")).unwrap();
    git(&project.root, &["add", "-A"]);

    let mut expected = git_view(&project);
    // What git would keep and the runner always leaves out: caches (and test-outputs/).
    assert!(expected.remove("mathkit/__pycache__/x.cpython-311.pyc"));

    let api = ModalApi::start(json!({}));
    let output = gpu_ci_run(&api, &project, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let uploaded = uploaded_tree(&api);
    assert_eq!(uploaded, expected, "the upload differs from git's view");
    assert!(uploaded.contains("sub/build/kept.txt"));
    assert!(!uploaded.iter().any(|p| p.starts_with(".git/")));
    let files = api.uploaded();
    let linked = files
        .iter()
        .find(|(path, _)| path == "/root/project/test/index.md")
        .unwrap();
    assert_eq!(
        linked.1, "x",
        "a link inside the tree carries its target's bytes"
    );
    assert!(!files.iter().any(|(_, data)| data == "outside"));
    // The runner's script arrives as its own file, beside the tree.
    assert!(
        files
            .iter()
            .any(|(path, _)| path == "/gpu-ci/in_container.py")
    );

    // A link into an ignored path (or out of the tree) would carry that file along: the run
    // stops before anything is uploaded, built or started.
    std::fs::remove_file(project.path("test/outside")).unwrap();
    project.write(".git/token.txt", TOKEN_SECRET);
    std::os::unix::fs::symlink(".git/token.txt", project.path("notes.txt")).unwrap();
    let api = ModalApi::start(json!({}));
    let output = gpu_ci_run(&api, &project, &[]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(
        stderr.contains("`notes.txt` is a symlink to `.git/token.txt`"),
        "{stderr}"
    );
    for rpc in [
        "MountPutFile",
        "MountGetOrCreate",
        "ImageGetOrCreate",
        "SandboxCreate",
    ] {
        assert!(api.requests(rpc).is_empty(), "{rpc} was called");
    }
    assert!(!api.record_text().contains(TOKEN_SECRET));
}

/// A nested .gitignore is part of git's view too.
#[test]
fn the_upload_follows_nested_gitignore_files() {
    let project = suite("def test_ok():\n    pass\n", &[]);
    git(&project.root, &["init", "-q"]);
    project.write("sub/.gitignore", "local.txt\n/only-here.txt\n");
    for file in [
        "sub/local.txt",
        "sub/deeper/local.txt",
        "sub/only-here.txt",
        "sub/deeper/only-here.txt",
        "local.txt",
    ] {
        project.write(file, "x");
    }
    let expected = git_view(&project);
    let api = ModalApi::start(json!({}));
    let output = gpu_ci_run(&api, &project, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(uploaded_tree(&api), expected);
}

fn layer_with<'a>(layers: &'a [Vec<String>], needle: &str) -> (usize, &'a Vec<String>) {
    layers
        .iter()
        .enumerate()
        .find(|(_, l)| l.iter().any(|c| c.contains(needle)))
        .unwrap_or_else(|| panic!("no layer with `{needle}`: {layers:#?}"))
}

/// Each layer's Dockerfile commands, as the pinned client's image builder writes them: the base
/// image as planned, the dependencies from the metadata (`--frozen` with the lock), the source
/// never copied in but mounted at start.
#[test]
fn image_layers_install_dependencies_from_metadata_and_never_copy_the_source() {
    let project = Project::initialised("uv-groups-src");
    configure(
        &project,
        "base-image = \"nvidia/cuda:12.4.1-runtime-ubuntu22.04\"",
    );
    let api = ModalApi::start(json!({}));
    let output = gpu_ci_run(&api, &project, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let layers = api.layers();
    assert!(
        layers[0][0].starts_with("FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04"),
        "{layers:#?}"
    );
    let (git_at, _) = layer_with(&layers, "apt-get install -y git");
    let (sync_at, sync) = layer_with(&layers, "uv sync");
    let sync_command = sync.iter().find(|c| c.contains("uv sync")).unwrap();
    assert!(
        sync_command.contains("--frozen"),
        "a lock exists: {sync_command}"
    );
    assert!(sync_command.contains("--group=tests"), "{sync_command}");
    let (pytest_at, _) = layer_with(&layers, "pytest");
    assert!(git_at < sync_at && sync_at < pytest_at, "{layers:#?}");

    // Only dependency metadata is copied into the image; the source is mounted at start.
    let images = api.requests("ImageGetOrCreate");
    let copied: Vec<String> = images
        .iter()
        .flat_map(|i| {
            i["image"]["context_files"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|f| f["filename"].as_str().unwrap().to_string())
        .collect();
    for file in &copied {
        assert!(
            ["/.pyproject.toml", "/.uv.lock"].contains(&file.as_str()),
            "{file} copied into the image"
        );
    }
    for layer in &layers {
        for command in layer {
            assert!(
                !command.contains("/root/project") && !command.starts_with("COPY . "),
                "the source is copied: {command}"
            );
        }
    }
    let mount_ids = &api.requests("SandboxCreate")[0]["definition"]["mount_ids"];
    assert_eq!(
        mount_ids.as_array().unwrap().len(),
        2,
        "the script and the tree"
    );
    assert!(uploaded_tree(&api).contains("src/vecops/__init__.py"));
    // Each new layer was built (the client joined its build); none was a cache hit.
    assert_eq!(api.requests("ImageJoinStreaming").len(), layers.len());

    // A source-only change rebuilds nothing: every layer is a cache hit, only the changed file
    // is uploaded again.
    let puts = api.requests("MountPutFile").len();
    project.write("tests/test_vecops.py", "def test_changed():\n    pass\n");
    let output = gpu_ci_run(&api, &project, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let images = api.kind("image");
    assert_eq!(images.len(), 2 * layers.len());
    assert!(
        images[layers.len()..].iter().all(|i| i["cached"] == true),
        "{images:?}"
    );
    assert_eq!(api.requests("ImageJoinStreaming").len(), layers.len());
    assert_eq!(
        api.requests("MountPutFile").len(),
        puts + 1,
        "only the changed file"
    );

    // Without a lock, uv sync resolves: no `--frozen`.
    std::fs::remove_file(project.path("uv.lock")).unwrap();
    let api = ModalApi::start(json!({}));
    let output = gpu_ci_run(&api, &project, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let layers = api.layers();
    let (_, sync) = layer_with(&layers, "uv sync");
    assert!(!sync.iter().any(|c| c.contains("--frozen")), "{sync:#?}");
}

fn gpus_asked(api: &ModalApi) -> Vec<String> {
    api.requests("SandboxCreate")
        .iter()
        .map(|c| {
            c["definition"]["resources"]["gpu_config"]["gpu_type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn four_shards_run_in_four_sandboxes_and_merge() {
    let tests: String = (0..8)
        .map(|n| format!("def test_{n}():\n    pass\n\n"))
        .collect();
    let project = suite(&tests, &[]);
    let api = ModalApi::start(json!({}));
    let output = gpu_ci_run(&api, &project, &["--shards", "4"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    no_unknown_rpc(&api);
    assert_eq!(gpus_asked(&api), ["L4"; 4]);
    assert_eq!(api.kind("sandbox-terminate").len(), 4);
    let junit = project.read("test-outputs/junit.xml");
    assert_eq!(junit.matches("<testcase ").count(), 8, "{junit}");
    // Each shard's selection went in through the sandbox's stdin.
    assert_eq!(
        api.requests("TaskExecStdinWrite")
            .iter()
            .filter(|w| w["eof"] == true)
            .count(),
        4
    );
}

#[test]
fn a_two_gpu_matrix_runs_the_suite_on_each() {
    let project = suite("def test_ok():\n    pass\n", &["--gpu", "T4;L4"]);
    let api = ModalApi::start(json!({}));
    let output = gpu_ci_run(&api, &project, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let mut gpus = gpus_asked(&api);
    gpus.sort();
    assert_eq!(gpus, ["L4", "T4"]);
    let summary = shown(&project.read("test-outputs/summary.md"));
    assert!(
        summary.contains("T4") && summary.contains("L4"),
        "{summary}"
    );
}

#[test]
fn a_sandbox_that_failed_to_start_is_retried_on_the_fallback_gpu() {
    let project = suite("def test_ok():\n    pass\n", &["--gpu", "H100,A100-80GB"]);
    let api = ModalApi::start(json!({"fail_gpu": "H100"}));
    let output = gpu_ci_run(&api, &project, &[]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(gpus_asked(&api), ["H100", "A100-80GB"]);
    assert!(
        stderr.contains("the sandbox failed to start (ResourceExhaustedError"),
        "{stderr}"
    );
    assert!(shown(&project.read("test-outputs/summary.md")).contains("**GPU:** A100-80GB"));

    // A failed image build is not retried, and starts no sandbox.
    // Issue 24: it is no test failure either: 2, with what to do.
    let api = ModalApi::start(json!({"build_failure": "Image build failed (harness)"}));
    let output = gpu_ci_run(&api, &project, &[]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(api.requests("SandboxCreate").is_empty());
    let (_, stderr) = text(&output);
    assert!(
        stderr.contains("error: the image could not be built: ")
            && stderr.contains("fix it in [tool.gpu-ci]"),
        "{stderr}"
    );
    assert!(
        shown(&project.read("test-outputs/summary.md"))
            .contains("The run did not finish: the image could not be built")
    );

    // Every sandbox failed to start: 2, and the summary says so.
    let api = ModalApi::start(json!({"start_failures": 5}));
    let output = gpu_ci_run(&api, &project, &[]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let (_, stderr) = text(&output);
    assert!(
        stderr.contains("error: no test ran: the sandbox could not start"),
        "{stderr}"
    );
}

/// Issue 24: with no Modal server to reach, the client's "Could not connect" ended as exit 1,
/// the code of failed tests. A run that never started is 2, with an `error:` saying why.
#[test]
fn a_run_that_cannot_connect_or_authenticate_exits_2_saying_which() {
    let project = suite("def test_ok():\n    pass\n", &[]);
    // A port that was open a moment ago and is closed now: nothing answers there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let api = ModalApi::start(json!({}));
    let unreachable = format!("http://127.0.0.1:{port}");
    for (case, env, expected) in [
        (
            "unreachable",
            ("MODAL_SERVER_URL", unreachable.as_str()),
            "error: the Modal client could not connect to the Modal server",
        ),
        (
            "wrong token",
            ("MODAL_TOKEN_SECRET", "as-wrong"),
            "error: Modal refused the token, so the run could not authenticate",
        ),
    ] {
        let mut cmd = Command::new(crate::common::gpu_ci_path());
        api.client_env(&mut cmd);
        let venv_bin = crate::installed::tool("modal")
            .parent()
            .unwrap()
            .to_path_buf();
        let path = std::env::join_paths(
            std::iter::once(venv_bin)
                .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
        )
        .unwrap();
        let output = cmd
            .env("PATH", path)
            .env(env.0, env.1)
            .arg("-C")
            .arg(&project.root)
            .arg("run")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let (_, stderr) = text(&output);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{case}: {}",
            describe(&output)
        );
        assert!(stderr.contains(expected), "{case}: {stderr}");
        assert!(stderr.contains("no test ran"), "{case}: {stderr}");
        assert!(stderr.contains("\nhelp: "), "{case}: {stderr}");
        assert!(
            !stderr.contains("no test summary was written"),
            "{case}: {stderr}"
        );
    }
    assert!(api.requests("ImageGetOrCreate").is_empty());
}

/// The deadline: pytest stopped by the script (124), the sandbox terminated and asked for with
/// the run's timeout, so Modal bills no more than that; the same when Modal's timeout comes first.
#[test]
fn the_deadline_stops_the_run_with_124_and_ends_the_sandbox() {
    let project = suite(
        "import time\n\ndef test_hangs():\n    print('hanging', flush=True)\n    time.sleep(60)\n",
        &["--pytest-args", "-v -s"],
    );
    configure(&project, "timeout = 8");
    let api = ModalApi::start(json!({}));
    let output = gpu_ci_run(&api, &project, &[]);
    assert_eq!(output.status.code(), Some(124), "{}", describe(&output));
    assert_eq!(api.requests("SandboxCreate").len(), 1, "never re-run");
    assert_eq!(
        api.requests("SandboxCreate")[0]["definition"]["timeout_secs"],
        8
    );
    assert_eq!(api.kind("sandbox-terminate").len(), 1);
    assert!(shown(&project.read("test-outputs/summary.md")).contains("stopped at the deadline"));

    // Modal ends the sandbox first (its lifetime cut to 3 s here).
    let api = ModalApi::start(json!({"sandbox_lifetime": 3}));
    let output = gpu_ci_run(&api, &project, &[]);
    assert_eq!(output.status.code(), Some(124), "{}", describe(&output));
    assert_eq!(api.kind("sandbox-timeout").len(), 1);
    assert_eq!(api.requests("SandboxCreate").len(), 1);
    assert!(shown(&project.read("test-outputs/summary.md")).contains("stopped at the deadline"));
}

/// A container lost in the middle of the tests: the run fails, says so, and re-runs nothing.
#[test]
fn a_container_lost_mid_run_fails_the_run_without_a_re_run() {
    let project = suite(
        "import time\n\ndef test_lost():\n    print('LOSE-THE-CONTAINER', flush=True)\n    time.sleep(30)\n",
        &["--pytest-args", "-v -s"],
    );
    let api = ModalApi::start(json!({"lose_on_output": "LOSE-THE-CONTAINER"}));
    let output = gpu_ci_run(&api, &project, &[]);
    let (stdout, stderr) = text(&output);
    assert_ne!(output.status.code(), Some(0), "{}", describe(&output));
    assert_ne!(output.status.code(), Some(124), "{}", describe(&output));
    assert_eq!(api.kind("container-lost").len(), 1);
    assert_eq!(api.requests("SandboxCreate").len(), 1, "never re-run");
    assert!(stdout.contains("LOSE-THE-CONTAINER"), "{stdout}");
    let summary = shown(&project.read("test-outputs/summary.md"));
    assert!(summary.contains("did not finish"), "{summary}\n{stderr}");
}

/// Output that comes slowly still streams, and non-UTF-8 bytes are shown replaced.
#[test]
fn slow_and_non_utf8_output_streams_through_the_router() {
    let project = suite(
        "import sys\n\ndef test_bytes():\n    for n in range(3):\n        sys.stdout.buffer.write(b'chunk %d \\xff\\xfe\\n' % n)\n        sys.stdout.flush()\n",
        &["--pytest-args", "-v -s"],
    );
    let api = ModalApi::start(json!({"output_delay": 0.2}));
    let output = gpu_ci_run(&api, &project, &[]);
    let (stdout, _) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    for n in 0..3 {
        assert!(
            stdout.contains(&format!("chunk {n} \u{fffd}\u{fffd}")),
            "{stdout}"
        );
    }
    let log = project.read("test-outputs/pytest-output.log");
    assert!(log.contains("chunk 2 \u{fffd}\u{fffd}"), "{log}");
    let reads: Vec<Value> = api.requests("TaskExecStdioRead");
    assert!(!reads.is_empty());
}

/// What the test below runs in the sandbox: it reads what is in the cache, writes over it,
/// adds a file (and a large one), and says where its caches point.
const CACHE_SUITE: &str = r#"import os, pathlib

def test_cache():
    hf = pathlib.Path(os.environ["HF_HOME"])
    marker = hf / "planted.txt"
    print("SEEN", marker.read_text() if marker.exists() else "none")
    print("CACHE", {name: os.environ[name] for name in ("HF_HOME", "TORCH_HOME", "XDG_CACHE_HOME", "PIP_CACHE_DIR", "UV_CACHE_DIR")})
    who = "trusted" if "/gpu-ci-cache/" in os.environ["HF_HOME"] else "fork"
    marker.write_text(who)
    (hf / f"{who}-only.txt").write_text(who)
    if who == "trusted":
        (hf / "model.bin").write_bytes(b"w" * 200_000)
    else:
        print("BIG", (hf / "model.bin").read_bytes()[:3])
    ext = pathlib.Path(os.path.expanduser("~/.cache/torch_extensions"))
    print("EXT", ext.is_symlink(), sorted(p.name for p in ext.iterdir()))
    (ext / f"{who}.so").write_text(who)
"#;

/// `cache = true` through the real client: a trusted run mounts the repository's volume
/// read-write and its caches live there; a run that is not trusted (GPU_CI_CACHE_ACCESS, as the
/// workflows set it for a fork's pull request, or only a CI machine's `CI`) mounts it
/// read-only, sees what the trusted run left, and nothing it writes reaches the volume.
#[test]
fn the_cache_volume_is_written_by_trusted_runs_and_only_read_by_untrusted_ones() {
    let project = suite(
        CACHE_SUITE,
        &[
            "--pytest-args",
            "-v -s",
            "--cache",
            "--cache-path",
            "/root/.cache/torch_extensions",
        ],
    );
    let api = ModalApi::start(json!({}));
    let output = gpu_ci_run(&api, &project, &[]);
    let (stdout, _) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    no_unknown_rpc(&api);
    assert!(stdout.contains("SEEN none"), "{stdout}");
    assert!(stdout.contains("EXT True []"), "{stdout}");
    let volume = api.volume("gpu-ci-cache-mathkit");
    assert_eq!(
        std::fs::read_to_string(volume.join("huggingface/planted.txt")).unwrap(),
        "trusted"
    );
    assert!(volume.join("huggingface/model.bin").is_file());
    // Under paths/, the folder's path in the container (here, as the harness maps it).
    let kept = |name: &str| {
        walkdir(&volume.join("paths"))
            .into_iter()
            .any(|p| p.ends_with(format!(".cache/torch_extensions/{name}")))
    };
    assert!(kept("trusted.so"));
    // Asked for by name, created when missing, and mounted read-write.
    let volumes = api.kind("volume");
    assert_eq!(volumes[0]["name"], "gpu-ci-cache-mathkit");
    assert_eq!(volumes[0]["create_if_missing"], true);
    let mounts = api.requests("SandboxCreate")[0]["definition"]["volume_mounts"].clone();
    assert_eq!(mounts[0]["mount_path"], "/gpu-ci-cache");
    assert!(mounts[0].get("read_only").is_none(), "{mounts}");
    let exec = &api.kind("exec")[0]["command"];
    assert!(
        exec.as_array()
            .unwrap()
            .windows(2)
            .any(|w| w[0] == "--cache" && w[1] == "/gpu-ci-cache"),
        "{exec}"
    );
    assert!(!exec.to_string().contains("--cache-read-only"), "{exec}");
    let summary = shown(&project.read("test-outputs/summary.md"));
    // Its size as `du` counts it: the 200 kB model and a few small files.
    let said = "cache: volume gpu-ci-cache-mathkit, read and written; ";
    let size: f64 = summary
        .split_once(said)
        .and_then(|(_, rest)| rest.split_once(" MiB"))
        .and_then(|(number, _)| number.parse().ok())
        .unwrap_or_else(|| panic!("{summary}"));
    assert!((0.19..1.0).contains(&size), "{summary}");

    // Not trusted: said so by the CI job; a CI machine that said nothing, or nothing said at
    // all (the runner fails closed); `gpu-ci run` on a CI system that sets no `CI`.
    let runs: [(&str, (&str, &str)); 4] = [
        ("modal", ("GPU_CI_CACHE_ACCESS", "read-only")),
        ("modal", ("CI", "true")),
        ("modal", ("GPU_CI_CACHE_ACCESS", "")),
        ("gpu-ci", ("JENKINS_URL", "http://jenkins.example/")),
    ];
    for (how, env) in runs {
        let before = api.kind("volume-mount").len();
        let output = if how == "modal" {
            modal_run(&api, &project, &[env])
        } else {
            gpu_ci_modal(&api, &project, "run", &[], &[env])
        };
        let (stdout, _) = text(&output);
        assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
        assert!(stdout.contains("SEEN trusted"), "{stdout}");
        assert!(stdout.contains("BIG b'www'"), "{stdout}");
        // Linked to the copy (the harness maps each sandbox's paths into a folder of its own,
        // so the folder's name on the volume differs here from sandbox to sandbox).
        assert!(stdout.contains("EXT True"), "{stdout}");
        assert!(stdout.contains("a throwaway copy"), "{stdout}");
        let mounts = api.kind("volume-mount");
        assert_eq!(mounts.len(), before + 1);
        assert_eq!(mounts[before]["read_only"], true, "{mounts:?}");
        let creates = api.requests("SandboxCreate");
        assert_eq!(
            creates.last().unwrap()["definition"]["volume_mounts"][0]["read_only"],
            true
        );
        // The caches pointed at the throwaway copy, never at the mount.
        let cache_line = stdout.lines().find(|l| l.starts_with("CACHE")).unwrap();
        assert!(!cache_line.contains("/gpu-ci-cache/"), "{cache_line}");
        // Nothing the run wrote reached the volume.
        assert_eq!(
            std::fs::read_to_string(volume.join("huggingface/planted.txt")).unwrap(),
            "trusted"
        );
        assert!(!volume.join("huggingface/fork-only.txt").exists());
        assert!(!kept("fork.so"));
        let summary = shown(&project.read("test-outputs/summary.md"));
        assert!(
            summary.contains("cache: volume gpu-ci-cache-mathkit, read only"),
            "{summary}"
        );
    }
}

/// Every file under `dir`, at any depth (links not followed).
fn walkdir(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            files.extend(walkdir(&entry.path()));
        } else {
            files.push(entry.path());
        }
    }
    files
}

/// `gpu-ci cache` (issue 26) through the real client against the local API: the volume's name
/// and scope before any run (none yet), its files and bytes after a trusted run (as the
/// volume's listing counts them), `clear` refused without a confirmation where no one can
/// answer, deleted with --yes; a missing or refused token is a one-line error, exit 2.
#[test]
fn gpu_ci_cache_shows_the_volume_and_clears_it_after_a_confirmation() {
    let project = suite(
        CACHE_SUITE,
        &[
            "--pytest-args",
            "-v -s",
            "--cache-path",
            "/root/.cache/torch_extensions",
        ],
    );
    let api = ModalApi::start(json!({}));
    let cache = |args: &[&str], env: &[(&str, &str)]| {
        let output = gpu_ci_modal(&api, &project, "cache", args, env);
        let (stdout, stderr) = text(&output);
        (output.status.code(), stdout, stderr)
    };
    let (code, stdout, stderr) = cache(&[], &[]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("volume   gpu-ci-cache-mathkit"), "{stdout}");
    assert!(
        stdout.contains("a fork's or a bot's pull request"),
        "{stdout}"
    );
    assert!(stdout.contains("the volume does not exist yet"), "{stdout}");
    // Looking never creates it.
    assert_eq!(api.kind("volume")[0]["create_if_missing"], false);
    assert!(!api.volume("gpu-ci-cache-mathkit").exists());

    let output = gpu_ci_run(&api, &project, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let volume = api.volume("gpu-ci-cache-mathkit");
    let on_disk: Vec<_> = walkdir(&volume);
    let bytes: u64 = on_disk
        .iter()
        .map(|p| std::fs::symlink_metadata(p).unwrap().len())
        .sum();
    let (code, stdout, stderr) = cache(&["show", "--json"], &[]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let shown: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(shown["volume"], "gpu-ci-cache-mathkit");
    assert_eq!(shown["enabled"], true);
    assert_eq!(shown["exists"], true);
    assert_eq!(shown["files"], on_disk.len(), "{shown}");
    assert_eq!(shown["bytes"], bytes, "{shown}");
    assert!(bytes > 200_000, "{bytes}");
    // The compiler cache beside it: none, as nothing here builds in the image.
    assert_eq!(shown["compiler_cache"]["volume"], "gpu-ci-ccache-mathkit");
    assert_eq!(shown["compiler_cache"]["exists"], false);
    let (_, stdout, _) = cache(&["show"], &[]);
    assert!(
        stdout.contains(&format!("in {} files", on_disk.len())),
        "{stdout}"
    );
    no_unknown_rpc(&api);

    // No terminal to ask: refused, and the volume is still there.
    let (code, _, stderr) = cache(&["clear"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("error: refusing to delete the cache volume `gpu-ci-cache-mathkit` without a confirmation"),
        "{stderr}"
    );
    assert!(volume.exists() && api.kind("volume-delete").is_empty());
    let (code, stdout, stderr) = cache(&["clear", "--yes"], &[]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("deleted the Modal Volume gpu-ci-cache-mathkit"),
        "{stdout}"
    );
    assert_eq!(
        api.kind("volume-delete")[0]["volume"],
        "gpu-ci-cache-mathkit"
    );
    assert!(!volume.exists());
    let (code, stdout, _) = cache(&["clear", "--yes"], &[]);
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains("the Modal Volume gpu-ci-cache-mathkit does not exist: nothing to clear"),
        "{stdout}"
    );

    // No token here, or one Modal refuses: one error line, exit 2.
    let (code, _, stderr) = cache(&[], &[("MODAL_TOKEN_ID", ""), ("MODAL_TOKEN_SECRET", "")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: no Modal credentials found"),
        "{stderr}"
    );
    let (code, _, stderr) = cache(&[], &[("MODAL_TOKEN_SECRET", "as-wrong")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "error: the Modal client could not read the cache volume `gpu-ci-cache-mathkit`"
        ),
        "{stderr}"
    );
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{stderr}"
    );
}

/// Issue 26, item 5: with `cache`, a trusted run keeps its tests' durations in the cache volume
/// (the format of .gpu-ci-durations.json, every shard's), and a sharded run of a checkout with
/// no durations file splits by them; an untrusted run reads them and never writes. A file
/// there that is huge, not JSON or full of hostile node ids is a warning or left out, never
/// run, and the run goes on with its split by test count.
#[test]
fn trusted_runs_keep_durations_in_the_cache_volume_and_sharded_runs_split_by_them() {
    let mut tests = String::from("import time\n\n");
    for i in 0..6 {
        tests += &format!(
            "def test_{i}():\n    time.sleep({})\n\n",
            0.01 * f64::from(i)
        );
    }
    let project = suite(&tests, &["--cache", "--shards", "2"]);
    assert!(!project.path(".gpu-ci-durations.json").exists());
    let api = ModalApi::start(json!({}));
    let output = gpu_ci_run(&api, &project, &[]);
    let (stdout, _) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(!stdout.contains("from the cache volume"), "{stdout}");
    let file = api
        .volume("gpu-ci-cache-mathkit")
        .join("gpu-ci/durations.json");
    let recorded: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(recorded["version"], 1);
    let ids: Vec<&String> = recorded["durations"].as_object().unwrap().keys().collect();
    assert_eq!(ids.len(), 6, "every shard's tests: {recorded}");
    assert!(
        ids.iter()
            .all(|id| id.starts_with("test/test_suite.py::test_"))
    );

    // The next sharded run splits by them.
    let output = gpu_ci_run(&api, &project, &[]);
    let (stdout, _) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(
        stdout.contains("(durations from the cache volume)"),
        "{stdout}"
    );
    assert!(
        shown(&project.read("test-outputs/summary.md")).contains("durations from the cache volume"),
    );

    // Not trusted: reads them, writes nothing.
    let planted = "{\"version\": 1, \"durations\": {\"test/test_suite.py::test_0\": 9.0}}\n";
    std::fs::write(&file, planted).unwrap();
    let output = modal_run(&api, &project, &[("GPU_CI_CACHE_ACCESS", "read-only")]);
    let (stdout, _) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(
        stdout.contains("(durations from the cache volume)"),
        "{stdout}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), planted);

    // Hostile files: too large, not JSON, or node ids no collection lists.
    let hostile_ids = format!(
        "{{\"version\": 1, \"durations\": {{\"$(touch /tmp/gpu-ci-pwned)\": 1, \"a\\u001b[31mred\": 2, \"{}\": 3, \"test/test_suite.py::test_1\": 1e308, \"test/test_suite.py::test_2\": 1{}}}}}",
        "x".repeat(5000),
        // An integer no float holds: refused, never an OverflowError that stops the run.
        "0".repeat(400)
    );
    for (data, said) in [
        (
            vec![b' '; 17 * 1024 * 1024],
            Some("is larger than 16 MiB and was not read"),
        ),
        (b"{not json".to_vec(), Some("not JSON")),
        (b"[1, 2]".to_vec(), Some("no `durations` object")),
        (hostile_ids.into_bytes(), None),
    ] {
        std::fs::write(&file, &data).unwrap();
        let output = modal_run(&api, &project, &[("GPU_CI_CACHE_ACCESS", "read-only")]);
        let (stdout, _) = text(&output);
        assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
        match said {
            Some(said) => {
                assert!(
                    stdout.contains(
                        "gpu-ci: warning: the durations in the cache volume were not read"
                    ) && stdout.contains(said)
                        && stdout.contains("the shards are balanced by test count"),
                    "{said}: {stdout}"
                );
            }
            None => {
                // Every hostile entry left out: no durations, a split by count, and none of
                // their text anywhere.
                assert!(!stdout.contains("from the cache volume"), "{stdout}");
                assert!(
                    !stdout.contains("pwned") && !stdout.contains("xxxxx"),
                    "{stdout}"
                );
                let summary = project.read("test-outputs/summary.md");
                assert!(!summary.contains("pwned") && !summary.contains('\u{1b}'));
            }
        }
        assert!(!std::path::Path::new("/tmp/gpu-ci-pwned").exists());
        assert_eq!(
            std::fs::read(&file).unwrap(),
            data,
            "an untrusted run wrote"
        );
    }
}

/// Issue 26, item 2: with `cache`, an image that builds the project (here a `setup` step) gets
/// ccache, and each build step runs with ccache in front of the compilers and the compiler
/// cache's own volume mounted: read-write for a trusted run, read-only with CCACHE_READONLY=1
/// for any other.
#[test]
fn the_image_build_steps_get_a_compiler_cache_read_only_unless_trusted() {
    let project = suite(
        "def test_ok():\n    pass\n",
        &["--cache", "--setup", "python -c 'print(1)'"],
    );
    let build_step = |api: &ModalApi| {
        api.requests("ImageGetOrCreate")
            .into_iter()
            .find(|body| {
                body["image"]["dockerfile_commands"]
                    .to_string()
                    .contains("print(1)")
            })
            .expect("the setup step's layer")
    };
    let api = ModalApi::start(json!({}));
    let output = gpu_ci_run(&api, &project, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    no_unknown_rpc(&api);
    assert!(
        api.layers()
            .iter()
            .flatten()
            .any(|c| c.contains("apt-get install") && c.contains("ccache")),
        "{:?}",
        api.layers()
    );
    let step = build_step(&api);
    let commands = step["image"]["dockerfile_commands"].to_string();
    assert!(commands.contains("CCACHE_DIR=/gpu-ci-ccache"), "{commands}");
    assert!(
        commands.contains(r#"CC=\"ccache ${CC:-gcc}\""#),
        "{commands}"
    );
    assert!(!commands.contains("CCACHE_READONLY"), "{commands}");
    let mounts = &step["image"]["volume_mounts"];
    assert_eq!(mounts[0]["mount_path"], "/gpu-ci-ccache", "{step}");
    assert!(mounts[0].get("read_only").is_none(), "{mounts}");
    assert!(
        api.kind("volume")
            .iter()
            .any(|v| v["name"] == "gpu-ci-ccache-mathkit"),
        "{:?}",
        api.kind("volume")
    );
    // The sandbox gets the download cache only; the compiler cache is the build's.
    let sandbox_mounts = &api.requests("SandboxCreate")[0]["definition"]["volume_mounts"];
    assert_eq!(sandbox_mounts.as_array().unwrap().len(), 1);

    let api = ModalApi::start(json!({}));
    let output = modal_run(&api, &project, &[("GPU_CI_CACHE_ACCESS", "read-only")]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let step = build_step(&api);
    let commands = step["image"]["dockerfile_commands"].to_string();
    assert!(commands.contains("CCACHE_READONLY=1"), "{commands}");
    assert_eq!(
        step["image"]["volume_mounts"][0]["read_only"], true,
        "{step}"
    );
}
