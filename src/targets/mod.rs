//! The targets: each renders the test plan into its own files from its own templates. A new
//! CI system is one more module here and one more folder under `templates/`.

pub mod github;
pub mod modal;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::generate::lock::Contexts;
use crate::generate::{Rendered, engine, stamp};
use crate::plan::TestPlan;

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
    /// The Modal test runner every CI target calls.
    Modal,
}

impl Target {
    pub const ALL: [Target; 2] = [Target::Github, Target::Modal];

    /// The key of this target's context in the lock.
    pub fn id(self) -> &'static str {
        match self {
            Target::Github => "github",
            Target::Modal => "modal",
        }
    }

    pub fn files(self) -> &'static [GeneratedFile] {
        match self {
            Target::Github => &github::FILES,
            Target::Modal => &modal::FILES,
        }
    }

    fn context(self, plan: &TestPlan) -> serde_json::Value {
        match self {
            Target::Github => to_json(github::context(plan)),
            Target::Modal => to_json(modal::context(plan)),
        }
    }
}

fn to_json(context: impl Serialize) -> serde_json::Value {
    serde_json::to_value(context).expect("a template context serialises")
}

/// The header every generated file includes.
pub const HEADER_TEMPLATE: &str = "header.j2";

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

/// Every file gpu-ci generates, in the order they are written and reported.
pub fn generated_files() -> impl Iterator<Item = GeneratedFile> {
    Target::ALL
        .into_iter()
        .flat_map(|t| t.files().iter().copied())
}

pub fn contexts(plan: &TestPlan) -> Contexts {
    Target::ALL
        .into_iter()
        .map(|target| (target.id().to_string(), target.context(plan)))
        .collect()
}

/// Renders every target's files from their contexts, stamping each with its hash and checking
/// that every YAML file parses.
pub fn render(contexts: &Contexts) -> Result<Vec<Rendered>> {
    let env = engine::environment();
    let mut rendered = Vec::new();
    for target in Target::ALL {
        let context = contexts.get(target.id()).ok_or_else(|| {
            Error::internal(format!(
                "no template context for the `{}` target",
                target.id()
            ))
        })?;
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
        used.push(HEADER_TEMPLATE.to_string());
        used.sort();
        assert_eq!(used, engine::template_ids());
    }
}
