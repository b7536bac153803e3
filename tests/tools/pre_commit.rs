//! The pre-commit hook in `.pre-commit-hooks.yaml`, tried as a user would: `pre-commit
//! try-repo` on this repository, in a sample project. The hook is `language: python`, so
//! pre-commit pip-installs gpu-ci from the repository into an environment of its own, as it does
//! on pre-commit.ci; nothing named gpu-ci is on PATH.
//!
//! The install is offline: pip finds only the build backend (maturin's wheel in
//! `.venv/wheelhouse`, which scripts/test.sh downloads), and cargo builds from its local
//! registry cache (`CARGO_NET_OFFLINE`; scripts/test.sh's `cargo fetch` fills it with every
//! platform's crates, which `cargo metadata` reads), with Cargo.lock's versions (`locked = true`
//! in pyproject.toml). `try-repo` installs the hook into a store of its own on every call;
//! `pre-commit run` with a config naming the repository's commit installs it once into the
//! store it is given. Every build shares one target folder under the one cargo test uses, so
//! only the first compiles the dependencies (kept for later runs); the release profile at
//! opt-level 0 keeps that build short, and what it proves (the hook installs and runs gpu-ci of
//! this checkout) does not depend on the optimisation.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use tempfile::TempDir;

use crate::common::{Project, describe, git, gpu_ci_path, repo_root, scrub_env};
use crate::installed::tool;

/// This checkout as pre-commit would clone it at a tag: its tracked and untracked (not ignored)
/// files, committed in a repository of their own; and that commit.
struct HookRepo {
    repo: TempDir,
    rev: String,
}

fn hook_repo() -> &'static HookRepo {
    static REPO: OnceLock<HookRepo> = OnceLock::new();
    REPO.get_or_init(|| {
        let repo = tempfile::tempdir().unwrap();
        let listed = Command::new("git")
            .arg("-C")
            .arg(repo_root())
            .args([
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ])
            .output()
            .unwrap();
        assert!(listed.status.success(), "{}", describe(&listed));
        for rel in listed.stdout.split(|b| *b == 0).filter(|p| !p.is_empty()) {
            let rel = std::str::from_utf8(rel).unwrap();
            let from = repo_root().join(rel);
            // A tracked file deleted in the working tree is not part of it.
            if !from.is_file() {
                continue;
            }
            let to = repo.path().join(rel);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&from, &to).unwrap();
        }
        git(repo.path(), &["init", "-q"]);
        git(repo.path(), &["add", "-A"]);
        git(
            repo.path(),
            &["commit", "-q", "-m", "gpu-ci at this checkout"],
        );
        let head = Command::new("git")
            .arg("-C")
            .arg(repo.path())
            .args(["rev-parse", "HEAD"])
            .output()
            .unwrap();
        assert!(head.status.success(), "{}", describe(&head));
        let rev = String::from_utf8(head.stdout).unwrap().trim().to_owned();
        HookRepo { repo, rev }
    })
}

/// `pre-commit ARGS…` in the project, offline, with `home` as PRE_COMMIT_HOME.
fn pre_commit(project: &Project, home: &Path, args: &[&OsStr]) -> Output {
    let wheelhouse = repo_root().join(".venv/wheelhouse");
    assert!(
        wheelhouse.is_dir(),
        "{} is missing: run scripts/test.sh, which downloads maturin's wheel there",
        wheelhouse.display()
    );
    // Whatever runs is what pre-commit installed: there is no other gpu-ci to find.
    let path = std::env::var_os("PATH").unwrap();
    for dir in std::env::split_paths(&path) {
        assert!(
            !dir.join("gpu-ci").exists(),
            "{} is on PATH: the test would not show that the hook installs its own",
            dir.join("gpu-ci").display()
        );
    }
    // One pre-commit at a time: maturin moves the binary cargo built out of the shared target
    // folder, so two builds at once can lose each other's.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut cmd = Command::new(tool("pre-commit"));
    cmd.args(args)
        .args(["--color", "never"])
        .current_dir(&project.root)
        .env("PRE_COMMIT_HOME", home)
        // pip: no index, only the build backend's wheel.
        .env("PIP_NO_INDEX", "1")
        .env("PIP_FIND_LINKS", &wheelhouse)
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("VIRTUALENV_NO_PERIODIC_UPDATE", "true")
        // cargo: the crates from its local cache, into a target folder kept between runs.
        .env("CARGO_NET_OFFLINE", "true")
        .env(
            "CARGO_TARGET_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("pre-commit-build"),
        )
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0");
    scrub_env(&mut cmd).output().unwrap()
}

/// `pre-commit try-repo` with the hook, as a user tries it, on the files `selection` names
/// (`--all-files`, or `--files PATH…`). It installs the hook into a store of its own each time.
fn try_repo(project: &Project, selection: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut args: Vec<&OsStr> = vec![
        "try-repo".as_ref(),
        hook_repo().repo.path().as_os_str(),
        "gpu-ci-check".as_ref(),
    ];
    args.extend(selection.iter().map(OsStr::new));
    pre_commit(project, home.path(), &args)
}

/// `pre-commit run` with a config that names the hook's repository at its commit, as a user's
/// `.pre-commit-config.yaml` names a tag, kept outside the project; the store is `home`, so the
/// hook is installed once for every call with the same `home`.
fn run_hook(project: &Project, home: &Path, selection: &[&str]) -> Output {
    let hook = hook_repo();
    let config = home.join("pre-commit-config.yaml");
    std::fs::write(
        &config,
        format!(
            "repos:\n  - repo: {}\n    rev: {}\n    hooks:\n      - id: gpu-ci-check\n",
            hook.repo.path().display(),
            hook.rev
        ),
    )
    .unwrap();
    let mut args: Vec<&OsStr> = vec!["run".as_ref(), "--config".as_ref(), config.as_os_str()];
    args.extend(selection.iter().map(OsStr::new));
    pre_commit(project, home, &args)
}

/// The gpu-ci that pre-commit installed into the hook's environment in the store `home`.
fn installed_gpu_ci(home: &Path) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(home)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .flat_map(|repo| std::fs::read_dir(repo.path()).unwrap().flatten())
        .map(|env| env.path().join("bin/gpu-ci"))
        .filter(|bin| bin.is_file())
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one gpu-ci in the hook's environments: {found:?}"
    );
    found.into_iter().next().unwrap()
}

fn version(bin: &Path) -> String {
    let output = scrub_env(Command::new(bin).arg("--version"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn try_repo_passes_on_current_files_and_fails_on_stale_ones() {
    let project = Project::initialised("uv-groups-src");
    git(&project.root, &["init", "-q"]);
    git(&project.root, &["add", "-A"]);
    git(&project.root, &["commit", "-q", "-m", "gpu-ci init"]);

    let output = try_repo(&project, &["--all-files"]);
    let text = describe(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("gpu-ci update --check"), "{text}");
    assert!(text.contains("Passed"), "{text}");

    // A setting changed without `gpu-ci update`: the hook fails and says what to run.
    let config = project.read("pyproject.toml");
    project.write(
        "pyproject.toml",
        &config.replacen("gpu = \"L4\"", "gpu = \"H100\"", 1),
    );
    let output = try_repo(&project, &["--all-files"]);
    let text = describe(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("Failed"), "{text}");
    assert!(text.contains("generated files are out of date"), "{text}");
    assert!(text.contains("run `gpu-ci update`"), "{text}");
}

#[test]
fn the_hook_installs_its_own_gpu_ci_and_runs_when_only_the_lock_or_a_ci_file_changed() {
    let project = Project::fixture("uv-groups-src");
    project
        .gpu_ci(&["init", "--yes", "--ci", "gitlab,bitbucket"])
        .success();
    git(&project.root, &["init", "-q"]);
    git(&project.root, &["add", "-A"]);
    git(&project.root, &["commit", "-q", "-m", "gpu-ci init"]);
    // gpu-ci's `include:` gone from `.gitlab-ci.yml`: `gpu-ci update` would add it back.
    project.write(".gitlab-ci.yml", "stages: [test]\n");
    let home = tempfile::tempdir().unwrap();
    for file in [
        ".gpu-ci.lock",
        ".gitlab-ci.yml",
        ".gitlab/gpu-ci.yml",
        ".gitlab/gpu-ci-note.py",
        "bitbucket-pipelines.yml",
        ".bitbucket/gpu-ci-comment.py",
    ] {
        let output = run_hook(&project, home.path(), &["--files", file]);
        let text = describe(&output);
        assert_eq!(output.status.code(), Some(1), "{file}: {text}");
        assert!(text.contains("Failed"), "{file}: {text}");
    }
    // A file the hook does not watch: skipped.
    let output = run_hook(&project, home.path(), &["--files", "uv.lock"]);
    let text = describe(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("Skipped"), "{text}");

    // The gpu-ci that ran is the one pre-commit built from the repository at its `rev:`: this
    // checkout's version and template set, as this build's gpu-ci names them.
    assert_eq!(
        version(&installed_gpu_ci(home.path())),
        version(gpu_ci_path())
    );
}
