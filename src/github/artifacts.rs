//! The GitHub REST calls behind `gpu-ci costs` (issue 26): a repository's `gpu-test-outputs`
//! artifacts since a time, and one artifact's zip, through the shared client (its deadline,
//! its body cap, its redirect rules: the zip's one redirect to GitHub's storage is followed
//! without the token). What the listing says is checked before it is used.

use reqwest::{Method, StatusCode};
use serde::Deserialize;

use super::client::{Advice, Context, GitHub, shown};
use super::repo::Repo;
use crate::error::{Error, Result};

/// The artifact the workflows upload (`templates/github/*.yml.j2`).
pub const ARTIFACT_NAME: &str = "gpu-test-outputs";
/// The largest artifact zip downloaded: logs tails and JUnit XML, deflated.
pub const ZIP_LIMIT: usize = 16 << 20;
/// Artifacts per page, and the most pages read (the newest 1,000 runs).
const PER_PAGE: usize = 100;
const MAX_PAGES: usize = 10;

const ADVICE: Advice = Advice {
    try_later: "try again later; `gpu-ci costs` changes nothing",
    deadline: "try again later, or a shorter --since; check GITHUB_API_URL",
    unusable: "if GITHUB_API_URL points at a proxy or a mirror, check it",
};

/// One artifact, as the listing gives it, checked.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Artifact {
    pub id: u64,
    pub size_in_bytes: u64,
    pub expired: bool,
    pub created_at: String,
}

#[derive(Debug, Deserialize)]
struct Page {
    total_count: Option<u64>,
    artifacts: Vec<Artifact>,
}

/// The listing and what it left out.
#[derive(Debug, Default)]
pub struct Listing {
    pub artifacts: Vec<Artifact>,
    /// More than the pages read hold: only the newest were listed.
    pub truncated: bool,
}

impl GitHub {
    /// `repo`'s unexpired `gpu-test-outputs` artifacts created at `since` (a UTC stamp,
    /// `2026-11-07T00:00:00Z`) or later, newest first, at most 1,000.
    pub fn artifacts_since(&self, repo: &Repo, since: &str) -> Result<Listing> {
        let context = Context::new(
            format!("list the {ARTIFACT_NAME} artifacts of {repo}"),
            &ADVICE,
        );
        let mut listing = Listing::default();
        let mut seen = 0u64;
        for page in 1..=MAX_PAGES {
            let path = format!(
                "/repos/{repo}/actions/artifacts?name={ARTIFACT_NAME}&per_page={PER_PAGE}&page={page}"
            );
            let answer = self.send(Method::GET, &path, None, &context)?;
            if !answer.status.is_success() {
                let why = if answer.rate_limited() {
                    format!(
                        "GitHub's rate limit is spent; it resets {}",
                        answer.resets()
                    )
                } else {
                    let message = answer
                        .message()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default();
                    format!("GitHub answered {}{message}", answer.status)
                };
                let help = if answer.status == StatusCode::NOT_FOUND
                    || answer.status == StatusCode::UNAUTHORIZED
                    || answer.status == StatusCode::FORBIDDEN
                {
                    "check --repo, and that the token may read the repository's Actions (fine-grained: Actions: read)"
                } else {
                    ADVICE.try_later
                };
                return Err(
                    Error::network(format!("cannot {}: {why}", context_text(repo)), None)
                        .with_help(help),
                );
            }
            let page_of: Page = answer.json(&context)?;
            seen += page_of.artifacts.len() as u64;
            // A full page, or fewer than the total so far (a server that pages smaller).
            let more = page_of.artifacts.len() >= PER_PAGE
                || (!page_of.artifacts.is_empty()
                    && page_of.total_count.is_some_and(|total| seen < total));
            for artifact in page_of.artifacts {
                if !crate::costs::is_utc_stamp(&artifact.created_at) {
                    return Err(context.unusable(format!(
                        "artifact {} was created at {}, not a UTC time",
                        artifact.id,
                        shown(&artifact.created_at)
                    )));
                }
                if artifact.created_at.as_str() < since {
                    return Ok(listing);
                }
                if !artifact.expired {
                    listing.artifacts.push(artifact);
                }
            }
            if !more {
                return Ok(listing);
            }
        }
        listing.truncated = true;
        Ok(listing)
    }

    /// An artifact's zip, at most [`ZIP_LIMIT`] bytes, in memory.
    pub fn artifact_zip(&self, repo: &Repo, id: u64) -> Result<Vec<u8>> {
        let context = Context::new(format!("download artifact {id} of {repo}"), &ADVICE);
        self.download(
            &format!("/repos/{repo}/actions/artifacts/{id}/zip"),
            ZIP_LIMIT,
            &context,
        )
    }
}

fn context_text(repo: &Repo) -> String {
    format!("list the {ARTIFACT_NAME} artifacts of {repo}")
}
