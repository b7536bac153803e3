//! The test harness itself: gpu-ci never sees what the caller's environment holds.

use std::collections::BTreeMap;
use std::process::Command;

use crate::common::{Project, describe, scrub_env};
use crate::run::{FakeBin, run_cmd};

/// What `cmd` will run with beyond what it inherits: a value, or None for removed.
fn explicit_env(cmd: &Command) -> BTreeMap<String, Option<String>> {
    cmd.get_envs()
        .map(|(name, value)| {
            let text = |s: &std::ffi::OsStr| s.to_str().unwrap().to_owned();
            (text(name), value.map(text))
        })
        .collect()
}

#[test]
fn scrub_removes_what_the_command_was_given_and_keeps_the_rest() {
    let mut cmd = Command::new("env");
    cmd.env("MODAL_GPU", "H100")
        .env("FORCE_COLOR", "1")
        .env("GITHUB_TOKEN", "ghp-x")
        .env("GH_HOST", "example.org")
        .env("MODALITY", "a prefix, not a substring")
        .env("KEPT", "yes");
    scrub_env(&mut cmd);
    let envs = explicit_env(&cmd);
    for name in ["MODAL_GPU", "FORCE_COLOR", "GITHUB_TOKEN", "GH_HOST"] {
        assert_eq!(
            envs.get(name),
            Some(&None),
            "{name} is not removed: {envs:?}"
        );
    }
    assert_eq!(
        envs["MODALITY"].as_deref(),
        Some("a prefix, not a substring")
    );
    assert_eq!(envs["KEPT"].as_deref(), Some("yes"));
    for name in ["PATH", "HOME"] {
        assert!(!envs.contains_key(name), "{name} must be inherited as is");
    }

    // What the process really gets; a variable set after the scrub reaches it.
    cmd.env("GITHUB_TOKEN", "ghp-set-after");
    let output = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let names: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(n, _)| n)
        .collect();
    for name in ["MODAL_GPU", "FORCE_COLOR", "GH_HOST"] {
        assert!(
            !names.contains(&name),
            "{name} reached the process: {}",
            describe(&output)
        );
    }
    for line in ["KEPT=yes", "GITHUB_TOKEN=ghp-set-after"] {
        assert!(
            stdout.lines().any(|l| l == line),
            "{line}: {}",
            describe(&output)
        );
    }
    assert!(names.contains(&"PATH"), "{}", describe(&output));
}

/// What a developer's shell might hold, each of which gpu-ci would act on.
const DIRTY: [(&str, &str); 3] = [
    ("FORCE_COLOR", "1"),
    ("CLICOLOR_FORCE", "1"),
    ("MODAL_GPU", "H100"),
];

/// The test below, in a copy of this test binary whose own environment holds DIRTY (setting
/// them here would need `std::env::set_var`: unsafe, and seen by every test thread).
#[test]
fn gpu_ci_never_sees_the_callers_environment() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "harness::under_a_dirty_environment", "--ignored"])
        .envs(DIRTY)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{}",
        describe(&output)
    );
}

#[test]
#[ignore = "run by gpu_ci_never_sees_the_callers_environment, in a process holding DIRTY"]
fn under_a_dirty_environment() {
    for (name, value) in DIRTY {
        assert_eq!(
            std::env::var(name).as_deref(),
            Ok(value),
            "run this through gpu_ci_never_sees_the_callers_environment"
        );
    }
    // extras-flat has no uv.lock, so init says so in a `note:`, which colour would paint.
    let project = Project::fixture("extras-flat");
    let output = project
        .gpu_ci(&["init", "--yes", "--dry-run", "--diff"])
        .success()
        .get_output()
        .clone();
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("note: no uv.lock"),
        "{}",
        describe(&output)
    );
    assert!(
        !output.stdout.contains(&0x1b) && !output.stderr.contains(&0x1b),
        "colour escapes: {}",
        describe(&output)
    );

    // MODAL_GPU would beat the default GPU, L4, in what reaches the Modal client.
    let bin = FakeBin::with_modal();
    run_cmd(&project, &bin, &[]).assert().success();
    assert!(
        bin.recorded().contains("MODAL_GPU=L4\n"),
        "{}",
        bin.recorded()
    );
}
