//! `gpu-ci update`: re-render from `[tool.gpu-ci]` with the current templates, keeping the
//! maintainer's edits through a three-way merge.

use std::path::Path;
use std::process::Command;

use crate::choices::{Loaded, load_set_up};
use crate::cli::UpdateArgs;
use crate::detect::{Project, read_text};
use crate::error::Result;
use crate::lock::Lock;
use crate::merge::merge;
use crate::plan::Plan;
use crate::render::{self, LOCK, Rendered, content_hash, recorded_hash};
use crate::settings::Settings;

/// What `update` does with one generated file.
enum Outcome {
    Unchanged,
    Create(String),
    /// Untouched since gpu-ci wrote it: replaced by the new render.
    Replace(String),
    /// Edited, and merged cleanly with the new render.
    Merged(String),
    /// Edited where the template changed too: both sides kept between markers.
    Conflict(String, usize),
    /// Edited, and what gpu-ci wrote cannot be recovered: the new render goes beside it.
    Unrecoverable(String),
    /// Generated once and deleted since: left deleted.
    KeptDeleted,
}

/// The file as gpu-ci last wrote it: re-rendered from the lock when the version matches,
/// else found in git history by its hash.
fn recover_base(root: &Path, path: &str, recorded: &str, lock: Option<&Lock>) -> Option<String> {
    if let Some(lock) = lock.filter(|l| l.version == env!("CARGO_PKG_VERSION"))
        && let Ok(files) = render::render_context(&lock.context)
        && let Some(file) = files.into_iter().find(|f| f.path == path)
        && content_hash(&file.contents) == recorded
    {
        return Some(file.contents);
    }
    let git = |args: &[&str]| -> Option<String> {
        let output = Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let commits = git(&["log", "--format=%H", "-n", "200", "--", path])?;
    commits.lines().find_map(|commit| {
        let text = git(&["show", &format!("{commit}:{path}")])?;
        (content_hash(&text) == recorded).then_some(text)
    })
}

/// Decides what becomes of one generated file, given what it holds now (`None`: missing).
fn plan_file(
    root: &Path,
    new: &Rendered,
    current: Option<&str>,
    lock: Option<&Lock>,
    force: bool,
) -> Outcome {
    let Some(current) = current else {
        let was_generated = lock.is_some_and(|l| l.files.iter().any(|f| f == new.path));
        return if was_generated && !force {
            Outcome::KeptDeleted
        } else {
            Outcome::Create(new.contents.clone())
        };
    };
    if current == new.contents {
        return Outcome::Unchanged;
    }
    let Some(recorded) = recorded_hash(current) else {
        return Outcome::Unrecoverable(new.contents.clone());
    };
    if content_hash(current) == recorded {
        return Outcome::Replace(new.contents.clone());
    }
    // Edited; if gpu-ci would write what it wrote before, the edits simply stay.
    if recorded_hash(&new.contents) == Some(recorded) {
        return Outcome::Unchanged;
    }
    let Some(base) = recover_base(root, new.path, recorded, lock) else {
        return Outcome::Unrecoverable(new.contents.clone());
    };
    let merged = merge(
        &base,
        current,
        &new.contents,
        &format!("yours ({})", new.path),
        &format!("gpu-ci {}", env!("CARGO_PKG_VERSION")),
    );
    match merged.conflicts {
        0 if merged.text == current => Outcome::Unchanged,
        0 => Outcome::Merged(merged.text),
        n => Outcome::Conflict(merged.text, n),
    }
}

/// Plans re-rendering every generated file for `settings`, merging the maintainer's edits.
pub fn plan(
    root: &Path,
    project: &Project,
    settings: &Settings,
    section: String,
    force: bool,
) -> Result<Plan> {
    let lock = Lock::read(root)?;
    let context = render::context_json(settings, project, section);
    let rendered = render::render_context(&context)?;
    let mut plan = Plan::default();
    for new in &rendered {
        let target = root.join(new.path);
        let current = if target.exists() {
            Some(read_text(&target, new.path)?)
        } else {
            None
        };
        let old = current.as_deref();
        match plan_file(root, new, old, lock.as_ref(), force) {
            Outcome::Unchanged => {}
            Outcome::KeptDeleted => plan.note(format!(
                "    kept {} deleted (`gpu-ci update --force` recreates it)",
                new.path
            )),
            Outcome::Create(text) | Outcome::Replace(text) => {
                plan.change(new.path, old, text, None)
            }
            Outcome::Merged(text) => plan.change(new.path, old, text, Some("merged")),
            Outcome::Conflict(text, n) => plan.conflict(new.path, old.unwrap_or_default(), text, n),
            Outcome::Unrecoverable(text) => plan.beside(new.path, old.unwrap_or_default(), text),
        }
    }
    let lock_text = Lock::new(
        context,
        rendered.iter().map(|f| f.path.to_string()).collect(),
    )
    .render();
    let old_lock = read_text(&root.join(LOCK), LOCK).ok();
    plan.change(LOCK, old_lock.as_deref(), lock_text, None);
    Ok(plan)
}

pub fn run(args: &UpdateArgs, root: &Path) -> Result<u8> {
    let Loaded {
        project,
        config,
        settings,
    } = load_set_up(root)?;
    let plan = plan(root, &project, &settings, config.section_name(), args.force)?;
    if args.check || args.dry_run {
        return Ok(plan.show(args.check));
    }
    plan.apply(root)
}
