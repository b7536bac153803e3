//! The Modal test runner every CI target runs, in files by where they run: `test_runner.py`,
//! the trusted side next to the Modal token (the image, the sandboxes, the read-back);
//! `in_container.py`, the one file the sandbox gets (the GPU report, pytest, the plugin);
//! `gpu_ci_results.py`, pure functions both the trusted side and `local_run.py` use (JUnit, the
//! split, the merge, the summary); and `local_run.py`, what `gpu-ci run --local` runs.

use serde::Serialize;

use super::{GeneratedFile, Header, RunSettings};
use crate::pins::{POETRY_VERSION, UV_VERSION};
use crate::plan::TestPlan;
use crate::plan::gpu::{GPU_PRICES_DATE, GPU_TYPES};
use crate::plan::install::{InstallPlan, ProjectInstall};
use crate::plan::recipe::{self, Cuda, Package};
use crate::plan::values::{MAX_RUNS, MAX_SHARDS};
use crate::project::{Framework, Layout};

/// The trusted side: `modal run .modal/test_runner.py`, as every workflow calls it.
pub const RUNNER: GeneratedFile = GeneratedFile {
    path: ".modal/test_runner.py",
    template: "modal/test_runner.py.j2",
};

/// What runs in the sandbox, next to the code under test.
pub const IN_CONTAINER: GeneratedFile = GeneratedFile {
    path: ".modal/in_container.py",
    template: "modal/in_container.py.j2",
};

/// Pure functions of bytes both sides use; a name no project's module is likely to have.
pub const RESULTS: GeneratedFile = GeneratedFile {
    path: ".modal/gpu_ci_results.py",
    template: "modal/gpu_ci_results.py.j2",
};

/// `gpu-ci run --local`: the tests on this machine, with no Modal client.
pub const LOCAL_RUN: GeneratedFile = GeneratedFile {
    path: ".modal/local_run.py",
    template: "modal/local_run.py.j2",
};

pub const FILES: [GeneratedFile; 4] = [RUNNER, IN_CONTAINER, RESULTS, LOCAL_RUN];

/// What the runner was before issue 27: the trusted side and one file that held the sandbox's
/// part, the shared results and `--local`. `update` migrates a project from it.
pub const OLD_LAYOUT: [&str; 2] = [RUNNER.path, IN_CONTAINER.path];

/// Whether a lock's files are the old layout's: the runner without its shared results file.
pub fn is_old_layout(files: &[String]) -> bool {
    files.iter().any(|f| f == IN_CONTAINER.path) && !files.iter().any(|f| f == RESULTS.path)
}

/// `uv sync` from the project's metadata.
#[derive(Debug, Serialize)]
struct UvLayer {
    groups: Vec<String>,
    extras: Vec<String>,
    /// `uv sync --frozen` from uv.lock; without one, `uv pip install` for the image alone.
    locked: bool,
}

/// `poetry install --no-root` from the project's metadata.
#[derive(Debug, Serialize)]
struct PoetryLayer {
    groups: Vec<String>,
    lock: bool,
}

/// `uv pip install -r` from requirements files.
#[derive(Debug, Serialize)]
struct RequirementsLayer {
    /// The files `-r` names.
    install: Vec<String>,
    /// Those and every file they include: copied into the image.
    files: Vec<String>,
}

/// The image recipe's keys (issue 21), as the runner uses them.
#[derive(Debug, Serialize)]
struct RecipeLayer {
    /// Extra requirements, installed with the dependencies' indexes after them.
    packages: Vec<String>,
    /// `packages`' subprojects of the tree (`./DIR`): the shell commands that build and install
    /// each, with its dependencies, from the tree's copy in the image.
    local_installs: Vec<String>,
    /// uv's index options, word by word: `--index-url URL`, `--extra-index-url URL`… and the
    /// index strategy; empty when PyPI alone serves.
    index_args: Vec<String>,
    /// Environment of the image build and the tests.
    env: std::collections::BTreeMap<String, String>,
    /// Modal secrets attached to the test sandbox, by name.
    modal_secrets: Vec<String>,
    /// Commands run in the image after the dependencies, in the tree's copy (with the CUDA arch
    /// list exported first for a CUDA build).
    setup: Vec<String>,
    /// Debian packages, after git.
    apt: Vec<String>,
    /// The CUDA of the image's toolkit, for the runner's header and the GPU report.
    cuda: Option<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct Context {
    header: Header,
    /// The GPU, shards (per GPU of a matrix, each in a sandbox), Python and selection.
    #[serde(flatten)]
    run: RunSettings,
    max_shards: u32,
    /// The most sandboxes a run starts at once: GPUs × shards.
    max_runs: u32,
    framework: &'static str,
    /// The framework's CUDA build, where its default wheel is CPU-only or the chosen install
    /// does not bring it (a project whose own CI installs torch).
    framework_packages: Vec<&'static str>,
    /// What the project's build needs, installed so that building it takes no isolation.
    build_requires: Vec<String>,
    /// Install the project (editable, no dependencies) from the mounted tree at start.
    install_at_start: bool,
    /// The command that installs the project in the image, from a copy of the tree, run in it.
    install_in_image: Option<String>,
    /// Whether the image has build steps in a copy of the tree (the project's own build,
    /// subprojects in `packages`, `setup`): the copy is then part of the image.
    builds_in_copy: bool,
    timeout: u32,
    /// `max-cost` in USD (`None`: no budget), which the runner turns into the deadline for the
    /// GPUs and shards of the run as it starts.
    max_cost: Option<f64>,
    /// The shortest deadline a budget may leave.
    min_budget_seconds: u32,
    /// `cache`: the volume of the download caches; `None`: no cache.
    cache: Option<CacheContext>,
    allow_no_tests: bool,
    base_image: Option<String>,
    import_paths: Vec<&'static str>,
    /// Whether the image reads pyproject.toml for the dependency layer.
    dependency_metadata: bool,
    /// The other files of the tree the dependency layer reads: a lock, or requirements files.
    metadata_files: Vec<String>,
    /// At most one of these is set: how the dependency layer installs.
    uv: Option<UvLayer>,
    poetry: Option<PoetryLayer>,
    requirements: Option<RequirementsLayer>,
    uv_version: &'static str,
    poetry_version: &'static str,
    gpu_prices: Vec<(&'static str, f64)>,
    prices_date: &'static str,
    app_name: String,
    recipe: RecipeLayer,
}

pub fn framework_packages(framework: Framework, declared: bool) -> Vec<&'static str> {
    match framework {
        Framework::Jax => vec!["jax[cuda12]"],
        Framework::Tensorflow => vec!["tensorflow[and-cuda]"],
        // PyPI's Linux wheels of torch are CUDA builds; installing one already there does nothing.
        Framework::Torch if !declared => vec!["torch"],
        Framework::Cupy if !declared => vec!["cupy-cuda12x"],
        Framework::Torch | Framework::Cupy | Framework::None => Vec::new(),
    }
}

/// CuPy's wheels load the CUDA libraries from the system, and CUDA extensions need nvcc to
/// build; the others bring their own libraries.
fn default_base_image(framework: Framework, toolkit: Option<Cuda>) -> Option<String> {
    match framework {
        _ if toolkit.is_some() => toolkit.map(Cuda::devel_image),
        Framework::Cupy => Some("nvidia/cuda:12.8.1-runtime-ubuntu24.04".into()),
        _ => None,
    }
}

/// The CUDA toolkit the image holds: the `cuda` key's, else the default one for a project that
/// compiles CUDA code; `None` for an image without nvcc.
pub fn toolkit(plan: &TestPlan, builds_cuda: bool) -> Option<Cuda> {
    plan.recipe.cuda.value.or_else(|| {
        builds_cuda.then(|| Cuda::parse(recipe::DEFAULT_CUDA).expect("the default CUDA is known"))
    })
}

/// uv's index options for the dependency layer and `packages`: the configured indexes and, for
/// an image with a CUDA toolkit and torch, PyTorch's wheel index of that CUDA (asked first, so
/// torch matches the toolkit). The strategy is uv's `first-index`, written out: each package
/// comes from the first index that has it, never from whichever index offers the highest
/// version (`unsafe-best-match`), which would let anyone who publishes a name on PyPI replace a
/// package of another index (dependency confusion).
pub fn index_args_of(plan: &TestPlan) -> Vec<String> {
    let builds_cuda = plan.builds_cuda && plan.install_project.value == ProjectInstall::InImage;
    let torch_index = toolkit(plan, builds_cuda)
        // A base image of the maintainer's has the CUDA only the `cuda` key can say.
        .filter(|_| {
            plan.framework.value == Framework::Torch
                && (plan.base_image.value.is_none() || plan.recipe.cuda.value.is_some())
        })
        .map(Cuda::torch_index);
    let recipe = &plan.recipe;
    let mut args = Vec::new();
    if let Some(url) = &recipe.index_url.value {
        args.extend(["--index-url".to_string(), url.clone()]);
    }
    // uv asks the extra indexes before --index-url, the later ones first.
    for url in recipe
        .extra_index_urls
        .value
        .iter()
        .cloned()
        .chain(torch_index)
    {
        if !args.contains(&url) {
            args.extend(["--extra-index-url".to_string(), url]);
        }
    }
    if !args.is_empty() {
        args.extend(["--index-strategy".to_string(), "first-index".to_string()]);
    }
    args
}

/// The compute capabilities of the configured GPUs, for `TORCH_CUDA_ARCH_LIST`: a CUDA
/// extension built in the image runs on these (and, through PTX, on newer ones).
fn cuda_arch_list(plan: &TestPlan) -> String {
    let archs: Vec<String> = plan
        .capabilities()
        .iter()
        .map(|(major, minor)| format!("{major}.{minor}"))
        .collect();
    format!("{}+PTX", archs.join(";"))
}

/// The shell command that installs the project in the image, from the tree's copy it runs in.
fn install_in_image(plan: &TestPlan) -> Option<String> {
    if plan.install_project.value != ProjectInstall::InImage {
        return None;
    }
    let uv = "/.uv/uv pip install --python \"$(command -v python)\" --no-build-isolation";
    let command = match &plan.install {
        // The dependencies come with the project: only its build knows them.
        InstallPlan::Source { extras } if !extras.is_empty() => {
            format!(
                "{uv} -e {}",
                crate::args::quote(&format!(".[{}]", extras.join(",")))
            )
        }
        InstallPlan::Source { .. } => format!("{uv} -e ."),
        _ => format!("{uv} --no-deps -e ."),
    };
    Some(command)
}

/// The shell commands that install `packages`' subprojects of the tree (`./DIR[extras]`), from
/// the tree's copy they run in, with the image's indexes: each path and extra was checked to be
/// plain names, and is quoted all the same.
fn local_installs(plan: &TestPlan) -> Vec<String> {
    let index_args: Vec<String> = index_args_of(plan)
        .iter()
        .map(|arg| crate::args::quote(arg))
        .collect();
    plan.recipe
        .packages
        .value
        .iter()
        .filter(|package| matches!(package, Package::Local { .. }))
        .map(|package| {
            let mut command = "/.uv/uv pip install --python \"$(command -v python)\"".to_string();
            for arg in &index_args {
                command.push(' ');
                command.push_str(arg);
            }
            command.push(' ');
            command.push_str(&crate::args::quote(&package.to_string()));
            command
        })
        .collect()
}

/// `My_Project` → `my-project-gpu-tests`: a name Modal accepts.
fn app_name(project_name: &str) -> String {
    let slug: String = project_name
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

/// The cache volume as the runner mounts it (issue 26).
#[derive(Debug, Serialize)]
pub struct CacheContext {
    /// The volume's name (plan::cache::volume_name).
    volume: String,
    /// Where it is mounted in the sandbox.
    mount: &'static str,
    /// Each cache variable and its folder on the volume.
    variables: Vec<(&'static str, &'static str)>,
    /// More container folders kept on the volume (`cache = [...]`).
    paths: Vec<String>,
    /// The compiler cache's volume, for the image's build steps.
    ccache_volume: String,
}

fn cache_context(plan: &TestPlan) -> Option<CacheContext> {
    use crate::plan::cache;
    plan.cache.value.enabled.then(|| CacheContext {
        volume: cache::volume_name(&plan.project_name),
        mount: cache::MOUNT,
        variables: cache::VARIABLES
            .iter()
            .map(|(name, folder, _)| (*name, *folder))
            .collect(),
        paths: plan.cache.value.paths.clone(),
        ccache_volume: cache::ccache_volume_name(&plan.project_name),
    })
}

pub fn context(plan: &TestPlan) -> Context {
    let framework = plan.framework.value;
    let (mut uv, mut poetry, mut requirements) = (None, None, None);
    match &plan.install {
        InstallPlan::Uv {
            groups,
            extras,
            locked,
        } => {
            uv = Some(UvLayer {
                groups: groups.clone(),
                extras: extras.clone(),
                locked: *locked,
            })
        }
        InstallPlan::Poetry { groups, locked } => {
            poetry = Some(PoetryLayer {
                groups: groups.clone(),
                lock: *locked,
            })
        }
        InstallPlan::Requirements { install, files } => {
            requirements = Some(RequirementsLayer {
                install: install.clone(),
                files: files.clone(),
            })
        }
        InstallPlan::Source { .. } | InstallPlan::Nothing => {}
    }
    let builds_cuda = plan.builds_cuda && plan.install_project.value == ProjectInstall::InImage;
    let toolkit = toolkit(plan, builds_cuda);
    let env = plan.recipe.env.value.clone();
    // The arch list every torch extension build reads, for the build steps only (a GPU change
    // then rebuilds no dependency), unless `env` sets it.
    // The project's own arch lists too (`FLASH_ATTN_CUDA_ARCHS`), in the form their
    // defaults take (see `EnvRead::arch_value`).
    let build_env = builds_cuda.then(|| {
        let mut exports = String::new();
        if !env.contains_key("TORCH_CUDA_ARCH_LIST") {
            exports.push_str(&format!(
                "export TORCH_CUDA_ARCH_LIST={} && ",
                crate::args::quote(&cuda_arch_list(plan))
            ));
        }
        for (name, value) in &plan.arch_lists {
            exports.push_str(&format!("export {name}={} && ", crate::args::quote(value)));
        }
        exports
    });
    let in_copy = |command: &str| format!("{}{command}", build_env.as_deref().unwrap_or_default());
    let recipe = RecipeLayer {
        packages: plan
            .recipe
            .packages
            .value
            .iter()
            .filter_map(Package::requirement)
            .map(ToString::to_string)
            .collect(),
        local_installs: local_installs(plan)
            .iter()
            .map(|command| in_copy(command))
            .collect(),
        index_args: index_args_of(plan),
        env,
        modal_secrets: plan.recipe.modal_secrets.value.clone(),
        setup: plan.recipe.setup.value.iter().map(|c| in_copy(c)).collect(),
        // The image installs git itself (the runner's checkout needs it).
        apt: plan
            .recipe
            .apt
            .value
            .iter()
            .filter(|package| *package != "git")
            .cloned()
            .collect(),
        cuda: toolkit.map(|cuda| cuda.version),
    };
    let build_requires = match plan.install_project.value {
        ProjectInstall::No => Vec::new(),
        _ => plan.build_requires.clone(),
    };
    Context {
        header: Header::new(plan),
        run: RunSettings::new(plan),
        max_shards: MAX_SHARDS,
        max_runs: MAX_RUNS,
        framework: framework.name(),
        framework_packages: framework_packages(framework, plan.framework_declared),
        build_requires,
        install_at_start: plan.install_project.value == ProjectInstall::AtStart,
        install_in_image: install_in_image(plan).map(|c| in_copy(&c)),
        builds_in_copy: install_in_image(plan).is_some()
            || !recipe.setup.is_empty()
            || !recipe.local_installs.is_empty(),
        timeout: plan.timeout.value,
        max_cost: plan.max_cost.value,
        min_budget_seconds: crate::plan::budget::MIN_BUDGET_SECONDS,
        cache: cache_context(plan),
        allow_no_tests: plan.allow_no_tests.value,
        base_image: plan
            .base_image
            .value
            .clone()
            .or_else(|| default_base_image(framework, toolkit)),
        import_paths: match plan.layout {
            Layout::Src => vec!["src"],
            Layout::Flat => vec!["."],
        },
        dependency_metadata: uv.is_some() || poetry.is_some(),
        metadata_files: match &plan.install {
            InstallPlan::Uv { locked: true, .. } => vec!["uv.lock".into()],
            InstallPlan::Poetry { locked: true, .. } => vec!["poetry.lock".into()],
            InstallPlan::Requirements { files, .. } => files.clone(),
            InstallPlan::Uv { .. }
            | InstallPlan::Poetry { .. }
            | InstallPlan::Source { .. }
            | InstallPlan::Nothing => Vec::new(),
        },
        uv,
        poetry,
        requirements,
        uv_version: UV_VERSION,
        poetry_version: POETRY_VERSION,
        gpu_prices: GPU_TYPES.to_vec(),
        prices_date: GPU_PRICES_DATE,
        app_name: app_name(&plan.project_name),
        recipe,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_names_are_slugs() {
        assert_eq!(app_name("My_Project"), "my-project-gpu-tests");
        assert_eq!(app_name("--"), "gpu-ci-tests");
    }
}
