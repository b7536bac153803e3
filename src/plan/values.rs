//! Checking one value a person typed (a flag, a config key, a prompt answer), once, where the
//! plan is built.

use std::fmt;

use crate::error::{Error, Result};
use crate::plan::gpu::GpuMatrix;
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

/// A GPU setting as text: one GPU, a fallback list (`H100, A100-80GB`), or a matrix whose
/// entries `;` separates (`T4; H100`).
pub fn parse_gpu(text: &str) -> Result<GpuMatrix> {
    text.parse::<GpuMatrix>().map_err(gpu_error)
}

/// A GPU setting as a list (the config's `gpu = [...]`, or `--gpu` given more than once): a
/// matrix of its entries; a list of one is that entry.
pub fn parse_gpu_list(entries: &[String]) -> Result<GpuMatrix> {
    match entries {
        [one] => parse_gpu(one),
        _ => GpuMatrix::from_entries(entries).map_err(gpu_error),
    }
}

/// The most shards a GPU's run is split into (`shards` is checked where the config is read).
pub use crate::config::MAX_SHARDS;

/// The most sandboxes one run starts at once, as the runner allows: GPUs × shards.
pub const MAX_RUNS: u32 = 64;

/// Refuses a matrix and a shard count whose runs together exceed [`MAX_RUNS`].
pub fn check_runs(gpu: &GpuMatrix, shards: u32) -> Result<()> {
    let settings = u32::try_from(gpu.0.len()).unwrap_or(u32::MAX);
    if settings.saturating_mul(shards) > MAX_RUNS {
        return Err(Error::usage(format!(
            "{settings} GPUs × {shards} shards would start {} sandboxes at once; at most {MAX_RUNS}",
            settings.saturating_mul(shards)
        ))
        .with_help("use fewer shards or fewer GPUs in the matrix"));
    }
    Ok(())
}

fn gpu_error(msg: String) -> Error {
    Error::usage(msg).with_help(
        "pass e.g. --gpu L4, --gpu A100-80GB or --gpu H100:2; --gpu T4 --gpu H100 for a matrix",
    )
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
        ))
        .with_help(format!(
            "remove the `${{{{ … }}}}` from `{key}`: the workflows pass it as data, never as an expression"
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
        ))
        .with_help(format!("write `{key}` on one line of printable text")));
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

/// Each path of a test path (`tests/gpu tests/test_x.py::test_y`) stays inside the project:
/// not absolute, and no `..` above the project root.
pub fn check_test_path(test_path: &str) -> Result<()> {
    let words = crate::args::split(test_path)
        .unwrap_or_else(|_| test_path.split_whitespace().map(str::to_string).collect());
    for word in &words {
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

/// GitHub's longest label name, in characters.
pub const LABEL_MAX_CHARS: usize = 50;

/// Characters that change how text reads without being seen (bidirectional controls, the
/// byte-order mark) or that YAML may take as a line break: a workflow holding one reads
/// differently from what it does.
fn is_invisible_or_break(c: char) -> bool {
    matches!(
        c,
        '\u{200E}' | '\u{200F}' | '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// Any label GitHub accepts works: the workflows quote it in YAML and in expressions and
/// URL-encode it in API paths. Refused are what no API path can name (`.`, `..`), what GitHub
/// would not keep as typed (surrounding spaces), and what cannot be shown honestly in a file.
pub fn check_label(label: &str) -> Result<()> {
    let help = "choose another label with --label: one GitHub accepts, of 50 characters at most";
    let refuse = |why: &str| Err(Error::usage(format!("label `{label}` {why}")).with_help(help));
    if label.is_empty() {
        return Err(Error::usage("the label may not be empty").with_help(help));
    }
    if label.chars().count() > LABEL_MAX_CHARS {
        return refuse(&format!(
            "is longer than GitHub's {LABEL_MAX_CHARS} characters"
        ));
    }
    if label.trim() != label {
        return refuse("starts or ends with a space, which GitHub trims away");
    }
    if label == "." || label == ".." {
        return refuse("cannot be named in a URL path: `.` and `..` are path steps");
    }
    if label
        .chars()
        .any(|c| c.is_control() || is_invisible_or_break(c))
    {
        return refuse("may not contain control, line-break or invisible direction characters");
    }
    check_text("label", label)
}

/// A GitHub environment name, for `environment`: what GitHub accepts and a workflow can quote.
pub fn check_environment(name: &str) -> Result<()> {
    let refuse = |why: &str| {
        Err(
            Error::usage(format!("environment `{name}` {why}")).with_help(
                "set `environment` to the name of the GitHub environment, as GitHub shows it",
            ),
        )
    };
    if name.trim().is_empty() {
        return Err(Error::usage("`environment` may not be empty")
            .with_help("remove the key to run without a GitHub environment"));
    }
    if name.chars().count() > 255 {
        return refuse("is longer than GitHub's 255 characters");
    }
    if name.trim() != name {
        return refuse("starts or ends with a space");
    }
    if name
        .chars()
        .any(|c| c.is_control() || is_invisible_or_break(c))
    {
        return refuse("may not contain control, line-break or invisible direction characters");
    }
    check_text("environment", name)
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
            assert_eq!(split(&crate::args::quote(word)), [word], "{word}");
        }
        assert_eq!(crate::args::quote("tests/unit"), "tests/unit");
        assert_eq!(crate::args::quote("my tests"), "'my tests'");
    }

    #[test]
    fn labels_github_accepts_are_accepted() {
        for label in [
            "gpu-tests",
            "ci: gpu",
            "it's",
            "area/gpu",
            "100%",
            "a\"b\\c",
            "🚀 gpu",
            "#gpu?x=1&y",
            "...",
            &"x".repeat(50),
        ] {
            assert!(check_label(label).is_ok(), "{label}");
        }
    }

    #[test]
    fn labels_no_path_or_file_can_hold_are_refused() {
        for label in [
            "",
            ".",
            "..",
            " gpu",
            "gpu ",
            "gpu\n",
            "a\u{202E}b",
            "a\u{2028}b",
            "${{ github.token }}",
            &"x".repeat(51),
        ] {
            assert!(check_label(label).is_err(), "{label:?}");
        }
        let err = check_label("..").unwrap_err().to_string();
        assert!(err.contains("`..`"), "{err}");
    }

    #[test]
    fn environment_names_are_checked() {
        assert!(check_environment("gpu tests").is_ok());
        for name in ["", " x", "x ", "a\nb", "${{ vars.X }}"] {
            assert!(check_environment(name).is_err(), "{name:?}");
        }
    }
}
