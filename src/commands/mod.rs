//! One module per subcommand, and what they share.

pub mod completions;
pub mod config;
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
use crate::generate::changes::ChangeSet;
use crate::generate::lock::{LEGACY_LOCK, LOCK, Lock};
use crate::generate::write::read_target;
use crate::generate::{OnEdited, regenerate};
use crate::plan::ci::CiSystem;
use crate::plan::{DURATIONS_FILE, LEGACY_DURATIONS_FILE, TestPlan};
use crate::targets::{self, gitlab, gitlab_include};

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
    let mut changes = regenerate(
        root,
        &rendered,
        &new_lock,
        old_lock.as_ref(),
        base.as_deref(),
        on_edited,
    )?;
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
