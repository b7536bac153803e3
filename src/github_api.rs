//! The few GitHub REST calls `gpu-ci pin` makes: tags, annotated tags, latest releases.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use serde::Deserialize;

use crate::error::{Error, Result};

const DEFAULT_API: &str = "https://api.github.com";
const ATTEMPTS: u32 = 3;

pub struct GitHub {
    client: Client,
    base: String,
    token: Option<String>,
    retry_delay: Duration,
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
    let mut parts = tag.strip_prefix('v').unwrap_or(tag).split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    let patch = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    parts.next().is_none().then_some((major, minor, patch))
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
        let retry_delay = std::env::var("GPU_CI_RETRY_DELAY_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map_or(Duration::from_millis(500), Duration::from_millis);
        let client = Client::builder()
            .user_agent(concat!("gpu-ci/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|err| Error::network("cannot start an HTTP client", Some(Box::new(err))))?;
        Ok(GitHub {
            client,
            base: base.trim_end_matches('/').to_string(),
            token,
            retry_delay,
        })
    }

    /// GET `path`, retrying server errors and dropped connections with backoff.
    fn get(&self, path: &str, action: &str) -> Result<Response> {
        let url = format!("{}{path}", self.base);
        let mut last_status = None;
        let mut last_cause = None;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                std::thread::sleep(self.retry_delay * 2u32.pow(attempt - 1));
            }
            let mut request = self
                .client
                .get(&url)
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

    fn json<T: for<'de> Deserialize<'de>>(&self, path: &str, action: &str) -> Result<T> {
        self.get(path, action)?.json().map_err(|err| {
            Error::network(
                format!("cannot resolve `{action}`: unexpected answer from GitHub"),
                Some(Box::new(err)),
            )
        })
    }

    /// Follows annotated tags down to the commit they name.
    fn commit_of(&self, repo: &str, mut object: GitObject) -> Result<String> {
        for _ in 0..8 {
            match object.kind.as_str() {
                "commit" => return Ok(object.sha),
                "tag" => {
                    let tag: AnnotatedTag =
                        self.json(&format!("/repos/{repo}/git/tags/{}", object.sha), repo)?;
                    object = tag.object;
                }
                other => {
                    return Err(Error::usage(format!(
                        "cannot resolve `{repo}`: its tag points to a {other}, not a commit"
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
                let version = semver(&tag).filter(|v| v.0 == major)?;
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
        Ok(Resolved {
            sha: self.commit_of(repo, object)?,
            tag,
        })
    }

    /// The latest release's tag name.
    pub fn latest_release(&self, repo: &str) -> Result<String> {
        let release: Release = self.json(&format!("/repos/{repo}/releases/latest"), repo)?;
        Ok(release.tag_name)
    }

    /// The commit a tag names.
    pub fn tag_commit(&self, repo: &str, tag: &str) -> Result<Resolved> {
        let reference: GitRef = self.json(&format!("/repos/{repo}/git/ref/tags/{tag}"), repo)?;
        Ok(Resolved {
            sha: self.commit_of(repo, reference.object)?,
            tag: tag.to_string(),
        })
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
    }

    #[test]
    fn utc_time_formats_epoch_seconds() {
        assert_eq!(utc_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_time(1_795_000_000), "2026-11-18 11:06:40 UTC");
    }
}
