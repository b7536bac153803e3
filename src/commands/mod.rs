//! One module per subcommand, and what they share.

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
use crate::generate::changes::ChangeSet;
use crate::generate::lock::{LEGACY_LOCK, LOCK, Lock};
use crate::generate::write::read_target;
use crate::generate::{OnEdited, regenerate};
use crate::plan::ci::CiSystem;
use crate::plan::{DURATIONS_FILE, TestPlan};
use crate::targets::{self, gitlab, gitlab_include};

/// Every file a gpu-ci write makes, whatever the plan: every target's generated files, the
/// lock (in either place), the config file, the durations file and `.gitlab-ci.yml` (its `include:` entry). An
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
