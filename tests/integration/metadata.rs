//! Issue 25: the package metadata registries and pre-commit users read. The distribution is
//! `gpu-ci-cli` on crates.io and PyPI (the command `gpu-ci`), and every place that names the
//! repository names the same one: Cargo.toml, pyproject.toml, the docs site, SECURITY.md's
//! reporting link and the pre-commit snippet users copy.

use toml_edit::{DocumentMut, Item};

use crate::common::repo_root;

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn toml(rel: &str) -> DocumentMut {
    read(rel).parse().unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn string<'a>(item: &'a Item, what: &str) -> &'a str {
    item.as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {item}"))
}

fn strings(item: &Item, what: &str) -> Vec<String> {
    item.as_array()
        .unwrap_or_else(|| panic!("{what} is not an array: {item}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// The repository every file names: Cargo.toml's `repository`.
fn repository() -> String {
    string(&toml("Cargo.toml")["package"]["repository"], "repository").to_owned()
}

#[test]
fn cargo_toml_has_what_crates_io_shows() {
    let cargo = toml("Cargo.toml");
    let package = &cargo["package"];
    assert_eq!(string(&package["name"], "name"), "gpu-ci-cli");
    let repository = repository();
    assert!(
        repository.starts_with("https://github.com/") && !repository.contains("OWNER"),
        "{repository}"
    );
    assert_eq!(string(&package["homepage"], "homepage"), repository);
    assert!(
        string(&package["documentation"], "documentation").starts_with(&repository),
        "the documentation is in the repository's docs/"
    );
    for key in ["description", "license", "readme", "rust-version"] {
        assert!(!string(&package[key], key).is_empty(), "{key}");
    }

    // crates.io: at most five keywords, each at most 20 characters of ASCII letters, digits,
    // `_`, `-` or `+`, starting with a letter.
    let keywords = strings(&package["keywords"], "keywords");
    assert!((1..=5).contains(&keywords.len()), "{keywords:?}");
    for keyword in &keywords {
        assert!(
            keyword.len() <= 20
                && keyword.starts_with(|c: char| c.is_ascii_alphabetic())
                && keyword
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-+".contains(c)),
            "{keyword}"
        );
    }
    // crates.io accepts only the slugs of its category list; these are the ones that fit.
    let categories = strings(&package["categories"], "categories");
    assert_eq!(
        categories,
        ["command-line-utilities", "development-tools::testing"]
    );
    // The command is `gpu-ci`, whatever the distribution is called.
    let bins = cargo["bin"].as_array_of_tables().unwrap();
    assert_eq!(
        bins.iter()
            .map(|b| b["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["gpu-ci"]
    );
}

#[test]
fn pyproject_toml_has_what_pypi_shows() {
    let pyproject = toml("pyproject.toml");
    let project = &pyproject["project"];
    assert_eq!(string(&project["name"], "name"), "gpu-ci-cli");
    let cargo = toml("Cargo.toml");
    assert_eq!(
        string(&project["description"], "description"),
        string(&cargo["package"]["description"], "description")
    );
    assert_eq!(
        string(&project["license"], "license"),
        string(&cargo["package"]["license"], "license")
    );
    let authors = project["authors"].as_array().expect("authors");
    assert!(!authors.is_empty());
    for author in authors {
        let name = author.as_inline_table().unwrap().get("name").unwrap();
        assert!(!name.as_str().unwrap().is_empty());
    }
    let keywords = strings(&project["keywords"], "keywords");
    for keyword in strings(&cargo["package"]["keywords"], "keywords") {
        assert!(keywords.contains(&keyword), "{keyword} not in {keywords:?}");
    }

    let repository = repository();
    let urls = project["urls"].as_table().expect("[project.urls]");
    let url = |label: &str| {
        urls.get(label)
            .and_then(Item::as_str)
            .unwrap_or_else(|| panic!("[project.urls] has no {label}"))
    };
    assert_eq!(url("Homepage"), repository);
    assert_eq!(url("Repository"), repository);
    assert_eq!(url("Issues"), format!("{repository}/issues"));
    assert_eq!(
        url("Changelog"),
        format!("{repository}/blob/main/CHANGELOG.md")
    );
    assert_eq!(
        url("Documentation"),
        string(&cargo["package"]["documentation"], "documentation")
    );
    // maturin builds the binary, not an extension module, from the locked crates.
    let maturin = &pyproject["tool"]["maturin"];
    assert_eq!(string(&maturin["bindings"], "bindings"), "bin");
    assert_eq!(maturin["locked"].as_bool(), Some(true));
}

#[test]
fn every_file_that_names_the_repository_names_the_same_one() {
    let repository = repository();
    let slug = repository.trim_start_matches("https://github.com/");
    let mkdocs = read("mkdocs.yml");
    assert!(
        mkdocs.contains(&format!("\nrepo_url: {repository}\n")),
        "mkdocs.yml"
    );
    assert!(
        mkdocs.contains(&format!("\nrepo_name: {slug}\n")),
        "mkdocs.yml"
    );
    assert!(
        read("SECURITY.md").contains(&format!("<{repository}/security/advisories/new>")),
        "SECURITY.md's private reporting link"
    );
    assert!(
        read("docs/usage.md").contains(&format!("  - repo: {repository}\n")),
        "docs/usage.md's pre-commit snippet"
    );
    // No placeholder left anywhere a user copies from.
    for rel in [
        "README.md",
        "docs/usage.md",
        "docs/getting-started.md",
        "CONTRIBUTING.md",
    ] {
        assert!(
            !read(rel).contains("github.com/OWNER/"),
            "{rel} names a placeholder repository"
        );
    }
}
