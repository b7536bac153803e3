//! `[tool.gpu-ci]`: the keys, reading them strictly, and writing them back with every other byte kept.

use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item, Table, value};

use crate::error::{Error, Result};
use crate::newlines;
use crate::project::{pyproject::syntax_error, read_text};

pub const PYPROJECT: &str = "pyproject.toml";
pub const STANDALONE: &str = "gpu-ci.toml";

pub const DEFAULT_GPU: &str = "L4";
pub const DEFAULT_PYTHON: &str = "3.12";
pub const DEFAULT_TEST_PATH: &str = "tests/";
pub const DEFAULT_PYTEST_ARGS: &str = "-v";
pub const DEFAULT_LABEL: &str = "gpu-tests";
pub const DEFAULT_TIMEOUT: u32 = 3600;
pub const DEFAULT_BRANCH: &str = "main";
pub const DEFAULT_SHARDS: u32 = 1;
/// The most shards a GPU's run is split into.
pub const MAX_SHARDS: u32 = 32;
/// The largest `max-cost` taken, in USD: a bound against a slip of the keyboard (`20000`).
pub const MAX_COST_LIMIT: f64 = 10_000.0;

/// Every key `[tool.gpu-ci]` accepts.
pub const KEYS: &[&str] = &[
    "gpu",
    "python",
    "test-path",
    "pytest-args",
    "label",
    "group",
    "extra",
    "requirements",
    "fork-prs",
    "timeout",
    "max-cost",
    "cache",
    "base-image",
    "framework",
    "allow-no-tests",
    "branch",
    "image-builder",
    "install-project",
    "environment",
    "shards",
    "actions",
    "ci",
    "packages",
    "index-url",
    "extra-index-urls",
    "env",
    "modal-secrets",
    "setup",
    "apt",
    "submodules",
    "cuda",
];

/// The TOML type a key takes, as `read` checks it: what the JSON Schema of `[tool.gpu-ci]`
/// (`gpu-ci config --schema`) says of each key, so the two cannot drift (a test runs both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// A string.
    Text,
    /// true or false.
    Flag,
    /// A string, or a list of strings (`gpu`, `ci`).
    TextOrList,
    /// A list of strings.
    List,
    /// A table of strings (`env`, `actions`).
    Table,
    /// A whole number from 1 to [`MAX_SHARDS`].
    Shards,
    /// A whole number of seconds, at least 1 (and at most u32's).
    Seconds,
    /// An amount of US dollars above 0, at most [`MAX_COST_LIMIT`] (`2`, `0.5`).
    Dollars,
    /// true or false, or a list of strings (`cache`: on, or on with these paths).
    FlagOrList,
}

/// Every key with its type and what it sets, in [`KEYS`]' order.
pub const KEY_TYPES: &[(&str, KeyType, &str)] = &[
    (
        "gpu",
        KeyType::TextOrList,
        "GPU to test on, as \"L4\" or \"H100:2\" or a fallback list \"H100,A100-80GB\"; a list of them is a matrix",
    ),
    (
        "python",
        KeyType::Text,
        "Python version of the test image, as \"3.12\"",
    ),
    (
        "test-path",
        KeyType::Text,
        "tests to run, relative to the project root",
    ),
    ("pytest-args", KeyType::Text, "arguments passed to pytest"),
    (
        "label",
        KeyType::Text,
        "pull-request label that starts a GPU run",
    ),
    (
        "group",
        KeyType::Text,
        "dependency group (PEP 735 or Poetry) with the test dependencies",
    ),
    (
        "extra",
        KeyType::Text,
        "optional-dependencies extra with the test dependencies (several: \"dev,torch\")",
    ),
    (
        "requirements",
        KeyType::Text,
        "requirements file with the test dependencies",
    ),
    (
        "fork-prs",
        KeyType::Flag,
        "also test pull requests from forks",
    ),
    (
        "timeout",
        KeyType::Seconds,
        "seconds before a run is stopped",
    ),
    (
        "max-cost",
        KeyType::Dollars,
        "the most one run may cost on Modal's GPUs, in USD: its deadline, all shards and GPUs of the matrix included",
    ),
    (
        "cache",
        KeyType::FlagOrList,
        "keep the download caches (Hugging Face, torch hub, pip, uv, XDG) on a Modal Volume between runs; a list of absolute container paths caches those folders too",
    ),
    (
        "base-image",
        KeyType::Text,
        "the image the test image starts from",
    ),
    (
        "framework",
        KeyType::Text,
        "GPU framework for the GPU report and CUDA packages",
    ),
    (
        "allow-no-tests",
        KeyType::Flag,
        "treat pytest's exit code 5 (no tests collected) as success",
    ),
    (
        "branch",
        KeyType::Text,
        "the branch whose pushes run the GPU tests",
    ),
    (
        "image-builder",
        KeyType::Text,
        "Modal's image builder version of the workspace",
    ),
    (
        "install-project",
        KeyType::Text,
        "how the project itself is installed in the image",
    ),
    (
        "environment",
        KeyType::Text,
        "GitHub environment the GPU job runs in",
    ),
    (
        "shards",
        KeyType::Shards,
        "split the suite into this many shards, run at once",
    ),
    (
        "actions",
        KeyType::Table,
        "\"owner/repo\" = \"<sha> # vX.Y.Z\": pins overriding gpu-ci's own",
    ),
    ("ci", KeyType::TextOrList, "CI systems to write files for"),
    (
        "packages",
        KeyType::List,
        "extra requirements for the image: PEP 508, or ./DIR[extras] for a subproject of the tree",
    ),
    (
        "index-url",
        KeyType::Text,
        "package index the dependency layer installs from instead of PyPI",
    ),
    (
        "extra-index-urls",
        KeyType::List,
        "more package indexes, asked before index-url",
    ),
    (
        "env",
        KeyType::Table,
        "NAME = \"value\": environment for the image build and the tests",
    ),
    (
        "modal-secrets",
        KeyType::List,
        "Modal secrets attached to the test sandbox, by name",
    ),
    (
        "setup",
        KeyType::List,
        "shell commands run in the image after the dependencies",
    ),
    (
        "apt",
        KeyType::List,
        "Debian packages installed in the image",
    ),
    (
        "submodules",
        KeyType::Flag,
        "check out the tree under test with its git submodules",
    ),
    (
        "cuda",
        KeyType::Text,
        "CUDA toolkit of the image, as \"12.8\"",
    ),
];

/// Values as written in the config file; each may be absent.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RawConfig {
    pub gpu: Option<String>,
    /// `gpu = ["T4", "H100"]`: a matrix, the suite run once per entry (instead of `gpu`).
    pub gpu_list: Option<Vec<String>>,
    pub python: Option<String>,
    pub test_path: Option<String>,
    pub pytest_args: Option<String>,
    pub label: Option<String>,
    pub group: Option<String>,
    pub extra: Option<String>,
    pub requirements: Option<String>,
    pub fork_prs: Option<bool>,
    pub timeout: Option<u32>,
    /// The budget of one run in USD, which bounds its deadline.
    pub max_cost: Option<f64>,
    /// `cache`: the download caches on a Modal Volume (`true`), with more folders (a list).
    pub cache: Option<CacheSetting>,
    pub base_image: Option<String>,
    pub framework: Option<String>,
    pub allow_no_tests: Option<bool>,
    pub branch: Option<String>,
    pub image_builder: Option<String>,
    pub install_project: Option<String>,
    /// The GitHub environment the GPU job runs in (required reviewers, environment secrets).
    pub environment: Option<String>,
    /// The suite split into this many shards, each run in a sandbox of its own, at once.
    pub shards: Option<u32>,
    /// `[tool.gpu-ci.actions]`: `"owner/repo" = "<sha> # vX.Y.Z"`, overriding the embedded pins.
    pub actions: std::collections::BTreeMap<String, String>,
    /// The CI systems to write files for: `ci = ["github", "gitlab"]` (or one name as a string).
    pub ci: Option<Vec<String>>,
    /// The image recipe (issue 21): extra requirements for the dependency layer (PEP 508).
    pub packages: Option<Vec<String>>,
    /// The package index the dependency layer installs from, instead of PyPI.
    pub index_url: Option<String>,
    /// More indexes, asked before `index-url` (the PyTorch CUDA wheel indexes, say).
    pub extra_index_urls: Option<Vec<String>>,
    /// Environment for the image build and the tests: `NAME = "value"`.
    pub env: Option<std::collections::BTreeMap<String, String>>,
    /// Names of Modal secrets attached to the test sandbox.
    pub modal_secrets: Option<Vec<String>>,
    /// Shell commands run in the image after the dependencies.
    pub setup: Option<Vec<String>>,
    /// Debian packages installed in the image.
    pub apt: Option<Vec<String>>,
    /// Whether the tree under test is checked out with its submodules.
    pub submodules: Option<bool>,
    /// The CUDA version of the image's toolkit, as "12.8".
    pub cuda: Option<String>,
}

/// The config file of a project: `pyproject.toml`, or `gpu-ci.toml` where there is none.
pub struct ConfigFile {
    pub path: PathBuf,
    /// Relative name, for messages.
    pub name: &'static str,
    pub original: Option<String>,
    doc: DocumentMut,
    /// Whether the file starts with a UTF-8 byte-order mark, which `render` keeps.
    bom: bool,
}

impl ConfigFile {
    pub fn open(root: &Path) -> Result<ConfigFile> {
        // Whatever is there (a FIFO, a device) is read only if it is a regular file: anything
        // else is refused by `read_text`, not taken for a missing config.
        let (name, path) = if root.join(PYPROJECT).exists() {
            (PYPROJECT, root.join(PYPROJECT))
        } else {
            (STANDALONE, root.join(STANDALONE))
        };
        let original = if path.exists() {
            Some(read_text(&path, name)?)
        } else {
            None
        };
        let (bom, text) = newlines::strip_bom(original.as_deref().unwrap_or_default());
        let doc = match &original {
            Some(_) => text
                .parse::<DocumentMut>()
                .map_err(|err| syntax_error(name, text, &err))?,
            None => DocumentMut::new(),
        };
        if name == PYPROJECT {
            check_shape(&doc)?;
        }
        Ok(ConfigFile {
            path,
            name,
            original,
            doc,
            bom,
        })
    }

    /// Shown in messages: `[tool.gpu-ci]` in pyproject.toml, or gpu-ci.toml itself.
    pub fn section_name(&self) -> String {
        if self.name == PYPROJECT {
            "[tool.gpu-ci] in pyproject.toml".into()
        } else {
            STANDALONE.into()
        }
    }

    fn section(&self) -> Option<&dyn toml_edit::TableLike> {
        if self.name == PYPROJECT {
            self.doc
                .get("tool")
                .and_then(|t| t.get("gpu-ci"))
                .and_then(Item::as_table_like)
        } else if self.original.is_some() {
            Some(self.doc.as_table())
        } else {
            None
        }
    }

    pub fn is_initialised(&self) -> bool {
        self.section().is_some()
    }

    /// Reads the section, refusing unknown keys and values of the wrong type.
    pub fn read(&self) -> Result<RawConfig> {
        let Some(section) = self.section() else {
            return Ok(RawConfig::default());
        };
        let where_ = self.section_name();
        let mut raw = RawConfig::default();
        for (key, item) in section.iter() {
            let text = || -> Result<String> {
                item.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| Error::usage(format!("`{key}` in {where_} must be a string")))
            };
            match key {
                "gpu" => match item.as_array() {
                    Some(list) => {
                        let entries = list.iter().map(|entry| entry.as_str().map(str::to_string));
                        raw.gpu_list = Some(entries.collect::<Option<Vec<_>>>().ok_or_else(|| {
                            Error::usage(format!(
                                "`gpu` in {where_} must be a string or a list of strings"
                            ))
                        })?);
                    }
                    None => {
                        raw.gpu = Some(item.as_str().map(str::to_string).ok_or_else(|| {
                            Error::usage(format!(
                                "`gpu` in {where_} must be a string, as \"L4\", or a list of them, as [\"T4\", \"H100\"]"
                            ))
                        })?)
                    }
                },
                "python" => raw.python = Some(text()?),
                "test-path" => raw.test_path = Some(text()?),
                "pytest-args" => raw.pytest_args = Some(text()?),
                "label" => raw.label = Some(text()?),
                "group" => raw.group = Some(text()?),
                "extra" => raw.extra = Some(text()?),
                "requirements" => raw.requirements = Some(text()?),
                "base-image" => raw.base_image = Some(text()?),
                "framework" => raw.framework = Some(text()?),
                "branch" => raw.branch = Some(text()?),
                "image-builder" => raw.image_builder = Some(text()?),
                "install-project" => raw.install_project = Some(text()?),
                "environment" => raw.environment = Some(text()?),
                "actions" => {
                    let table = item.as_table_like().ok_or_else(|| {
                        Error::usage(format!(
                            "`actions` in {where_} must be a table of \"owner/repo\" = \"<sha> # vX.Y.Z\""
                        ))
                    })?;
                    for (repo, pin) in table.iter() {
                        let pin = pin.as_str().ok_or_else(|| {
                            Error::usage(format!(
                                "`actions.\"{repo}\"` in {where_} must be a string, as \"<sha> # vX.Y.Z\""
                            ))
                        })?;
                        raw.actions.insert(repo.to_string(), pin.to_string());
                    }
                }
                "ci" => {
                    let wrong = || {
                        Error::usage(format!(
                            "`ci` in {where_} must be a list of CI systems, as [\"github\", \"gitlab\", \"bitbucket\"]"
                        ))
                    };
                    raw.ci = Some(match item.as_str() {
                        Some(name) => vec![name.to_string()],
                        None => item
                            .as_array()
                            .ok_or_else(wrong)?
                            .iter()
                            .map(|v| v.as_str().map(str::to_string).ok_or_else(wrong))
                            .collect::<Result<Vec<_>>>()?,
                    });
                }
                "packages" | "extra-index-urls" | "modal-secrets" | "setup" | "apt" => {
                    let list = string_list(item).ok_or_else(|| {
                        Error::usage(format!(
                            "`{key}` in {where_} must be a list of strings, as [\"{}\"]",
                            example(key)
                        ))
                    })?;
                    let slot = match key {
                        "packages" => &mut raw.packages,
                        "extra-index-urls" => &mut raw.extra_index_urls,
                        "modal-secrets" => &mut raw.modal_secrets,
                        "setup" => &mut raw.setup,
                        _ => &mut raw.apt,
                    };
                    *slot = Some(list);
                }
                "index-url" => raw.index_url = Some(text()?),
                "cuda" => raw.cuda = Some(text()?),
                "env" => {
                    let wrong = || {
                        Error::usage(format!(
                            "`env` in {where_} must be a table of NAME = \"value\" strings, as env = {{ KERAS_BACKEND = \"jax\" }}"
                        ))
                    };
                    let table = item.as_table_like().ok_or_else(wrong)?;
                    let mut env = std::collections::BTreeMap::new();
                    for (name, value) in table.iter() {
                        let value = value.as_str().ok_or_else(wrong)?;
                        env.insert(name.to_string(), value.to_string());
                    }
                    raw.env = Some(env);
                }
                "submodules" => {
                    raw.submodules = Some(item.as_bool().ok_or_else(|| {
                        Error::usage(format!("`submodules` in {where_} must be true or false"))
                    })?)
                }
                "fork-prs" | "allow-no-tests" => {
                    let flag = item.as_bool().ok_or_else(|| {
                        Error::usage(format!("`{key}` in {where_} must be true or false"))
                    })?;
                    if key == "fork-prs" {
                        raw.fork_prs = Some(flag);
                    } else {
                        raw.allow_no_tests = Some(flag);
                    }
                }
                "shards" => {
                    let shards = item
                        .as_integer()
                        .and_then(|n| u32::try_from(n).ok())
                        .filter(|n| (1..=MAX_SHARDS).contains(n));
                    raw.shards = Some(shards.ok_or_else(|| {
                        Error::usage(format!(
                            "`shards` in {where_} must be a whole number from 1 to {MAX_SHARDS}"
                        ))
                    })?)
                }
                "timeout" => {
                    let seconds = item
                        .as_integer()
                        .and_then(|n| u32::try_from(n).ok())
                        .filter(|n| *n > 0);
                    raw.timeout = Some(seconds.ok_or_else(|| {
                        Error::usage(format!(
                            "`timeout` in {where_} must be a positive number of seconds"
                        ))
                    })?)
                }
                "max-cost" => {
                    let dollars = item
                        .as_float()
                        .or_else(|| item.as_integer().map(|n| n as f64))
                        .and_then(|d| check_max_cost(d).ok());
                    raw.max_cost = Some(dollars.ok_or_else(|| {
                        Error::usage(format!(
                            "`max-cost` in {where_} must be an amount of US dollars above 0 and at most {MAX_COST_LIMIT}, as `max-cost = 2.5`"
                        ))
                    })?)
                }
                "cache" => {
                    let wrong = || {
                        Error::usage(format!(
                            "`cache` in {where_} must be true, false or a list of absolute container paths, as `cache = [\"/root/.cache/torch_extensions\"]`"
                        ))
                    };
                    raw.cache = Some(match item.as_bool() {
                        Some(on) => CacheSetting {
                            enabled: on,
                            paths: Vec::new(),
                        },
                        None => {
                            let paths = string_list(item).ok_or_else(wrong)?;
                            check_cache_paths(&paths)
                                .map_err(|msg| Error::usage(format!("`cache` in {where_}: {msg}")))?;
                            CacheSetting {
                                enabled: true,
                                paths,
                            }
                        }
                    });
                }
                unknown => {
                    let mut err = Error::usage(format!("unknown key `{unknown}` in {where_}"));
                    err = match closest(unknown, KEYS) {
                        Some(near) => err.with_help(format!("did you mean `{near}`?")),
                        None => err.with_help(format!("valid keys: {}", KEYS.join(", "))),
                    };
                    return Err(err);
                }
            }
        }
        Ok(raw)
    }

    /// Replaces the section with `settings`, leaving the rest of the document as it was.
    pub fn write(&mut self, settings: &RawConfig) -> Result<()> {
        // A comment block at the end of the file (a commented-out `dependencies = [...]`) is the
        // document's trailing text, printed after every table: a new `[tool.gpu-ci]` would
        // come before it and take it in, where uncommenting it is an unknown key. It stays in
        // the table it was written in, and the new table follows it.
        let new_section = self.name == PYPROJECT
            && !self
                .doc
                .get("tool")
                .and_then(Item::as_table_like)
                .is_some_and(|tool| tool.contains_key("gpu-ci"));
        let trailing = self
            .doc
            .trailing()
            .as_str()
            .filter(|text| new_section && !text.trim().is_empty())
            .map(str::to_string);
        if trailing.is_some() {
            self.doc.set_trailing("");
        }
        let section: &mut Table = if self.name == PYPROJECT {
            let tool = self.doc.entry("tool").or_insert_with(|| {
                let mut table = Table::new();
                table.set_implicit(true);
                Item::Table(table)
            });
            // `open` refused every other shape.
            let shape = || Error::internal("`tool.gpu-ci` is not a table after `open`");
            tool.as_table_mut()
                .ok_or_else(shape)?
                .entry("gpu-ci")
                .or_insert_with(|| Item::Table(Table::new()))
                .as_table_mut()
                .ok_or_else(shape)?
        } else {
            self.doc.as_table_mut()
        };
        if let Some(trailing) = trailing {
            let gap = if trailing.ends_with('\n') {
                "\n"
            } else {
                "\n\n"
            };
            section.decor_mut().set_prefix(format!("{trailing}{gap}"));
        }
        let mut set = |key: &str, item: Option<Item>| match item {
            Some(item) => {
                // Keep the key's position and any comment the user put beside it.
                match section.get_mut(key) {
                    Some(existing) if existing.is_value() => {
                        let decor = existing.as_value().map(|v| v.decor().clone());
                        *existing = item;
                        if let (Some(decor), Some(v)) = (decor, existing.as_value_mut()) {
                            *v.decor_mut() = decor;
                        }
                    }
                    _ => {
                        section.insert(key, item);
                    }
                }
            }
            None => {
                section.remove(key);
            }
        };
        let text = |v: &Option<String>| v.as_ref().map(|s| value(s.as_str()));
        let gpu_list = settings.gpu_list.as_ref().map(|entries| {
            let list: toml_edit::Array = entries.iter().map(String::as_str).collect();
            value(list)
        });
        set("gpu", gpu_list.or_else(|| text(&settings.gpu)));
        set("python", text(&settings.python));
        set("test-path", text(&settings.test_path));
        set("pytest-args", text(&settings.pytest_args));
        set("label", text(&settings.label));
        set("group", text(&settings.group));
        set("extra", text(&settings.extra));
        set("requirements", text(&settings.requirements));
        set("fork-prs", settings.fork_prs.map(value));
        set("timeout", settings.timeout.map(|t| value(i64::from(t))));
        set("max-cost", settings.max_cost.map(value));
        set(
            "cache",
            settings.cache.as_ref().map(|cache| {
                if cache.paths.is_empty() {
                    value(cache.enabled)
                } else {
                    value(cache.paths.iter().collect::<toml_edit::Array>())
                }
            }),
        );
        set("base-image", text(&settings.base_image));
        set("framework", text(&settings.framework));
        set("allow-no-tests", settings.allow_no_tests.map(value));
        set("branch", text(&settings.branch));
        set("image-builder", text(&settings.image_builder));
        set("install-project", text(&settings.install_project));
        set("environment", text(&settings.environment));
        set(
            "ci",
            settings
                .ci
                .as_ref()
                .map(|names| value(names.iter().collect::<toml_edit::Array>())),
        );
        set("shards", settings.shards.map(|n| value(i64::from(n))));
        let list = |v: &Option<Vec<String>>| {
            v.as_ref()
                .map(|items| value(items.iter().collect::<toml_edit::Array>()))
        };
        set("packages", list(&settings.packages));
        set("index-url", text(&settings.index_url));
        set("extra-index-urls", list(&settings.extra_index_urls));
        set("modal-secrets", list(&settings.modal_secrets));
        set("setup", list(&settings.setup));
        set("apt", list(&settings.apt));
        set("submodules", settings.submodules.map(value));
        set("cuda", text(&settings.cuda));
        match &settings.env {
            None => {
                section.remove("env");
            }
            Some(env) => set_string_table(section, "env", env),
        }
        if settings.actions.is_empty() {
            section.remove("actions");
        } else {
            set_string_table(section, "actions", &settings.actions);
        }
        Ok(())
    }

    /// The file's new text: its byte-order mark and line endings as they were.
    pub fn render(&self) -> String {
        let (_, original) = newlines::strip_bom(self.original.as_deref().unwrap_or_default());
        let text = newlines::keep_line_endings(original, &self.doc.to_string());
        newlines::with_bom(self.bom, text)
    }
}

/// Writes `entries` as the table `key`: an existing table (a `[section]` or an inline one)
/// keeps its place, and each kept entry the comments around it; a new one is a `[section]`.
fn set_string_table(
    section: &mut Table,
    key: &str,
    entries: &std::collections::BTreeMap<String, String>,
) {
    if let Some(table) = section.get_mut(key).and_then(Item::as_table_like_mut) {
        let stale: Vec<String> = table
            .iter()
            .map(|(name, _)| name.to_string())
            .filter(|name| !entries.contains_key(name))
            .collect();
        for name in stale {
            table.remove(&name);
        }
        for (name, text) in entries {
            match table.get_mut(name).and_then(Item::as_value_mut) {
                Some(existing) => {
                    let decor = existing.decor().clone();
                    *existing = text.as_str().into();
                    *existing.decor_mut() = decor;
                }
                None => {
                    table.insert(name, value(text.as_str()));
                }
            }
        }
    } else {
        let mut table = Table::new();
        for (name, text) in entries {
            table.insert(name, value(text.as_str()));
        }
        section.insert(key, Item::Table(table));
    }
}

/// `cache`: whether the download caches live on a Modal Volume, and the container folders
/// kept there besides the frameworks' own (issue 26).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CacheSetting {
    pub enabled: bool,
    /// Absolute container paths, each checked by [`check_cache_path`].
    pub paths: Vec<String>,
}

/// The most folders `cache` may list.
pub const MAX_CACHE_PATHS: usize = 16;

/// The container folders a `cache` path may not be, or be inside: the system's, and gpu-ci's
/// own (the project, the runner's script, the outputs, the volume itself).
const CACHE_PATH_REFUSED: &[&str] = &[
    "/proc",
    "/sys",
    "/dev",
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
    "/usr",
    "/etc",
    "/boot",
    "/run",
    "/gpu-ci",
    "/gpu-ci-cache",
    "/root/project",
    "/tmp/gpu-ci-outputs",
];

/// One `cache` path: absolute, plain (no `.`, `..`, `//` or trailing `/`), of letters, digits
/// and `._-+@~/` only (it reaches Python source and a shell line), not `/` and not in a folder
/// of [`CACHE_PATH_REFUSED`].
pub fn check_cache_path(path: &str) -> std::result::Result<(), String> {
    let shown = path;
    if !path.starts_with('/') {
        return Err(format!(
            "`{shown}` is not an absolute container path (start it with `/`, as `/root/.cache/torch_extensions`)"
        ));
    }
    if path.len() > 200 {
        return Err(format!("`{shown}` is longer than 200 characters"));
    }
    if let Some(bad) = path
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._-+@~/".contains(*c)))
    {
        return Err(format!(
            "`{shown}` holds {bad:?}; a cache path takes letters, digits and `._-+@~/` only"
        ));
    }
    let parts: Vec<&str> = path[1..].split('/').collect();
    if path == "/"
        || parts
            .iter()
            .any(|p| p.is_empty() || *p == "." || *p == "..")
    {
        return Err(format!(
            "`{shown}` is not a plain folder path (no `.` or `..` parts, no empty part, no trailing `/`, not `/`)"
        ));
    }
    if let Some(refused) = CACHE_PATH_REFUSED
        .iter()
        .find(|r| path == **r || path.starts_with(&format!("{r}/")))
    {
        return Err(format!(
            "`{shown}` is in `{refused}`, which the container or gpu-ci needs as it is"
        ));
    }
    Ok(())
}

/// Every `cache` path checked, at most [`MAX_CACHE_PATHS`], none twice.
pub fn check_cache_paths(paths: &[String]) -> std::result::Result<(), String> {
    if paths.len() > MAX_CACHE_PATHS {
        return Err(format!(
            "{} paths; at most {MAX_CACHE_PATHS} are taken",
            paths.len()
        ));
    }
    for (i, path) in paths.iter().enumerate() {
        check_cache_path(path)?;
        if paths[..i].contains(path) {
            return Err(format!("`{path}` is listed twice"));
        }
    }
    Ok(())
}

/// `max-cost` as given (a flag or the config): a finite amount above 0, at most
/// [`MAX_COST_LIMIT`].
pub fn check_max_cost(dollars: f64) -> std::result::Result<f64, String> {
    if dollars.is_finite() && dollars > 0.0 && dollars <= MAX_COST_LIMIT {
        Ok(dollars)
    } else {
        Err(format!(
            "max-cost `{dollars}` is not an amount of US dollars above 0 and at most {MAX_COST_LIMIT}"
        ))
    }
}

fn string_list(item: &Item) -> Option<Vec<String>> {
    item.as_array()?
        .iter()
        .map(|entry| entry.as_str().map(str::to_string))
        .collect()
}

/// An example entry of a list key, for its type error.
fn example(key: &str) -> &'static str {
    match key {
        "packages" => "torchao>=0.10",
        "extra-index-urls" => "https://download.pytorch.org/whl/cu128",
        "modal-secrets" => "huggingface",
        "setup" => "python build_lib.py",
        _ => "libgl1",
    }
}

/// Refuses the shapes of `tool` and `tool.gpu-ci` that gpu-ci cannot keep its settings in,
/// before any command reads or writes them.
fn check_shape(doc: &DocumentMut) -> Result<()> {
    let help = "write gpu-ci's settings as a `[tool.gpu-ci]` section of `key = value` lines";
    let Some(tool) = doc.get("tool") else {
        return Ok(());
    };
    let tool = match tool {
        Item::Table(table) => table,
        Item::Value(toml_edit::Value::InlineTable(_)) => {
            return Err(Error::usage(
                "`tool` in pyproject.toml is an inline table (`tool = {…}`), which gpu-ci cannot add its section to",
            )
            .with_help("write each tool's settings as a `[tool.NAME]` section"));
        }
        other => {
            return Err(Error::usage(format!(
                "`tool` in pyproject.toml is {}, not a table of tools' settings",
                a_type(other)
            ))
            .with_help("remove it, or make it `[tool.NAME]` sections"));
        }
    };
    match tool.get("gpu-ci") {
        None | Some(Item::Table(_)) => Ok(()),
        Some(Item::Value(toml_edit::Value::InlineTable(_))) => Err(Error::usage(
            "`tool.gpu-ci` in pyproject.toml is an inline table (`gpu-ci = {…}`); gpu-ci keeps its settings only in a `[tool.gpu-ci]` section",
        )
        .with_help(help)),
        Some(Item::ArrayOfTables(_)) => Err(Error::usage(
            "`[[tool.gpu-ci]]` in pyproject.toml is an array of tables; gpu-ci's settings are one `[tool.gpu-ci]` section",
        )
        .with_help(help)),
        Some(other) => Err(Error::usage(format!(
            "`tool.gpu-ci` in pyproject.toml is {}, not a table of settings",
            a_type(other)
        ))
        .with_help(help)),
    }
}

/// `an integer`, `an array`, … for a message.
fn a_type(item: &Item) -> String {
    let name = item.type_name();
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {name}")
}

/// The nearest valid key, when the typo is small enough to be one.
fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (levenshtein(word, c), *c))
        .filter(|(distance, c)| *distance <= 2.max(c.len() / 3))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_key_for_typos() {
        assert_eq!(closest("pytest_args", KEYS), Some("pytest-args"));
        let typed: Vec<&str> = KEY_TYPES.iter().map(|(key, _, _)| *key).collect();
        assert_eq!(typed, KEYS, "KEY_TYPES names every key of KEYS, in order");
        assert_eq!(closest("gpus", KEYS), Some("gpu"));
        assert_eq!(closest("zzzzzzzz", KEYS), None);
    }

    #[test]
    fn writing_keeps_other_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let original = "[project]\nname = \"x\"  # keep me\n\n[tool.ruff]\nline-length = 100\n";
        std::fs::write(dir.path().join(PYPROJECT), original).unwrap();
        let mut file = ConfigFile::open(dir.path()).unwrap();
        file.write(&RawConfig {
            gpu: Some("L4".into()),
            ..RawConfig::default()
        })
        .unwrap();
        let text = file.render();
        assert!(text.starts_with(original), "{text}");
        assert!(text.ends_with("\n[tool.gpu-ci]\ngpu = \"L4\"\n"), "{text}");
    }
}
