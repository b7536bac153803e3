//! The minijinja environment over the embedded `templates/`, and the files it renders.

use include_dir::{Dir, include_dir};
use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;

use crate::actions::{MODAL_CLIENT_VERSION, PINNED_ACTIONS, POETRY_VERSION, UV_VERSION};
use crate::detect::{Framework, InstallSource, Layout, Project, requirements};
use crate::error::{Error, Result};
use crate::gpu::{GPU_PRICES_DATE, GPU_TYPES};
use crate::settings::Settings;

static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// Every file gpu-ci generates, and the template it comes from.
pub const GENERATED: [(&str, &str); 4] = [
    (
        ".github/workflows/_modal-gpu-tests.yml",
        "github/_modal-gpu-tests.yml.j2",
    ),
    (
        ".github/workflows/label-gpu-tests.yml",
        "github/label-gpu-tests.yml.j2",
    ),
    (
        ".github/workflows/run-gpu-tests.yml",
        "github/run-gpu-tests.yml.j2",
    ),
    (".modal/test_runner.py", "modal/test_runner.py.j2"),
];

/// Where gpu-ci keeps what it rendered last: its version and the template context.
pub const LOCK: &str = ".github/gpu-ci.lock";

/// Every generated file carries the hash of what gpu-ci wrote, after this mark.
const HASH_MARK: &str = "gpu-ci-hash: ";
const HASH_PLACEHOLDER: &str = "0000000000000000";

/// FNV-1a: stable across versions and platforms, which is all an edit check needs.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The hash of `text` with its recorded hash blanked: equal to the recorded one while the
/// file is as gpu-ci wrote it.
pub fn content_hash(text: &str) -> String {
    let normalised = match text.find(HASH_MARK) {
        Some(at) => {
            let value = at + HASH_MARK.len();
            let end = (value + HASH_PLACEHOLDER.len()).min(text.len());
            format!("{}{HASH_PLACEHOLDER}{}", &text[..value], &text[end..])
        }
        None => text.to_string(),
    };
    format!("{:016x}", fnv1a(&normalised.replace("\r\n", "\n")))
}

/// The hash a file says gpu-ci wrote, if its header still says so.
pub fn recorded_hash(text: &str) -> Option<&str> {
    let at = text.find(HASH_MARK)? + HASH_MARK.len();
    let value = text.get(at..at + HASH_PLACEHOLDER.len())?;
    value
        .chars()
        .all(|c| c.is_ascii_hexdigit())
        .then_some(value)
}

/// Writes the content hash into a freshly rendered file.
fn stamp(text: String) -> String {
    let hash = content_hash(&text);
    text.replacen(
        &format!("{HASH_MARK}{HASH_PLACEHOLDER}"),
        &format!("{HASH_MARK}{hash}"),
        1,
    )
}

/// Where fork mode checks out the PR's tree, beside the trusted base checkout.
const FORK_TREE: &str = "pr-tree";

/// A JSON string is a valid YAML double-quoted scalar and a valid Python literal.
fn quote(value: Value) -> Result<String, minijinja::Error> {
    serde_json::to_string(&value).map_err(|err| {
        minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, err.to_string())
    })
}

/// A string literal inside a GitHub `${{ }}` expression.
fn squote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // `<{ }>`, `<% %>` and `<# #>` leave GitHub's `${{ }}` and shell's `${#x}` literal.
    env.set_syntax(
        SyntaxConfig::builder()
            .block_delimiters("<%", "%>")
            .variable_delimiters("<{", "}>")
            .comment_delimiters("<#", "#>")
            .build()
            .expect("the template delimiters are valid"),
    );
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env.set_loader(|name| {
        Ok(TEMPLATES
            .get_file(name)
            .and_then(|file| file.contents_utf8())
            .map(str::to_string))
    });
    env.add_filter("quote", quote);
    env.add_filter("squote", squote);
    env
}

#[derive(Serialize)]
struct InstallContext {
    /// `uv`, `poetry`, `requirements` or `none`.
    kind: &'static str,
    groups: Vec<String>,
    extras: Vec<String>,
    requirements: Vec<String>,
    /// The requirements files and everything they include: copied into the image.
    requirement_files: Vec<String>,
    poetry_lock: bool,
}

#[derive(Serialize)]
struct Context {
    version: &'static str,
    config_section: String,
    gpu_setting: String,
    gpu_display: String,
    python: String,
    test_path: String,
    pytest_args: String,
    label: String,
    branch: String,
    fork_prs: bool,
    fork_tree: &'static str,
    timeout: u32,
    job_timeout_minutes: u32,
    allow_no_tests: bool,
    framework: &'static str,
    framework_packages: Vec<&'static str>,
    base_image: Option<String>,
    import_paths: Vec<&'static str>,
    install: InstallContext,
    actions: std::collections::BTreeMap<&'static str, String>,
    modal_version: &'static str,
    uv_version: &'static str,
    poetry_version: &'static str,
    gpu_prices: Vec<(&'static str, f64)>,
    prices_date: &'static str,
    app_name: String,
}

fn install_context(settings: &Settings, project: &Project) -> InstallContext {
    let mut ctx = InstallContext {
        kind: "none",
        groups: Vec::new(),
        extras: Vec::new(),
        requirements: Vec::new(),
        requirement_files: Vec::new(),
        poetry_lock: project.has_poetry_lock,
    };
    let is_poetry = project
        .pyproject
        .as_ref()
        .is_some_and(|p| !p.poetry_groups.is_empty() || p.poetry_python.is_some())
        && !project.has_pep621();
    match &settings.install {
        InstallSource::Group(name) => {
            ctx.kind = "uv";
            ctx.groups.push(name.clone());
        }
        InstallSource::Extra(name) => {
            ctx.kind = "uv";
            ctx.extras.push(name.clone());
        }
        InstallSource::PoetryGroup(name) => {
            ctx.kind = "poetry";
            ctx.groups.push(name.clone());
        }
        InstallSource::Requirements(path) => {
            ctx.kind = "requirements";
            // The project's own dependencies first, when they live in requirements.txt.
            if path != "requirements.txt"
                && project.requirements.iter().any(|r| r == "requirements.txt")
            {
                ctx.requirements.push("requirements.txt".into());
            }
            ctx.requirements.push(path.clone());
        }
        InstallSource::ProjectOnly if project.has_pep621() => ctx.kind = "uv",
        InstallSource::ProjectOnly if is_poetry => ctx.kind = "poetry",
        InstallSource::ProjectOnly => {
            if project.requirements.iter().any(|r| r == "requirements.txt") {
                ctx.kind = "requirements";
                ctx.requirements.push("requirements.txt".into());
            }
        }
    }
    for file in &ctx.requirements {
        for included in requirements::with_includes(&project.root, file) {
            if !ctx.requirement_files.contains(&included) {
                ctx.requirement_files.push(included);
            }
        }
    }
    ctx
}

/// Whether the image installs dependencies with `uv sync` (the only path a uv.lock pins).
pub fn syncs_with_uv(settings: &Settings, project: &Project) -> bool {
    install_context(settings, project).kind == "uv"
}

fn framework_packages(framework: Framework) -> Vec<&'static str> {
    match framework {
        Framework::Jax => vec!["jax[cuda12]"],
        Framework::Tensorflow => vec!["tensorflow[and-cuda]"],
        Framework::Torch | Framework::Cupy | Framework::None => Vec::new(),
    }
}

/// CuPy's wheels load the CUDA libraries from the system; the others bring their own.
fn default_base_image(framework: Framework) -> Option<String> {
    match framework {
        Framework::Cupy => Some("nvidia/cuda:12.8.1-runtime-ubuntu24.04".into()),
        _ => None,
    }
}

fn app_name(project: &Project) -> String {
    let name = project
        .pyproject
        .as_ref()
        .and_then(|p| p.name.clone())
        .or_else(|| {
            project
                .root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    let slug: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let slug = slug.trim_matches('-');
    if slug.is_empty() {
        "gpu-ci-tests".into()
    } else {
        format!("{slug}-gpu-tests")
    }
}

fn context(settings: &Settings, project: &Project, config_section: String) -> Context {
    let framework = settings.framework(project);
    Context {
        version: env!("CARGO_PKG_VERSION"),
        config_section,
        gpu_setting: settings.gpu.env_value(),
        gpu_display: settings.gpu.to_string(),
        python: settings.python.clone(),
        test_path: settings.test_path.clone(),
        pytest_args: settings.pytest_args.clone(),
        label: settings.label.clone(),
        branch: settings.branch.clone(),
        fork_prs: settings.fork_prs,
        fork_tree: FORK_TREE,
        timeout: settings.timeout,
        // The test timeout plus time to build the image and wait for a GPU.
        job_timeout_minutes: settings.timeout.div_ceil(60) + 30,
        allow_no_tests: settings.allow_no_tests,
        framework: framework.name(),
        framework_packages: framework_packages(framework),
        base_image: settings
            .base_image
            .clone()
            .or_else(|| default_base_image(framework)),
        import_paths: match project.layout {
            Layout::Src => vec!["src"],
            Layout::Flat => vec!["."],
        },
        install: install_context(settings, project),
        actions: PINNED_ACTIONS
            .iter()
            .map(|action| {
                let pin = settings.pin(action);
                (
                    action.key,
                    format!("{}@{} # {}", action.repo, pin.sha, pin.version),
                )
            })
            .collect(),
        modal_version: MODAL_CLIENT_VERSION,
        uv_version: UV_VERSION,
        poetry_version: POETRY_VERSION,
        gpu_prices: GPU_TYPES.to_vec(),
        prices_date: GPU_PRICES_DATE,
        app_name: app_name(project),
    }
}

/// One rendered file, relative to the project root.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub path: &'static str,
    pub contents: String,
}

/// The template context for `settings` on `project`: what the lock keeps, to re-render the base.
pub fn context_json(
    settings: &Settings,
    project: &Project,
    config_section: String,
) -> serde_json::Value {
    serde_json::to_value(context(settings, project, config_section))
        .expect("the template context serialises")
}

/// Renders every generated file and checks that each workflow parses as YAML.
pub fn render_all(
    settings: &Settings,
    project: &Project,
    config_section: String,
) -> Result<Vec<Rendered>> {
    render_context(&context_json(settings, project, config_section))
}

/// Renders every generated file from a template context, stamping each with its hash.
pub fn render_context(context: &serde_json::Value) -> Result<Vec<Rendered>> {
    let env = environment();
    let ctx = Value::from_serialize(context);
    GENERATED
        .iter()
        .map(|(path, template)| {
            let contents = env
                .get_template(template)
                .and_then(|t| t.render(&ctx))
                .map_err(|err| {
                    Error::usage(format!("internal error rendering `{template}`: {err:#}"))
                        .with_help("this is a bug in gpu-ci; please report it")
                })?;
            if path.ends_with(".yml") {
                serde_saphyr::from_str::<serde_json::Value>(&contents).map_err(|err| {
                    Error::usage(format!("internal error: `{path}` is not valid YAML: {err}"))
                        .with_help("this is a bug in gpu-ci; please report it")
                })?;
            }
            Ok(Rendered {
                path,
                contents: stamp(contents),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Template names of every embedded template.
    fn template_names() -> Vec<String> {
        let mut names = Vec::new();
        let mut stack = vec![&TEMPLATES];
        while let Some(dir) = stack.pop() {
            for file in dir.files() {
                names.push(file.path().to_string_lossy().replace('\\', "/"));
            }
            stack.extend(dir.dirs());
        }
        names.sort();
        names
    }

    #[test]
    fn every_template_loads() {
        let env = environment();
        let names = template_names();
        assert_eq!(names.len(), GENERATED.len());
        for name in names {
            env.get_template(&name)
                .unwrap_or_else(|err| panic!("{name}: {err:#}"));
        }
    }

    #[test]
    fn hash_notices_any_edit_but_not_its_own_value() {
        let stamped = stamp(format!("# {HASH_MARK}{HASH_PLACEHOLDER} note\nbody\n"));
        let recorded = recorded_hash(&stamped).unwrap().to_string();
        assert_ne!(recorded, HASH_PLACEHOLDER);
        assert_eq!(content_hash(&stamped), recorded);
        assert_ne!(content_hash(&stamped.replace("body", "b0dy")), recorded);
    }

    #[test]
    fn squote_doubles_quotes() {
        assert_eq!(squote("it's"), "'it''s'");
    }
}
