//! `--version`, each command's `--help`, `gpu-ci completions SHELL` and `gpu-ci man`: generated
//! from the clap definitions and the exit-code table, so every subcommand, flag and code is in
//! them.

use predicates::prelude::*;

use clap::CommandFactory;
use gpu_ci::error::COMMAND_EXIT_CODES;

use crate::common::gpu_ci;

/// Every command a person can run, as its words after `gpu-ci` (`""` for gpu-ci itself): the
/// leaves of clap's tree, and gpu-ci; never clap's own `help`.
fn every_command() -> Vec<String> {
    fn walk(command: &clap::Command, prefix: &str, out: &mut Vec<String>) {
        for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
            let name = format!("{prefix}{}", sub.get_name());
            if sub.has_subcommands() {
                walk(sub, &format!("{name} "), out);
            } else {
                out.push(name);
            }
        }
    }
    let mut out = vec![String::new()];
    walk(&gpu_ci::cli::Cli::command(), "", &mut out);
    out
}

/// The `Exit codes:` block of a help text or man page: each code and its meaning, the
/// meaning's wrapped lines joined.
fn listed_exit_codes(text: &str) -> Vec<(String, String)> {
    let block = text
        .split_once("Exit codes:\n")
        .unwrap_or_else(|| panic!("no exit codes in:\n{text}"))
        .1;
    let mut codes: Vec<(String, String)> = Vec::new();
    for line in block.lines() {
        let Some(rest) = line.strip_prefix("  ") else {
            break;
        };
        if rest.starts_with(' ') {
            let (_, meaning) = codes.last_mut().expect("a continued line after a code");
            meaning.push(' ');
            meaning.push_str(rest.trim());
        } else {
            let (code, meaning) = rest.split_once(' ').unwrap();
            codes.push((code.to_string(), meaning.trim().to_string()));
        }
    }
    codes
}

/// Issue 24: each command's help ends with the codes THAT command returns, as the table in
/// error.rs lists them, and shows an example; `update --help` says nothing of tests.
#[test]
fn each_commands_help_lists_its_own_exit_codes_from_the_table() {
    let commands = every_command();
    let mut tabled: Vec<&str> = COMMAND_EXIT_CODES.iter().map(|(name, _)| *name).collect();
    let mut expected: Vec<&str> = commands.iter().map(String::as_str).collect();
    tabled.sort_unstable();
    expected.sort_unstable();
    assert_eq!(
        tabled, expected,
        "the exit-code table and the commands differ"
    );

    for (command, codes) in COMMAND_EXIT_CODES {
        let output = gpu_ci()
            .args(command.split_whitespace())
            .arg("--help")
            .output()
            .unwrap();
        assert!(output.status.success(), "{command}");
        let help = String::from_utf8(output.stdout).unwrap();
        let listed = listed_exit_codes(&help);
        let table: Vec<(String, String)> = codes
            .iter()
            .map(|(code, meaning)| (code.label(), (*meaning).to_string()))
            .collect();
        assert_eq!(listed, table, "gpu-ci {command} --help:\n{help}");
        assert!(
            help.contains("Examples:\n  gpu-ci") || help.contains("for example:\n  bash"),
            "gpu-ci {command} --help shows no example:\n{help}"
        );
    }
    let codes = |command: &str| -> Vec<String> {
        gpu_ci::error::exit_codes_of(command)
            .iter()
            .map(|(code, _)| code.label())
            .collect()
    };
    // Only run runs tests: no other command lists their codes, or mentions them.
    for command in commands.iter().filter(|c| !c.is_empty() && *c != "run") {
        let listed = codes(command);
        for code in ["N", "124", "128+N"] {
            assert!(!listed.contains(&code.to_string()), "{command}: {code}");
        }
        for (_, meaning) in gpu_ci::error::exit_codes_of(command) {
            assert!(!meaning.contains("tests"), "{command}: {meaning}");
        }
    }
    assert_eq!(codes("update"), ["0", "1", "2", "3"]);
    assert_eq!(codes("run"), ["0", "N", "2", "3", "124", "128+N"]);
    assert_eq!(codes(""), ["0", "1", "2", "3", "124", "130", "128+N", "N"]);
}

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
