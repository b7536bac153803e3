//! `gpu-ci init` through the binary: detection, flags, refusal, `--dry-run` and bad input.

use predicates::prelude::*;

use crate::common::{FIXTURES, GENERATED, Project};

/// What `init --yes` must pick on each fixture: the config's install line and Python.
#[test]
fn yes_picks_install_source_and_python_per_layout() {
    let expected = [
        ("uv-groups-src", "group = \"tests\"", "3.12", "gpu-ci.toml"),
        ("extras-flat", "extra = \"test\"", "3.11", "gpu-ci.toml"),
        (
            "setup-requirements",
            "requirements = \"requirements/test.txt\"",
            "3.12",
            "pyproject.toml",
        ),
        ("poetry-groups", "group = \"test\"", "3.12", "gpu-ci.toml"),
        ("jax-project", "extra = \"testing\"", "3.12", "gpu-ci.toml"),
        (
            "no-pyproject",
            "requirements = \"requirements-dev.txt\"",
            "3.12",
            "pyproject.toml",
        ),
    ];
    for (fixture, install, python, absent) in expected {
        let project = Project::fixture(fixture);
        project.gpu_ci(&["init", "--yes"]).success();
        for rel in GENERATED {
            assert!(project.path(rel).is_file(), "{fixture}: {rel} missing");
        }
        assert!(!project.path(absent).exists(), "{fixture}: wrote {absent}");
        let config = if project.path("pyproject.toml").is_file() {
            project.read("pyproject.toml")
        } else {
            project.read("gpu-ci.toml")
        };
        assert!(config.contains(install), "{fixture}: {config}");
        assert!(
            config.contains(&format!("python = \"{python}\"")),
            "{fixture}: {config}"
        );
        let runner = project.read(".modal/test_runner.py");
        assert!(
            runner.contains(&format!("or \"{python}\"")),
            "{fixture}: Python not rendered into the runner"
        );
    }
}

#[test]
fn pyproject_keeps_every_other_byte() {
    let project = Project::fixture("extras-flat");
    let before = project.read("pyproject.toml");
    project.gpu_ci(&["init"]).success();
    let after = project.read("pyproject.toml");
    assert!(after.starts_with(&before), "{after}");
    assert_eq!(
        &after[before.len()..],
        "\n[tool.gpu-ci]\ngpu = \"L4\"\npython = \"3.11\"\ntest-path = \"test/\"\npytest-args = \"-v\"\nlabel = \"gpu-tests\"\nextra = \"test\"\n"
    );
}

#[test]
fn a_trailing_comment_block_stays_in_its_table_above_the_new_section() {
    let project = Project::fixture("extras-flat");
    let before = format!(
        "{}\n# dependencies = [\n#   \"torch\",\n# ]\n",
        project.read("pyproject.toml")
    );
    project.write("pyproject.toml", &before);
    project.gpu_ci(&["init", "--yes"]).success();
    let after = project.read("pyproject.toml");
    assert!(after.starts_with(&before), "{after}");
    assert!(
        after[before.len()..].starts_with("\n[tool.gpu-ci]\ngpu = \"L4\"\n"),
        "{after}"
    );
    // Uncommenting the block puts the key back where it was, never into [tool.gpu-ci].
    project.write(
        "pyproject.toml",
        &after.replace(
            "# dependencies = [\n#   \"torch\",\n# ]",
            "dependencies = [\n  \"torch\",\n]",
        ),
    );
    project.gpu_ci(&["config"]).success();
    // A second init leaves it all alone.
    let settled = project.read("pyproject.toml");
    project.gpu_ci(&["init", "--yes"]).success();
    assert_eq!(settled, project.read("pyproject.toml"));
}

#[test]
fn stdin_not_a_terminal_implies_yes() {
    let project = Project::fixture("uv-groups-src");
    project
        .gpu_ci(&["init"])
        .success()
        .stderr(predicate::str::contains(
            "installing test dependencies from dependency group `tests`; change it with --group, --extra or --requirements",
        ));
}

#[test]
fn flags_reach_config_and_files() {
    let project = Project::fixture("extras-flat");
    project
        .gpu_ci(&[
            "init",
            "--gpu",
            "h100:2",
            "--python",
            "3.13",
            "--test-path",
            "test/gpu",
            "--pytest-args",
            "-x -q -k 'cuda and not slow'",
            "--label",
            "run gpu",
            "--extra",
            "docs",
        ])
        .success();
    let config = project.read("pyproject.toml");
    for line in [
        "gpu = \"H100:2\"",
        "python = \"3.13\"",
        "test-path = \"test/gpu\"",
        "pytest-args = \"-x -q -k 'cuda and not slow'\"",
        "label = \"run gpu\"",
        "extra = \"docs\"",
    ] {
        assert!(config.contains(line), "{line} not in {config}");
    }
    let runner = project.read(".modal/test_runner.py");
    assert!(runner.contains("GPU_DEFAULT = \"H100:2\""));
    assert!(runner.contains("PYTEST_ARGS = \"-x -q -k 'cuda and not slow'\""));
    // No uv.lock: the extra is installed for the image's Python alone (issue 21).
    assert!(runner.contains("uv pip install --system -r pyproject.toml --extra docs"));
    let reusable = project.read(GENERATED[0]);
    assert!(reusable.contains("default: \"test/gpu\""));
    assert!(reusable.contains("|| 'H100:2' }}"));
    let label = project.read(GENERATED[1]);
    assert!(label.contains("github.event.label.name == 'run gpu'"));
}

#[test]
fn second_init_changes_nothing() {
    let project = Project::fixture("poetry-groups");
    project.gpu_ci(&["init", "--yes"]).success();
    let before = project.snapshot_tree();
    project
        .gpu_ci(&["init", "--yes"])
        .success()
        .stderr(predicate::str::contains("already set up"));
    assert_eq!(before, project.snapshot_tree());
}

/// Issue 24: each note belongs to a setting; a second init shows the notes of the settings that
/// are new or changed only (compared with what the lock recorded), with a line per change;
/// `-v` shows the others after a line that says so.
#[test]
fn second_init_notes_only_the_settings_that_changed() {
    let project = Project::fixture("uv-groups-src");
    project
        .gpu_ci(&["init", "--yes"])
        .success()
        .stderr(predicate::str::contains("note: GPU framework: torch"))
        .stderr(predicate::str::contains("commit `.gpu-ci-durations.json`"))
        .stderr(predicate::str::contains("next steps:"));
    let output = project.gpu_ci(&["init", "--yes"]).success();
    let stderr = String::from_utf8(output.get_output().stderr.clone()).unwrap();
    assert_eq!(
        stderr,
        "gpu-ci is already set up here; nothing to change (after editing [tool.gpu-ci], run `gpu-ci update`)\n"
    );
    project
        .gpu_ci(&["-v", "init", "--yes"])
        .success()
        .stderr(predicate::str::contains(
            "note: the choices below are unchanged since gpu-ci last wrote the files",
        ))
        .stderr(predicate::str::contains("note: GPU framework: torch"));

    // The GPU changes: its change, and none of the other settings' notes.
    let output = project.gpu_ci(&["init", "--yes", "--gpu", "T4"]).success();
    let out = output.get_output();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("note: changed: gpu = \"T4\" (was gpu = \"L4\")\n"),
        "{stderr}"
    );
    assert!(stderr.contains("updated .modal/test_runner.py"), "{stderr}");
    for unchanged in [
        "GPU framework",
        "the project is installed",
        "unchanged since",
        "commit `.gpu-ci-durations.json`",
        "next steps:",
    ] {
        assert!(!stderr.contains(unchanged), "{unchanged}: {stderr}");
    }
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.starts_with("note: changed: "))
            .count(),
        1,
        "{stderr}"
    );
    // With -v, the unchanged settings' notes too, after the line that says so.
    project
        .gpu_ci(&["-v", "init", "--yes", "--gpu", "L4"])
        .success()
        .stderr(predicate::str::contains(
            "note: changed: gpu = \"L4\" (was gpu = \"T4\")",
        ))
        .stderr(predicate::str::contains("unchanged since"))
        .stderr(predicate::str::contains("note: GPU framework: torch"));

    // A detected setting that changes brings its own note back, with the change.
    let pyproject = project
        .read("pyproject.toml")
        .replace("\"torch>=2.4\"", "\"jax\"");
    project.write("pyproject.toml", &pyproject);
    let output = project.gpu_ci(&["init", "--yes"]).success();
    let stderr = String::from_utf8_lossy(&output.get_output().stderr).into_owned();
    assert!(
        stderr.contains("note: changed: framework = \"jax\" (was framework = \"torch\")"),
        "{stderr}"
    );
    assert!(stderr.contains("note: GPU framework: jax"), "{stderr}");
    assert!(!stderr.contains("the project is installed"), "{stderr}");
}

#[test]
fn quiet_prints_errors_only() {
    let project = Project::fixture("uv-groups-src");
    project
        .gpu_ci(&["--quiet", "init", "--yes"])
        .success()
        .stderr("");
    assert!(project.path(".modal/test_runner.py").is_file());
    project
        .gpu_ci(&["init", "-q", "--yes"])
        .success()
        .stderr("");
    project.gpu_ci(&["-q", "update"]).success().stderr("");
    // An error and its help are still shown.
    project
        .gpu_ci(&["-q", "init", "--yes", "--gpu", "Z9"])
        .code(2)
        .stderr(predicate::str::starts_with("error: "))
        .stderr(predicate::str::contains("note:").not());
    project
        .gpu_ci(&["-q", "-v", "init"])
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
}

#[test]
fn refuses_to_overwrite_an_edited_file_gpu_ci_has_no_record_of() {
    let project = Project::fixture("uv-groups-src");
    project.gpu_ci(&["init", "--yes"]).success();
    let edited = format!("{}# my edit\n", project.read(GENERATED[2]));
    project.write(GENERATED[2], &edited);
    // Without the lock, nothing says what gpu-ci wrote: the edit cannot be merged, only refused.
    std::fs::remove_file(project.path(".gpu-ci.lock")).unwrap();
    let before = project.snapshot_tree();
    project
        .gpu_ci(&["init", "--yes"])
        .code(2)
        .stderr(predicate::str::contains(
            "error: a generated file already exists and differs from what init would write: `.github/workflows/run-gpu-tests.yml`",
        ))
        .stderr(predicate::str::contains("--force"))
        .stderr(predicate::str::contains("gpu-ci update"));
    assert_eq!(before, project.snapshot_tree(), "nothing may change");

    project
        .gpu_ci(&["init", "--yes", "--force", "--gpu", "A10G"])
        .success();
    assert!(!project.read(GENERATED[2]).contains("# my edit"));
    assert!(project.read("pyproject.toml").contains("gpu = \"A10G\""));
}

#[test]
fn init_flag_changes_a_setting_and_keeps_edits() {
    let project = Project::fixture("uv-groups-src");
    project.gpu_ci(&["init", "--yes"]).success();
    let edited = project
        .read(GENERATED[2])
        .replacen("\n", "\n# my edit: keep me\n", 1);
    project.write(GENERATED[2], &edited);

    project
        .gpu_ci(&["init", "--yes", "--gpu", "H100"])
        .success();
    assert!(
        project.read(GENERATED[2]).contains("# my edit: keep me"),
        "the edit was lost"
    );
    assert!(project.read("pyproject.toml").contains("gpu = \"H100\""));
    assert!(
        project
            .read(".modal/test_runner.py")
            .contains("GPU_DEFAULT = \"H100\"")
    );
    assert!(project.read(GENERATED[0]).contains("|| 'H100' }}"));
    // And `update` agrees: nothing left to do.
    project.gpu_ci(&["update", "--check"]).success();
}

#[test]
fn init_flag_on_untouched_files_is_no_refusal() {
    let project = Project::fixture("extras-flat");
    project.gpu_ci(&["init", "--yes"]).success();
    project
        .gpu_ci(&["init", "--yes", "--gpu", "A100", "--shards", "2"])
        .success()
        .stderr(predicate::str::contains("error").not());
    let config = project.read("pyproject.toml");
    assert!(config.contains("gpu = \"A100\""), "{config}");
    assert!(config.contains("shards = 2"), "{config}");
    assert!(
        project
            .read(".modal/test_runner.py")
            .contains("GPU_DEFAULT = \"A100\"")
    );
}

#[test]
fn update_with_a_setting_flag_points_to_init() {
    let project = Project::initialised("extras-flat");
    let before = project.snapshot_tree();
    project
        .gpu_ci(&["update", "--gpu", "H100"])
        .code(2)
        .stderr(predicate::str::starts_with(
            "error: `update` changes no setting: `--gpu` is a flag of `init`\nhelp: run `gpu-ci init --gpu …`",
        ));
    project
        .gpu_ci(&["update", "--shards=2"])
        .code(2)
        .stderr(predicate::str::contains("`--shards` is a flag of `init`"));
    // Any other unknown flag keeps clap's own message.
    project
        .gpu_ci(&["update", "--no-such-flag"])
        .code(2)
        .stderr(predicate::str::contains(
            "unexpected argument '--no-such-flag'",
        ));
    assert_eq!(before, project.snapshot_tree());
}

#[test]
fn dry_run_prints_diffs_and_writes_nothing() {
    let project = Project::fixture("uv-groups-src");
    let before = project.snapshot_tree();
    let output = project.gpu_ci(&["init", "--dry-run", "--diff"]).success();
    let stdout = String::from_utf8(output.get_output().stdout.clone()).unwrap();
    for rel in GENERATED {
        assert!(
            stdout.contains(&format!("would create {rel}\n--- /dev/null\n+++ b/{rel}")),
            "{stdout}"
        );
    }
    assert!(stdout.contains("would change pyproject.toml\n--- a/pyproject.toml"));
    assert!(stdout.contains("+[tool.gpu-ci]\n+gpu = \"L4\""));
    assert_eq!(before, project.snapshot_tree());
}

#[test]
fn dry_run_summarises_per_file_and_diff_shows_every_line() {
    let project = Project::fixture("extras-flat");
    let before = project.snapshot_tree();
    let output = project.gpu_ci(&["init", "--dry-run"]).success();
    let stdout = String::from_utf8(output.get_output().stdout.clone()).unwrap();
    let full = project.gpu_ci(&["init", "--dry-run", "--diff"]).success();
    let full = String::from_utf8(full.get_output().stdout.clone()).unwrap();
    assert_eq!(before, project.snapshot_tree());
    // The pyproject gains the blank line and 7 lines of pyproject_keeps_every_other_byte.
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("would change pyproject.toml") && l.ends_with("  +8 -0")),
        "{stdout}"
    );
    assert!(!stdout.contains("@@"), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    // One line per file of the full diff, then the total, which adds them up.
    let files = full.lines().filter(|l| l.starts_with("would ")).count();
    assert_eq!(lines.len(), files + 1, "{stdout}");
    let plus = full
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++ "))
        .count();
    assert_eq!(
        lines[files],
        format!("{files} files, +{plus} -0 (`--diff` shows the lines)")
    );

    // update after an edit of the config: the same summary, then the diff with --diff.
    project.gpu_ci(&["init", "--yes"]).success();
    let config = project
        .read("pyproject.toml")
        .replace("gpu = \"L4\"", "gpu = \"T4\"");
    project.write("pyproject.toml", &config);
    let output = project.gpu_ci(&["update", "--dry-run"]).success();
    let stdout = String::from_utf8(output.get_output().stdout.clone()).unwrap();
    assert!(
        stdout.contains("would change .modal/test_runner.py                   +3 -3\n"),
        "{stdout}"
    );
    assert!(
        // The lock records the GPU twice: in the runner's context and among the settings.
        stdout.ends_with("4 files, +13 -13 (`--diff` shows the lines)\n"),
        "{stdout}"
    );
    project
        .gpu_ci(&["update", "--dry-run", "--diff"])
        .success()
        .stdout(predicate::str::contains("+GPU_DEFAULT = \"T4\""));
    project
        .gpu_ci(&["update", "--diff"])
        .code(2)
        .stderr(predicate::str::contains("--dry-run"));
}

fn assert_bad_input(project: &Project, args: &[&str], message: &str) {
    let before = project.snapshot_tree();
    let output = project.gpu_ci(args).code(2).get_output().clone();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(message),
        "expected `{message}` in:\n{stderr}"
    );
    let first_error = stderr.lines().find(|l| l.starts_with("error: ")).unwrap();
    assert!(!first_error.is_empty());
    assert_eq!(before, project.snapshot_tree(), "{args:?} wrote something");
}

#[test]
fn malformed_pyproject_names_line_and_column() {
    let project = Project::fixture("uv-groups-src");
    project.write(
        "pyproject.toml",
        "[project]\nname = \"vecops\"\ndependencies = [\"torch\",\n\n[dependency-groups]\n",
    );
    assert_bad_input(
        &project,
        &["init", "--yes"],
        "error: `pyproject.toml` is not valid TOML:",
    );
    let project = Project::fixture("uv-groups-src");
    project.write("pyproject.toml", "[project]\nname = = \"x\"\n");
    assert_bad_input(&project, &["init", "--yes"], "at line 2, column 8");
}

#[test]
fn non_utf8_pyproject_is_refused() {
    let project = Project::fixture("uv-groups-src");
    std::fs::write(
        project.path("pyproject.toml"),
        b"[project]\nname = \"caf\xe9\"\n",
    )
    .unwrap();
    assert_bad_input(
        &project,
        &["init", "--yes"],
        "error: `pyproject.toml` is not UTF-8 text (invalid byte at line 2, column 12)",
    );
}

#[test]
fn unknown_gpu_lists_the_valid_ones() {
    let project = Project::fixture("uv-groups-src");
    assert_bad_input(
        &project,
        &["init", "--gpu", "V100"],
        "error: unknown GPU `V100`; valid types are T4, L4, A10G, L40S, A100, A100-40GB, A100-80GB, H100, H200, B200, optionally with `:N` for 1-8 devices",
    );
    assert_bad_input(
        &project,
        &["init", "--gpu", "H100:9"],
        "error: GPU count in `H100:9` must be a whole number from 1 to 8",
    );
}

#[test]
fn missing_tests_folder_warns_and_keeps_going() {
    let project = Project::fixture("uv-groups-src");
    project
        .gpu_ci(&["init", "--test-path", "gpu_tests/"])
        .success()
        .stderr(predicate::str::contains(
            "warning: the tests folder `gpu_tests/` does not exist; keeping it",
        ));
    assert!(
        project
            .read("pyproject.toml")
            .contains("test-path = \"gpu_tests/\"")
    );
}

#[test]
fn unwritable_folder_leaves_nothing_half_written() {
    let project = Project::fixture("uv-groups-src");
    // A file where the `.modal` folder must go: the last file cannot be written.
    project.write(".modal", "not a folder");
    assert_bad_input(
        &project,
        &["init", "--yes"],
        "error: cannot write `.modal/test_runner.py`: `.modal` is a file, not a folder\nhelp: move the file away, then run the command again; nothing was written",
    );
    assert!(
        !project.path(".github").exists(),
        "staged folders must be removed"
    );
}

#[test]
fn other_bad_input() {
    let project = Project::fixture("uv-groups-src");
    assert_bad_input(
        &project,
        &["init", "--group", "nope"],
        "error: pyproject.toml has no dependency group `nope`",
    );
    assert_bad_input(
        &project,
        &["init", "--requirements", "reqs.txt"],
        "error: requirements file `reqs.txt` does not exist",
    );
    assert_bad_input(
        &project,
        &[
            "init",
            "--pytest-args",
            "-k ${{ secrets.MODAL_TOKEN_SECRET }}",
        ],
        "error: `pytest-args` may not contain `${{`",
    );
    assert_bad_input(
        &project,
        &["init", "--python", "2.7"],
        "error: unsupported Python version `2.7`",
    );
    assert_bad_input(
        &project,
        &["init", "--label", ".."],
        "error: label `..` cannot be named in a URL path",
    );
    let config = format!(
        "{}\n[tool.gpu-ci]\npytest_args = \"-v\"\n",
        project.read("pyproject.toml")
    );
    project.write("pyproject.toml", &config);
    assert_bad_input(
        &project,
        &["init", "--yes"],
        "error: unknown key `pytest_args` in [tool.gpu-ci] in pyproject.toml\nhelp: did you mean `pytest-args`?",
    );
}

#[test]
fn not_a_directory() {
    crate::common::gpu_ci()
        .args(["-C", "/definitely/not/here", "init"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: `/definitely/not/here` is not a directory",
        ));
}

#[test]
fn existing_config_values_are_the_defaults() {
    let project = Project::fixture("jax-project");
    let config = format!(
        "{}\n[tool.gpu-ci]\ngpu = \"A100-80GB\"  # our card\npytest-args = \"-q\"\n",
        project.read("pyproject.toml")
    );
    project.write("pyproject.toml", &config);
    project.gpu_ci(&["init"]).success();
    let after = project.read("pyproject.toml");
    assert!(after.contains("gpu = \"A100-80GB\"  # our card"), "{after}");
    assert!(after.contains("pytest-args = \"-q\""));
    assert!(
        project
            .read(GENERATED[3])
            .contains("GPU_DEFAULT = \"A100-80GB\"")
    );
}

#[test]
fn all_fixtures_init_cleanly() {
    for fixture in FIXTURES {
        Project::fixture(fixture)
            .gpu_ci(&["init", "--yes"])
            .success();
    }
}

/// The README's first command: the main job on the bundled example, leaving it untouched.
#[test]
fn readme_example_dry_run_leaves_the_repository_clean() {
    let example = crate::common::repo_root().join("examples/sample-project");
    let before = std::fs::read_to_string(example.join("pyproject.toml")).unwrap();
    let output = crate::common::gpu_ci()
        .arg("-C")
        .arg(&example)
        .args(["init", "--dry-run"])
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = String::from_utf8(output.stdout).unwrap();
    for rel in GENERATED {
        assert!(stdout.contains(&format!("would create {rel}")), "{stdout}");
        assert!(!example.join(rel).exists());
    }
    assert!(stdout.contains("would change pyproject.toml"), "{stdout}");
    assert_eq!(
        before,
        std::fs::read_to_string(example.join("pyproject.toml")).unwrap()
    );
}

#[test]
fn setup_py_alone_installs_its_dependencies_through_its_build() {
    // Issue 13: the note claimed "the project's own dependencies plus pytest" and the image got
    // pytest only; now the image installs the project, dependencies included, through its build.
    let project = Project::empty();
    project.write(
        "setup.py",
        "from setuptools import setup\nsetup(name='x', install_requires=['torch'])\n",
    );
    project.write("tests/test_x.py", "def test_x():\n    pass\n");
    project
        .gpu_ci(&["init"])
        .success()
        .stderr(predicate::str::contains(
            "note: the dependencies live in setup.py or setup.cfg, which only the project's build can read",
        ));
    let runner = project.read(".modal/test_runner.py");
    assert!(
        runner.contains("--no-build-isolation -e .\")"),
        "the project and its dependencies are installed in the image: {runner}"
    );
}

#[test]
fn color_follows_the_flag_and_no_color() {
    let project = Project::fixture("uv-groups-src");
    let stderr = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = crate::common::gpu_ci();
        cmd.arg("-C").arg(&project.root).args(args);
        for (name, value) in env {
            cmd.env(name, value);
        }
        let stderr = String::from_utf8(cmd.assert().code(2).get_output().stderr.clone()).unwrap();
        stderr
            .lines()
            .find(|l| l.contains("unknown GPU"))
            .unwrap()
            .to_string()
    };
    let bad = ["init", "--gpu", "V100"];
    assert!(
        stderr(&bad, &[]).starts_with("error: unknown GPU"),
        "no colour off a terminal"
    );
    let mut always = vec!["--color", "always"];
    always.extend_from_slice(&bad);
    assert!(stderr(&always, &[]).starts_with("\x1b[1;31merror:\x1b[0m unknown GPU"));
    assert!(stderr(&bad, &[("FORCE_COLOR", "1")]).starts_with("\x1b[1;31merror:"));
    let mut never = vec!["--color", "never"];
    never.extend_from_slice(&bad);
    assert!(stderr(&never, &[("FORCE_COLOR", "1")]).starts_with("error: "));
}

#[test]
fn a_missing_uv_lock_is_pointed_out() {
    let note = "note: no uv.lock: the image resolves the chosen extra or group for its own Python on Linux";
    Project::fixture("extras-flat")
        .gpu_ci(&["init"])
        .success()
        .stderr(predicate::str::contains(note));
    Project::fixture("uv-groups-src")
        .gpu_ci(&["init"])
        .success()
        .stderr(predicate::str::contains(note).not());
    Project::fixture("poetry-groups")
        .gpu_ci(&["init"])
        .success()
        .stderr(predicate::str::contains(note).not());
}

/// Detection reads the project's files as the runner reads the tree under test: regular files
/// inside it, no symlink followed. A link to a file outside decides nothing.
#[test]
fn detection_follows_no_symlink() {
    use std::os::unix::fs::symlink;
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("version"), "3.13\n").unwrap();
    std::fs::write(
        outside.path().join("pytest.ini"),
        "[pytest]\nmarkers =\n    gpu: needs a GPU\n",
    )
    .unwrap();
    let project = Project::fixture("uv-groups-src");
    symlink(
        outside.path().join("version"),
        project.path(".python-version"),
    )
    .unwrap();
    symlink(
        outside.path().join("pytest.ini"),
        project.path("pytest.ini"),
    )
    .unwrap();
    let output = project.gpu_ci(&["config", "--json"]).success();
    let json: serde_json::Value = serde_json::from_slice(&output.get_output().stdout).unwrap();
    assert_eq!(json["python"]["value"], "3.12", "{json:#}");
    assert_eq!(
        json["python"]["source"]["from"],
        "`requires-python` in pyproject.toml"
    );
    assert_eq!(json["pytest-args"]["value"], "-v", "{json:#}");
    assert_eq!(json["pytest-args"]["source"]["kind"], "default");
}

/// The GPU selection is built from the tree's pytest config and conftest.py: a hostile marker
/// name or `-m` term neither breaks init nor reaches the plan; only marker names do.
#[test]
fn a_hostile_marker_or_addopts_adds_only_names_to_the_selection() {
    let project = Project::fixture("uv-groups-src");
    project.write(
        "pytest.ini",
        "[pytest]\naddopts = -m \"not gpu and not ${{ env.PWNED }}\"\nmarkers =\n    gpu: needs a GPU\n",
    );
    project.write(
        "tests/conftest.py",
        "def pytest_configure(config):\n    config.addinivalue_line(\"markers\", \"cuda'); import os; os.system('PWNED'); ('x: y\")\n",
    );
    project.gpu_ci(&["init", "--yes"]).success();
    let config = project.read("pyproject.toml");
    assert!(config.contains("pytest-args = \"-v -m gpu\""), "{config}");
    let runner = project.read(".modal/test_runner.py");
    assert!(runner.contains("PYTEST_ARGS = \"-v -m gpu\""), "{runner}");
    assert!(!project.generated().contains("PWNED"));
}

#[test]
fn init_shows_the_ignore_line_for_test_outputs_and_writes_no_gitignore() {
    let project = Project::fixture("uv-groups-src");
    project
        .gpu_ci(&["init", "--yes"])
        .success()
        .stderr(predicate::str::contains(
            "add the line `/test-outputs/` to .gitignore",
        ))
        .stderr(predicate::str::contains(
            "commit `.gpu-ci-durations.json` when `gpu-ci durations` writes it",
        ));
    assert!(
        !project.path(".gitignore").exists(),
        "init wrote .gitignore unasked"
    );

    // Where git already ignores it, no such line.
    let project = Project::fixture("extras-flat");
    crate::common::git(&project.root, &["init", "-q"]);
    project.write(".gitignore", "test-outputs/\n");
    project
        .gpu_ci(&["init", "--yes"])
        .success()
        .stderr(predicate::str::contains("test-outputs/").not());
    assert_eq!(project.read(".gitignore"), "test-outputs/\n");
}

#[cfg(unix)]
#[test]
fn a_tests_folder_whose_name_is_not_utf8_is_an_error_naming_it() {
    use std::os::unix::ffi::OsStrExt;
    let project = Project::empty();
    project.write(
        "pyproject.toml",
        "[project]\nname = \"pkg\"\nversion = \"0\"\ndependencies = [\"torch\"]\n",
    );
    project.write("src/pkg/__init__.py", "");
    let folder = project
        .path("src/pkg")
        .join(std::ffi::OsStr::from_bytes(b"gpu_\xff"));
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("test_cuda.py"), "def test_x():\n    pass\n").unwrap();
    let before = project.snapshot_tree();
    let output = project
        .gpu_ci(&["init", "--yes"])
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with(
            "error: the tests beside the code are in \"src/pkg/gpu_\\xFF\", whose name is not UTF-8"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains('\u{fffd}'), "{stderr}");
    assert_eq!(before, project.snapshot_tree(), "init wrote something");
}
