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
        for (at, _) in text.match_indices("crate::") {
            let module: String = text[at + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let name = Path::new(&file)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            found.push((name, module));
        }
    }
    found
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
    // plan may name the lock's paths (to know a project is set up), nothing else of generate.
    for (file, module) in imports("plan") {
        assert!(
            !["targets", "commands"].contains(&module.as_str()),
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
