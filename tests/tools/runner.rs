//! The generated Modal runner: it compiles, passes ruff, and imports under the real `modal` client.

use std::process::Command;

use crate::common::{FIXTURES, Project, describe};
use crate::installed::{runner_python, tool};

#[test]
fn runner_compiles_lints_and_imports_under_modal() {
    for fixture in FIXTURES {
        for options in [&[][..], &["--fork-prs", "--gpu", "H100,A100-80GB"][..]] {
            let project = Project::fixture(fixture);
            let mut args = vec!["init", "--yes"];
            args.extend_from_slice(options);
            project.gpu_ci(&args).success();
            let runner = project.path(".modal/test_runner.py");

            let compile = runner_python()
                .args(["-m", "py_compile"])
                .arg(&runner)
                .output()
                .unwrap();
            assert!(
                compile.status.success(),
                "{fixture}: {}",
                describe(&compile)
            );

            let ruff = Command::new(tool("ruff"))
                .args(["check", "--no-cache", "--isolated", "--line-length", "120"])
                .arg(&runner)
                .output()
                .unwrap();
            assert!(ruff.status.success(), "{fixture}: {}", describe(&ruff));

            // Importing builds the app and its image definition, as `modal run` does first.
            let import = runner_python()
                .current_dir(&project.root)
                .args([
                    "-c",
                    "import runpy; ns = runpy.run_path('.modal/test_runner.py'); \
                     print(type(ns['app']).__name__, type(ns['run_tests']).__name__)",
                ])
                .output()
                .unwrap();
            assert!(import.status.success(), "{fixture}: {}", describe(&import));
            assert_eq!(
                String::from_utf8_lossy(&import.stdout).trim(),
                "App Function"
            );
        }
    }
}

/// Runs Python `code` in the project with the test venv (which has `modal`); its stdout.
fn python_in(project: &Project, code: &str) -> String {
    let output = runner_python()
        .current_dir(&project.root)
        .args(["-c", code])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    String::from_utf8(output.stdout).unwrap()
}

/// What `gpu-ci run --local` and the local entrypoint do: call `run_tests.local()`, save the
/// outputs, and exit with the runner's exit-code policy.
const LOCAL_HARNESS: &str = r#"
import json, runpy, sys
ns = runpy.run_path(".modal/test_runner.py")
result = ns["run_tests"].local()
ns["save_outputs"](result)
print("RESULT " + json.dumps({k: result[k] for k in ("returncode", "counts", "failures", "local", "gpu")}))
sys.exit(ns["exit_code"](result))
"#;

struct LocalRun {
    code: i32,
    stdout: String,
    stderr: String,
    result: serde_json::Value,
}

fn run_local(project: &Project, extra_path: Option<&std::path::Path>) -> LocalRun {
    let mut cmd = runner_python();
    cmd.current_dir(&project.root).args(["-c", LOCAL_HARNESS]);
    if let Some(path) = extra_path {
        cmd.env("PYTHONPATH", path);
    }
    let output = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let result = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .map(|json| serde_json::from_str(json).unwrap())
        .unwrap_or_else(|| panic!("no result: {}", describe(&output)));
    LocalRun {
        code: output.status.code().unwrap(),
        stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        result,
    }
}

fn suite(tests: &str, init_args: &[&str]) -> Project {
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

#[test]
fn passing_suite_returns_zero_with_counts_and_summary() {
    let project = suite(
        "import mathkit\n\ndef test_one():\n    assert mathkit is not None\n\ndef test_two():\n    assert 2 * 2 == 4\n",
        &[],
    );
    let run = run_local(&project, None);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.result["counts"]["passed"], 2);
    assert_eq!(run.result["counts"]["failed"], 0);
    assert!(run.stdout.contains("GPU report"));
    assert!(
        run.stdout.contains("WARNING: no GPU is visible"),
        "a CPU machine must be flagged"
    );
    // Live output reaches stdout, and the same lines land in the log.
    assert!(run.stdout.contains("test/test_suite.py::test_two PASSED"));
    let log = project.read("test-outputs/pytest-output.log");
    assert!(log.contains("2 passed"), "{log}");
    let junit = project.read("test-outputs/junit.xml");
    assert!(
        junit.contains("tests=\"2\"") && junit.contains("failures=\"0\""),
        "{junit}"
    );
    let summary = project.read("test-outputs/summary.md");
    assert!(summary.starts_with("### ✅ GPU tests passed"), "{summary}");
    assert!(summary.contains("| 2 | 0 | 0 | 0 |"), "{summary}");
    assert!(summary.contains("not billed (ran locally)"), "{summary}");
}

#[test]
fn failing_suite_returns_one_and_names_the_failure() {
    let project = suite(
        "import pytest\n\ndef test_fine():\n    pass\n\ndef test_broken():\n    assert [1, 2] == [1, 3], 'lists differ'\n\n@pytest.mark.skip(reason='later')\ndef test_later():\n    pass\n",
        &[],
    );
    let run = run_local(&project, None);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.result["counts"],
        serde_json::json!({"passed": 1, "failed": 1, "skipped": 1, "errors": 0})
    );
    assert_eq!(
        run.result["failures"][0]["test"],
        "test.test_suite::test_broken"
    );
    let summary = project.read("test-outputs/summary.md");
    assert!(summary.starts_with("### ❌ GPU tests failed"), "{summary}");
    assert!(
        summary.contains("<code>test.test_suite::test_broken</code>"),
        "{summary}"
    );
    assert!(summary.contains("lists differ"), "{summary}");
}

#[test]
fn no_tests_collected_fails_plainly_unless_allowed() {
    let project = suite("", &[]);
    let run = run_local(&project, None);
    assert_eq!(run.code, 5);
    assert!(
        run.stderr.contains("error: pytest collected no tests"),
        "{}",
        run.stderr
    );

    let project = suite("", &[]);
    let config = format!("{}allow-no-tests = true\n", project.read("pyproject.toml"));
    project.write("pyproject.toml", &config);
    project.gpu_ci(&["init", "--yes", "--force"]).success();
    assert_eq!(run_local(&project, None).code, 0);
}

#[test]
fn jax_and_cupy_reports_ask_their_framework() {
    // Stand-in modules with the calls the report makes, on a machine without GPU stacks.
    let fakes = tempfile::tempdir().unwrap();
    let jax = fakes.path().join("jax");
    std::fs::create_dir(&jax).unwrap();
    std::fs::write(
        jax.join("__init__.py"),
        "__version__ = '0.0-fake'\ndef default_backend():\n    return 'gpu'\ndef devices():\n    return ['cuda:0']\n",
    )
    .unwrap();
    let project = Project::initialised("jax-project");
    let run = run_local(&project, Some(fakes.path()));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("jax: jax 0.0-fake backend gpu, devices ['cuda:0']"),
        "{}",
        run.stdout
    );

    let project = Project::initialised("no-pyproject");
    let run = run_local(&project, Some(fakes.path()));
    assert!(
        run.stdout.contains("cupy: could not ask cupy"),
        "{}",
        run.stdout
    );
    assert!(
        project
            .read(".modal/test_runner.py")
            .contains("cupy.cuda.runtime.getDeviceCount()")
    );
}

/// Dependencies are installed before the source is added, and the source is mounted, not copied.
#[test]
fn image_layers_put_the_source_last() {
    for fixture in FIXTURES {
        let project = Project::initialised(fixture);
        let runner = project.read(".modal/test_runner.py");
        let start = runner.find("\nimage = (\n").expect("image definition");
        let end = start + runner[start..].find("\n)\n").unwrap();
        let chain = &runner[start..end];
        let calls: Vec<(usize, &str)> = chain
            .match_indices("\n    .")
            .map(|(at, _)| (at, chain[at + 6..].split('(').next().unwrap()))
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
                    "uv_sync",
                    "uv_pip_install",
                    "run_commands",
                    "add_local_file"
                ]
                .contains(call),
                "{fixture}: unexpected layer {call}"
            );
        }
        // Only dependency metadata is copied into the image.
        for line in chain.lines().filter(|l| l.contains("copy=True")) {
            assert!(line.contains("\"/deps/"), "{fixture}: {line}");
        }
    }
}

/// What Modal would upload: the runner's ignore list, applied by Modal's own mount walker.
const UPLOAD_HARNESS: &str = r#"
import pathlib, runpy
import modal
from modal.mount import _MountDir
ns = runpy.run_path(".modal/test_runner.py")
patterns = ns["DEFAULT_IGNORE"] + ns["gitignore_patterns"](pathlib.Path("."))
entry = _MountDir(
    local_dir=pathlib.Path("."),
    remote_path=pathlib.PurePosixPath("/root/project"),
    ignore=modal.FilePatternMatcher(*patterns),
    recursive=True,
)
for _, remote in sorted(entry.get_files_to_upload(), key=lambda f: str(f[1])):
    print(str(remote).removeprefix("/root/project/"))
"#;

#[test]
fn uploads_follow_gitignore_and_the_defaults() {
    let project = Project::initialised("uv-groups-src");
    project.write(
        ".gitignore",
        "# build products\ndata/\n*.ckpt\n!keep.ckpt\n/build\ndocs/_build/\n",
    );
    for file in [
        "data/train.csv",
        "sub/data/more.csv",
        "model.ckpt",
        "sub/model.ckpt",
        "keep.ckpt",
        "build/out.txt",
        "sub/build/kept.txt",
        "docs/_build/index.html",
        "docs/index.md",
        ".git/config",
        ".venv/lib/site.py",
        "src/vecops/__pycache__/x.cpython-312.pyc",
        "test-outputs/junit.xml",
    ] {
        project.write(file, "x");
    }
    let uploaded: Vec<String> = python_in(&project, UPLOAD_HARNESS)
        .lines()
        .map(str::to_string)
        .collect();
    for kept in [
        "keep.ckpt",
        "sub/build/kept.txt",
        "docs/index.md",
        "src/vecops/__init__.py",
        "tests/test_vecops.py",
        "pyproject.toml",
        ".gitignore",
    ] {
        assert!(
            uploaded.iter().any(|u| u == kept),
            "{kept} not uploaded: {uploaded:#?}"
        );
    }
    for dropped in [
        "data/train.csv",
        "sub/data/more.csv",
        "model.ckpt",
        "sub/model.ckpt",
        "build/out.txt",
        "docs/_build/index.html",
        ".git/config",
        ".venv/lib/site.py",
        "src/vecops/__pycache__/x.cpython-312.pyc",
        "test-outputs/junit.xml",
    ] {
        assert!(
            !uploaded.iter().any(|u| u == dropped),
            "{dropped} uploaded: {uploaded:#?}"
        );
    }
}

/// A huge failure list is cut below GitHub's 65,536-character comment limit, failures first.
#[test]
fn summary_stays_below_the_comment_limit() {
    let project = suite(
        "import pytest\n\n@pytest.mark.parametrize('n', range(300))\ndef test_many(n):\n    assert False, 'x' * 400 + str(n)\n",
        &[],
    );
    let run = run_local(&project, None);
    assert_eq!(run.code, 1);
    assert_eq!(run.result["counts"]["failed"], 300);
    let summary = project.read("test-outputs/summary.md");
    assert!(summary.chars().count() < 60_000, "{}", summary.len());
    assert!(summary.contains("| 0 | 300 | 0 | 0 |"));
    assert!(summary.contains("<code>test.test_suite::test_many[0]</code>"));
    assert!(
        summary.contains("more failing tests; see the log."),
        "the cut must say so"
    );
}

/// Editing another tool's settings leaves the dependency layer's input byte-identical.
#[test]
fn dependency_layer_ignores_other_tools_settings() {
    let project = Project::initialised("uv-groups-src");
    let harness = r#"
import pathlib, runpy
ns = runpy.run_path(".modal/test_runner.py")
folder = pathlib.Path(ns["dependency_metadata"](pathlib.Path(".")))
print((folder / "pyproject.toml").read_text(), end="")
print("LOCK" if (folder / "uv.lock").is_file() else "NOLOCK")
"#;
    let metadata = || python_in(&project, harness);
    let text = format!(
        "{}\n[tool.uv]\nindex-strategy = \"unsafe-best-match\"\n\n[tool.ruff]\nline-length = 100\n",
        project.read("pyproject.toml")
    );
    project.write("pyproject.toml", &text);
    let before = metadata();
    assert!(before.contains("[project]\nname = \"vecops\""), "{before}");
    assert!(before.contains("[dependency-groups]\ntests = [\"pytest>=8\"]"));
    assert!(before.contains("[tool.uv]\nindex-strategy"));
    for dropped in ["[tool.ruff]", "line-length", "[tool.gpu-ci]"] {
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

/// The cost line: the attached GPU read from nvidia-smi's names, times the dated price table.
#[test]
fn cost_follows_the_gpu_actually_attached() {
    let project = Project::initialised("uv-groups-src");
    let harness = r#"
import runpy
ns = runpy.run_path(".modal/test_runner.py")
billed = ns["gpu_billed"]
print(billed(["NVIDIA A100-SXM4-80GB"]), billed(["NVIDIA A100-SXM4-40GB"]), billed(["NVIDIA H100 80GB HBM3"] * 2), billed(["Tesla T4"]), repr(billed([])))
print(round(ns["estimated_cost"]("H100:2", 10), 6), round(ns["estimated_cost"]("L4", 100), 6), ns["estimated_cost"]("V100", 5))
"#;
    assert_eq!(
        python_in(&project, harness),
        "A100-80GB A100-40GB H100:2 T4 ''\n0.02194 0.0222 None\n"
    );
}
