//! `gpu-ci init` at a real terminal: `script` gives it a pseudo-terminal, so it asks.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{Project, gpu_ci_path, scrub_env};

/// Runs `gpu-ci -C <root> init` on a pseudo-terminal, typing `keys` with pauses between them.
fn at_terminal(project: &Project, keys: &[&str]) -> (Option<i32>, String) {
    let bin = gpu_ci_path();
    let command = format!("{} -C {} init", bin.display(), project.root.display());
    // gpu-ci inherits `script`'s environment.
    let mut child = scrub_env(&mut Command::new("script"))
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`script` (util-linux) runs gpu-ci on a pseudo-terminal");
    let mut stdin = child.stdin.take().unwrap();
    for key in keys {
        std::thread::sleep(Duration::from_millis(400));
        stdin.write_all(key.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    std::thread::sleep(Duration::from_millis(400));
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn asks_what_detection_cannot_decide() {
    // No Python version anywhere, and two install sources: GPU, Python and source are asked.
    let project = Project::fixture("no-pyproject");
    let (code, screen) = at_terminal(&project, &["A10G\r", "3.11\r", "\x1b[B\r"]);
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("GPU to test on"), "{screen}");
    assert!(
        screen.contains("Install the test dependencies from"),
        "{screen}"
    );
    let config = project.read("gpu-ci.toml");
    assert!(
        config.contains("gpu = \"A10G\"\npython = \"3.11\""),
        "{config}"
    );
    // The second choice, the project's own dependencies, needs no install key.
    assert!(!config.contains("requirements ="), "{config}");
}

#[test]
fn ctrl_c_at_a_prompt_writes_nothing_and_exits_130() {
    let project = Project::fixture("no-pyproject");
    let before = project.snapshot_tree();
    let (code, screen) = at_terminal(&project, &["\x03"]);
    assert_eq!(code, Some(130), "{screen}");
    assert_eq!(before, project.snapshot_tree());
}
