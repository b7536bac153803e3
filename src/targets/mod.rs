//! The targets: each renders the test plan into its own files from its own templates. A new
//! CI system is one more module here and one more folder under `templates/`.

pub mod bitbucket;
pub mod github;
pub mod gitlab;
pub mod gitlab_include;
pub mod modal;
pub mod shared;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::generate::lock::Contexts;
use crate::generate::{Rendered, engine, stamp};
use crate::plan::TestPlan;
use crate::plan::ci::CiSystem;

/// One file a target generates, relative to the project root, and its template's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeneratedFile {
    pub path: &'static str,
    pub template: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// GitHub Actions workflows.
    Github,
    /// GitLab CI/CD: `.gitlab/gpu-ci.yml`, included from `.gitlab-ci.yml`.
    Gitlab,
    /// Bitbucket Pipelines: `bitbucket-pipelines.yml`.
    Bitbucket,
    /// The Modal test runner every CI target calls.
    Modal,
}

impl Target {
    pub const ALL: [Target; 4] = [
        Target::Github,
        Target::Gitlab,
        Target::Bitbucket,
        Target::Modal,
    ];

    /// The key of this target's context in the lock.
    pub fn id(self) -> &'static str {
        match self {
            Target::Github => "github",
            Target::Gitlab => "gitlab",
            Target::Bitbucket => "bitbucket",
            Target::Modal => "modal",
        }
    }

    pub fn files(self) -> &'static [GeneratedFile] {
        match self {
            Target::Github => &github::FILES,
            Target::Gitlab => &gitlab::FILES,
            Target::Bitbucket => &bitbucket::FILES,
            Target::Modal => &modal::FILES,
        }
    }

    fn context(self, plan: &TestPlan) -> serde_json::Value {
        match self {
            Target::Github => to_json(github::context(plan)),
            Target::Gitlab => to_json(gitlab::context(plan)),
            Target::Bitbucket => to_json(bitbucket::context(plan)),
            Target::Modal => to_json(modal::context(plan)),
        }
    }

    /// The target that writes `system`'s files.
    pub fn of(system: CiSystem) -> Target {
        match system {
            CiSystem::Github => Target::Github,
            CiSystem::Gitlab => Target::Gitlab,
            CiSystem::Bitbucket => Target::Bitbucket,
        }
    }

    /// The targets `plan` renders: the CI systems it names, and the Modal runner, always.
    pub fn chosen(plan: &TestPlan) -> Vec<Target> {
        Target::ALL
            .into_iter()
            .filter(|target| match target {
                Target::Modal => true,
                other => plan.ci.value.iter().any(|ci| Target::of(*ci) == *other),
            })
            .collect()
    }
}

fn to_json(context: impl Serialize) -> serde_json::Value {
    serde_json::to_value(context).expect("a template context serialises")
}

/// The settings of a test run that every target's context carries (flattened into it, so the
/// templates and the lock see plain fields).
#[derive(Debug, Serialize)]
pub struct RunSettings {
    /// The form `MODAL_GPU` takes: `H100:2,A100-80GB`.
    gpu_setting: String,
    /// The form people read: `H100:2, A100-80GB`, or `T4; H100` for a matrix.
    gpu_display: String,
    /// The configured shards per GPU.
    shards: u32,
    python: String,
    test_path: String,
    pytest_args: String,
    /// The tree under test is checked out with its git submodules, recursively.
    submodules: bool,
    /// `cache`: the CI job tells the runner whether the run may write the cache volume.
    cache: bool,
}

impl RunSettings {
    pub fn new(plan: &TestPlan) -> RunSettings {
        RunSettings {
            gpu_setting: plan.gpu.value.env_value(),
            gpu_display: plan.gpu.value.to_string(),
            shards: plan.shards.value,
            python: plan.python.value.to_string(),
            test_path: plan.test_path.value.clone(),
            pytest_args: plan.pytest_args.value.clone(),
            submodules: plan.recipe.submodules.value,
            cache: plan.cache.value.enabled,
        }
    }
}

/// The header every generated file includes.
pub const HEADER_TEMPLATE: &str = "header.j2";

/// Templates other templates include: the header, and what the GitLab and Bitbucket targets
/// share: the GPU job's shell steps, and the API client and record reading of the scripts that
/// post the results.
pub const SHARED_TEMPLATES: [&str; 3] = [
    HEADER_TEMPLATE,
    "shared/ci_steps.j2",
    "shared/results_api.py.j2",
];

/// What every generated file's header names.
#[derive(Debug, Serialize)]
pub struct Header {
    version: &'static str,
    config_section: String,
}

impl Header {
    pub fn new(plan: &TestPlan) -> Header {
        Header {
            version: env!("CARGO_PKG_VERSION"),
            config_section: plan.config_section.clone(),
        }
    }
}

/// Every file gpu-ci can generate, for any target, in the order they are written and reported.
pub fn generated_files() -> impl Iterator<Item = GeneratedFile> {
    Target::ALL
        .into_iter()
        .flat_map(|t| t.files().iter().copied())
}

/// The files `plan` generates: its targets' only.
pub fn files_of(plan: &TestPlan) -> Vec<GeneratedFile> {
    Target::chosen(plan)
        .into_iter()
        .flat_map(|t| t.files().iter().copied())
        .collect()
}

/// The context of each target `plan` renders.
pub fn contexts(plan: &TestPlan) -> Contexts {
    Target::chosen(plan)
        .into_iter()
        .map(|target| (target.id().to_string(), target.context(plan)))
        .collect()
}

/// Renders the files of every target that has a context (the Modal runner must), stamping each
/// with its hash and checking that every YAML file parses.
pub fn render(contexts: &Contexts) -> Result<Vec<Rendered>> {
    let env = engine::environment();
    let mut rendered = Vec::new();
    if !contexts.contains_key(Target::Modal.id()) {
        return Err(Error::internal("no template context for the Modal runner"));
    }
    if let Some(unknown) = contexts
        .keys()
        .find(|id| !Target::ALL.iter().any(|t| t.id() == id.as_str()))
    {
        return Err(Error::internal(format!("no target `{unknown}`")));
    }
    for target in Target::ALL {
        let Some(context) = contexts.get(target.id()) else {
            continue;
        };
        for file in target.files() {
            let contents = engine::render(&env, file.template, context)?;
            if file.path.ends_with(".yml") {
                serde_saphyr::from_str::<serde_json::Value>(&contents).map_err(|err| {
                    Error::internal(format!("`{}` is not valid YAML: {err}", file.path))
                })?;
            }
            rendered.push(Rendered {
                path: file.path,
                contents: stamp::stamp(contents),
            });
        }
    }
    Ok(rendered)
}

/// The one file at `path`, rendered for `plan`.
pub fn render_one(plan: &TestPlan, path: &str) -> Result<String> {
    render(&contexts(plan))?
        .into_iter()
        .find(|file| file.path == path)
        .map(|file| file.contents)
        .ok_or_else(|| Error::internal(format!("no target generates `{path}`")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_belongs_to_a_target_or_is_shared() {
        let mut used: Vec<String> = generated_files().map(|f| f.template.to_string()).collect();
        used.extend(SHARED_TEMPLATES.iter().map(|t| t.to_string()));
        used.sort();
        assert_eq!(used, engine::template_ids());
    }
}
