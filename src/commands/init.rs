//! `gpu-ci init`: detect, ask what detection could not decide, render, write all-or-nothing.

use std::io::{IsTerminal, Write};
use std::path::Path;

use crate::cli::InitArgs;
use crate::config::{self, ConfigFile, RawConfig};
use crate::detect::{InstallSource, Project};
use crate::diff;
use crate::error::{Error, Result};
use crate::render;
use crate::settings::Settings;
use crate::write::{FileWrite, write_all};

/// Asks questions, or answers them with defaults when nobody is there to ask.
struct Prompter {
    interactive: bool,
}

fn prompt_error(err: dialoguer::Error) -> Error {
    let dialoguer::Error::IO(io) = err;
    // A Ctrl-C can leave the cursor hidden by a selection prompt.
    let _ = dialoguer::console::Term::stderr().show_cursor();
    if io.kind() == std::io::ErrorKind::Interrupted {
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

fn note(message: &str) {
    eprintln!("note: {message}");
}

fn warning(message: &str) {
    eprintln!("warning: {message}");
}

/// Flags over the existing config over detection; asks only what none of them settles.
fn choose(
    args: &InitArgs,
    existing: &RawConfig,
    project: &Project,
    ask: &Prompter,
) -> Result<RawConfig> {
    let mut raw = existing.clone();

    raw.gpu = match args.gpu.clone().or(raw.gpu) {
        Some(gpu) => Some(gpu),
        None => {
            let answer = ask.text(
                "GPU to test on (T4, L4, A10G, L40S, A100-40GB, A100-80GB, H100, H200, B200)",
                config::DEFAULT_GPU,
            )?;
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

pub fn run(args: &InitArgs, root: &Path) -> Result<()> {
    let project = Project::detect(root)?;
    let mut config = ConfigFile::open(root)?;
    let existing = config.read()?;
    let ask = Prompter {
        interactive: !args.yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
    };
    let raw = choose(args, &existing, &project, &ask)?;
    let settings = Settings::from_raw(&raw, &project)?;
    if !project.has_pep621()
        && project.pyproject.is_none()
        && project.requirements.is_empty()
        && project.has_setup_py
    {
        warning(
            "setup.py declares dependencies gpu-ci cannot read without running it; list them in a requirements file and pass --requirements",
        );
    }

    let rendered = render::render_all(&settings, &project, config.section_name())?;
    config.write(&settings.to_raw());
    let config_text = config.render();

    let mut changes: Vec<(String, Option<String>, String)> = Vec::new();
    let mut conflicts = Vec::new();
    for file in rendered {
        let target = root.join(file.path);
        let old = if target.exists() {
            Some(crate::detect::read_text(&target, file.path)?)
        } else {
            None
        };
        if old.as_deref() == Some(file.contents.as_str()) {
            continue;
        }
        if old.is_some() {
            conflicts.push(file.path);
        }
        changes.push((file.path.to_string(), old, file.contents));
    }
    if config.original.as_deref() != Some(config_text.as_str()) {
        changes.push((
            config.name.to_string(),
            config.original.clone(),
            config_text,
        ));
    }

    if !conflicts.is_empty() && !args.force {
        let names: Vec<String> = conflicts.iter().map(|p| format!("`{p}`")).collect();
        let subject = if names.len() == 1 {
            "a generated file already exists and differs"
        } else {
            "generated files already exist and differ"
        };
        return Err(Error::usage(format!(
            "{subject} from what init would write: {}",
            names.join(", ")
        ))
        .with_help("run `gpu-ci update` to upgrade them keeping your edits, or `gpu-ci init --force` to overwrite them"));
    }

    if changes.is_empty() {
        eprintln!("gpu-ci is already set up here; nothing to change");
        return Ok(());
    }

    if args.dry_run {
        let mut stdout = std::io::stdout().lock();
        for (path, old, new) in &changes {
            let verb = if old.is_some() { "change" } else { "create" };
            let _ = writeln!(stdout, "would {verb} {path}");
            let _ = write!(stdout, "{}", diff::unified(path, old.as_deref(), new));
        }
        eprintln!("dry run: nothing written");
        return Ok(());
    }

    let writes: Vec<FileWrite> = changes
        .iter()
        .map(|(path, _, contents)| FileWrite {
            path: path.clone(),
            contents: contents.clone(),
        })
        .collect();
    write_all(root, &writes)?;
    for (path, old, _) in &changes {
        let verb = if old.is_some() { "updated" } else { "created" };
        eprintln!("{verb:>8} {path}");
    }
    eprintln!(
        "\nnext steps:\n  1. add the repository secrets MODAL_TOKEN_ID and MODAL_TOKEN_SECRET (modal.com → Settings → API tokens)\n  2. create the `{}` label, and add it to a pull request to run its GPU tests\n  3. optionally set the repository variable MODAL_GPU to change the GPU without editing files",
        settings.label
    );
    Ok(())
}
