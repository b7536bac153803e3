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

use crate::error::Result;
use crate::generate::changes::ChangeSet;
use crate::generate::lock::Lock;
use crate::generate::{OnEdited, regenerate};
use crate::plan::TestPlan;
use crate::targets;

/// The changes that bring every generated file and the lock to what `plan` renders.
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
    regenerate(
        root,
        &rendered,
        &new_lock,
        old_lock.as_ref(),
        base.as_deref(),
        on_edited,
    )
}
