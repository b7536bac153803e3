//! The typed plan of what will run: every setting validated once, each with where it came from.
//!
//! `build` settles each value from flags, then the config, then detection, then a question,
//! then a default; the targets render this plan and nothing else.

pub mod budget;
pub mod build;
pub mod cache;
pub mod choices;
pub mod ci;
pub mod gpu;
pub mod install;
pub mod pep508;
pub mod python;
pub mod recipe;
pub mod values;

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::config::{self, RawConfig};
use crate::pins::{ActionPin, PINNED_ACTIONS, PinnedAction};
use crate::project::{Framework, InstallSource, Layout};
use ci::CiSystem;
use gpu::GpuMatrix;
use install::{InstallPlan, ProjectInstall};
use python::ImageBuilder;
use values::PythonVersion;

/// The recorded test durations that balance the shards (`gpu-ci durations` writes them; the
/// runner reads them from its own checkout): beside the lock, so that a project on GitLab or
/// Bitbucket gets no `.github/` folder.
pub const DURATIONS_FILE: &str = ".gpu-ci-durations.json";

/// Where gpu-ci 0.1 kept the durations: still read when `DURATIONS_FILE` is missing, and moved
/// by the next write (`update`, `init`, `pin`).
pub const LEGACY_DURATIONS_FILE: &str = ".github/gpu-ci-durations.json";

/// The durations file a run reads: `DURATIONS_FILE`, else `LEGACY_DURATIONS_FILE` when only that
/// one is there (a regular file, no link in its path).
pub fn durations_file(root: &std::path::Path) -> &'static str {
    if std::fs::symlink_metadata(root.join(DURATIONS_FILE)).is_err()
        && crate::project::regular_file(root, LEGACY_DURATIONS_FILE).is_some()
    {
        LEGACY_DURATIONS_FILE
    } else {
        DURATIONS_FILE
    }
}

/// The setting a note about the install source names, whichever of `group`, `extra`,
/// `requirements` (or `install = "project"`) holds it.
pub const INSTALL: &str = "install";

/// The setting a note about the project's own CI job names: the job the plan follows. Not
/// recorded (the lock changes only with what gpu-ci renders, so that `update --check` fails
/// only where a file would change): its notes come with the first init, or with `-v`; what the
/// job sets has notes of its own, each under its key.
pub const CI_JOB: &str = "ci-job";

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Source {
    /// A command-line flag, as `--gpu`.
    Flag { flag: String },
    /// An environment variable, as `MODAL_GPU` for `gpu-ci run`.
    Env { variable: String },
    /// A key of the config section.
    Config { key: String, file: String },
    /// Read from the project, as `.python-version`.
    Detected { from: String },
    /// Answered at a prompt.
    Prompt,
    /// Nothing said otherwise.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag { flag } => write!(f, "flag: {flag}"),
            Source::Env { variable } => write!(f, "environment: {variable}"),
            Source::Config { key, file } => write!(f, "config: `{key}` in {file}"),
            Source::Detected { from } => write!(f, "detected: {from}"),
            Source::Prompt => f.write_str("prompt"),
            Source::Default => f.write_str("default"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

impl<T> Sourced<T> {
    pub fn new(value: T, source: Source) -> Self {
        Sourced { value, source }
    }

    pub fn default(value: T) -> Self {
        Sourced::new(value, Source::Default)
    }
}

/// What a GPU run does, for every target to render.
#[derive(Debug, Clone)]
pub struct TestPlan {
    /// Project name, for the Modal app's name.
    pub project_name: String,
    /// Where the settings live, for the generated files' headers: `[tool.gpu-ci] in ...`.
    pub config_section: String,
    /// One GPU setting, or a matrix of them: the suite runs once per entry.
    pub gpu: Sourced<GpuMatrix>,
    /// The suite split into this many shards per GPU setting, each in a sandbox of its own.
    pub shards: Sourced<u32>,
    pub python: Sourced<PythonVersion>,
    /// The Modal image builder the workspace uses: it decides which Pythons exist.
    pub image_builder: Sourced<ImageBuilder>,
    pub test_path: Sourced<String>,
    pub pytest_args: Sourced<String>,
    pub label: Sourced<String>,
    pub branch: Sourced<String>,
    /// The GitHub environment of the GPU job; `None`: none.
    pub environment: Sourced<Option<String>>,
    pub fork_prs: Sourced<bool>,
    pub timeout: Sourced<u32>,
    /// `max-cost`: the budget of one run in USD; `None`: no budget.
    pub max_cost: Sourced<Option<f64>>,
    /// The run's deadline for the configured GPUs and shards: the lower of `timeout` and what
    /// `max-cost` buys (the runner sums again for a GPU given at start).
    pub deadline: budget::Deadline,
    /// `cache`: the download caches on a Modal Volume of this repository, and more folders.
    pub cache: Sourced<config::CacheSetting>,
    pub allow_no_tests: Sourced<bool>,
    /// `None`: the framework's default base image.
    pub base_image: Sourced<Option<String>>,
    pub framework: Sourced<Framework>,
    /// Where the test dependencies come from, as the maintainer chose or detection picked.
    pub install_source: Sourced<InstallSource>,
    /// How the image installs them, derived from the source and the project's files.
    pub install: InstallPlan,
    /// How the project itself is installed.
    pub install_project: Sourced<ProjectInstall>,
    /// Whether the chosen install brings the GPU framework (else the image adds its CUDA build).
    pub framework_declared: bool,
    /// What the project's build needs first (`[build-system] requires`, else setuptools).
    pub build_requires: Vec<String>,
    /// The project's build compiles CUDA code (a `CUDAExtension`): it needs nvcc and an arch list.
    pub builds_cuda: bool,
    /// Arch lists of the project's own that its build reads (`FLASH_ATTN_CUDA_ARCHS`), each
    /// with the value the configured GPUs need, written as its default writes them; set in
    /// the image build beside `TORCH_CUDA_ARCH_LIST` unless `env` sets them.
    pub arch_lists: Vec<(String, String)>,
    pub layout: Layout,
    /// The pin of every action the workflows use, by `owner/repo`.
    pub actions: BTreeMap<&'static str, Sourced<ActionPin>>,
    /// The CI systems to write files for, in gpu-ci's order; the Modal runner serves them all.
    pub ci: Sourced<Vec<CiSystem>>,
    /// What the image and the test run need beyond the project's metadata.
    pub recipe: recipe::Recipe,
}

/// `Some(list)` when it holds anything.
fn non_empty(list: Vec<String>) -> Option<Vec<String>> {
    (!list.is_empty()).then_some(list)
}

impl TestPlan {
    /// The compute capabilities of every configured GPU, lowest first, each once.
    pub fn capabilities(&self) -> Vec<(u32, u32)> {
        self.gpu.value.capabilities()
    }

    /// The pin the workflows use for `action`.
    pub fn pin(&self, action: &PinnedAction) -> &ActionPin {
        &self.actions[action.repo].value
    }

    /// Whether files for `system` are written.
    pub fn uses(&self, system: CiSystem) -> bool {
        self.ci.value.contains(&system)
    }

    /// Replaces every action pin, as `gpu-ci pin` resolved them.
    pub fn set_pins(&mut self, pins: BTreeMap<&'static str, ActionPin>) {
        for (repo, pin) in pins {
            let source = Source::Config {
                key: format!("actions.\"{repo}\""),
                file: self.config_section.clone(),
            };
            self.actions.insert(repo, Sourced::new(pin, source));
        }
    }

    /// What goes into the config file: every choice, optional keys only when not default.
    pub fn to_config(&self) -> RawConfig {
        let (group, extra, requirements) = match &self.install_source.value {
            InstallSource::Group(name) | InstallSource::PoetryGroup(name) => {
                (Some(name.clone()), None, None)
            }
            InstallSource::Extra(name) => (None, Some(name.clone()), None),
            InstallSource::Requirements(path) => (None, None, Some(path.clone())),
            InstallSource::ProjectOnly => (None, None, None),
        };
        let chosen =
            |source: &Source| matches!(source, Source::Flag { .. } | Source::Config { .. });
        RawConfig {
            gpu: (!self.gpu.value.is_matrix()).then(|| self.gpu.value.to_string()),
            gpu_list: self.gpu.value.is_matrix().then(|| self.gpu.value.entries()),
            shards: (self.shards.value != config::DEFAULT_SHARDS).then_some(self.shards.value),
            python: Some(self.python.value.to_string()),
            test_path: Some(self.test_path.value.clone()),
            pytest_args: Some(self.pytest_args.value.clone()),
            label: Some(self.label.value.clone()),
            group,
            extra,
            requirements,
            fork_prs: self.fork_prs.value.then_some(true),
            timeout: (self.timeout.value != config::DEFAULT_TIMEOUT).then_some(self.timeout.value),
            max_cost: self.max_cost.value,
            cache: self.cache.value.enabled.then(|| self.cache.value.clone()),
            base_image: self.base_image.value.clone(),
            framework: chosen(&self.framework.source).then(|| self.framework.value.name().into()),
            allow_no_tests: self.allow_no_tests.value.then_some(true),
            install_project: chosen(&self.install_project.source)
                .then(|| self.install_project.value.name().to_string()),
            image_builder: chosen(&self.image_builder.source)
                .then(|| self.image_builder.value.version.to_string()),
            branch: (self.branch.value != config::DEFAULT_BRANCH)
                .then(|| self.branch.value.clone()),
            environment: self.environment.value.clone(),
            actions: self
                .actions
                .iter()
                .filter(|(_, pin)| pin.source != Source::Default)
                .map(|(repo, pin)| (repo.to_string(), pin.value.to_config()))
                .collect(),
            // No key means GitHub alone, as before the key existed.
            ci: (self.ci.value != [CiSystem::Github] || chosen(&self.ci.source))
                .then(|| ci::names(&self.ci.value)),
            packages: non_empty(
                self.recipe
                    .packages
                    .value
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
            ),
            index_url: self.recipe.index_url.value.clone(),
            extra_index_urls: non_empty(self.recipe.extra_index_urls.value.clone()),
            env: (!self.recipe.env.value.is_empty()).then(|| self.recipe.env.value.clone()),
            modal_secrets: non_empty(self.recipe.modal_secrets.value.clone()),
            setup: non_empty(self.recipe.setup.value.clone()),
            apt: non_empty(self.recipe.apt.value.clone()),
            // Detected from .gitmodules each time; written only when chosen.
            submodules: chosen(&self.recipe.submodules.source)
                .then_some(self.recipe.submodules.value),
            cuda: self.recipe.cuda.value.map(|cuda| cuda.version.to_string()),
        }
    }

    /// Every setting's value, by the name a note about it gives ([`build::Notice::setting`]):
    /// the lock records them, so that a later `init` shows only the notes of settings that are
    /// new or changed. The install source is one setting ([`INSTALL`]), whichever key holds it.
    pub fn settings(&self) -> BTreeMap<String, serde_json::Value> {
        self.describe()
            .into_iter()
            .map(|(key, value, _)| match key.as_str() {
                "group" | "extra" | "requirements" | "install" => {
                    (INSTALL.to_string(), serde_json::json!({ key: value }))
                }
                _ => (key, value),
            })
            .collect()
    }

    /// Every setting as `key`, its value as TOML would write it, and its source: for
    /// `gpu-ci config`. Every key of [`config::KEYS`] has a row (the install source's one of
    /// `group`, `extra`, `requirements`, or `install` when none); tests/integration/config.rs
    /// checks it.
    pub fn describe(&self) -> Vec<(String, serde_json::Value, &Source)> {
        use serde_json::{Value, json};
        let text = |s: &str| Value::String(s.to_string());
        let mut rows = vec![
            (
                "gpu".to_string(),
                if self.gpu.value.is_matrix() {
                    json!(self.gpu.value.entries())
                } else {
                    text(&self.gpu.value.to_string())
                },
                &self.gpu.source,
            ),
            (
                "shards".into(),
                json!(self.shards.value),
                &self.shards.source,
            ),
            (
                "python".into(),
                text(&self.python.value.to_string()),
                &self.python.source,
            ),
            (
                "image-builder".into(),
                text(self.image_builder.value.version),
                &self.image_builder.source,
            ),
            (
                "test-path".into(),
                text(&self.test_path.value),
                &self.test_path.source,
            ),
            (
                "pytest-args".into(),
                text(&self.pytest_args.value),
                &self.pytest_args.source,
            ),
            ("label".into(), text(&self.label.value), &self.label.source),
        ];
        let (key, value) = match &self.install_source.value {
            InstallSource::Group(name) | InstallSource::PoetryGroup(name) => ("group", text(name)),
            InstallSource::Extra(name) => ("extra", text(name)),
            InstallSource::Requirements(path) => ("requirements", text(path)),
            InstallSource::ProjectOnly => ("install", text("project")),
        };
        rows.push((key.into(), value, &self.install_source.source));
        rows.push((
            "install-project".into(),
            text(self.install_project.value.name()),
            &self.install_project.source,
        ));
        rows.extend([
            (
                "fork-prs".to_string(),
                json!(self.fork_prs.value),
                &self.fork_prs.source,
            ),
            (
                "timeout".into(),
                json!(self.timeout.value),
                &self.timeout.source,
            ),
            (
                "max-cost".into(),
                self.max_cost
                    .value
                    .map_or(Value::Null, |dollars| json!(dollars)),
                &self.max_cost.source,
            ),
            (
                "cache".into(),
                match (&self.cache.value.enabled, &self.cache.value.paths[..]) {
                    (true, [_, ..]) => json!(self.cache.value.paths),
                    (on, _) => json!(on),
                },
                &self.cache.source,
            ),
            (
                "allow-no-tests".into(),
                json!(self.allow_no_tests.value),
                &self.allow_no_tests.source,
            ),
            (
                "base-image".into(),
                // `null`: the framework's default image, which the Modal target picks.
                self.base_image.value.as_deref().map_or(Value::Null, text),
                &self.base_image.source,
            ),
            (
                "framework".into(),
                text(self.framework.value.name()),
                &self.framework.source,
            ),
            (
                "branch".into(),
                text(&self.branch.value),
                &self.branch.source,
            ),
            (
                "environment".into(),
                // `null`: the GPU job runs in no GitHub environment.
                self.environment.value.as_deref().map_or(Value::Null, text),
                &self.environment.source,
            ),
        ]);
        rows.push((
            "ci".into(),
            json!(ci::names(&self.ci.value)),
            &self.ci.source,
        ));
        let recipe = &self.recipe;
        let texts = |items: &[String]| json!(items);
        rows.extend([
            (
                "packages".to_string(),
                json!(
                    recipe
                        .packages
                        .value
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                ),
                &recipe.packages.source,
            ),
            (
                "index-url".into(),
                // `null`: PyPI.
                recipe.index_url.value.as_deref().map_or(Value::Null, text),
                &recipe.index_url.source,
            ),
            (
                "extra-index-urls".into(),
                texts(&recipe.extra_index_urls.value),
                &recipe.extra_index_urls.source,
            ),
            ("env".into(), json!(recipe.env.value), &recipe.env.source),
            (
                "modal-secrets".into(),
                texts(&recipe.modal_secrets.value),
                &recipe.modal_secrets.source,
            ),
            (
                "setup".into(),
                texts(&recipe.setup.value),
                &recipe.setup.source,
            ),
            ("apt".into(), texts(&recipe.apt.value), &recipe.apt.source),
            (
                "submodules".into(),
                json!(recipe.submodules.value),
                &recipe.submodules.source,
            ),
            (
                "cuda".into(),
                // `null`: no toolkit asked for (a build image gets the default CUDA).
                recipe.cuda.value.map_or(Value::Null, |c| text(c.version)),
                &recipe.cuda.source,
            ),
        ]);
        for action in PINNED_ACTIONS {
            let pin = &self.actions[action.repo];
            rows.push((
                format!("actions.\"{}\"", action.repo),
                text(&pin.value.to_config()),
                &pin.source,
            ));
        }
        rows
    }
}
