//! `.gpu-ci.lock`: what gpu-ci rendered last (its version, each target's template context
//! and the files), so that `update` can re-render the base of a three-way merge.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::generate::write::read_target;

/// Each target's template context, by target id: what the lock keeps to re-render later.
pub type Contexts = BTreeMap<String, serde_json::Value>;

/// Where gpu-ci keeps what it rendered last: at the root, so that a project on GitLab or
/// Bitbucket gets no `.github/` folder.
pub const LOCK: &str = ".gpu-ci.lock";

/// Where gpu-ci 0.1 kept the lock: still read when `LOCK` is missing, and moved by the next
/// write (`update`, `init`, `pin`).
pub const LEGACY_LOCK: &str = ".github/gpu-ci.lock";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lock {
    pub version: String,
    pub files: Vec<String>,
    /// Each target's template context, by target id.
    pub contexts: Contexts,
    /// Each setting's value as the plan had it (none in a lock written before they were
    /// recorded): what the next `init` compares with, to show the notes of changed settings only.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, serde_json::Value>,
}

impl Lock {
    pub fn new(
        contexts: Contexts,
        files: Vec<String>,
        settings: BTreeMap<String, serde_json::Value>,
    ) -> Lock {
        Lock {
            version: env!("CARGO_PKG_VERSION").to_string(),
            files,
            contexts,
            settings,
        }
    }

    /// The lock's text as it is on disk (at `LOCK`, else at `LEGACY_LOCK`); `None` when there
    /// is none.
    pub fn read_text(root: &Path) -> Result<Option<String>> {
        match read_target(root, LOCK)? {
            Some(text) => Ok(Some(text)),
            None => read_target(root, LEGACY_LOCK),
        }
    }

    /// The project's lock; `None` when there is none.
    pub fn read(root: &Path) -> Result<Option<Lock>> {
        let Some(text) = Lock::read_text(root)? else {
            return Ok(None);
        };
        Lock::parse(&text).map(Some)
    }

    /// A lock's text, checked.
    pub fn parse(text: &str) -> Result<Lock> {
        serde_json::from_str(text).map_err(|err| {
            Error::usage(format!("`{LOCK}` is not a gpu-ci lock: {err}"))
                .with_help(format!(
                    "restore it from git, or delete `{LOCK}` and run `gpu-ci update`, which rebuilds it and keeps your edits to the generated files"
                ))
        })
    }

    pub fn render(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("the lock serialises");
        text.push('\n');
        text
    }
}
