//! How the Modal image installs the test dependencies, derived from the chosen source and the
//! project's files.

use crate::project::{InstallSource, Project, requirements};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallPlan {
    /// `uv sync` from pyproject.toml, with these groups and extras; `locked` when a uv.lock
    /// pins the result.
    Uv {
        groups: Vec<String>,
        extras: Vec<String>,
        locked: bool,
    },
    /// `poetry install --no-root` with these groups, from pyproject.toml and poetry.lock.
    Poetry { groups: Vec<String>, locked: bool },
    /// `uv pip install -r` for each of `install`; `files` adds every file they include, all
    /// copied into the image.
    Requirements {
        install: Vec<String>,
        files: Vec<String>,
    },
    /// The dependencies live in setup.py or setup.cfg, which only the project's build can read:
    /// the image installs the project itself, with these extras, from a copy of the tree.
    Source { extras: Vec<String> },
    /// Only pytest: the project declares no dependencies gpu-ci can read.
    Nothing,
}

/// How the project itself is installed, so that its metadata, entry points, namespace packages
/// and compiled parts work as they do installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectInstall {
    /// Editable, without dependencies, from the mounted tree when the container starts: a
    /// source change still rebuilds nothing.
    AtStart,
    /// Built in an image layer after the dependencies, from a copy of the tree (compiled
    /// extensions, or dependencies only the build knows): a source change rebuilds that layer.
    InImage,
    /// Not installed: its folders are on the import path.
    No,
}

impl ProjectInstall {
    pub const NAMES: [&str; 3] = ["start", "image", "no"];

    pub fn name(self) -> &'static str {
        match self {
            ProjectInstall::AtStart => "start",
            ProjectInstall::InImage => "image",
            ProjectInstall::No => "no",
        }
    }

    pub fn from_name(name: &str) -> Option<ProjectInstall> {
        match name {
            "start" => Some(ProjectInstall::AtStart),
            "image" => Some(ProjectInstall::InImage),
            "no" => Some(ProjectInstall::No),
            _ => None,
        }
    }
}

impl InstallPlan {
    pub fn new(source: &InstallSource, project: &Project) -> InstallPlan {
        let has_root_requirements = project.requirements.iter().any(|r| r == "requirements.txt");
        let uv = |groups: Vec<String>, extras: Vec<String>| InstallPlan::Uv {
            groups,
            extras,
            locked: project.has_uv_lock,
        };
        let poetry = |groups: Vec<String>| InstallPlan::Poetry {
            groups,
            locked: project.has_poetry_lock,
        };
        match source {
            InstallSource::Extra(names) if project.dependencies_outside_pyproject() => {
                InstallPlan::Source {
                    extras: crate::project::extra_names(names),
                }
            }
            InstallSource::ProjectOnly if project.dependencies_outside_pyproject() => {
                InstallPlan::Source { extras: Vec::new() }
            }
            InstallSource::Group(name) => uv(vec![name.clone()], Vec::new()),
            InstallSource::Extra(names) => uv(Vec::new(), crate::project::extra_names(names)),
            InstallSource::PoetryGroup(name) => poetry(vec![name.clone()]),
            InstallSource::Requirements(path) => {
                let mut install = Vec::new();
                // The project's own dependencies first, when they live in requirements.txt.
                if path != "requirements.txt" && has_root_requirements {
                    install.push("requirements.txt".to_string());
                }
                install.push(path.clone());
                requirements_plan(project, install)
            }
            InstallSource::ProjectOnly if project.has_pep621() => uv(Vec::new(), Vec::new()),
            InstallSource::ProjectOnly if project.is_poetry() => poetry(Vec::new()),
            InstallSource::ProjectOnly if has_root_requirements => {
                requirements_plan(project, vec!["requirements.txt".into()])
            }
            InstallSource::ProjectOnly => InstallPlan::Nothing,
        }
    }
}

fn requirements_plan(project: &Project, install: Vec<String>) -> InstallPlan {
    let mut files: Vec<String> = Vec::new();
    for file in &install {
        for included in requirements::with_includes(&project.root, file) {
            if !files.contains(&included) {
                files.push(included);
            }
        }
    }
    InstallPlan::Requirements { install, files }
}
