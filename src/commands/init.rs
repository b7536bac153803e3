//! `gpu-ci init`: detect, ask what detection could not decide, render, write all-or-nothing.

use std::io::IsTerminal;
use std::path::Path;

use crate::cli::InitArgs;
use crate::commands::regenerate_files;
use crate::error::{ExitStatus, Result};
use crate::generate::OnEdited;
use crate::generate::lock::LOCK;
use crate::plan::build::{Prompter, Setup, WhenNotSetUp, load};
use crate::plan::install::InstallPlan;
use crate::ui::{self, note, warning};

pub fn run(args: &InitArgs, root: &Path) -> Result<ExitStatus> {
    let ask = Prompter {
        interactive: !args.yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
    };
    let Setup {
        mut config,
        plan,
        notices,
        ..
    } = load(root, &args.choices, &ask, WhenNotSetUp::Proceed)?;
    notices.iter().for_each(|n| n.print());
    if let InstallPlan::Uv { locked: false, .. } = plan.install {
        note(
            "no uv.lock: dependencies are resolved each time the Modal image is built; commit one (`uv lock`) for a reproducible image",
        );
    }

    let mut changes = regenerate_files(root, &plan, OnEdited::Refuse { force: args.force })?;
    config.write(&plan.to_config())?;
    changes.change(
        config.name,
        config.original.as_deref(),
        config.render(),
        None,
    );

    if changes.is_empty() {
        eprintln!(
            "gpu-ci is already set up here; nothing to change (after editing [tool.gpu-ci], run `gpu-ci update`)"
        );
        return Ok(ExitStatus::Success);
    }
    if args.dry_run {
        changes.show(false);
        return Ok(ExitStatus::Success);
    }
    changes.apply(root)?;
    warn_if_lock_ignored(root);
    eprintln!(
        "\nnext steps:\n  1. add the repository secrets MODAL_TOKEN_ID and MODAL_TOKEN_SECRET (modal.com → Settings → API tokens)\n  2. create the `{}` label, and add it to a pull request to run its GPU tests\n  3. optionally set the repository variable MODAL_GPU to change the GPU without editing files",
        plan.label.value
    );
    Ok(ExitStatus::Success)
}

/// A `*.lock` line in `.gitignore` (common: diffusers has one) leaves the lock out of every
/// commit, and `update` in a fresh clone cannot merge; say so, with the line to add.
fn warn_if_lock_ignored(root: &Path) {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["check-ignore", "--verbose", "--no-index", LOCK])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
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
