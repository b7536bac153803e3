//! Programs gpu-ci starts for itself (git, the Modal client's `--version`), isolated from the
//! project: every command but `run` treats the project tree as data, and a pull request's tree
//! can hold a `git`, a `modal`, a `.venv/bin/python` or a `modal/__main__.py`.
//!
//! - A program is found on PATH without the entries that lie inside the project (its root, and
//!   the git work tree around it unless that is the home folder or holds it) and without
//!   relative entries; one whose real path, links followed, is inside the project is not used.
//!   So an activated `.venv/bin` inside the project is skipped: `doctor` says so.
//! - It starts from a fresh temporary folder, with an environment of PATH (as above), HOME and
//!   TMPDIR only: no `MODAL_*`, no `GITHUB_TOKEN`, no `GIT_*`, no `PYTHON*`.
//! - git runs with the repository's own program hooks switched off (`core.fsmonitor`,
//!   `core.hooksPath`, signature checks), since `.git/config` may come with the tree.

use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Variables a probe keeps; everything else is removed.
const KEPT_ENV: &[&str] = &[
    "HOME",
    "TMPDIR",
    // Windows needs these to start any program.
    "SYSTEMROOT",
    "USERPROFILE",
    "TEMP",
    "TMP",
];

/// The `-c` settings every git call gets: no program the repository's config names runs.
const GIT_SAFETY: &[&str] = &[
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "log.showSignature=false",
];

/// The folders that belong to the project at `root`, resolved: the root itself, and the git
/// work tree that holds it (found by its `.git`, without running git) unless that work tree is
/// the home folder or one above it (a dotfiles repository would otherwise claim `~/.local/bin`).
pub fn project_tree(root: &Path) -> Vec<PathBuf> {
    let Ok(root) = root.canonicalize() else {
        return Vec::new();
    };
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .and_then(|h| PathBuf::from(h).canonicalize().ok());
    let mut tree = vec![root.clone()];
    if let Some(top) = root
        .ancestors()
        .skip(1)
        .find(|dir| dir.join(".git").exists())
        && home.as_deref().is_none_or(|home| !home.starts_with(top))
    {
        tree.push(top.to_path_buf());
    }
    tree
}

/// Whether `path` (resolved, links followed) lies inside one of `tree`'s folders.
fn inside(path: &Path, tree: &[PathBuf]) -> bool {
    path.canonicalize()
        .is_ok_and(|real| tree.iter().any(|dir| real.starts_with(dir)))
}

/// PATH's absolute entries that are not inside `tree`.
fn outside_dirs(tree: &[PathBuf]) -> Vec<PathBuf> {
    let Some(path) = std::env::var_os("PATH") else {
        return Vec::new();
    };
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute() && !inside(dir, tree))
        .collect()
}

/// PATH without the entries inside the project: what a probe runs with.
pub fn safe_path(tree: &[PathBuf]) -> OsString {
    std::env::join_paths(outside_dirs(tree)).unwrap_or_default()
}

/// A regular file with an execute bit (on Unix; elsewhere any regular file).
#[cfg(unix)]
pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
pub fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// An executable named `name` on PATH, outside the project at `root`.
pub fn find(name: &str, root: &Path) -> Option<PathBuf> {
    let tree = project_tree(root);
    outside_dirs(&tree)
        .into_iter()
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate) && !inside(candidate, &tree))
}

/// An executable named `name` on the whole PATH that lies inside the project: one `find`
/// passed over, for a message.
pub fn found_inside(name: &str, root: &Path) -> Option<PathBuf> {
    let tree = project_tree(root);
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate) && inside(candidate, &tree))
}

/// Runs `program ARGS…` isolated from the project at `root` (see the module's text), with
/// stdin closed, and collects its output.
pub fn output<S: AsRef<OsStr>>(program: &Path, args: &[S], root: &Path) -> io::Result<Output> {
    with_path(program, args, &safe_path(&project_tree(root)))
}

/// Runs `program ARGS…` from a fresh temporary folder, with stdin closed and an environment
/// of `path` as PATH and [`KEPT_ENV`] only, and collects its output.
pub fn with_path<S: AsRef<OsStr>>(program: &Path, args: &[S], path: &OsStr) -> io::Result<Output> {
    let cwd = tempfile::Builder::new().prefix("gpu-ci-probe-").tempdir()?;
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(cwd.path())
        .env_clear()
        .env("PATH", path)
        .stdin(Stdio::null());
    for name in KEPT_ENV {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command.output()
}

/// `git -C root ARGS…`, isolated: git from outside the project, no `GIT_*` variables, and
/// none of the programs a repository's config can name (fsmonitor, hooks, gpg).
pub fn git(root: &Path, args: &[&str]) -> io::Result<Output> {
    let git = find("git", root).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "no git on PATH outside the project",
        )
    })?;
    let root = root.canonicalize()?;
    let mut all: Vec<&OsStr> = vec![OsStr::new("-C"), root.as_os_str()];
    all.extend(GIT_SAFETY.iter().chain(args).map(OsStr::new));
    output(&git, &all, &root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_and_its_work_tree_are_inside_the_tree() {
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(top.join(".git")).unwrap();
        std::fs::create_dir_all(top.join("python/.venv/bin")).unwrap();
        std::fs::create_dir_all(top.join(".venv/bin")).unwrap();
        let tree = project_tree(&top.join("python"));
        assert!(inside(&top.join("python/.venv/bin"), &tree));
        assert!(
            inside(&top.join(".venv/bin"), &tree),
            "the repository's top"
        );
        assert!(!inside(Path::new("/usr/bin"), &tree));
    }
}
