//! `gpu-ci update` through the binary: each path of the three-way update, and `--check`.

use std::process::Command;

use predicates::prelude::*;

use crate::common::{GENERATED, Project};

const REUSABLE: &str = GENERATED[0];
const RUN: &str = GENERATED[2];
const RUNNER: &str = GENERATED[3];

fn set_config(project: &Project, from: &str, to: &str) {
    let text = project.read("pyproject.toml");
    assert!(text.contains(from), "{text}");
    project.write("pyproject.toml", &text.replacen(from, to, 1));
}

fn git(project: &Project, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(&project.root)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
        .args(args)
        .output()
        .unwrap();
    assert!(status.status.success(), "git {args:?}: {status:?}");
}

/// Lines present in `after` but not in `before`, and the reverse.
fn changed_lines(before: &str, after: &str) -> (Vec<String>, Vec<String>) {
    let b: Vec<&str> = before.lines().collect();
    let a: Vec<&str> = after.lines().collect();
    let added = a
        .iter()
        .filter(|l| !b.contains(l))
        .map(|l| l.to_string())
        .collect();
    let removed = b
        .iter()
        .filter(|l| !a.contains(l))
        .map(|l| l.to_string())
        .collect();
    (added, removed)
}

#[test]
fn untouched_files_are_replaced_and_check_goes_green() {
    let project = Project::initialised("uv-groups-src");
    project.gpu_ci(&["update", "--check"]).success();
    set_config(&project, "gpu = \"L4\"", "gpu = \"A100-80GB\"");
    let before = project.snapshot_tree();
    project
        .gpu_ci(&["update", "--check"])
        .code(1)
        .stdout(predicate::str::contains(format!(
            "--- a/{RUNNER}\n+++ b/{RUNNER}"
        )))
        .stdout(predicate::str::contains("+GPU_DEFAULT = \"A100-80GB\""))
        .stderr(predicate::str::contains(
            "error: generated files are out of date",
        ));
    project
        .gpu_ci(&["update", "--dry-run", "--diff"])
        .success()
        .stdout(predicate::str::contains("+GPU_DEFAULT = \"A100-80GB\""));
    assert_eq!(
        before,
        project.snapshot_tree(),
        "--check and --dry-run write nothing"
    );
    project
        .gpu_ci(&["update"])
        .success()
        .stderr(predicate::str::contains(format!(" updated {RUNNER}")));
    assert!(project.read(RUNNER).contains("GPU_DEFAULT = \"A100-80GB\""));
    project.gpu_ci(&["update", "--check"]).success();
}

/// A config change alters exactly the lines that carry it, even in a file edited elsewhere.
#[test]
fn edits_elsewhere_survive_and_only_the_setting_lines_change() {
    let project = Project::initialised("uv-groups-src");
    let original = project.read(REUSABLE);
    let edited = original
        .replace(
            "permissions: {}\n",
            "permissions: {}\n# our team: ping @gpu-owners on failure\n",
        )
        .replace(
            "          if-no-files-found: warn\n",
            "          if-no-files-found: warn\n          compression-level: 9\n",
        );
    project.write(REUSABLE, &edited);
    set_config(&project, "gpu = \"L4\"", "gpu = \"H200\"");
    project
        .gpu_ci(&["update"])
        .success()
        .stderr(predicate::str::contains(format!("  merged {REUSABLE}")));
    let after = project.read(REUSABLE);
    let (added, removed) = changed_lines(&edited, &after);
    assert!(after.contains("# our team: ping @gpu-owners on failure\n"));
    assert!(after.contains("          compression-level: 9\n"));
    for line in added.iter().chain(&removed) {
        assert!(
            line.contains("H200") || line.contains("L4") || line.contains("gpu-ci-hash"),
            "unexpected change: {line}"
        );
    }
    assert_eq!(added.len(), 3, "{added:#?}");
    project.gpu_ci(&["update", "--check"]).success();
    // A second update has nothing left to do.
    let tree = project.snapshot_tree();
    project.gpu_ci(&["update"]).success();
    assert_eq!(tree, project.snapshot_tree());
}

#[test]
fn overlapping_edit_becomes_conflict_markers_keeping_both_sides() {
    let project = Project::initialised("uv-groups-src");
    let mine = "          MODAL_GPU: ${{ inputs.gpu || 'T4' }}\n";
    let edited = project.read(REUSABLE).replace(
        "          MODAL_GPU: ${{ inputs.gpu || vars.MODAL_GPU || 'L4' }}\n",
        mine,
    );
    project.write(REUSABLE, &edited);
    set_config(&project, "gpu = \"L4\"", "gpu = \"H100\"");
    project
        .gpu_ci(&["update"])
        .code(1)
        .stderr(predicate::str::contains(format!(
            "error: your edits and the new templates overlap in `{REUSABLE}` (1 conflict)"
        )))
        .stderr(predicate::str::contains(
            "help: both sides are kept between <<<<<<< and >>>>>>> markers",
        ));
    let after = project.read(REUSABLE);
    let conflict = format!(
        "<<<<<<< yours ({REUSABLE})\n{mine}=======\n          MODAL_GPU: ${{{{ inputs.gpu || vars.MODAL_GPU || 'H100' }}}}\n>>>>>>> gpu-ci "
    );
    assert!(after.contains(&conflict), "{after}");
    // Other files were updated as usual.
    assert!(project.read(RUNNER).contains("GPU_DEFAULT = \"H100\""));
}

#[test]
fn unrecoverable_base_writes_the_new_render_beside() {
    let project = Project::initialised("uv-groups-src");
    std::fs::remove_file(project.path(".gpu-ci.lock")).unwrap();
    let edited = format!("{}# local tweak\n", project.read(RUN));
    project.write(RUN, &edited);
    set_config(&project, "gpu = \"L4\"", "gpu = \"L40S\"");
    project
        .gpu_ci(&["update"])
        .code(1)
        .stderr(predicate::str::contains(format!(
            "wrote {RUN}.new beside your edited {RUN}"
        )))
        .stderr(predicate::str::contains(
            "error: cannot tell what gpu-ci wrote in",
        ))
        .stderr(predicate::str::contains("so your file is left as it is"));
    assert_eq!(project.read(RUN), edited);
    assert!(
        project.read(&format!("{RUN}.new")).contains("'L40S'")
            || project.read(&format!("{RUN}.new")).contains("L40S")
    );
}

#[test]
fn older_version_base_comes_from_git_history() {
    let project = Project::initialised("uv-groups-src");
    git(&project, &["init", "-q"]);
    git(&project, &["add", "-A"]);
    git(&project, &["commit", "-q", "-m", "gpu-ci init"]);
    // As if an older gpu-ci had written these files: its lock cannot re-render them.
    let lock = project.read(".gpu-ci.lock");
    project.write(
        ".gpu-ci.lock",
        &lock.replacen(env!("CARGO_PKG_VERSION"), "0.0.9", 1),
    );
    let edited = project
        .read(RUNNER)
        .replace("import modal\n", "import modal\n\nEXTRA = 1  # ours\n");
    project.write(RUNNER, &edited);
    set_config(&project, "pytest-args = \"-v\"", "pytest-args = \"-ra\"");
    project
        .gpu_ci(&["update"])
        .success()
        .stderr(predicate::str::contains(format!("  merged {RUNNER}")));
    let after = project.read(RUNNER);
    assert!(after.contains("EXTRA = 1  # ours\n"));
    assert!(after.contains("PYTEST_ARGS = \"-ra\""));
    project.gpu_ci(&["update", "--check"]).success();
}

#[test]
fn deleted_files_stay_deleted_unless_forced() {
    let project = Project::initialised("uv-groups-src");
    std::fs::remove_file(project.path(RUN)).unwrap();
    project
        .gpu_ci(&["update"])
        .success()
        .stderr(predicate::str::contains(format!("kept {RUN} deleted")));
    assert!(!project.path(RUN).exists());
    project.gpu_ci(&["update", "--check"]).success();
    project.gpu_ci(&["update", "--force"]).success();
    assert!(project.path(RUN).exists());

    // A file the lock never listed (a newer gpu-ci's) is created.
    let lock = project.read(".gpu-ci.lock");
    project.write(
        ".gpu-ci.lock",
        &lock.replace(&format!("    \"{RUN}\",\n"), ""),
    );
    std::fs::remove_file(project.path(RUN)).unwrap();
    project
        .gpu_ci(&["update"])
        .success()
        .stderr(predicate::str::contains(format!(" created {RUN}")));
}

#[test]
fn update_refuses_bad_config_and_uninitialised_projects() {
    let project = Project::fixture("uv-groups-src");
    project
        .gpu_ci(&["update"])
        .code(2)
        .stderr(predicate::str::contains("error: gpu-ci is not set up here"))
        .stderr(predicate::str::contains("run `gpu-ci init` first"));
    project.gpu_ci(&["init", "--yes"]).success();
    let text = project.read("pyproject.toml");
    project.write("pyproject.toml", &format!("{text}labels = \"x\"\n"));
    project
        .gpu_ci(&["update"])
        .code(2)
        .stderr(predicate::str::contains(
            "error: unknown key `labels` in [tool.gpu-ci] in pyproject.toml\nhelp: did you mean `label`?",
        ));
}

#[test]
fn init_on_an_initialised_project_points_to_update() {
    let project = Project::initialised("extras-flat");
    project
        .gpu_ci(&["init"])
        .success()
        .stderr(predicate::str::contains("run `gpu-ci update`"));
}

/// Each bad value in the config or lock: exit 2, one `error:` naming it, nothing written.
#[test]
fn bad_config_values_and_lock_say_what_to_fix() {
    let project = Project::initialised("uv-groups-src");
    let good = project.read("pyproject.toml");
    let cases = [
        (
            "timeout = \"soon\"\n",
            "error: `timeout` in [tool.gpu-ci] in pyproject.toml must be a positive number of seconds",
        ),
        (
            "fork-prs = \"yes\"\n",
            "error: `fork-prs` in [tool.gpu-ci] in pyproject.toml must be true or false",
        ),
        (
            "framework = \"mxnet\"\n",
            "error: unknown framework `mxnet`; valid values are torch, jax, tensorflow, cupy, none",
        ),
        (
            "[tool.gpu-ci.actions]\n\"actions/checkout\" = \"v4\"\n",
            "error: `actions.\"actions/checkout\"` = `v4` is not a pin: write \"<40 lowercase hex digits of a commit> # vX.Y.Z\"\nhelp: `gpu-ci pin` resolves and writes them for you",
        ),
        (
            "[tool.gpu-ci.actions]\n\"someone/else\" = \"11bd71901bbe5b1630ceea73d27597364c9af683 # v1.0.0\"\n",
            "error: `actions.\"someone/else\"`: the generated workflows use no action `someone/else`\nhelp: they use actions/checkout, actions/setup-python",
        ),
    ];
    for (addition, message) in cases {
        project.write("pyproject.toml", &format!("{good}{addition}"));
        let before = project.snapshot_tree();
        project
            .gpu_ci(&["update"])
            .code(2)
            .stderr(predicate::str::contains(message));
        assert_eq!(before, project.snapshot_tree(), "{addition}");
    }
    project.write("pyproject.toml", &good);
    project.write(".gpu-ci.lock", "{ not json");
    project
        .gpu_ci(&["update"])
        .code(2)
        .stderr(predicate::str::contains(
            "error: `.gpu-ci.lock` is not a gpu-ci lock",
        ))
        .stderr(predicate::str::contains(
            "help: restore it from git, or delete `.gpu-ci.lock` and run `gpu-ci update`, which rebuilds it and keeps your edits to the generated files",
        ));
}

/// Issue 24: `update --check --json`: only JSON on stdout, parsed here; each file that would
/// change with its kind and diff, one that holds conflict markers as `unresolved`; exit 1.
#[test]
fn check_json_lists_each_file_that_would_change() {
    let project = Project::initialised("uv-groups-src");
    let json = |project: &Project, code: i32| -> serde_json::Value {
        let output = project
            .gpu_ci(&["update", "--check", "--json"])
            .code(code)
            .get_output()
            .clone();
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(&output.stdout)))
    };
    assert_eq!(
        json(&project, 0),
        serde_json::json!({ "up_to_date": true, "files": [] })
    );

    set_config(&project, "gpu = \"L4\"", "gpu = \"A100-80GB\"");
    let before = project.snapshot_tree();
    let answer = json(&project, 1);
    assert_eq!(before, project.snapshot_tree(), "--check --json wrote");
    assert_eq!(answer["up_to_date"], false);
    let files = answer["files"].as_array().unwrap();
    let runner = files
        .iter()
        .find(|f| f["path"] == RUNNER)
        .unwrap_or_else(|| panic!("{answer:#}"));
    assert_eq!(runner["change"], "update");
    let diff = runner["diff"].as_str().unwrap();
    assert!(diff.contains(&format!("--- a/{RUNNER}")), "{diff}");
    assert!(diff.contains("+GPU_DEFAULT = \"A100-80GB\""), "{diff}");
    for file in files {
        assert!(
            ["create", "update", "conflict", "beside", "unresolved"]
                .contains(&file["change"].as_str().unwrap()),
            "{file}"
        );
    }

    // A file with conflict markers is named as such.
    project.gpu_ci(&["update"]).success();
    let text = project.read(RUNNER);
    project.write(
        RUNNER,
        &format!("<<<<<<< yours\n=======\n>>>>>>> gpu-ci\n{text}"),
    );
    let answer = json(&project, 1);
    assert!(
        answer["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == RUNNER && f["change"] == "unresolved" && f["diff"].is_null()),
        "{answer:#}"
    );

    // --json says how it answers; it is --check's.
    project
        .gpu_ci(&["update", "--json"])
        .code(2)
        .stderr(predicate::str::contains("--check"));
}

#[test]
fn gitlab_and_bitbucket_projects_get_no_github_folder() {
    for ci in ["gitlab", "bitbucket"] {
        let project = Project::fixture("extras-flat");
        project.gpu_ci(&["init", "--yes", "--ci", ci]).success();
        assert!(project.path(".gpu-ci.lock").is_file(), "{ci}");
        assert!(!project.path(".github").exists(), "{ci}: a stray .github/");
        project.gpu_ci(&["update", "--check"]).success();
    }
}

/// A lock where gpu-ci 0.1 kept it, `.github/gpu-ci.lock`, after an init of the time.
fn with_legacy_lock(ci: &str) -> Project {
    let project = Project::fixture("extras-flat");
    project.gpu_ci(&["init", "--yes", "--ci", ci]).success();
    let lock = project.read(".gpu-ci.lock");
    std::fs::remove_file(project.path(".gpu-ci.lock")).unwrap();
    project.write(".github/gpu-ci.lock", &lock);
    project
}

#[test]
fn update_moves_a_lock_from_github_to_the_root_keeping_edits() {
    let project = with_legacy_lock("gitlab");
    // The old lock is still the base of a merge: an edit survives a settings change.
    let runner = project
        .read(RUNNER)
        .replacen("\n", "\n# my edit: keep me\n", 1);
    project.write(RUNNER, &runner);
    set_config(&project, "gpu = \"L4\"", "gpu = \"T4\"");
    project
        .gpu_ci(&["update", "--dry-run"])
        .success()
        .stdout(predicate::str::contains(
            "would move .github/gpu-ci.lock to .gpu-ci.lock",
        ));
    assert!(project.path(".github/gpu-ci.lock").is_file());
    project
        .gpu_ci(&["update"])
        .success()
        .stderr(predicate::str::contains(
            "moved .github/gpu-ci.lock to .gpu-ci.lock",
        ));
    assert!(project.read(RUNNER).contains("# my edit: keep me"));
    assert!(project.read(RUNNER).contains("GPU_DEFAULT = \"T4\""));
    assert!(project.path(".gpu-ci.lock").is_file());
    // A GitLab project is left with no .github/ at all.
    assert!(!project.path(".github").exists());
    project.gpu_ci(&["update", "--check"]).success();

    // On GitHub, the folder stays for the workflows.
    let project = with_legacy_lock("github");
    project.gpu_ci(&["update"]).success();
    assert!(!project.path(".github/gpu-ci.lock").exists());
    assert!(project.path(REUSABLE).is_file());
}

#[cfg(unix)]
#[test]
fn moving_the_lock_never_deletes_through_a_linked_github_folder() {
    let project = with_legacy_lock("gitlab");
    let lock = project.read(".github/gpu-ci.lock");
    std::fs::remove_dir_all(project.path(".github")).unwrap();
    // `.github` links to a folder outside the project, holding a file of the same name.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("gpu-ci.lock"), &lock).unwrap();
    std::os::unix::fs::symlink(outside.path(), project.path(".github")).unwrap();
    // update refuses to read a lock through the link; init --force reads no lock, but still
    // must not remove the file as a lock that moved.
    let _ = project.gpu_ci(&["update"]);
    project
        .gpu_ci(&["init", "--yes", "--force", "--ci", "gitlab"])
        .success()
        .stderr(predicate::str::contains(
            "warning: left `.github/gpu-ci.lock` where it is",
        ));
    assert_eq!(
        std::fs::read_to_string(outside.path().join("gpu-ci.lock")).unwrap(),
        lock,
        "a file outside the project was touched"
    );
}
