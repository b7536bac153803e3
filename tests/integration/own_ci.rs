//! Issue 22: the project's own GPU CI as a source. Its GPU job's pytest command, install and
//! environment decide the GPU run, each value with the line it came from.

use predicates::prelude::*;

use crate::common::Project;

fn config_json(project: &Project, args: &[&str]) -> serde_json::Value {
    let mut full = vec!["config", "--json"];
    full.extend_from_slice(args);
    let output = project.gpu_ci(&full).success().get_output().stdout.clone();
    serde_json::from_slice(&output).unwrap()
}

/// What `gpu-ci ARGS` (an init that succeeds) says on stderr: its notes.
fn init_stderr(project: &Project, args: &[&str]) -> String {
    let init = project.gpu_ci(args).success();
    String::from_utf8_lossy(&init.get_output().stderr).into_owned()
}

const GPU_WORKFLOW: &str = ".github/workflows/gpu_test.yaml";

#[test]
fn the_gpu_jobs_pytest_command_and_install_are_followed_with_their_lines() {
    let project = Project::fixture("own-gpu-ci");
    let json = config_json(&project, &[]);
    assert_eq!(json["test-path"]["value"], "tests", "{json:#}");
    assert_eq!(
        json["test-path"]["source"]["from"],
        format!("{GPU_WORKFLOW}:36")
    );
    // The project's own integration switch and exclusion; coverage and reports are the runner's.
    assert_eq!(
        json["pytest-args"]["value"],
        "-v --ignore tests/export --with-integration"
    );
    assert_eq!(
        json["pytest-args"]["source"]["from"],
        format!("{GPU_WORKFLOW}:36")
    );
    assert_eq!(json["extra"]["value"], "dev");
    assert_eq!(
        json["extra"]["source"]["from"],
        format!("{GPU_WORKFLOW}:30")
    );
    assert_eq!(json["framework"]["value"], "torch");

    // The GPU job's companions of torch, environment and submodules are the recipe keys'
    // values, each with its lines, below flags and the config.
    assert_eq!(
        json["packages"]["value"],
        serde_json::json!(["torch", "torchvision", "torchao", "lm-eval==0.4.5"]),
        "{json:#}"
    );
    assert_eq!(
        json["packages"]["source"]["from"],
        format!("{GPU_WORKFLOW}:27, {GPU_WORKFLOW}:31")
    );
    assert_eq!(
        json["env"]["value"],
        serde_json::json!({"RUN_ONLY_CUDA_TESTS": "1", "TOKENIZERS_PARALLELISM": "false"})
    );
    assert_eq!(
        json["env"]["source"]["from"],
        format!("{GPU_WORKFLOW}:7, {GPU_WORKFLOW}:16")
    );
    assert_eq!(json["submodules"]["value"], true);
    assert_eq!(
        json["submodules"]["source"]["from"],
        format!("{GPU_WORKFLOW}:21")
    );
    // The text output names the same lines.
    project
        .gpu_ci(&["config"])
        .success()
        .stdout(predicate::str::contains(format!(
            "# detected: {GPU_WORKFLOW}:27, {GPU_WORKFLOW}:31"
        )));

    // init says what it took, with the flag that changes it; the secret's reference is never
    // taken, the nightly step (not the matrix's first) never read.
    let stderr = init_stderr(&project, &["init", "--yes"]);
    for expected in [
        "following the project's GPU job `gpu_test` in .github/workflows/gpu_test.yaml (GPU by its runner `linux.g5.12xlarge.nvidia.gpu`)",
        "`packages = [\"torch\", \"torchvision\", \"torchao\", \"lm-eval==0.4.5\"]` from the GPU job (detected: .github/workflows/gpu_test.yaml:27, .github/workflows/gpu_test.yaml:31); change it with --package",
        "`env = { RUN_ONLY_CUDA_TESTS = \"1\", TOKENIZERS_PARALLELISM = \"false\" }` from the GPU job (detected: .github/workflows/gpu_test.yaml:7, .github/workflows/gpu_test.yaml:16); change it with --env",
        "`submodules = true` from the GPU job (detected: .github/workflows/gpu_test.yaml:21)",
        "`HF_TOKEN` is the secret `HF_TOKEN` in .github/workflows/gpu_test.yaml: gpu-ci never copies secrets; if the GPU run needs it, create a Modal secret holding `HF_TOKEN` and name it in `modal-secrets` (--modal-secret NAME)",
        "the matrix of `gpu_test` in .github/workflows/gpu_test.yaml gives `torch-version` several values; using the first, `stable`",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
    assert!(!stderr.contains("nightly/cu128"), "{stderr}");
    assert!(!stderr.contains("whl/cpu"), "{stderr}");
    let config = project.read("pyproject.toml");
    assert!(
        config.contains("pytest-args = \"-v --ignore tests/export --with-integration\""),
        "{config}"
    );
    // What init took is in the config, and the runner installs it.
    assert!(
        config.contains("packages = [\"torch\", \"torchvision\", \"torchao\", \"lm-eval==0.4.5\"]"),
        "{config}"
    );
    let runner = project.read(".modal/test_runner.py");
    assert!(runner.contains("torchao"), "{runner}");
    assert!(runner.contains("RUN_ONLY_CUDA_TESTS"), "{runner}");
    // A flag still wins over the CI job, and so does the config.
    let json = config_json(&project, &["--pytest-args", "-x", "--package", "numpy"]);
    assert_eq!(json["pytest-args"]["value"], "-x");
    assert_eq!(json["packages"]["value"], serde_json::json!(["numpy"]));
    assert_eq!(json["packages"]["source"]["flag"], "--package");
}

/// The rule for a detected value: checked as the key's own value would be, and left out with a
/// note when it fails or describes only the CI machine; never an error, never unchecked.
#[test]
fn detected_values_that_fail_the_keys_check_or_describe_the_ci_machine_are_left_out() {
    let project = Project::fixture("own-gpu-ci");
    project.write(
        GPU_WORKFLOW,
        "jobs:\n  gpu:\n    runs-on: [self-hosted, gpu]\n    env:\n      KERN_BUILD: \"TRUE\"\n      HF_HOME: /home/runner/.cache/hf\n      OMP_NUM_THREADS: 8\n      GITHUB_STEP_NAME: x\n      WANDB_API_KEY: sk-planted-7f3a\n      MODAL_GPU: A100\n    steps:\n      - uses: actions/checkout@v4\n      - run: pip install torchao 'bad name' --extra-index-url http://example.com/simple --extra-index-url https://download.pytorch.org/whl/cu126\n      - run: pytest tests\n",
    );
    let json = config_json(&project, &[]);
    assert_eq!(
        json["env"]["value"],
        serde_json::json!({"KERN_BUILD": "TRUE"}),
        "{json:#}"
    );
    assert_eq!(json["env"]["source"]["from"], format!("{GPU_WORKFLOW}:5"));
    assert_eq!(
        json["extra-index-urls"]["value"],
        serde_json::json!(["https://download.pytorch.org/whl/cu126"]),
        "{json:#}"
    );
    let packages = json["packages"]["value"].as_array().unwrap();
    assert!(packages.contains(&serde_json::json!("torchao")), "{json:#}");
    assert!(
        !packages.iter().any(|p| p.as_str().unwrap().contains(' ')),
        "{json:#}"
    );
    let stderr = init_stderr(&project, &["init", "--yes", "--dry-run"]);
    for expected in [
        "`HF_HOME` (.github/workflows/gpu_test.yaml:6) is left out of `env`: its value is a path on the CI machine; set it with --env HF_HOME=…",
        "`OMP_NUM_THREADS` (.github/workflows/gpu_test.yaml:7) is left out of `env`: it sizes work for the CI machine's cores",
        "`GITHUB_STEP_NAME` (.github/workflows/gpu_test.yaml:8) is left out of `env`: it describes the CI system",
        "`WANDB_API_KEY` (.github/workflows/gpu_test.yaml:9) is left out of `env`: `env`: `WANDB_API_KEY` looks like a secret",
        "`MODAL_GPU` (.github/workflows/gpu_test.yaml:10) is left out of `env`: `env`: `MODAL_GPU` is a name gpu-ci and Modal keep for themselves",
        "`http://example.com/simple` (.github/workflows/gpu_test.yaml:13) is left out of `extra-index-urls`: `extra-index-urls`: `http://example.com/simple` is not an https:// URL",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
    // The value of a left-out secret name never reaches the config or the runner.
    project.gpu_ci(&["init", "--yes"]).success();
    assert!(!project.read("pyproject.toml").contains("WANDB_API_KEY"));
    assert!(
        !project
            .read(".modal/test_runner.py")
            .contains("sk-planted-7f3a")
    );
}

#[test]
fn a_cpu_job_counts_only_without_a_gpu_job_and_never_its_cpu_only_selection() {
    let project = Project::fixture("own-gpu-ci");
    std::fs::remove_file(project.path(GPU_WORKFLOW)).unwrap();
    let json = config_json(&project, &[]);
    assert_eq!(json["test-path"]["value"], "tests", "{json:#}");
    assert_eq!(
        json["test-path"]["source"]["from"],
        ".github/workflows/unit_test.yaml:11"
    );
    // `-m "not gpu"` is the CPU job's; the GPU run selects the gpu marker instead.
    let args = json["pytest-args"]["value"].as_str().unwrap();
    assert!(!args.contains("not gpu"), "{args}");
    assert!(args.ends_with("-m gpu"), "{args}");
    project
        .gpu_ci(&["init", "--yes", "--dry-run", "--diff"])
        .success()
        .stderr(predicate::str::contains(
            "following the project's CPU job `unit_tests` in .github/workflows/unit_test.yaml (no GPU job found)",
        ))
        .stderr(predicate::str::contains(
            "installs from the CPU-only index `https://download.pytorch.org/whl/cpu`; left out",
        ));
}

/// Code under test is hostile: its workflow's text reaches notes, the config and the runner
/// only escaped or checked.
#[test]
fn a_workflows_hostile_text_is_escaped_in_notes_and_never_reaches_the_plan_unchecked() {
    let project = Project::fixture("own-gpu-ci");
    project.write(
        GPU_WORKFLOW,
        "jobs:\n  \"gpu\\e[2Jjob\":\n    runs-on: gpu\n    env:\n      EVIL: \"a\\nb\"\n    steps:\n      - run: \"pytest 'tests/a\\tb' -k 'x\\e[31m'\"\n      - run: pip install \"../outside\" \"/etc/passwd\" 'torch; python_version>\"3\"'\n",
    );
    project.write("tests/a\tb/test_x.py", "");
    let stderr = init_stderr(&project, &["init", "--yes", "--dry-run", "--diff"]);
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
    assert!(stderr.contains("gpu\\u{1b}[2Jjob"), "{stderr}");
    let json = config_json(&project, &[]);
    // A path with a tab cannot be a test-path value; an option with an escape cannot be an
    // argument: both stay out, and detection falls back to the static guesses.
    assert_eq!(json["test-path"]["value"], "tests/", "{json:#}");
    assert_eq!(json["pytest-args"]["value"], "-v -m gpu", "{json:#}");
    // A value with a newline fails `env`'s check: left out with an escaped note, not taken.
    assert!(
        stderr.contains("`EVIL` (.github/workflows/gpu_test.yaml:5) is left out of `env`"),
        "{stderr}"
    );
    assert_eq!(json["env"]["value"], serde_json::json!({}), "{json:#}");
    assert!(stderr.contains("`../outside`, a path or file"), "{stderr}");
}

/// `dynamic = ["dependencies", "optional-dependencies"]`: setup.py owns them. A bare pyproject
/// install gave one package and every test failed at import.
#[test]
fn dynamic_dependencies_install_the_project_with_its_extra_from_setup_py() {
    let project = Project::empty();
    project.write(
        "pyproject.toml",
        "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[project]\nname = \"kitchen\"\nrequires-python = \">=3.10\"\ndynamic = [\"dependencies\", \"optional-dependencies\", \"version\"]\n\n[tool.pytest.ini_options]\naddopts = \"-p pytest_check\"\n",
    );
    // The extras come out of a function: only their names are in the text.
    project.write(
        "setup.py",
        "from setuptools import setup\n\ndef extras():\n    table = {}\n    for name, deps in (('dev', ['pytest', 'pytest-check']), ('docs', ['sphinx'])):\n        table[name] = deps\n    return table\n\nsetup(install_requires=['torch>=2.4'], extras_require=extras())\n",
    );
    project.write("tests/test_k.py", "def test_k():\n    pass\n");
    let json = config_json(&project, &[]);
    assert_eq!(json["extra"]["value"], "dev", "{json:#}");
    assert_eq!(json["install-project"]["value"], "image", "{json:#}");
    project.gpu_ci(&["init", "--yes"]).success();
    let runner = project.read(".modal/test_runner.py");
    assert!(runner.contains("-e '.[dev]'"), "{runner}");
    // The extra init wrote is accepted again by the next command.
    project.gpu_ci(&["update", "--check"]).success();
    // Declared in pyproject.toml, the same project installs from there.
    let text = project.read("pyproject.toml").replace(
        "dynamic = [\"dependencies\", \"optional-dependencies\", \"version\"]",
        "dependencies = [\"torch\"]\n[project.optional-dependencies]\ndev = [\"pytest\"]",
    );
    let plain = Project::empty();
    plain.write(
        "pyproject.toml",
        text.split("[tool.gpu-ci]").next().unwrap(),
    );
    plain.write("setup.py", "from setuptools import setup\nsetup()\n");
    plain.write("tests/test_k.py", "");
    assert_eq!(
        config_json(&plain, &[])["install-project"]["value"],
        "start"
    );
}

/// A requirements file named for CI tooling (twine, awscli) was taken as the test source while
/// the tests' own file lived in a per-package subfolder.
#[test]
fn requirements_for_tooling_are_never_the_test_source_and_subfolders_are_scanned() {
    let project = Project::empty();
    project.write("requirements/ci.txt", "twine\nawscli\n");
    project.write("requirements/release.txt", "build\n");
    project.write("requirements/widget/test.txt", "pytest\ntorch\n");
    project.write("requirements/other/test.txt", "pytest\n");
    project.write("pyproject.toml", "[project]\nname = \"Widget\"\n");
    project.write("tests/test_w.py", "");
    let json = config_json(&project, &[]);
    // The subfolder named for the project, not `other/`, nor the tooling files.
    assert_eq!(
        json["requirements"]["value"], "requirements/widget/test.txt",
        "{json:#}"
    );
    assert_eq!(json["framework"]["value"], "torch");
}

fn multi_backend() -> Project {
    let project = Project::empty();
    project.write(
        "pyproject.toml",
        "[project]\nname = \"multi\"\ndependencies = [\"numpy\"]\n",
    );
    project.write("requirements.txt", "tensorflow-cpu\ntorch\njax[cpu]\n");
    project.write(
        "requirements-jax-cuda.txt",
        "tensorflow-cpu\n--extra-index-url https://download.pytorch.org/whl/cpu\ntorch\njax[cuda12]\n",
    );
    project.write(
        "requirements-torch-cuda.txt",
        "tensorflow-cpu\njax[cpu]\ntorch\n",
    );
    project.write("tests/test_m.py", "");
    project
}

/// keras was reported as torch, "named by requirements-jax-cuda.txt".
#[test]
fn the_framework_comes_from_the_file_that_names_it_or_the_backend_the_gpu_job_uses() {
    let project = multi_backend();
    let json = config_json(&project, &[]);
    assert_eq!(json["framework"]["value"], "jax", "{json:#}");
    assert_eq!(
        json["framework"]["source"]["from"],
        "requirements-jax-cuda.txt"
    );
    project
        .gpu_ci(&["init", "--yes", "--dry-run", "--diff"])
        .success()
        .stderr(predicate::str::contains(
            "the project names several GPU frameworks (torch, jax, tensorflow), and no GPU job says which one it tests",
        ));
    // The GPU job's backend decides, and its requirements file is the install.
    project.write(
        ".github/workflows/nightly.yml",
        "jobs:\n  run_tests:\n    runs-on: linux-x86-g2-16-l4-1gpu\n    strategy:\n      matrix:\n        backend: [torch, jax]\n    env:\n      KERAS_BACKEND: ${{ matrix.backend }}\n    steps:\n      - run: pip install -r requirements-${{ matrix.backend }}-cuda.txt\n      - run: pytest tests\n",
    );
    let json = config_json(&project, &[]);
    assert_eq!(json["framework"]["value"], "torch", "{json:#}");
    assert_eq!(
        json["framework"]["source"]["from"],
        ".github/workflows/nightly.yml:8"
    );
    assert_eq!(
        json["requirements"]["value"], "requirements-torch-cuda.txt",
        "{json:#}"
    );
    project
        .gpu_ci(&["init", "--yes", "--dry-run", "--diff"])
        .success()
        .stderr(predicate::str::contains("several GPU frameworks").not())
        .stderr(predicate::str::contains(
            "`env = { KERAS_BACKEND = \"torch\" }`",
        ));
}

/// A repository with GitHub workflows and an internal `.gitlab-ci.yml` got an `include:` added
/// to its GitLab file by `init --yes`, unasked.
#[test]
fn init_writes_for_the_ci_its_gpu_tests_run_on_and_leaves_the_others_alone() {
    let internal = "# internal mirror\nmirror:\n  script: [./sync.sh]\n";
    let project = Project::fixture("own-gpu-ci");
    project.write(".gitlab-ci.yml", internal);
    project
        .gpu_ci(&["init", "--yes"])
        .success()
        .stderr(predicate::str::contains(
            "writing CI files for github (from .github/); change it with --ci",
        ))
        .stderr(predicate::str::contains(
            "the project also uses GitLab CI/CD (.gitlab-ci.yml): gpu-ci writes nothing for it and leaves its files as they are; add it with --ci github,gitlab",
        ));
    assert_eq!(project.read(".gitlab-ci.yml"), internal);
    assert!(!project.path(".gitlab/gpu-ci.yml").exists());
    // gpu-ci's workflows beside the project's own two.
    assert!(project.workflows().len() > 2, "{:?}", project.workflows());
    // Asked for, GitLab gets its include.
    let project = Project::fixture("own-gpu-ci");
    project.write(".gitlab-ci.yml", internal);
    project
        .gpu_ci(&["init", "--yes", "--ci", "github,gitlab"])
        .success();
    assert!(
        project
            .read(".gitlab-ci.yml")
            .contains("local: .gitlab/gpu-ci.yml")
    );
    // A GPU job on GitLab runners means GitLab, even beside GitHub workflows.
    let project = Project::fixture("own-gpu-ci");
    std::fs::remove_file(project.path(GPU_WORKFLOW)).unwrap();
    project.write(
        ".gitlab-ci.yml",
        "gpu-tests:\n  tags: [nvidia-a100]\n  script:\n    - pip install -e .[dev]\n    - pytest tests -m gpu\n",
    );
    let json = config_json(&project, &[]);
    assert_eq!(
        json["ci"]["value"],
        serde_json::json!(["gitlab"]),
        "{json:#}"
    );
    assert_eq!(json["pytest-args"]["value"], "-v -m gpu");
    assert_eq!(json["pytest-args"]["source"]["from"], ".gitlab-ci.yml:5");
}

/// Build and test switches nothing sets: each a note naming the key that would set it.
#[test]
fn switches_the_project_reads_are_named_with_the_key_that_sets_them() {
    let project = Project::empty();
    project.write(
        "pyproject.toml",
        "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n[project]\nname = \"kern\"\ndependencies = [\"torch\"]\n",
    );
    project.write(
        "setup.py",
        "import os\nfrom setuptools import setup\nfrom torch.utils.cpp_extension import CUDAExtension\narchs = os.environ.get(\"KERN_CUDA_ARCHS\", \"80;90\").split(\";\")\nif os.getenv(\"KERN_FORCE_BUILD\", \"FALSE\") == \"TRUE\":\n    ext = [CUDAExtension(\"k\", [\"k.cu\"])]\nif os.getenv(\"KERN_SKIP_CUDA_BUILD\"):\n    ext = []\nsetup()\n",
    );
    project.write(
        "tests/conftest.py",
        "import os\n\nONLY_CUDA = os.environ.get(\"RUN_ONLY_CUDA_TESTS\") == \"1\"\nHOME = os.environ.get(\"HOME\")\nNPU = os.environ.get(\"ASCEND_RT_VISIBLE_DEVICES\")\n\ndef pytest_addoption(parser):\n    parser.addoption(\"--run-gpu\", action=\"store_true\")\n    parser.addoption(\"--slow\", action=\"store_true\")\n",
    );
    project.write("tests/test_k.py", "");
    project.write(
        ".gitmodules",
        "[submodule \"csrc/cutlass\"]\n\tpath = csrc/cutlass\n\turl = https://github.com/NVIDIA/cutlass.git\n",
    );
    let stderr = init_stderr(&project, &["init", "--yes", "--dry-run", "--diff"]);
    for expected in [
        // On by default with .gitmodules (issue 21), so no note says they are missing.
        "the project has git submodules (.gitmodules): every CI target checks the tree under test out with them",
        // Its own arch list, in its default's form, for the configured L4 (8.9): `80` runs there.
        "setup.py reads `KERN_CUDA_ARCHS` for the CUDA architectures it compiles: the image build sets it to `80` for the configured GPUs, from its default's list `80;90`; change it with --env",
        "setup.py reads `KERN_FORCE_BUILD` to decide its native build: set `env = { KERN_FORCE_BUILD = \"TRUE\" }`",
        "tests/conftest.py reads `RUN_ONLY_CUDA_TESTS`, a GPU-test or backend selector: set `env = { RUN_ONLY_CUDA_TESTS = \"…\" }`",
        "tests/conftest.py registers `--run-gpu`, which selects GPU tests: add it to `pytest-args` (--pytest-args \"-v --run-gpu\")",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
    // Another vendor's device variable is nothing an NVIDIA run sets.
    for absent in [
        "KERN_SKIP_CUDA_BUILD",
        "`HOME`",
        "--slow",
        "ASCEND_RT_VISIBLE_DEVICES",
    ] {
        assert!(!stderr.contains(absent), "{absent}\n{stderr}");
    }
    let init = project
        .gpu_ci(&["init", "--yes", "--dry-run", "--diff"])
        .success();
    let stdout = String::from_utf8_lossy(&init.get_output().stdout).into_owned();
    assert!(
        stdout.contains("export TORCH_CUDA_ARCH_LIST=8.9+PTX && export KERN_CUDA_ARCHS=80 && "),
        "{stdout}"
    );
    // A GPU its list has no entry for (T4 is 7.5): the note names the key instead of a guess.
    let stderr = init_stderr(
        &project,
        &["init", "--yes", "--dry-run", "--diff", "--gpu", "T4"],
    );
    assert!(
        stderr.contains("setup.py reads `KERN_CUDA_ARCHS` for the CUDA architectures it compiles; gpu-ci sets TORCH_CUDA_ARCH_LIST, not `KERN_CUDA_ARCHS`: set `env = { KERN_CUDA_ARCHS = \"…\" }`"),
        "{stderr}"
    );
    // Set by the project's GPU job, a switch needs no note.
    project.write(
        ".github/workflows/gpu.yml",
        "jobs:\n  gpu:\n    runs-on: [self-hosted, gpu]\n    env:\n      RUN_ONLY_CUDA_TESTS: 1\n    steps:\n      - run: pytest tests --run-gpu\n",
    );
    let stderr = init_stderr(&project, &["init", "--yes", "--dry-run", "--diff"]);
    assert!(
        !stderr.contains("a GPU-test or backend selector"),
        "{stderr}"
    );
    assert!(!stderr.contains("registers `--run-gpu`"), "{stderr}");
}

/// Issue 22: a switch setup.py compares with a value becomes `env` when the project's docs
/// write that value (mamba's README: `MAMBA_KEEP_CUDA_BUILD=TRUE pip install .`); a docs value
/// the code does not compare with, and an arch list, stay notes.
#[test]
fn a_switch_whose_value_the_docs_give_becomes_env() {
    let project = Project::empty();
    project.write(
        "pyproject.toml",
        "[build-system]\nrequires = [\"setuptools\", \"torch\"]\nbuild-backend = \"setuptools.build_meta\"\n[project]\nname = \"kern\"\ndependencies = [\"torch\"]\n",
    );
    project.write(
        "setup.py",
        "import os\nfrom setuptools import setup\nfrom torch.utils.cpp_extension import CUDAExtension\nKEEP = os.getenv(\"KERN_KEEP_CUDA_BUILD\", \"FALSE\") == \"TRUE\"\nFORCE = os.getenv(\"KERN_FORCE_BUILD\", \"FALSE\") == \"TRUE\"\narchs = os.environ.get(\"KERN_CUDA_ARCHS\", \"80\")\nsetup(ext_modules=[CUDAExtension('k', ['k.cu'])] if KEEP else [])\n",
    );
    project.write(
        "README.md",
        "# kern\n\n| build | `KERN_KEEP_CUDA_BUILD=TRUE pip install .` |\n\nOr `KERN_FORCE_BUILD=yes`, and `KERN_CUDA_ARCHS=\"90\"`.\n",
    );
    project.write("tests/test_k.py", "");
    let json = config_json(&project, &[]);
    assert_eq!(
        json["env"]["value"],
        serde_json::json!({"KERN_KEEP_CUDA_BUILD": "TRUE"}),
        "{json:#}"
    );
    assert_eq!(json["env"]["source"]["from"], "README.md:3");
    let stderr = init_stderr(&project, &["init", "--yes", "--dry-run"]);
    for expected in [
        "the project reads `KERN_KEEP_CUDA_BUILD`, and README.md:3 gives it `TRUE`: set in `env`; change it with --env",
        // `yes` is not the value setup.py compares with: a note, not a guess.
        "setup.py reads `KERN_FORCE_BUILD` to decide its native build: set `env = { KERN_FORCE_BUILD = \"TRUE\" }`",
        "setup.py reads `KERN_CUDA_ARCHS` for the CUDA architectures it compiles",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
    assert!(
        !stderr.contains("reads `KERN_KEEP_CUDA_BUILD` to decide"),
        "{stderr}"
    );
    // The config's `env` wins over the docs.
    let json = config_json(&project, &["--env", "OTHER=1"]);
    assert_eq!(json["env"]["value"], serde_json::json!({"OTHER": "1"}));
}

/// A native library built by a script of its own: install-project = "start" says so, and a
/// build the project's GPU job runs is named as `setup`; a script that `setup` runs and that
/// looks for nvcc gets `cuda` (the one key that puts nvcc in the image), detected from it.
#[test]
fn a_separate_native_build_script_is_named_with_setup() {
    let project = Project::empty();
    project.write(
        "pyproject.toml",
        "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n[project]\nname = \"warpish\"\ndependencies = [\"numpy\"]\n",
    );
    project.write("build_lib.py", "# builds native/ with nvcc\n");
    project.write("tests/test_w.py", "");
    project
        .gpu_ci(&["init", "--yes", "--dry-run", "--diff"])
        .success()
        .stderr(predicate::str::contains(
            "`build_lib.py` looks like a native build apart from the package's: install-project = \"start\" installs the package without running it; if the tests need what it builds, set `setup = [\"python build_lib.py\"]`, with `cuda = \"12.8\"`: it looks for nvcc, which only a CUDA devel image has",
        ));
    project.write(
        ".github/workflows/ci.yml",
        "jobs:\n  test-gpu:\n    runs-on: nvidia-l4\n    steps:\n      - run: python build_lib.py --quick\n      - run: python -m pytest tests\n",
    );
    project
        .gpu_ci(&["init", "--yes", "--dry-run", "--diff"])
        .success()
        .stderr(predicate::str::contains(
            "`setup = [\"python build_lib.py --quick\"]` from the GPU job (detected: .github/workflows/ci.yml:5); change it with --setup",
        ))
        .stderr(predicate::str::contains(
            "note: CUDA 12.8 (`build_lib.py`, which `setup` runs, looks for nvcc): the image is `nvidia/cuda:12.8.1-devel-ubuntu24.04`; change it with --cuda",
        ))
        .stderr(predicate::str::contains("looks like a native build").not());
    let json = config_json(&project, &[]);
    assert_eq!(json["cuda"]["value"], "12.8", "{json:#}");
    assert_eq!(json["cuda"]["source"]["from"], "build_lib.py", "{json:#}");
    // With the toolkit asked for, nothing is left to say.
    project
        .gpu_ci(&["init", "--yes", "--dry-run", "--diff", "--cuda", "12.8"])
        .success()
        .stderr(predicate::str::contains("looks for nvcc").not());
    // A script that never looks for the toolkit gets no `cuda`.
    project.write(
        "build_lib.py",
        "import subprocess\nsubprocess.run(['cmake', '--build', 'native'])\n",
    );
    project
        .gpu_ci(&["init", "--yes", "--dry-run", "--diff"])
        .success()
        .stderr(predicate::str::contains("looks for nvcc").not());
}

/// Issue 24: the lock records each setting's value (a second init compares with them), never
/// what changes no generated file: the GPU job renamed, `update --check` (a pre-commit hook, a
/// CI step) still finds everything up to date, and init has nothing to say.
#[test]
fn renaming_the_gpu_job_changes_no_file_and_no_lock() {
    let project = Project::fixture("own-gpu-ci");
    project.gpu_ci(&["init", "--yes"]).success();
    let workflow =
        project
            .read(GPU_WORKFLOW)
            .replacen("  gpu_test:\n", "  gpu_tests_renamed:\n", 1);
    project.write(GPU_WORKFLOW, &workflow);
    project.gpu_ci(&["update", "--check"]).success();
    project
        .gpu_ci(&["init", "--yes"])
        .success()
        .stderr(predicate::str::contains("nothing to change"));
}

const SETUP_WORKFLOW: &str = ".github/workflows/gpu.yml";

/// realproj.md gap 1: the GPU job's Python (setup-python from a matrix) is the plan's, the
/// newest the image builder offers, with its line; the matrix note no longer claims the first.
#[test]
fn the_gpu_jobs_python_is_the_newest_its_matrix_gives_that_the_builder_offers() {
    let project = Project::fixture("gpu-job-setup");
    let json = config_json(&project, &[]);
    assert_eq!(json["python"]["value"], "3.11", "{json:#}");
    assert_eq!(
        json["python"]["source"]["from"],
        format!("{SETUP_WORKFLOW}:14")
    );
    let stderr = init_stderr(&project, &["init", "--yes", "--dry-run"]);
    for expected in [
        "testing on Python 3.11, as the project's GPU job `gpu_tests` in .github/workflows/gpu.yml sets up, the newest of the Pythons it sets up (3.9, 3.10, 3.11) that Modal's image builder 2026.10 offers (detected: .github/workflows/gpu.yml:14); change it with --python",
        "the matrix of `gpu_tests` in .github/workflows/gpu.yml gives `python-version` several values: the GPU run's Python is the newest of them that Modal's image builder offers (see `python`); anything else that reads it takes the first, `3.9`",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
    assert!(!stderr.contains("using the first, `3.9`"), "{stderr}");
    // An older builder offers 3.10 too: still the newest, 3.11 -- unless the project's
    // constraint leaves it out; a flag still wins.
    let original = project.read("pyproject.toml");
    project.write("pyproject.toml", &original.replace(">=3.9", ">=3.9,<3.11"));
    crate::common::add_config(&project, "image-builder = \"2025.06\"\n");
    let json = config_json(&project, &[]);
    assert_eq!(json["python"]["value"], "3.10", "{json:#}");
    assert_eq!(
        json["python"]["source"]["from"],
        format!("{SETUP_WORKFLOW}:14")
    );
    let json = config_json(&project, &["--python", "3.12"]);
    assert_eq!(json["python"]["source"]["flag"], "--python");
    // A container of the official Python image is the job's Python too; none the builder
    // offers: a note, and the project's constraint decides.
    project.write("pyproject.toml", &original);
    project.write(
        SETUP_WORKFLOW,
        "on: [pull_request]\njobs:\n  gpu:\n    runs-on: [self-hosted, gpu]\n    container: docker.io/library/python:3.10-slim\n    steps:\n      - run: pytest tests\n",
    );
    let stderr = init_stderr(&project, &["init", "--yes", "--dry-run"]);
    assert!(
        stderr.contains("the project's GPU job `gpu` in .github/workflows/gpu.yml sets up Python 3.10, which Modal's image builder 2026.10 does not offer (3.11 to 3.15) or requires-python `>=3.9` does not allow; choosing the Python another way"),
        "{stderr}"
    );
    let json = config_json(&project, &[]);
    assert_eq!(json["python"]["value"], "3.12", "{json:#}");
    assert_eq!(
        json["python"]["source"]["from"],
        "`requires-python` in pyproject.toml"
    );
}

/// realproj.md gap 8: the GPU job's `apt-get install` lines are the detected `apt`, each name
/// checked as the key's own; options and their values are never packages.
#[test]
fn the_gpu_jobs_apt_get_install_lines_are_the_detected_apt() {
    let project = Project::fixture("gpu-job-setup");
    let json = config_json(&project, &[]);
    // The nightly job's `apt install -y ffmpeg` is another job's.
    assert_eq!(
        json["apt"]["value"],
        serde_json::json!(["build-essential", "libsndfile1"]),
        "{json:#}"
    );
    assert_eq!(
        json["apt"]["source"]["from"],
        format!("{SETUP_WORKFLOW}:23")
    );
    let stderr = init_stderr(&project, &["init", "--yes"]);
    assert!(
        stderr.contains("`apt = [\"build-essential\", \"libsndfile1\"]` from the GPU job (detected: .github/workflows/gpu.yml:23); change it with --apt"),
        "{stderr}"
    );
    let config = project.read("pyproject.toml");
    assert!(
        config.contains("apt = [\"build-essential\", \"libsndfile1\"]"),
        "{config}"
    );
    assert!(project.generated().contains("libsndfile1"));
    // A flag wins; a name the key refuses is left out with a note, the rest kept.
    let json = config_json(&project, &["--apt", "ffmpeg"]);
    assert_eq!(json["apt"]["value"], serde_json::json!(["ffmpeg"]));
    assert_eq!(json["apt"]["source"]["flag"], "--apt");
    let project = Project::fixture("gpu-job-setup");
    project.write(
        SETUP_WORKFLOW,
        "on: [pull_request]\njobs:\n  gpu:\n    runs-on: [self-hosted, gpu]\n    steps:\n      - run: apt update && apt install -y -o Dpkg::Options::=--force-confnew -t bookworm-backports 'Bad_Name' libgl1 git=1:2.39.5-0+deb12u2 $EXTRA\n      - run: sudo apt-get -qq -o Acquire::Retries=3 install ffmpeg && apt-get -y remove vim\n      - run: pytest tests\n",
    );
    let json = config_json(&project, &[]);
    assert_eq!(
        json["apt"]["value"],
        serde_json::json!(["libgl1", "git=1:2.39.5-0+deb12u2", "ffmpeg"]),
        "{json:#}"
    );
    let stderr = init_stderr(&project, &["init", "--yes", "--dry-run"]);
    for expected in [
        "`Bad_Name` (.github/workflows/gpu.yml:6) is left out of `apt`: `apt`: `Bad_Name` is not a Debian package name",
        "`$EXTRA` in .github/workflows/gpu.yml has no value the workflow gives; left out",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
}

/// realproj.md gap 7: the GPU jobs passed over are named, each with its line and why the
/// chosen one won; their names are workflow text, escaped.
#[test]
fn the_gpu_jobs_passed_over_are_named_with_their_lines_and_why() {
    let project = Project::fixture("gpu-job-setup");
    let stderr = init_stderr(&project, &["init", "--yes", "--dry-run"]);
    assert!(
        stderr.contains("the project has 3 other GPU jobs, passed over for `gpu_tests` (.github/workflows/gpu.yml:10): `nightly_gpu` (.github/workflows/nightly.yml:6) does not run on pushes or pull requests (the chosen one does); `cuda_docs` (.github/workflows/gpu.yml:26) is a GPU job only by its name `cuda_docs`, the chosen one by its runner `gpu`; `gpu_benchmarks` (.github/workflows/gpu.yml:5) runs no pytest; if the GPU run should follow one of them, set `test-path` and `pytest-args` (--test-path, --pytest-args) as it runs them"),
        "{stderr}"
    );
    // The jobs that test come first, the surest first; then those that run no pytest.
    // As sure as each other: the one with fewer values left out, else the first.
    project.write(
        ".github/workflows/nightly.yml",
        "on: [pull_request]\njobs:\n  gpu_a:\n    runs-on: [self-hosted, gpu]\n    steps:\n      - run: pytest examples -k \"$PATTERN\"\n  gpu_b:\n    runs-on: [self-hosted, gpu]\n    steps:\n      - run: pytest tests\n  gpu_c:\n    name: \"gpu_c \\e[2J\"\n    runs-on: [self-hosted, gpu]\n    steps:\n      - run: pytest tests -x\n",
    );
    // A reusable workflow two jobs call is one job.
    project.write(
        SETUP_WORKFLOW,
        "on: [pull_request]\njobs:\n  one:\n    uses: ./.github/workflows/_bench.yml\n  two:\n    uses: ./.github/workflows/_bench.yml\n",
    );
    project.write(
        ".github/workflows/_bench.yml",
        "on:\n  workflow_call:\njobs:\n  bench:\n    runs-on: [self-hosted, gpu]\n    steps:\n      - run: python bench.py\n",
    );
    let stderr = init_stderr(&project, &["init", "--yes", "--dry-run"]);
    assert!(
        stderr.contains("the project has 3 other GPU jobs, passed over for `gpu_b` (.github/workflows/nightly.yml:7): `gpu_a` (.github/workflows/nightly.yml:3) leaves out 1 value it could not read (the chosen one 0); `gpu_c \\u{1b}[2J` (.github/workflows/nightly.yml:11) comes after the chosen one, which is as sure a GPU job; `bench` (.github/workflows/_bench.yml:4) runs no pytest; if"),
        "{stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "{stderr}");
    // One GPU job: no such note.
    project.write(".github/workflows/_bench.yml", "on: [push]\njobs: {}\n");
    project.write(
        ".github/workflows/nightly.yml",
        "on: [pull_request]\njobs:\n  gpu_b:\n    runs-on: [self-hosted, gpu]\n    steps:\n      - run: pytest tests\n",
    );
    let stderr = init_stderr(&project, &["init", "--yes", "--dry-run"]);
    assert!(
        stderr.contains("following the project's GPU job `gpu_b`"),
        "{stderr}"
    );
    assert!(!stderr.contains("passed over"), "{stderr}");
}

/// Issue 22, a warp-like layout: the GPU jobs run the package's own test runner
/// (`uv run --extra dev --extra torch --with … -m pkg.tests`) after a build job they `need`,
/// one leg per runner. The x86_64 job and leg are followed (the image is x86_64), every extra
/// it installs, what `--with` adds, the build job's native build as `setup`, and `cuda`
/// because that build looks for nvcc; pytest runs the runner's folder, with a note.
#[test]
fn a_package_test_runner_after_a_build_job_is_followed() {
    let project = Project::empty();
    project.write(
        "pyproject.toml",
        "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n[project]\nname = \"warpish\"\ndependencies = [\"numpy\"]\n[project.optional-dependencies]\ndev = [\"pytest\"]\ntorch = [\"torch>=2.7\"]\ndocs = [\"sphinx\"]\n",
    );
    project.write(
        "build_lib.py",
        "import os\nCUDA = os.environ.get('CUDA_HOME')\n",
    );
    project.write("warpish/__init__.py", "");
    project.write("warpish/tests/__init__.py", "");
    project.write("warpish/tests/__main__.py", "import unittest\n");
    project.write("warpish/tests/test_kernels.py", "import unittest\n");
    let workflow = "on: [push, pull_request]
jobs:
  build:
    runs-on: ${{ matrix.os }}
    strategy:
      matrix:
        include:
          - os: windows-2022
            build-args: --msvc
          - os: ubuntu-24.04-arm
            build-args: --arm
          - os: ubuntu-24.04
            build-args: --release
    steps:
      - uses: actions/checkout@v4
      - run: uv run build_lib.py ${{ matrix.build-args }}
  test-gpu-arm:
    runs-on: linux-arm64-gpu-gb300
    needs: build
    steps:
      - run: uv run --extra dev -m warpish.tests -s autodetect
  test-gpu:
    needs: [build]
    runs-on: ${{ matrix.runner }}
    env:
      CACHE: /tmp/cache-${{ github.run_id }}
    strategy:
      matrix:
        include:
          - runner: linux-arm64-gpu-l4
            jax: jax[cuda13]
          - runner: linux-amd64-gpu-h100
            jax: jax[cuda12]
    steps:
      - run: uv run --extra dev --extra torch --with \"${{ matrix.jax }}\" -m warpish.tests --junit-report-xml r.xml -s autodetect
";
    project.write(".github/workflows/ci.yml", workflow);
    let json = config_json(&project, &[]);
    assert_eq!(json["test-path"]["value"], "warpish/tests/", "{json:#}");
    assert_eq!(json["extra"]["value"], "dev,torch", "{json:#}");
    assert_eq!(
        json["packages"]["value"],
        serde_json::json!(["jax[cuda12]"])
    );
    assert_eq!(
        json["packages"]["source"]["from"],
        ".github/workflows/ci.yml:35"
    );
    assert_eq!(
        json["setup"]["value"],
        serde_json::json!(["python build_lib.py --release"]),
        "{json:#}"
    );
    assert_eq!(
        json["setup"]["source"]["from"],
        ".github/workflows/ci.yml:16"
    );
    assert_eq!(json["cuda"]["value"], "12.8", "{json:#}");
    let stderr = init_stderr(&project, &["init", "--yes", "--dry-run"]);
    for expected in [
        "note: following the project's GPU job `test-gpu` in .github/workflows/ci.yml (GPU by its runner `linux-amd64-gpu-h100`)",
        "`test-gpu` in .github/workflows/ci.yml runs its tests with `python -m warpish.tests` (.github/workflows/ci.yml:35), not pytest: the GPU run runs pytest on `warpish/tests/`, which collects the same unittest and pytest tests; its options (--junit-report-xml -s) are its own, left out",
        "`test-gpu-arm` (.github/workflows/ci.yml:17) runs on Arm (the image is x86_64, as the chosen one)",
        "gives `include` several values; using the Linux x86_64 one, `{\"jax\":\"jax[cuda12]\",\"runner\":\"linux-amd64-gpu-h100\"}`",
        "note: CUDA 12.8 (`build_lib.py`, which `setup` runs, looks for nvcc)",
        // Of the two frameworks it installs, the one its extra is named for.
        "note: GPU framework: torch, named by `.github/workflows/ci.yml:35`",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
    // The runner's own folder only counts when it is a package that runs as a module.
    project.write(
        ".github/workflows/ci.yml",
        &workflow.replace("warpish.tests", "warpish.other_tests_missing"),
    );
    let json = config_json(&project, &[]);
    let from = json["test-path"]["source"]["from"]
        .as_str()
        .unwrap_or_default();
    assert!(!from.starts_with(".github"), "{json:#}");
}

/// Issue 22: a GPU job whose steps live in a composite action of the project's own
/// (`uses: ./.github/actions/gpu-test`) is read through it, its inputs from the step's `with:`
/// or their defaults; a GPU job that tests through a Python driver gpu-ci does not read is
/// named with that script, so the second try is the keys, not a read of the runner.
#[test]
fn composite_actions_are_followed_and_unread_drivers_are_named() {
    let project = Project::empty();
    project.write(
        "pyproject.toml",
        "[project]\nname = \"kern\"\ndependencies = [\"numpy\"]\n",
    );
    project.write("tests/gpu/test_k.py", "");
    project.write("tests/cpu/test_c.py", "");
    project.write(
        ".github/workflows/ci.yml",
        "on: [pull_request]\njobs:\n  gpu:\n    runs-on: [self-hosted, h100]\n    steps:\n      - uses: actions/checkout@v4\n      - uses: ./.github/actions/gpu-test\n        with:\n          marks: cuda\n",
    );
    project.write(
        ".github/actions/gpu-test/action.yml",
        "name: GPU test\ninputs:\n  marks:\n    default: gpu\n  path:\n    default: tests/gpu\n  full:\n    default: false\nruns:\n  using: composite\n  steps:\n    - shell: bash\n      run: pip install torchao\n    - if: ${{ inputs.full == 'true' && runner.os == 'Linux' }}\n      shell: bash\n      run: pip install faiss-cpu\n    - shell: bash\n      run: |\n        pip install --no-index torch-scatter -f https://data.example.org/whl/torch-2.5.html\n        if [ \"$X\" = 1 ]; then V=1.0; else V=2.0; fi\n        pip install \"kern-extra==$V\"\n        pytest ${{ inputs.path }} -m ${{ inputs.marks }}\n",
    );
    let json = config_json(&project, &[]);
    assert_eq!(json["test-path"]["value"], "tests/gpu", "{json:#}");
    assert_eq!(
        json["test-path"]["source"]["from"],
        ".github/actions/gpu-test/action.yml:22"
    );
    assert_eq!(json["pytest-args"]["value"], "-v -m cuda", "{json:#}");
    // Its runner names the GPU, which the run takes, with what it costs said.
    assert_eq!(json["gpu"]["value"], "H100", "{json:#}");
    assert_eq!(
        json["gpu"]["source"]["from"],
        "`gpu` (.github/workflows/ci.yml:3)"
    );
    // The step its inputs turn off is not read; a find-links install and a value the
    // script's branches decide are said, not guessed.
    assert_eq!(json["packages"]["value"], serde_json::json!(["torchao"]));
    let stderr = init_stderr(&project, &["init", "--yes", "--dry-run"]);
    for expected in [
        "note: GPU H100, which the project's GPU job `gpu` (.github/workflows/ci.yml:3) runs on: $3.95 an hour; gpu-ci's default, L4, costs $0.80; change it with --gpu",
        "installs `torch-scatter` from the find-links page `https://data.example.org/whl/torch-2.5.html` (.github/actions/gpu-test/action.yml:19), which no gpu-ci key can point to; left out",
        "`$V` in .github/actions/gpu-test/action.yml takes several values in its script (its branches); left out",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
    // The action runs a driver script instead: no pytest to follow, and a note says where.
    project.write(
        ".github/actions/gpu-test/action.yml",
        "name: GPU test\nruns:\n  using: composite\n  steps:\n    - shell: bash\n      run: python3 \"$GITHUB_WORKSPACE/tools/ci/run_gpu.py\" --filter x\n",
    );
    project.write("tools/ci/run_gpu.py", "import subprocess\n");
    let stderr = init_stderr(&project, &["init", "--yes", "--dry-run"]);
    assert!(
        stderr.contains("note: the project's GPU tests run where gpu-ci cannot follow them: `gpu` (.github/workflows/ci.yml:3) runs `tools/ci/run_gpu.py --filter x` (.github/actions/gpu-test/action.yml:6), a script gpu-ci does not read; the GPU run uses what gpu-ci detects instead: set `test-path` and `pytest-args` (--test-path, --pytest-args) as that job runs its tests"),
        "{stderr}"
    );
    // The driver names a test file and a subproject of the tree in its string literals (read
    // as text, never run), and passes pytest a `-k`: the job is followed through them, with
    // the job's `--filter` as `-k`. Paths out of the tree, through a symlink, not there, or
    // a subproject on a line that installs nothing, are not taken.
    project.write(
        "kern/cute/pyproject.toml",
        "[project]\nname = \"kern-cute\"\nversion = \"1\"\n",
    );
    project.write("kern/other/setup.py", "raise SystemExit('never run')\n");
    project.write("tests/cute/test_attn.py", "def test_a():\n    pass\n");
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("pyproject.toml"), "[project]\n").unwrap();
    std::os::unix::fs::symlink(outside.path(), project.path("linked")).unwrap();
    project.write(
        "tools/ci/run_gpu.py",
        "TARGET = \"tests/cute/test_attn.py\"\nOTHER = '../tests/cpu/test_c.py'\nfor sub in ['linked', \"kern/missing\", '/etc', 'kern/other']:\n    pass\ncmd = f\"pip install -e {root / 'kern/cute'} {root / 'linked'}\"\nargv = ['python', '-m', 'pytest', TARGET, '-k', args.filter]\n",
    );
    let stderr = init_stderr(&project, &["init", "--yes", "--dry-run"]);
    assert!(
        stderr.contains("note: `gpu` (.github/workflows/ci.yml:3) tests through `tools/ci/run_gpu.py --filter x` (.github/actions/gpu-test/action.yml:6), a script gpu-ci reads only as text: the GPU run tests the paths it names and installs the subprojects it installs (`./kern/cute`), with the job's `--filter` as pytest's `-k` (the script passes pytest a `-k`); its other options are not read: `pytest-args` (--pytest-args) passes them"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("linked") && !stderr.contains("test_c") && !stderr.contains("kern/other"),
        "{stderr}"
    );
    let json = config_json(&project, &[]);
    assert_eq!(
        json["test-path"]["value"], "tests/cute/test_attn.py",
        "{json:#}"
    );
    assert_eq!(json["test-path"]["source"]["from"], "tools/ci/run_gpu.py:1");
    assert_eq!(json["pytest-args"]["value"], "-v -k x", "{json:#}");
    assert_eq!(
        json["packages"]["value"],
        serde_json::json!(["./kern/cute"])
    );
    assert_eq!(json["packages"]["source"]["from"], "tools/ci/run_gpu.py:5");
    // A driver that names no test path is only named, with the keys to set and the line for
    // the subproject it installs.
    project.write(
        "tools/ci/run_gpu.py",
        "import os\nTARGET = 'tests'\nos.system('pip install ./kern/cute')\n",
    );
    let stderr = init_stderr(&project, &["init", "--yes", "--dry-run"]);
    assert!(
        stderr.contains("a script gpu-ci does not read; the GPU run uses what gpu-ci detects instead: set `test-path` and `pytest-args` (--test-path, --pytest-args) as that job runs its tests, and `packages = [\"./kern/cute\"]` (tools/ci/run_gpu.py:3) for the subprojects its scripts install"),
        "{stderr}"
    );
}

/// Issue 21/22: an `--index-url` on a line that names its packages serves those packages: it
/// becomes an extra index beside PyPI, and a PyTorch CUDA index there decides the image's
/// CUDA (a CUDA extension is built against the torch it serves). Another vendor's job (an
/// Ascend NPU) is never followed, not even as a CPU job.
#[test]
fn a_line_scoped_index_is_an_extra_index_and_says_the_cuda() {
    let project = Project::empty();
    project.write(
        "pyproject.toml",
        "[build-system]\nrequires = [\"setuptools\", \"torch\"]\nbuild-backend = \"setuptools.build_meta\"\n[project]\nname = \"kern\"\ndependencies = [\"numpy\"]\n",
    );
    project.write(
        "setup.py",
        "from setuptools import setup\nfrom torch.utils.cpp_extension import CUDAExtension\nsetup(ext_modules=[CUDAExtension('k', ['k.cu'])])\n",
    );
    project.write("requirements-dev.txt", "pytest\n");
    project.write("test/test_k.py", "");
    project.write(
        ".github/workflows/npu.yml",
        "on: [pull_request]\njobs:\n  npu:\n    name: Test A2 NPU\n    runs-on: ubuntu-latest\n    steps:\n      - run: pip install torch-npu\n      - run: pytest test -x\n",
    );
    let json = config_json(&project, &[]);
    assert_eq!(json["packages"]["source"]["kind"], "default", "{json:#}");
    project.write(
        ".github/workflows/gpu.yml",
        "on: [pull_request]\njobs:\n  gpu:\n    runs-on: linux-h100\n    steps:\n      - run: pip install -r requirements-dev.txt\n      - run: pip install --pre torch --index-url https://download.pytorch.org/whl/nightly/cu130\n      - run: pytest test\n",
    );
    let json = config_json(&project, &[]);
    assert_eq!(
        json["index-url"]["value"],
        serde_json::Value::Null,
        "{json:#}"
    );
    assert_eq!(
        json["extra-index-urls"]["value"],
        serde_json::json!(["https://download.pytorch.org/whl/nightly/cu130"])
    );
    assert_eq!(json["cuda"]["value"], "13.0", "{json:#}");
    assert_eq!(
        json["cuda"]["source"]["from"],
        ".github/workflows/gpu.yml:7"
    );
    let stderr = init_stderr(&project, &["init", "--yes", "--dry-run"]);
    assert!(
        stderr.contains("note: CUDA 13.0 (torch comes from https://download.pytorch.org/whl/nightly/cu130, built for CUDA 13.0): the image is `nvidia/cuda:13.0.1-devel-ubuntu24.04`"),
        "{stderr}"
    );
    // The line that installs the requirements keeps its index as the index.
    project.write(
        ".github/workflows/gpu.yml",
        "on: [pull_request]\njobs:\n  gpu:\n    runs-on: linux-h100\n    steps:\n      - run: pip install -r requirements-dev.txt --index-url https://mirror.example.org/simple\n      - run: pytest test\n",
    );
    let json = config_json(&project, &[]);
    assert_eq!(
        json["index-url"]["value"], "https://mirror.example.org/simple",
        "{json:#}"
    );
}

/// Through the binary: a reusable workflow called by a CPU caller and a CUDA caller, whose
/// test job's runner is chosen at run time, is followed for the CUDA caller (its GPU input,
/// its backend in the environment); the build job it needs builds in docker, which is said
/// instead of being taken as `setup`; a job that tests another repository it clones is not
/// the project's.
#[test]
fn the_cuda_caller_of_a_reusable_workflow_is_followed() {
    let project = Project::empty();
    project.write(
        "pyproject.toml",
        "[project]\nname = \"kern\"\ndependencies = [\"numpy\"]\n",
    );
    project.write("tests/test_k.py", "def test_k():\n    pass\n");
    project.write(
        ".github/workflows/callers.yml",
        "on: [pull_request]\njobs:\n  cpu:\n    uses: ./.github/workflows/runner.yml\n    with:\n      backend: cpu\n  cuda:\n    strategy:\n      matrix:\n        gpu_type: [T4, L40S]\n    uses: ./.github/workflows/runner.yml\n    with:\n      backend: cuda\n      gpu_type: ${{ matrix.gpu_type }}\n  other:\n    runs-on: [self-hosted, h100]\n    steps:\n      - run: git clone https://github.com/o/other\n      - run: pytest -k TestKern\n        working-directory: other/\n",
    );
    project.write(
        ".github/workflows/runner.yml",
        "on:\n  workflow_call:\n    inputs:\n      backend:\n        type: string\n      gpu_type:\n        type: string\n        default: ''\njobs:\n  build:\n    runs-on: ubuntu-22.04\n    steps:\n      - run: bash scripts/build-cuda.sh\n  test:\n    needs: build\n    runs-on: ${{ needs.build.outputs.runner }}\n    env:\n      TEST_DEVICE: ${{ inputs.backend }}\n    steps:\n      - run: pytest tests\n",
    );
    project.write(
        "scripts/build-cuda.sh",
        "set -e\ndocker run -v \"$PWD:/src\" nvidia/cuda bash -c 'cmake . && cmake --build .'\n",
    );
    let json = config_json(&project, &[]);
    assert_eq!(json["gpu"]["value"], "T4", "{json:#}");
    assert_eq!(
        json["env"]["value"],
        serde_json::json!({"TEST_DEVICE": "cuda"}),
        "{json:#}"
    );
    assert_eq!(json["setup"]["value"], serde_json::json!([]), "{json:#}");
    assert_eq!(json["test-path"]["value"], "tests", "{json:#}");
    assert_eq!(json["pytest-args"]["value"], "-v", "{json:#}");
    project
        .gpu_ci(&["init", "--yes", "--dry-run"])
        .success()
        .stderr(predicate::str::contains(
            "note: following the project's GPU job `test` in .github/workflows/runner.yml (GPU by its caller's input `backend: cuda`)",
        ))
        .stderr(predicate::str::contains(
            "`scripts/build-cuda.sh` (.github/workflows/runner.yml:13) builds in a container of its own (`scripts/build-cuda.sh:2` runs docker), which an image build cannot run: left out; set `setup` (--setup)",
        ));
}
