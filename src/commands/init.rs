//! `gpu-ci init`: detect, ask what detection could not decide, render, write all-or-nothing.

use std::io::IsTerminal;
use std::path::Path;

use crate::cli::InitArgs;
use crate::commands::regenerate_files;
use crate::error::{ExitStatus, Result};
use crate::generate::OnEdited;
use crate::plan::build::{Prompter, Setup, WhenNotSetUp, load};
use crate::plan::install::InstallPlan;
use crate::ui::{note, warning};

pub fn run(args: &InitArgs, root: &Path) -> Result<ExitStatus> {
    let ask = Prompter {
        interactive: !args.yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
    };
    let Setup {
        project,
        mut config,
        plan,
        notices,
    } = load(root, &args.choices, &ask, WhenNotSetUp::Proceed)?;
    notices.iter().for_each(|n| n.print());
    if project.pyproject.is_none() && project.requirements.is_empty() && project.has_setup_py {
        warning(
            "setup.py declares dependencies gpu-ci cannot read without running it; list them in a requirements file and pass --requirements",
        );
    }
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
    eprintln!(
        "\nnext steps:\n  1. add the repository secrets MODAL_TOKEN_ID and MODAL_TOKEN_SECRET (modal.com → Settings → API tokens)\n  2. create the `{}` label, and add it to a pull request to run its GPU tests\n  3. optionally set the repository variable MODAL_GPU to change the GPU without editing files",
        plan.label.value
    );
    Ok(ExitStatus::Success)
}
