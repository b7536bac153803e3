//! `gpu-ci init`: detect, ask what detection could not decide, render, write all-or-nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::path::Path;

use crate::cli::InitArgs;
use crate::commands::regenerate_files;
use crate::error::{Error, ExitStatus, Result};
use crate::generate::OnEdited;
use crate::generate::lock::{LOCK, Lock};
use crate::generate::stamp::recorded_hash;
use crate::generate::write::read_target;
use crate::plan::build::{Notice, Prompter, Setup, WhenNotSetUp, load};
use crate::plan::choices::Choices;
use crate::plan::ci::CiSystem;
use crate::plan::install::InstallPlan;
use crate::plan::{INSTALL, TestPlan};
use crate::preflight;
use crate::project::Project;
use crate::targets::{bitbucket, gitlab};
use crate::ui::{self, note, warning};

pub fn run(args: &InitArgs, root: &Path) -> Result<ExitStatus> {
    let ask = Prompter {
        interactive: !args.yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
    };
    let Setup {
        mut config,
        plan,
        mut notices,
        project,
    } = load(
        root,
        &Choices::from(&args.choices),
        &ask,
        WhenNotSetUp::Proceed,
    )?;
    // A lock that cannot be read counts as none: init then refuses rather than merges, and the
    // write names the problem.
    let set_up = Lock::read_text(root).ok().flatten().is_some();
    let changed = changed_settings(root, &plan);
    // The runner reads the tree under test as data and follows no symbolic link: a linked
    // pyproject.toml that the dependency layer needs would stop every image build.
    let reads_pyproject = matches!(
        plan.install,
        InstallPlan::Uv { .. } | InstallPlan::Poetry { .. }
    );
    if reads_pyproject
        && std::fs::symlink_metadata(root.join("pyproject.toml")).is_ok_and(|m| m.is_symlink())
    {
        warning(
            "pyproject.toml is a symbolic link; the Modal runner reads the tree under test as data and never follows one, so it will refuse to build the image",
        );
        ui::help("replace the link with the file it points to, then commit it");
    }
    if let InstallPlan::Uv { locked: false, .. } = plan.install {
        notices.push(Notice::Always {
            setting: Some(INSTALL),
            text: "no uv.lock: the image resolves the chosen extra or group for its own Python on Linux when it is built (`uv pip install`), so versions can move between builds; a committed uv.lock (`uv sync --frozen`) pins them, where `uv lock` can resolve every extra for every Python the project allows".into(),
        });
    }

    if plan.uses(CiSystem::Bitbucket) && !args.force {
        refuse_foreign_bitbucket_file(root)?;
    }
    // On a project gpu-ci has set up (it has the lock), init's flags change settings: the new
    // render is merged with the maintainer's edits exactly as `update` does. Without a lock
    // there is no record of what gpu-ci wrote, so an existing file that differs is refused.
    let on_edited = if !args.force && set_up {
        OnEdited::Merge { force: false }
    } else {
        OnEdited::Refuse { force: args.force }
    };
    let mut changes = regenerate_files(root, &plan, on_edited)?;
    config.write(&plan.to_config())?;
    changes.change(
        config.name,
        config.original.as_deref(),
        config.render(),
        None,
    );

    if let Some(changed) = &changed {
        print_changes(changed);
    }
    print_notices(&notices, changed.as_ref());
    if changes.is_empty() {
        ui::plain(
            "gpu-ci is already set up here; nothing to change (after editing [tool.gpu-ci], run `gpu-ci update`)",
        );
        return Ok(ExitStatus::Success);
    }
    if args.dry_run {
        changes.show(false, args.diff);
        return Ok(ExitStatus::Success);
    }
    if changes.apply(root)? != ExitStatus::Success {
        // A merge left work to do (conflict markers, a `.new` file beside an edited one):
        // apply said what; the next steps wait until it is done.
        return Ok(ExitStatus::Failure);
    }
    warn_if_lock_ignored(root);
    suggest_ignore_lines(root, changed.is_none());
    report_preflight(&plan, &project);
    // Once, and again when a CI system or the label changes (or for --verbose).
    let steps_changed = changed
        .as_ref()
        .is_none_or(|c| c.contains_key("ci") || c.contains_key("label"));
    if steps_changed || ui::verbosity() == ui::Verbosity::Verbose {
        ui::plain("\nnext steps:");
        for system in &plan.ci.value {
            ui::plain(&next_steps(*system, &plan.label.value));
        }
    }
    Ok(ExitStatus::Success)
}

/// The settings whose value differs from what the lock recorded when gpu-ci last wrote the
/// files (a key on one side only counts), each with its value then and now; `None` where it
/// recorded none (a first init, a lock from before settings were recorded, or one that cannot
/// be read): every setting is new.
fn changed_settings(root: &Path, plan: &TestPlan) -> Option<Changed> {
    let old = Lock::read(root).ok().flatten()?.settings;
    if old.is_empty() {
        return None;
    }
    let new = plan.settings();
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    Some(
        keys.into_iter()
            .filter(|key| old.get(*key) != new.get(*key))
            .map(|key| (key.clone(), (old.get(key).cloned(), new.get(key).cloned())))
            .collect(),
    )
}

/// Changed settings by name: the value before and now (`None`: no such setting then or now).
type Changed = BTreeMap<String, (Option<serde_json::Value>, Option<serde_json::Value>)>;

/// A setting's value as the change line shows it: `key = value` as TOML would write it, the
/// install source under the key that holds it.
fn shown_setting(key: &str, value: Option<&serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => format!("no {key}"),
        Some(serde_json::Value::Object(one)) if key == INSTALL && one.len() == 1 => {
            let (key, value) = one.iter().next().expect("one entry");
            format!("{key} = {value}")
        }
        Some(value) => format!("{key} = {value}"),
    }
}

/// One line per setting a second init changes: what it was, what it is now. The values come
/// from the project (a test path, a label): shown escaped, as every note is.
fn print_changes(changed: &Changed) {
    for (key, (old, new)) in changed {
        note(&format!(
            "changed: {} (was {})",
            shown_setting(key, new.as_ref()),
            shown_setting(key, old.as_ref())
        ));
    }
}

/// What init decided: warnings always; each note only when its setting is new or changed
/// (`changed`; `None`: all are), since an earlier init reported the others; `-v` shows those
/// too, after a line that says so.
fn print_notices(notices: &[Notice], changed: Option<&Changed>) {
    let (warnings, notes): (Vec<&Notice>, Vec<&Notice>) = notices
        .iter()
        .partition(|n| matches!(n, Notice::Warning(_)));
    warnings.iter().for_each(|n| n.print());
    let (new, unchanged): (Vec<&Notice>, Vec<&Notice>) =
        notes
            .into_iter()
            .partition(|n| match (changed, n.setting()) {
                (Some(changed), Some(setting)) => changed.contains_key(setting),
                _ => true,
            });
    new.iter().for_each(|n| n.print());
    if ui::verbosity() == ui::Verbosity::Verbose && !unchanged.is_empty() {
        ui::note(
            "the choices below are unchanged since gpu-ci last wrote the files, and were reported then; shown for --verbose",
        );
        unchanged.iter().for_each(|n| n.print());
    }
}

/// The pre-flight resolve (issue 21), when uv is at hand: what it found, in a note or a
/// warning; without uv, a note that `doctor` runs it.
fn report_preflight(plan: &TestPlan, project: &Project) {
    match preflight::resolve(plan, project) {
        preflight::Outcome::Skipped(why) => {
            // uv's message, when there is one, on indented lines of its own.
            let mut lines = why.lines();
            note(&format!(
                "pre-flight resolve skipped (`gpu-ci doctor` runs it where uv and the index are at hand): {}",
                lines.next().unwrap_or_default()
            ));
            for line in lines {
                ui::plain(&format!("  {}", ui::escaped(line)));
            }
        }
        preflight::Outcome::Conflict { message, fix } => {
            warning(&format!(
                "pre-flight: uv found no dependency set for the image (Python {} on Linux x86_64), so its build would fail:",
                plan.python.value
            ));
            for line in message.lines() {
                ui::plain(&format!("  {}", ui::escaped(line)));
            }
            ui::help(&fix);
        }
        preflight::Outcome::Resolved {
            packages,
            problems,
            scope,
        } => {
            // What the resolve could not check (a setup.py's own dependencies, an sdist) is
            // said with it, as doctor says it.
            if problems.is_empty() {
                note(&format!(
                    "pre-flight: the image's dependencies resolve ({} packages for Python {} on Linux x86_64{scope})",
                    packages.len(),
                    plan.python.value
                ));
            }
            for problem in problems {
                warning(&format!("pre-flight: {}", problem.what));
                ui::help(&problem.fix);
            }
        }
    }
}

/// Bitbucket reads one file, `bitbucket-pipelines.yml`, which gpu-ci then generates: a file of
/// the project's own (no gpu-ci-hash line) is not merged into, and not overwritten.
fn refuse_foreign_bitbucket_file(root: &Path) -> Result<()> {
    let Some(text) = read_target(root, bitbucket::PIPELINES.path)? else {
        return Ok(());
    };
    if recorded_hash(&text).is_some() {
        return Ok(());
    }
    Err(Error::usage(format!(
        "`{}` is your own, and Bitbucket reads no other file: gpu-ci would have to replace it",
        bitbucket::PIPELINES.path
    ))
    .with_help(format!(
        "move it aside, run `gpu-ci init --ci bitbucket`, then copy your pipelines into the new `{}` and commit: `gpu-ci update` keeps them as your edits (`--dry-run` shows gpu-ci's file first); or leave Bitbucket out with `--ci`",
        bitbucket::PIPELINES.path
    )))
}

/// What is left to do by hand for `system`, after the files are committed.
fn next_steps(system: CiSystem, label: &str) -> String {
    let token = "a Modal token: modal.com → Settings → API tokens";
    match system {
        CiSystem::Github => format!(
            "  GitHub (`gpu-ci github setup` does 1 and 2):\n    1. add the repository secrets MODAL_TOKEN_ID and MODAL_TOKEN_SECRET ({token})\n    2. create the `{label}` label, and add it to a pull request to run its GPU tests\n    3. optionally set the repository variable MODAL_GPU to change the GPU without editing files"
        ),
        CiSystem::Gitlab => format!(
            "  GitLab (Settings → CI/CD → Variables):\n    1. add MODAL_TOKEN_ID and MODAL_TOKEN_SECRET ({token}), masked and protected\n    2. add {} (a project access token: role Reporter, scope api), masked and protected\n    3. create the `{label}` label; a merge request pipeline runs the GPU tests while the MR carries it",
            gitlab::TOKEN_VARIABLE
        ),
        CiSystem::Bitbucket => format!(
            "  Bitbucket (Repository settings → Pipelines → Repository variables):\n    1. add MODAL_TOKEN_ID and MODAL_TOKEN_SECRET ({token}) as secured variables\n    2. add {} (a repository access token: Pull requests write) as a secured variable\n    3. run the GPU tests from Pipelines → Run pipeline → custom: {} (variables GPU, REF, PR)",
            bitbucket::TOKEN_VARIABLE,
            bitbucket::CUSTOM_PIPELINE
        ),
    }
}

/// `gpu-ci run` writes `test-outputs/`, which no commit wants: the line for `.gitignore`,
/// shown and never written (the file is the maintainer's); and the durations file, which is
/// the other way round (said on the first init only: `first`).
fn suggest_ignore_lines(root: &Path, first: bool) {
    let ignored =
        crate::isolated::git(root, &["check-ignore", "-q", "--no-index", "test-outputs/"])
            .is_ok_and(|out| out.status.success());
    if !ignored {
        note(
            "`gpu-ci run` and the workflows' artifacts write test-outputs/, which should not be committed: add the line `/test-outputs/` to .gitignore",
        );
    }
    // Advice once, with the first init's notes (or for --verbose).
    if first || ui::verbosity() == ui::Verbosity::Verbose {
        note(&format!(
            "commit `{}` when `gpu-ci durations` writes it: the runner balances shards by it from its own checkout",
            crate::plan::DURATIONS_FILE
        ));
    }
}

/// A `*.lock` line in `.gitignore` (common: diffusers has one) leaves the lock out of every
/// commit, and `update` in a fresh clone cannot merge; say so, with the line to add.
fn warn_if_lock_ignored(root: &Path) {
    let output = crate::isolated::git(root, &["check-ignore", "--verbose", "--no-index", LOCK]);
    let Ok(output) = output else { return };
    if !output.status.success() {
        return;
    }
    // `<source>:<line>:<pattern>\t<path>`
    let line = String::from_utf8_lossy(&output.stdout);
    let rule = line.split('\t').next().unwrap_or("").trim().to_string();
    // With --verbose, a matching `!pattern` (un-ignoring the lock) also exits 0.
    if rule
        .splitn(3, ':')
        .nth(2)
        .is_some_and(|pattern| pattern.starts_with('!'))
    {
        return;
    }
    warning(&format!(
        "git ignores `{LOCK}` (rule `{rule}`), so it never reaches a commit and `gpu-ci update` cannot merge your edits in a fresh clone"
    ));
    ui::help(&format!(
        "add the line `!/{LOCK}` to .gitignore, then commit the lock"
    ));
}
