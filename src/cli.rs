//! Command-line types only: parsing, no decisions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::plan::choices::Choices;
use crate::ui::ColorChoice;

/// What ends a command's help: its own text, its examples, then its exit codes from the one
/// table in error.rs (`command` is its words after `gpu-ci`).
fn after_help(command: &str, text: &str, examples: &[(&str, &str)]) -> String {
    let mut out = String::new();
    if !text.is_empty() {
        out.push_str(text);
        out.push_str("\n\n");
    }
    if !examples.is_empty() {
        out.push_str("Examples:");
        for (line, what) in examples {
            out.push_str(&format!("\n  {line}\n      {what}"));
        }
        out.push_str("\n\n");
    }
    out.push_str(&crate::error::exit_codes_help(command));
    out
}

/// `gpu-ci 0.1.0 (templates 1a2b3c4d)`: the version and the template set it renders (a hash of
/// the embedded templates, from build.rs), so two binaries that say the same render the same.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (templates ",
    env!("GPU_CI_TEMPLATES"),
    ")"
);

/// Affordable GPU CI for Python projects on Modal's serverless GPUs.
///
/// `gpu-ci init` writes GitHub Actions workflows and a Modal test runner for the
/// project in the current folder; adding the `gpu-tests` label to a pull request
/// then runs its tests on a real NVIDIA GPU.
#[derive(Debug, Parser)]
#[command(
    name = "gpu-ci",
    version = VERSION,
    after_help = after_help("", "", &[
        ("gpu-ci init", "detect the project, ask what it cannot tell, write the files"),
        ("gpu-ci run --local", "run the GPU tests on this machine"),
    ])
)]
pub struct Cli {
    /// Run as if gpu-ci was started in DIR.
    #[arg(short = 'C', value_name = "DIR", global = true)]
    pub directory: Option<PathBuf>,

    /// When to colour messages (NO_COLOR, FORCE_COLOR and CLICOLOR_FORCE are honoured).
    #[arg(
        long,
        value_enum,
        value_name = "WHEN",
        default_value_t = ColorChoice::Auto,
        global = true,
        display_order = 900
    )]
    pub color: ColorChoice,

    /// Print errors only (and what the command is asked for on stdout).
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        display_order = 901
    )]
    pub quiet: bool,

    /// Print every note, also those about choices unchanged since the last init, saying why.
    #[arg(short, long, global = true, display_order = 902)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Detect the project's layout and write the GPU CI workflows and Modal runner.
    Init(InitArgs),
    /// Upgrade the generated files to the current templates and settings, keeping your edits.
    Update(UpdateArgs),
    /// Run the GPU tests now: on Modal, or on this machine with --local.
    Run(RunArgs),
    /// Pin every action the workflows use to a commit SHA, through GitHub's API.
    Pin(PinArgs),
    /// Show the resolved settings and where each came from (flag, config, detection, default).
    Config(ConfigArgs),
    /// Set up the GitHub repository: the label, the Modal secrets, variables.
    #[command(subcommand)]
    Github(GithubCommand),
    /// Check what a green GPU run needs, here and on GitHub, with a fix for each problem.
    Doctor(DoctorArgs),
    /// Record the test durations of a run's JUnit XML, which balance the shards.
    Durations(DurationsArgs),
    /// Show what the GPU runs cost, per trigger, GPU and month, from their artifacts on GitHub.
    Costs(CostsArgs),
    /// Show this repository's cache volumes on Modal (their names, scope and size), or clear them.
    Cache(CacheArgs),
    /// Print shell completions for bash, zsh, fish or PowerShell.
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one per subcommand with --out-dir.
    Man(ManArgs),
}

#[derive(Debug, Subcommand)]
pub enum GithubCommand {
    /// Create the label, set the MODAL_TOKEN_ID/MODAL_TOKEN_SECRET secrets and, if asked, the
    /// MODAL_GPU/MODAL_ENVIRONMENT variables and an environment, through GitHub's REST API.
    Setup(GithubSetupArgs),
}

const GITHUB_SETUP_HELP: &str = "\
The Modal token comes from MODAL_TOKEN_ID and MODAL_TOKEN_SECRET, else from the current profile
of ~/.modal.toml (MODAL_CONFIG_PATH; MODAL_PROFILE, else the profile with `active = true`, else
`default`). Secrets are sealed with the repository's public key before they leave this machine
and are never printed. Existing secrets are kept unless --replace-secrets; a second run changes
nothing.

Environment:
  GITHUB_TOKEN, GH_TOKEN a token that may administer the repository (fine-grained: Secrets,
                         Variables, Issues: write; Administration: write for --environment)
  GITHUB_API_URL         the API to call [default: https://api.github.com]";

#[derive(Debug, Args)]
#[command(after_help = after_help("github setup", GITHUB_SETUP_HELP, &[
    ("gpu-ci github setup --dry-run", "show what would change on GitHub"),
    ("gpu-ci github setup --gpu H100 --environment gpu", "also set MODAL_GPU and create an environment"),
]))]
pub struct GithubSetupArgs {
    /// The repository [default: from the `origin` remote].
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: Option<String>,

    /// Show what would change on GitHub, and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Set the secrets again even where they exist (GitHub cannot say what they hold).
    #[arg(long)]
    pub replace_secrets: bool,

    /// Also set the repository variable MODAL_GPU, which the workflows prefer to the config.
    #[arg(long, value_name = "SPEC")]
    pub gpu: Option<String>,

    /// Set the repository variable MODAL_ENVIRONMENT [default: MODAL_ENVIRONMENT, else the
    /// profile's `environment`, else not set].
    #[arg(long, value_name = "NAME")]
    pub modal_environment: Option<String>,

    /// Also create this GitHub environment (add its required reviewers in the settings).
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,
}

const DOCTOR_HELP: &str = "\
Checks: the config; the generated files are current and have no conflict markers; they and the
lock are tracked by git and not ignored; the Python version; the image's dependencies, resolved
with uv for its Python on Linux x86_64 with its indexes (skipped without uv or a network), the
pytest plugins the project's pytest config loads among them, and torch built for the image's
CUDA; the Modal client and its version; Modal credentials. With GITHUB_TOKEN or GH_TOKEN (and GITHUB_API_URL): the repository, its
MODAL_TOKEN_ID/MODAL_TOKEN_SECRET secrets (names only), the label, and the generated files on the
default branch; without a token these are skipped, and they are left out when `ci` does not name
github. With gitlab in `ci`: .gitlab-ci.yml includes .gitlab/gpu-ci.yml.";

#[derive(Debug, Args)]
#[command(after_help = after_help("doctor", DOCTOR_HELP, &[
    ("gpu-ci doctor", "check everything, with a fix for each problem"),
    ("gpu-ci doctor --json", "the same, as JSON for a script"),
]))]
pub struct DoctorArgs {
    /// The GitHub repository [default: from the `origin` remote].
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: Option<String>,

    /// Print JSON: `{"ok": …, "checks": [{"id", "title", "status", "detail", "fix"}]}`.
    #[arg(long)]
    pub json: bool,
}

const COMPLETIONS_HELP: &str = "\
Install, for example:
  bash  gpu-ci completions bash > ~/.local/share/bash-completion/completions/gpu-ci
  zsh   gpu-ci completions zsh > \"${fpath[1]}/_gpu-ci\"
  fish  gpu-ci completions fish > ~/.config/fish/completions/gpu-ci.fish
  powershell  gpu-ci completions powershell >> $PROFILE";

#[derive(Debug, Args)]
#[command(after_help = after_help("completions", COMPLETIONS_HELP, &[]))]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
#[command(after_help = after_help("man", "", &[
    ("gpu-ci man | man -l -", "read the page"),
    ("gpu-ci man --out-dir ~/.local/share/man/man1", "install a page per command"),
]))]
pub struct ManArgs {
    /// Write gpu-ci.1 and one page per subcommand into DIR instead of printing gpu-ci.1.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(after_help = after_help("config", "", &[
    ("gpu-ci config", "each setting, its value and where it came from"),
    ("gpu-ci config --gpu H100 --json", "the settings a flag would give, as JSON"),
    ("gpu-ci config --schema", "the JSON Schema of [tool.gpu-ci]"),
]))]
pub struct ConfigArgs {
    #[command(flatten)]
    pub choices: ChoiceArgs,

    /// Print JSON: each setting's value and source (every setting, the action pins too).
    #[arg(long)]
    pub json: bool,

    /// Print the JSON Schema of `[tool.gpu-ci]` (for editors; gpu-ci.schema.json holds it) and
    /// read no project.
    #[arg(long, conflicts_with = "json")]
    pub schema: bool,

    /// Also list the action pins (`actions."OWNER/NAME"`), which the table leaves out.
    #[arg(long)]
    pub all: bool,
}

const PIN_HELP: &str = "\
Environment:
  GITHUB_API_URL         the API to ask [default: https://api.github.com]
  GITHUB_TOKEN, GH_TOKEN a token, for a far higher rate limit";

#[derive(Debug, Args, Clone, Copy)]
#[command(after_help = after_help("pin", PIN_HELP, &[
    ("gpu-ci pin", "move each action to the newest tag of its major version"),
    ("gpu-ci pin --check", "list actions with a newer release, exit 1 if any"),
]))]
pub struct PinArgs {
    /// Pin each action's latest release instead of the newest tag of its current major version.
    #[arg(long)]
    pub upgrade: bool,

    /// Write nothing; list actions with a newer release and exit 1 if there is any.
    #[arg(long, conflicts_with = "upgrade")]
    pub check: bool,

    /// With --check: print JSON, `{"up_to_date", "actions": [{"repo", "pinned", "latest",
    /// "newer"}]}`.
    #[arg(long, requires = "check")]
    pub json: bool,

    /// Accept a pin older than the current one (GitHub's newest tag went back, or a release was
    /// withdrawn); without it such a pin is refused.
    #[arg(long, conflicts_with = "check")]
    pub allow_downgrade: bool,

    /// Resolve the pins and show, per file, the lines that would change (+N -M); write nothing.
    #[arg(long, conflicts_with = "check")]
    pub dry_run: bool,

    /// With --dry-run: print the whole diff instead of the summary.
    #[arg(long, requires = "dry_run")]
    pub diff: bool,
}

#[derive(Debug, Args, Clone, Copy)]
#[command(after_help = after_help("update", "", &[
    ("gpu-ci update", "re-render after editing [tool.gpu-ci] or upgrading gpu-ci"),
    ("gpu-ci update --check", "in CI: exit 1 with a diff when a file is out of date"),
]))]
pub struct UpdateArgs {
    /// Write nothing; print a diff of what update would change and exit 1 if anything would.
    #[arg(long, conflicts_with = "dry_run")]
    pub check: bool,

    /// Show, per file, the lines update would change (+N -M), and write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// With --dry-run: print the whole diff instead of the summary.
    #[arg(long, requires = "dry_run")]
    pub diff: bool,

    /// Recreate generated files that were deleted.
    #[arg(long)]
    pub force: bool,

    /// With --check: print JSON, `{"up_to_date", "files": [{"path", "change", "diff"}]}`.
    #[arg(long, requires = "check")]
    pub json: bool,
}

/// The settings a person can choose on the command line; each overrides `[tool.gpu-ci]`.
#[derive(Debug, Args, Default, Clone)]
pub struct ChoiceArgs {
    /// GPU to test on: T4, L4, A10G, L40S, A100, A100-40GB, A100-80GB, H100, H200, B200;
    /// `:N` for N devices (H100:2); a comma-separated fallback list (H100,A100-80GB). Given
    /// more than once, a matrix: the suite runs once on each (--gpu T4 --gpu H100).
    #[arg(long, value_name = "SPEC")]
    pub gpu: Vec<String>,

    /// Split the suite into N shards, each run in a sandbox of its own, at once (per GPU)
    /// [default: 1].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(crate::config::MAX_SHARDS)))]
    pub shards: Option<u32>,

    /// The most one run may cost on Modal's GPUs, in USD (2.50): the run's deadline becomes
    /// what it buys, every shard and GPU of the matrix included, when that is below `timeout`
    /// [config: `max-cost`].
    #[arg(long, value_name = "DOLLARS", value_parser = parse_max_cost)]
    pub max_cost: Option<f64>,

    /// Keep the download caches (Hugging Face, torch hub, pip, uv, XDG) on a Modal Volume of
    /// this repository between runs; a fork's pull request reads it, never writes it
    /// [config: `cache`].
    #[arg(long, overrides_with = "no_cache")]
    pub cache: bool,

    /// Keep no cache between runs.
    #[arg(long, overrides_with = "cache")]
    pub no_cache: bool,

    /// Also keep this container folder on the cache volume (absolute, as
    /// /root/.cache/torch_extensions); repeat it for several; turns the cache on [config:
    /// `cache`].
    #[arg(long = "cache-path", value_name = "PATH", value_parser = parse_cache_path)]
    pub cache_paths: Vec<String>,

    /// Python version of the test image, as 3.12 [default: detected, else 3.12].
    #[arg(long, value_name = "X.Y")]
    pub python: Option<String>,

    /// Tests to run, relative to the project root [default: detected, else tests/].
    #[arg(long, value_name = "PATH")]
    pub test_path: Option<String>,

    /// Arguments passed to pytest [default: -v].
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub pytest_args: Option<String>,

    /// Pull-request label that starts a GPU run [default: gpu-tests].
    #[arg(long, value_name = "NAME")]
    pub label: Option<String>,

    /// Install test dependencies from this dependency group (PEP 735 or Poetry).
    #[arg(long, value_name = "NAME", group = "install")]
    pub group: Option<String>,

    /// Install test dependencies from this optional-dependencies extra (several: `dev,torch`).
    #[arg(long, value_name = "NAME", group = "install")]
    pub extra: Option<String>,

    /// Install test dependencies from this requirements file.
    #[arg(long, value_name = "FILE", group = "install")]
    pub requirements: Option<String>,

    /// Also test pull requests from forks (pull_request_target, runner from the base branch).
    #[arg(long)]
    pub fork_prs: bool,

    /// GPU framework for the GPU report and CUDA packages: torch, jax, tensorflow, cupy or none
    /// [default: detected from the dependencies and the project's CI].
    #[arg(long, value_name = "NAME")]
    pub framework: Option<String>,

    /// Keep the project's own test selection (its `-m` in addopts, its testpaths) instead of
    /// selecting the tests it marks as GPU tests.
    #[arg(long)]
    pub keep_selection: bool,

    /// CI system to write files for: github, gitlab or bitbucket; repeat it (or separate with
    /// commas) for several [default: detected from .github/, .gitlab-ci.yml and
    /// bitbucket-pipelines.yml, else github].
    #[arg(
        long = "ci",
        value_name = "SYSTEM",
        value_delimiter = ',',
        value_parser = ["github", "gitlab", "bitbucket"]
    )]
    pub ci: Vec<String>,

    /// Extra requirement for the image, PEP 508 (torchao>=0.10), or a subproject of the tree
    /// (./sub/dir[extra]), built in the image with its dependencies; repeat it for several
    /// [config: `packages`].
    #[arg(
        long = "package",
        value_name = "REQUIREMENT",
        help_heading = "Image recipe"
    )]
    pub packages: Vec<String>,

    /// Package index the dependency layer installs from instead of PyPI (https only)
    /// [config: `index-url`].
    #[arg(long, value_name = "URL", help_heading = "Image recipe")]
    pub index_url: Option<String>,

    /// More package indexes, asked before the index-url, as PyTorch's CUDA wheel indexes
    /// (https only); repeat it for several [config: `extra-index-urls`].
    #[arg(
        long = "extra-index-url",
        value_name = "URL",
        help_heading = "Image recipe"
    )]
    pub extra_index_urls: Vec<String>,

    /// Environment variable for the image build and the tests, NAME=VALUE (never a secret);
    /// repeat it for several [config: `env`].
    #[arg(long = "env", value_name = "NAME=VALUE", help_heading = "Image recipe")]
    pub env: Vec<String>,

    /// Modal secret attached to the test sandbox, by name (not with --fork-prs); repeat it for
    /// several [config: `modal-secrets`].
    #[arg(
        long = "modal-secret",
        value_name = "NAME",
        help_heading = "Image recipe"
    )]
    pub modal_secrets: Vec<String>,

    /// Shell command run in the image after the dependencies (a native build step); repeat it
    /// for several, run in order [config: `setup`].
    #[arg(long = "setup", value_name = "COMMAND", help_heading = "Image recipe")]
    pub setup: Vec<String>,

    /// Debian package installed in the image; repeat it for several [config: `apt`].
    #[arg(long = "apt", value_name = "PACKAGE", help_heading = "Image recipe")]
    pub apt: Vec<String>,

    /// Check out the tree under test with its git submodules [default: when .gitmodules
    /// exists] [config: `submodules`].
    #[arg(long, overrides_with = "no_submodules", help_heading = "Image recipe")]
    pub submodules: bool,

    /// Check out the tree under test without its git submodules.
    #[arg(long, overrides_with = "submodules", help_heading = "Image recipe")]
    pub no_submodules: bool,

    /// CUDA toolkit of the image, as 12.8: an NVIDIA devel image with nvcc and torch from the
    /// matching PyTorch wheel index [default: 12.8 for a project that builds CUDA code]
    /// [config: `cuda`].
    #[arg(long, value_name = "X.Y", help_heading = "Image recipe")]
    pub cuda: Option<String>,
}

fn parse_max_cost(text: &str) -> Result<f64, String> {
    let dollars = text
        .trim()
        .trim_start_matches('$')
        .parse::<f64>()
        .map_err(|_| format!("`{text}` is not an amount of US dollars, as 2.50"))?;
    crate::config::check_max_cost(dollars)
}

fn parse_cache_path(text: &str) -> Result<String, String> {
    crate::config::check_cache_path(text).map(|()| text.to_string())
}

fn parse_credit(text: &str) -> Result<f64, String> {
    text.trim()
        .trim_start_matches('$')
        .parse::<f64>()
        .ok()
        .filter(|dollars| dollars.is_finite() && *dollars > 0.0 && *dollars <= 1e6)
        .ok_or_else(|| format!("`{text}` is not an amount of US dollars above 0, as 30"))
}

impl From<&ChoiceArgs> for Choices {
    /// The plan's view of these flags; `--submodules` / `--no-submodules`, the last one given.
    fn from(args: &ChoiceArgs) -> Choices {
        // Taken apart field by field so that a flag added to ChoiceArgs and not carried into
        // Choices is a compile error, never a flag silently ignored.
        let ChoiceArgs {
            gpu,
            shards,
            max_cost,
            cache,
            no_cache,
            cache_paths,
            python,
            test_path,
            pytest_args,
            label,
            group,
            extra,
            requirements,
            fork_prs,
            framework,
            keep_selection,
            ci,
            packages,
            index_url,
            extra_index_urls,
            env,
            modal_secrets,
            setup,
            apt,
            submodules,
            no_submodules,
            cuda,
        } = args.clone();
        Choices {
            gpu,
            shards,
            max_cost,
            cache: if cache {
                Some(true)
            } else if no_cache {
                Some(false)
            } else {
                None
            },
            cache_paths,
            python,
            test_path,
            pytest_args,
            label,
            group,
            extra,
            requirements,
            fork_prs,
            framework,
            keep_selection,
            ci,
            packages,
            index_url,
            extra_index_urls,
            env,
            modal_secrets,
            setup,
            apt,
            submodules: if submodules {
                Some(true)
            } else if no_submodules {
                Some(false)
            } else {
                None
            },
            cuda,
        }
    }
}

#[derive(Debug, Args)]
#[command(after_help = after_help("init", "", &[
    ("gpu-ci init", "detect the project, ask what it cannot tell, write the files"),
    ("gpu-ci init --yes --gpu H100 --ci gitlab", "no questions: H100, GitLab CI"),
]))]
pub struct InitArgs {
    #[command(flatten)]
    pub choices: ChoiceArgs,

    /// Take every default without asking (implied when stdin is not a terminal).
    #[arg(short, long)]
    pub yes: bool,

    /// Overwrite generated files that already exist and differ.
    #[arg(long)]
    pub force: bool,

    /// Show, per file, the lines that would be written (+N -M), and write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// With --dry-run: print the whole diff instead of the summary.
    #[arg(long, requires = "dry_run")]
    pub diff: bool,
}

#[derive(Debug, Args)]
#[command(after_help = after_help("run", "", &[
    ("gpu-ci run --local", "run the GPU tests on this machine"),
    ("gpu-ci run --gpu H100 -- tests/test_model.py -x", "one file on an H100 on Modal, stop at the first failure"),
]))]
pub struct RunArgs {
    /// GPU to ask Modal for, as --gpu of init (more than once: a matrix) [default: MODAL_GPU,
    /// else the configured GPU].
    #[arg(long, value_name = "SPEC")]
    pub gpu: Vec<String>,

    /// Split the suite into N shards run at once: sandboxes on Modal, processes with --local
    /// [default: the configured shards].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(crate::config::MAX_SHARDS)))]
    pub shards: Option<u32>,

    /// Tests to run, relative to the project root [default: the configured test path].
    #[arg(long, value_name = "PATH")]
    pub test_path: Option<String>,

    /// Run the tests on this machine without the Modal client (the runner's in-container script).
    #[arg(long)]
    pub local: bool,

    /// Test another checkout (a pull request's, say) on Modal as CI does: DIR is only read and
    /// uploaded, as data, and this project's runner and settings run the tests in the sandbox;
    /// nothing of DIR runs on this machine. Not with --local, which would run DIR's code here.
    #[arg(long, value_name = "DIR")]
    pub tree: Option<PathBuf>,

    /// pytest arguments; they replace the configured ones. Tests named here (a path in the
    /// project, or a node id as tests/test_x.py::test_y) replace the configured test path.
    #[arg(last = true, value_name = "PYTEST_ARGS")]
    pub pytest_args: Vec<String>,
}

const DURATIONS_HELP: &str = "\
A sharded run balances its shards by these durations (a test without one weighs the median of
the others); without the file, by the number of tests per file. Commit the file: the runner
reads it from its own checkout. Refresh it now and then from a whole run's JUnit XML (a run
with shards or a GPU matrix writes a merged one; a test on several GPUs keeps its longest time).";

const COSTS_HELP: &str = "\
Each run writes test-outputs/gpu-ci-cost.json (its trigger, GPUs, GPU seconds and estimated
cost) into the gpu-test-outputs artifact; this reads the artifacts of the runs since --since
through GitHub's API, in memory (nothing is written), and sums them. An artifact that cannot
be read (too large, not a zip gpu-ci reads, a path out of its folder, a zip bomb, a ledger that
is not gpu-ci's) is named and left out. The workflows keep artifacts 30 days.

Environment:
  GITHUB_TOKEN, GH_TOKEN a token that may read the repository's Actions (Actions: read)
  GITHUB_API_URL         the API to call [default: https://api.github.com]";

#[derive(Debug, Args)]
#[command(after_help = after_help("costs", COSTS_HELP, &[
    ("gpu-ci costs", "the last 30 days of the `origin` remote's repository"),
    ("gpu-ci costs --since 2026-11-01 --json", "since a date, as JSON for a script"),
]))]
pub struct CostsArgs {
    /// How far back: a number of days (`30d`) or a date (`2026-11-01`).
    #[arg(long, value_name = "DAYS|DATE", default_value = "30d")]
    pub since: String,

    /// The GitHub repository [default: from the `origin` remote].
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: Option<String>,

    /// Modal's free credit a month, in USD, each month is set against [default: 30, the
    /// Starter plan's; 100 on the Team plan].
    #[arg(long, value_name = "DOLLARS", value_parser = parse_credit)]
    pub credit: Option<f64>,

    /// Print JSON: `{"runs", "gpu_seconds", "cost_usd", "by_trigger", "by_gpu", "by_month",
    /// "refused", …}`.
    #[arg(long)]
    pub json: bool,
}

const CACHE_HELP: &str = "\
With `cache` in [tool.gpu-ci], runs keep the download caches (Hugging Face, torch hub, pip, uv,
XDG) on a Modal Volume named after the project, gpu-ci-cache-<name>, in the Modal environment of
the client (MODAL_ENVIRONMENT, else the profile's), and the image's build steps their ccache on
gpu-ci-ccache-<name>. Trusted runs read and write them; a fork's pull request only reads them.
`gpu-ci cache` alone shows them; `clear` deletes both. This talks to Modal through the Modal
client, as `gpu-ci run` does (`modal run` of a small script in a temporary folder); it needs the
client and a token.";

#[derive(Debug, Args)]
#[command(after_help = CACHE_HELP)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub command: Option<CacheCommand>,
}

#[derive(Debug, Subcommand, Clone, Copy)]
pub enum CacheCommand {
    /// The volumes' names, scope and size (the default).
    #[command(after_help = after_help("cache show", "", &[
        ("gpu-ci cache show", "the volumes' names, scope and size"),
        ("gpu-ci cache show --json", "the same, as JSON for a script"),
    ]))]
    Show {
        /// Print JSON: `{"volume", "enabled", "exists", "files", "bytes", "scope",
        /// "compiler_cache": {"volume", "exists", "files", "bytes"}}`.
        #[arg(long)]
        json: bool,
    },
    /// Delete the volumes and everything in them, after a confirmation.
    #[command(after_help = after_help("cache clear", "", &[
        ("gpu-ci cache clear", "ask, then delete both volumes"),
        ("gpu-ci cache clear --yes", "delete them without a question; the next run starts empty"),
    ]))]
    Clear {
        /// Delete without asking (needed where stdin is not a terminal).
        #[arg(short, long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
#[command(after_help = after_help("durations", DURATIONS_HELP, &[
    ("gpu-ci durations", "read test-outputs/junit.xml of the last run"),
    ("gpu-ci durations ~/Downloads/gpu-test-outputs/junit.xml", "read the JUnit XML of a CI run's artifact"),
]))]
pub struct DurationsArgs {
    /// The JUnit XML of a run, as `gpu-ci run` and the workflows write it.
    #[arg(value_name = "JUNIT_XML", default_value = "test-outputs/junit.xml")]
    pub junit: PathBuf,

    /// Where to write the durations.
    #[arg(long, value_name = "FILE", default_value = crate::plan::DURATIONS_FILE)]
    pub output: PathBuf,

    /// Print what was recorded as JSON: `{"junit", "output", "tests", "total_seconds", "new",
    /// "dropped"}`.
    #[arg(long)]
    pub json: bool,
}
