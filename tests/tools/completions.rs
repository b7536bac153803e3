//! Completions run by fish and zsh themselves (bash's are in the integration tests): each
//! command's options complete, as a person pressing Tab would see them. scripts/test.sh
//! installs fish and zsh; a missing one fails the test.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{every_command, gpu_ci, long_options};

/// A shell on PATH, or the test fails saying how to get it.
fn shell(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|path| path.is_file())
        })
        .unwrap_or_else(|| {
            panic!("`{name}` is missing: run scripts/test.sh, which installs fish and zsh")
        })
}

fn script(shell: &str, dir: &Path, file: &str) -> PathBuf {
    let output = gpu_ci().args(["completions", shell]).output().unwrap();
    assert!(output.status.success(), "{shell}");
    let path = dir.join(file);
    std::fs::write(&path, output.stdout).unwrap();
    path
}

/// Issue 24: fish completes every command's options: `complete -C "gpu-ci COMMAND --"`.
#[test]
fn fish_completes_every_commands_options() {
    let fish = shell("fish");
    let dir = tempfile::tempdir().unwrap();
    let script = script("fish", dir.path(), "gpu-ci.fish");
    for command in every_command() {
        let line = format!("gpu-ci {command} --").replace("  ", " ");
        let output = Command::new(&fish)
            .arg("--no-config")
            .arg("-c")
            .arg(r#"source $argv[1]; and complete -C $argv[2]"#)
            .arg(&script)
            .arg(&line)
            .env("HOME", dir.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "fish: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut completed: Vec<String> = String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(|l| l.split('\t').next().unwrap().to_string())
            .collect();
        completed.sort();
        assert_eq!(completed, long_options(&command), "{line}<TAB>");
    }
}

/// Issue 24: zsh completes a subcommand's options, at its real prompt: an interactive zsh in a
/// pseudo-terminal (zpty) with compinit and the script on fpath, Tab pressed after a prefix,
/// once the prompt shows (its text split in the command that sets it, so the echo never
/// matches), the listing read back until it names the options (`timeout` only guards a hang).
#[test]
fn zsh_completes_subcommand_options_at_a_prompt() {
    let zsh = shell("zsh");
    let dir = tempfile::tempdir().unwrap();
    let functions = dir.path().join("functions");
    std::fs::create_dir(&functions).unwrap();
    script("zsh", &functions, "_gpu-ci");
    // A listing of both, or the rest of the one completion written after what was typed.
    for (line, seen) in [
        ("gpu-ci init --fo", "*--force*--fork-prs*"),
        ("gpu-ci github setup --re", "*--replace-secrets*--repo*"),
        ("gpu-ci pin --al", "*low-downgrade*"),
    ] {
        let driver = format!(
            r#"zmodload zsh/zpty || exit 90
zpty z 'zsh -f -i' || exit 91
zpty -w z 'fpath=({functions} $fpath); autoload -U compinit; compinit -u -D; PS1="re""ady> "'
zpty -r -m z out '*ready> *' || exit 92
zpty -w -n z $'{line}\t\t'
zpty -r -m z out '{seen}' || exit 93
zpty -d z
"#,
            functions = functions.display(),
        );
        let output = Command::new("timeout")
            .arg("60")
            .arg(&zsh)
            .args(["-f", "-c", &driver])
            .env("HOME", dir.path())
            .env("TERM", "dumb")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "zsh, {line}<TAB>: {:?}\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
