//! Issue 14, findings 3, 4 and 8: the bytes of the maintainer's files and config shapes that
//! panicked. (Finding 1 is in hostile_server.rs, 2 in signals.rs, 6 in transaction.rs.)

use std::fs;
use std::path::Path;

use crate::common::Project;
use crate::pin::{FakeGitHub, pin, routes, sha};
use crate::transaction::assert_refused;

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
            &["init", "--yes", "--dry-run"],
            &["update"],
            &["update", "--check"],
            &["config"],
        ] {
            assert_refused(&project, args, message);
        }
    }
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
