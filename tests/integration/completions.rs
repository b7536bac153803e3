//! `--version`, each command's `--help`, `gpu-ci completions SHELL` and `gpu-ci man`: generated
//! from the clap definitions and the exit-code table, so every subcommand, flag and code is in
//! them.

use predicates::prelude::*;

use gpu_ci::error::COMMAND_EXIT_CODES;

use crate::common::{every_command, gpu_ci, long_options};

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

/// What bash completes for `words` (the last one being completed): the script loaded, then the
/// function it registers for `gpu-ci` called as bash calls it, COMP_WORDS/COMP_CWORD set.
fn bash_complete(script: &str, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let cword = words.len() - 1;
    let prev = if cword > 0 { words[cword - 1] } else { "" };
    let program = format!(
        r#"source "$1" || exit 90
spec=$(complete -p gpu-ci) || exit 91
function=$(printf '%s\n' "$spec" | sed -n 's/.* -F \([^ ]*\) .*/\1/p')
COMP_WORDS=({words})
COMP_CWORD={cword}
COMP_LINE="${{COMP_WORDS[*]}}"
COMP_POINT=${{#COMP_LINE}}
"$function" gpu-ci '{cur}' '{prev}'
printf '%s\n' "${{COMPREPLY[@]}}"
"#,
        words = quoted.join(" "),
        cur = words[cword],
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gpu-ci.bash");
    std::fs::write(&path, script).unwrap();
    let output = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program, "bash"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "bash: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut words: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    words.sort();
    words
}

/// Issue 24: bash completed subcommands but never a subcommand's options (clap_complete with a
/// hyphenated bin name, clap-rs/clap#6421). Run by bash itself: every command's options.
#[test]
fn bash_completes_every_commands_options() {
    let output = gpu_ci().args(["completions", "bash"]).output().unwrap();
    assert!(output.status.success());
    let script = String::from_utf8(output.stdout).unwrap();

    for command in every_command() {
        let mut words: Vec<&str> = vec!["gpu-ci"];
        words.extend(command.split_whitespace());
        words.push("--");
        let completed = bash_complete(&script, &words);
        assert_eq!(
            completed,
            long_options(&command),
            "gpu-ci {command} --<TAB>"
        );
    }
    assert_eq!(
        bash_complete(&script, &["gpu-ci", "init", "--fo"]),
        ["--force", "--fork-prs"]
    );
    assert_eq!(
        bash_complete(&script, &["gpu-ci", "github", "setup", "--re"]),
        ["--replace-secrets", "--repo"]
    );
    assert_eq!(bash_complete(&script, &["gpu-ci", "dur"]), ["durations"]);
    assert_eq!(
        bash_complete(&script, &["gpu-ci", "init", "--ci", "gi"]),
        ["github", "gitlab"]
    );
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

/// The page `--out-dir` writes for a command (its words after `gpu-ci`).
fn man_file(command: &str) -> String {
    if command.is_empty() {
        "gpu-ci.1".to_string()
    } else {
        format!("gpu-ci-{}.1", command.replace(' ', "-"))
    }
}

/// The `name(1)` references of a roff page, `\-` read as `-`.
fn page_references(page: &str) -> Vec<String> {
    let page = page.replace("\\-", "-");
    let mut names = Vec::new();
    for (at, _) in page.match_indices("(1)") {
        let start = page[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .map_or(0, |i| i + 1);
        names.push(page[start..at].to_string());
    }
    names
}

/// The codes an `EXIT STATUS` section lists, in order.
fn man_exit_codes(page: &str) -> Vec<String> {
    let section = page
        .split_once(".SH \"EXIT STATUS\"\n.nf\n")
        .unwrap_or_else(|| panic!("no EXIT STATUS in:\n{page}"))
        .1;
    let section = &section[..section.find(".fi\n").unwrap()];
    section
        .lines()
        .filter_map(|line| line.strip_prefix("  "))
        .filter(|rest| !rest.starts_with(' '))
        .map(|rest| rest.split(' ').next().unwrap().to_string())
        .collect()
}

/// Issue 24: the man pages list every exit code (124 and 128+N included), each page its own
/// command's, and every page any page names (SEE ALSO, SUBCOMMANDS) is one `--out-dir` wrote:
/// never gpu-ci-help(1).
#[test]
fn man_pages_list_every_exit_code_and_link_only_pages_that_exist() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    gpu_ci()
        .args(["man", "--out-dir"])
        .arg(&out)
        .assert()
        .success();
    let mut written: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    let mut expected: Vec<String> = every_command()
        .iter()
        .map(|c| man_file(c))
        .chain(["gpu-ci-github.1".to_string(), "gpu-ci-cache.1".to_string()])
        .collect();
    expected.sort();
    assert_eq!(written, expected);

    let mut see_also = 0;
    for name in &written {
        let page = std::fs::read_to_string(out.join(name)).unwrap();
        assert!(page.contains(".SH \"SEE ALSO\"\n"), "{name}");
        for reference in page_references(&page) {
            see_also += 1;
            assert!(
                out.join(format!("{reference}.1")).is_file(),
                "{name} names {reference}(1), which --out-dir did not write"
            );
        }
    }
    assert!(see_also > written.len(), "{see_also} references");

    for (command, codes) in COMMAND_EXIT_CODES {
        let file = man_file(command);
        let page = std::fs::read_to_string(out.join(&file)).unwrap();
        let labels: Vec<String> = codes.iter().map(|(code, _)| code.label()).collect();
        assert_eq!(man_exit_codes(&page), labels, "{file}");
    }
    let top = man_exit_codes(&std::fs::read_to_string(out.join("gpu-ci.1")).unwrap());
    for code in ["0", "1", "2", "3", "124", "130", "128+N", "N"] {
        assert!(top.contains(&code.to_string()), "gpu-ci.1 lacks {code}");
    }

    // The printed page is gpu-ci.1, without a page for clap's `help` either.
    let output = gpu_ci().arg("man").output().unwrap();
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        printed,
        std::fs::read_to_string(out.join("gpu-ci.1")).unwrap()
    );
    assert!(!page_references(&printed).contains(&"gpu-ci-help".to_string()));
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
