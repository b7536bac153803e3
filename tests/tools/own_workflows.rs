//! gpu-ci's own workflows (.github/workflows/: CI and release) are held to what the generated
//! ones are held to: zizmor (pedantic persona, offline), actionlint and the workflow schema find
//! nothing, and every action is pinned to a full commit SHA with its version beside it.

use std::path::PathBuf;
use std::process::Command;

use crate::common::{describe, repo_root};

fn own_workflows() -> Vec<PathBuf> {
    let dir = repo_root().join(".github/workflows");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    let names: Vec<_> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["ci.yml", "release.yml"]);
    files
}

#[test]
fn own_workflows_pass_zizmor_actionlint_and_the_schema() {
    let files = own_workflows();
    crate::checkers::assert_checkers_find_nothing(&files, &files);
}

/// `uses: OWNER/REPO@<40 hex> # vX.Y.Z` on every step; an action gpu-ci also pins for the
/// projects it sets up (src/pins.rs) at the same commit.
#[test]
fn own_workflows_pin_every_action_to_a_commit() {
    let mut seen = 0;
    for file in own_workflows() {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let Some(uses) = line
                .trim_start()
                .trim_start_matches("- ")
                .strip_prefix("uses: ")
            else {
                continue;
            };
            let at = format!("{}:{}: {uses}", file.display(), n + 1);
            let (action, pin) = uses.split_once('@').expect(&at);
            let (sha, version) = pin.split_once(" # ").expect(&at);
            assert!(
                sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                "not a commit SHA: {at}"
            );
            let numbers: Vec<_> = version.strip_prefix('v').expect(&at).split('.').collect();
            assert!(
                numbers.len() == 3 && numbers.iter().all(|n| n.parse::<u32>().is_ok()),
                "not a vX.Y.Z comment: {at}"
            );
            if let Some(ours) = gpu_ci::pins::PINNED_ACTIONS
                .iter()
                .find(|p| p.repo == action)
            {
                assert_eq!((ours.sha, ours.version), (sha, version), "{at}");
            }
            seen += 1;
        }
    }
    assert!(seen >= 10, "only {seen} `uses:` lines found");
}

/// The MSRV job builds with the toolchain Cargo.toml declares: its line that reads
/// `rust-version`, run here on this Cargo.toml, gives what cargo reads there.
#[test]
fn ci_checks_the_rust_version_that_cargo_toml_declares() {
    let ci = std::fs::read_to_string(repo_root().join(".github/workflows/ci.yml")).unwrap();
    let line = ci
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("msrv=\"$("))
        .expect("ci.yml sets msrv from Cargo.toml");
    assert!(ci.contains(r#"cargo "+$msrv" check --locked --all-targets"#));
    let output = Command::new("bash")
        .arg("-c")
        .arg(format!("set -eu; {line}; printf %s \"$msrv\""))
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    let cargo: toml_edit::DocumentMut = std::fs::read_to_string(repo_root().join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let declared = cargo["package"]["rust-version"].as_str().unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), declared);
}
