//! `--version`, `gpu-ci completions SHELL` and `gpu-ci man`: generated from the clap
//! definitions, so every subcommand and flag is in them.

use predicates::prelude::*;

use crate::common::gpu_ci;

#[test]
fn version_names_the_template_set() {
    let output = gpu_ci().arg("--version").output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let rest = text
        .trim_end()
        .strip_prefix(concat!(
            "gpu-ci ",
            env!("CARGO_PKG_VERSION"),
            " (templates "
        ))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(rest.len(), 8, "{text}");
    assert!(rest.chars().all(|c| c.is_ascii_hexdigit()), "{text}");
}

#[test]
fn completions_cover_every_shell_and_subcommand() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef gpu-ci"),
        ("fish", "complete -c gpu-ci"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let output = gpu_ci().args(["completions", shell]).output().unwrap();
        assert!(output.status.success(), "{shell}");
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.contains(marker), "{shell}: no `{marker}`");
        for word in [
            "doctor",
            "setup",
            "completions",
            "replace-secrets",
            "fork-prs",
        ] {
            assert!(text.contains(word), "{shell} completions lack `{word}`");
        }
    }
    gpu_ci()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("possible values"));
}

#[test]
fn man_pages_come_from_the_same_definitions() {
    let output = gpu_ci().arg("man").output().unwrap();
    assert!(output.status.success());
    let page = String::from_utf8(output.stdout).unwrap();
    assert!(page.starts_with(".ie \\n(.g"), "roff:\n{page}");
    assert!(page.contains(".TH gpu-ci 1"), "{page}");
    assert!(page.contains("doctor"), "{page}");

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    gpu_ci()
        .args(["man", "--out-dir"])
        .arg(&out)
        .assert()
        .success();
    for page in [
        "gpu-ci.1",
        "gpu-ci-init.1",
        "gpu-ci-doctor.1",
        "gpu-ci-github-setup.1",
    ] {
        assert!(out.join(page).is_file(), "{page}");
    }
}
