//! The image recipe keys of issue 21 (`packages`, `index-url`, `extra-index-urls`, `env`,
//! `modal-secrets`, `setup`, `apt`, `submodules`, `cuda`): each from its flag and its config
//! key, with its source in `config`, a clear `error:` for a bad value, and what it changes in
//! every target's files, snapshotted as a diff against the same project without it.

use crate::common::{Project, add_config};
use crate::snapshots::settings;

/// Every file `init --ci github,gitlab,bitbucket` writes, but the lock (whose contexts repeat
/// what the files say).
const FILES: [&str; 11] = [
    ".github/workflows/_modal-gpu-tests.yml",
    ".github/workflows/label-gpu-tests.yml",
    ".github/workflows/run-gpu-tests.yml",
    ".modal/test_runner.py",
    ".modal/in_container.py",
    ".modal/gpu_ci_results.py",
    ".modal/local_run.py",
    ".gitlab/gpu-ci.yml",
    "bitbucket-pipelines.yml",
    ".gitlab-ci.yml",
    "pyproject.toml",
];

fn init_all(project: &Project, args: &[&str]) -> String {
    let mut full = vec!["init", "--yes", "--ci", "github,gitlab,bitbucket"];
    full.extend_from_slice(args);
    project.gpu_ci(&full).success();
    FILES
        .iter()
        .map(|rel| format!("=== {rel} ===\n{}", project.read(rel)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The unified diff from `before` to `after`, three lines of context, without the stamps'
/// hash lines (which change with every byte of their file).
fn diff(before: &str, after: &str) -> String {
    let unstamped = |text: &str| {
        text.lines()
            .filter(|line| !line.contains("gpu-ci-hash: "))
            .map(|line| format!("{line}\n"))
            .collect::<String>()
    };
    let (before, after) = (unstamped(before), unstamped(after));
    similar::TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .to_string()
}

/// What each key changes, on a torch project (uv-groups-src: a uv.lock, a build system):
/// one snapshot per key, the diff of every generated file and the config against the same
/// project initialised without it.
#[test]
fn each_key_changes_exactly_its_part() {
    let baseline = init_all(&Project::fixture("uv-groups-src"), &[]);
    let cases: [(&str, &[&str]); 10] = [
        (
            "packages",
            &[
                "--package",
                "torchao>=0.10",
                "--package",
                "triton; platform_machine == 'x86_64'",
            ],
        ),
        (
            "index-url",
            &["--index-url", "https://pypi.example.org/simple"],
        ),
        (
            "extra-index-urls",
            &[
                "--extra-index-url",
                "https://download.pytorch.org/whl/cu128",
                "--package",
                "torchvision",
            ],
        ),
        (
            "env",
            &[
                "--env",
                "MAMBA_KEEP_CUDA_BUILD=TRUE",
                "--env",
                "KERAS_BACKEND=it's \"jax\"",
            ],
        ),
        ("modal-secrets", &["--modal-secret", "huggingface"]),
        (
            "setup",
            &[
                "--setup",
                "python build_lib.py --quick",
                "--setup",
                "echo 'done'",
            ],
        ),
        ("apt", &["--apt", "ninja-build", "--apt", "libgl1"]),
        ("submodules", &["--submodules"]),
        ("cuda", &["--cuda", "12.6"]),
        // Issue 26: not a recipe key, but the same shape: its part of every target.
        (
            "cache",
            &["--cache", "--cache-path", "/root/.cache/torch_extensions"],
        ),
    ];
    for (key, args) in cases {
        let project = Project::fixture("uv-groups-src");
        let text = diff(&baseline, &init_all(&project, args));
        assert!(!text.is_empty(), "{key} changed nothing");
        // The key is kept in the config, and `config` says where it came from.
        let config = project.read("pyproject.toml");
        assert!(
            config.contains(&format!("\n{key} = "))
                || config.contains(&format!("[tool.gpu-ci.{key}]")),
            "{key}: {config}"
        );
        let json: serde_json::Value = serde_json::from_slice(
            &project
                .gpu_ci(&["config", "--json"])
                .success()
                .get_output()
                .stdout,
        )
        .unwrap();
        assert_eq!(json[key]["source"]["kind"], "config", "{key}: {json:#}");
        // Hunk positions move with every template change elsewhere: the snapshot keeps what
        // the key changes, not where.
        let mut settings = settings();
        settings.add_filter(r"(?m)^@@ -\d+(,\d+)? \+\d+(,\d+)? @@", "@@ [HUNK] @@");
        settings.bind(|| insta::assert_snapshot!(format!("recipe-{key}"), text));
    }
}

/// The config's keys give the same files as the flags, and `config` names the flag when one
/// is given over them.
#[test]
fn config_keys_and_flags_agree() {
    let by_flags = Project::fixture("extras-flat");
    let flags = [
        "--package",
        "torchao>=0.10",
        "--extra-index-url",
        "https://download.pytorch.org/whl/cu128",
        "--env",
        "KERAS_BACKEND=jax",
        "--setup",
        "make native",
        "--apt",
        "ninja-build",
        "--submodules",
        "--cuda",
        "12.8",
        "--modal-secret",
        "hf",
    ];
    let from_flags = init_all(&by_flags, &flags);
    let by_config = Project::fixture("extras-flat");
    add_config(
        &by_config,
        "packages = [\"torchao>=0.10\"]\nextra-index-urls = [\"https://download.pytorch.org/whl/cu128\"]\nsetup = [\"make native\"]\napt = [\"ninja-build\"]\nsubmodules = true\ncuda = \"12.8\"\nmodal-secrets = [\"hf\"]\n\n[tool.gpu-ci.env]\nKERAS_BACKEND = \"jax\"\n",
    );
    let from_config = init_all(&by_config, &[]);
    let files = |text: &str| {
        text.split("=== pyproject.toml ===")
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(files(&from_flags), files(&from_config));
    // A flag over the key: the flag is the source.
    let json: serde_json::Value = serde_json::from_slice(
        &by_config
            .gpu_ci(&["config", "--json", "--env", "KERAS_BACKEND=torch"])
            .success()
            .get_output()
            .stdout,
    )
    .unwrap();
    assert_eq!(json["env"]["value"]["KERAS_BACKEND"], "torch");
    assert_eq!(json["env"]["source"]["flag"], "--env");
    assert_eq!(json["cuda"]["source"]["key"], "cuda");
    // The table written back stays a `[tool.gpu-ci.env]` section.
    assert!(
        by_config
            .read("pyproject.toml")
            .contains("[tool.gpu-ci.env]\nKERAS_BACKEND = \"jax\"")
    );
}

/// Each bad value is refused with one `error:` line naming the key, and nothing is written.
#[test]
fn bad_values_are_refused_before_anything_is_written() {
    let cases: [(&[&str], &str); 16] = [
        (
            &["--package=-e ."],
            "`packages`: `-e .` is not a requirement",
        ),
        (
            &["--package", "pkg @ git+https://github.com/a/b"],
            "not an https:// URL",
        ),
        (
            &["--package", "torch>=2 ; os == 'linux'"],
            "`os` is not a marker variable",
        ),
        (
            &["--index-url", "http://pypi.example.org/simple"],
            "`index-url`: `http://pypi.example.org/simple` is not an https:// URL",
        ),
        (
            &["--extra-index-url", "https://user:pw@example.org/simple"],
            "holds credentials",
        ),
        (
            &["--env", "HF_TOKEN=hf_abc"],
            "`env`: `HF_TOKEN` looks like a secret",
        ),
        (&["--env", "AWS_SECRET_ACCESS_KEY=x"], "looks like a secret"),
        (
            &["--env", "lower=x"],
            "`env`: `lower` is not an environment variable name",
        ),
        (&["--env", "NOVALUE"], "--env `NOVALUE` is not NAME=VALUE"),
        (&["--env", "GPU_CI_PYTHON=3.9"], "keep for themselves"),
        (
            &["--modal-secret", "hf", "--fork-prs"],
            "`modal-secrets` cannot be used with `fork-prs`",
        ),
        (
            &["--modal-secret", "a b"],
            "`modal-secrets`: `a b` is not a Modal secret name",
        ),
        (
            &["--setup", "make\necho hi"],
            "`setup` may not contain newlines",
        ),
        (
            &["--apt", "ninja-build;rm -rf /"],
            "`apt`: `ninja-build;rm -rf /` is not a Debian package name",
        ),
        (&["--cuda", "12.3"], "unknown CUDA version `12.3`"),
        (&["--cuda", "12.8.1"], "unknown CUDA version `12.8.1`"),
    ];
    for (args, message) in cases {
        let project = Project::fixture("uv-groups-src");
        let before = project.snapshot_tree();
        let mut full = vec!["init", "--yes"];
        full.extend_from_slice(args);
        let output = project.gpu_ci(&full).code(2).get_output().clone();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(stderr.contains("help: "), "{args:?}: {stderr}");
        assert_eq!(project.snapshot_tree(), before, "{args:?} wrote something");
    }
    // The same checks guard the config keys.
    let project = Project::fixture("uv-groups-src");
    add_config(&project, "env = { HF_TOKEN = \"hf_abc\" }\n");
    project
        .gpu_ci(&["config"])
        .code(2)
        .stderr(predicates::str::contains(
            "error: `env`: `HF_TOKEN` looks like a secret",
        ))
        .stderr(predicates::str::contains("modal-secrets"));
    let project = Project::fixture("uv-groups-src");
    add_config(&project, "packages = \"torchao\"\n");
    project
        .gpu_ci(&["config"])
        .code(2)
        .stderr(predicates::str::contains(
            "error: `packages` in [tool.gpu-ci] in pyproject.toml must be a list of strings",
        ));
}

/// A subproject of the tree in `packages` (`./DIR[extras]`): built in the image from the
/// tree's copy with the image's indexes, kept as written in the config; a path that leaves the
/// tree, goes through a symlink, names no subproject or asks for an extra it lacks is refused
/// before anything is written.
#[test]
fn a_subproject_of_the_tree_is_installed_from_the_trees_copy() {
    let subproject = |project: &Project| {
        project.write(
            "kernels/cute/pyproject.toml",
            "[project]\nname = \"my-kernels\"\nversion = \"0.1\"\ndependencies = [\"einops\"]\n\n[project.optional-dependencies]\ncu13 = [\"nvidia-cutlass-dsl[cu13]\"]\n",
        );
    };
    let base = Project::fixture("uv-groups-src");
    subproject(&base);
    let baseline = init_all(&base, &[]);
    let project = Project::fixture("uv-groups-src");
    subproject(&project);
    let text = diff(
        &baseline,
        &init_all(&project, &["--package", "./kernels/cute[cu13]"]),
    );
    assert!(
        project
            .read("pyproject.toml")
            .contains("packages = [\"./kernels/cute[cu13]\"]"),
        "{}",
        project.read("pyproject.toml")
    );
    let mut settings = settings();
    settings.add_filter(r"(?m)^@@ -\d+(,\d+)? \+\d+(,\d+)? @@", "@@ [HUNK] @@");
    settings.bind(|| insta::assert_snapshot!("recipe-packages-subproject", text));

    let cases: [(&str, &str); 9] = [
        ("./../outside", "is not a subproject of the tree"),
        // It would read as an option.
        ("./-kernels", "is not a subproject of the tree"),
        // A pyproject.toml that only configures tools is no project.
        ("./tools_only", "names no subproject"),
        ("./kernels/../..", "is not a subproject of the tree"),
        ("./kernels/cute;id", "is not a subproject of the tree"),
        ("./kernels/cute[cu13", "not closed by `]`"),
        ("./kernels/cute[a b]", "`a b` is not an extra's name"),
        ("./kernels", "names no subproject"),
        (
            "./kernels/cute[cu12]",
            "asks for the extra `cu12`, which `kernels/cute/pyproject.toml` does not define",
        ),
    ];
    let project = Project::fixture("uv-groups-src");
    subproject(&project);
    project.write(
        "tools_only/pyproject.toml",
        "[tool.black]\nline-length = 100\n",
    );
    // A subproject reached through a symlink (to a folder outside the tree) is not one.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("pyproject.toml"),
        "[project]\nname = \"elsewhere\"\nversion = \"1\"\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path(), project.path("linked")).unwrap();
    let before = project.snapshot_tree();
    for (entry, message) in cases.iter().chain(&[("./linked", "names no subproject")]) {
        let output = project
            .gpu_ci(&["init", "--yes", "--package", entry])
            .code(2)
            .get_output()
            .clone();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.starts_with("error: `packages`: "),
            "{entry}: {stderr}"
        );
        assert!(stderr.contains(message), "{entry}: {stderr}");
        assert!(stderr.contains("help: "), "{entry}: {stderr}");
        assert_eq!(project.snapshot_tree(), before, "{entry} wrote something");
    }
}

/// A value that is hostile to the file it lands in reaches it only as a quoted literal: the
/// runner still parses, and the value is one string of it.
#[test]
fn hostile_values_stay_data() {
    let project = Project::fixture("uv-groups-src");
    let env_value = "\"); import os; os.system('id') #";
    let setup = "echo \"$(id)\" '\\' \"\"\"";
    project
        .gpu_ci(&[
            "init",
            "--yes",
            "--env",
            &format!("KERAS_BACKEND={env_value}"),
            "--setup",
            setup,
        ])
        .success();
    let runner = project.read(".modal/test_runner.py");
    let env_literal = serde_json::to_string(env_value).unwrap();
    assert!(
        runner.contains(&format!(".env({{\"KERAS_BACKEND\": {env_literal}}})")),
        "{runner}"
    );
    let setup_literal = serde_json::to_string(setup).unwrap();
    assert!(runner.contains(&format!("+ {setup_literal})")), "{runner}");
}

/// `.gitmodules` turns `submodules` on, with a note, and `--no-submodules` off; no file, off.
#[test]
fn submodules_follow_gitmodules() {
    let project = Project::fixture("uv-groups-src");
    project.write(
        ".gitmodules",
        "[submodule \"csrc/cutlass\"]\n\tpath = csrc/cutlass\n\turl = https://github.com/NVIDIA/cutlass.git\n",
    );
    project
        .gpu_ci(&["init", "--yes", "--ci", "github,gitlab,bitbucket"])
        .success()
        .stderr(predicates::str::contains(
            "the project has git submodules (.gitmodules)",
        ));
    assert!(
        project
            .read(".github/workflows/_modal-gpu-tests.yml")
            .contains("submodules: recursive")
    );
    assert!(
        project
            .read(".gitlab/gpu-ci.yml")
            .contains("GIT_SUBMODULE_STRATEGY: recursive")
    );
    assert!(
        project
            .read("bitbucket-pipelines.yml")
            .contains("git submodule update --init --recursive")
    );
    // Detected each time, not written to the config.
    assert!(!project.read("pyproject.toml").contains("submodules"));
    let json: serde_json::Value = serde_json::from_slice(
        &project
            .gpu_ci(&["config", "--json"])
            .success()
            .get_output()
            .stdout,
    )
    .unwrap();
    assert_eq!(json["submodules"]["source"]["from"], ".gitmodules");

    let off = Project::fixture("uv-groups-src");
    off.write(".gitmodules", "");
    off.gpu_ci(&["init", "--yes", "--no-submodules"]).success();
    assert!(
        !off.read(".github/workflows/_modal-gpu-tests.yml")
            .contains("submodules:")
    );
    assert!(off.read("pyproject.toml").contains("submodules = false"));

    let none = Project::fixture("uv-groups-src");
    none.gpu_ci(&["init", "--yes"]).success();
    assert!(
        !none
            .read(".github/workflows/_modal-gpu-tests.yml")
            .contains("submodules:")
    );
}

/// With a lock, the indexes serve only what the image adds, and a note says so.
#[test]
fn indexes_beside_a_lock_are_explained() {
    let project = Project::fixture("uv-groups-src");
    project
        .gpu_ci(&[
            "init",
            "--yes",
            "--index-url",
            "https://pypi.example.org/simple",
        ])
        .success()
        .stderr(predicates::str::contains(
            "note: uv.lock decides where the project's own dependencies come from",
        ));
}

/// A project that compiles a CUDA extension against torch, with `torch_line` in its
/// dependencies.
fn cuda_extension(torch_line: &str) -> Project {
    let project = Project::empty();
    project.write(
        "pyproject.toml",
        &format!(
            "[build-system]\nrequires = [\"setuptools\", \"torch\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[project]\nname = \"kern\"\nrequires-python = \">=3.10\"\ndependencies = [{torch_line:?}, \"numpy\"]\n\n[project.optional-dependencies]\ntest = [\"pytest\"]\n"
        ),
    );
    project.write(
        "setup.py",
        "from setuptools import setup\nfrom torch.utils.cpp_extension import BuildExtension, CUDAExtension\nsetup(ext_modules=[CUDAExtension('kern._C', ['csrc/k.cu'])], cmdclass={'build_ext': BuildExtension})\n",
    );
    project.write("csrc/k.cu", "");
    project.write("tests/test_k.py", "def test_k():\n    pass\n");
    project
}

/// Issue 21: the devel image was CUDA 12.8 while the constraints capped torch below the
/// first torch built for 12.8, so PyTorch's cu128 index had no torch for it. The image now
/// takes the newest CUDA PyTorch built the highest allowed torch for.
#[test]
fn a_torch_cap_picks_the_devel_image_and_index_of_its_cuda() {
    let project = cuda_extension("torch>=2.1,<2.6");
    let json = config_json(&project, &[]);
    assert_eq!(json["cuda"]["value"], "12.4", "{json:#}");
    assert_eq!(json["cuda"]["source"]["from"], "pyproject.toml");
    let init = project.gpu_ci(&["init", "--yes"]).success();
    let stderr = String::from_utf8_lossy(&init.get_output().stderr).into_owned();
    assert!(
        stderr.contains("CUDA 12.4 (the project's `torch>=2.1,<2.6` (pyproject.toml) allows torch 2.5 at most, whose newest CUDA build is 12.4): the image is `nvidia/cuda:12.4.1-devel-ubuntu22.04`, and torch from https://download.pytorch.org/whl/cu124"),
        "{stderr}"
    );
    let runner = project.read(".modal/test_runner.py");
    assert!(
        runner.contains("nvidia/cuda:12.4.1-devel-ubuntu22.04"),
        "{runner}"
    );
    assert!(runner.contains("whl/cu124"), "{runner}");
    assert!(!runner.contains("cu128"), "{runner}");
    // A torch the default toolkit has wheels for keeps it; `cuda` still decides over both.
    let project = cuda_extension("torch>=2.4");
    let json = config_json(&project, &[]);
    assert_eq!(json["cuda"]["value"], serde_json::Value::Null, "{json:#}");
    let project = cuda_extension("torch==2.4.*");
    assert_eq!(config_json(&project, &[])["cuda"]["value"], "12.4");
    assert_eq!(
        config_json(&project, &["--cuda", "12.1"])["cuda"]["value"],
        "12.1"
    );
    // `packages` caps torch too.
    let project = cuda_extension("torch");
    let json = config_json(&project, &["--package", "torch<2.4"]);
    assert_eq!(json["cuda"]["value"], "12.1", "{json:#}");
}

/// setup.py's literal `install_requires` caps torch like pyproject's list; a cap from torch
/// 2.12 on (no CUDA 12.8 build) takes a CUDA 13 toolkit.
#[test]
fn a_torch_cap_in_setup_py_or_past_cuda_12_picks_its_cuda() {
    let project = Project::empty();
    project.write(
        "setup.py",
        "from setuptools import setup\nfrom torch.utils.cpp_extension import BuildExtension, CUDAExtension\nsetup(\n    name='kern',\n    python_requires='>=3.10',\n    install_requires=[\n        'torch>=2.1,<2.6',  # the kernels need 2.5's API\n        'numpy',\n    ],\n    extras_require={'test': ['pytest']},\n    ext_modules=[CUDAExtension('kern._C', ['csrc/k.cu'])],\n    cmdclass={'build_ext': BuildExtension},\n)\n",
    );
    project.write("csrc/k.cu", "");
    project.write("tests/test_k.py", "def test_k():\n    pass\n");
    let json = config_json(&project, &[]);
    assert_eq!(json["cuda"]["value"], "12.4", "{json:#}");
    assert_eq!(json["cuda"]["source"]["from"], "setup.py");
    let project = cuda_extension("torch>=2.10,<2.13");
    let json = config_json(&project, &[]);
    assert_eq!(json["cuda"]["value"], "13.2", "{json:#}");
    project.gpu_ci(&["init", "--yes"]).success();
    let runner = project.read(".modal/test_runner.py");
    assert!(
        runner.contains("nvidia/cuda:13.2.1-devel-ubuntu24.04"),
        "{runner}"
    );
    assert!(runner.contains("whl/cu132"), "{runner}");
}

/// A lock's torch is what `uv sync --frozen` installs: the image takes its CUDA, and a `cuda`
/// that differs is named by init and failed by doctor's pre-flight (no uv, no network).
#[test]
fn a_locked_torch_for_another_cuda_is_followed_or_named() {
    let project = cuda_extension("torch>=2.1");
    project.write(
        "uv.lock",
        "version = 1\nrevision = 2\nrequires-python = \">=3.10\"\n\n[[package]]\nname = \"torch\"\nversion = \"2.5.1+cu124\"\nsource = { registry = \"https://download.pytorch.org/whl/cu124\" }\n",
    );
    let json = config_json(&project, &[]);
    assert_eq!(json["cuda"]["value"], "12.4", "{json:#}");
    assert_eq!(json["cuda"]["source"]["from"], "uv.lock");
    // `uv sync --frozen` installs the lock's torch: the note says so, not a wheel index.
    project
        .gpu_ci(&["init", "--yes", "--dry-run"])
        .success()
        .stderr(predicates::str::contains(
            "the image is `nvidia/cuda:12.4.1-devel-ubuntu22.04`, and torch as uv.lock pins it;",
        ));
    project
        .gpu_ci(&["init", "--yes", "--dry-run", "--cuda", "12.8"])
        .success()
        .stderr(predicates::str::contains(
            "the image's CUDA toolkit is 12.8 (`cuda`), but uv.lock pins torch 2.5.1+cu124, built for CUDA 12.4",
        ));
    project
        .gpu_ci(&["init", "--yes", "--cuda", "12.8"])
        .success();
    let output = project
        .gpu_ci(&["doctor", "--json"])
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&output).unwrap();
    let preflight = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "preflight")
        .unwrap()
        .clone();
    assert_eq!(preflight["status"], "fail", "{preflight:#}");
    let text = preflight.to_string();
    assert!(
        text.contains("uv.lock pins torch 2.5.1+cu124, built for CUDA 12.4, but the image's CUDA toolkit is 12.8"),
        "{text}"
    );
    assert!(text.contains("set `cuda = \\\"12.4\\\"`"), "{text}");
}

fn config_json(project: &Project, args: &[&str]) -> serde_json::Value {
    let mut full = vec!["config", "--json"];
    full.extend_from_slice(args);
    let output = project.gpu_ci(&full).success().get_output().stdout.clone();
    serde_json::from_slice(&output).unwrap()
}
