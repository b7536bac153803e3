//! The docs: the mkdocs site builds with warnings as errors, offline, and its own validation
//! fails a broken link or anchor; the README's relative links lead to files that exist; the
//! picture of the pull-request comment is drawn from what the runner writes today.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use crate::common::{Project, describe, gpu_ci, repo_root};
use crate::installed::{python, tool};

/// `mkdocs build --strict` of the site whose mkdocs.yml is in `root`, into a temporary folder,
/// with every proxy pointing to a closed port, so a build that reaches for the network fails.
fn mkdocs_build(root: &Path) -> (Output, tempfile::TempDir) {
    let site = tempfile::tempdir().unwrap();
    let output = Command::new(tool("mkdocs"))
        .args(["build", "--strict", "--site-dir"])
        .arg(site.path())
        .current_dir(root)
        .env("NO_MKDOCS_2_WARNING", "1")
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("http_proxy", "http://127.0.0.1:9")
        .env("https_proxy", "http://127.0.0.1:9")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .unwrap();
    (output, site)
}

/// mkdocs.yml and docs/ copied into a temporary folder, to break on purpose.
fn site_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(
        repo_root().join("mkdocs.yml"),
        dir.path().join("mkdocs.yml"),
    )
    .unwrap();
    let status = Command::new("cp")
        .arg("-R")
        .arg(repo_root().join("docs"))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

#[test]
fn the_docs_build_with_warnings_as_errors_offline() {
    let (output, site) = mkdocs_build(&repo_root());
    assert!(output.status.success(), "{}", describe(&output));
    for page in [
        "index.html",
        "getting-started/index.html",
        "pr-comment/index.html",
        "reference/configuration/index.html",
        "reference/cli/index.html",
        "assets/pr-comment.svg",
    ] {
        assert!(site.path().join(page).is_file(), "{page} was not built");
    }
}

#[test]
fn a_broken_link_or_anchor_fails_the_docs_build() {
    for (link, named) in [
        ("[gone](no-such-page.md)", "no-such-page.md"),
        ("[gone](usage.md#no-such-anchor)", "no-such-anchor"),
        ("[gone](#nor-here)", "nor-here"),
    ] {
        let copy = site_copy();
        let page = copy.path().join("docs/costs.md");
        let text = fs::read_to_string(&page).unwrap();
        fs::write(&page, format!("{text}\nSee {link}.\n")).unwrap();
        let (output, _site) = mkdocs_build(copy.path());
        assert!(
            !output.status.success(),
            "{link} did not fail the build: {}",
            describe(&output)
        );
        assert!(
            String::from_utf8_lossy(&output.stderr).contains(named),
            "{}",
            describe(&output)
        );
    }
}

/// The relative links and images of a Markdown text (`[text](target)`, `![alt](target)`),
/// without their `#anchor`; web addresses and links within the page are left out.
fn relative_links(markdown: &str) -> Vec<String> {
    let mut links = Vec::new();
    let mut rest = markdown;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        let Some(end) = rest.find(')') else { break };
        let target = rest[..end].split_whitespace().next().unwrap_or_default();
        let path = target.split('#').next().unwrap_or_default();
        if !path.is_empty() && !path.contains("://") && !path.starts_with("mailto:") {
            links.push(path.to_string());
        }
    }
    links
}

/// The links of `markdown` (a file in `root`) whose file does not exist.
fn broken_links(root: &Path, markdown: &str) -> Vec<String> {
    relative_links(markdown)
        .into_iter()
        .filter(|path| !root.join(path).exists())
        .collect()
}

#[test]
fn the_readmes_relative_links_lead_to_files_that_exist() {
    let root = repo_root();
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    let links = relative_links(&readme);
    assert!(
        links.iter().filter(|l| l.starts_with("docs/")).count() >= 5,
        "the README links to the docs: {links:?}"
    );
    assert!(links.iter().any(|l| l == "CONTRIBUTING.md"), "{links:?}");
    assert_eq!(broken_links(&root, &readme), Vec::<String>::new());
    // And those of the other Markdown files at the root, which link into docs/ too.
    for other in ["CONTRIBUTING.md", "SECURITY.md", "CHANGELOG.md"] {
        let text = fs::read_to_string(root.join(other)).unwrap();
        assert_eq!(broken_links(&root, &text), Vec::<String>::new(), "{other}");
    }

    // The check finds what is broken: a missing page, and one behind an anchor.
    let text = "[ok](README.md) [web](https://example.com/x.md) [here](#top) \
                [gone](docs/no-such-page.md) ![img](docs/assets/missing.svg) [a](docs/gone.md#x)";
    assert_eq!(
        broken_links(&root, text),
        [
            "docs/no-such-page.md",
            "docs/assets/missing.svg",
            "docs/gone.md"
        ]
    );
}

/// Where the value after `label` (up to ` ·`) stands in a summary: the wall time changes each
/// run, and the GPU is `none visible` only on a machine without one.
fn value_of(summary: &str, label: &str) -> Option<(usize, usize)> {
    let start = summary.find(label)? + label.len();
    let len = summary[start..].find(" ·")?;
    (len > 0).then_some((start, start + len))
}

/// `fresh` with the values of `labels` taken from `committed`.
fn with_values_of(mut fresh: String, committed: &str, labels: &[&str]) -> String {
    for label in labels {
        let (start, end) = value_of(&fresh, label).unwrap_or_else(|| panic!("no {label}"));
        let (c_start, c_end) = value_of(committed, label).unwrap_or_else(|| panic!("no {label}"));
        fresh.replace_range(start..end, &committed[c_start..c_end]);
    }
    fresh
}

/// `gpu-ci run --local` on tests/fixtures/pr-comment: the summary.md it writes.
fn fresh_summary() -> String {
    let project = Project::fixture("pr-comment");
    let path = format!("{}:/usr/bin:/bin", repo_root().join(".venv/bin").display());
    let output = gpu_ci()
        .arg("-C")
        .arg(&project.root)
        .args(["run", "--local"])
        .env("PATH", path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    project.read("test-outputs/summary.md")
}

#[test]
fn the_comment_picture_is_drawn_from_what_the_runner_writes_now() {
    python();
    let update = std::env::var_os("GPU_CI_UPDATE_DOCS").is_some();
    let committed_path = repo_root().join("docs/assets/pr-comment-summary.md");
    let picture_path = repo_root().join("docs/assets/pr-comment.svg");

    let fresh = fresh_summary();
    if update {
        fs::write(&committed_path, &fresh).unwrap();
    }
    let committed = fs::read_to_string(&committed_path).unwrap();
    // The wall time and the GPU are the committed ones; every other byte is what the runner
    // wrote now.
    let fresh = with_values_of(fresh, &committed, &["**GPU:** ", "**wall time:** "]);
    assert!(
        fresh == committed,
        "docs/assets/pr-comment-summary.md is not what the runner writes now: rerun with \
         GPU_CI_UPDATE_DOCS=1 and read the diff\n--- committed\n{committed}\n--- now\n{fresh}"
    );
    assert!(committed.contains("tests/test_ops.py::test_softmax_sums_to_one"));

    let out = tempfile::tempdir().unwrap();
    let drawn = out.path().join("pr-comment.svg");
    let output = draw(&committed_path, &drawn);
    assert!(output.status.success(), "{}", describe(&output));
    let drawn = fs::read_to_string(&drawn).unwrap();
    if update {
        fs::write(&picture_path, &drawn).unwrap();
    }
    assert!(
        fs::read_to_string(&picture_path).unwrap() == drawn,
        "docs/assets/pr-comment.svg is stale: rerun with GPU_CI_UPDATE_DOCS=1"
    );
    assert!(
        drawn.contains("softmax must sum to 1"),
        "the excerpt is shown"
    );
}

/// scripts/pr-comment-svg.py drawing the summary at `summary` into `svg`.
fn draw(summary: &Path, svg: &Path) -> Output {
    Command::new(python())
        .arg(repo_root().join("scripts/pr-comment-svg.py"))
        .arg(summary)
        .arg(svg)
        .output()
        .unwrap()
}

#[test]
fn the_picture_script_refuses_active_content() {
    for (markdown, named) in [
        (
            "### ok\n\n<object data=\"https://evil.example/x\"></object>\n",
            "<object>",
        ),
        ("<img src=\"x\" onerror=\"alert(1)\" />\n", "<img>"),
        ("<img src=x onerror=alert(1)>\n", "not well-formed"),
        ("[a link](https://evil.example/)\n", "<a>"),
        ("<pre onclick=\"alert(1)\">x</pre>\n", "`onclick`"),
        (
            "<pre style=\"background:url(https://evil.example/)\">x</pre>\n",
            "`style`",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let summary = dir.path().join("summary.md");
        let svg = dir.path().join("out.svg");
        fs::write(&summary, markdown).unwrap();
        let output = draw(&summary, &svg);
        assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
        assert!(
            String::from_utf8_lossy(&output.stderr).contains(named),
            "{}",
            describe(&output)
        );
        assert!(!svg.exists(), "nothing is written");
    }

    // cmark-gfm's tag filter, as on GitHub, already shows a script as text.
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let svg = dir.path().join("out.svg");
    fs::write(&summary, "<script>alert(1)</script>\n").unwrap();
    let output = draw(&summary, &svg);
    assert!(output.status.success(), "{}", describe(&output));
    let drawn = fs::read_to_string(&svg).unwrap();
    assert!(
        !drawn.contains("<script") && drawn.contains("&lt;script"),
        "{drawn}"
    );
}
