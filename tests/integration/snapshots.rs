//! Snapshots of everything `init --yes` writes, one per fixture layout, and of `--help`.

use crate::common::{FIXTURES, Project, gpu_ci};

/// Shared insta settings: top-level `snapshots/`, no module prefix, versions censored.
pub fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.add_filter(r"gpu-ci \d+\.\d+\.\d+(-[0-9A-Za-z.]+)?", "gpu-ci [VERSION]");
    settings.add_filter(r"gpu-ci-\d+\.\d+\.\d+", "gpu-ci-[VERSION]");
    settings.add_filter(r"gpu-ci-hash: [0-9a-f]{16}", "gpu-ci-hash: [HASH]");
    settings
}

fn init_snapshot(fixture: &str, args: &[&str]) -> String {
    let project = Project::fixture(fixture);
    let mut full = vec!["init", "--yes"];
    full.extend_from_slice(args);
    project.gpu_ci(&full).success();
    let config = if project.path("pyproject.toml").is_file() {
        "pyproject.toml"
    } else {
        "gpu-ci.toml"
    };
    format!(
        "{}\n=== {config} ===\n{}",
        project.generated(),
        project.read(config)
    )
}

#[test]
fn every_fixture_layout() {
    for fixture in FIXTURES {
        let text = init_snapshot(fixture, &[]);
        settings().bind(|| insta::assert_snapshot!(format!("init-{fixture}"), text));
    }
}

#[test]
fn fork_mode() {
    let text = init_snapshot("uv-groups-src", &["--fork-prs", "--gpu", "H100:2"]);
    settings().bind(|| insta::assert_snapshot!("init-uv-groups-src-fork-prs", text));
}

/// Everything `init --ci SYSTEM` writes for GitLab and for Bitbucket (issue 17), with the
/// `.gitlab-ci.yml` gpu-ci creates.
#[test]
fn gitlab_and_bitbucket_targets() {
    for (name, fixture, ci, files) in [
        (
            "init-uv-groups-src-gitlab",
            "uv-groups-src",
            "gitlab",
            &[
                ".gitlab-ci.yml",
                ".gitlab/gpu-ci.yml",
                ".gitlab/gpu-ci-note.py",
            ][..],
        ),
        (
            "init-extras-flat-bitbucket",
            "extras-flat",
            "bitbucket",
            &["bitbucket-pipelines.yml", ".bitbucket/gpu-ci-comment.py"][..],
        ),
    ] {
        let project = Project::fixture(fixture);
        project.gpu_ci(&["init", "--yes", "--ci", ci]).success();
        let text = files
            .iter()
            .chain(&["pyproject.toml"])
            .map(|rel| format!("=== {rel} ===\n{}", project.read(rel)))
            .collect::<Vec<_>>()
            .join("\n");
        settings().bind(|| insta::assert_snapshot!(name, text));
    }
}

#[test]
fn help_texts() {
    for (name, args) in [
        ("help", vec!["--help"]),
        ("help-init", vec!["init", "--help"]),
        ("help-run", vec!["run", "--help"]),
        ("help-update", vec!["update", "--help"]),
        ("help-pin", vec!["pin", "--help"]),
        ("help-github-setup", vec!["github", "setup", "--help"]),
        ("help-doctor", vec!["doctor", "--help"]),
        ("help-costs", vec!["costs", "--help"]),
    ] {
        let output = gpu_ci().args(&args).output().unwrap();
        assert!(output.status.success());
        let text = String::from_utf8(output.stdout).unwrap();
        settings().bind(|| insta::assert_snapshot!(name, text));
    }
}
