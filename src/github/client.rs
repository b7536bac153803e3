//! The one HTTP client for GitHub's REST API, shared by every command that calls it.
//!
//! From the environment: `GITHUB_API_URL` (as on GitHub's runners; default
//! `https://api.github.com`, so GitHub Enterprise works) and a token from `GITHUB_TOKEN` or
//! `GH_TOKEN`; for tests, `GPU_CI_RETRY_DELAY_MS` and `GPU_CI_HTTP_DEADLINE_MS`.
//!
//! Every answer is untrusted: server errors and dropped connections are retried with backoff
//! (never a POST, which could create twice), a body larger than `MAX_BODY` is refused, all
//! calls of one command share one deadline, and server text that reaches a message goes
//! through [`shown`]. What an answer must hold is checked by the calls that use it (`tags`,
//! `repo`), with [`Context::unusable`].

use std::fmt;
use std::io::Read;
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, Response};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::secrets::Secret;

const DEFAULT_API: &str = "https://api.github.com";
const ATTEMPTS: u32 = 3;
/// The largest answer read; GitHub's for 100 tags is about 20 KB.
pub const MAX_BODY: usize = 4 << 20;
/// How long all of one command's calls may take together (`GPU_CI_HTTP_DEADLINE_MS`).
const DEADLINE: Duration = Duration::from_secs(60);
/// The longest one connect or one read may wait, within the deadline.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// GitHub's REST API for one command. `tags` and `repo` add the calls themselves.
pub struct GitHub {
    http: Client,
    /// For the one redirect of a download to GitHub's storage: no token, no further redirect.
    storage: Client,
    base: String,
    /// A `Secret`: it prints as `[redacted]` wherever it might be formatted.
    token: Option<Secret>,
    retry_delay: Duration,
    /// When every call must be over.
    deadline: Instant,
    budget: Duration,
}

/// What the `help:` line of a failed call says; each family of calls knows what its failure
/// leaves behind.
#[derive(Debug)]
pub struct Advice {
    /// No answer after every try, or an answer that broke off.
    pub try_later: &'static str,
    /// The deadline passed.
    pub deadline: &'static str,
    /// An answer that arrived but cannot be used: too large, not the JSON asked for, or
    /// holding what fails a check.
    pub unusable: &'static str,
}

/// What a call is for, in its errors: `cannot {doing}: …`, and their advice.
#[derive(Debug, Clone)]
pub struct Context {
    doing: String,
    advice: &'static Advice,
}

impl Context {
    /// `doing` completes `cannot …`: `resolve \`actions/checkout\``, `read label \`gpu-tests\``.
    pub fn new(doing: impl Into<String>, advice: &'static Advice) -> Context {
        Context {
            doing: doing.into(),
            advice,
        }
    }

    /// An answer that arrived but cannot be used; `what` quotes server text through [`shown`].
    pub fn unusable(&self, what: impl fmt::Display) -> Error {
        Error::network(
            format!("cannot {}: GitHub's answer is unusable: {what}", self.doing),
            None,
        )
        .with_help(self.advice.unusable)
    }

    fn past_deadline(&self, budget: Duration) -> Error {
        Error::network(
            format!(
                "cannot {}: GitHub did not answer in time (all calls must be done within {} s)",
                self.doing,
                budget.as_secs_f32()
            ),
            None,
        )
        .with_help(self.advice.deadline)
    }
}

/// An answer other than a server error, its body read whole (and no larger than `MAX_BODY`).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    /// The URL that answered, after redirects.
    pub url: String,
    /// `x-ratelimit-remaining`.
    remaining: Option<String>,
    /// `x-ratelimit-reset`: seconds since the epoch.
    reset: Option<i64>,
    pub body: Vec<u8>,
}

impl Answer {
    /// 429, or 403 with no calls left: GitHub's rate limit is exhausted.
    pub fn rate_limited(&self) -> bool {
        self.status == StatusCode::TOO_MANY_REQUESTS
            || (self.status == StatusCode::FORBIDDEN && self.remaining.as_deref() == Some("0"))
    }

    /// When the rate limit resets: `at 2026-11-18 11:06:40 UTC`, or `later`.
    pub fn resets(&self) -> String {
        self.reset.map_or_else(
            || "later".to_string(),
            |epoch| format!("at {}", utc_time(epoch)),
        )
    }

    /// The `message` GitHub gives with an error, escaped and cut short.
    pub fn message(&self) -> Option<String> {
        let body: Value = serde_json::from_slice(&self.body).ok()?;
        body.get("message").and_then(Value::as_str).map(shown)
    }

    /// The body as `T`.
    pub fn json<T: DeserializeOwned>(&self, context: &Context) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|err| {
            Error::network(
                format!("cannot {}: unexpected answer from GitHub", context.doing),
                Some(Box::new(err)),
            )
            .with_help(context.advice.unusable)
        })
    }
}

/// A server's text, for a message: escaped and cut short.
pub fn shown(text: &str) -> String {
    let mut cut: String = text.chars().take(60).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    format!("{cut:?}")
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

/// The token travels to `GITHUB_API_URL`: only over TLS (plain HTTP only to this machine, as a
/// test's server), and never with credentials of its own in the URL, which messages would show.
fn check_api_url(base: &str) -> Result<()> {
    let refuse = |why: &str| {
        Err(Error::usage(format!("GITHUB_API_URL {why}")).with_help(
            "set it to your API's https:// address, as `https://api.github.com` or `https://HOST/api/v3` for GitHub Enterprise; the token goes in GITHUB_TOKEN or GH_TOKEN",
        ))
    };
    let Ok(url) = reqwest::Url::parse(base) else {
        return refuse(&format!("`{}` is not a URL", shown(base)));
    };
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("holds a user name or password");
    }
    let host = url.host_str().unwrap_or("").trim_matches(['[', ']']);
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => refuse(&format!(
            "`{}` is plain http to another machine, which would send the token unencrypted",
            shown(base)
        )),
        other => refuse(&format!("has the scheme `{}`, not https", shown(other))),
    }
}

/// Where a download may be redirected to: https, or plain http to this machine (a test's
/// server), with no credentials in the address.
fn storage_url_allowed(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or("").trim_matches(['[', ']']);
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    url.username().is_empty()
        && url.password().is_none()
        && (url.scheme() == "https" || (url.scheme() == "http" && loopback))
}

/// `2026-11-26T14:05:00Z` from seconds since the epoch.
pub fn iso_time(epoch: i64) -> String {
    let text = utc_time(epoch);
    format!("{}T{}Z", &text[..10], &text[11..19])
}

/// How many redirects within one origin a call follows (as reqwest's default).
const MAX_REDIRECTS: usize = 10;

/// Redirects are followed within the origin (scheme, host and port) of the call only: a
/// redirect elsewhere would send the token's requests, a request body (a sealed secret) or
/// trust an answer (a sealing key) from a server that is not `GITHUB_API_URL`. Such a
/// redirect stops, and [`GitHub::send`] turns it into an error.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first();
        let same = first.is_some_and(|first| first.origin() == attempt.url().origin());
        if !same || attempt.previous().len() > MAX_REDIRECTS {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}

/// The origin a redirect points to, for a message: `scheme://host:port`, escaped.
fn redirect_target(response: &Response) -> String {
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match response.url().join(location) {
        Ok(url) => shown(&url.origin().ascii_serialization()),
        Err(_) => shown(location),
    }
}

/// rustls's cryptography is *ring* (reqwest's `rustls-no-provider`, rustls's `ring`): no C
/// library to build, unlike the aws-lc-rs that reqwest's `rustls` feature brings. reqwest
/// takes the process-wide default provider, so it is installed before the first client is
/// built; a second call finds it installed (`Err`, ignored). Certificates are still checked by
/// reqwest's platform verifier, against the system's roots.
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl GitHub {
    /// A client for `GITHUB_API_URL`, with `GITHUB_TOKEN` or `GH_TOKEN`; the deadline of all
    /// its calls starts now.
    pub fn from_env() -> Result<GitHub> {
        let base = std::env::var("GITHUB_API_URL")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_API.to_string());
        check_api_url(base.trim())?;
        let token = ["GITHUB_TOKEN", "GH_TOKEN"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
            .map(Secret::new);
        let millis = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|ms| ms.parse().ok())
                .map(Duration::from_millis)
        };
        let retry_delay = millis("GPU_CI_RETRY_DELAY_MS").unwrap_or(Duration::from_millis(500));
        let budget = millis("GPU_CI_HTTP_DEADLINE_MS").unwrap_or(DEADLINE);
        install_crypto_provider();
        let http = Client::builder()
            .user_agent(concat!("gpu-ci/", env!("CARGO_PKG_VERSION")))
            .redirect(same_origin_redirects())
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|err| Error::network("cannot start an HTTP client", Some(Box::new(err))))?;
        let storage = Client::builder()
            .user_agent(concat!("gpu-ci/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|err| Error::network("cannot start an HTTP client", Some(Box::new(err))))?;
        Ok(GitHub {
            http,
            storage,
            base: base.trim().trim_end_matches('/').to_string(),
            token,
            retry_delay,
            deadline: Instant::now() + budget,
            budget,
        })
    }

    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// What is left of the deadline; an error once it has passed.
    fn time_left(&self, context: &Context) -> Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(context.past_deadline(self.budget))
        } else {
            Ok(left)
        }
    }

    /// Sends one call, with `body` as JSON, and reads its answer. Server errors and dropped
    /// connections are tried again with backoff, except for a POST; every other status is
    /// the caller's to judge.
    pub fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        context: &Context,
    ) -> Result<Answer> {
        let url = format!("{}{path}", self.base);
        // On a terminal, a wait of over a second shows what it is for and for how long.
        let _waiting =
            crate::ui::Waiting::start(&format!("waiting for GitHub to {}", context.doing));
        let attempts = if method == Method::POST { 1 } else { ATTEMPTS };
        let mut tried = 0;
        let mut last_status = None;
        let mut last_cause = None;
        for attempt in 0..attempts {
            if attempt > 0 {
                let pause = self.retry_delay * 2u32.pow(attempt - 1);
                if pause >= self.time_left(context)? {
                    break;
                }
                std::thread::sleep(pause);
            }
            let mut request = self
                .http
                .request(method.clone(), &url)
                .timeout(self.time_left(context)?.min(STEP_TIMEOUT))
                .header("Accept", "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28");
            if let Some(token) = &self.token {
                request = request.bearer_auth(token.expose());
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            tried += 1;
            match request.send() {
                Ok(response) if response.status().is_server_error() => {
                    last_status = Some(response.status());
                    last_cause = None;
                }
                Ok(response) if response.status().is_redirection() => {
                    return Err(Error::network(
                        format!(
                            "cannot {}: GitHub answered {} with a redirect to {}, which gpu-ci does not follow (only redirects within {}, at most {MAX_REDIRECTS})",
                            context.doing,
                            response.status(),
                            redirect_target(&response),
                            shown(&self.base),
                        ),
                        None,
                    )
                    .with_help(
                        "nothing was sent there; check GITHUB_API_URL (for GitHub Enterprise, `https://HOST/api/v3`)",
                    ));
                }
                Ok(response) => return self.answer(response, context),
                Err(_) if Instant::now() >= self.deadline => {
                    return Err(context.past_deadline(self.budget));
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
        let tries = match (attempts, tried) {
            (1, _) => String::new(),
            (_, 1) => "after 1 try, ".to_string(),
            (_, n) => format!("after {n} tries, "),
        };
        Err(Error::network(
            format!("cannot {}: {what} ({tries}{method} {url})", context.doing),
            last_cause.map(|err| Box::new(err) as Box<dyn std::error::Error + Send + Sync>),
        )
        .with_help(context.advice.try_later))
    }

    fn answer(&self, response: Response, context: &Context) -> Result<Answer> {
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let remaining = header("x-ratelimit-remaining");
        let reset = header("x-ratelimit-reset").and_then(|v| v.parse().ok());
        Ok(Answer {
            status: response.status(),
            url: response.url().to_string(),
            remaining,
            reset,
            body: self.body(response, MAX_BODY, context)?,
        })
    }

    /// A file GitHub serves through its storage, as an artifact's zip (issue 26): the call with
    /// the token; a redirect to another origin (GitHub's storage, a signed address that carries
    /// its own authorisation) is followed once, without the token, only to https (plain http
    /// only to this machine, a test's server), and no further. The body is capped at `limit`,
    /// within the command's one deadline. One try: the caller treats a failure as one file lost.
    pub fn download(&self, path: &str, limit: usize, context: &Context) -> Result<Vec<u8>> {
        let url = format!("{}{path}", self.base);
        let _waiting =
            crate::ui::Waiting::start(&format!("waiting for GitHub to {}", context.doing));
        let mut request = self
            .http
            .get(&url)
            .timeout(self.time_left(context)?.min(STEP_TIMEOUT))
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28");
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        let failed = |err: reqwest::Error| {
            if Instant::now() >= self.deadline {
                context.past_deadline(self.budget)
            } else {
                Error::network(
                    format!("cannot {}: no answer", context.doing),
                    Some(Box::new(err)),
                )
                .with_help(context.advice.try_later)
            }
        };
        let response = request.send().map_err(failed)?;
        if response.status().is_success() {
            return self.body(response, limit, context);
        }
        if !response.status().is_redirection() {
            return Err(context.unusable(format!("GitHub answered {}", response.status())));
        }
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| response.url().join(v).ok())
            .ok_or_else(|| context.unusable("a redirect without a usable address"))?;
        if !storage_url_allowed(&location) {
            return Err(context.unusable(format!(
                "a redirect to {}, which is neither https nor this machine; nothing was sent there",
                shown(&location.origin().ascii_serialization())
            )));
        }
        let response = self
            .storage
            .get(location)
            .timeout(self.time_left(context)?.min(STEP_TIMEOUT))
            .send()
            .map_err(failed)?;
        if !response.status().is_success() {
            return Err(
                context.unusable(format!("GitHub's storage answered {}", response.status()))
            );
        }
        self.body(response, limit, context)
    }

    /// The body, read to its end within the deadline; refused past `limit` bytes.
    fn body(&self, mut response: Response, limit: usize, context: &Context) -> Result<Vec<u8>> {
        let too_large = || context.unusable(format!("it is larger than {} MiB", limit >> 20));
        if response
            .content_length()
            .is_some_and(|length| length > limit as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        let mut chunk = vec![0; 64 * 1024];
        loop {
            // A server that drips its answer is stopped here, each read by its own timeout.
            self.time_left(context)?;
            let read = match response.read(&mut chunk) {
                Ok(read) => read,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) if Instant::now() >= self.deadline => {
                    return Err(context.past_deadline(self.budget));
                }
                Err(err) => {
                    return Err(Error::network(
                        format!("cannot {}: GitHub's answer broke off", context.doing),
                        Some(Box::new(err)),
                    )
                    .with_help(context.advice.try_later));
                }
            };
            if read == 0 {
                return Ok(body);
            }
            if body.len() + read > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk[..read]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_is_escaped_and_cut_short() {
        assert_eq!(
            shown("a\u{1b}[31m"),
            "\"a\\u{1b}[31m\"",
            "a server's text reaches the terminal escaped"
        );
        let long = shown(&"x".repeat(1000));
        assert_eq!(long, format!("\"{}…\"", "x".repeat(60)));
    }

    #[test]
    fn utc_time_formats_epoch_seconds() {
        assert_eq!(utc_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_time(1_795_000_000), "2026-11-18 11:06:40 UTC");
        // Whatever a server sends, no panic.
        utc_time(i64::MAX);
        utc_time(i64::MIN);
    }

    #[test]
    fn the_rate_limit_is_a_429_or_a_403_with_nothing_left() {
        let answer = |status: u16, remaining: Option<&str>| Answer {
            status: StatusCode::from_u16(status).unwrap(),
            url: String::new(),
            remaining: remaining.map(str::to_string),
            reset: None,
            body: br#"{"message":"API rate limit exceeded\u001b[2J"}"#.to_vec(),
        };
        assert!(answer(429, None).rate_limited());
        assert!(answer(403, Some("0")).rate_limited());
        assert!(!answer(403, Some("12")).rate_limited());
        assert!(!answer(403, None).rate_limited());
        assert_eq!(answer(403, None).resets(), "later");
        assert_eq!(
            answer(403, None).message().unwrap(),
            "\"API rate limit exceeded\\u{1b}[2J\""
        );
    }
}
