//! Issue 24: the generated Python files broke the lint job of the projects that adopted gpu-ci.
//! Each carries the file-level directives ruff, black, isort, flake8 and mypy honour; here each
//! real tool runs over them, with strict configurations taken from real projects.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{Project, describe};
use crate::installed::tool;

/// Every generated Python file of a project with every CI target.
const GENERATED: [&str; 6] = [
    ".modal/test_runner.py",
    ".modal/in_container.py",
    ".modal/gpu_ci_results.py",
    ".modal/local_run.py",
    ".gitlab/gpu-ci-note.py",
    ".bitbucket/gpu-ci-comment.py",
];

/// The file-level directives every generated Python file carries.
const EXEMPTIONS: [&str; 6] = [
    "# ruff: noqa",
    "# ruff: noqa: PGH004 (the blanket exemptions here are that rule's own finding)",
    "# fmt: off",
    "# isort: skip_file",
    "# flake8: noqa",
    "# mypy: ignore-errors",
];

/// Copies of `files` in `dir` without the directives: gpu-ci's own lint of what it generates,
/// which the directives would otherwise make vacuous.
pub fn without_exemptions(files: &[PathBuf], dir: &Path) -> Vec<PathBuf> {
    files
        .iter()
        .enumerate()
        .map(|(index, file)| {
            let text = std::fs::read_to_string(file).unwrap();
            let kept: Vec<&str> = text
                .split_inclusive('\n')
                .filter(|line| !EXEMPTIONS.contains(&line.trim_end()))
                .collect();
            assert_eq!(
                kept.len() + EXEMPTIONS.len(),
                text.split_inclusive('\n').count(),
                "{} lacks its exemptions",
                file.display()
            );
            let copy = dir.join(format!(
                "{index}-{}",
                file.file_name().unwrap().to_string_lossy()
            ));
            std::fs::write(&copy, kept.concat()).unwrap();
            copy
        })
        .collect()
}

fn generated_files(project: &Project) -> Vec<PathBuf> {
    GENERATED.iter().map(|f| project.path(f)).collect()
}

fn generated_project() -> Project {
    let project = Project::fixture("uv-groups-src");
    project
        .gpu_ci(&[
            "init",
            "--yes",
            "--ci",
            "github,gitlab,bitbucket",
            // The cache's code too (issue 26): it only adds to the runner's; with a build
            // step, the compiler cache's.
            "--cache-path",
            "/root/.cache/torch_extensions",
            "--setup",
            "python build_lib.py",
        ])
        .success();
    for file in GENERATED {
        assert!(project.path(file).is_file(), "{file}");
    }
    project
}

/// `[tool.ruff]` of real projects, their lint selection and their format settings: the
/// transformers and jax repositories' pyproject.toml, and the strictest there is.
const RUFF_CONFIGS: [(&str, &str); 3] = [
    (
        "huggingface/transformers",
        "[tool.ruff]\ntarget-version = \"py310\"\nline-length = 119\n\n[tool.ruff.lint]\n\
         select = [\"E\", \"F\", \"I\", \"W\", \"UP\", \"FURB\", \"SIM\", \"C4\", \"RUF013\", \"PERF102\", \"PLC1802\", \"PLC0208\", \"PIE794\"]\n\
         ignore = [\"E501\", \"E741\", \"F402\", \"F823\", \"SIM300\", \"SIM212\", \"SIM1\", \"SIM905\", \"UP009\", \"UP015\", \"UP031\", \"UP028\", \"UP004\", \"UP045\", \"UP007\", \"UP038\"]\n\n\
         [tool.ruff.lint.isort]\nlines-after-imports = 2\n\n[tool.ruff.format]\nquote-style = \"double\"\n",
    ),
    (
        "jax-ml/jax",
        "[tool.ruff]\npreview = true\nline-length = 80\nindent-width = 2\ntarget-version = \"py311\"\n\n[tool.ruff.lint]\n\
         ignore = [\"C408\", \"C417\", \"C420\", \"C901\", \"F841\", \"B903\", \"B904\", \"B905\"]\n\
         select = [\"B9\", \"C\", \"F\", \"W\", \"YTT\", \"ASYNC\", \"E101\", \"E112\", \"E113\", \"E115\", \"E117\", \"E225\", \"E227\", \"E228\"]\n\n\
         [tool.ruff.lint.mccabe]\nmax-complexity = 18\n",
    ),
    (
        "everything",
        "[tool.ruff]\nline-length = 60\nindent-width = 8\n\n[tool.ruff.lint]\nselect = [\"ALL\"]\n\n\
         [tool.ruff.format]\nquote-style = \"single\"\n",
    ),
];

#[test]
fn generated_python_passes_ruff_check_and_format_under_real_strict_configurations() {
    let project = generated_project();
    for (name, config) in RUFF_CONFIGS {
        project.write(
            "ruff.toml",
            &config
                .replace("[tool.ruff.", "[")
                .replace("[tool.ruff]\n", ""),
        );
        for args in [
            &["check", "--no-cache"][..],
            &["format", "--check", "--no-cache"][..],
        ] {
            let out = Command::new(tool("ruff"))
                .current_dir(&project.root)
                .args(args)
                .args(GENERATED)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{name}: ruff {args:?}: {}",
                describe(&out)
            );
        }
        // The configuration does find something in the same code without the directives, so
        // the pass above is their doing.
        let dir = tempfile::tempdir_in(&project.root).unwrap();
        let copies = without_exemptions(&generated_files(&project), dir.path());
        let found = [
            &["check", "--no-cache"][..],
            &["format", "--check", "--no-cache"][..],
        ]
        .iter()
        .any(|args| {
            !Command::new(tool("ruff"))
                .current_dir(&project.root)
                .args(*args)
                .args(&copies)
                .output()
                .unwrap()
                .status
                .success()
        });
        assert!(found, "{name} finds nothing even without the directives");
    }
}

#[test]
fn generated_python_is_left_alone_by_black_isort_flake8_and_mypy() {
    let project = generated_project();
    // Strict settings of each, as a project would set them.
    project.write(
        "setup.cfg",
        "[flake8]\nmax-line-length = 60\nselect = E,W,F,C\nmax-complexity = 3\n\n\
         [isort]\nprofile = google\nforce_single_line = true\nline_length = 40\nreverse_sort = true\n\n\
         [mypy]\nstrict = true\n",
    );
    let runs: [(&str, &[&str]); 4] = [
        (
            "black",
            &[
                "--check",
                "--line-length",
                "40",
                "--skip-string-normalization",
            ],
        ),
        ("isort", &["--check-only", "--settings-path", "setup.cfg"]),
        ("flake8", &["--config", "setup.cfg"]),
        (
            "mypy",
            &[
                "--config-file",
                "setup.cfg",
                "--no-incremental",
                "--ignore-missing-imports",
            ],
        ),
    ];
    let dir = tempfile::tempdir_in(&project.root).unwrap();
    let copies = without_exemptions(&generated_files(&project), dir.path());
    for (name, args) in runs {
        let out = Command::new(tool(name))
            .current_dir(&project.root)
            .args(args)
            .args(GENERATED)
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", describe(&out));
        // Without the directives, the same settings find something: the pass is theirs.
        let out = Command::new(tool(name))
            .current_dir(&project.root)
            .args(args)
            .args(&copies)
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "{name} finds nothing even without the directives"
        );
    }
}
