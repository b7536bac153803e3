//! Checking one value a person typed (a flag, a config key, a prompt answer), once, where the
//! plan is built.

use std::fmt;

use crate::error::{Error, Result};
use crate::plan::gpu::GpuChoice;
use crate::project::Framework;

/// A Python `3.N`; `plan::python` checks that Modal's image builder offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PythonVersion {
    pub minor: u32,
}

impl fmt::Display for PythonVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "3.{}", self.minor)
    }
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
    if text.chars().any(|c| c.is_control()) {
        return Err(Error::usage(format!(
            "`{key}` may not contain newlines or control characters"
        )));
    }
    Ok(())
}

/// Splits test-path or pytest-args into arguments exactly as the runner does (see
/// [`crate::args::split`]); an unclosed quote is refused here, so that what init accepts, the
/// runner runs.
pub fn split_args(key: &str, text: &str) -> Result<Vec<String>> {
    crate::args::split(text).map_err(|why| {
        Error::usage(format!(
            "`{key}` is not a valid argument list: {why} in `{text}`"
        ))
        .with_help("quote as in a POSIX shell, e.g. -k 'gpu and not slow'")
    })
}

/// One argument quoted so that [`split_args`] gives it back whole.
pub fn quote_arg(word: &str) -> String {
    crate::args::quote(word)
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
    }

    #[test]
    fn argument_lists_split_as_python_shlex_does() {
        let split = |text: &str| split_args("pytest-args", text).unwrap();
        assert_eq!(
            split("-k 'gpu and not slow' -x"),
            ["-k", "gpu and not slow", "-x"]
        );
        assert_eq!(
            split(r#"a\ b "c\"d\$" '' #e"#),
            ["a b", "c\"d\\$", "", "#e"]
        );
        assert_eq!(split("  "), Vec::<String>::new());
        for broken in ["-k 'a", "-k \"a", "a\\"] {
            let err = split_args("pytest-args", broken).unwrap_err();
            assert!(
                err.to_string().contains("not a valid argument list"),
                "{err}"
            );
        }
        for word in ["my tests", "tests/", "", "it's", "a\"b", "$x", "#c"] {
            assert_eq!(split(&quote_arg(word)), [word], "{word}");
        }
        assert_eq!(quote_arg("tests/unit"), "tests/unit");
        assert_eq!(quote_arg("my tests"), "'my tests'");
    }
}
