//! `gpu-ci init`: detect, ask what detection could not decide, render, write all-or-nothing.

use std::io::{IsTerminal, Write};
use std::path::Path;

use crate::choices::{Loaded, NotSetUp, Prompter, load};
use crate::cli::InitArgs;
use crate::diff;
use crate::error::{Error, Result};
use crate::lock::Lock;
use crate::render;
use crate::ui::warning;
use crate::write::{FileWrite, write_all};

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

    let context = render::context_json(&settings, &project, config.section_name());
    let rendered = render::render_context(&context)?;
    let lock = Lock::new(
        context,
        rendered.iter().map(|f| f.path.to_string()).collect(),
    );
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
    // The lock is gpu-ci's own record, never a maintainer's edit: it is simply rewritten.
    let lock_text = lock.render();
    let old_lock = std::fs::read_to_string(root.join(render::LOCK)).ok();
    if old_lock.as_deref() != Some(lock_text.as_str()) {
        changes.push((render::LOCK.to_string(), old_lock, lock_text));
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
        eprintln!(
            "gpu-ci is already set up here; nothing to change (after editing [tool.gpu-ci], run `gpu-ci update`)"
        );
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
