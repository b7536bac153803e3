//! `gpu-ci github setup`: what GitHub needs before the first GPU run, through its REST API:
//! the label, the `MODAL_TOKEN_ID`/`MODAL_TOKEN_SECRET` secrets (sealed with the repository's
//! key), and optionally the `MODAL_GPU`/`MODAL_ENVIRONMENT` variables and an environment.
//!
//! It reads GitHub first and decides every step before it changes anything, so `--dry-run`
//! shows exactly what a run would do, and a second run finds nothing to do.

use std::path::Path;

use crate::cli::GithubSetupArgs;
use crate::error::{Error, ExitStatus, Result};
use crate::github::GitHub;
use crate::github::repo::Repo;
use crate::modal_local::{ModalSettings, Origin, Setting};
use crate::plan::build::{Setup, load_set_up};
use crate::plan::values::{check_text, parse_gpu};
use crate::secrets::{Secret, seal};

/// The label's colour and description when gpu-ci creates it.
pub const LABEL_COLOR: &str = "1d76db";
pub const LABEL_DESCRIPTION: &str = "Run the GPU tests on Modal (gpu-ci)";

/// The secrets the workflows read.
pub const SECRETS: [&str; 2] = ["MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET"];

/// One thing setup does, or found already done.
enum Step {
    CreateLabel(String),
    SetSecret {
        name: &'static str,
        value: Secret,
        from: Origin,
        replace: bool,
    },
    SetVariable {
        name: &'static str,
        value: String,
        exists: bool,
    },
    CreateEnvironment(String),
    /// Nothing to do; the line says what was found.
    Done(String),
}

impl Step {
    /// The report line: `created label …`, or `would create label …` in a dry run.
    fn line(&self, dry_run: bool) -> String {
        let (verb, would, what) = match self {
            Step::CreateLabel(label) => (
                "created",
                "create",
                format!("label `{label}` (colour #{LABEL_COLOR})"),
            ),
            Step::SetSecret {
                name,
                from,
                replace,
                ..
            } => (
                if *replace { "replaced" } else { "set" },
                if *replace { "replace" } else { "set" },
                format!("secret {name} from {from}"),
            ),
            Step::SetVariable {
                name,
                value,
                exists,
            } => (
                if *exists { "updated" } else { "set" },
                if *exists { "update" } else { "set" },
                format!("variable {name} = {value:?}"),
            ),
            Step::CreateEnvironment(name) => ("created", "create", format!("environment `{name}`")),
            Step::Done(what) => return format!("{:>9} {what}", "ok"),
        };
        if dry_run {
            format!("would {would} {what}")
        } else {
            format!("{verb:>9} {what}")
        }
    }
}

/// A value for a variable: the flag, else what Modal's settings say (`from`), else none.
fn variable_value(flag: Option<&str>, from: Option<&Setting<String>>) -> Option<String> {
    flag.map(str::to_string)
        .or_else(|| from.map(|s| s.value.clone()))
        .filter(|v| !v.trim().is_empty())
}

pub fn run(args: &GithubSetupArgs, root: &Path) -> Result<ExitStatus> {
    let Setup { plan, .. } = load_set_up(root)?;
    let repo = match &args.repo {
        Some(text) => Repo::parse(text)?,
        None => Repo::from_git(root)?,
    };
    let github = GitHub::from_env()?;
    if !github.has_token() {
        return Err(Error::usage("`gpu-ci github setup` needs a GitHub token").with_help(
            "set GITHUB_TOKEN or GH_TOKEN to a token that may administer the repository, as `GH_TOKEN=$(gh auth token) gpu-ci github setup`",
        ));
    }
    let modal = ModalSettings::read()?;
    let gpu = match &args.gpu {
        Some(text) => Some(parse_gpu(text)?.env_value()),
        None => None,
    };
    let modal_environment = variable_value(
        args.modal_environment.as_deref(),
        modal.environment.as_ref(),
    );
    if let Some(name) = &modal_environment {
        check_text("MODAL_ENVIRONMENT", name)?;
    }
    if let Some(name) = &args.environment {
        check_text("--environment", name)?;
    }

    // Read GitHub, decide every step; nothing is changed yet.
    let mut steps = Vec::new();
    let label = &plan.label.value;
    if github.has_label(&repo, label)? {
        steps.push(Step::Done(format!("label `{label}` exists")));
    } else {
        steps.push(Step::CreateLabel(label.clone()));
    }
    let existing = github.secret_names(&repo)?;
    let mut missing = Vec::new();
    for (name, local) in SECRETS
        .into_iter()
        .zip([&modal.token_id, &modal.token_secret])
    {
        let exists = existing.iter().any(|n| n == name);
        if exists && !args.replace_secrets {
            steps.push(Step::Done(format!(
                "secret {name} exists (--replace-secrets sets it again)"
            )));
            continue;
        }
        match local {
            Some(setting) => steps.push(Step::SetSecret {
                name,
                value: setting.value.clone(),
                from: setting.from.clone(),
                replace: exists,
            }),
            None => missing.push(name),
        }
    }
    if !missing.is_empty() {
        return Err(Error::usage(format!(
            "no value for the secret{} {}: not in the environment, nor in profile `{}` of {}",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(" and "),
            modal.profile,
            modal.file,
        ))
        .with_help(
            "run `modal token new` (or `modal profile activate NAME`), or set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET; nothing was changed",
        ));
    }
    for (name, wanted) in [("MODAL_GPU", gpu), ("MODAL_ENVIRONMENT", modal_environment)] {
        let Some(value) = wanted else { continue };
        match github.variable(&repo, name)? {
            Some(current) if current == value => {
                steps.push(Step::Done(format!("variable {name} = {value:?}")));
            }
            current => steps.push(Step::SetVariable {
                name,
                value,
                exists: current.is_some(),
            }),
        }
    }
    if let Some(name) = &args.environment {
        if github.has_environment(&repo, name)? {
            steps.push(Step::Done(format!("environment `{name}` exists")));
        } else {
            steps.push(Step::CreateEnvironment(name.clone()));
        }
    }

    let to_do = steps.iter().filter(|s| !matches!(s, Step::Done(_))).count();
    crate::ui::plain(&format!("GitHub repository {repo}:"));
    if args.dry_run {
        for step in &steps {
            crate::ui::plain(&step.line(true));
        }
        crate::ui::plain("dry run: nothing changed");
        return Ok(ExitStatus::Success);
    }
    // The key is read once, and only when a secret is to be set.
    let key = if steps.iter().any(|s| matches!(s, Step::SetSecret { .. })) {
        Some(github.secrets_public_key(&repo)?)
    } else {
        None
    };
    for step in &steps {
        match step {
            Step::CreateLabel(label) => {
                github.create_label(&repo, label, LABEL_COLOR, LABEL_DESCRIPTION)?;
            }
            Step::SetSecret { name, value, .. } => {
                let key = key.as_ref().expect("read above");
                github.put_secret(&repo, name, &seal(&key.key, value)?, key)?;
            }
            Step::SetVariable {
                name,
                value,
                exists,
            } => github.set_variable(&repo, name, value, *exists)?,
            Step::CreateEnvironment(name) => github.create_environment(&repo, name)?,
            Step::Done(_) => {}
        }
        crate::ui::plain(&step.line(false));
    }
    if to_do == 0 {
        crate::ui::plain("gpu-ci: GitHub was already set up; nothing changed");
    } else {
        crate::ui::plain(&format!(
            "gpu-ci: GitHub is set up; add the `{label}` label to a pull request to run its GPU tests"
        ));
    }
    if let Some(name) = &args.environment
        && steps
            .iter()
            .any(|s| matches!(s, Step::CreateEnvironment(_)))
    {
        crate::ui::note(&format!(
            "add required reviewers to environment `{name}` in the repository's Settings → Environments"
        ));
    }
    Ok(ExitStatus::Success)
}
