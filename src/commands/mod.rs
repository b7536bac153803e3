//! One module per subcommand, and what they share.

pub mod cache;
pub mod completions;
pub mod config;
pub mod costs;
pub mod doctor;
pub mod durations;
pub mod github_setup;
pub mod init;
pub mod pin;
pub mod run;
pub mod update;

use std::path::Path;

use crate::config::{PYPROJECT, STANDALONE};
use crate::error::Result;
use crate::generate::carry::{OldFile, carry};
use crate::generate::changes::ChangeSet;
use crate::generate::lock::{LEGACY_LOCK, LOCK, Lock};
use crate::generate::merge::has_conflict_markers;
use crate::generate::write::read_target;
use crate::generate::{OnEdited, Rendered, regenerate, written_base};
use crate::plan::ci::CiSystem;
use crate::plan::{DURATIONS_FILE, LEGACY_DURATIONS_FILE, TestPlan};
use crate::targets::{self, gitlab, gitlab_include, modal};

/// Every file a gpu-ci write makes, whatever the plan: every target's generated files, the
/// lock and the durations file (each in either place), the config file and `.gitlab-ci.yml` (its `include:` entry). An
/// interrupted write's journal is acted on only for these (never what a lock lists), since a
/// pull request can carry one (issue 20).
pub fn own_files() -> Vec<&'static str> {
    targets::generated_files()
        .map(|f| f.path)
        .chain([
            LOCK,
            LEGACY_LOCK,
            PYPROJECT,
            STANDALONE,
            DURATIONS_FILE,
            LEGACY_DURATIONS_FILE,
            gitlab::CI_FILE,
        ])
        .collect()
}

/// The changes that bring every generated file and the lock to what `plan` renders, and, for
/// GitLab, the `include:` entry in `.gitlab-ci.yml`: one change set, written all at once.
pub fn regenerate_files(root: &Path, plan: &TestPlan, on_edited: OnEdited) -> Result<ChangeSet> {
    let contexts = targets::contexts(plan);
    let rendered = targets::render(&contexts)?;
    let new_lock = Lock::new(
        contexts,
        rendered.iter().map(|f| f.path.to_string()).collect(),
        plan.settings(),
    );
    let old_lock = match on_edited {
        // init never merges, so a lock it cannot read is simply replaced.
        OnEdited::Refuse { .. } => None,
        OnEdited::Merge { .. } => Lock::read(root)?,
    };
    // What gpu-ci wrote last, when this version can render it again: the base of each merge.
    let base = old_lock
        .as_ref()
        .filter(|lock| lock.version == env!("CARGO_PKG_VERSION"))
        .and_then(|lock| targets::render(&lock.contexts).ok());
    let mut notes = Vec::new();
    let decided = match (&old_lock, on_edited) {
        (Some(lock), OnEdited::Merge { .. }) if modal::is_old_layout(&lock.files) => {
            migrate_runner(root, &rendered, base.as_deref(), &mut notes)?
        }
        _ => Vec::new(),
    };
    let mut changes = regenerate(
        root,
        &rendered,
        &new_lock,
        old_lock.as_ref(),
        base.as_deref(),
        on_edited,
        &decided,
    )?;
    for line in notes {
        changes.note(line);
    }
    if plan.uses(CiSystem::Gitlab) {
        let current = read_target(root, gitlab::CI_FILE)?;
        if let Some(new) = gitlab_include::with_include(current.as_deref())? {
            changes.change(gitlab::CI_FILE, current.as_deref(), new, None);
        }
    }
    move_durations(root, &mut changes);
    // Files of a target the plan no longer names stay; say so once.
    if let Some(lock) = &old_lock {
        for path in &lock.files {
            if !rendered.iter().any(|f| f.path == path) && root.join(path).is_file() {
                changes.note(format!(
                    "    left {path}: `ci` no longer names its CI system (delete it if unused)"
                ));
            }
        }
    }
    Ok(changes)
}

/// The durations file where gpu-ci 0.1 kept it (`.github/`) moves beside the lock with this
/// write, as the lock does; only a regular file under plain folders (a `.github` linked out of
/// the project is never read through). Beside a file already in the new place, it is stale:
/// left, with a note.
fn move_durations(root: &Path, changes: &mut ChangeSet) {
    if std::fs::symlink_metadata(root.join(LEGACY_DURATIONS_FILE)).is_err() {
        return;
    }
    if std::fs::symlink_metadata(root.join(DURATIONS_FILE)).is_ok() {
        changes.note(format!(
            "    left {LEGACY_DURATIONS_FILE}: the runner reads {DURATIONS_FILE} (delete the old one)"
        ));
        return;
    }
    let Some(path) = crate::project::regular_file(root, LEGACY_DURATIONS_FILE) else {
        changes.note(format!(
            "    left {LEGACY_DURATIONS_FILE}: it or a folder above it is not a plain file or folder (move it to {DURATIONS_FILE} by hand)"
        ));
        return;
    };
    let text = match crate::project::read_text(&path, LEGACY_DURATIONS_FILE) {
        Ok(text) => text,
        Err(err) => {
            changes.note(format!("    left {LEGACY_DURATIONS_FILE}: {err}"));
            return;
        }
    };
    changes.change(DURATIONS_FILE, None, text, None);
    changes.remove_after(LEGACY_DURATIONS_FILE, DURATIONS_FILE);
}

/// A project whose runner is still in the two files of before issue 27: the maintainer's edits
/// to them, carried into the four new files (`generate::carry`), each edit that could not be
/// carried named in `notes` with its lines. Empty (the files then merge one by one, as any
/// update's) when there is nothing to carry or what gpu-ci wrote cannot be recovered, or a file
/// still holds conflict markers.
fn migrate_runner(
    root: &Path,
    rendered: &[Rendered],
    base: Option<&[Rendered]>,
    notes: &mut Vec<String>,
) -> Result<Vec<(String, String)>> {
    let mut old = Vec::new();
    for path in modal::OLD_LAYOUT {
        let Some(current) = read_target(root, path)? else {
            continue;
        };
        let current = crate::newlines::to_lf(&current);
        if has_conflict_markers(&current) {
            return Ok(Vec::new());
        }
        let Some(written) = written_base(root, path, &current, base) else {
            return Ok(Vec::new());
        };
        old.push((path, written, current));
    }
    let edited = old
        .iter()
        .filter(|(_, base, current)| base != current)
        .count();
    let new: Vec<(String, String)> = rendered
        .iter()
        .filter(|file| modal::FILES.iter().any(|f| f.path == file.path))
        .map(|file| (file.path.to_string(), file.contents.clone()))
        .collect();
    let olds: Vec<OldFile> = old
        .iter()
        .map(|(path, base, current)| OldFile {
            path,
            base,
            current,
        })
        .collect();
    let carried = carry(&olds, &new);
    let names: Vec<&str> = modal::FILES.iter().map(|f| f.path).collect();
    notes.push(format!(
        "    moved the runner to {} files by where they run ({}){}",
        names.len(),
        names.join(", "),
        if edited == 0 {
            String::new()
        } else {
            format!(
                "; your edits: {} carried, {} left out (below)",
                carried.carried,
                carried.left.len()
            )
        }
    ));
    for left in &carried.left {
        let lines = if left.first == left.last {
            format!("line {}", left.first)
        } else {
            format!("lines {}-{}", left.first, left.last)
        };
        notes.push(format!(
            "    could not carry your edit to {} ({lines}): the code around it changed; make it again by hand where that code is now:",
            left.path
        ));
        for line in left.diff.lines() {
            notes.push(format!("        {line}"));
        }
    }
    Ok(carried.files)
}
