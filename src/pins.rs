//! The one table of actions the generated workflows use, each pinned to a full commit SHA.

use crate::github::tags::is_version_tag;

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
    /// Reads `"<sha> # vX.Y.Z"` as `gpu-ci pin` writes it, and checks it as `pin` checks
    /// GitHub's answers: the commit is 40 lowercase hexadecimal digits, the comment a version
    /// tag (`v` and one to three numbers). Nothing else reaches a workflow's `uses:` line.
    pub fn parse(text: &str) -> Option<ActionPin> {
        let (sha, version) = text.split_once('#')?;
        let (sha, version) = (sha.trim_matches(' '), version.trim_matches(' '));
        let valid = sha.len() == 40
            && sha.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            && is_version_tag(version);
        valid.then(|| ActionPin {
            sha: sha.to_string(),
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

/// The one command gpu-ci gives for installing the Modal client on this machine (`run`,
/// `doctor`): the version the workflows pin, as uv's tool or with pip.
pub fn modal_client_install() -> String {
    format!(
        "`uv tool install modal=={MODAL_CLIENT_VERSION}` (or `pip install modal=={MODAL_CLIENT_VERSION}`)"
    )
}
pub const UV_VERSION: &str = "0.13.9";
pub const POETRY_VERSION: &str = "2.5.1";

/// A requirement pinned to one version, with the sha256 of every wheel of it that the CI job
/// (CPython 3.12, Linux x86_64) may install; pip and uv refuse any other file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashedRequirement {
    pub name: &'static str,
    pub version: &'static str,
    pub sha256: &'static [&'static str],
}

const fn hashed(
    name: &'static str,
    version: &'static str,
    sha256: &'static [&'static str],
) -> HashedRequirement {
    HashedRequirement {
        name,
        version,
        sha256,
    }
}

impl HashedRequirement {
    /// One requirements-file line: `name==version --hash=sha256:… …`.
    pub fn line(&self) -> String {
        let mut line = format!("{}=={}", self.name, self.version);
        for hash in self.sha256 {
            line.push_str(" --hash=sha256:");
            line.push_str(hash);
        }
        line
    }
}

/// A requirements file of `requirements`, one line each, for `--require-hashes`.
pub fn requirements_file(requirements: &[HashedRequirement]) -> String {
    requirements.iter().map(|r| r.line() + "\n").collect()
}

/// The Python the CI job runs the Modal client on; the closure below is resolved for it.
pub const MODAL_CLIENT_PYTHON: &str = "3.12";

/// One wheel file named by its URL and sha256: pip fetches it without reading the index page
/// (for uv, a 2 MB page listing every release).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinnedWheel {
    pub name: &'static str,
    pub version: &'static str,
    pub url: &'static str,
    pub sha256: &'static str,
}

impl PinnedWheel {
    /// One requirements-file line: `name @ url --hash=sha256:…`.
    pub fn line(&self) -> String {
        format!("{} @ {} --hash=sha256:{}", self.name, self.url, self.sha256)
    }
}

/// uv's Linux x86_64 wheel on PyPI, which pip installs (hash-checked) in the CI job: its URL
/// and sha256 as https://pypi.org/simple/uv/ lists them.
pub const UV_WHEEL: PinnedWheel = PinnedWheel {
    name: "uv",
    version: UV_VERSION,
    url: "https://files.pythonhosted.org/packages/3d/aa/26d64642d808de4a652579ef950d7cd2d37f080a8babf9c67c6b75fc4c3f/uv-0.13.9-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    sha256: "d7f459fe4fd247d830351c75686d3996ace3c6f3f728eb0e85a30b7ada0cef19",
};

/// The Modal client and everything it needs, resolved for CPython 3.12 on Linux x86_64:
/// the CI job installs exactly these files with `uv pip install --require-hashes`.
/// `scripts/modal-client-closure.py MODAL_CLIENT_VERSION` prints this table afresh.
pub const MODAL_CLIENT_CLOSURE: &[HashedRequirement] = &[
    hashed(
        "aiohappyeyeballs",
        "2.7.1",
        &["9243213661e29250eb41368e5daa826fc017156c3b8a11440826b2e3ed376472"],
    ),
    hashed(
        "aiohttp",
        "3.14.5",
        &[
            "20f085697d7e911f1f73c43ed03fafbed1e7121797e2eb5428efa80398060584",
            "efc21a454892828368b11c2c780de0ff8bc991f73f6b99c6b66e56205470929b",
        ],
    ),
    hashed(
        "aiosignal",
        "1.4.0",
        &["053243f8b92b990551949e63930a839ff0cf0b0ebbe0597b0f3fb19e1a0fe82e"],
    ),
    hashed(
        "anyio",
        "4.16.0",
        &["c66ae634e0b8228396b801741beb3294326d4b6102f7bba4041c0dfb58c29026"],
    ),
    hashed(
        "attrs",
        "26.1.0",
        &["c647aa4a12dfbad9333ca4e71fe62ddc36f4e63b2d260a37a8b83d2f043ac309"],
    ),
    hashed(
        "cbor2",
        "6.3.0",
        &["4f160b662059cc30ced4436fca332f4c27d0259698a5bde8373c9c6f829aabdf"],
    ),
    hashed(
        "certifi",
        "2026.10.19.post1",
        &["1324c476b4811eff41a8bc2122cd0bbd4d9c7234c725446d99ab1612b3a7fdd2"],
    ),
    hashed(
        "click",
        "8.5.1",
        &["8bb5376d2006950386f8c6427613334a2acadc5f559cb80e638d00b4df957e37"],
    ),
    hashed(
        "frozenlist",
        "1.8.0",
        &[
            "0c18a16eab41e82c295618a77502e17b195883241c563b00f0aa5106fc4eaa0d",
            "494a5952b1c597ba44e0e78113a7266e656b9794eec897b19ead706bd7074383",
        ],
    ),
    hashed(
        "grpclib",
        "0.4.9",
        &["7762ec1c8ed94dfad597475152dd35cbd11aecaaca2f243e29702435ca24cf0e"],
    ),
    hashed(
        "h2",
        "4.4.1",
        &["0e25f1462b23c9cb82d9eb02e28bc706dac2a68cb457c6a0d74d63c8a2a5d0e6"],
    ),
    hashed(
        "hpack",
        "4.2.0",
        &["858ac0b02280fa582b5080d68db0899c62a80375e0e5413a74970c5e518b6986"],
    ),
    hashed(
        "hyperframe",
        "6.1.0",
        &["b03380493a519fce58ea5af42e4a42317bf9bd425596f7a0835ffce80f1a42e5"],
    ),
    hashed(
        "idna",
        "3.20",
        &["ab7ae7122974553370f0bdb919e1a960b2cd1bc1ef0276416d896db81c14582c"],
    ),
    hashed(
        "markdown-it-py",
        "4.3.0",
        &["7aa1511a46c39138de78d9eba92ce47e63124d8003fc98b3a351909e04239efa"],
    ),
    hashed(
        "mdurl",
        "0.1.2",
        &["84008a41e51615a49fc9966191ff91509e3c40b939176e643fd50a5c2196b8f8"],
    ),
    hashed(
        "modal",
        "1.6.4",
        &["1bb631edeb7c4eae86be330430924784bf54b646cd16dc996a229c1ef81f6c9d"],
    ),
    hashed(
        "multidict",
        "7.2.1",
        &[
            "08ea94663d9e7c25d14d78222f7aee906c472d4837766bec62477c38f6e419dc",
            "1fb8c1a3480c130c3a6422d5f16f3cad6552bf08c2089dd288ba7134649183b5",
        ],
    ),
    hashed(
        "propcache",
        "0.5.4",
        &[
            "2814ecd8e818f487bee4b0f921bc4d1c176cc5fc71ac0f072d0fa67eda4ac14b",
            "62c60aec739ed00124573cce1178138fd690c7676352d67a37328c1cf51d7468",
        ],
    ),
    hashed(
        "protobuf",
        "7.36.2",
        &[
            "89f23aa53c24553a2416fd4fd1ec06f74fa42b14b546d8883128813f775bbfd2",
            "bdb3a345d48db958e6ce1f18e508beb0cc981d64f24088427549c866cd039f1e",
        ],
    ),
    hashed(
        "pygments",
        "2.21.0",
        &["2363c69b61c4a97c838da3b130dcd6468f4848992b21a82f2a63ec34377137d9"],
    ),
    hashed(
        "rich",
        "15.0.0",
        &["33bd4ef74232fb73fe9279a257718407f169c09b78a87ad3d296f548e27de0bb"],
    ),
    hashed(
        "synchronicity",
        "0.12.7",
        &["75f1a4e91a6af24b6576c242d95e9f1bcf061fab90feb8d1d3a6fa54b349a77d"],
    ),
    hashed(
        "toml",
        "0.10.2",
        &["806143ae5bfb6a3c6e736a764057db0e6a0e05e338b5630894a5f779cabb4f9b"],
    ),
    hashed(
        "types-certifi",
        "2021.10.8.3",
        &["b2d1e325e69f71f7c78e5943d410e650b4707bb0ef32e4ddf3da37f54176e88a"],
    ),
    hashed(
        "types-toml",
        "0.10.8.20260518",
        &["0e564ab05f6fde62a315b3b5a9b6624fda569399795d30a37e64705a70459303"],
    ),
    hashed(
        "typing-extensions",
        "4.16.0",
        &["481caa481374e813c1b176ada14e97f1f67a4539ce9cfeb3f350d78d6370c2e8"],
    ),
    hashed(
        "watchfiles",
        "1.3.0",
        &["b5768b49e426fd5b550b012c866db347cdf15c398ef98dc557b6e6b72fa74cd1"],
    ),
    hashed(
        "yarl",
        "1.25.1",
        &[
            "681c758b0490f9e96b78e5fa8e8dc6e648e9185bb6eaebe73183c33ea0c445f3",
            "c6f117789d22dce188e5754e8bc65b7e6ebf8cb73963b9fa761f672a5883769d",
        ],
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_from_the_config_form() {
        let pin = ActionPin::parse("11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2").unwrap();
        assert_eq!(
            pin.to_config(),
            "11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2"
        );
        // As `pin` checks GitHub's answers (issue 20, item 9): lowercase, a version tag.
        for bad in [
            "11BD71901BBE5B1630CEEA73D27597364C9AF683 # v4.2.2",
            "11bd71901bbe5b1630ceea73d27597364c9af683 # main",
            "11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2-rc1",
            "11bd71901bbe5b1630ceea73d27597364c9af683\n# v4.2.2",
            "11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n",
            "11bd71901bbe5b1630ceea73d27597364c9af68 # v4.2.2",
        ] {
            assert!(ActionPin::parse(bad).is_none(), "{bad:?}");
        }
        assert!(ActionPin::parse("v4").is_none());
        assert!(ActionPin::parse("abc # v4").is_none());
        assert!(ActionPin::parse("11bd71901bbe5b1630ceea73d27597364c9af683 # v4; rm").is_none());
    }

    #[test]
    fn the_closure_pins_the_modal_client_and_hashes_every_wheel() {
        let modal = MODAL_CLIENT_CLOSURE
            .iter()
            .find(|r| r.name == "modal")
            .expect("the closure holds modal");
        assert_eq!(modal.version, MODAL_CLIENT_VERSION);
        let is_sha256 = |hash: &str| {
            hash.len() == 64 && hash.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
        };
        for requirement in MODAL_CLIENT_CLOSURE {
            assert!(!requirement.sha256.is_empty(), "{}", requirement.name);
            assert!(requirement.sha256.iter().all(|h| is_sha256(h)));
        }
        assert!(is_sha256(UV_WHEEL.sha256));
        let file = UV_WHEEL.url.rsplit('/').next().unwrap();
        assert!(
            UV_WHEEL
                .url
                .starts_with("https://files.pythonhosted.org/packages/")
                && file.starts_with(&format!("uv-{UV_VERSION}-"))
                && file.contains("manylinux")
                && file.ends_with("_x86_64.whl"),
            "{file}"
        );
        let mut names: Vec<&str> = MODAL_CLIENT_CLOSURE.iter().map(|r| r.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), MODAL_CLIENT_CLOSURE.len(), "one pin per name");
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
