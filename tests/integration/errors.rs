//! One snapshot of every error message a person can meet, with its exit code: a changed
//! message is a reviewed diff (issue 10).

use std::fs;

use crate::common::Project;
use crate::snapshots::settings;

/// A case: a name, how to break a fresh fixture, and the command to run.
struct Case {
    name: &'static str,
    fixture: &'static str,
    setup: fn(&Project),
    args: &'static [&'static str],
}

fn nothing(_: &Project) {}

fn append_config(project: &Project, text: &str) {
    let mut config = project.read("pyproject.toml");
    config.push_str(text);
    project.write("pyproject.toml", &config);
}

const CASES: &[Case] = &[
    Case {
        name: "unknown GPU flag",
        fixture: "extras-flat",
        setup: nothing,
        args: &["init", "--yes", "--gpu", "V100"],
    },
    Case {
        name: "GPU count out of range",
        fixture: "extras-flat",
        setup: nothing,
        args: &["init", "--yes", "--gpu", "H100:9"],
    },
    Case {
        name: "unsupported Python",
        fixture: "extras-flat",
        setup: nothing,
        args: &["init", "--yes", "--python", "2.7"],
    },
    Case {
        name: "label that is a path step",
        fixture: "extras-flat",
        setup: nothing,
        args: &["init", "--yes", "--label", ".."],
    },
    Case {
        name: "expression in pytest-args",
        fixture: "extras-flat",
        setup: nothing,
        args: &["init", "--yes", "--pytest-args", "-k ${{ secrets.X }}"],
    },
    Case {
        name: "empty test path",
        fixture: "extras-flat",
        setup: nothing,
        args: &["init", "--yes", "--test-path", " "],
    },
    Case {
        name: "no such group",
        fixture: "extras-flat",
        setup: nothing,
        args: &["init", "--yes", "--group", "nope"],
    },
    Case {
        name: "no such extra",
        fixture: "extras-flat",
        setup: nothing,
        args: &["init", "--yes", "--extra", "nope"],
    },
    Case {
        name: "one of several extras missing",
        fixture: "extras-flat",
        setup: nothing,
        args: &["init", "--yes", "--extra", "test, nope"],
    },
    Case {
        name: "no such requirements file",
        fixture: "extras-flat",
        setup: nothing,
        args: &["init", "--yes", "--requirements", "nope.txt"],
    },
    Case {
        name: "requirements file that is a symlink",
        fixture: "setup-requirements",
        setup: |p| {
            std::os::unix::fs::symlink("requirements/test.txt", p.path("linked.txt")).unwrap()
        },
        args: &["init", "--yes", "--requirements", "linked.txt"],
    },
    Case {
        name: "requirements file outside the project",
        fixture: "setup-requirements",
        setup: nothing,
        args: &["init", "--yes", "--requirements", "/etc/passwd"],
    },
    Case {
        name: "control character in an install source",
        fixture: "extras-flat",
        setup: |p| {
            p.write("req\u{7}.txt", "pytest\n");
            append_config(p, "\n[tool.gpu-ci]\nrequirements = \"req\\u0007.txt\"\n")
        },
        args: &["init", "--yes"],
    },
    Case {
        name: "unknown config key",
        fixture: "extras-flat",
        setup: |p| append_config(p, "\n[tool.gpu-ci]\ngpus = \"L4\"\n"),
        args: &["init", "--yes"],
    },
    Case {
        name: "config value of the wrong type",
        fixture: "extras-flat",
        setup: |p| append_config(p, "\n[tool.gpu-ci]\nfork-prs = \"yes\"\n"),
        args: &["init", "--yes"],
    },
    Case {
        name: "negative timeout",
        fixture: "extras-flat",
        setup: |p| append_config(p, "\n[tool.gpu-ci]\ntimeout = -5\n"),
        args: &["init", "--yes"],
    },
    Case {
        name: "two install sources in the config",
        fixture: "extras-flat",
        setup: |p| append_config(p, "\n[tool.gpu-ci]\nextra = \"test\"\ngroup = \"dev\"\n"),
        args: &["init", "--yes"],
    },
    Case {
        name: "bad branch",
        fixture: "extras-flat",
        setup: |p| append_config(p, "\n[tool.gpu-ci]\nbranch = \"main; rm\"\n"),
        args: &["init", "--yes"],
    },
    Case {
        name: "unknown framework",
        fixture: "extras-flat",
        setup: |p| append_config(p, "\n[tool.gpu-ci]\nframework = \"mxnet\"\n"),
        args: &["init", "--yes"],
    },
    Case {
        name: "action the workflows do not use",
        fixture: "extras-flat",
        setup: |p| append_config(p, "\n[tool.gpu-ci.actions]\n\"evil/action\" = \"x\"\n"),
        args: &["init", "--yes"],
    },
    Case {
        name: "action pin that is not a SHA",
        fixture: "extras-flat",
        setup: |p| {
            append_config(
                p,
                "\n[tool.gpu-ci.actions]\n\"actions/checkout\" = \"v4\"\n",
            )
        },
        args: &["init", "--yes"],
    },
    Case {
        name: "invalid TOML",
        fixture: "extras-flat",
        setup: |p| append_config(p, "\n[tool.gpu-ci\n"),
        args: &["init", "--yes"],
    },
    Case {
        name: "pyproject that is not UTF-8",
        fixture: "extras-flat",
        setup: |p| fs::write(p.path("pyproject.toml"), b"[project]\nname = \"\xff\"\n").unwrap(),
        args: &["init", "--yes"],
    },
    Case {
        name: "update before init",
        fixture: "extras-flat",
        setup: nothing,
        args: &["update"],
    },
    Case {
        name: "init over an edited file",
        fixture: "extras-flat",
        setup: |p| p.write(".modal/test_runner.py", "# mine\n"),
        args: &["init", "--yes"],
    },
    Case {
        name: "corrupt lock",
        fixture: "extras-flat",
        setup: |p| {
            p.gpu_ci(&["init", "--yes"]).success();
            p.write(".gpu-ci.lock", "{ not json");
        },
        args: &["update"],
    },
    Case {
        name: "file where a folder must go",
        fixture: "extras-flat",
        setup: |p| p.write(".github", "a file"),
        args: &["init", "--yes"],
    },
    Case {
        name: "project folder that does not exist",
        fixture: "extras-flat",
        setup: |p| fs::remove_dir_all(&p.root).unwrap(),
        args: &["init", "--yes"],
    },
    Case {
        name: "MODAL_GPU that is not a GPU",
        fixture: "extras-flat",
        setup: nothing,
        args: &["run", "--local"],
    },
    Case {
        name: "shards out of range in the config",
        fixture: "extras-flat",
        setup: |p| append_config(p, "\n[tool.gpu-ci]\nshards = 0\n"),
        args: &["init", "--yes"],
    },
    Case {
        name: "shards flag out of range",
        fixture: "extras-flat",
        setup: nothing,
        args: &["init", "--yes", "--shards", "33"],
    },
    Case {
        name: "GPU list with a number",
        fixture: "extras-flat",
        setup: |p| append_config(p, "\n[tool.gpu-ci]\ngpu = [\"T4\", 4]\n"),
        args: &["init", "--yes"],
    },
    Case {
        name: "GPU list entry that is a matrix",
        fixture: "extras-flat",
        setup: |p| append_config(p, "\n[tool.gpu-ci]\ngpu = [\"T4; H100\", \"L4\"]\n"),
        args: &["init", "--yes"],
    },
    Case {
        name: "GPU twice in a matrix",
        fixture: "extras-flat",
        setup: nothing,
        args: &["init", "--yes", "--gpu", "T4", "--gpu", "t4"],
    },
    Case {
        name: "too many runs at once",
        fixture: "extras-flat",
        setup: nothing,
        args: &["init", "--yes", "--gpu", "T4;L4;H100", "--shards", "32"],
    },
    Case {
        name: "durations without a JUnit XML",
        fixture: "extras-flat",
        setup: nothing,
        args: &["durations"],
    },
    Case {
        name: "durations from a JUnit XML with a document type",
        fixture: "extras-flat",
        setup: |p| {
            p.write(
                "test-outputs/junit.xml",
                "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\">]><testsuite><testcase name=\"&a;\" time=\"1\"/></testsuite>",
            )
        },
        args: &["durations"],
    },
];

#[test]
fn every_error_message() {
    let mut text = String::new();
    for case in CASES {
        let project = Project::fixture(case.fixture);
        (case.setup)(&project);
        let mut cmd = crate::common::gpu_ci();
        cmd.arg("-C").arg(&project.root).args(case.args);
        if case.name.starts_with("MODAL_GPU") {
            cmd.env("MODAL_GPU", "V100");
        }
        let output = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("error:") || l.starts_with("help:"))
            .collect();
        assert_eq!(
            errors.iter().filter(|l| l.starts_with("error:")).count(),
            1,
            "{}: one error line expected:\n{stderr}",
            case.name
        );
        text.push_str(&format!(
            "## {} (exit {})\n{}\n\n",
            case.name,
            output.status.code().unwrap_or(-1),
            errors
                .join("\n")
                .replace(&project.root.display().to_string(), "[ROOT]")
        ));
    }
    settings().bind(|| insta::assert_snapshot!("errors", text));
}

/// The lock's format is what update reads back: a change to it is a reviewed diff.
#[test]
fn lock_format() {
    let project = Project::fixture("poetry-groups");
    project.gpu_ci(&["init", "--yes", "--fork-prs"]).success();
    let lock = project.read(".gpu-ci.lock");
    let mut settings = settings();
    settings.add_filter(
        r#""version": "\d+\.\d+\.\d+[^"]*""#,
        r#""version": "[VERSION]""#,
    );
    settings.bind(|| insta::assert_snapshot!("lock-format", lock));
}
