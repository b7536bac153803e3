//! What this machine knows of Modal: the token and environment (from `MODAL_*` variables or the
//! current profile of `~/.modal.toml`, as the Modal client reads them), and the Modal client
//! itself with its version. Reads only, and never shows a token.

use std::cell::OnceCell;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use toml_edit::{DocumentMut, Item};

use crate::error::Result;
use crate::isolated;
use crate::project::pyproject::syntax_error;
use crate::project::read_text;
use crate::secrets::Secret;

/// Where a Modal setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An environment variable, as `MODAL_TOKEN_ID`.
    Env(&'static str),
    /// A key of a profile in the config file (shown with `~` for the home folder).
    Profile { profile: String, file: String },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Env(name) => write!(f, "{name}"),
            Origin::Profile { profile, file } => write!(f, "profile `{profile}` in {file}"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting<T> {
    pub value: T,
    pub from: Origin,
}

/// Modal's settings on this machine, resolved as the Modal client resolves them: each
/// `MODAL_<KEY>` variable first, then the current profile of the config file.
#[derive(Debug, Clone)]
pub struct ModalSettings {
    /// The config file, as shown (`~/.modal.toml`, or `MODAL_CONFIG_PATH`).
    pub file: String,
    /// Whether the config file exists.
    pub file_exists: bool,
    /// The current profile: `MODAL_PROFILE`, else the one marked `active = true`, else `default`.
    pub profile: String,
    pub token_id: Option<Setting<Secret>>,
    pub token_secret: Option<Setting<Secret>>,
    pub environment: Option<Setting<String>>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// `path` with the home folder shown as `~`.
fn shown(path: &Path) -> String {
    match home().and_then(|h| path.strip_prefix(h).ok().map(Path::to_path_buf)) {
        Some(rel) => format!("~/{}", rel.display()),
        None => path.display().to_string(),
    }
}

impl ModalSettings {
    /// Reads the settings; a missing config file is no error, a malformed one is.
    pub fn read() -> Result<ModalSettings> {
        let path = match env("MODAL_CONFIG_PATH") {
            Some(path) => PathBuf::from(path),
            None => home().unwrap_or_default().join(".modal.toml"),
        };
        let file = shown(&path);
        let doc = if path.is_file() {
            let text = read_text(&path, &file)?;
            Some(
                text.parse::<DocumentMut>()
                    .map_err(|err| syntax_error(&file, &text, &err))?,
            )
        } else {
            None
        };
        let active = doc.as_ref().and_then(|doc| {
            doc.iter()
                .find(|(_, item)| item.get("active").and_then(Item::as_bool) == Some(true))
                .map(|(name, _)| name.to_string())
        });
        let profile = env("MODAL_PROFILE")
            .or(active)
            .unwrap_or_else(|| "default".into());
        let lookup = |key: &str, variable: &'static str| -> Option<Setting<String>> {
            if let Some(value) = env(variable) {
                return Some(Setting {
                    value,
                    from: Origin::Env(variable),
                });
            }
            let value = doc
                .as_ref()?
                .get(&profile)?
                .get(key)?
                .as_str()
                .filter(|v| !v.trim().is_empty())?;
            Some(Setting {
                value: value.to_string(),
                from: Origin::Profile {
                    profile: profile.clone(),
                    file: file.clone(),
                },
            })
        };
        let secret = |s: Setting<String>| Setting {
            value: Secret::new(s.value),
            from: s.from,
        };
        Ok(ModalSettings {
            token_id: lookup("token_id", "MODAL_TOKEN_ID").map(secret),
            token_secret: lookup("token_secret", "MODAL_TOKEN_SECRET").map(secret),
            environment: lookup("environment", "MODAL_ENVIRONMENT"),
            file_exists: doc.is_some(),
            file,
            profile,
        })
    }

    /// Both halves of a token are there.
    pub fn has_token(&self) -> bool {
        self.token_id.is_some() && self.token_secret.is_some()
    }
}

/// The Modal client, as `gpu-ci run` calls it and `gpu-ci doctor` checks it.
#[derive(Debug, Clone)]
pub struct Client {
    /// The program: `modal`, `uvx` or `python3`, as found on PATH.
    pub program: PathBuf,
    /// What comes before the client's own arguments: none, `modal`, or `-m modal`.
    pub args: &'static [&'static str],
    /// The command line that starts it, as shown: `modal`, `uvx modal`, `python3 -m modal`.
    pub command: &'static str,
    /// The PATH a probe of it runs with.
    path: OsString,
    /// The version `--version` printed (`None`: it printed none, or failed); asked once.
    version: OnceCell<Option<String>>,
}

impl Client {
    /// The version the client says it is; runs `--version` (isolated) unless finding it
    /// already did.
    pub fn version(&self) -> Option<&str> {
        self.version
            .get_or_init(|| version_of(&self.program, self.args, &self.path).flatten())
            .as_deref()
    }

    /// A command that runs the client; the caller adds its arguments.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(self.args);
        command
    }
}

/// An executable named `name` on PATH.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| crate::isolated::is_executable(candidate))
}

/// The version `program args… --version` prints, if it runs and succeeds. It runs isolated
/// (`isolated::with_path`): from a temporary folder, with PATH and HOME only, so neither a
/// token (Modal's, GitHub's) nor the project's folder reaches it; `python3` with `-I`, which
/// ignores `PYTHON*` variables and the user's site folder and keeps the current folder off
/// `sys.path`.
fn version_of(program: &Path, args: &[&str], path: &OsStr) -> Option<Option<String>> {
    let mut all: Vec<&str> = Vec::new();
    if args.first() == Some(&"-m") {
        all.push("-I");
    }
    all.extend_from_slice(args);
    all.push("--version");
    let output = isolated::with_path(program, &all, path).ok()?;
    output
        .status
        .success()
        .then(|| parse_version(&String::from_utf8_lossy(&output.stdout)))
}

/// `modal client version: 1.6.4` → `1.6.4`: the last word that starts with a digit.
fn parse_version(text: &str) -> Option<String> {
    text.split_whitespace()
        .rev()
        .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_string)
}

/// Where [`find_client`] looks.
#[derive(Debug, Clone, Copy)]
pub enum Search<'a> {
    /// The whole PATH: `gpu-ci run`, which runs the project's code anyway, uses the client of
    /// an activated `.venv` inside it.
    WholePath,
    /// PATH without the entries inside the project at this root (`isolated::find`): `doctor`
    /// runs nothing of the project's.
    OutsideProject(&'a Path),
}

impl Search<'_> {
    /// The PATH a probe runs with.
    fn path(self) -> OsString {
        match self {
            Search::WholePath => std::env::var_os("PATH").unwrap_or_default(),
            Search::OutsideProject(root) => isolated::safe_path(&isolated::project_tree(root)),
        }
    }

    fn find(self, name: &str) -> Option<PathBuf> {
        match self {
            Search::WholePath => on_path(name),
            Search::OutsideProject(root) => isolated::find(name, root),
        }
    }
}

/// The Modal client: `modal` on PATH (not run), else `uvx modal`, else `python3 -m modal`
/// (each run isolated with `--version`, to know it is there).
pub fn find_client(search: Search) -> Option<Client> {
    let path = search.path();
    let find = |name: &str| search.find(name);
    if let Some(modal) = find("modal") {
        return Some(Client {
            program: modal,
            args: &[],
            command: "modal",
            path,
            version: OnceCell::new(),
        });
    }
    let probed = |program: PathBuf, args: &'static [&'static str], command| {
        let version = version_of(&program, args, &path)?;
        Some(Client {
            program,
            args,
            command,
            path: path.clone(),
            version: OnceCell::from(version),
        })
    };
    if let Some(client) = find("uvx").and_then(|uvx| probed(uvx, &["modal"], "uvx modal")) {
        return Some(client);
    }
    probed(find("python3")?, &["-m", "modal"], "python3 -m modal")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_what_modal_prints() {
        assert_eq!(
            parse_version("modal client version: 1.6.4\n").as_deref(),
            Some("1.6.4")
        );
        assert_eq!(parse_version("1.0.0").as_deref(), Some("1.0.0"));
        assert_eq!(parse_version("no version here"), None);
    }

    #[test]
    fn settings_name_their_source_without_the_value() {
        let from = Origin::Profile {
            profile: "ci".into(),
            file: "~/.modal.toml".into(),
        };
        assert_eq!(from.to_string(), "profile `ci` in ~/.modal.toml");
        assert_eq!(Origin::Env("MODAL_TOKEN_ID").to_string(), "MODAL_TOKEN_ID");
    }
}
