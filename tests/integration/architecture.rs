//! ARCHITECTURE.md's invariants, checked on the source: what must never import what.

use std::fs;
use std::path::Path;

use crate::common::repo_root;

/// Every `crate::<module>` that the files under `src/<dir>` name.
fn imports(dir: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let root = repo_root().join("src").join(dir);
    let files: Vec<_> = if root.is_dir() {
        fs::read_dir(&root)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect()
    } else {
        vec![root.with_extension("rs")]
    };
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        let name = Path::new(&file)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        // In src/<dir>/mod.rs `super::` is the crate; in src/<dir>/x.rs, `super::super::`.
        let crate_paths: &[&str] = if name == "mod.rs" || !root.is_dir() {
            &["crate::", "super::"]
        } else {
            &["crate::", "super::super::"]
        };
        for module in crate_modules(&text, crate_paths) {
            found.push((name.clone(), module));
        }
    }
    found
}

/// The top-level modules a source text names through any of `crate_paths`, grouped imports
/// (`crate::{cli::ChoiceArgs, config}`) included.
fn crate_modules(text: &str, crate_paths: &[&str]) -> Vec<String> {
    let ident = |rest: &str| -> String {
        rest.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut modules = Vec::new();
    for path in crate_paths {
        for (at, _) in text.match_indices(path) {
            // `super::super::x` also holds `super::x`: count each path where it starts.
            if *path == "super::" && text[..at].ends_with("super::") {
                continue;
            }
            let rest = text[at + path.len()..].trim_start();
            if let Some(group) = rest.strip_prefix('{') {
                let mut depth = 0;
                let mut item_start = true;
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => item_start = true,
                        c if c.is_whitespace() => {}
                        _ if item_start => {
                            item_start = false;
                            modules.push(ident(&group[i..]));
                        }
                        _ => {}
                    }
                }
            } else {
                modules.push(ident(rest));
            }
        }
    }
    modules.retain(|m| !m.is_empty() && m != "super");
    modules
}

/// The scan finds a module however the import spells it (issue 27: `plan` → `cli` must be
/// caught again, grouped or through `super::`).
#[test]
fn the_import_scan_sees_grouped_and_relative_imports() {
    let at = |text: &str, paths: &[&str]| crate_modules(text, paths);
    let file = ["crate::", "super::super::"];
    assert_eq!(at("use crate::cli::ChoiceArgs;", &file), ["cli"]);
    assert_eq!(
        at(
            "use crate::{\n    cli::ChoiceArgs,\n    config::{self, Raw},\n};",
            &file
        ),
        ["cli", "config"]
    );
    assert_eq!(at("use super::super::cli::ChoiceArgs;", &file), ["cli"]);
    assert_eq!(at("use super::values;", &file), Vec::<String>::new());
    assert_eq!(at("use super::cli;", &["crate::", "super::"]), ["cli"]);
    assert_eq!(at("x: crate :: cli", &file), Vec::<String>::new());
}

fn assert_never(dir: &str, forbidden: &[&str]) {
    let found = imports(dir);
    assert!(
        !found.is_empty(),
        "src/{dir} imports nothing: is the path right?"
    );
    for (file, module) in found {
        assert!(
            !forbidden.contains(&module.as_str()),
            "src/{dir}/{file} imports crate::{module}, which ARCHITECTURE.md forbids"
        );
    }
}

#[test]
fn dependencies_point_one_way() {
    assert_never(
        "project",
        &["plan", "targets", "generate", "commands", "config", "cli"],
    );
    assert_never("targets", &["commands", "cli", "config"]);
    assert_never(
        "generate",
        &["plan", "targets", "commands", "cli", "config"],
    );
    // plan may name the lock's paths (to know a project is set up), nothing else of generate;
    // nor the command line (issue 27: the flags reach it as plan::choices::Choices).
    for (file, module) in imports("plan") {
        assert!(
            !["targets", "commands", "cli", "lib"].contains(&module.as_str()),
            "src/plan/{file} imports crate::{module}"
        );
    }
    let build = fs::read_to_string(repo_root().join("src/plan/build.rs")).unwrap();
    for line in build.lines().filter(|l| l.contains("crate::generate")) {
        assert_eq!(
            line.trim(),
            "use crate::generate::lock::{LEGACY_LOCK, LOCK};"
        );
    }
}

#[test]
fn templates_never_branch_on_an_install_kind_string() {
    let runner = fs::read_to_string(repo_root().join("templates/modal/test_runner.py.j2")).unwrap();
    assert!(
        !runner.contains("install.kind"),
        "install kinds are context fields, not strings"
    );
}

#[test]
fn only_the_github_client_speaks_http() {
    let mut stack = vec![repo_root().join("src")];
    let mut clients = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && fs::read_to_string(&path)
                    .unwrap()
                    .contains("reqwest::blocking")
            {
                clients.push(path.strip_prefix(repo_root()).unwrap().to_path_buf());
            }
        }
    }
    assert_eq!(
        clients,
        [Path::new("src/github/client.rs")],
        "one HTTP client, with its cap and deadline, for every GitHub call"
    );
}
