//! Validated settings: the config's raw values checked against the project and filled with defaults.

use std::collections::BTreeMap;

use crate::actions::{self, ActionPin, PINNED_ACTIONS};
use crate::config::{self, RawConfig, check_text};
use crate::detect::{Framework, InstallSource, Project};
use crate::error::{Error, Result};
use crate::gpu::GpuChoice;

#[derive(Debug, Clone)]
pub struct Settings {
    pub gpu: GpuChoice,
    pub python: String,
    pub test_path: String,
    pub pytest_args: String,
    pub label: String,
    pub install: InstallSource,
    pub fork_prs: bool,
    pub timeout: u32,
    pub base_image: Option<String>,
    /// Set only when the user overrides detection.
    pub framework_override: Option<Framework>,
    pub allow_no_tests: bool,
    pub branch: String,
    /// Pins from `[tool.gpu-ci.actions]`, by `owner/repo`; the embedded table fills the rest.
    pub actions: BTreeMap<String, ActionPin>,
}

/// Labels reach URLs and scripts; keep them to characters that need no escaping.
fn check_label(label: &str) -> Result<()> {
    let ok = !label.is_empty()
        && label.len() <= 50
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "label `{label}` may only hold letters, digits, spaces and `-_.:` (50 at most)"
        )))
    }
}

fn check_branch(branch: &str) -> Result<()> {
    let ok = !branch.is_empty()
        && branch
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "branch `{branch}` may only hold letters, digits and `-_./`"
        )))
    }
}

impl Settings {
    /// Checks every value; `raw` must already carry the choices (flags over config over detection).
    pub fn from_raw(raw: &RawConfig, project: &Project) -> Result<Settings> {
        let gpu = config::parse_gpu(raw.gpu.as_deref().unwrap_or(config::DEFAULT_GPU))?;
        let python = config::parse_python(raw.python.as_deref().unwrap_or(config::DEFAULT_PYTHON))?;
        let test_path = raw
            .test_path
            .clone()
            .unwrap_or_else(|| config::DEFAULT_TEST_PATH.into());
        let pytest_args = raw
            .pytest_args
            .clone()
            .unwrap_or_else(|| config::DEFAULT_PYTEST_ARGS.into());
        let label = raw
            .label
            .clone()
            .unwrap_or_else(|| config::DEFAULT_LABEL.into());
        let branch = raw
            .branch
            .clone()
            .unwrap_or_else(|| config::DEFAULT_BRANCH.into());
        check_text("test-path", &test_path)?;
        check_text("pytest-args", &pytest_args)?;
        if test_path.trim().is_empty() {
            return Err(Error::usage("`test-path` may not be empty"));
        }
        check_label(&label)?;
        check_branch(&branch)?;
        if let Some(image) = &raw.base_image {
            check_text("base-image", image)?;
        }
        let chosen = [&raw.group, &raw.extra, &raw.requirements]
            .iter()
            .filter(|v| v.is_some())
            .count();
        if chosen > 1 {
            return Err(Error::usage(
                "choose one install source: `group`, `extra` or `requirements`, not several",
            ));
        }
        let install = project
            .resolve_install(
                raw.group.as_deref(),
                raw.extra.as_deref(),
                raw.requirements.as_deref(),
            )?
            .unwrap_or(InstallSource::ProjectOnly);
        let framework_override = raw
            .framework
            .as_deref()
            .map(config::parse_framework)
            .transpose()?;
        let mut pins = BTreeMap::new();
        for (repo, text) in &raw.actions {
            if actions::known(repo).is_none() {
                let names: Vec<&str> = PINNED_ACTIONS.iter().map(|a| a.repo).collect();
                return Err(Error::usage(format!(
                    "`actions.\"{repo}\"`: the generated workflows use no action `{repo}`"
                ))
                .with_help(format!("they use {}", names.join(", "))));
            }
            let pin = ActionPin::parse(text).ok_or_else(|| {
                Error::usage(format!(
                    "`actions.\"{repo}\"` = `{text}` is not a pin: write \"<40-hex commit sha> # vX.Y.Z\""
                ))
                .with_help("`gpu-ci pin` resolves and writes them for you")
            })?;
            pins.insert(repo.clone(), pin);
        }
        Ok(Settings {
            actions: pins,
            gpu,
            python,
            test_path,
            pytest_args,
            label,
            install,
            fork_prs: raw.fork_prs.unwrap_or(false),
            timeout: raw.timeout.unwrap_or(config::DEFAULT_TIMEOUT),
            base_image: raw.base_image.clone(),
            framework_override,
            allow_no_tests: raw.allow_no_tests.unwrap_or(false),
            branch,
        })
    }

    /// The pin each generated workflow uses for `action`: the config's, else the embedded one.
    pub fn pin(&self, action: &actions::PinnedAction) -> ActionPin {
        self.actions
            .get(action.repo)
            .cloned()
            .unwrap_or_else(|| ActionPin::from(action))
    }

    pub fn framework(&self, project: &Project) -> Framework {
        self.framework_override.unwrap_or(project.framework)
    }

    /// What goes into the config file: every choice, optional keys only when not default.
    pub fn to_raw(&self) -> RawConfig {
        let (group, extra, requirements) = match &self.install {
            InstallSource::Group(name) | InstallSource::PoetryGroup(name) => {
                (Some(name.clone()), None, None)
            }
            InstallSource::Extra(name) => (None, Some(name.clone()), None),
            InstallSource::Requirements(path) => (None, None, Some(path.clone())),
            InstallSource::ProjectOnly => (None, None, None),
        };
        RawConfig {
            gpu: Some(self.gpu.to_string()),
            python: Some(self.python.clone()),
            test_path: Some(self.test_path.clone()),
            pytest_args: Some(self.pytest_args.clone()),
            label: Some(self.label.clone()),
            group,
            extra,
            requirements,
            fork_prs: self.fork_prs.then_some(true),
            timeout: (self.timeout != config::DEFAULT_TIMEOUT).then_some(self.timeout),
            base_image: self.base_image.clone(),
            framework: self.framework_override.map(|f| f.name().to_string()),
            allow_no_tests: self.allow_no_tests.then_some(true),
            branch: (self.branch != config::DEFAULT_BRANCH).then(|| self.branch.clone()),
            actions: self
                .actions
                .iter()
                .map(|(repo, pin)| (repo.clone(), pin.to_config()))
                .collect(),
        }
    }
}
