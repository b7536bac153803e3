//! `gpu-ci update`: re-render from `[tool.gpu-ci]` with the current templates, keeping the
//! maintainer's edits through a three-way merge.

use std::path::Path;

use crate::cli::UpdateArgs;
use crate::commands::regenerate_files;
use crate::error::{ExitStatus, Result};
use crate::generate::OnEdited;
use crate::plan::build::{Setup, load_set_up};

pub fn run(args: &UpdateArgs, root: &Path) -> Result<ExitStatus> {
    let Setup { plan, .. } = load_set_up(root)?;
    let changes = regenerate_files(root, &plan, OnEdited::Merge { force: args.force })?;
    if args.check && args.json {
        return Ok(changes.show_json());
    }
    if args.check || args.dry_run {
        // --check is for hooks and CI logs: always the whole diff.
        return Ok(changes.show(args.check, args.check || args.diff));
    }
    changes.apply(root)
}
