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

impl PinnedAction {
    /// `owner/repo@<sha> # vX.Y.Z`, as it stands after `uses:`.
    pub fn uses(&self) -> String {
        format!("{}@{} # {}", self.repo, self.sha, self.version)
    }
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

/// The Modal client the CPU job installs, and the versions the image pins.
pub const MODAL_CLIENT_VERSION: &str = "1.6.4";
pub const UV_VERSION: &str = "0.13.9";
pub const POETRY_VERSION: &str = "2.5.1";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pin_is_a_full_sha() {
        for action in PINNED_ACTIONS {
            assert_eq!(action.sha.len(), 40, "{}", action.repo);
            assert!(action.sha.chars().all(|c| c.is_ascii_hexdigit()));
            assert!(action.version.starts_with('v'));
        }
    }
}
