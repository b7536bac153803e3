//! Reading a Python project without running any of its code.

pub mod ci;
pub mod imports;
pub mod ini;
pub mod own_ci;
pub mod pyproject;
pub mod pytest;
pub mod python;
pub mod requirements;
pub mod setup_cfg;
pub mod switches;

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoOp, Result};
pub use pyproject::PyProject;
use pytest::{GpuSelection, PytestConfig};
use setup_cfg::SetupCfg;

/// The GPU framework a project's dependencies name; it picks the base image and the GPU check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framework {
    Torch,
    Jax,
    Tensorflow,
    Cupy,
    None,
}

impl Framework {
    pub const ALL: [Framework; 5] = [
        Framework::Torch,
        Framework::Jax,
        Framework::Tensorflow,
        Framework::Cupy,
        Framework::None,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Framework::Torch => "torch",
            Framework::Jax => "jax",
            Framework::Tensorflow => "tensorflow",
            Framework::Cupy => "cupy",
            Framework::None => "none",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The framework a word of a file name or a backend variable names.
    fn from_word(word: &str) -> Option<Self> {
        match word {
            "torch" | "pytorch" => Some(Framework::Torch),
            "jax" => Some(Framework::Jax),
            "tensorflow" | "tf" => Some(Framework::Tensorflow),
            "cupy" => Some(Framework::Cupy),
            _ => None,
        }
    }

    /// Which framework a (normalised) distribution name belongs to.
    fn of_package(package: &str) -> Option<Self> {
        match package {
            "torch" | "torchvision" | "torchaudio" | "lightning" | "pytorch-lightning" => {
                Some(Framework::Torch)
            }
            "jax" | "jaxlib" | "flax" => Some(Framework::Jax),
            "tensorflow" | "tensorflow-gpu" | "tensorflow-cpu" | "tf-keras" => {
                Some(Framework::Tensorflow)
            }
            name if name == "cupy" || name.starts_with("cupy-cuda") => Some(Framework::Cupy),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Packages live under `src/`.
    Src,
    /// Packages live at the project root.
    Flat,
}

/// Which file named the Python version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PythonSource {
    PythonVersionFile,
    RequiresPython,
    PoetryPython,
    SetupCfg,
    SetupPy,
}

impl PythonSource {
    /// The key or file, as the note names it.
    pub fn name(self) -> &'static str {
        match self {
            PythonSource::PythonVersionFile => ".python-version",
            PythonSource::RequiresPython => "requires-python",
            PythonSource::PoetryPython => "tool.poetry.dependencies.python",
            PythonSource::SetupCfg | PythonSource::SetupPy => "python_requires",
        }
    }

    /// Where it is, as `gpu-ci config` shows it.
    pub fn location(self) -> String {
        match self {
            PythonSource::PythonVersionFile => ".python-version".into(),
            PythonSource::SetupCfg => "`python_requires` in setup.cfg".into(),
            PythonSource::SetupPy => "`python_requires` in setup.py".into(),
            other => format!("`{}` in pyproject.toml", other.name()),
        }
    }
}

/// Where the tests folder came from, so the user can be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestsDir {
    /// One path, or pytest's testpaths.
    pub paths: Vec<String>,
    pub source: String,
}

/// Everything gpu-ci learns about a project by reading its files.
#[derive(Debug)]
pub struct Project {
    pub root: PathBuf,
    pub pyproject: Option<PyProject>,
    pub has_uv_lock: bool,
    pub has_poetry_lock: bool,
    pub has_setup_py: bool,
    /// setup.cfg's declarative metadata, when there is a setup.cfg.
    pub setup_cfg: Option<SetupCfg>,
    /// `python_requires` in setup.py, read from its text.
    pub setup_py_python: Option<String>,
    /// Extras setup.py's text defines.
    pub setup_py_extras: Vec<String>,
    /// setup.py's text, read (never run), for names a function in it may compute.
    pub setup_py_text: Option<String>,
    /// The project's compiled parts (an extension module, a native build backend), if any.
    pub compiled: Option<Compiled>,
    /// Requirements files (`requirements*.txt|in`, `*-requirements.txt`, `requirements/`), sorted.
    pub requirements: Vec<String>,
    pub python_version_file: Option<String>,
    pub pytest: PytestConfig,
    pub tests: Option<TestsDir>,
    /// The tests folder, when pytest's testpaths leave part of it out (GPU folders, often).
    pub tests_beyond_testpaths: Option<String>,
    pub layout: Layout,
    pub framework: Framework,
    /// Which file named the framework, for the note.
    pub framework_source: Option<String>,
    /// Every framework the project's files name: several make the choice a guess.
    pub frameworks_named: Vec<Framework>,
    /// Build and test switches: variables setup.py and conftest.py read, options conftest.py
    /// registers, a separate native build script.
    pub switches: switches::Switches,
    /// The job of the project's own CI the GPU run follows (a GPU job, else a CPU job that
    /// runs pytest), with what it installs, sets and runs.
    pub ci_job: Option<own_ci::CiJob>,
    /// What init says of the project's CI besides the job it follows (see
    /// `own_ci::detect_with_notes`).
    pub ci_notes: Vec<String>,
    /// The Modal GPU the project's GPU tests run on, as a runner label names it, and the job
    /// (`b200`, in `` `gpu` (.github/workflows/ci.yml:12) ``).
    pub ci_gpu: Option<own_ci::Found>,
}

/// Why a project has compiled parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compiled {
    /// A build backend that compiles (scikit-build, meson, maturin, setuptools-rust), as named.
    Backend(String),
    /// setup.py builds extension modules: the marker found in its text (`CUDAExtension`, ...).
    Extension(&'static str),
}

impl Compiled {
    /// The reason, for a note and `gpu-ci config`.
    pub fn reason(&self) -> String {
        match self {
            Compiled::Backend(backend) => format!("its build backend is `{backend}`"),
            Compiled::Extension(marker) => {
                format!("setup.py builds extension modules (`{marker}`)")
            }
        }
    }

    /// The build compiles CUDA code: it needs nvcc and an arch list.
    pub fn builds_cuda(&self) -> bool {
        *self == Compiled::Extension("CUDAExtension")
    }
}

/// How the test environment's dependencies get installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallSource {
    /// A PEP 735 `[dependency-groups]` group.
    Group(String),
    /// A Poetry `[tool.poetry.group.<name>]` group.
    PoetryGroup(String),
    /// `[project.optional-dependencies]` extras: one name, or several joined by commas
    /// (`dev,torch`, as pip's `.[dev,torch]`); see [`extra_names`].
    Extra(String),
    /// A requirements file, relative to the project root.
    Requirements(String),
    /// The project's own dependencies plus pytest.
    ProjectOnly,
}

impl InstallSource {
    pub fn describe(&self) -> String {
        match self {
            InstallSource::Group(name) => format!("dependency group `{name}`"),
            InstallSource::PoetryGroup(name) => format!("Poetry group `{name}`"),
            InstallSource::Extra(name) => format!("optional dependencies `{name}`"),
            InstallSource::Requirements(path) => format!("requirements file `{path}`"),
            InstallSource::ProjectOnly => "the project's own dependencies plus pytest".into(),
        }
    }
}

/// The extras an `extra` value names: `dev,torch` is `dev` and `torch`, each trimmed, each once.
pub fn extra_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    names
}

/// Group and extra names that mean "what the tests need", best first.
const TEST_NAMES: [&str; 4] = ["test", "tests", "testing", "dev"];

/// The most gpu-ci reads of one project file: far above any real config, lock or generated
/// file, and a bound on what a link to `/dev/zero` (or a huge file) can cost.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// The bytes of `path`, which must be a regular file (a link to one is followed) of at most
/// [`MAX_FILE_BYTES`]: a FIFO, a device or a folder is refused before it is opened, so no read
/// blocks or runs unbounded. `shown` names it in messages. Every command reads project files
/// through this (issue 20).
pub fn read_bytes(path: &Path, shown: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    let refuse = |why: &str| {
        Error::usage(format!("cannot read `{shown}`: {why}")).with_help(
            "replace it with a regular file (gpu-ci reads nothing else), then run gpu-ci again",
        )
    };
    let meta = fs::metadata(path).map_err(|err| Error::io(IoOp::Read, shown, err))?;
    if !meta.is_file() {
        return Err(refuse("it is not a regular file"));
    }
    let too_big = || refuse(&format!("it is larger than {} MiB", MAX_FILE_BYTES >> 20));
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_big());
    }
    let file = fs::File::open(path).map_err(|err| Error::io(IoOp::Read, shown, err))?;
    // What was opened, not what was looked at: it may have been replaced in between.
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Err(refuse("it is not a regular file"));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| Error::io(IoOp::Read, shown, err))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big());
    }
    Ok(bytes)
}

/// Reads a text file (as [`read_bytes`] does), or explains in one line why it cannot be used.
pub fn read_text(path: &Path, shown: &str) -> Result<String> {
    let bytes = read_bytes(path, shown)?;
    String::from_utf8(bytes).map_err(|err| {
        let valid = &err.as_bytes()[..err.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        let column = valid.iter().rev().take_while(|b| **b != b'\n').count() + 1;
        Error::usage(format!(
            "`{shown}` is not UTF-8 text (invalid byte at line {line}, column {column})"
        ))
        .with_help("save the file as UTF-8 and run gpu-ci again")
    })
}

/// The path of `rel` when it is a regular file inside `root`: relative, no `..`, and no symlink
/// at any depth. Detection reads the project's files as the runner reads the tree under test
/// (`read_tree_file`), so what `init` relies on is what the runner will read.
pub fn regular_file(root: &Path, rel: &str) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    let parts: Vec<&str> = rel
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if rel.starts_with('/') || parts.is_empty() || parts.contains(&"..") {
        return None;
    }
    for (index, part) in parts.iter().enumerate() {
        path.push(part);
        let meta = fs::symlink_metadata(&path).ok()?;
        let last = index == parts.len() - 1;
        if (last && !meta.is_file()) || (!last && !meta.is_dir()) {
            return None;
        }
    }
    Some(path)
}

/// The path of `rel` when it is a folder inside `root`, with [`regular_file`]'s rules: relative,
/// no `..`, no symlink at any depth.
pub fn regular_folder(root: &Path, rel: &str) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    if rel.starts_with('/') {
        return None;
    }
    for part in rel.split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return None;
        }
        path.push(part);
        if !fs::symlink_metadata(&path).ok()?.is_dir() {
            return None;
        }
    }
    Some(path)
}

/// A relative path of plain names, each `[A-Za-z0-9._-]`, none empty, `.`, `..` or starting
/// with `-` (it would read as an option): what may reach a shell, pip or pytest as one word.
pub fn is_plain_path(rel: &str) -> bool {
    !rel.is_empty()
        && rel.split('/').all(|part| {
            !part.is_empty()
                && !part.starts_with('-')
                && part != "."
                && part != ".."
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        })
}

/// The largest pyproject.toml read to tell a subproject (a real one is a few KiB).
const MAX_SUBPROJECT_PYPROJECT: u64 = 64 * 1024;

/// Whether the folder `rel` of the tree holds a project of its own: a setup.py, or a
/// pyproject.toml with a `[project]` or `[build-system]` table (not one that only configures
/// tools, as a tests folder's black settings), each a regular file reached without a symlink.
pub fn is_subproject(root: &Path, rel: &str) -> bool {
    let pyproject = format!("{rel}/pyproject.toml");
    let small = regular_file(root, &pyproject)
        .and_then(|path| fs::metadata(path).ok())
        .is_some_and(|meta| meta.len() <= MAX_SUBPROJECT_PYPROJECT);
    regular_file(root, &format!("{rel}/setup.py")).is_some()
        || (small
            && read_regular(root, &pyproject)
                .and_then(|text| pyproject::PyProject::parse(&text).ok())
                .is_some_and(|p| p.has_project_table || p.has_build_system))
}

/// The text of `rel` when it is a regular UTF-8 file inside `root` (see [`regular_file`]).
pub fn read_regular(root: &Path, rel: &str) -> Option<String> {
    read_text(&regular_file(root, rel)?, rel).ok()
}

impl Project {
    pub fn detect(root: &Path) -> Result<Project> {
        if !root.is_dir() {
            return Err(
                Error::usage(format!("`{}` is not a directory", root.display()))
                    .with_help("pass a project folder with -C <DIR>"),
            );
        }
        let pyproject_path = root.join("pyproject.toml");
        // Not a regular file (a FIFO, a device): refused by `read_text`, not taken for none.
        let pyproject = if pyproject_path.exists() {
            Some(PyProject::parse(&read_text(
                &pyproject_path,
                "pyproject.toml",
            )?)?)
        } else {
            None
        };
        let requirements = requirements::find_files(root);
        let python_version_file = read_regular(root, ".python-version").and_then(|text| {
            text.lines()
                .map(str::trim)
                .find(|line| !line.is_empty() && !line.starts_with('#'))
                .map(str::to_string)
        });

        let setup_cfg = read_regular(root, "setup.cfg").map(|text| SetupCfg::parse(&text));
        let setup_py = read_regular(root, "setup.py");

        // Every source of dependency names, in the order the note should credit them.
        let mut sources: Vec<(String, Vec<String>)> = Vec::new();
        if let Some(p) = &pyproject {
            sources.push(("pyproject.toml".into(), p.dependency_names.clone()));
        }
        if let Some(cfg) = &setup_cfg {
            sources.push(("setup.cfg".into(), cfg.dependency_names()));
        }
        if let Some(text) = &setup_py {
            sources.push(("setup.py".into(), setup_cfg::setup_py_names(text)));
        }
        for file in &requirements {
            if let Some(text) = read_regular(root, file) {
                sources.push((file.clone(), requirements::package_names(&text)));
            }
        }
        for (file, text) in workflow_texts(root) {
            sources.push((file, workflow_installs(&text)));
        }
        let (ci_job, ci_notes, ci_gpu) = own_ci::detect_with_notes(root);
        let named: Vec<Framework> = Framework::ALL
            .into_iter()
            .filter(|f| {
                sources
                    .iter()
                    .any(|(_, names)| names.iter().any(|p| Framework::of_package(p) == Some(*f)))
            })
            .collect();
        // The GPU job's backend, else a file whose name names a framework it lists
        // (requirements-jax-cuda.txt), else the first source naming one, torch first.
        let found = ci_job
            .as_ref()
            .filter(|job| job.gpu.is_some())
            .and_then(|job| ci_framework(root, job))
            .or_else(|| {
                sources.iter().find_map(|(file, names)| {
                    named_by_file(file)
                        .filter(|f| names.iter().any(|p| Framework::of_package(p) == Some(*f)))
                        .map(|f| (f, file.clone()))
                })
            })
            .or_else(|| {
                named.iter().find_map(|wanted| {
                    sources
                        .iter()
                        .find(|(_, names)| {
                            names
                                .iter()
                                .any(|p| Framework::of_package(p) == Some(*wanted))
                        })
                        .map(|(file, _)| (*wanted, file.clone()))
                })
            });
        let (framework, framework_source) = match found {
            Some((framework, file)) => (framework, Some(file)),
            None => (Framework::None, None),
        };
        let frameworks_named = named;

        let pytest = PytestConfig::find(root, pyproject.as_ref());
        let layout = if has_python_files(&root.join("src"), 4) {
            Layout::Src
        } else {
            Layout::Flat
        };
        let tests = find_tests(root, &pytest, layout)?;
        let tests_beyond_testpaths = tests_folder_beyond(root, &pytest);
        let mut test_dirs: Vec<String> = tests.iter().flat_map(|t| t.paths.clone()).collect();
        test_dirs.extend(tests_beyond_testpaths.clone());
        let switches = switches::detect(root, setup_py.as_deref(), &test_dirs);

        Ok(Project {
            root: root.to_path_buf(),
            has_uv_lock: regular_file(root, "uv.lock").is_some(),
            has_poetry_lock: regular_file(root, "poetry.lock").is_some(),
            has_setup_py: setup_py.is_some(),
            setup_py_python: setup_py.as_deref().and_then(setup_py_python_requires),
            setup_py_extras: setup_py
                .as_deref()
                .map(setup_cfg::setup_py_extras)
                .unwrap_or_default(),
            compiled: compiled_parts(pyproject.as_ref(), setup_py.as_deref()),
            setup_py_text: setup_py.clone(),
            setup_cfg,
            pyproject,
            requirements,
            python_version_file,
            pytest,
            tests,
            tests_beyond_testpaths,
            layout,
            framework,
            framework_source,
            frameworks_named,
            switches,
            ci_job,
            ci_notes,
            ci_gpu,
        })
    }

    /// How the GPU run should select the tests the project marks as GPU tests.
    pub fn gpu_selection(&self) -> Option<GpuSelection> {
        self.pytest.gpu_selection()
    }

    /// The `3.N` minor `.python-version` names, if it names a CPython 3 version.
    pub fn python_version_file_minor(&self) -> Option<u32> {
        let version = self.python_version_file.as_deref().and_then(major_minor)?;
        version[2..].parse().ok()
    }

    /// The project's Python constraint, as written, and where it is written.
    pub fn python_constraint(&self) -> Option<(&str, PythonSource)> {
        let pyproject = self.pyproject.as_ref();
        if let Some(spec) = pyproject.and_then(|p| p.requires_python.as_deref()) {
            return Some((spec, PythonSource::RequiresPython));
        }
        if let Some(spec) = pyproject.and_then(|p| p.poetry_python.as_deref()) {
            return Some((spec, PythonSource::PoetryPython));
        }
        if let Some(spec) = self
            .setup_cfg
            .as_ref()
            .and_then(|c| c.python_requires.as_deref())
        {
            return Some((spec, PythonSource::SetupCfg));
        }
        self.setup_py_python
            .as_deref()
            .map(|spec| (spec, PythonSource::SetupPy))
    }

    /// Every install source the project offers, the one a careful maintainer would pick first.
    pub fn install_candidates(&self) -> Vec<InstallSource> {
        let mut found = Vec::new();
        let extras = self.extras();
        for name in TEST_NAMES {
            if let Some(py) = &self.pyproject {
                if py.dependency_groups.iter().any(|g| g == name) {
                    found.push(InstallSource::Group(name.into()));
                }
                if py.poetry_groups.iter().any(|g| g == name) {
                    found.push(InstallSource::PoetryGroup(name.into()));
                }
            }
            if extras.iter().any(|e| e == name) || self.setup_py_names_extra(name) {
                found.push(InstallSource::Extra(name.into()));
            }
        }
        // A per-package subfolder named for the project (`requirements/<pkg>/test.txt`) first.
        let own = requirements::normalise(&self.name());
        let mut by_role: Vec<(requirements::Role, bool, &String)> = self
            .requirements
            .iter()
            .map(|path| {
                let folder = path.rsplit_once('/').map_or("", |(dir, _)| dir);
                let named = folder.starts_with("requirements/")
                    && requirements::normalise(&folder["requirements/".len()..]) == own;
                (requirements::role(path), !named, path)
            })
            .filter(|(role, _, _)| {
                !matches!(
                    role,
                    requirements::Role::Other | requirements::Role::Tooling
                )
            })
            .collect();
        by_role.sort();
        for (_, _, path) in by_role {
            let candidate = InstallSource::Requirements(path.clone());
            if !found.contains(&candidate) {
                found.push(candidate);
            }
        }
        found.push(InstallSource::ProjectOnly);
        found
    }

    /// Checks a user's install choice against the project, resolving a group's kind.
    pub fn resolve_install(
        &self,
        group: Option<&str>,
        extra: Option<&str>,
        requirements: Option<&str>,
    ) -> Result<Option<InstallSource>> {
        let empty = Vec::new();
        let py = self.pyproject.as_ref();
        if let Some(name) = group {
            let groups = py.map_or(&empty, |p| &p.dependency_groups);
            let poetry = py.map_or(&empty, |p| &p.poetry_groups);
            if groups.iter().any(|g| g == name) {
                return Ok(Some(InstallSource::Group(name.into())));
            }
            if poetry.iter().any(|g| g == name) {
                return Ok(Some(InstallSource::PoetryGroup(name.into())));
            }
            let known: Vec<&String> = groups.iter().chain(poetry).collect();
            return Err(
                Error::usage(format!("pyproject.toml has no dependency group `{name}`"))
                    .with_help(available("groups", &known)),
            );
        }
        if let Some(names) = extra {
            let extras = self.extras();
            let missing = extra_names(names)
                .into_iter()
                .find(|name| !(extras.contains(name) || self.setup_py_names_extra(name)));
            let Some(name) = missing else {
                return Ok(Some(InstallSource::Extra(extra_names(names).join(","))));
            };
            let file = if self.has_pep621() || !self.dependencies_outside_pyproject() {
                "pyproject.toml"
            } else {
                "the project's metadata (setup.cfg, setup.py)"
            };
            return Err(
                Error::usage(format!("{file} has no optional dependencies `{name}`"))
                    .with_help(available("extras", &extras.iter().collect::<Vec<_>>())),
            );
        }
        if let Some(path) = requirements {
            let path = path.trim_start_matches("./").to_string();
            if regular_file(&self.root, &path).is_none() {
                let found = &self.requirements.iter().collect::<Vec<_>>();
                let why = if self.root.join(&path).exists() {
                    // The runner copies it from the tree under test, which it reads only as
                    // regular files inside it.
                    "is not a regular file inside the project (a symlink, a folder, or a path outside it)"
                } else {
                    "does not exist"
                };
                return Err(Error::usage(format!("requirements file `{path}` {why}"))
                    .with_help(available("requirements files", found)));
            }
            return Ok(Some(InstallSource::Requirements(path)));
        }
        Ok(None)
    }

    /// A `[project]` table that uv can sync from.
    pub fn has_pep621(&self) -> bool {
        self.pyproject.as_ref().is_some_and(|p| p.has_project_table)
    }

    /// The extras the project declares: `[project.optional-dependencies]`, else setup.cfg's
    /// `extras_require`, else the ones setup.py's text defines.
    pub fn extras(&self) -> Vec<String> {
        if self.has_pep621() && !self.is_dynamic("optional-dependencies") {
            return self
                .pyproject
                .as_ref()
                .map(|p| p.extras.clone())
                .unwrap_or_default();
        }
        let mut extras: Vec<String> = self
            .setup_cfg
            .iter()
            .flat_map(|c| c.extras.iter().map(|(name, _)| name.clone()))
            .collect();
        for name in &self.setup_py_extras {
            if !extras.contains(name) {
                extras.push(name.clone());
            }
        }
        extras
    }

    /// Whether setup.py's text names `extra` as a key, where setup.py owns the dependencies:
    /// extras a function in setup.py computes are installed by name. A key is a quoted name
    /// followed by `:` or `]` (`{"dev": …}`, `extras["dev"]`) or paired with a list
    /// (`("dev", [...])`); `exclude=("tests",)` is not one.
    pub fn setup_py_names_extra(&self, extra: &str) -> bool {
        let Some(text) = self.setup_py_text.as_deref() else {
            return false;
        };
        self.dependencies_outside_pyproject()
            && ['"', '\''].into_iter().any(|quote| {
                let quoted = format!("{quote}{extra}{quote}");
                text.match_indices(&quoted).any(|(at, _)| {
                    let after = text[at + quoted.len()..].trim_start();
                    after.starts_with(':')
                        || after.starts_with(']')
                        || after
                            .strip_prefix(',')
                            .is_some_and(|rest| rest.trim_start().starts_with(['[', '(']))
                })
            })
    }

    /// Dependencies live in setup.py or setup.cfg (no `[project]` table, no Poetry): only the
    /// project's build can say what they are.
    pub fn dependencies_outside_pyproject(&self) -> bool {
        let declared_here = if self.has_pep621() {
            !self.is_dynamic("dependencies")
        } else {
            self.is_poetry()
        };
        !declared_here && (self.has_setup_py || self.setup_cfg.is_some())
    }

    /// Whether `[project] dynamic` leaves `field` to the build backend.
    fn is_dynamic(&self, field: &str) -> bool {
        self.pyproject
            .as_ref()
            .is_some_and(|p| p.dynamic.iter().any(|d| d == field))
    }

    /// The project builds as a package: `[build-system]`, setup.py or setup.cfg.
    pub fn has_build_system(&self) -> bool {
        self.pyproject.as_ref().is_some_and(|p| p.has_build_system)
            || self.has_setup_py
            || self.setup_cfg.is_some()
    }

    /// What the build needs installed first, for a build without isolation: `[build-system]
    /// requires`, else setuptools' own, with ninja for torch's extension builder
    /// (`CUDAExtension`, `CppExtension`), which without it compiles file by file (hours for a
    /// CUDA library such as flash-attention).
    pub fn build_requires(&self) -> Vec<String> {
        match self.pyproject.as_ref().filter(|p| p.has_build_system) {
            Some(p) if !p.build_requires.is_empty() => p.build_requires.clone(),
            _ => {
                let mut requires = vec!["setuptools>=61".to_string(), "wheel".to_string()];
                if matches!(
                    self.compiled,
                    Some(Compiled::Extension("CUDAExtension" | "CppExtension"))
                ) {
                    requires.push("ninja".into());
                }
                requires
            }
        }
    }

    /// Whether installing with `source` brings `framework` (a dependency of the chosen table, or
    /// of the requirements file and what it includes); `false` when gpu-ci cannot tell.
    pub fn framework_declared(&self, source: &InstallSource, framework: Framework) -> bool {
        let names: Vec<String> = match source {
            InstallSource::Requirements(path) => requirements::with_includes(&self.root, path)
                .iter()
                .filter_map(|file| read_regular(&self.root, file))
                .flat_map(|text| requirements::package_names(&text))
                .collect(),
            _ if self.dependencies_outside_pyproject() => {
                let Some(cfg) = &self.setup_cfg else {
                    return false;
                };
                let mut names = cfg.install_requires.clone();
                if let InstallSource::Extra(extra) = source {
                    let wanted = extra_names(extra);
                    names.extend(
                        cfg.extras
                            .iter()
                            .filter(|(n, _)| wanted.contains(n))
                            .flat_map(|(_, p)| p.clone()),
                    );
                }
                names
            }
            _ => {
                let Some(py) = &self.pyproject else {
                    return false;
                };
                let wanted: Vec<String> = match source {
                    InstallSource::Group(name) => vec!["project".into(), format!("group:{name}")],
                    InstallSource::Extra(names) => std::iter::once("project".to_string())
                        .chain(extra_names(names).iter().map(|n| format!("extra:{n}")))
                        .collect(),
                    InstallSource::PoetryGroup(name) => {
                        vec!["poetry".into(), format!("poetry-group:{name}")]
                    }
                    _ => vec!["project".into(), "poetry".into()],
                };
                py.tables
                    .iter()
                    .filter(|(key, _)| wanted.contains(key))
                    .flat_map(|(_, names)| names.clone())
                    .collect()
            }
        };
        names
            .iter()
            .any(|name| Framework::of_package(name) == Some(framework))
    }

    /// Dependencies declared for Poetry only (no `[project]` table).
    pub fn is_poetry(&self) -> bool {
        self.pyproject
            .as_ref()
            .is_some_and(|p| !p.poetry_groups.is_empty() || p.poetry_python.is_some())
            && !self.has_pep621()
    }

    /// The project's name, from `[project]`, else its folder's.
    pub fn name(&self) -> String {
        self.pyproject
            .as_ref()
            .and_then(|p| p.name.clone())
            .or_else(|| {
                self.root
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
            })
            .unwrap_or_default()
    }
}

fn available(what: &str, names: &[&String]) -> String {
    if names.is_empty() {
        format!("the project declares no {what}; choose another install source")
    } else {
        let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        format!("available {what}: {}", list.join(", "))
    }
}

/// Folders never searched for tests or sources.
const SKIPPED_DIRS: [&str; 12] = [
    "node_modules",
    "venv",
    "build",
    "dist",
    "docs",
    "doc",
    "examples",
    "benchmarks",
    "site-packages",
    "__pycache__",
    "third_party",
    "3rdparty",
];

fn is_skipped(name: &str) -> bool {
    name.starts_with('.') || SKIPPED_DIRS.contains(&name)
}

/// pytest's testpaths, else a `tests/` or `test/` folder, else tests kept beside the code.
/// A folder of tests whose name is not UTF-8 cannot be written into the config or a workflow:
/// an error naming it, never a test path with U+FFFD in it that does not exist.
fn find_tests(root: &Path, pytest: &PytestConfig, layout: Layout) -> Result<Option<TestsDir>> {
    if !pytest.options.testpaths.is_empty() {
        return Ok(Some(TestsDir {
            paths: pytest.options.testpaths.clone(),
            source: format!(
                "pytest's testpaths in {}",
                pytest.file.unwrap_or("the config")
            ),
        }));
    }
    if let Some(dir) = ["tests", "test"]
        .into_iter()
        .find(|dir| fs::symlink_metadata(root.join(dir)).is_ok_and(|m| m.is_dir()))
    {
        return Ok(Some(TestsDir {
            paths: vec![format!("{dir}/")],
            source: "the folder's name".into(),
        }));
    }
    let patterns = pytest.python_files();
    let mut found: Vec<PathBuf> = Vec::new();
    match layout {
        Layout::Src => collect_test_dirs(&root.join("src"), &patterns, 6, &mut found),
        // At the root only packages count: tools/ and scripts/ hold files named test_*.py too.
        Layout::Flat => {
            for entry in fs::read_dir(root).into_iter().flatten().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let is_package = entry.file_type().is_ok_and(|t| t.is_dir())
                    && !is_skipped(&name)
                    && entry.path().join("__init__.py").is_file();
                if is_package {
                    collect_test_dirs(&entry.path(), &patterns, 6, &mut found);
                }
            }
        }
    }
    let Some(common) = found
        .iter()
        .skip(1)
        .fold(found.first().cloned(), |common, dir| {
            let common = common?;
            common
                .ancestors()
                .find(|a| dir.starts_with(a))
                .map(Path::to_path_buf)
        })
    else {
        return Ok(None);
    };
    let Ok(relative) = common.strip_prefix(root) else {
        return Ok(None);
    };
    let Some(relative) = relative.to_str() else {
        return Err(Error::usage(format!(
            "the tests beside the code are in {:?}, whose name is not UTF-8, so no config or workflow can name it",
            relative.as_os_str()
        ))
        .with_help("rename the folder to a UTF-8 name, then run the command again"));
    };
    let relative = relative.replace('\\', "/");
    Ok((!relative.is_empty()).then(|| TestsDir {
        paths: vec![format!("{relative}/")],
        source: format!("test files beside the code ({})", patterns.join(", ")),
    }))
}

/// Folders under `dir` holding files that match pytest's `python_files`; no symlink followed.
fn collect_test_dirs(dir: &Path, patterns: &[String], depth: u32, found: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut has_tests = false;
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name().to_string_lossy().into_owned();
        if kind.is_dir() && depth > 0 && !is_skipped(&name) {
            collect_test_dirs(&entry.path(), patterns, depth - 1, found);
        } else if kind.is_file()
            && name.ends_with(".py")
            && patterns.iter().any(|p| pytest::glob_match(p, &name))
        {
            has_tests = true;
        }
    }
    if has_tests {
        found.push(dir.to_path_buf());
    }
}

/// The tests folder, when every testpath sits inside it and so leaves part of it out.
fn tests_folder_beyond(root: &Path, pytest: &PytestConfig) -> Option<String> {
    let paths = &pytest.options.testpaths;
    let folder = ["tests", "test"]
        .into_iter()
        .find(|dir| fs::symlink_metadata(root.join(dir)).is_ok_and(|m| m.is_dir()))?;
    let inside = |p: &String| {
        let p = p.trim_start_matches("./").trim_end_matches('/');
        p.strip_prefix(folder)
            .is_some_and(|rest| rest.starts_with('/') && rest.len() > 1)
    };
    (!paths.is_empty() && paths.iter().all(inside)).then(|| format!("{folder}/"))
}

/// Whether `dir` holds Python files, directly or in sub-folders (namespace packages have no
/// `__init__.py`).
fn has_python_files(dir: &Path, depth: u32) -> bool {
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let name = entry.file_name().to_string_lossy().into_owned();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => {
                depth > 0 && !is_skipped(&name) && has_python_files(&entry.path(), depth - 1)
            }
            Ok(kind) if kind.is_file() => name.ends_with(".py"),
            _ => false,
        }
    })
}

/// `.github/workflows/*.yml`, as text: what the project's own CI installs names its framework.
fn workflow_texts(root: &Path) -> Vec<(String, String)> {
    let Ok(entries) = fs::read_dir(root.join(".github/workflows")) else {
        return Vec::new();
    };
    let mut texts: Vec<(String, String)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let file = format!(".github/workflows/{name}");
            (name.ends_with(".yml") || name.ends_with(".yaml"))
                .then(|| read_regular(root, &file).map(|text| (file, text)))
                .flatten()
        })
        .collect();
    // A GPU workflow says most about what the GPU tests need: read those first.
    texts.sort_by_cached_key(|(name, text)| {
        let gpu = |t: &str| t.contains("gpu") || t.contains("cuda");
        (
            !(gpu(name) || gpu(&text.to_ascii_lowercase())),
            name.clone(),
        )
    });
    texts
}

/// The framework a file's name names (`requirements-jax-cuda.txt`).
fn named_by_file(file: &str) -> Option<Framework> {
    let name = file.rsplit('/').next().unwrap_or(file).to_ascii_lowercase();
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .find_map(Framework::from_word)
}

/// The framework a GPU job uses: a backend variable it sets (`KERAS_BACKEND=jax`), else an
/// extra of the project's it installs that is named for one (`--extra torch-cu13`), else the
/// first framework its installs or requirements files name; with the line.
fn ci_framework(root: &Path, job: &own_ci::CiJob) -> Option<(Framework, String)> {
    for (name, found) in &job.recipe.env {
        if name.to_ascii_uppercase().contains("BACKEND")
            && let Some(framework) = Framework::from_word(&found.value.to_ascii_lowercase())
        {
            return Some((framework, found.at.clone()));
        }
    }
    for found in &job.extras {
        if let Some(framework) = named_by_file(&found.value) {
            return Some((framework, found.at.clone()));
        }
    }
    for found in &job.recipe.packages {
        let names = requirements::package_names(&found.value);
        if let Some(framework) = names.iter().find_map(|n| Framework::of_package(n)) {
            return Some((framework, found.at.clone()));
        }
    }
    for found in &job.requirements {
        let names: Vec<String> = requirements::with_includes(root, &found.value)
            .iter()
            .filter_map(|file| read_regular(root, file))
            .flat_map(|text| requirements::package_names(&text))
            .collect();
        let by_name = named_by_file(&found.value)
            .filter(|f| names.iter().any(|n| Framework::of_package(n) == Some(*f)));
        if let Some(framework) =
            by_name.or_else(|| names.iter().find_map(|n| Framework::of_package(n)))
        {
            return Some((framework, found.at.clone()));
        }
    }
    None
}

/// Distributions a workflow installs with pip, uv or conda (`pip install torch torchvision`).
fn workflow_installs(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in text.lines() {
        let Some(at) = line.find(" install ") else {
            continue;
        };
        let before = &line[..at];
        if !(before.ends_with("pip")
            || before.ends_with("uv pip")
            || before.ends_with("conda")
            || before.ends_with("mamba"))
        {
            continue;
        }
        for word in line[at + 9..].split_whitespace() {
            let word = word.trim_matches(['"', '\'', '\\']);
            if word.starts_with('-') || word.contains("://") || word.contains('$') {
                continue;
            }
            names.extend(requirements::package_names(word));
        }
    }
    names
}

/// Why the project has compiled parts: an extension module in setup.py, or a build backend
/// that compiles (scikit-build, meson, maturin, setuptools-rust).
fn compiled_parts(pyproject: Option<&PyProject>, setup_py: Option<&str>) -> Option<Compiled> {
    let backend = pyproject
        .and_then(|p| p.build_backend.as_deref())
        .unwrap_or("");
    for native in ["scikit_build", "mesonpy", "maturin", "setuptools_rust"] {
        if backend.contains(native) {
            return Some(Compiled::Backend(backend.to_string()));
        }
    }
    if let Some(text) = setup_py {
        for marker in [
            "CUDAExtension",
            "CppExtension",
            "Pybind11Extension",
            "cythonize",
            "ext_modules=[Extension",
            "Extension(",
        ] {
            if text.contains(marker) {
                return Some(Compiled::Extension(marker.trim_end_matches('(')));
            }
        }
    }
    // A CMakeLists.txt alone says little (warp's drives a separate build script): not counted.
    None
}

/// `python_requires=">=3.10"` in setup.py's text.
fn setup_py_python_requires(text: &str) -> Option<String> {
    let at = text.find("python_requires")?;
    let rest = text[at + "python_requires".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let rest = &rest[1..];
    rest.find(quote).map(|end| rest[..end].to_string())
}

/// `3.11.7` → `3.11`.
fn major_minor(version: &str) -> Option<String> {
    let mut parts = version.trim().split('.');
    let major: u32 = parts.next()?.parse().ok()?;
    let minor: u32 = parts
        .next()?
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()?;
    (major == 3).then(|| format!("3.{minor}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_inside_the_root_are_read() {
        use std::os::unix::fs::symlink;
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret"), "3.11\n").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir(root.join("real")).unwrap();
        fs::write(root.join("real/conftest.py"), "x").unwrap();
        fs::write(root.join("plain.txt"), "plain").unwrap();
        symlink(outside.path().join("secret"), root.join(".python-version")).unwrap();
        symlink("plain.txt", root.join("inside-link.txt")).unwrap();
        symlink("real", root.join("tests")).unwrap();
        symlink(outside.path(), root.join("out")).unwrap();
        assert_eq!(read_regular(root, "plain.txt").as_deref(), Some("plain"));
        assert_eq!(
            read_regular(root, "./real//conftest.py").as_deref(),
            Some("x")
        );
        for refused in [
            ".python-version",
            "inside-link.txt",
            "tests/conftest.py",
            "out/secret",
            "../secret",
            "real/../plain.txt",
            "/etc/hostname",
            "real",
            "",
        ] {
            assert_eq!(read_regular(root, refused), None, "{refused}");
        }
    }

    #[test]
    fn major_minor_trims_patch() {
        assert_eq!(major_minor("3.11.7").as_deref(), Some("3.11"));
        assert_eq!(major_minor("pypy3.10"), None);
    }
}
