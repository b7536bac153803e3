//! The image recipe (issue 21): what a real GPU project's image and test run need beyond its
//! metadata, each said in `[tool.gpu-ci]` and checked here, once: extra packages, package
//! indexes, environment, Modal secrets, setup commands, system packages, submodules and the
//! CUDA version.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::plan::pep508::{self, Requirement};
use crate::plan::values::check_text;
use crate::plan::{Source, Sourced};

/// The CUDA versions gpu-ci knows an NVIDIA devel image and a PyTorch wheel index for:
/// `(major.minor, the image's tag, the index's suffix)`.
pub const CUDA_VERSIONS: [(&str, &str, &str); 8] = [
    ("11.8", "11.8.0-devel-ubuntu22.04", "cu118"),
    ("12.1", "12.1.1-devel-ubuntu22.04", "cu121"),
    ("12.4", "12.4.1-devel-ubuntu22.04", "cu124"),
    ("12.6", "12.6.3-devel-ubuntu24.04", "cu126"),
    ("12.8", "12.8.1-devel-ubuntu24.04", "cu128"),
    ("12.9", "12.9.1-devel-ubuntu24.04", "cu129"),
    ("13.0", "13.0.1-devel-ubuntu24.04", "cu130"),
    ("13.2", "13.2.1-devel-ubuntu24.04", "cu132"),
];

/// The CUDA of a build image when nothing names one.
pub const DEFAULT_CUDA: &str = "12.8";

/// One of [`CUDA_VERSIONS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cuda {
    pub version: &'static str,
    tag: &'static str,
    wheels: &'static str,
}

impl Cuda {
    pub fn parse(text: &str) -> Result<Cuda> {
        CUDA_VERSIONS
            .iter()
            .find(|(version, ..)| *version == text)
            .map(|&(version, tag, wheels)| Cuda {
                version,
                tag,
                wheels,
            })
            .ok_or_else(|| {
                let known: Vec<&str> = CUDA_VERSIONS.iter().map(|(v, ..)| *v).collect();
                Error::usage(format!("unknown CUDA version `{text}`"))
                    .with_help(format!("write one of {} (major.minor)", known.join(", ")))
            })
    }

    /// The NVIDIA image with this CUDA toolkit, `nvcc` included.
    pub fn devel_image(self) -> String {
        format!("nvidia/cuda:{}", self.tag)
    }

    /// PyTorch's wheel index of torch builds for this CUDA.
    pub fn torch_index(self) -> String {
        format!("https://download.pytorch.org/whl/{}", self.wheels)
    }
}

/// The CUDA of a PyTorch wheel index (`https://download.pytorch.org/whl/cu130`, its `nightly/`
/// and `test/` channels), when gpu-ci knows it; `None` for any other index (`whl/cpu`, PyPI).
pub fn index_cuda(url: &str) -> Option<Cuda> {
    let path = url
        .strip_prefix("https://download.pytorch.org/whl/")?
        .trim_end_matches('/');
    let tag = path
        .strip_prefix("nightly/")
        .or_else(|| path.strip_prefix("test/"))
        .unwrap_or(path);
    CUDA_VERSIONS
        .iter()
        .find(|(_, _, index)| *index == tag)
        .and_then(|(version, ..)| Cuda::parse(version).ok())
}

/// PyTorch's release compatibility matrix: for each torch 2.MINOR, the CUDA its PyPI wheel for
/// Linux x86_64 is built for, and the CUDA versions of its wheel indexes that [`CUDA_VERSIONS`]
/// knows, oldest first. The PyPI column is what `uv pip compile --python-platform
/// x86_64-manylinux_2_28` of `torch==2.MINOR.0` resolves (its `nvidia-cuda-runtime`); the
/// indexes are PyTorch's "previous versions" page and the wheels under
/// download.pytorch.org/whl/cuXYZ (2.14 and 2.15: only the PyPI build's index is listed, the
/// others unconfirmed). A torch newer than the last row is taken to have the last row's build.
pub const TORCH_CUDA: [(u32, &str, &[&str]); 15] = [
    (1, "12.1", &["11.8", "12.1"]),
    (2, "12.1", &["11.8", "12.1"]),
    (3, "12.1", &["11.8", "12.1"]),
    (4, "12.1", &["11.8", "12.1", "12.4"]),
    (5, "12.4", &["11.8", "12.1", "12.4"]),
    (6, "12.4", &["11.8", "12.4", "12.6"]),
    (7, "12.6", &["11.8", "12.6", "12.8"]),
    (8, "12.8", &["12.6", "12.8", "12.9"]),
    (9, "12.8", &["12.6", "12.8", "13.0"]),
    (10, "12.8", &["12.6", "12.8", "13.0"]),
    (11, "13.0", &["12.6", "12.8", "13.0"]),
    (12, "13.0", &["12.6", "13.0", "13.2"]),
    (13, "13.0", &["12.6", "13.0", "13.2"]),
    (14, "13.0", &["13.0"]),
    (15, "13.2", &["13.2"]),
];

/// `(major, minor, whether anything after the minor is non-zero)` of a specifier's version
/// (`2.6`, `2.6.0`, `2.4.*`, `2.5.1+cu124`).
fn version_parts(text: &str) -> Option<(u32, u32, bool)> {
    let text = text.split('+').next()?;
    let mut parts = text.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let rest = parts.any(|p| p != "0" && p != "*");
    Some((major, minor, rest))
}

/// The highest torch 2.MINOR a requirement's specifiers (`<2.6`, `==2.4.*`, `~=2.5.0`)
/// allow; `None` when they leave 2.x open above (or name a torch outside 2.x).
pub fn torch_minor_cap(specifiers: &str) -> Option<u32> {
    let mut cap: Option<u32> = None;
    for clause in specifiers.split(',') {
        let clause = clause.trim();
        let op_len = clause
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(clause.len());
        let (op, version) = clause.split_at(op_len);
        let Some((major, minor, rest)) = version_parts(version.trim()) else {
            continue;
        };
        if major != 2 {
            continue;
        }
        let bound = match op.trim() {
            "<" if rest => Some(minor),
            "<" => minor.checked_sub(1),
            "<=" | "==" | "===" => Some(minor),
            "~=" if version.matches('.').count() >= 2 => Some(minor),
            _ => None,
        };
        if let Some(bound) = bound {
            cap = Some(cap.map_or(bound, |c| c.min(bound)));
        }
    }
    cap
}

/// The CUDA a build image should have for a torch capped at 2.`minor`: `None` when the
/// default toolkit's wheels exist for it (or the table does not know it), else the newest
/// CUDA PyTorch built that torch for.
pub fn cuda_for_torch(minor: u32) -> Option<Cuda> {
    let (_, _, cudas) = TORCH_CUDA.iter().find(|(m, ..)| *m == minor)?;
    if cudas.contains(&DEFAULT_CUDA) {
        return None;
    }
    cudas.last().and_then(|v| Cuda::parse(v).ok())
}

/// The torch a `uv.lock` pins, and the CUDA its wheel is built for: the index's `cuXYZ` or the
/// version's `+cuXYZ`, else (PyPI) the CUDA of [`TORCH_CUDA`] for its minor. `None` when the
/// lock has no torch, or one whose CUDA gpu-ci cannot tell (a CPU build, another major).
///
/// A lock with several torch entries (forked by markers: a cu126 and a cu130 build) says one
/// CUDA only when they all agree.
pub fn locked_torch(lock: &str) -> Option<(String, Cuda)> {
    let doc: toml_edit::DocumentMut = lock.parse().ok()?;
    let packages = doc.get("package")?.as_array_of_tables()?;
    let mut found: Option<(String, Cuda)> = None;
    for torch in packages
        .iter()
        .filter(|p| p.get("name").and_then(|n| n.as_str()) == Some("torch"))
    {
        let this = torch_cuda_of(torch)?;
        match &found {
            Some((_, cuda)) if *cuda != this.1 => return None,
            Some(_) => {}
            None => found = Some(this),
        }
    }
    found
}

/// One `[[package]]` torch entry of a uv.lock: its version and the CUDA its wheel is for.
fn torch_cuda_of(torch: &toml_edit::Table) -> Option<(String, Cuda)> {
    let version = torch.get("version")?.as_str()?.to_string();
    let registry = torch
        .get("source")
        .and_then(|s| s.as_inline_table())
        .and_then(|s| s.get("registry"))
        .and_then(|r| r.as_str())
        .unwrap_or_default();
    let tag = |text: &str| {
        let at = text.rfind("cu")?;
        let digits: String = text[at + 2..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        (digits.len() >= 3).then(|| {
            format!(
                "{}.{}",
                &digits[..digits.len() - 1],
                &digits[digits.len() - 1..]
            )
        })
    };
    let from_local = version.split_once('+').and_then(|(_, local)| tag(local));
    let from_index = registry
        .contains("download.pytorch.org")
        .then(|| tag(registry))
        .flatten();
    let cuda = match from_local.or(from_index) {
        Some(cuda) => cuda,
        None if version.contains('+') || registry.contains("download.pytorch.org") => return None,
        None => {
            let (major, minor, _) = version_parts(&version)?;
            if major != 2 {
                return None;
            }
            let last = TORCH_CUDA.last().map_or(0, |(m, ..)| *m);
            TORCH_CUDA
                .iter()
                .find(|(m, ..)| *m == minor.min(last))
                .map(|(_, pypi, _)| pypi.to_string())?
        }
    };
    Some((version, Cuda::parse(&cuda).ok()?))
}

/// The recipe keys, each checked, with its source.
#[derive(Debug, Clone)]
pub struct Recipe {
    pub packages: Sourced<Vec<Package>>,
    pub index_url: Sourced<Option<String>>,
    pub extra_index_urls: Sourced<Vec<String>>,
    pub env: Sourced<BTreeMap<String, String>>,
    pub modal_secrets: Sourced<Vec<String>>,
    pub setup: Sourced<Vec<String>>,
    pub apt: Sourced<Vec<String>>,
    pub submodules: Sourced<bool>,
    /// `None`: no CUDA toolkit asked for (a build image still gets [`DEFAULT_CUDA`]).
    pub cuda: Sourced<Option<Cuda>>,
}

/// The parts of a name that say it holds a secret.
const SECRET_WORDS: [&str; 11] = [
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "CREDENTIAL",
    "APIKEY",
    "PRIVATE",
    "KEY",
    "AUTH",
    "PWD",
    "PAT",
];

/// Whether an environment variable's name looks like one that holds a secret.
/// The long words count inside a longer word (`GITHUBTOKEN`, `ACCESS_TOKENS`) unless another
/// word goes on from them (`TOKENIZERS_PARALLELISM`: a tokenizer, not a token).
pub fn looks_secret(name: &str) -> bool {
    let long = &SECRET_WORDS[..7];
    let ends_a_word = |rest: &str| {
        let rest = rest.strip_prefix('S').unwrap_or(rest);
        rest.is_empty() || !rest.starts_with(|c: char| c.is_ascii_alphabetic())
    };
    long.iter().any(|word| {
        name.match_indices(word)
            .any(|(at, _)| ends_a_word(&name[at + word.len()..]))
    }) || name.split('_').any(|word| SECRET_WORDS.contains(&word))
}

/// A `packages` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Package {
    /// A requirement from the package indexes.
    Index(Requirement),
    /// `./DIR[extras]`: a subproject of the tree (its own pyproject.toml or setup.py), built
    /// in the image from the tree's copy with its dependencies, as `pip install ./DIR` would.
    Local { dir: String, extras: Vec<String> },
}

impl Package {
    /// The requirement from the indexes; `None` for a subproject of the tree.
    pub fn requirement(&self) -> Option<&Requirement> {
        match self {
            Package::Index(requirement) => Some(requirement),
            Package::Local { .. } => None,
        }
    }
}

impl std::fmt::Display for Package {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Package::Index(requirement) => requirement.fmt(f),
            Package::Local { dir, extras } if extras.is_empty() => write!(f, "./{dir}"),
            Package::Local { dir, extras } => write!(f, "./{dir}[{}]", extras.join(",")),
        }
    }
}

/// `packages`: each a PEP 508 requirement of the subset [`pep508::parse`] reads, or `./DIR`
/// (with extras, `./DIR[cu13]`), a subproject inside the tree ([`check_local_packages`] checks
/// that it is there).
pub fn check_packages(entries: &[String]) -> Result<Vec<Package>> {
    entries
        .iter()
        .map(|entry| {
            check_text("packages", entry)?;
            if let Some(rest) = entry.trim().strip_prefix("./") {
                return local_package(entry, rest);
            }
            pep508::parse(entry).map(Package::Index).map_err(|why| {
                Error::usage(format!("`packages`: `{entry}` is not a requirement: {why}"))
                    .with_help("write a PEP 508 requirement, as \"torchao>=0.10\", \"pkg[extra]\" or \"pkg @ https://…/pkg.whl\", or a subproject of the tree as \"./sub/dir\"")
            })
        })
        .collect()
}

/// `./DIR[extras]` after its `./`: plain folder names ([`crate::project::is_plain_path`]), and
/// extras that are names: what reaches the image's shell is plain text.
fn local_package(entry: &str, rest: &str) -> Result<Package> {
    let (path, extras) = match rest.split_once('[') {
        Some((path, extras)) => {
            let Some(extras) = extras.strip_suffix(']') else {
                return Err(local_error(entry, "its extras are not closed by `]`"));
            };
            (path, extras.split(',').map(str::trim).collect::<Vec<_>>())
        }
        None => (rest, Vec::new()),
    };
    let path = path.trim_end_matches('/');
    if !crate::project::is_plain_path(path) {
        return Err(local_error(
            entry,
            "a subproject's path is folder names inside the tree (letters, digits, `.`, `_`, `-`, none starting with `-`), without `..`",
        ));
    }
    if let Some(bad) = extras.iter().find(|extra| !pep508::is_name(extra)) {
        return Err(local_error(
            entry,
            &format!("`{bad}` is not an extra's name"),
        ));
    }
    Ok(Package::Local {
        dir: path.to_string(),
        extras: extras.into_iter().map(str::to_string).collect(),
    })
}

fn local_error(entry: &str, why: &str) -> Error {
    Error::usage(format!("`packages`: `{entry}` is not a subproject of the tree: {why}"))
        .with_help("write a folder of the project that holds its own pyproject.toml or setup.py, as \"./sub/dir\" or \"./sub/dir[extra]\"")
}

/// Each `./DIR` of `packages` is a subproject of the tree at `root` ([`crate::project::is_subproject`]:
/// no symlink at any depth, as the runner's upload follows none), and its extras are ones its
/// pyproject.toml defines.
pub fn check_local_packages(root: &std::path::Path, packages: &[Package]) -> Result<()> {
    for package in packages {
        let Package::Local { dir, extras } = package else {
            continue;
        };
        let pyproject = crate::project::read_regular(root, &format!("{dir}/pyproject.toml"))
            .and_then(|text| crate::project::pyproject::PyProject::parse(&text).ok());
        // Extras are checked where the subproject lists them as data.
        if let Some(pyproject) = pyproject.filter(|p| {
            p.has_project_table && !p.dynamic.iter().any(|d| d == "optional-dependencies")
        }) && let Some(missing) = extras.iter().find(|extra| {
            !pyproject
                .extras
                .iter()
                .any(|known| pep508::normalize(known) == pep508::normalize(extra))
        }) {
            return Err(Error::usage(format!(
                "`packages`: `{package}` asks for the extra `{missing}`, which `{dir}/pyproject.toml` does not define"
            ))
            .with_help(format!(
                "use one of its extras ({}), or none",
                if pyproject.extras.is_empty() {
                    "it has none".to_string()
                } else {
                    pyproject.extras.join(", ")
                }
            )));
        }
        if !crate::project::is_subproject(root, dir) {
            return Err(Error::usage(format!(
                "`packages`: `{package}` names no subproject: `{dir}` is not a folder of the tree (reached without a symlink) holding a setup.py, or a pyproject.toml with a [project] or [build-system] table"
            ))
            .with_help("name the folder that holds the subproject's pyproject.toml or setup.py, relative to the project's root"));
        }
    }
    Ok(())
}

/// An index URL: https, a host, no credentials, no whitespace or quotes.
pub fn check_index_url(key: &str, url: &str) -> Result<()> {
    check_text(key, url)?;
    let help =
        "write an https:// URL of a package index, as https://download.pytorch.org/whl/cu128";
    let Some(rest) = url.strip_prefix("https://") else {
        return Err(Error::usage(format!(
            "`{key}`: `{url}` is not an https:// URL; an index over plain http (or a file) could serve any code"
        ))
        .with_help(help));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() {
        return Err(Error::usage(format!("`{key}`: `{url}` names no host")).with_help(help));
    }
    if host.contains('@') {
        return Err(Error::usage(format!(
            "`{key}`: `{url}` holds credentials; the config is plain text in the repository"
        ))
        .with_help(
            "use an index that needs no credentials, or pass them to uv outside the config",
        ));
    }
    if url
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | '`'))
    {
        return Err(Error::usage(format!(
            "`{key}`: `{url}` holds a space, a quote or a backslash"
        ))
        .with_help(help));
    }
    Ok(())
}

/// `env`: names `[A-Z_][A-Z0-9_]*`, none that looks like a secret, values on one line.
pub fn check_env(env: &BTreeMap<String, String>) -> Result<()> {
    for (name, value) in env {
        let valid = name.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(Error::usage(format!(
                "`env`: `{name}` is not an environment variable name gpu-ci accepts"
            ))
            .with_help(
                "use capitals, digits and `_`, not starting with a digit, as MAMBA_KEEP_CUDA_BUILD",
            ));
        }
        if name.starts_with("GPU_CI_") || name.starts_with("MODAL_") {
            return Err(Error::usage(format!(
                "`env`: `{name}` is a name gpu-ci and Modal keep for themselves"
            ))
            .with_help("choose a name without the GPU_CI_ or MODAL_ prefix"));
        }
        if looks_secret(name) {
            return Err(Error::usage(format!(
                "`env`: `{name}` looks like a secret, and `env` values are plain text in the repository"
            ))
            .with_help(format!(
                "keep it in a Modal secret (`modal secret create NAME {name}=…`) and name that secret in `modal-secrets`"
            )));
        }
        check_text(&format!("env.{name}"), value)?;
    }
    Ok(())
}

/// `modal-secrets`: Modal's secret names (letters, digits, `-`, `_`, `.`; at most 64); none in
/// fork mode.
pub fn check_modal_secrets(names: &[String], fork_prs: bool) -> Result<()> {
    for name in names {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid {
            return Err(Error::usage(format!(
                "`modal-secrets`: `{name}` is not a Modal secret name"
            ))
            .with_help("Modal secret names are letters, digits, `-`, `_` and `.`, at most 64"));
        }
    }
    if fork_prs && !names.is_empty() {
        return Err(Error::usage(
            "`modal-secrets` cannot be used with `fork-prs`: a fork's pull request runs its own code in the sandbox, which could read the secrets and send them anywhere",
        )
        .with_help("remove `modal-secrets`, or `fork-prs` (then only branches of this repository are tested)"));
    }
    Ok(())
}

/// `setup`: commands on one line each, not empty.
pub fn check_setup(commands: &[String]) -> Result<()> {
    for command in commands {
        check_text("setup", command)?;
        if command.trim().is_empty() {
            return Err(
                Error::usage("`setup`: a command is empty").with_help("remove the empty entry")
            );
        }
    }
    Ok(())
}

/// `apt`: Debian package names (Debian policy 5.6.1), optionally `=version`.
pub fn check_apt(names: &[String]) -> Result<()> {
    for entry in names {
        let (name, version) = match entry.split_once('=') {
            Some((name, version)) => (name, Some(version)),
            None => (entry.as_str(), None),
        };
        let name_ok = name.len() >= 2
            && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && name.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '+' | '-' | '.')
            });
        let version_ok = version.is_none_or(|v| {
            v.starts_with(|c: char| c.is_ascii_digit())
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '~' | ':' | '-'))
        });
        if !name_ok || !version_ok {
            return Err(Error::usage(format!(
                "`apt`: `{entry}` is not a Debian package name"
            ))
            .with_help("write names as apt-get takes them, as \"libgl1\" or \"ninja-build\" (lowercase, digits, + - .), optionally =VERSION"));
        }
    }
    Ok(())
}

/// Why an environment variable the project's CI sets is not taken into `env`, if it is not:
/// the rule for detected values. A CI job's environment mixes what the tests need (a build
/// switch, a backend, a GPU-test selector) with what describes the CI machine it ran on; only
/// the first kind means the same on Modal. Left out, each with a note naming the key:
/// - names of the CI system's own (`CI`, `GITHUB_*`, `RUNNER_*`, `GITLAB_*`, `ACTIONS_*`, ...);
/// - the CI's installer settings (`UV_*`, `PIP_*`): the image's installs are gpu-ci's;
/// - values that are runner-local: an absolute or home path (`/tmp/…`, `/home/runner/…`,
///   `~/…`), or a value that still holds a variable or an expression (`$HOME`, `${{ … }}`);
/// - sizes of the runner: thread and job counts (`*_THREADS`, `*_JOBS`, `MAKEFLAGS`), which
///   suit the CI machine's cores, not the Modal container's;
/// - anything [`check_env`] refuses (a name that looks like a secret, `MODAL_*`, ...).
pub fn ci_only_env(name: &str, value: &str) -> Option<&'static str> {
    const CI_PREFIXES: [&str; 8] = [
        "GITHUB_",
        "RUNNER_",
        "ACTIONS_",
        "GITLAB_",
        "CI_",
        "BITBUCKET_",
        "BUILDKITE_",
        "CIRCLE",
    ];
    if name == "CI" || CI_PREFIXES.iter().any(|p| name.starts_with(p)) {
        return Some("it describes the CI system");
    }
    if name.starts_with("UV_") || name.starts_with("PIP_") {
        return Some(
            "it configures the CI machine's installer; the image installs as `python`, `index-url` and `extra-index-urls` say",
        );
    }
    if value.contains('$') {
        return Some("its value refers to a variable of the CI machine");
    }
    if value.starts_with('/') || value.starts_with('~') {
        return Some("its value is a path on the CI machine");
    }
    let sized = name.ends_with("THREADS") || name.ends_with("_JOBS") || name == "MAKEFLAGS";
    if sized {
        return Some("it sizes work for the CI machine's cores");
    }
    None
}

/// Where a list came from: the flag when given, else the config key, else empty.
pub fn pick_list(
    flag: &[String],
    flag_source: Source,
    config: &Option<Vec<String>>,
    config_source: Source,
) -> Sourced<Vec<String>> {
    if !flag.is_empty() {
        Sourced::new(flag.to_vec(), flag_source)
    } else if let Some(list) = config {
        Sourced::new(list.clone(), config_source)
    } else {
        Sourced::default(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for name in [
            "HF_TOKEN",
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "API_KEY",
            "OPENAI_APIKEY",
            "DB_PASSWORD",
            "GH_PAT",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "GITHUBTOKEN",
            "ACCESS_TOKENS",
            "MY_SECRET2",
        ] {
            assert!(looks_secret(name), "{name}");
        }
        for name in [
            "MAMBA_KEEP_CUDA_BUILD",
            "KERAS_BACKEND",
            "TORCH_CUDA_ARCH_LIST",
            "FLASH_ATTN_CUDA_ARCHS",
            // A tokenizer's switch, which the project's CI sets: not a token.
            "TOKENIZERS_PARALLELISM",
        ] {
            assert!(!looks_secret(name), "{name}");
        }
    }

    #[test]
    fn ci_only_environment_is_left_out() {
        for (name, value) in [
            ("CI", "true"),
            ("GITHUB_WORKSPACE", "x"),
            ("RUNNER_TEMP", "x"),
            ("HF_HOME", "/tmp/hf"),
            ("CACHE", "/home/runner/.cache"),
            ("XDG_CACHE_HOME", "~/.cache"),
            ("DATA", "$HOME/data"),
            ("TOKEN_LIKE", "${{ secrets.X }}"),
            ("OMP_NUM_THREADS", "4"),
            ("MAX_JOBS", "8"),
            ("MAKEFLAGS", "-j8"),
            ("UV_PYTHON", "3.12"),
            ("PIP_NO_CACHE_DIR", "1"),
        ] {
            assert!(ci_only_env(name, value).is_some(), "{name}={value}");
        }
        for (name, value) in [
            ("MAMBA_KEEP_CUDA_BUILD", "TRUE"),
            ("KERAS_BACKEND", "jax"),
            ("RUN_ONLY_CUDA_TESTS", "1"),
            ("TOKENIZERS_PARALLELISM", "false"),
            ("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True"),
        ] {
            assert_eq!(ci_only_env(name, value), None, "{name}={value}");
        }
    }

    #[test]
    fn torch_caps_pick_the_cuda_pytorch_built_them_for() {
        assert_eq!(torch_minor_cap(">=2.1"), None);
        assert_eq!(torch_minor_cap(">=2.1,<2.6"), Some(5));
        assert_eq!(torch_minor_cap("<2.6.1"), Some(6));
        assert_eq!(torch_minor_cap("==2.4.*"), Some(4));
        assert_eq!(torch_minor_cap("<=2.3.1,<2.5"), Some(3));
        assert_eq!(torch_minor_cap("~=2.5.0"), Some(5));
        assert_eq!(torch_minor_cap("~=2.5"), None);
        assert_eq!(torch_minor_cap("<3"), None);
        // The default toolkit (12.8) has torch 2.7 and later; older ones get their newest CUDA.
        assert_eq!(cuda_for_torch(9), None);
        assert_eq!(cuda_for_torch(7), None);
        assert_eq!(cuda_for_torch(6).unwrap().version, "12.6");
        assert_eq!(cuda_for_torch(5).unwrap().version, "12.4");
        assert_eq!(cuda_for_torch(3).unwrap().version, "12.1");
        assert_eq!(cuda_for_torch(0), None);
        // From 2.12 on there is no CUDA 12.8 build: a cap there needs a CUDA 13 toolkit.
        assert_eq!(cuda_for_torch(11), None);
        assert_eq!(cuda_for_torch(12).unwrap().version, "13.2");
        assert_eq!(cuda_for_torch(14).unwrap().version, "13.0");
        assert_eq!(cuda_for_torch(15).unwrap().version, "13.2");
        // Every torch minor PyPI has, 2.1 on, has a row, in order.
        let minors: Vec<u32> = TORCH_CUDA.iter().map(|(m, ..)| *m).collect();
        assert_eq!(minors, (1..=15).collect::<Vec<_>>());
        for (_, pypi, cudas) in TORCH_CUDA {
            assert!(Cuda::parse(pypi).is_ok());
            assert!(cudas.iter().all(|c| Cuda::parse(c).is_ok()));
        }
    }

    #[test]
    fn a_locks_torch_says_its_cuda() {
        let lock = |version: &str, registry: &str| {
            format!(
                "version = 1\n[[package]]\nname = \"numpy\"\nversion = \"2.0\"\n[[package]]\nname = \"torch\"\nversion = \"{version}\"\nsource = {{ registry = \"{registry}\" }}\n"
            )
        };
        let cuda = |text: &str| locked_torch(text).map(|(_, c)| c.version);
        assert_eq!(
            cuda(&lock(
                "2.5.1+cu124",
                "https://download.pytorch.org/whl/cu124"
            )),
            Some("12.4")
        );
        assert_eq!(
            cuda(&lock("2.7.1", "https://download.pytorch.org/whl/cu118")),
            Some("11.8")
        );
        assert_eq!(
            cuda(&lock("2.5.1", "https://pypi.org/simple")),
            Some("12.4")
        );
        assert_eq!(
            cuda(&lock("2.9.0", "https://pypi.org/simple")),
            Some("12.8")
        );
        // PyPI's torch moved to CUDA 13 with 2.11, and 13.2 with 2.15.
        assert_eq!(
            cuda(&lock("2.11.0", "https://pypi.org/simple")),
            Some("13.0")
        );
        assert_eq!(
            cuda(&lock("2.15.0", "https://pypi.org/simple")),
            Some("13.2")
        );
        assert_eq!(
            cuda(&lock("2.16.0", "https://pypi.org/simple")),
            Some("13.2")
        );
        assert_eq!(
            cuda(&lock("2.5.1+cpu", "https://download.pytorch.org/whl/cpu")),
            None
        );
        assert_eq!(cuda("version = 1\n"), None);
        // Forked by markers into builds for two CUDAs: no one answer.
        let two = format!(
            "{}[[package]]\nname = \"torch\"\nversion = \"2.9.0+cu130\"\nsource = {{ registry = \"https://download.pytorch.org/whl/cu130\" }}\n",
            lock("2.9.0+cu126", "https://download.pytorch.org/whl/cu126")
        );
        assert_eq!(cuda(&two), None);
    }

    #[test]
    fn pytorch_indexes_say_their_cuda() {
        for (url, cuda) in [
            ("https://download.pytorch.org/whl/cu130", Some("13.0")),
            (
                "https://download.pytorch.org/whl/nightly/cu130/",
                Some("13.0"),
            ),
            ("https://download.pytorch.org/whl/test/cu126", Some("12.6")),
            ("https://download.pytorch.org/whl/cpu", None),
            ("https://download.pytorch.org/whl/cu999", None),
            ("https://pypi.org/simple", None),
        ] {
            assert_eq!(index_cuda(url).map(|c| c.version), cuda, "{url}");
        }
    }

    #[test]
    fn cuda_versions() {
        let cuda = Cuda::parse("12.8").unwrap();
        assert_eq!(cuda.devel_image(), "nvidia/cuda:12.8.1-devel-ubuntu24.04");
        assert_eq!(cuda.torch_index(), "https://download.pytorch.org/whl/cu128");
        assert!(Cuda::parse("12.8.1").is_err());
        assert!(Cuda::parse("12").is_err());
    }

    #[test]
    fn apt_names() {
        assert!(check_apt(&["libgl1".into(), "ninja-build".into(), "g++-12".into()]).is_ok());
        assert!(check_apt(&["libc6=2.39-0ubuntu8".into()]).is_ok());
        for bad in ["LibGL", "-y", "a", "x;rm", "pkg=", "pkg=$(x)", "lib gl"] {
            assert!(check_apt(&[bad.into()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn index_urls() {
        assert!(check_index_url("index-url", "https://download.pytorch.org/whl/cu128").is_ok());
        for bad in [
            "http://pypi.org/simple",
            "file:///tmp",
            "https://",
            "https://u:p@host/simple",
            "https://host/a b",
            "https://host/\"",
        ] {
            assert!(check_index_url("index-url", bad).is_err(), "{bad}");
        }
    }
}
