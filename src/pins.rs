//! The one table of actions the generated workflows use, each pinned to a full commit SHA.

/// An action reference pinned by commit, with the release it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinnedAction {
    /// Template name: `actions.<key>`.
    pub key: &'static str,
    pub repo: &'static str,
    pub sha: &'static str,
    pub version: &'static str,
}

pub const PINNED_ACTIONS: &[PinnedAction] = &[
    PinnedAction {
        key: "checkout",
        repo: "actions/checkout",
        sha: "11bd71901bbe5b1630ceea73d27597364c9af683",
        version: "v4.2.2",
    },
    PinnedAction {
        key: "setup_python",
        repo: "actions/setup-python",
        sha: "a26af69be951a213d495a4c3e4e4022e16d87065",
        version: "v5.6.0",
    },
    PinnedAction {
        key: "upload_artifact",
        repo: "actions/upload-artifact",
        sha: "ea165f8d65b6e75b540449e92b4886f43607fa02",
        version: "v4.6.2",
    },
    PinnedAction {
        key: "download_artifact",
        repo: "actions/download-artifact",
        sha: "d3f86a106a0bac45b974a628896c90dbdf5c8093",
        version: "v4.3.0",
    },
];

/// A pin from `[tool.gpu-ci.actions]`, or one that `gpu-ci pin` resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionPin {
    pub sha: String,
    pub version: String,
}

impl ActionPin {
    /// Reads `"<40-hex sha> # vX.Y.Z"`.
    pub fn parse(text: &str) -> Option<ActionPin> {
        let (sha, version) = text.split_once('#')?;
        let (sha, version) = (sha.trim(), version.trim());
        let valid = sha.len() == 40
            && sha.chars().all(|c| c.is_ascii_hexdigit())
            && !version.is_empty()
            && version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '_'));
        valid.then(|| ActionPin {
            sha: sha.to_ascii_lowercase(),
            version: version.to_string(),
        })
    }

    /// The form kept in the config.
    pub fn to_config(&self) -> String {
        format!("{} # {}", self.sha, self.version)
    }
}

impl From<&PinnedAction> for ActionPin {
    fn from(action: &PinnedAction) -> Self {
        ActionPin {
            sha: action.sha.to_string(),
            version: action.version.to_string(),
        }
    }
}

/// The embedded action for `owner/repo`.
pub fn known(repo: &str) -> Option<&'static PinnedAction> {
    PINNED_ACTIONS.iter().find(|a| a.repo == repo)
}

/// The Modal client the CPU job installs, and the versions the image pins.
pub const MODAL_CLIENT_VERSION: &str = "1.6.4";
pub const UV_VERSION: &str = "0.13.9";
pub const POETRY_VERSION: &str = "2.5.1";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_from_the_config_form() {
        let pin = ActionPin::parse("11BD71901BBE5B1630CEEA73D27597364C9AF683 # v4.2.2").unwrap();
        assert_eq!(
            pin.to_config(),
            "11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2"
        );
        assert!(ActionPin::parse("v4").is_none());
        assert!(ActionPin::parse("abc # v4").is_none());
        assert!(ActionPin::parse("11bd71901bbe5b1630ceea73d27597364c9af683 # v4; rm").is_none());
    }

    #[test]
    fn every_pin_is_a_full_sha() {
        for action in PINNED_ACTIONS {
            assert_eq!(action.sha.len(), 40, "{}", action.repo);
            assert!(action.sha.chars().all(|c| c.is_ascii_hexdigit()));
            assert!(action.version.starts_with('v'));
        }
    }
}
