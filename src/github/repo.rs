//! The GitHub REST calls behind `gpu-ci github setup` and `gpu-ci doctor`: a repository's
//! labels, Actions secrets (names, the public key, sealed values), variables and environments,
//! its default branch and files. Also which repository a checkout belongs to.
//!
//! Through the shared client (`client`): its body cap, its one deadline and its retries (never
//! of a POST, which could create twice). Server text quoted in an error goes through `shown`,
//! and what is kept is checked (a default branch is a branch name) before it is used.

use std::fmt;
use std::path::Path;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::client::{Advice, Answer, Context, GitHub, shown};
use crate::error::{Error, Result};

/// What a failed call leaves: `github setup` decides everything first and changes one thing at
/// a time, so a rerun does the rest; `doctor` changes nothing.
const ADVICE: Advice = Advice {
    try_later: "try again later; what is done stays done, and a rerun does only the rest",
    deadline: "try again later, and check GITHUB_API_URL; what is done stays done, and a rerun does only the rest",
    unusable: "if GITHUB_API_URL points at a proxy or a mirror, check it; what is done stays done, and a rerun does only the rest",
};

/// `owner/name` of a GitHub repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    pub owner: String,
    pub name: String,
}

impl fmt::Display for Repo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

fn valid_part(part: &str) -> bool {
    !part.is_empty()
        && part != "."
        && part != ".."
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl Repo {
    /// `OWNER/NAME`, as `--repo` takes it.
    pub fn parse(text: &str) -> Result<Repo> {
        text.split_once('/')
            .filter(|(owner, name)| valid_part(owner) && valid_part(name))
            .map(|(owner, name)| Repo {
                owner: owner.to_string(),
                name: name.to_string(),
            })
            .ok_or_else(|| {
                Error::usage(format!("`{text}` is not a GitHub repository"))
                    .with_help("pass --repo OWNER/NAME, as --repo octo-org/octo-repo")
            })
    }

    /// The repository a remote URL names: `https://github.com/o/r(.git)`,
    /// `git@github.com:o/r.git`, `ssh://git@github.com/o/r.git` (any host: GitHub Enterprise).
    pub fn from_remote_url(url: &str) -> Option<Repo> {
        let url = url.trim();
        let path = if let Some((_, rest)) = url.split_once("://") {
            // scheme://[user@]host[:port]/owner/name
            rest.split_once('/')?.1
        } else {
            // scp-like: [user@]host:owner/name
            let (host, path) = url.split_once(':')?;
            if host.contains('/') {
                return None;
            }
            path
        };
        let path = path.trim_matches('/');
        let path = path.strip_suffix(".git").unwrap_or(path);
        let mut parts = path.rsplitn(2, '/');
        let name = parts.next()?;
        let owner = parts.next()?.rsplit('/').next()?;
        Repo::parse(&format!("{owner}/{name}")).ok()
    }

    /// The repository of `root`'s `origin` remote.
    pub fn from_git(root: &Path) -> Result<Repo> {
        let output = crate::isolated::git(root, &["remote", "get-url", "origin"]);
        let url = match output {
            Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
            _ => {
                return Err(Error::usage(
                    "cannot tell which GitHub repository this is: no git remote `origin`",
                )
                .with_help("pass --repo OWNER/NAME"));
            }
        };
        Repo::from_remote_url(&url).ok_or_else(|| {
            Error::usage(format!(
                "cannot tell which GitHub repository the remote `origin` ({}) is",
                shown_remote(&url)
            ))
            .with_help("pass --repo OWNER/NAME")
        })
    }
}

/// A remote URL for a message: without the `user:password@` that often holds a token
/// (`https://x-access-token:TOKEN@github.com/…`), escaped.
fn shown_remote(url: &str) -> String {
    let url = url.trim();
    let url = match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find('/').unwrap_or(rest.len());
            match rest[..end].rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://{host}{}", &rest[end..]),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    };
    format!("{url:?}")
}

/// A path segment, percent-encoded: labels and environment names may hold spaces and more.
pub fn segment(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// What a call was for, for its error: `create label \`gpu-tests\``, and the permission a
/// fine-grained token needs for it.
#[derive(Debug, Clone, Copy)]
pub struct Purpose<'a> {
    pub what: &'a str,
    pub permission: &'a str,
}

impl Purpose<'_> {
    fn context(&self) -> Context {
        Context::new(self.what, &ADVICE)
    }
}

/// A branch name as git allows one (`git check-ref-format --branch`), and nothing that could
/// reach a terminal or a URL as more than a name.
pub fn is_branch_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with(['-', '/', '.'])
        && !name.ends_with(['/', '.'])
        && !name.ends_with(".lock")
        && !name.contains("..")
        && !name.contains("//")
        && !name.contains("/.")
        && !name.contains("@{")
        && name != "@"
        && !name.chars().any(|c| {
            c.is_control()
                || c.is_whitespace()
                || matches!(c, '~' | '^' | ':' | '?' | '*' | '[' | '\\')
        })
}

#[derive(Debug, Deserialize)]
pub struct PublicKey {
    pub key_id: String,
    pub key: String,
}

#[derive(Debug, Deserialize)]
struct SecretName {
    name: String,
}

#[derive(Debug, Deserialize)]
struct SecretList {
    secrets: Vec<SecretName>,
}

#[derive(Debug, Deserialize)]
struct Variable {
    value: String,
}

#[derive(Debug, Deserialize)]
struct RepoInfo {
    default_branch: String,
}

#[derive(Debug, Deserialize)]
struct Comparison {
    status: String,
}

/// Where a pinned commit was found in its action's repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// It is the tag's commit, or one before it.
    Tag(String),
    /// It is on the default branch (not under the tag the pin names).
    DefaultBranch(String),
    /// On neither: an impostor commit (a fork's commit, reachable by SHA through the parent)
    /// or one GitHub does not know.
    Nowhere,
}

impl GitHub {
    /// Sends one call; answers 2xx and 404, and turns any other status into its error.
    fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        purpose: Purpose,
    ) -> Result<Answer> {
        let answer = self.send(method, path, body, &purpose.context())?;
        if answer.status.is_success() || answer.status == StatusCode::NOT_FOUND {
            Ok(answer)
        } else {
            Err(refused(&answer, purpose))
        }
    }

    /// GET `path` as `T`; `None` on 404.
    fn get<T: DeserializeOwned>(&self, path: &str, purpose: Purpose) -> Result<Option<T>> {
        let answer = self.call(Method::GET, path, None, purpose)?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        answer.json(&purpose.context()).map(Some)
    }

    /// A call that changes something; 404 is an error here (no repository, or no access).
    fn change(&self, method: Method, path: &str, body: &Value, purpose: Purpose) -> Result<()> {
        let answer = self.call(method, path, Some(body), purpose)?;
        if answer.status == StatusCode::NOT_FOUND {
            return Err(Error::network(
                format!("cannot {}: GitHub answered 404 Not Found", purpose.what),
                None,
            )
            .with_help(
                "check the repository's name, and that the token may see and administer it",
            ));
        }
        Ok(())
    }

    /// The repository's default branch; `None` when GitHub knows no such repository (or the
    /// token may not see it).
    pub fn default_branch(&self, repo: &Repo) -> Result<Option<String>> {
        let purpose = Purpose {
            what: &format!("read repository {repo}"),
            permission: "Metadata: read",
        };
        let Some(info) = self.get::<RepoInfo>(&format!("/repos/{repo}"), purpose)? else {
            return Ok(None);
        };
        if !is_branch_name(&info.default_branch) {
            return Err(purpose.context().unusable(format!(
                "the default branch {} is not a branch name",
                shown(&info.default_branch)
            )));
        }
        Ok(Some(info.default_branch))
    }

    /// Whether `sha` is `base` or an ancestor of it in `repo` (GitHub's compare: `identical` or
    /// `behind`). A fork's commit compares too, through the fork network, as `diverged` or
    /// `ahead`; an unknown one is a 404. Both are `false`.
    pub fn reaches(&self, repo: &Repo, base: &str, sha: &str) -> Result<bool> {
        if !crate::github::tags::is_commit_sha(sha) {
            return Err(Error::internal(format!("`{sha}` is not a commit SHA")));
        }
        let compared: Option<Comparison> = self.get(
            &format!("/repos/{repo}/compare/{}...{sha}", segment(base)),
            Purpose {
                what: &format!("compare `{base}` of {repo} with {sha}"),
                permission: "Contents: read",
            },
        )?;
        Ok(compared.is_some_and(|c| matches!(c.status.as_str(), "identical" | "behind")))
    }

    /// Whether a pinned commit belongs to its action's repository, as zizmor's
    /// impostor-commit audit asks: reachable from the tag the pin names (`# vX.Y.Z`), else from
    /// the default branch.
    pub fn pinned_commit(&self, repo: &Repo, sha: &str, tag: &str) -> Result<Found> {
        if self.reaches(repo, tag, sha)? {
            return Ok(Found::Tag(tag.to_string()));
        }
        if let Some(branch) = self.default_branch(repo)?
            && self.reaches(repo, &branch, sha)?
        {
            return Ok(Found::DefaultBranch(branch));
        }
        Ok(Found::Nowhere)
    }

    /// Whether the repository has the label.
    pub fn has_label(&self, repo: &Repo, label: &str) -> Result<bool> {
        let found: Option<Value> = self.get(
            &format!("/repos/{repo}/labels/{}", segment(label)),
            Purpose {
                what: &format!("read label `{label}`"),
                permission: "Issues: read",
            },
        )?;
        Ok(found.is_some())
    }

    pub fn create_label(
        &self,
        repo: &Repo,
        label: &str,
        color: &str,
        description: &str,
    ) -> Result<()> {
        self.change(
            Method::POST,
            &format!("/repos/{repo}/labels"),
            &json!({ "name": label, "color": color, "description": description }),
            Purpose {
                what: &format!("create label `{label}`"),
                permission: "Issues: write",
            },
        )
    }

    /// The names of the repository's Actions secrets (their values cannot be read).
    pub fn secret_names(&self, repo: &Repo) -> Result<Vec<String>> {
        let purpose = Purpose {
            what: &format!("list the Actions secrets of {repo}"),
            permission: "Secrets: read",
        };
        let list: Option<SecretList> = self.get(
            &format!("/repos/{repo}/actions/secrets?per_page=100"),
            purpose,
        )?;
        let list = list.ok_or_else(|| not_found(repo, purpose))?;
        Ok(list.secrets.into_iter().map(|s| s.name).collect())
    }

    /// The names of the organisation secrets shared with the repository; empty when there is
    /// no organisation; an error when they could not be listed (a token without the right).
    pub fn organization_secret_names(&self, repo: &Repo) -> Result<Vec<String>> {
        let purpose = Purpose {
            what: "list organisation secrets",
            permission: "Secrets: read",
        };
        Ok(self
            .get::<SecretList>(
                &format!("/repos/{repo}/actions/organization-secrets?per_page=100"),
                purpose,
            )?
            .map(|list| list.secrets.into_iter().map(|s| s.name).collect())
            .unwrap_or_default())
    }

    /// The key secrets are sealed with.
    pub fn secrets_public_key(&self, repo: &Repo) -> Result<PublicKey> {
        let purpose = Purpose {
            what: &format!("read the Actions secrets key of {repo}"),
            permission: "Secrets: read",
        };
        self.get(
            &format!("/repos/{repo}/actions/secrets/public-key"),
            purpose,
        )?
        .ok_or_else(|| not_found(repo, purpose))
    }

    /// Creates or replaces a secret with a value already sealed with `key`.
    pub fn put_secret(&self, repo: &Repo, name: &str, sealed: &str, key: &PublicKey) -> Result<()> {
        self.change(
            Method::PUT,
            &format!("/repos/{repo}/actions/secrets/{}", segment(name)),
            &json!({ "encrypted_value": sealed, "key_id": key.key_id }),
            Purpose {
                what: &format!("set secret {name}"),
                permission: "Secrets: write",
            },
        )
    }

    /// A repository variable's value; `None` when it is not set.
    pub fn variable(&self, repo: &Repo, name: &str) -> Result<Option<String>> {
        let found: Option<Variable> = self.get(
            &format!("/repos/{repo}/actions/variables/{}", segment(name)),
            Purpose {
                what: &format!("read variable {name}"),
                permission: "Variables: read",
            },
        )?;
        Ok(found.map(|v| v.value))
    }

    /// Sets a repository variable: creates it, or updates it when `exists`.
    pub fn set_variable(&self, repo: &Repo, name: &str, value: &str, exists: bool) -> Result<()> {
        let purpose = Purpose {
            what: &format!("set variable {name}"),
            permission: "Variables: write",
        };
        let body = json!({ "name": name, "value": value });
        if exists {
            let path = format!("/repos/{repo}/actions/variables/{}", segment(name));
            self.change(Method::PATCH, &path, &body, purpose)
        } else {
            let path = format!("/repos/{repo}/actions/variables");
            self.change(Method::POST, &path, &body, purpose)
        }
    }

    pub fn has_environment(&self, repo: &Repo, name: &str) -> Result<bool> {
        let found: Option<Value> = self.get(
            &format!("/repos/{repo}/environments/{}", segment(name)),
            Purpose {
                what: &format!("read environment `{name}`"),
                permission: "Environments: read",
            },
        )?;
        Ok(found.is_some())
    }

    /// Creates an environment with no protection rules: reviewers are added in the settings.
    pub fn create_environment(&self, repo: &Repo, name: &str) -> Result<()> {
        self.change(
            Method::PUT,
            &format!("/repos/{repo}/environments/{}", segment(name)),
            &json!({}),
            Purpose {
                what: &format!("create environment `{name}`"),
                permission: "Administration: write",
            },
        )
    }

    /// Whether `path` exists on `branch`.
    pub fn has_file(&self, repo: &Repo, path: &str, branch: &str) -> Result<bool> {
        let encoded: Vec<String> = path.split('/').map(segment).collect();
        let found: Option<Value> = self.get(
            &format!(
                "/repos/{repo}/contents/{}?ref={}",
                encoded.join("/"),
                segment(branch)
            ),
            Purpose {
                what: &format!("read `{path}` on branch `{branch}`"),
                permission: "Contents: read",
            },
        )?;
        Ok(found.is_some())
    }
}

/// The error for a 4xx answer other than 404, with what to do about it.
fn refused(answer: &Answer, purpose: Purpose) -> Error {
    let status = answer.status;
    let message = answer
        .message()
        .map(|m| format!(" ({m})"))
        .unwrap_or_default();
    let help = if status == StatusCode::UNAUTHORIZED {
        "the token is missing, wrong or expired: set GITHUB_TOKEN (or GH_TOKEN), as `GH_TOKEN=$(gh auth token)`".to_string()
    } else if answer.rate_limited() {
        "GitHub's rate limit is exhausted: wait a while and run the command again".to_string()
    } else if status == StatusCode::FORBIDDEN {
        format!(
            "the token may not do this: a fine-grained token needs `{}` on the repository (a classic token, the `repo` scope)",
            purpose.permission
        )
    } else {
        "check the repository's settings and the token's permissions".to_string()
    };
    Error::network(
        format!("cannot {}: GitHub answered {status}{message}", purpose.what),
        None,
    )
    .with_help(help)
}

fn not_found(repo: &Repo, purpose: Purpose) -> Error {
    Error::network(
        format!("cannot {}: GitHub answered 404 Not Found", purpose.what),
        None,
    )
    .with_help(format!(
        "check that {repo} exists and that the token may see it (a fine-grained token needs `{}`)",
        purpose.permission
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remotes_of_every_common_form_name_their_repository() {
        let want = Some(Repo {
            owner: "octo-org".into(),
            name: "octo.repo".into(),
        });
        for url in [
            "https://github.com/octo-org/octo.repo.git",
            "https://github.com/octo-org/octo.repo",
            "https://github.com/octo-org/octo.repo/",
            "https://user:pass@github.example.com/octo-org/octo.repo.git\n",
            "git@github.com:octo-org/octo.repo.git",
            "github.com:octo-org/octo.repo",
            "ssh://git@github.com/octo-org/octo.repo.git",
            "ssh://git@github.com:2222/octo-org/octo.repo.git",
            "https://github.example.com/prefix/octo-org/octo.repo.git",
        ] {
            assert_eq!(Repo::from_remote_url(url), want, "{url}");
        }
        for url in [
            "/srv/git/repo",
            "https://github.com/",
            "file:///x",
            "nonsense",
        ] {
            assert_eq!(Repo::from_remote_url(url), None, "{url}");
        }
    }

    #[test]
    fn remotes_in_messages_hold_no_credentials() {
        assert_eq!(
            shown_remote("https://x-access-token:ghp_abc@github.com/\n"),
            "\"https://github.com/\""
        );
        assert_eq!(
            shown_remote("https://user:p@ss@host/a/b"),
            "\"https://host/a/b\""
        );
        assert_eq!(shown_remote("https://host"), "\"https://host\"");
        assert_eq!(shown_remote("git@host:x"), "\"git@host:x\"");
        assert_eq!(shown_remote("/srv/\u{1b}[2J"), "\"/srv/\\u{1b}[2J\"");
    }

    #[test]
    fn repo_flags_must_be_owner_slash_name() {
        assert_eq!(Repo::parse("a/b").unwrap().to_string(), "a/b");
        for bad in ["a", "a/b/c", "/b", "a/", "../b", "a b/c", "a/$(x)"] {
            assert!(Repo::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_branch_names_are_default_branches() {
        for good in [
            "main",
            "master",
            "release/1.x",
            "dev_2",
            "feature-a.b",
            "ünïcode",
        ] {
            assert!(is_branch_name(good), "{good}");
        }
        for bad in [
            "",
            "-x",
            "a..b",
            "a b",
            "main\n- run: evil",
            "main\u{1b}[31m",
            "a~1",
            "a:b",
            "refs/heads/.x",
            "x.lock",
            "x/",
            "@",
            "a@{1}",
            &"x".repeat(256),
        ] {
            assert!(!is_branch_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(segment("run on gpu"), "run%20on%20gpu");
        assert_eq!(segment("a/b?c#d"), "a%2Fb%3Fc%23d");
        assert_eq!(segment("gpu-tests_1.0~"), "gpu-tests_1.0~");
    }
}
