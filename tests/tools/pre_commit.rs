//! The pre-commit hook in `.pre-commit-hooks.yaml`, tried as a user would: `pre-commit
//! try-repo` on this repository, in a sample project, with this build's gpu-ci on PATH
//! (`language: system`, so nothing is fetched).

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{Project, describe, git, gpu_ci_path, repo_root, scrub_env};
use crate::installed::tool;

/// `pre-commit try-repo` with the hook, on the files `selection` names (`--all-files`, or
/// `--files PATH…`).
fn try_repo(project: &Project, home: &Path, selection: &[&str]) -> Output {
    let bin = home.join("bin");
    if !bin.is_dir() {
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(gpu_ci_path(), bin.join("gpu-ci")).unwrap();
    }
    let path = std::env::join_paths(
        std::iter::once(bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let mut cmd = Command::new(tool("pre-commit"));
    cmd.arg("try-repo")
        .arg(repo_root())
        .arg("gpu-ci-check")
        .args(selection)
        .args(["--color", "never"])
        .current_dir(&project.root)
        .env("PATH", path)
        .env("PRE_COMMIT_HOME", home.join("cache"));
    scrub_env(&mut cmd).output().unwrap()
}

#[test]
fn the_hook_passes_on_current_files_and_fails_on_stale_ones() {
    let project = Project::initialised("uv-groups-src");
    git(&project.root, &["init", "-q"]);
    git(&project.root, &["add", "-A"]);
    git(&project.root, &["commit", "-q", "-m", "gpu-ci init"]);
    let home = tempfile::tempdir().unwrap();

    let output = try_repo(&project, home.path(), &["--all-files"]);
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
    let output = try_repo(&project, home.path(), &["--all-files"]);
    let text = describe(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("Failed"), "{text}");
    assert!(text.contains("generated files are out of date"), "{text}");
    assert!(text.contains("run `gpu-ci update`"), "{text}");
}

#[test]
fn the_hook_runs_when_only_a_gitlab_or_bitbucket_file_changed() {
    let project = Project::fixture("uv-groups-src");
    project
        .gpu_ci(&["init", "--yes", "--ci", "gitlab,bitbucket"])
        .success();
    git(&project.root, &["init", "-q"]);
    git(&project.root, &["add", "-A"]);
    git(&project.root, &["commit", "-q", "-m", "gpu-ci init"]);
    let home = tempfile::tempdir().unwrap();
    // gpu-ci's `include:` gone from `.gitlab-ci.yml`: `gpu-ci update` would add it back.
    project.write(".gitlab-ci.yml", "stages: [test]\n");
    for file in [
        ".gitlab-ci.yml",
        ".gitlab/gpu-ci.yml",
        ".gitlab/gpu-ci-note.py",
        "bitbucket-pipelines.yml",
        ".bitbucket/gpu-ci-comment.py",
    ] {
        let output = try_repo(&project, home.path(), &["--files", file]);
        let text = describe(&output);
        assert_eq!(output.status.code(), Some(1), "{file}: {text}");
        assert!(text.contains("Failed"), "{file}: {text}");
    }
}
