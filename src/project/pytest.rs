//! pytest's configuration as pytest finds it, and what it says about GPU tests: registered
//! markers, an `-m` in addopts that deselects them, testpaths that leave GPU folders out.

use std::path::Path;

use super::ini;
use super::pyproject::{PyProject, PytestOptions};

/// pytest's settings and the file they came from.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PytestConfig {
    /// `pyproject.toml`, `pytest.ini`, `tox.ini` or `setup.cfg`; `None` when none configures pytest.
    pub file: Option<&'static str>,
    pub options: PytestOptions,
    /// Marker names registered in the config or by a conftest.py.
    pub markers: Vec<String>,
}

/// How the GPU run selects the tests the project marks as needing a GPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuSelection {
    /// The `-m` expression for the GPU run.
    pub expression: String,
    /// Why, for the note.
    pub reason: String,
}

/// Names of markers that mean "needs a GPU": identifiers (`pytest.mark.NAME`), so that the
/// `-m` expression built from them holds nothing but names.
fn is_gpu_marker(name: &str) -> bool {
    is_identifier(name)
        && name
            .to_ascii_lowercase()
            .split('_')
            .any(|word| matches!(word, "gpu" | "gpus" | "cuda" | "multigpu"))
}

/// An ASCII Python identifier: what a marker name or a term of a plain `-m` expression is.
fn is_identifier(word: &str) -> bool {
    word.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn ini_options(section: &ini::Section) -> PytestOptions {
    PytestOptions {
        testpaths: section
            .get("testpaths")
            .map(|v| v.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
        python_files: section
            .get("python_files")
            .map(|v| v.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
        markers: section.lines("markers"),
        addopts: section.lines("addopts").join(" "),
        required_plugins: section
            .lines("required_plugins")
            .iter()
            .flat_map(|line| line.split_whitespace().map(str::to_string))
            .collect(),
    }
}

/// Markers a conftest.py registers with `config.addinivalue_line("markers", "gpu: ...")`.
fn conftest_markers(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices("addinivalue_line") {
        let rest = &text[at..text.len().min(at + 300)];
        let mut literals = rest.split(['"', '\'']).skip(1).step_by(2);
        if literals.next() == Some("markers")
            && let Some(line) = literals.next()
        {
            found.push(marker_name(line));
        }
    }
    found
}

/// `gpu(count): needs GPUs` → `gpu`.
fn marker_name(line: &str) -> String {
    line.split([':', '('])
        .next()
        .unwrap_or(line)
        .trim()
        .to_string()
}

impl PytestConfig {
    /// pytest's own order: pytest.ini, pyproject.toml's table, tox.ini, setup.cfg.
    pub fn find(root: &Path, pyproject: Option<&PyProject>) -> PytestConfig {
        let read = |name: &str| super::read_regular(root, name);
        let mut config = PytestConfig::default();
        if let Some(section) = read("pytest.ini").and_then(|t| ini::section(&t, "pytest")) {
            config.file = Some("pytest.ini");
            config.options = ini_options(&section);
        } else if let Some(options) = pyproject.and_then(|p| p.pytest.clone()) {
            config.file = Some("pyproject.toml");
            config.options = options;
        } else if let Some(section) = read("tox.ini").and_then(|t| ini::section(&t, "pytest")) {
            config.file = Some("tox.ini");
            config.options = ini_options(&section);
        } else if let Some(section) =
            read("setup.cfg").and_then(|t| ini::section(&t, "tool:pytest"))
        {
            config.file = Some("setup.cfg");
            config.options = ini_options(&section);
        }
        config.markers = config
            .options
            .markers
            .iter()
            .map(|m| marker_name(m))
            .collect();
        for conftest in ["conftest.py", "tests/conftest.py", "test/conftest.py"] {
            if let Some(text) = read(conftest) {
                config.markers.extend(conftest_markers(&text));
            }
        }
        config.markers.dedup();
        config
    }

    /// The `-m` expression in addopts, if any.
    fn addopts_expression(&self) -> Option<String> {
        let words = crate::args::split(&self.options.addopts).ok()?;
        let mut words = words.iter();
        while let Some(word) = words.next() {
            if word == "-m" {
                return words.next().cloned();
            }
            if let Some(expression) = word.strip_prefix("-m").filter(|e| !e.is_empty()) {
                return Some(expression.trim_start_matches('=').to_string());
            }
        }
        None
    }

    /// The GPU tests' selection, when the project marks them: the marker, with the rest of an
    /// addopts `-m` kept (`not gpu and not slow` → `gpu and not slow`).
    pub fn gpu_selection(&self) -> Option<GpuSelection> {
        let marker = self.markers.iter().find(|m| is_gpu_marker(m))?.clone();
        let registered_in = self.file.unwrap_or("a conftest.py");
        let Some(expression) = self.addopts_expression() else {
            return Some(GpuSelection {
                expression: marker.clone(),
                reason: format!("the project marks its GPU tests `{marker}` ({registered_in})"),
            });
        };
        let terms: Vec<&str> = expression.split(" and ").map(str::trim).collect();
        // Only `name` and `not name` terms are kept: anything else (parentheses, `or`, or text
        // that is no marker name) leaves the marker alone, so the tree's addopts add only names.
        let simple = terms
            .iter()
            .all(|term| is_identifier(term.strip_prefix("not ").unwrap_or(term).trim_start()));
        let deselects = terms.iter().any(|t| *t == format!("not {marker}"));
        let kept: Vec<&str> = terms
            .iter()
            .copied()
            .filter(|t| *t != format!("not {marker}") && *t != marker)
            .collect();
        let expression = if simple {
            std::iter::once(marker.as_str())
                .chain(kept)
                .collect::<Vec<_>>()
                .join(" and ")
        } else {
            marker.clone()
        };
        let reason = if deselects {
            format!("{registered_in}'s addopts deselect the `{marker}` tests by default")
        } else {
            format!("the project marks its GPU tests `{marker}` ({registered_in})")
        };
        Some(GpuSelection { expression, reason })
    }

    /// The `python_files` patterns, pytest's default when unset.
    pub fn python_files(&self) -> Vec<String> {
        if self.options.python_files.is_empty() {
            vec!["test_*.py".into(), "*_test.py".into()]
        } else {
            self.options.python_files.clone()
        }
    }
}

/// `*` matches any run of characters; nothing else is special (pytest's patterns are globs).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || !name[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(addopts: &str, markers: &[&str]) -> PytestConfig {
        PytestConfig {
            file: Some("pyproject.toml"),
            options: PytestOptions {
                addopts: addopts.into(),
                ..PytestOptions::default()
            },
            markers: markers.iter().map(|m| m.to_string()).collect(),
        }
    }

    #[test]
    fn a_deselected_gpu_marker_is_selected_keeping_the_rest() {
        let config = with(
            "--codeblocks -m 'not gpu and not doctest and not daily' --color=yes",
            &["world_size", "gpu", "doctest"],
        );
        let selection = config.gpu_selection().unwrap();
        assert_eq!(selection.expression, "gpu and not doctest and not daily");
        assert!(
            selection.reason.contains("deselect"),
            "{}",
            selection.reason
        );
        assert_eq!(
            with("", &["cuda"]).gpu_selection().unwrap().expression,
            "cuda"
        );
        assert_eq!(
            with("-m 'not gpu or slow'", &["gpu"])
                .gpu_selection()
                .unwrap()
                .expression,
            "gpu"
        );
        assert!(
            with("-m 'not slow'", &["slow", "big_accelerator"])
                .gpu_selection()
                .is_none()
        );
    }

    /// Marker names and addopts come from the tree: only names reach the `-m` expression.
    #[test]
    fn only_names_reach_the_expression() {
        for hostile in [
            "not gpu and not ${{ secrets.X }}",
            "not gpu and not $(touch pwned)",
            "not gpu and not 'x'",
            "not gpu and not a\u{1b}[2J",
        ] {
            let config = with(&format!("-m {}", crate::args::quote(hostile)), &["gpu"]);
            assert_eq!(
                config.gpu_selection().unwrap().expression,
                "gpu",
                "{hostile}"
            );
        }
        for hostile in [
            "gpu-$(x)",
            "gpu'; import os",
            "gpu ${{ x }}",
            "cuda.x",
            "1_gpu",
        ] {
            assert!(with("", &[hostile]).gpu_selection().is_none(), "{hostile}");
        }
        assert_eq!(
            with("-m 'not gpu and not slow_2'", &["gpu"])
                .gpu_selection()
                .unwrap()
                .expression,
            "gpu and not slow_2"
        );
    }

    #[test]
    fn conftest_registrations_are_read() {
        let text = "def pytest_configure(config):\n    config.addinivalue_line(\"markers\", \"requires_gpu: needs one\")\n    config.addinivalue_line('markers', 'slow')\n";
        assert_eq!(conftest_markers(text), ["requires_gpu", "slow"]);
    }

    #[test]
    fn globs() {
        assert!(glob_match("test_*.py", "test_a.py"));
        assert!(glob_match("*_test.py", "ops_test.py"));
        assert!(!glob_match("test_*.py", "conftest.py"));
        assert!(glob_match("check_*", "check_x"));
    }
}
