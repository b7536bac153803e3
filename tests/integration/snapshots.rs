//! Snapshots of everything `init --yes` writes: the default layout whole, every other fixture
//! layout and option as its difference from it; and of `--help`.

use crate::common::{FIXTURES, GENERATED, Project, gpu_ci};

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

/// The layout whose generated files are snapshotted whole; every other scenario's snapshot
/// holds only how its files differ from these (issue 27: a template change is one reviewed
/// diff, not seven copies of the runner).
const DEFAULT: &str = "uv-groups-src";

fn init(fixture: &str, args: &[&str]) -> Project {
    let project = Project::fixture(fixture);
    let mut full = vec!["init", "--yes"];
    full.extend_from_slice(args);
    project.gpu_ci(&full).success();
    project
}

fn config_of(project: &Project) -> String {
    let config = if project.path("pyproject.toml").is_file() {
        "pyproject.toml"
    } else {
        "gpu-ci.toml"
    };
    format!("=== {config} ===\n{}", project.read(config))
}

/// Every generated file whole, and the config.
fn whole(project: &Project) -> String {
    format!("{}\n{}", project.generated(), config_of(project))
}

/// A file with its hash line censored, so that only what it says is compared.
fn unhashed(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("gpu-ci-hash: ") {
            Some(at) => format!("{}gpu-ci-hash: [HASH]", &line[..at]),
            None => line.to_string(),
        })
        .map(|line| line + "\n")
        .collect()
}

/// Each generated file as a diff from the default layout's (the changed regions with three
/// lines of context, hunk headers without line numbers, so that a template change elsewhere
/// moves nothing here), `as in …` where it is the same; the config whole.
fn against_default(default: &Project, project: &Project) -> String {
    let mut text = String::new();
    for rel in GENERATED {
        let (base, new) = (unhashed(&default.read(rel)), unhashed(&project.read(rel)));
        if base == new {
            text += &format!("=== {rel}: as in init-{DEFAULT} ===\n");
            continue;
        }
        text += &format!("=== {rel}: changes from init-{DEFAULT} ===\n");
        let diff = similar::TextDiff::from_lines(&base, &new);
        for group in diff.grouped_ops(3) {
            text += "@@\n";
            for op in &group {
                for change in diff.iter_changes(op) {
                    let sign = match change.tag() {
                        similar::ChangeTag::Equal => ' ',
                        similar::ChangeTag::Delete => '-',
                        similar::ChangeTag::Insert => '+',
                    };
                    text += &format!("{sign}{}", change.value());
                }
            }
        }
    }
    text + &config_of(project)
}

/// The default layout, whole.
#[test]
fn default_layout_whole() {
    let text = whole(&init(DEFAULT, &[]));
    settings().bind(|| insta::assert_snapshot!(format!("init-{DEFAULT}"), text));
}

#[test]
fn every_fixture_layout() {
    let default = init(DEFAULT, &[]);
    for fixture in FIXTURES.iter().filter(|f| **f != DEFAULT) {
        let text = against_default(&default, &init(fixture, &[]));
        settings().bind(|| insta::assert_snapshot!(format!("init-{fixture}"), text));
    }
}

#[test]
fn fork_mode() {
    let default = init(DEFAULT, &[]);
    let text = against_default(&default, &init(DEFAULT, &["--fork-prs", "--gpu", "H100:2"]));
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
        ("help-cache", vec!["cache", "--help"]),
    ] {
        let output = gpu_ci().args(&args).output().unwrap();
        assert!(output.status.success());
        let text = String::from_utf8(output.stdout).unwrap();
        settings().bind(|| insta::assert_snapshot!(name, text));
    }
}
