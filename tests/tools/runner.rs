//! The generated Modal runner (issue 11): it compiles, passes ruff and imports under the real
//! `modal` client; its local side, run by the real client against a local Modal API
//! (`modal_api.rs`), reads the tree under test only as data, takes back only bytes, bills one
//! deadline, and streams.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{FIXTURES, Project, describe, shown};
use crate::installed::{runner_python, tool};
use crate::modal_api::{ModalApi, gpu_ci_run, modal_run};

const RUNNER: &str = ".modal/test_runner.py";
const IN_CONTAINER: &str = ".modal/in_container.py";
const RESULTS: &str = ".modal/gpu_ci_results.py";
const LOCAL_RUN: &str = ".modal/local_run.py";

#[test]
fn runner_compiles_lints_and_imports_under_modal() {
    for fixture in FIXTURES {
        for options in [&[][..], &["--fork-prs", "--gpu", "H100,A100-80GB"][..]] {
            let project = Project::fixture(fixture);
            let mut args = vec!["init", "--yes"];
            args.extend_from_slice(options);
            project.gpu_ci(&args).success();

            for (file, target) in [
                (RUNNER, "py311"),
                (IN_CONTAINER, "py39"),
                (RESULTS, "py39"),
                (LOCAL_RUN, "py39"),
            ] {
                let path = project.path(file);
                let compile = runner_python()
                    .args(["-m", "py_compile"])
                    .arg(&path)
                    .output()
                    .unwrap();
                assert!(
                    compile.status.success(),
                    "{fixture}: {}",
                    describe(&compile)
                );
                // The in-container script runs on the image's Python, 3.9 at the oldest. Linted
                // without its directives, which exempt it from the project's own linters.
                let dir = tempfile::tempdir().unwrap();
                let copy = crate::lint::without_exemptions(std::slice::from_ref(&path), dir.path());
                let ruff = Command::new(tool("ruff"))
                    .args(["check", "--no-cache", "--isolated", "--line-length", "120"])
                    .args(["--target-version", target])
                    .args(&copy)
                    .output()
                    .unwrap();
                assert!(
                    ruff.status.success(),
                    "{fixture} {file}: {}",
                    describe(&ruff)
                );
            }

            // Importing builds the app, as `modal run` does first; nothing is uploaded yet.
            let import = runner_python()
                .current_dir(&project.root)
                .args([
                    "-c",
                    "import runpy; ns = runpy.run_path('.modal/test_runner.py'); \
                     print(type(ns['app']).__name__, callable(ns['run']))",
                ])
                .output()
                .unwrap();
            assert!(import.status.success(), "{fixture}: {}", describe(&import));
            assert_eq!(String::from_utf8_lossy(&import.stdout).trim(), "App True");
        }
    }
}

/// The token leak through pickles: the local side must have no path that deserialises what the
/// container produced. No Modal function (whose return value the client unpickles), no pickle;
/// the container is a Sandbox whose streams are read as bytes.
#[test]
fn no_path_of_the_local_side_deserialises_container_output() {
    for fixture in FIXTURES {
        let project = Project::initialised(fixture);
        let runner = project.read(RUNNER);
        for forbidden in [
            "@app.function",
            "@app.cls",
            ".remote(",
            ".remote_gen(",
            ".local(",
            ".spawn(",
            ".map(",
            "pickle",
            "deserialize",
            "modal.Function",
            "modal.Cls",
            ".filesystem.",
            "text=True",
        ] {
            assert!(
                !runner.contains(forbidden),
                "{fixture}: `{forbidden}` in the runner"
            );
        }
        assert!(runner.contains("modal.Sandbox.create("), "{fixture}");
        assert_eq!(
            runner.matches("text=False").count(),
            3,
            "{fixture}: every exec (the tests, a shard's test list, a file read back) reads bytes"
        );
        assert_eq!(runner.matches("sandbox.exec(").count(), 3, "{fixture}");
        // The in-container script runs without the Modal client, and never imports it; nor
        // does it load another file of gpu-ci's: it is the only one the sandbox gets (issue 27).
        let inside = project.read(IN_CONTAINER);
        assert!(!inside.contains("import modal"), "{fixture}");
        assert!(!inside.contains("pickle"), "{fixture}");
        for load in [
            "spec_from_file_location",
            "runpy",
            "import gpu_ci",
            "RESULTS.",
        ] {
            assert!(
                !inside.contains(load),
                "{fixture}: `{load}` in in_container.py"
            );
        }
        assert!(
            runner.contains("with_name(\"in_container.py\"), REMOTE_SCRIPT")
                && !runner.contains("with_name(\"gpu_ci_results.py\"), REMOTE")
                && !runner.contains("with_name(\"local_run.py\"), REMOTE"),
            "{fixture}: the image gets in_container.py and no other file of gpu-ci's"
        );
        // The shared results are pure: no import that reads or writes anything, no open().
        let results = project.read(RESULTS);
        let imports: Vec<&str> = results
            .lines()
            .filter(|l| l.starts_with("import ") || l.starts_with("from "))
            .collect();
        assert_eq!(
            imports,
            [
                "from __future__ import annotations",
                "import html",
                "import json",
                "import re",
                "import shlex",
                "import statistics",
                "import xml.etree.ElementTree as ET",
                "from xml.parsers import expat",
            ],
            "{fixture}: gpu_ci_results.py imports only what computes"
        );
        for io in [
            "open(",
            "print(",
            "input(",
            "__import__",
            "importlib",
            "exec(",
            "eval(",
        ] {
            assert!(
                !results.contains(io),
                "{fixture}: `{io}` in gpu_ci_results.py"
            );
        }
        assert!(
            !project.read(LOCAL_RUN).contains("import modal"),
            "{fixture}"
        );
    }
}

// --- the local side through the real client, against the local Modal API -----------------

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub events: Vec<serde_json::Value>,
    pub seconds: f64,
}

impl Run {
    pub fn events(&self, kind: &str) -> Vec<&serde_json::Value> {
        self.events.iter().filter(|e| e["event"] == kind).collect()
    }
}

/// What the server recorded, as the events these tests assert on: `create` (each sandbox
/// asked for: GPU, timeout, workdir, command), `exec` (each command started in one),
/// `terminate`, `sandbox-timeout`, and one `build` (the image's layers and every uploaded path).
pub fn events(api: &ModalApi) -> Vec<serde_json::Value> {
    let mut events = Vec::new();
    let uploaded: Vec<String> = api.uploaded().into_iter().map(|(path, _)| path).collect();
    let build = serde_json::json!({"event": "build", "steps": api.layers(), "uploaded": uploaded});
    for record in api.records() {
        let body = &record["body"];
        match (record["kind"].as_str().unwrap(), record["rpc"].as_str()) {
            ("request", Some("SandboxCreate")) => {
                let definition = &body["definition"];
                let gpu = &definition["resources"]["gpu_config"];
                let mut name = gpu["gpu_type"].as_str().unwrap_or_default().to_string();
                if gpu["count"].as_u64().unwrap_or(1) > 1 {
                    name = format!("{name}:{}", gpu["count"]);
                }
                events.push(serde_json::json!({
                    "event": "create",
                    "gpu": name,
                    "timeout": definition["timeout_secs"],
                    "workdir": definition["workdir"],
                    "command": definition["entrypoint_args"],
                }));
            }
            ("request", Some("SandboxTerminate")) => {
                events.push(serde_json::json!({"event": "terminate"}));
            }
            ("exec", _) => {
                events.push(serde_json::json!({"event": "exec", "command": record["command"]}));
            }
            ("request", Some("ImageGetOrCreate")) if !events.contains(&build) => {
                events.push(build.clone());
            }
            ("sandbox-timeout", _) => events.push(serde_json::json!({"event": "sandbox-timeout"})),
            _ => {}
        }
    }
    events
}

/// `modal run .modal/test_runner.py`, the real client against a local Modal API with `faults`.
pub fn run_modal(project: &Project, faults: serde_json::Value) -> Run {
    let api = ModalApi::start(faults);
    let started = Instant::now();
    let output = modal_run(&api, project, &[]);
    let seconds = started.elapsed().as_secs_f64();
    let unknown = api.kind("unknown-rpc");
    assert!(
        unknown.is_empty(),
        "the client called RPCs the harness does not know: {unknown:?}"
    );
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        events: events(&api),
        seconds,
    }
}

/// `gpu-ci run --local`'s command, by hand: local_run.py with the test venv.
pub fn run_local(project: &Project, extra_path: Option<&Path>) -> Run {
    let mut cmd = runner_python();
    cmd.current_dir(&project.root)
        .args(["-u", LOCAL_RUN, "--deadline", "60", "--"])
        .args(configured_args(project));
    if let Some(path) = extra_path {
        cmd.env("PYTHONPATH", path);
    }
    let started = Instant::now();
    let output = cmd.output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        events: Vec::new(),
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// The configured test path and pytest arguments, split as the runner splits them.
fn configured_args(project: &Project) -> Vec<String> {
    let code = "import json, runpy, shlex; ns = runpy.run_path('.modal/test_runner.py'); \
                print(json.dumps(shlex.split(ns['TEST_PATH']) + shlex.split(ns['PYTEST_ARGS'])))";
    serde_json::from_str(&python_in(project, code)).unwrap()
}

/// Runs Python `code` in the project with the test venv (which has `modal`); its stdout.
pub fn python_in(project: &Project, code: &str) -> String {
    let output = runner_python()
        .current_dir(&project.root)
        .args(["-c", code])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    String::from_utf8(output.stdout).unwrap()
}

pub fn suite(tests: &str, init_args: &[&str]) -> Project {
    let project = Project::fixture("extras-flat");
    std::fs::remove_file(project.path("test/test_mathkit.py")).unwrap();
    if !tests.is_empty() {
        project.write("test/test_suite.py", tests);
    }
    let mut args = vec!["init", "--yes"];
    args.extend_from_slice(init_args);
    project.gpu_ci(&args).success();
    project
}

/// Adds `line` to [tool.gpu-ci] (the last table of the fixture's pyproject) and re-renders.
pub fn configure(project: &Project, line: &str) {
    let config = format!("{}{line}\n", project.read("pyproject.toml"));
    project.write("pyproject.toml", &config);
    project.gpu_ci(&["init", "--yes", "--force"]).success();
}

#[test]
fn a_passing_suite_runs_once_in_a_sandbox_and_comes_back_as_bytes() {
    let project = suite(
        "import mathkit\n\ndef test_one():\n    assert mathkit is not None\n\ndef test_two():\n    assert 2 * 2 == 4\n",
        &["--gpu", "A100-80GB"],
    );
    let run = run_modal(&project, json!({}));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let create = run.events("create");
    assert_eq!(create.len(), 1);
    assert_eq!(create[0]["gpu"], "A100-80GB");
    assert_eq!(create[0]["timeout"], 3600);
    let exec = run.events("exec");
    assert_eq!(exec[0]["command"][2], "/gpu-ci/in_container.py");
    assert_eq!(
        exec[0]["command"].as_array().unwrap()[3..],
        serde_json::json!([
            "--merge-stderr",
            "--deadline",
            "3540",
            "--output-dir",
            "/tmp/gpu-ci-outputs",
            "--",
            "test/",
            "-v"
        ])
        .as_array()
        .unwrap()[..]
    );
    assert_eq!(
        exec[1]["command"][0], "head",
        "the JUnit XML is read back capped"
    );
    assert_eq!(run.events.last().unwrap()["event"], "terminate");

    assert!(run.stdout.contains("GPU report"));
    assert!(run.stdout.contains("test/test_suite.py::test_two PASSED"));
    assert!(
        run.stdout
            .contains("gpu-ci GPU report: torch: torch is not installed"),
        "the framework is asked inside pytest: {}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("gpu-ci: 2 passed, 0 failed, 0 skipped, 0 errors on A100-80GB")
    );
    let log = project.read("test-outputs/pytest-output.log");
    assert!(log.contains("2 passed"), "{log}");
    let junit = project.read("test-outputs/junit.xml");
    assert!(junit.contains("tests=\"2\""), "{junit}");
    let summary = shown(&project.read("test-outputs/summary.md"));
    assert!(summary.starts_with("### ✅ GPU tests passed"), "{summary}");
    assert!(summary.contains("| 2 | 0 | 0 | 0 |"), "{summary}");
    assert!(summary.contains("**GPU:** A100-80GB"), "{summary}");
    assert!(summary.contains("**estimated cost:** $0."), "{summary}");
}

/// The token leak through symlinks: each link that leads out of the tree stops the run before
/// anything is built or uploaded, naming the link; under the real client too (no network is
/// reached: the run stops first).
#[test]
fn symlinks_out_of_the_tree_are_refused_before_upload() {
    let cases: [(&str, &str, &str); 4] = [
        (
            ".gitignore",
            "/proc/self/environ",
            "`.gitignore` is a symlink",
        ),
        (
            "pyproject.toml",
            "../outside.toml",
            "`pyproject.toml` is a symlink",
        ),
        (
            "test/test_leak.py",
            "/proc/self/environ",
            "`test/test_leak.py` is a symlink to `/proc/self/environ`, outside the tree",
        ),
        (
            "test/data/secrets.txt",
            "../../../outside.toml",
            "`test/data/secrets.txt` is a symlink to `../../../outside.toml`, outside the tree",
        ),
    ];
    for (link, target, message) in cases {
        let project = Project::initialised("uv-groups-src");
        std::fs::write(
            project.root.parent().unwrap().join("outside.toml"),
            "[project]\n",
        )
        .unwrap();
        let path = project.path(link);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let _ = std::fs::remove_file(&path);
        std::os::unix::fs::symlink(target, &path).unwrap();

        let run = run_modal(&project, json!({}));
        assert_eq!(run.code, 2, "{link}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(message), "{link}: {}", run.stderr);
        for event in ["build", "create", "exec"] {
            assert!(run.events(event).is_empty(), "{link}: {event} happened");
        }
        let summary = shown(&project.read("test-outputs/summary.md"));
        assert!(summary.contains("The run did not finish"), "{summary}");

        // The real client: the same refusal, before it could reach Modal.
        let real = runner_python()
            .current_dir(&project.root)
            .args(["-c", "import runpy, sys; sys.exit(runpy.run_path('.modal/test_runner.py')['run']('tests/', '-v'))"])
            .output()
            .unwrap();
        assert_eq!(real.status.code(), Some(2), "{link}: {}", describe(&real));
        assert!(
            String::from_utf8_lossy(&real.stderr).contains(message),
            "{link}"
        );
    }

    // Links that stay inside the tree are fine, and so is a linked folder, which Modal's walker
    // does not enter.
    let project = Project::initialised("uv-groups-src");
    std::os::unix::fs::symlink("test_vecops.py", project.path("tests/test_alias.py")).unwrap();
    std::os::unix::fs::symlink("/etc", project.path("tests/etc")).unwrap();
    let run = run_modal(&project, json!({}));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let uploaded = &run.events("build")[0]["uploaded"];
    assert!(
        uploaded
            .as_array()
            .unwrap()
            .contains(&"/root/project/tests/test_alias.py".into())
    );
    assert!(
        !uploaded.to_string().contains("/root/project/tests/etc/"),
        "{uploaded}"
    );
}

#[test]
fn a_timeout_is_killed_reported_and_not_re_run() {
    // Outside the tree, so outside the sandbox's folder, where the harness runs the tests.
    let outside = tempfile::tempdir().unwrap();
    let runs = outside.path().join("runs.txt");
    let sleeper = format!(
        "import pathlib, time\n\ndef test_hangs():\n    with pathlib.Path({:?}).open('a') as f:\n        f.write('ran\\n')\n    time.sleep(60)\n",
        runs.to_str().unwrap()
    );
    let project = suite(&sleeper, &[]);
    configure(&project, "timeout = 8");

    // The script's deadline (the timeout less a reserve to read results back) stops pytest.
    let run = run_modal(&project, json!({}));
    assert_eq!(run.code, 124, "{}{}", run.stdout, run.stderr);
    assert!(run.seconds < 30.0, "{}", run.seconds);
    assert_eq!(run.events("create").len(), 1, "never a second sandbox");
    assert_eq!(run.events("create")[0]["timeout"], 8);
    assert_eq!(
        std::fs::read_to_string(&runs).unwrap(),
        "ran\n",
        "the test ran once"
    );
    assert!(
        run.stdout.contains("ran past their deadline of 6 s"),
        "{}",
        run.stdout
    );
    let summary = shown(&project.read("test-outputs/summary.md"));
    assert!(
        summary.starts_with("### ⏱️ GPU tests stopped at the deadline"),
        "{summary}"
    );
    assert!(summary.contains("nothing was re-run"), "{summary}");

    // Modal's own timeout, when the script's deadline is later: the sandbox ends, the same.
    std::fs::remove_file(&runs).unwrap();
    let runner = project.read(RUNNER).replace(
        "READBACK_SECONDS = min(60, TIMEOUT_SECONDS // 4)",
        "READBACK_SECONDS = -30",
    );
    project.write(RUNNER, &runner);
    let run = run_modal(&project, json!({}));
    assert_eq!(run.code, 124, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.events("sandbox-timeout").len(), 1, "{:?}", run.events);
    assert_eq!(run.events("create").len(), 1);
    assert_eq!(std::fs::read_to_string(&runs).unwrap(), "ran\n");
    assert!(shown(&project.read("test-outputs/summary.md")).contains("stopped at the deadline"));
}

#[test]
fn only_a_sandbox_that_failed_to_start_is_retried_once() {
    let project = suite("def test_ok():\n    pass\n", &["--gpu", "H100, A100-80GB"]);
    let run = run_modal(&project, json!({"start_failures": 1}));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let gpus: Vec<_> = run
        .events("create")
        .iter()
        .map(|e| e["gpu"].clone())
        .collect();
    assert_eq!(
        gpus,
        ["H100", "A100-80GB"],
        "the retry asks for the fallback GPU"
    );
    assert!(
        run.stderr.contains("warning: the sandbox failed to start"),
        "{}",
        run.stderr
    );
    let summary = shown(&project.read("test-outputs/summary.md"));
    assert!(
        summary.contains("The first sandbox failed to start (ResourceExhaustedError"),
        "{summary}"
    );
    assert!(summary.contains("**GPU:** A100-80GB"), "{summary}");

    // Issue 24: no sandbox started, no test ran: 2, not the 1 of failed tests.
    let run = run_modal(&project, json!({"start_failures": 5}));
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.events("create").len(), 2, "one retry, no more");
    assert!(run.events("exec").is_empty());
    assert!(
        run.stderr
            .contains("error: no test ran: the sandbox could not start; run again later"),
        "{}",
        run.stderr
    );
    let summary = shown(&project.read("test-outputs/summary.md"));
    assert!(
        summary.contains("The run did not finish: the sandbox could not start"),
        "{summary}"
    );

    // A failed image build is not a failed start: it is not retried.
    let run = run_modal(
        &project,
        json!({"build_failure": "Image build failed (harness)"}),
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("no test ran. The build log above says which step failed"),
        "{}",
        run.stderr
    );
    assert!(run.events("create").is_empty());
    assert!(run.stderr.contains("Image build failed"), "{}", run.stderr);
}

/// Non-UTF-8 output crashed the runner; an HTML parametrize id closed the summary's <details>.
#[test]
fn raw_bytes_and_html_ids_are_shown_and_escaped() {
    let tests = "import sys\nimport pytest\n\n\
        @pytest.mark.parametrize('v', ['</code></summary></details>\\n### @octocat <b>'])\n\
        def test_html(v):\n    sys.stdout.buffer.write(b'raw \\xff\\xfe bytes\\n')\n    sys.stdout.flush()\n    assert v == 'x'\n\n\
        class TestGroup:\n    def test_inner(self):\n        assert False, '@everyone <script>'\n";
    let project = suite(tests, &["--pytest-args", "-v -s"]);
    for run in [run_modal(&project, json!({})), run_local(&project, None)] {
        assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
        assert!(
            run.stdout.contains("raw \u{fffd}\u{fffd} bytes"),
            "{}",
            run.stdout
        );
        let log = project.read("test-outputs/pytest-output.log");
        assert!(log.contains("raw \u{fffd}\u{fffd} bytes"), "{log}");
        let summary = project.read("test-outputs/summary.md");
        assert!(summary.contains("| 0 | 2 | 0 | 0 |"), "{summary}");
        // pytest node ids, every ASCII symbol a character reference, every @ made inert.
        assert!(
            summary.contains("<code>test&#47;test&#95;suite&#46;py&#58;&#58;TestGroup&#58;&#58;test&#95;inner</code>"),
            "{summary}"
        );
        assert!(
            summary.contains("&#91;&#60;&#47;code&#62;&#60;&#47;summary&#62;&#60;&#47;details&#62;&#92;n&#35;\u{200b}&#35;\u{200b}&#35;\u{200b} &#64;\u{200b}octocat &#60;b&#62;&#93;</code>"),
            "{summary}"
        );
        assert!(
            shown(&summary).contains("<code>test/test_suite.py::test_html[</code></summary></details>\\n### @octocat <b>]</code>"),
            "{summary}"
        );
        assert!(
            summary.contains("@\u{200b}everyone &lt;script&gt;"),
            "{summary}"
        );
        for raw in [
            "</code></summary></details>",
            "<script>",
            "<b>",
            "@octocat",
            "@everyone",
        ] {
            assert!(
                !summary.contains(raw),
                "`{raw}` reached the summary: {summary}"
            );
        }
        assert!(
            summary
                .contains("<pre>gpu-ci run -- &#x27;test/test_suite.py::test_html[&lt;/code&gt;"),
            "{summary}"
        );
        assert!(
            summary.contains(" test/test_suite.py::TestGroup::test_inner</pre>"),
            "{summary}"
        );
    }
}

/// The code under test writes the JUnit XML the summary is made of, so it chooses every node
/// id and skip reason in it: a line break in a node id ended the HTML block of its <details>
/// line, and a skip reason sat in a Markdown paragraph; either made a link or an image in the
/// bot's comment. Played by a conftest.py that forges the file after pytest wrote it.
#[test]
fn forged_junit_xml_makes_no_link_image_or_block_in_the_summary() {
    let conftest = "import shutil\n\ndef pytest_unconfigure(config):\n    \
        if config.option.xmlpath:\n        shutil.copyfile('forged.xml', config.option.xmlpath)\n";
    let link = "[log in again](https://evil.example/login) ![pixel](https://evil.example/p.png)";
    let failing = format!(
        r#"<testsuites><testsuite name="pytest"><testcase classname="test.test_suite" file="test/test_suite.py" name="test_x&#10;&#10;{link}&#10;"><failure message="m">boom</failure></testcase></testsuite></testsuites>"#
    );
    let skipped = format!(
        r#"<testsuites><testsuite name="pytest"><testcase classname="test.test_suite" file="test/test_suite.py" name="test_y"><skipped message="could not import '{link}': {link}"/></testcase></testsuite></testsuites>"#
    );
    let project = suite("def test_ok():\n    pass\n", &[]);
    project.write("test/conftest.py", conftest);
    for (forged, shown) in [
        (
            &failing,
            "<code>test&#47;test&#95;suite&#46;py&#58;&#58;test&#95;x&#10;&#10;",
        ),
        (
            &skipped,
            "Every test was skipped at import: <code>could not import &#39;",
        ),
    ] {
        project.write("forged.xml", forged);
        for run in [run_modal(&project, json!({})), run_local(&project, None)] {
            let summary = project.read("test-outputs/summary.md");
            assert!(
                summary.contains(shown),
                "{}{}{summary}",
                run.stdout,
                run.stderr
            );
            assert!(
                summary.contains("&#91;log in again&#93;&#40;https&#58;\u{200b}&#47;&#47;evil&#46;example&#47;login&#41;"),
                "{summary}"
            );
            // A <pre> block is one HTML block to its `</pre>`, which escaping keeps out of it:
            // Markdown reads nothing inside.
            let markdown: String = summary
                .split("<pre>")
                .map(|part| part.split_once("</pre>").map_or(part, |(_, after)| after))
                .collect();
            for raw in ["[log in again]", "![pixel]", "test_x\n"] {
                assert!(
                    !markdown.contains(raw),
                    "`{raw}` reached the summary's Markdown: {summary}"
                );
            }
        }
    }
}

/// Reads `child`'s stdout as it comes; the time `needle` first appears, with the child still
/// running then, and everything read.
fn first_sight(mut child: std::process::Child, needle: &str) -> (bool, String) {
    let mut stdout = child.stdout.take().unwrap();
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buffer) {
            if n == 0 || send.send(buffer[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    let mut running_when_seen = false;
    while Instant::now() < deadline {
        match receive.recv_timeout(Duration::from_millis(100)) {
            Ok(chunk) => {
                seen.extend(chunk);
                if String::from_utf8_lossy(&seen).contains(needle) {
                    running_when_seen = child.try_wait().unwrap().is_none();
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    child.wait().unwrap();
    (
        running_when_seen,
        String::from_utf8_lossy(&seen).into_owned(),
    )
}

/// pytest wrote into a pipe, block-buffered: a test's line appeared only after it finished.
#[test]
fn a_line_appears_while_its_test_still_runs() {
    let tests =
        "import time\n\ndef test_slow():\n    print('before the sleep')\n    time.sleep(4)\n";
    let project = suite(tests, &["--pytest-args", "-v -s"]);
    let api = ModalApi::start(json!({}));
    let mut through_modal = Command::new(tool("modal"));
    api.client_env(&mut through_modal);
    let through_modal = through_modal
        .current_dir(&project.root)
        .args(["run", RUNNER])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (live, seen) = first_sight(through_modal, "before the sleep");
    assert!(live, "the line came only after the run ended: {seen}");

    let mut local = runner_python();
    local
        .current_dir(&project.root)
        .args(["-u", LOCAL_RUN, "--", "test/", "-v", "-s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let (live, seen) = first_sight(local.spawn().unwrap(), "before the sleep");
    assert!(live, "the line came only after the run ended: {seen}");
}

#[test]
fn failing_suite_returns_one_and_names_the_failure() {
    let project = suite(
        "import pytest\n\ndef test_fine():\n    pass\n\ndef test_broken():\n    assert [1, 2] == [1, 3], 'lists differ'\n\n@pytest.mark.skip(reason='later')\ndef test_later():\n    pass\n",
        &[],
    );
    let run = run_local(&project, None);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let summary = shown(&project.read("test-outputs/summary.md"));
    assert!(summary.starts_with("### ❌ GPU tests failed"), "{summary}");
    assert!(summary.contains("| 1 | 1 | 1 | 0 |"), "{summary}");
    assert!(
        summary.contains("<code>test/test_suite.py::test_broken</code>"),
        "{summary}"
    );
    assert!(summary.contains("lists differ"), "{summary}");
    assert!(
        summary.contains("<pre>gpu-ci run -- test/test_suite.py::test_broken</pre>"),
        "{summary}"
    );
    assert!(summary.contains("not billed (ran locally)"), "{summary}");
}

#[test]
fn no_tests_collected_fails_plainly_unless_allowed() {
    let project = suite("", &[]);
    // Modal uploads files, not folders: an empty test folder would not exist in the sandbox.
    project.write("test/conftest.py", "");
    let run = run_local(&project, None);
    assert_eq!(run.code, 5);
    assert!(
        run.stderr.contains("error: pytest collected no tests"),
        "{}",
        run.stderr
    );
    assert_eq!(run_modal(&project, json!({})).code, 5);

    configure(&project, "allow-no-tests = true");
    assert_eq!(run_local(&project, None).code, 0);
    assert_eq!(run_modal(&project, json!({})).code, 0);
}

/// `importorskip` at a module's top skips every test; the summary says which import did it.
#[test]
fn tests_skipped_at_import_name_the_import() {
    let project = suite(
        "import pytest\n\ntorch = pytest.importorskip('torch_that_is_not_here')\n\ndef test_gpu():\n    pass\n",
        &[],
    );
    for run in [run_local(&project, None), run_modal(&project, json!({}))] {
        // pytest collected nothing it could run: its exit code 5.
        assert_eq!(run.code, 5, "{}{}", run.stdout, run.stderr);
        assert!(
            run.stderr
                .contains("error: pytest collected no tests; install what the tests import"),
            "{}",
            run.stderr
        );
        let expected =
            "could not import 'torch_that_is_not_here': No module named 'torch_that_is_not_here'";
        assert!(
            run.stderr.contains(&format!(
                "gpu-ci: every test was skipped at import: {expected}"
            )),
            "{}",
            run.stderr
        );
        let summary = shown(&project.read("test-outputs/summary.md"));
        assert!(
            summary.contains("Every test was skipped at import"),
            "{summary}"
        );
        assert!(summary.contains("torch_that_is_not_here"), "{summary}");
    }

    // Inside a test, the skip is the test's own: the same line.
    project.write(
        "test/test_suite.py",
        "import pytest\n\ndef test_gpu():\n    pytest.importorskip('cupy_not_here')\n",
    );
    let run = run_local(&project, None);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(
            "gpu-ci: every test was skipped at import: could not import 'cupy_not_here': No module named 'cupy_not_here'\n"
        ),
        "{}",
        run.stderr
    );
}

/// Issue 24: every test skipped was "✅ GPU tests passed" for 0 passed. No test ran: the
/// terminal and the summary say so, with the count and the reason, locally and on Modal.
#[test]
fn a_run_where_every_test_skipped_is_no_test_ran_never_passed() {
    let project = suite(
        "import pytest\n\ndef test_gpu():\n    pytest.importorskip('cupy_not_here')\n\n\
         @pytest.mark.skip(reason='needs <b>two</b> GPUs')\ndef test_two():\n    pass\n",
        &[],
    );
    let reason = "could not import 'cupy_not_here': No module named 'cupy_not_here'";
    for run in [run_local(&project, None), run_modal(&project, json!({}))] {
        // pytest's own code: nothing failed.
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        let summary = shown(&project.read("test-outputs/summary.md"));
        assert!(
            summary.starts_with(
                "### ⚠️ GPU tests: no test ran (2 skipped: could not import 'cupy_not_here'"
            ),
            "{summary}"
        );
        assert!(!summary.contains('✅'), "{summary}");
        assert!(summary.contains("| 0 | 0 | 2 | 0 |"), "{summary}");
        assert!(
            run.stderr
                .contains(&format!("gpu-ci: no test ran (2 skipped: {reason})\n")),
            "{}",
            run.stderr
        );
    }

    // Skipped for reasons of the tests' own: the commonest, escaped in the summary.
    project.write(
        "test/test_suite.py",
        "import pytest\n\n@pytest.mark.skip(reason='needs <b>two</b> GPUs')\ndef test_one():\n    pass\n\n\
         @pytest.mark.skip(reason='needs <b>two</b> GPUs')\ndef test_two():\n    pass\n\n\
         @pytest.mark.skip(reason='slow')\ndef test_three():\n    pass\n",
    );
    let run = run_local(&project, None);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(
            "gpu-ci: no test ran (3 skipped: needs <b>two</b> GPUs; and 1 other reason)\n"
        ),
        "{}",
        run.stderr
    );
    let summary = project.read("test-outputs/summary.md");
    assert!(
        summary.starts_with(
            "### ⚠️ GPU tests: no test ran (3 skipped: needs &#60;b&#62;two&#60;&#47;b&#62; GPUs&#59; and 1 other reason)\n"
        ),
        "{summary}"
    );
}

#[test]
fn the_framework_is_asked_inside_pytest() {
    // Stand-in modules with the calls the report makes, on a machine without GPU stacks.
    let fakes = tempfile::tempdir().unwrap();
    let jax = fakes.path().join("jax");
    std::fs::create_dir(&jax).unwrap();
    std::fs::write(
        jax.join("__init__.py"),
        "import os\nprint('jax imported in', os.getpid())\n__version__ = '0.0-fake'\n\
         def default_backend():\n    return 'gpu'\ndef devices():\n    return ['cuda:0']\n",
    )
    .unwrap();
    let project = Project::initialised("jax-project");
    project.write(
        "tests/test_pid.py",
        "import os\nimport jax\n\ndef test_pid():\n    print('test runs in', os.getpid())\n",
    );
    let mut cmd = runner_python();
    cmd.current_dir(&project.root)
        .args(["-u", LOCAL_RUN, "--", "tests", "-s"])
        .env("PYTHONPATH", fakes.path());
    let output = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        stdout.contains("gpu-ci GPU report: jax: jax 0.0-fake backend gpu, devices ['cuda:0']"),
        "{stdout}"
    );
    // One import, in the process that runs the tests.
    let imported: Vec<_> = stdout
        .lines()
        .filter(|l| l.starts_with("jax imported in"))
        .collect();
    assert_eq!(imported.len(), 1, "{stdout}");
    let pid = imported[0].rsplit(' ').next().unwrap();
    assert!(stdout.contains(&format!("test runs in {pid}")), "{stdout}");

    let project = Project::initialised("no-pyproject");
    let run = run_local(&project, Some(fakes.path()));
    assert!(
        run.stdout.contains("cupy: cupy is not installed"),
        "{}",
        run.stdout
    );
    assert!(
        project
            .read(IN_CONTAINER)
            .contains("cupy.cuda.runtime.getDeviceCount()")
    );
}

/// The CUDA version is the banner's `CUDA Version`, not the driver's version.
#[test]
fn the_cuda_version_is_read_from_the_banner() {
    let project = Project::initialised("uv-groups-src");
    let banner = "| NVIDIA-SMI 580.95.05              Driver Version: 580.95.05      CUDA Version: 13.0     |";
    let code = format!(
        "import runpy; ns = runpy.run_path('.modal/in_container.py'); print(ns['cuda_version']({banner:?}), ns['cuda_version']('no gpu'))"
    );
    assert_eq!(python_in(&project, &code), "13.0 None\n");
}

/// Dependencies are installed before the source is added, and the source is mounted, not copied.
#[test]
fn image_layers_put_the_source_last() {
    for fixture in FIXTURES {
        let project = Project::initialised(fixture);
        let runner = project.read(RUNNER);
        let start = runner.find("\n    image = (\n").expect("image definition");
        let end = start + runner[start..].find("\n    )\n").unwrap();
        let chain = &runner[start..end];
        let calls: Vec<(usize, &str)> = chain
            .match_indices("\n        .")
            .map(|(at, _)| (at, chain[at + 10..].split('(').next().unwrap()))
            .collect();
        let (source_at, last) = *calls.last().unwrap();
        assert_eq!(
            last, "add_local_dir",
            "{fixture}: the source must be the last layer"
        );
        assert!(chain[source_at..].contains("copy=False"), "{fixture}");
        for (_, call) in &calls[..calls.len() - 1] {
            assert!(
                [
                    "apt_install",
                    "env",
                    "uv_sync",
                    "uv_pip_install",
                    "run_commands",
                    "add_local_file"
                ]
                .contains(call),
                "{fixture}: unexpected layer {call}"
            );
        }
        // Only dependency metadata, copied from the tree as data, is copied into the image.
        for line in chain.lines().filter(|l| l.contains("copy=True")) {
            assert!(
                line.contains("deps /") && line.contains("\"/deps/"),
                "{fixture}: {line}"
            );
        }
    }
}

// The upload set's tests are in upload.rs.

/// A huge failure list is cut below GitHub's 65,536-character comment limit, failures first.
#[test]
fn summary_stays_below_the_comment_limit() {
    let project = suite(
        "import pytest\n\n@pytest.mark.parametrize('n', range(300))\ndef test_many(n):\n    assert False, 'x' * 400 + str(n)\n",
        &[],
    );
    let run = run_local(&project, None);
    assert_eq!(run.code, 1);
    let summary = shown(&project.read("test-outputs/summary.md"));
    assert!(summary.chars().count() < 60_000, "{}", summary.len());
    assert!(summary.contains("| 0 | 300 | 0 | 0 |"));
    assert!(summary.contains("<code>test/test_suite.py::test_many[0]</code>"));
    assert!(
        summary.contains("more failing tests; see the log."),
        "the cut must say so"
    );
}

/// Editing another tool's settings leaves the dependency layer's input byte-identical, and the
/// cut is a real TOML document (a multi-line array in a dropped table broke the line cutter).
#[test]
fn dependency_layer_ignores_other_tools_settings() {
    let project = Project::initialised("uv-groups-src");
    let harness = r#"
import pathlib, runpy, tomllib
ns = runpy.run_path(".modal/test_runner.py")
folder = pathlib.Path(ns["dependency_metadata"](pathlib.Path(".").absolute()))
text = (folder / "pyproject.toml").read_text()
tomllib.loads(text)
print(text, end="")
print("LOCK" if (folder / "uv.lock").is_file() else "NOLOCK")
"#;
    let metadata = || python_in(&project, harness);
    let text = format!(
        "{}\n[tool.uv]\nindex-strategy = \"unsafe-best-match\"\n\n[tool.ruff]\nline-length = 100\nselect = [\n  \"E\",\n  \"F\", # pyflakes\n]\n\n[tool.ruff.lint.per-file-ignores]\n\"tests/*\" = [\"S101\"]\n",
        project.read("pyproject.toml")
    );
    project.write("pyproject.toml", &text);
    let before = metadata();
    assert!(before.contains("[project]\nname = \"vecops\""), "{before}");
    assert!(
        before.contains("[dependency-groups]\ntests = [\"pytest>=8\"]"),
        "{before}"
    );
    assert!(before.contains("[tool.uv]\nindex-strategy"), "{before}");
    for dropped in ["[tool.ruff", "line-length", "pyflakes", "[tool.gpu-ci]"] {
        assert!(!before.contains(dropped), "{dropped}: {before}");
    }
    assert!(before.ends_with("LOCK\n"));

    let edited = text
        .replace("line-length = 100", "line-length = 88")
        .replace("gpu = \"L4\"", "gpu = \"H100\"");
    project.write("pyproject.toml", &edited);
    assert_eq!(
        before,
        metadata(),
        "a settings-only edit must not change the dependency layer"
    );
}

/// The TOML writer gives back what tomllib read, for every kind of value pyproject holds.
#[test]
fn the_toml_writer_round_trips_through_tomllib() {
    let project = Project::initialised("uv-groups-src");
    let harness = r#"
import runpy, tomllib
ns = runpy.run_path(".modal/test_runner.py")
source = r'''
top = "level"
[project]
name = "x"
version = "1.0"
description = "quotes \" and \\ backslash, tab\t, unicode é ☃, control \u0001"
requires-python = ">=3.9"
dependencies = ["torch>=2; sys_platform == 'linux'", 'numpy']
keywords = []
authors = [{name = "A", email = "a@example.com"}, {name = "B"}]
dynamic = ["readme"]
[project.optional-dependencies]
"gpu.cuda" = ["cupy-cuda12x"]
[project.urls]
"Home page" = "https://example.com"
[tool.poetry.dependencies]
python = "^3.10"
torch = {version = "^2.3", source = "pytorch", markers = "extra == 'gpu'"}
[[tool.poetry.source]]
name = "pytorch"
url = "https://download.pytorch.org/whl/cu121"
priority = "explicit"
[[tool.poetry.source]]
name = "other"
[tool.poetry.source.nested]
deep = {a = [1, 2.5, -3e10, true, false, inf, nan]}
[tool.uv]
constraint-dependencies = ["a<2"]
nested = [[1, 2], ["x"]]
when = 1979-05-27T07:32:00Z
day = 1979-05-27
at = 07:32:00
empty = {}
[tool.uv.sources]
torch = [{index = "cu121", marker = "sys_platform == 'linux'"}]
'''
document = tomllib.loads(source)
text = ns["toml_dumps"](document)
back = tomllib.loads(text)
# nan != nan: compare with it replaced.
def clean(value):
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, float) and value != value:
        return "nan"
    return value
assert clean(back) == clean(document), (text, back)
print(text.splitlines()[0])
"#;
    assert_eq!(python_in(&project, harness), "top = \"level\"\n");
}

/// The cost line: the requested GPU times the dated price table.
#[test]
fn cost_follows_the_requested_gpu() {
    let project = Project::initialised("uv-groups-src");
    let harness = r#"
import runpy
ns = runpy.run_path(".modal/test_runner.py")
cost = ns["estimated_cost"]
print(round(cost("H100:2", 10), 6), round(cost("L4", 100), 6), round(cost("a100-80gb", 1), 6), cost("V100", 5))
"#;
    assert_eq!(
        python_in(&project, harness),
        "0.02194 0.0222 0.000694 None\n"
    );
}

/// What init accepts, the runner runs: a config value is an argument list.
#[test]
fn a_detected_test_path_with_a_space_stays_one_path() {
    // `testpaths = ["my tests"]` is written quoted, and comes back as one path.
    let project = Project::fixture("extras-flat");
    std::fs::rename(project.path("test"), project.path("my tests")).unwrap();
    let pyproject = format!(
        "{}\n[tool.pytest.ini_options]\ntestpaths = [\"my tests\"]\n",
        project.read("pyproject.toml")
    );
    project.write("pyproject.toml", &pyproject);
    project.gpu_ci(&["init", "--yes"]).success();
    assert!(
        project
            .read("pyproject.toml")
            .contains("test-path = \"'my tests'\"")
    );
    assert_eq!(configured_args(&project), ["my tests", "-v"]);
    let run = run_local(&project, None);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("my tests/test_mathkit.py::test_ok PASSED"),
        "{}",
        run.stdout
    );
}

/// Issue 21: the recipe keys reach Modal as data: system packages after git, `env` as the
/// image's environment (a value hostile to Python stays one string), `packages` with the
/// indexes, the Modal secrets on the sandbox, `setup` in the tree's copy.
#[test]
fn the_recipe_reaches_the_image_and_the_sandbox() {
    let hostile = "\"); import os; os.system('id') #";
    let project = suite(
        "def test_one():\n    pass\n",
        &[
            "--apt",
            "ninja-build",
            "--env",
            &format!("KERAS_BACKEND={hostile}"),
            "--package",
            "torchao>=0.10",
            "--extra-index-url",
            "https://download.pytorch.org/whl/cu128",
            "--modal-secret",
            "huggingface",
            "--setup",
            "python build_lib.py",
        ],
    );
    let api = ModalApi::start(serde_json::json!({}));
    let output = gpu_ci_run(&api, &project, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    // The Dockerfile commands the real client made of each layer.
    let commands: Vec<String> = api.layers().into_iter().flatten().collect();
    let position = |wanted: &dyn Fn(&str) -> bool, what: &str| {
        commands
            .iter()
            .position(|c| wanted(c))
            .unwrap_or_else(|| panic!("no {what}: {commands:#?}"))
    };
    let apt = position(
        &|c| c.contains("apt-get install") && c.contains("git") && c.contains("ninja-build"),
        "apt-get install of git and ninja-build",
    );
    // The hostile value stays one string: the image's environment, not Python source.
    let env = position(
        &|c| c.starts_with("ENV ") && c.contains("KERAS_BACKEND") && c.contains("os.system"),
        "the env layer",
    );
    let packages = position(
        &|c| {
            c.contains("uv pip install")
                && c.contains("torchao>=0.10")
                && c.contains("--extra-index-url https://download.pytorch.org/whl/cu128")
                && c.contains("--index-strategy first-index")
        },
        "the packages with their index",
    );
    let setup = position(
        &|c| c.contains("cd /root/project && python build_lib.py"),
        "the setup command",
    );
    assert!(apt < packages && packages < setup, "{commands:#?}");
    assert!(env < setup, "{commands:#?}");
    // The Modal secret is looked up by name and attached to the sandbox.
    let secrets = api.requests("SecretGetOrCreate");
    assert!(
        secrets
            .iter()
            .any(|s| s.to_string().contains("huggingface")),
        "{secrets:#?}"
    );
    let create = &api.requests("SandboxCreate")[0];
    assert!(
        !create["definition"]["secret_ids"]
            .as_array()
            .map(Vec::is_empty)
            .unwrap_or(true),
        "no secret on the sandbox: {create:#}"
    );
}

/// The "skipped at import" line is the runner's own, after the test output (unlabelled, where
/// a matrix run labels every line of the tests): an import name with a line break, an escape
/// sequence or a bidi character must not add a line that reads as gpu-ci's, or rewrite the
/// terminal. It stays one line, those characters shown by their code. (`importorskip` compiles
/// the name first, but a skip reason is any text, and the line is found by its shape.)
#[test]
fn the_skipped_at_import_line_shows_test_text_inert() {
    let project = suite(
        "import pytest\n\ndef test_gpu():\n    pytest.skip(\"could not import 'nope\\ngpu-ci: 120 passed\\x1b[2K\\x07\\u202e': why\")\n",
        &[],
    );
    let run = run_local(&project, None);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let line = run
        .stderr
        .lines()
        .find(|l| l.starts_with("gpu-ci: every test was skipped at import: "))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    assert!(line.contains("nope\\ngpu-ci: 120 passed"), "{line}");
    assert!(
        !run.stderr
            .lines()
            .any(|l| l.starts_with("gpu-ci: 120 passed")),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains(['\u{1b}', '\u{7}', '\u{202e}']),
        "{:?}",
        run.stderr
    );
}

/// Issue 26: `max-cost` sets the sandbox's lifetime to what it buys on the GPU the run asks
/// for, and the summary says which bound applied.
#[test]
fn a_budget_is_the_sandbox_lifetime_and_the_summary_says_so() {
    let project = suite("def test_one():\n    assert True\n", &["--gpu", "H100"]);
    // H100 at $0.001097 a second: $0.20 buys 182 s, under the default hour.
    configure(&project, "max-cost = 0.2");
    let run = run_modal(&project, json!({}));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.events("create")[0]["timeout"], 182);
    assert!(
        run.stderr
            .contains("gpu-ci: deadline 3 min (max-cost $0.20)"),
        "{}",
        run.stderr
    );
    let summary = shown(&project.read("test-outputs/summary.md"));
    assert!(
        summary.contains("deadline 3 min (max-cost $0.20)"),
        "{summary}"
    );
}

/// Issue 26: the runner sums the budget as `gpu-ci config` does (plan/budget.rs) for a GPU or
/// shard count given at start (`MODAL_GPU`, `--shards`): each entry of the matrix at its
/// dearest fallback, every shard; a budget that buys too little stops the run before anything
/// is built.
#[test]
fn the_runner_sums_the_budget_as_config_does() {
    let project = suite("def test_one():\n    assert True\n", &[]);
    configure(&project, "max-cost = 5");
    let assert = project
        .gpu_ci(&[
            "config",
            "--gpu",
            "T4",
            "--gpu",
            "H100:2,A100-80GB",
            "--shards",
            "3",
        ])
        .success();
    let said = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    let harness = r#"
import runpy
ns = runpy.run_path(".modal/test_runner.py")
seconds, note = ns["budget_deadline"]([["T4"], ["H100:2", "A100-80GB"]], 3)
print(seconds, note)
try:
    ns["budget_deadline"]([["B200:8"]], 4)
except ns["StopRun"] as error:
    print(error)
"#;
    let printed = python_in(&project, harness);
    let mut lines = printed.lines();
    // $5 / (($0.000164 + $0.002194) × 3) = 706 s.
    assert_eq!(
        lines.next().unwrap(),
        "706 deadline 11 min (max-cost $5.00)"
    );
    assert!(
        said.contains("note: deadline 11 min (max-cost $5.00)"),
        "{said}"
    );
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("max-cost $5.00 buys 90 s of 1 GPU setting(s) × 4 shard(s)"),
        "{printed}"
    );
}

/// Issue 26: every run leaves test-outputs/gpu-ci-cost.json, the ledger `gpu-ci costs` reads:
/// its trigger from the CI system's own variables, each sandbox's GPU, devices, time and cost
/// as measured on this side, and totals that add up.
#[test]
fn every_run_leaves_a_cost_ledger_that_adds_up() {
    let project = suite(
        "def test_one():\n    assert True\n\ndef test_two():\n    assert True\n",
        &["--gpu", "T4", "--gpu", "H100:2", "--shards", "2"],
    );
    let api = ModalApi::start(json!({}));
    let output = modal_run(&api, &project, &[("GITHUB_EVENT_NAME", "push")]);
    assert!(output.status.success(), "{}", describe(&output));
    let ledger: serde_json::Value =
        serde_json::from_str(&project.read("test-outputs/gpu-ci-cost.json")).unwrap();
    assert_eq!(ledger["schema"], 1);
    assert_eq!(ledger["trigger"], "push");
    assert_eq!(ledger["shards"], 2);
    assert_eq!(ledger["deadline_seconds"], 3600);
    assert_eq!(ledger["max_cost_usd"], serde_json::Value::Null);
    let runs = ledger["runs"].as_array().unwrap();
    let mut gpus: Vec<(&str, u64)> = runs
        .iter()
        .map(|run| {
            (
                run["gpu"].as_str().unwrap(),
                run["devices"].as_u64().unwrap(),
            )
        })
        .collect();
    gpus.sort_unstable();
    assert_eq!(gpus, [("H100", 2), ("H100", 2), ("T4", 1), ("T4", 1)]);
    let price = |gpu: &str| if gpu == "T4" { 0.000164 } else { 0.001097 };
    let (mut seconds, mut cost) = (0.0, 0.0);
    for run in runs {
        let (gpu, devices) = (
            run["gpu"].as_str().unwrap(),
            run["devices"].as_f64().unwrap(),
        );
        let run_seconds = run["seconds"].as_f64().unwrap();
        assert!(run_seconds > 0.0, "{run}");
        let run_cost = run["cost_usd"].as_f64().unwrap();
        assert!(
            (run_cost - price(gpu) * devices * run_seconds).abs() < 1e-5,
            "{run}"
        );
        seconds += run_seconds * devices;
        cost += run_cost;
    }
    assert!(
        (ledger["gpu_seconds"].as_f64().unwrap() - seconds).abs() < 0.01,
        "{ledger}"
    );
    assert!(
        (ledger["cost_usd"].as_f64().unwrap() - cost).abs() < 1e-5,
        "{ledger}"
    );
    for stamp in [&ledger["started"], &ledger["ended"]] {
        let stamp = stamp.as_str().unwrap();
        assert!(
            stamp.len() == 20 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
            "{stamp}"
        );
    }
    assert!(ledger["started"].as_str() <= ledger["ended"].as_str());

    // One sandbox; a trigger that is not a plain event name is not taken for one.
    let project = suite("def test_one():\n    assert True\n", &[]);
    let output = modal_run(
        &api,
        &project,
        &[
            ("GITHUB_EVENT_NAME", "push\n::error::x"),
            ("CI_PIPELINE_SOURCE", "merge_request_event"),
        ],
    );
    assert!(output.status.success(), "{}", describe(&output));
    let ledger: serde_json::Value =
        serde_json::from_str(&project.read("test-outputs/gpu-ci-cost.json")).unwrap();
    assert_eq!(ledger["trigger"], "merge_request_event");
    assert_eq!(ledger["runs"].as_array().unwrap().len(), 1);
    assert_eq!(ledger["runs"][0]["gpu"], "L4");
}
