//! `.github/gpu-ci.lock`: what gpu-ci rendered last (its version, the template context and the
//! files), so that `update` can re-render the base of a three-way merge.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::render::LOCK;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lock {
    pub version: String,
    pub files: Vec<String>,
    pub context: serde_json::Value,
}

impl Lock {
    pub fn new(context: serde_json::Value, files: Vec<String>) -> Lock {
        Lock {
            version: env!("CARGO_PKG_VERSION").to_string(),
            files,
            context,
        }
    }

    /// The project's lock; `None` when there is none.
    pub fn read(root: &Path) -> Result<Option<Lock>> {
        let path = root.join(LOCK);
        if !path.is_file() {
            return Ok(None);
        }
        let text = crate::detect::read_text(&path, LOCK)?;
        serde_json::from_str(&text).map(Some).map_err(|err| {
            Error::usage(format!("`{LOCK}` is not a gpu-ci lock: {err}"))
                .with_help("restore it from git, or delete it and run `gpu-ci init --force`")
        })
    }

    pub fn render(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("the lock serialises");
        text.push('\n');
        text
    }
}
