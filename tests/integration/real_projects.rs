//! Issue 13: what real projects need with zero edits — a Python Modal can build, requirements
//! and tests found where projects keep them, the framework and the GPU tests selected.

use predicates::prelude::*;

use crate::common::Project;

fn pyproject(requires_python: &str) -> Project {
    let project = Project::empty();
    project.write(
        "pyproject.toml",
        &format!("[project]\nname = \"demo\"\nrequires-python = \"{requires_python}\"\ndependencies = [\"torch\"]\n"),
    );
    project.write("tests/test_demo.py", "def test_ok():\n    pass\n");
    project
}

fn config_value(project: &Project, key: &str) -> String {
    let output = project
        .gpu_ci(&["config", "--json"])
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&output).unwrap();
    json[key]["value"].as_str().unwrap_or_default().to_string()
}

#[test]
fn a_lower_bound_modal_cannot_build_never_fails_init() {
    for (spec, picked) in [
        (">=3.8", "3.12"),
        (">=3.9,<3.12", "3.11"),
        (">=3.13", "3.13"),
    ] {
        let project = pyproject(spec);
        project
            .gpu_ci(&["init", "--yes"])
            .success()
            .stderr(predicate::str::contains(format!(
                "testing on Python {picked}, which requires-python `{spec}` allows"
            )));
        assert!(
            project
                .read("pyproject.toml")
                .contains(&format!("python = \"{picked}\""))
        );
    }
}

#[test]
fn only_a_constraint_no_supported_python_meets_is_an_error() {
    let project = pyproject("==3.10.*");
    project
        .gpu_ci(&["init", "--yes"])
        .code(2)
        .stderr(predicate::str::contains(
            "error: the project's Python constraint `==3.10.*` admits no version Modal's image builder 2026.10 offers (3.11 to 3.15)",
        ))
        .stderr(predicate::str::contains("image-builder"));
    assert!(!project.path(".github").exists());
    // A workspace pinned to the 2025.06 builder still has 3.10.
    let mut text = project.read("pyproject.toml");
    text.push_str("\n[tool.gpu-ci]\nimage-builder = \"2025.06\"\n");
    project.write("pyproject.toml", &text);
    project.gpu_ci(&["init", "--yes"]).success();
    assert_eq!(config_value(&project, "python"), "3.10");
}

#[test]
fn a_python_outside_the_builders_set_is_refused_with_the_set() {
    let project = pyproject(">=3.9");
    project
        .gpu_ci(&["init", "--yes", "--python", "3.9"])
        .code(2)
        .stderr(predicate::str::contains(
            "offers 3.11, 3.12, 3.13, 3.14, 3.15",
        ));
}

#[test]
fn a_python_version_file_the_builder_lacks_falls_back_to_the_constraint() {
    let project = pyproject(">=3.9");
    project.write(".python-version", "3.9.18\n");
    project
        .gpu_ci(&["init", "--yes"])
        .success()
        .stderr(predicate::str::contains(".python-version names 3.9"));
    assert_eq!(config_value(&project, "python"), "3.12");
}

fn config_json(project: &Project, args: &[&str]) -> serde_json::Value {
    let mut full = vec!["config", "--json"];
    full.extend_from_slice(args);
    let output = project.gpu_ci(&full).success().get_output().stdout.clone();
    serde_json::from_slice(&output).unwrap()
}

/// A project with a `dev-requirements.txt` at the root got nothing installed.
#[test]
fn root_dev_requirements_are_found_and_chosen() {
    let project = Project::empty();
    project.write("requirements.txt", "numpy\n");
    project.write(
        "dev-requirements.txt",
        "-r requirements.txt\npytest\ntorch\n",
    );
    project.write("docs-requirements.txt", "sphinx\n");
    project.write("tests/test_x.py", "def test_x():\n    pass\n");
    let json = config_json(&project, &[]);
    assert_eq!(
        json["requirements"]["value"], "dev-requirements.txt",
        "{json:#}"
    );
    assert_eq!(json["framework"]["value"], "torch");
    assert_eq!(json["framework"]["source"]["from"], "dev-requirements.txt");
}

#[test]
fn tests_beside_the_code_are_found_when_there_is_no_tests_folder() {
    let project = Project::empty();
    project.write("pyproject.toml", "[project]\nname = \"pkg\"\n");
    project.write("pkg/__init__.py", "");
    project.write("pkg/ops.py", "");
    project.write("pkg/ops_test.py", "def test_ops():\n    pass\n");
    project.write("pkg/sub/test_more.py", "def test_more():\n    pass\n");
    project
        .gpu_ci(&["init", "--yes"])
        .success()
        .stderr(predicate::str::contains(
            "running the tests in `pkg/`, found by test files beside the code",
        ))
        .stderr(predicate::str::contains("does not exist").not());
    // pytest's python_files decide what a test file is.
    let project = Project::empty();
    project.write(
        "pyproject.toml",
        "[project]\nname = \"w\"\n[tool.pytest.ini_options]\npython_files = \"check_*.py\"\n",
    );
    project.write("w/__init__.py", "");
    project.write("w/tests/check_a.py", "");
    assert_eq!(config_json(&project, &[])["test-path"]["value"], "w/tests/");
}

#[test]
fn a_namespace_package_under_src_is_a_src_layout() {
    let project = Project::empty();
    project.write("pyproject.toml", "[project]\nname = \"acme-vecops\"\n");
    project.write("src/acme/vecops/__init__.py", "");
    project.write("tests/test_v.py", "def test_v():\n    pass\n");
    project.gpu_ci(&["init", "--yes"]).success();
    let runner = project.read(".modal/in_container.py");
    assert!(runner.contains("IMPORT_PATHS = [\"src\"]"), "{runner}");
}

#[test]
fn the_framework_comes_from_setup_py_setup_cfg_or_the_projects_ci_and_has_a_flag() {
    // What the project's own CI installs (torchtune declares no torch).
    let project = Project::empty();
    project.write(
        "pyproject.toml",
        "[project]\nname = \"tt\"\ndependencies = [\"numpy\"]\n",
    );
    project.write(
        ".github/workflows/gpu.yaml",
        "jobs:\n  t:\n    steps:\n      - run: python -m pip install torch torchvision torchao\n",
    );
    let json = config_json(&project, &[]);
    assert_eq!(json["framework"]["value"], "torch");
    assert_eq!(
        json["framework"]["source"]["from"],
        ".github/workflows/gpu.yaml"
    );
    // setup.py's literals, read, never run.
    let project = Project::empty();
    project.write("setup.py", "from setuptools import setup\nsetup(name='x', python_requires=\">=3.9\", extras_require={'gpu': ['cupy-cuda12x>=13']})\n");
    let json = config_json(&project, &[]);
    assert_eq!(json["framework"]["value"], "cupy");
    assert_eq!(json["python"]["value"], "3.12");
    assert_eq!(
        json["python"]["source"]["from"],
        "`python_requires` in setup.py"
    );
    // setup.cfg's declarative metadata.
    let project = Project::empty();
    project.write(
        "setup.cfg",
        "[options]\npython_requires = >=3.11,<3.12\ninstall_requires =\n    jax>=0.4\n",
    );
    let json = config_json(&project, &[]);
    assert_eq!(json["framework"]["value"], "jax");
    assert_eq!(json["python"]["value"], "3.11");
    // The flag wins.
    let json = config_json(&project, &["--framework", "torch"]);
    assert_eq!(json["framework"]["value"], "torch");
    assert_eq!(json["framework"]["source"]["flag"], "--framework");
    project
        .gpu_ci(&["init", "--yes", "--framework", "mxnet"])
        .code(2)
        .stderr(predicate::str::contains("unknown framework `mxnet`"));
}

/// composer: `addopts = "-m 'not gpu and not doctest'"`, so the GPU run tested nothing on a GPU.
#[test]
fn gpu_marked_tests_deselected_by_addopts_are_what_the_gpu_run_selects() {
    let project = Project::empty();
    project.write(
        "pyproject.toml",
        "[project]\nname = \"c\"\ndependencies = [\"torch\"]\n[tool.pytest.ini_options]\naddopts = \"--strict-markers -m 'not gpu and not doctest and not daily'\"\nmarkers = [\"world_size(val)\", \"gpu\", \"doctest\", \"daily\"]\n",
    );
    project.write(
        "tests/test_c.py",
        "import pytest\n@pytest.mark.gpu\ndef test_c():\n    pass\n",
    );
    project
        .gpu_ci(&["init", "--yes"])
        .success()
        .stderr(predicate::str::contains(
            "addopts deselect the `gpu` tests by default",
        ))
        .stderr(predicate::str::contains("--keep-selection"));
    let config = project.read("pyproject.toml");
    assert!(
        config.contains("pytest-args = \"-v -m 'gpu and not doctest and not daily'\""),
        "{config}"
    );
    // The maintainer can keep the project's own selection.
    let project2 = Project::empty();
    project2.write(
        "pyproject.toml",
        project
            .read("pyproject.toml")
            .split("[tool.gpu-ci]")
            .next()
            .unwrap(),
    );
    project2.write("tests/test_c.py", "");
    assert_eq!(
        config_json(&project2, &["--keep-selection"])["pytest-args"]["value"],
        "-v"
    );
    // A marker registered by a conftest.py counts too.
    let project3 = Project::empty();
    project3.write("pyproject.toml", "[project]\nname = \"d\"\n");
    project3.write(
        "tests/conftest.py",
        "def pytest_configure(config):\n    config.addinivalue_line(\"markers\", \"requires_cuda: needs CUDA\")\n",
    );
    assert_eq!(
        config_json(&project3, &[])["pytest-args"]["value"],
        "-v -m requires_cuda"
    );
}

/// unsloth: `testpaths = ["tests/security"]` leaves the GPU folders of tests/ out.
#[test]
fn testpaths_that_leave_the_gpu_folders_out_are_widened() {
    let project = Project::empty();
    project.write(
        "pyproject.toml",
        "[project]\nname = \"u\"\n[tool.pytest.ini_options]\ntestpaths = [\"tests/security\"]\n",
    );
    project.write("tests/security/test_s.py", "");
    project.write("tests/python/test_gpu.py", "");
    let json = config_json(&project, &[]);
    assert_eq!(json["test-path"]["value"], "tests/");
    let json = config_json(&project, &["--keep-selection"]);
    assert_eq!(json["test-path"]["value"], "tests/security");
}

/// `gpu-ci run` printed init's notes ("change it with --python"), and run has no such flag.
#[test]
fn run_prints_only_the_notes_that_apply_to_run() {
    let project = Project::fixture("extras-flat");
    let empty_path = tempfile::tempdir().unwrap();
    let output = crate::common::gpu_ci()
        .arg("-C")
        .arg(&project.root)
        .arg("run")
        .env("PATH", empty_path.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no gpu-ci settings here"), "{stderr}");
    assert!(
        !stderr.contains("--python") && !stderr.contains("--group"),
        "{stderr}"
    );
    // init still says what it decided, and how to change it.
    project
        .gpu_ci(&["init", "--yes", "--dry-run", "--diff"])
        .success()
        .stderr(predicate::str::contains("change it with --python"));
}

/// diffusers' `.gitignore` holds `*.lock`, which caught `.gpu-ci.lock`.
#[test]
fn init_warns_when_git_would_ignore_the_lock() {
    let project = Project::fixture("extras-flat");
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .arg("-C")
            .arg(&project.root)
            .args(args)
            .status()
            .unwrap();
        assert!(status.success());
    };
    git(&["init", "-q"]);
    project.write(".gitignore", "*.lock\n");
    project
        .gpu_ci(&["init", "--yes"])
        .success()
        .stderr(predicate::str::contains(
            "warning: git ignores `.gpu-ci.lock` (rule `.gitignore:1:*.lock`)",
        ))
        .stderr(predicate::str::contains("!/.gpu-ci.lock"));
    // The fix it gives works: no warning after it.
    project.write(".gitignore", "*.lock\n!/.gpu-ci.lock\n");
    project
        .gpu_ci(&["init", "--yes", "--force", "--gpu", "T4"])
        .success()
        .stderr(predicate::str::contains("git ignores").not());
}

/// Trimmed copies of seven public GPU projects, one per distinct layout (tests/fixtures/real/).
pub const REAL_FIXTURES: [&str; 7] = [
    "composer",
    "diffusers",
    "flash-attention",
    "mamba",
    "torchtune",
    "unsloth",
    "warp",
];

/// Small projects, each written to reproduce one way a project's own GPU CI is read
/// (tests/fixtures/rules/): a reusable workflow of its own called with `with:` beside an AMD
/// job, an external reusable workflow whose inputs carry the runner and the script with a
/// nested matrix, a hosted job that runs `modal run FILE`, and a Makefile GPU target no CI
/// job calls. None is a copy of a real project's files.
pub const RULE_FIXTURES: [&str; 4] = ["external-ci", "make-target", "modal-ci", "reusable-ci"];

/// The image's layers as the rendered runner chains them, one call a line, and whether the
/// project is installed when the container starts.
fn image_layers(runner: &str) -> String {
    let start = runner.find("\n    image = (\n").expect("an image chain");
    let end = start + runner[start..].find("\n    )\n").unwrap();
    let mut lines: Vec<String> = runner[start..end]
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('.') || l.starts_with("modal.Image"))
        .map(|l| format!("  {l}"))
        .collect();
    if runner.contains("INSTALL_ARGS = [\"--install-project\"]") {
        lines.push("  + the project installed at start (editable, --no-deps)".into());
    }
    format!("image:\n{}", lines.join("\n"))
}

/// What gpu-ci decides on each real layout, and what it tells the maintainer: a reviewed diff
/// whenever detection changes.
#[test]
fn what_init_picks_on_each_real_layout() {
    let mut text = String::new();
    let fixtures = REAL_FIXTURES
        .iter()
        .map(|name| format!("real/{name}"))
        .chain(RULE_FIXTURES.iter().map(|name| format!("rules/{name}")));
    for fixture in fixtures {
        let name = fixture.trim_start_matches("real/");
        let project = Project::fixture(&fixture);
        let init = project
            .gpu_ci(&["init", "--yes", "--dry-run", "--diff"])
            .success();
        let stderr = String::from_utf8_lossy(&init.get_output().stderr).into_owned();
        let notes: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("note:") || l.starts_with("warning:"))
            .collect();
        let config = project.gpu_ci(&["config"]).success();
        let config = String::from_utf8_lossy(&config.get_output().stdout).into_owned();
        let settings: Vec<&str> = config
            .lines()
            .filter(|l| !l.starts_with("actions."))
            .collect();
        project.gpu_ci(&["init", "--yes"]).success();
        let runner = project.read(".modal/test_runner.py");
        text.push_str(&format!(
            "## {name}\n{}\n{}\n{}\n\n",
            notes.join("\n"),
            settings.join("\n"),
            image_layers(&runner)
        ));
    }
    crate::snapshots::settings().bind(|| insta::assert_snapshot!("real-projects", text));
}

/// mamba builds a CUDA extension: in the image, after the dependencies, with nvcc and the
/// configured GPUs' architectures; flash-attention's dependencies live only in setup.py.
#[test]
fn compiled_projects_build_in_the_image_for_the_configured_gpus() {
    let project = Project::fixture("real/mamba");
    project
        .gpu_ci(&["init", "--yes", "--gpu", "H100, L4"])
        .success();
    let runner = project.read(".modal/test_runner.py");
    assert!(
        runner.contains("modal.Image.from_registry(\"nvidia/cuda:12.8.1-devel-ubuntu24.04\""),
        "{runner}"
    );
    assert!(
        runner.contains("export TORCH_CUDA_ARCH_LIST='8.9;9.0+PTX' && "),
        "{runner}"
    );
    // Issue 21: torch from PyTorch's wheels for the image's CUDA (12.8), asked first.
    assert!(
        runner.contains(
            "INDEX_OPTIONS = \"--extra-index-url https://download.pytorch.org/whl/cu128 --index-strategy first-index\""
        ),
        "{runner}"
    );
    assert!(
        runner.contains("--no-build-isolation --no-deps -e ."),
        "{runner}"
    );
    assert!(
        runner.contains(".add_local_dir(root, REMOTE_PROJECT, copy=True"),
        "{runner}"
    );
    assert!(!runner.contains("\"--install-project\","), "{runner}");
    // Skipping the build is one setting away.
    let mut config = project.read("pyproject.toml");
    config = config.replace("[tool.gpu-ci]", "[tool.gpu-ci]\ninstall-project = \"no\"");
    project.write("pyproject.toml", &config);
    project.gpu_ci(&["update"]).success();
    let runner = project.read(".modal/test_runner.py");
    assert!(!runner.contains("copy=True, ignore=ignore"), "{runner}");
    assert!(!runner.contains("TORCH_CUDA_ARCH_LIST"), "{runner}");

    let project = Project::fixture("real/composer");
    project.gpu_ci(&["init", "--yes"]).success();
    let runner = project.read(".modal/test_runner.py");
    assert!(
        runner.contains("--no-build-isolation -e '.[dev]'"),
        "{runner}"
    );
    assert!(!runner.contains("devel"), "no CUDA code to build: {runner}");
}

#[test]
fn a_framework_only_the_projects_ci_installs_is_added_to_the_image() {
    let project = Project::fixture("real/torchtune");
    project.gpu_ci(&["init", "--yes"]).success();
    let runner = project.read(".modal/test_runner.py");
    assert!(
        runner.contains(".uv_pip_install(\"torch\", uv_version=UV_VERSION)"),
        "{runner}"
    );
    // A project that declares it gets no second copy.
    let project = Project::fixture("uv-groups-src");
    project.gpu_ci(&["init", "--yes"]).success();
    assert!(
        !project
            .read(".modal/test_runner.py")
            .contains(".uv_pip_install(\"torch\"")
    );
}

#[test]
fn install_project_settings_are_checked() {
    let project = Project::fixture("real/diffusers");
    project.write(
        "pyproject.toml",
        "[tool.ruff]\nline-length = 119\n\n[tool.gpu-ci]\ninstall-project = \"sometimes\"\n",
    );
    project
        .gpu_ci(&["init", "--yes"])
        .code(2)
        .stderr(predicate::str::contains(
            "unknown install-project `sometimes`; valid values are start, image, no",
        ));
    project.write(
        "pyproject.toml",
        "[tool.ruff]\nline-length = 119\n\n[tool.gpu-ci]\ninstall-project = \"no\"\n",
    );
    project
        .gpu_ci(&["init", "--yes"])
        .code(2)
        .stderr(predicate::str::contains(
            "leaves out the dependencies only setup.py or setup.cfg declares",
        ));
}

/// init writes through a linked pyproject.toml, but the runner never follows a link in the tree
/// under test: when the image's dependency layer needs the file, init says the build would stop.
#[test]
fn a_linked_pyproject_the_image_needs_is_warned_about() {
    let project = Project::fixture("extras-flat");
    std::fs::create_dir(project.path("config")).unwrap();
    std::fs::rename(
        project.path("pyproject.toml"),
        project.path("config/pyproject.toml"),
    )
    .unwrap();
    std::os::unix::fs::symlink("config/pyproject.toml", project.path("pyproject.toml")).unwrap();
    project
        .gpu_ci(&["init", "--yes"])
        .success()
        .stderr(predicate::str::contains(
            "warning: pyproject.toml is a symbolic link; the Modal runner reads the tree under test as data and never follows one",
        ))
        .stderr(predicate::str::contains("help: replace the link with the file it points to"));
    // A plain file draws no warning.
    Project::fixture("extras-flat")
        .gpu_ci(&["init", "--yes"])
        .success()
        .stderr(predicate::str::contains("symbolic link").not());
}
