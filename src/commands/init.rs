//! `gpu-ci init`: detect, ask what detection could not decide, render, write all-or-nothing.

use std::io::IsTerminal;
use std::path::Path;

use crate::choices::{Loaded, NotSetUp, Prompter, load};
use crate::cli::InitArgs;
use crate::detect::read_text;
use crate::error::{Error, Result};
use crate::lock::Lock;
use crate::plan::Plan;
use crate::render;
use crate::ui::{note, warning};

pub fn run(args: &InitArgs, root: &Path) -> Result<()> {
    let ask = Prompter {
        interactive: !args.yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
    };
    let Loaded {
        project,
        mut config,
        settings,
    } = load(root, &args.choices, &ask, NotSetUp::Proceed)?;
    if project.pyproject.is_none() && project.requirements.is_empty() && project.has_setup_py {
        warning(
            "setup.py declares dependencies gpu-ci cannot read without running it; list them in a requirements file and pass --requirements",
        );
    }

    if render::syncs_with_uv(&settings, &project) && !project.has_uv_lock {
        note(
            "no uv.lock: dependencies are resolved each time the Modal image is built; commit one (`uv lock`) for a reproducible image",
        );
    }

    let context = render::context_json(&settings, &project, config.section_name());
    let rendered = render::render_context(&context)?;
    let lock = Lock::new(
        context,
        rendered.iter().map(|f| f.path.to_string()).collect(),
    );
    config.write(&settings.to_raw());
    let config_text = config.render();

    let mut plan = Plan::default();
    let mut conflicts = Vec::new();
    for file in rendered {
        let target = root.join(file.path);
        let old = if target.exists() {
            Some(read_text(&target, file.path)?)
        } else {
            None
        };
        if old.as_deref().is_some_and(|old| old != file.contents) {
            conflicts.push(format!("`{}`", file.path));
        }
        plan.change(file.path, old.as_deref(), file.contents, None);
    }
    if !conflicts.is_empty() && !args.force {
        let subject = if conflicts.len() == 1 {
            "a generated file already exists and differs"
        } else {
            "generated files already exist and differ"
        };
        return Err(Error::usage(format!(
            "{subject} from what init would write: {}",
            conflicts.join(", ")
        ))
        .with_help("run `gpu-ci update` to upgrade them keeping your edits, or `gpu-ci init --force` to overwrite them"));
    }
    // The lock is gpu-ci's own record, never a maintainer's edit: it is simply rewritten.
    let old_lock = std::fs::read_to_string(root.join(render::LOCK)).ok();
    plan.change(render::LOCK, old_lock.as_deref(), lock.render(), None);
    plan.change(config.name, config.original.as_deref(), config_text, None);

    if plan.is_empty() {
        eprintln!(
            "gpu-ci is already set up here; nothing to change (after editing [tool.gpu-ci], run `gpu-ci update`)"
        );
        return Ok(());
    }
    if args.dry_run {
        plan.show(false);
        return Ok(());
    }
    plan.apply(root)?;
    eprintln!(
        "\nnext steps:\n  1. add the repository secrets MODAL_TOKEN_ID and MODAL_TOKEN_SECRET (modal.com → Settings → API tokens)\n  2. create the `{}` label, and add it to a pull request to run its GPU tests\n  3. optionally set the repository variable MODAL_GPU to change the GPU without editing files",
        settings.label
    );
    Ok(())
}
