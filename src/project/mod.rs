//! Reading a Python project without running any of its code.

pub mod pyproject;
pub mod python;
pub mod requirements;

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoOp, Result};
pub use pyproject::PyProject;

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
}

impl PythonSource {
    /// The key or file, as the note names it.
    pub fn name(self) -> &'static str {
        match self {
            PythonSource::PythonVersionFile => ".python-version",
            PythonSource::RequiresPython => "requires-python",
            PythonSource::PoetryPython => "tool.poetry.dependencies.python",
        }
    }

    /// Where it is, as `gpu-ci config` shows it.
    pub fn location(self) -> String {
        match self {
            PythonSource::PythonVersionFile => ".python-version".into(),
            other => format!("`{}` in pyproject.toml", other.name()),
        }
    }
}

/// Where the tests folder came from, so the user can be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestsDir {
    pub path: String,
    pub source: &'static str,
}

/// Everything gpu-ci learns about a project by reading its files.
#[derive(Debug)]
pub struct Project {
    pub root: PathBuf,
    pub pyproject: Option<PyProject>,
    pub has_uv_lock: bool,
    pub has_poetry_lock: bool,
    pub has_setup_py: bool,
    /// `requirements*.txt` at the root and `*.txt` under `requirements/`, relative, sorted.
    pub requirements: Vec<String>,
    pub python_version_file: Option<String>,
    pub tests: Option<TestsDir>,
    pub layout: Layout,
    pub framework: Framework,
}

/// How the test environment's dependencies get installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallSource {
    /// A PEP 735 `[dependency-groups]` group.
    Group(String),
    /// A Poetry `[tool.poetry.group.<name>]` group.
    PoetryGroup(String),
    /// A `[project.optional-dependencies]` extra.
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

/// Group and extra names that mean "what the tests need", best first.
const TEST_NAMES: [&str; 4] = ["test", "tests", "testing", "dev"];

/// Reads a text file, or explains in one line why it cannot be used.
pub fn read_text(path: &Path, shown: &str) -> Result<String> {
    let bytes = fs::read(path).map_err(|err| Error::io(IoOp::Read, shown, err))?;
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

impl Project {
    pub fn detect(root: &Path) -> Result<Project> {
        if !root.is_dir() {
            return Err(
                Error::usage(format!("`{}` is not a directory", root.display()))
                    .with_help("pass a project folder with -C <DIR>"),
            );
        }
        let pyproject_path = root.join("pyproject.toml");
        let pyproject = if pyproject_path.is_file() {
            Some(PyProject::parse(&read_text(
                &pyproject_path,
                "pyproject.toml",
            )?)?)
        } else {
            None
        };
        let requirements = requirements::find_files(root);
        let python_version_file = fs::read_to_string(root.join(".python-version"))
            .ok()
            .and_then(|text| {
                text.lines()
                    .map(str::trim)
                    .find(|line| !line.is_empty() && !line.starts_with('#'))
                    .map(str::to_string)
            });

        let mut packages: Vec<String> = pyproject
            .as_ref()
            .map(|p| p.dependency_names.clone())
            .unwrap_or_default();
        for file in &requirements {
            if let Ok(text) = fs::read_to_string(root.join(file)) {
                packages.extend(requirements::package_names(&text));
            }
        }
        let framework = [
            Framework::Torch,
            Framework::Jax,
            Framework::Tensorflow,
            Framework::Cupy,
        ]
        .into_iter()
        .find(|wanted| {
            packages
                .iter()
                .any(|p| Framework::of_package(p) == Some(*wanted))
        })
        .unwrap_or(Framework::None);

        let tests = find_tests_dir(root, pyproject.as_ref());
        let layout = if has_python_package(&root.join("src")) {
            Layout::Src
        } else {
            Layout::Flat
        };

        Ok(Project {
            root: root.to_path_buf(),
            has_uv_lock: root.join("uv.lock").is_file(),
            has_poetry_lock: root.join("poetry.lock").is_file(),
            has_setup_py: root.join("setup.py").is_file(),
            pyproject,
            requirements,
            python_version_file,
            tests,
            layout,
            framework,
        })
    }

    /// The `3.N` minor `.python-version` names, if it names a CPython 3 version.
    pub fn python_version_file_minor(&self) -> Option<u32> {
        let version = self.python_version_file.as_deref().and_then(major_minor)?;
        version[2..].parse().ok()
    }

    /// The project's Python constraint, as written, and where it is written.
    pub fn python_constraint(&self) -> Option<(&str, PythonSource)> {
        let pyproject = self.pyproject.as_ref()?;
        if let Some(spec) = pyproject.requires_python.as_deref() {
            return Some((spec, PythonSource::RequiresPython));
        }
        pyproject
            .poetry_python
            .as_deref()
            .map(|spec| (spec, PythonSource::PoetryPython))
    }

    /// Every install source the project offers, the one a careful maintainer would pick first.
    pub fn install_candidates(&self) -> Vec<InstallSource> {
        let mut found = Vec::new();
        if let Some(py) = &self.pyproject {
            for name in TEST_NAMES {
                if py.dependency_groups.iter().any(|g| g == name) {
                    found.push(InstallSource::Group(name.into()));
                }
                if py.poetry_groups.iter().any(|g| g == name) {
                    found.push(InstallSource::PoetryGroup(name.into()));
                }
                if py.extras.iter().any(|e| e == name) {
                    found.push(InstallSource::Extra(name.into()));
                }
            }
        }
        let mut by_role: Vec<(requirements::Role, &String)> = self
            .requirements
            .iter()
            .map(|path| (requirements::role(path), path))
            .filter(|(role, _)| *role != requirements::Role::Other)
            .collect();
        by_role.sort();
        for (_, path) in by_role {
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
        if let Some(name) = extra {
            let extras = py.map_or(&empty, |p| &p.extras);
            if extras.iter().any(|e| e == name) {
                return Ok(Some(InstallSource::Extra(name.into())));
            }
            return Err(Error::usage(format!(
                "pyproject.toml has no optional dependencies `{name}`"
            ))
            .with_help(available("extras", &extras.iter().collect::<Vec<_>>())));
        }
        if let Some(path) = requirements {
            let path = path.trim_start_matches("./").to_string();
            if !self.root.join(&path).is_file() {
                return Err(
                    Error::usage(format!("requirements file `{path}` does not exist")).with_help(
                        available(
                            "requirements files",
                            &self.requirements.iter().collect::<Vec<_>>(),
                        ),
                    ),
                );
            }
            return Ok(Some(InstallSource::Requirements(path)));
        }
        Ok(None)
    }

    /// A `[project]` table that uv can sync from.
    pub fn has_pep621(&self) -> bool {
        self.pyproject.as_ref().is_some_and(|p| p.has_project_table)
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

fn find_tests_dir(root: &Path, pyproject: Option<&PyProject>) -> Option<TestsDir> {
    let configured = pyproject
        .map(|p| p.testpaths.clone())
        .filter(|paths| !paths.is_empty())
        .or_else(|| ini_testpaths(root));
    if let Some(first) = configured.and_then(|paths| paths.into_iter().next()) {
        return Some(TestsDir {
            path: first,
            source: "pytest's testpaths",
        });
    }
    ["tests", "test"]
        .into_iter()
        .find(|dir| root.join(dir).is_dir())
        .map(|dir| TestsDir {
            path: format!("{dir}/"),
            source: "the folder's name",
        })
}

/// `testpaths` from pytest.ini (`[pytest]`) or setup.cfg (`[tool:pytest]`).
fn ini_testpaths(root: &Path) -> Option<Vec<String>> {
    for (file, section) in [("pytest.ini", "[pytest]"), ("setup.cfg", "[tool:pytest]")] {
        let Ok(text) = fs::read_to_string(root.join(file)) else {
            continue;
        };
        let mut in_section = false;
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with('[') {
                in_section = trimmed == section;
            } else if in_section
                && let Some(value) = trimmed
                    .strip_prefix("testpaths")
                    .and_then(|rest| rest.trim_start().strip_prefix('='))
            {
                let paths: Vec<String> = value.split_whitespace().map(str::to_string).collect();
                if !paths.is_empty() {
                    return Some(paths);
                }
            }
        }
    }
    None
}

fn has_python_package(dir: &Path) -> bool {
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        (path.is_dir() && path.join("__init__.py").is_file())
            || path.extension().is_some_and(|ext| ext == "py")
    })
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
    fn major_minor_trims_patch() {
        assert_eq!(major_minor("3.11.7").as_deref(), Some("3.11"));
        assert_eq!(major_minor("pypy3.10"), None);
    }
}
