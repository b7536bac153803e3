//! The CI systems gpu-ci writes files for: `--ci`, the `ci` key, or what detection finds.

use crate::error::{Error, Result};

/// One CI system gpu-ci can generate files for; the Modal runner is written for all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CiSystem {
    Github,
    Gitlab,
    Bitbucket,
}

impl CiSystem {
    pub const ALL: [CiSystem; 3] = [CiSystem::Github, CiSystem::Gitlab, CiSystem::Bitbucket];

    /// As `--ci` and the `ci` key spell it.
    pub fn name(self) -> &'static str {
        match self {
            CiSystem::Github => "github",
            CiSystem::Gitlab => "gitlab",
            CiSystem::Bitbucket => "bitbucket",
        }
    }

    /// As people call it.
    pub fn title(self) -> &'static str {
        match self {
            CiSystem::Github => "GitHub Actions",
            CiSystem::Gitlab => "GitLab CI/CD",
            CiSystem::Bitbucket => "Bitbucket Pipelines",
        }
    }

    pub fn parse(text: &str) -> Result<CiSystem> {
        CiSystem::ALL
            .into_iter()
            .find(|ci| ci.name() == text)
            .ok_or_else(|| {
                Error::usage(format!("unknown CI system `{text}`"))
                    .with_help("valid values are github, gitlab and bitbucket")
            })
    }
}

/// A list of names, each once, in gpu-ci's order; at least one.
pub fn parse_list(names: &[String]) -> Result<Vec<CiSystem>> {
    let mut list = names
        .iter()
        .map(|name| CiSystem::parse(name.trim()))
        .collect::<Result<Vec<_>>>()?;
    list.sort();
    list.dedup();
    if list.is_empty() {
        return Err(Error::usage("`ci` names no CI system").with_help(
            "name at least one: `ci = [\"github\"]`, `[\"gitlab\"]` or `[\"bitbucket\"]`",
        ));
    }
    Ok(list)
}

/// Of the CI systems a project uses, the one its GPU tests run on: where its GPU job is, else
/// GitHub when it is used, else the first found. `init` writes files for that one only, so a
/// user's other CI (an internal `.gitlab-ci.yml`) is never edited unasked.
pub fn pick_detected(found: &[CiSystem], gpu_job_on: Option<CiSystem>) -> Option<CiSystem> {
    gpu_job_on
        .filter(|ci| found.contains(ci))
        .or_else(|| found.iter().min().copied())
}

/// The names, for the config and messages.
pub fn names(list: &[CiSystem]) -> Vec<String> {
    list.iter().map(|ci| ci.name().to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_ordered_deduplicated_and_never_empty() {
        let list = parse_list(&["bitbucket".into(), "github".into(), "bitbucket".into()]).unwrap();
        assert_eq!(list, [CiSystem::Github, CiSystem::Bitbucket]);
        assert!(parse_list(&[]).is_err());
        assert!(parse_list(&["jenkins".into()]).is_err());
    }

    #[test]
    fn detection_picks_the_system_of_the_gpu_job_else_github() {
        use CiSystem::*;
        assert_eq!(pick_detected(&[Github, Gitlab], None), Some(Github));
        assert_eq!(pick_detected(&[Github, Gitlab], Some(Gitlab)), Some(Gitlab));
        assert_eq!(
            pick_detected(&[Gitlab, Bitbucket], Some(Github)),
            Some(Gitlab)
        );
        assert_eq!(pick_detected(&[], None), None);
    }
}
