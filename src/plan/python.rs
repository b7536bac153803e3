//! Which Python the Modal image gets: only a version Modal's image builder supports.

use crate::error::{Error, Result};
use crate::plan::values::PythonVersion;
use crate::project::python::PythonSpec;

/// Modal's image builder versions and the Python 3 minors each one builds, newest first, as
/// modal 1.6.4 lists them (`SUPPORTED_PYTHON_SERIES` in `modal/_image.py`), read 2026-11-26.
/// A workspace is pinned to one builder; `image-builder` names an older one.
pub const IMAGE_BUILDERS: &[(&str, &[u32])] = &[
    ("2026.10", &[11, 12, 13, 14, 15]),
    ("2025.06", &[10, 11, 12, 13, 14, 15]),
    ("2024.10", &[10, 11, 12, 13]),
    ("2024.04", &[10, 11, 12]),
    ("2023.12", &[10, 11, 12]),
];

/// The builder new Modal workspaces use.
pub const CURRENT_IMAGE_BUILDER: &str = "2026.10";

/// The version picked when the project allows it: the newest with wheels for every framework.
const PREFERRED_MINOR: u32 = 12;

/// One image builder and the Python minors it supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageBuilder {
    pub version: &'static str,
    pub minors: &'static [u32],
}

impl ImageBuilder {
    pub fn current() -> ImageBuilder {
        ImageBuilder::parse(CURRENT_IMAGE_BUILDER).expect("the current builder is in the table")
    }

    pub fn parse(text: &str) -> Result<ImageBuilder> {
        IMAGE_BUILDERS
            .iter()
            .find(|(version, _)| *version == text.trim())
            .map(|(version, minors)| ImageBuilder { version, minors })
            .ok_or_else(|| {
                let known: Vec<&str> = IMAGE_BUILDERS.iter().map(|(v, _)| *v).collect();
                Error::usage(format!(
                    "unknown Modal image builder `{text}`; known versions are {}",
                    known.join(", ")
                ))
            })
    }

    /// `3.11 to 3.15`, for messages.
    pub fn range(&self) -> String {
        let first = self.minors.first().copied().unwrap_or_default();
        let last = self.minors.last().copied().unwrap_or_default();
        format!("3.{first} to 3.{last}")
    }

    pub fn supports(&self, minor: u32) -> bool {
        self.minors.contains(&minor)
    }

    /// A version a person asked for: an error listing the set when this builder lacks it.
    pub fn parse_python(&self, text: &str) -> Result<PythonVersion> {
        let minor = text
            .trim()
            .strip_prefix("3.")
            .and_then(|m| m.parse::<u32>().ok());
        match minor {
            Some(minor) if self.supports(minor) => Ok(PythonVersion { minor }),
            _ => Err(Error::usage(format!(
                "unsupported Python version `{text}`: Modal's image builder {} offers {}",
                self.version,
                self.list()
            ))
            .with_help(format!(
                "pick one of those; a workspace on an older builder sets `image-builder` (known: {})",
                IMAGE_BUILDERS
                    .iter()
                    .map(|(v, _)| *v)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    fn list(&self) -> String {
        let names: Vec<String> = self.minors.iter().map(|m| format!("3.{m}")).collect();
        names.join(", ")
    }

    /// The version for a project whose constraint is `spec`: 3.12 when it allows it, else the
    /// supported version nearest to 3.12 that it allows (the newer one on a tie).
    pub fn pick(&self, spec: &PythonSpec, shown: &str) -> Result<PythonVersion> {
        if self.supports(PREFERRED_MINOR) && spec.allows(PREFERRED_MINOR) {
            return Ok(PythonVersion {
                minor: PREFERRED_MINOR,
            });
        }
        self.minors
            .iter()
            .copied()
            .filter(|minor| spec.allows(*minor))
            .min_by_key(|minor| (minor.abs_diff(PREFERRED_MINOR), u32::MAX - minor))
            .map(|minor| PythonVersion { minor })
            .ok_or_else(|| {
                Error::usage(format!(
                    "the project's Python constraint `{shown}` admits no version Modal's image builder {} offers ({})",
                    self.version,
                    self.range()
                ))
                .with_help(
                    "widen the constraint, pass --python with a version the project can run on, or set `image-builder` to your workspace's older builder",
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(spec: &str) -> Result<String> {
        let spec = PythonSpec::parse(spec).unwrap();
        ImageBuilder::current()
            .pick(&spec, "x")
            .map(|v| v.to_string())
    }

    #[test]
    fn a_lower_bound_never_fails() {
        assert_eq!(pick(">=3.8").unwrap(), "3.12");
        assert_eq!(pick(">=3.9,<3.12").unwrap(), "3.11");
        assert_eq!(pick(">=3.13").unwrap(), "3.13");
        assert_eq!(pick("~=3.14.1").unwrap(), "3.14");
    }

    #[test]
    fn only_an_unsatisfiable_constraint_is_an_error() {
        let err = pick("==3.10.*").unwrap_err().to_string();
        assert!(err.contains("3.11 to 3.15"), "{err}");
        let older = ImageBuilder::parse("2025.06").unwrap();
        let spec = PythonSpec::parse("==3.10.*").unwrap();
        assert_eq!(older.pick(&spec, "x").unwrap().to_string(), "3.10");
    }

    #[test]
    fn asked_for_versions_outside_the_set_list_it() {
        let err = ImageBuilder::current().parse_python("3.9").unwrap_err();
        assert!(
            err.to_string().contains("3.11, 3.12, 3.13, 3.14, 3.15"),
            "{err}"
        );
        assert!(ImageBuilder::parse("2019.01").is_err());
    }
}
