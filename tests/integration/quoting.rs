//! Values that become shell inside the runner are quoted by a filter (issue 10's two bugs):
//! the words a shell would see are read back with Python's shlex from the rendered command.

use std::process::Command;

use crate::common::{Project, describe};

/// The shell words of the `run_commands(...)` string in the rendered runner, as a shell
/// would split them.
fn run_commands_words(project: &Project) -> Vec<String> {
    const READ: &str = r#"
import ast, json, shlex, sys
tree = ast.parse(open(sys.argv[1]).read())
calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
         and getattr(n.func, "attr", "") == "run_commands"]
assert len(calls) == 1, len(calls)
print(json.dumps(shlex.split(ast.literal_eval(calls[0].args[0]))))
"#;
    let output = Command::new("python3")
        .args(["-c", READ])
        .arg(project.path(".modal/test_runner.py"))
        .output()
        .expect("python3 runs");
    assert!(output.status.success(), "{}", describe(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `--requirements "requirements test.txt"` rendered `for f in requirements test.txt`.
#[test]
fn a_requirements_file_with_a_space_stays_one_word() {
    let project = Project::fixture("no-pyproject");
    project.write("requirements test.txt", "pytest\n");
    project
        .gpu_ci(&["init", "--yes", "--requirements", "requirements test.txt"])
        .success();
    let words = run_commands_words(&project);
    assert!(
        words.contains(&"requirements test.txt".to_string()),
        "{words:?}"
    );
    assert!(!words.contains(&"test.txt".to_string()), "{words:?}");
    let r = words.iter().rposition(|w| w == "-r").unwrap();
    assert_eq!(words[r + 1], "requirements test.txt", "{words:?}");
}

/// A Poetry group named `te st;echo hi` rendered `--with te st;echo hi`.
#[test]
fn a_poetry_group_with_shell_characters_stays_one_word() {
    let project = Project::fixture("poetry-groups");
    let pyproject = project.read("pyproject.toml").replace(
        "[tool.poetry.group.docs.dependencies]",
        "[tool.poetry.group.\"te st;echo hi\".dependencies]\npytest = \"*\"\n\n[tool.poetry.group.docs.dependencies]",
    );
    project.write("pyproject.toml", &pyproject);
    project
        .gpu_ci(&["init", "--yes", "--group", "te st;echo hi"])
        .success();
    let words = run_commands_words(&project);
    let with = words.iter().position(|w| w == "--with").unwrap();
    assert_eq!(words[with + 1], "te st;echo hi", "{words:?}");
    assert!(!words.iter().any(|w| w == "hi"), "{words:?}");
}
