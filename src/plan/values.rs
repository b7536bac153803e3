//! Checking one value a person typed (a flag, a config key, a prompt answer), once, where the
//! plan is built.

use std::fmt;

use crate::error::{Error, Result};
use crate::plan::gpu::GpuChoice;
use crate::project::Framework;

/// A Python `3.N` that Modal's images offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PythonVersion {
    pub minor: u32,
}

impl fmt::Display for PythonVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "3.{}", self.minor)
    }
}

pub fn parse_python(text: &str) -> Result<PythonVersion> {
    text.strip_prefix("3.")
        .and_then(|m| m.parse::<u32>().ok())
        .filter(|m| (9..=14).contains(m))
        .map(|minor| PythonVersion { minor })
        .ok_or_else(|| {
            Error::usage(format!(
                "unsupported Python version `{text}`; use 3.9 to 3.14, as `3.12`"
            ))
        })
}

pub fn parse_gpu(text: &str) -> Result<GpuChoice> {
    text.parse::<GpuChoice>().map_err(|msg| {
        Error::usage(msg).with_help("pass e.g. --gpu L4, --gpu A100-80GB or --gpu H100:2")
    })
}

pub fn parse_framework(text: &str) -> Result<Framework> {
    Framework::from_name(text).ok_or_else(|| {
        let names: Vec<&str> = Framework::ALL.iter().map(|f| f.name()).collect();
        Error::usage(format!(
            "unknown framework `{text}`; valid values are {}",
            names.join(", ")
        ))
    })
}

/// Checks a value a person typed before it reaches a workflow or a shell.
pub fn check_text(key: &str, text: &str) -> Result<()> {
    if text.contains("${{") {
        return Err(Error::usage(format!(
            "`{key}` may not contain `${{{{`: GitHub would evaluate it as an expression"
        )));
    }
    // U+2028 and U+2029 end a line for YAML and JavaScript readers, though not for Python's
    // shlex: a reader would see another value than the runner.
    if text
        .chars()
        .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))
    {
        return Err(Error::usage(format!(
            "`{key}` may not contain newlines, other line separators (U+2028, U+2029) or control characters"
        )));
    }
    Ok(())
}

/// Each path of a test path (`tests/gpu tests/test_x.py::test_y`) stays inside the project:
/// not absolute, and no `..` above the project root.
pub fn check_test_path(test_path: &str) -> Result<()> {
    for word in test_path.split_whitespace() {
        let path = word.split("::").next().unwrap_or(word);
        let mut depth: i32 = 0;
        let escapes = path.starts_with('/')
            || path.starts_with('~')
            || path.split('/').any(|part| {
                depth += match part {
                    ".." => -1,
                    "" | "." => 0,
                    _ => 1,
                };
                depth < 0
            });
        if escapes {
            return Err(Error::usage(format!(
                "`test-path` `{word}` is outside the project; the tests run on a copy of the project alone"
            ))
            .with_help("give a path relative to the project root, as `tests/`"));
        }
    }
    Ok(())
}

/// Labels reach URLs and scripts; keep them to characters that need no escaping.
pub fn check_label(label: &str) -> Result<()> {
    let ok = !label.is_empty()
        && label.len() <= 50
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "label `{label}` may only hold letters, digits, spaces and `-_.:` (50 at most)"
        )))
    }
}

pub fn check_branch(branch: &str) -> Result<()> {
    let ok = !branch.is_empty()
        && branch
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "branch `{branch}` may only hold letters, digits and `-_./`"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_with_expressions_are_refused() {
        assert!(check_text("pytest-args", "-k ${{ secrets.X }}").is_err());
        assert!(check_text("pytest-args", "-v\n").is_err());
        assert!(check_text("pytest-args", "-v -k 'gpu and not slow'").is_ok());
        assert!(check_text("pytest-args", "-v\u{2028}-x").is_err());
        assert!(check_text("pytest-args", "-v\u{2029}").is_err());
        assert!(check_text("pytest-args", "-v\u{85}").is_err());
    }

    #[test]
    fn test_paths_stay_inside_the_project() {
        for bad in ["/etc", "../../x", "tests/../../x", "~/tests", "tests ../x"] {
            assert!(check_test_path(bad).is_err(), "{bad}");
        }
        for good in [
            "tests/",
            "tests/../other",
            "./tests",
            "tests/test_a.py::test_b",
            "a b",
        ] {
            assert!(check_test_path(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn python_versions_are_checked_once() {
        assert_eq!(parse_python("3.11").unwrap().to_string(), "3.11");
        assert!(parse_python("3.8").is_err());
        assert!(parse_python("three").is_err());
    }
}
