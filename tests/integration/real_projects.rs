//! Issue 13: what real projects need with zero edits — a Python Modal can build, requirements
//! and tests found where projects keep them, the framework and the GPU tests selected.

use predicates::prelude::*;

use crate::common::Project;

fn pyproject(requires_python: &str) -> Project {
    let project = Project::empty();
    project.write(
        "pyproject.toml",
        &format!("[project]\nname = \"demo\"\nrequires-python = \"{requires_python}\"\ndependencies = [\"torch\"]\n"),
    );
    project.write("tests/test_demo.py", "def test_ok():\n    pass\n");
    project
}

fn config_value(project: &Project, key: &str) -> String {
    let output = project
        .gpu_ci(&["config", "--json"])
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&output).unwrap();
    json[key]["value"].as_str().unwrap_or_default().to_string()
}

#[test]
fn a_lower_bound_modal_cannot_build_never_fails_init() {
    for (spec, picked) in [
        (">=3.8", "3.12"),
        (">=3.9,<3.12", "3.11"),
        (">=3.13", "3.13"),
    ] {
        let project = pyproject(spec);
        project
            .gpu_ci(&["init", "--yes"])
            .success()
            .stderr(predicate::str::contains(format!(
                "testing on Python {picked}, which requires-python `{spec}` allows"
            )));
        assert!(
            project
                .read("pyproject.toml")
                .contains(&format!("python = \"{picked}\""))
        );
    }
}

#[test]
fn only_a_constraint_no_supported_python_meets_is_an_error() {
    let project = pyproject("==3.10.*");
    project
        .gpu_ci(&["init", "--yes"])
        .code(2)
        .stderr(predicate::str::contains(
            "error: the project's Python constraint `==3.10.*` admits no version Modal's image builder 2026.10 offers (3.11 to 3.15)",
        ))
        .stderr(predicate::str::contains("image-builder"));
    assert!(!project.path(".github").exists());
    // A workspace pinned to the 2025.06 builder still has 3.10.
    let mut text = project.read("pyproject.toml");
    text.push_str("\n[tool.gpu-ci]\nimage-builder = \"2025.06\"\n");
    project.write("pyproject.toml", &text);
    project.gpu_ci(&["init", "--yes"]).success();
    assert_eq!(config_value(&project, "python"), "3.10");
}

#[test]
fn a_python_outside_the_builders_set_is_refused_with_the_set() {
    let project = pyproject(">=3.9");
    project
        .gpu_ci(&["init", "--yes", "--python", "3.9"])
        .code(2)
        .stderr(predicate::str::contains(
            "offers 3.11, 3.12, 3.13, 3.14, 3.15",
        ));
}

#[test]
fn a_python_version_file_the_builder_lacks_falls_back_to_the_constraint() {
    let project = pyproject(">=3.9");
    project.write(".python-version", "3.9.18\n");
    project
        .gpu_ci(&["init", "--yes"])
        .success()
        .stderr(predicate::str::contains(".python-version names 3.9"));
    assert_eq!(config_value(&project, "python"), "3.12");
}
