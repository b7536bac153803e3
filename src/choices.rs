//! Settling each setting: a flag, else the config, else detection, else a question.

use std::path::Path;

use crate::cli::ChoiceArgs;
use crate::config::{self, ConfigFile, RawConfig};
use crate::detect::{InstallSource, Project};
use crate::error::{Error, Result};
use crate::gpu;
use crate::render::LOCK;
use crate::settings::Settings;
use crate::ui::{note, warning};

/// A project read, and its settings settled: where every command starts.
pub struct Loaded {
    pub project: Project,
    pub config: ConfigFile,
    pub settings: Settings,
}

/// What a command does in a project where `gpu-ci init` has not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotSetUp {
    /// Go on silently (`init` itself).
    Proceed,
    /// Go on from detection, saying so (`run`).
    ProceedWithNote,
    /// Stop, pointing to `init` (`update`, `pin`).
    Refuse,
}

/// `load` for a command that changes an initialised project and never asks (`update`, `pin`).
pub fn load_set_up(root: &Path) -> Result<Loaded> {
    load(
        root,
        &ChoiceArgs::default(),
        &Prompter::DEFAULTS,
        NotSetUp::Refuse,
    )
}

/// Reads the project and its config, then settles every setting: flags, config, detection, `ask`.
pub fn load(
    root: &Path,
    flags: &ChoiceArgs,
    ask: &Prompter,
    not_set_up: NotSetUp,
) -> Result<Loaded> {
    let project = Project::detect(root)?;
    let config = ConfigFile::open(root)?;
    let existing = config.read()?;
    if !config.is_initialised() && !root.join(LOCK).is_file() {
        match not_set_up {
            NotSetUp::Proceed => {}
            NotSetUp::ProceedWithNote => note(
                "no gpu-ci settings here; using what detection finds (`gpu-ci init` keeps them)",
            ),
            NotSetUp::Refuse => {
                return Err(Error::usage(
                    "gpu-ci is not set up here: no gpu-ci settings and no lock",
                )
                .with_help("run `gpu-ci init` first"));
            }
        }
    }
    let raw = choose(flags, &existing, &project, ask)?;
    let settings = Settings::from_raw(&raw, &project)?;
    Ok(Loaded {
        project,
        config,
        settings,
    })
}

/// Asks questions, or answers them with defaults when nobody is there to ask.
pub struct Prompter {
    pub interactive: bool,
}

impl Prompter {
    /// Takes every default: for commands that never ask.
    pub const DEFAULTS: Prompter = Prompter { interactive: false };
}

fn prompt_error(err: dialoguer::Error) -> Error {
    let dialoguer::Error::IO(io) = err;
    // A Ctrl-C can leave the cursor hidden by a selection prompt.
    let _ = dialoguer::console::Term::stderr().show_cursor();
    if io.kind() == std::io::ErrorKind::Interrupted {
        // End the prompt's line, so the shell's prompt starts on a fresh one.
        eprintln!();
        Error::interrupted()
    } else {
        Error::usage(format!("cannot read the answer: {io}"))
    }
}

impl Prompter {
    fn text(&self, question: &str, default: &str) -> Result<String> {
        if !self.interactive {
            return Ok(default.to_string());
        }
        dialoguer::Input::<String>::new()
            .with_prompt(question)
            .default(default.to_string())
            .interact_text()
            .map_err(prompt_error)
    }

    fn select(&self, question: &str, items: &[String]) -> Result<usize> {
        if !self.interactive {
            return Ok(0);
        }
        dialoguer::Select::new()
            .with_prompt(question)
            .items(items)
            .default(0)
            .interact()
            .map_err(prompt_error)
    }
}

/// Flags over the existing config over detection; asks only what none of them settles.
fn choose(
    args: &ChoiceArgs,
    existing: &RawConfig,
    project: &Project,
    ask: &Prompter,
) -> Result<RawConfig> {
    let mut raw = existing.clone();

    raw.gpu = match args.gpu.clone().or(raw.gpu) {
        Some(gpu) => Some(gpu),
        None => {
            let question = format!("GPU to test on ({})", gpu::valid_names());
            let answer = ask.text(&question, config::DEFAULT_GPU)?;
            config::parse_gpu(&answer)?;
            Some(answer)
        }
    };

    raw.python = match args.python.clone().or(raw.python) {
        Some(python) => Some(python),
        None => match project.python_version() {
            Some((version, source)) => {
                note(&format!(
                    "testing on Python {version}, from {source}; change it with --python"
                ));
                Some(version)
            }
            None => {
                let answer = ask.text("Python version to test on", config::DEFAULT_PYTHON)?;
                note(&format!(
                    "no Python version found in the project; using {answer}, change it with --python"
                ));
                Some(answer)
            }
        },
    };

    raw.test_path = match args.test_path.clone().or(raw.test_path) {
        Some(path) => Some(path),
        None => match &project.tests {
            Some(tests) => {
                note(&format!(
                    "running the tests in `{}`, found by {}; change it with --test-path",
                    tests.path, tests.source
                ));
                Some(tests.path.clone())
            }
            None => Some(ask.text("Tests to run", config::DEFAULT_TEST_PATH)?),
        },
    };
    if let Some(path) = &raw.test_path {
        let first = path.split_whitespace().next().unwrap_or(path);
        if !project.root.join(first).exists() {
            warning(&format!(
                "the tests folder `{first}` does not exist; keeping it, change it with --test-path"
            ));
        }
    }

    raw.pytest_args = args.pytest_args.clone().or(raw.pytest_args);
    raw.label = args.label.clone().or(raw.label);
    if args.fork_prs {
        raw.fork_prs = Some(true);
    }

    let flagged = args.group.is_some() || args.extra.is_some() || args.requirements.is_some();
    let configured = raw.group.is_some() || raw.extra.is_some() || raw.requirements.is_some();
    if flagged {
        raw.group = args.group.clone();
        raw.extra = args.extra.clone();
        raw.requirements = args.requirements.clone();
    } else if !configured {
        let candidates = project.install_candidates();
        let index = if candidates.len() > 1 {
            let items: Vec<String> = candidates.iter().map(InstallSource::describe).collect();
            ask.select("Install the test dependencies from", &items)?
        } else {
            0
        };
        let picked = &candidates[index];
        note(&format!(
            "installing test dependencies from {}; change it with --group, --extra or --requirements",
            picked.describe()
        ));
        match picked {
            InstallSource::Group(name) | InstallSource::PoetryGroup(name) => {
                raw.group = Some(name.clone())
            }
            InstallSource::Extra(name) => raw.extra = Some(name.clone()),
            InstallSource::Requirements(path) => raw.requirements = Some(path.clone()),
            InstallSource::ProjectOnly => {}
        }
    }
    Ok(raw)
}
