//! Command-line types only: parsing, no decisions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::ui::ColorChoice;

const EXIT_CODES: &str = "\
Exit codes:
  0    success
  1    a check found something out of date, or the tests failed
  2    bad input: arguments, configuration, project files or the file system
  3    internal error: a bug in gpu-ci
  130  interrupted (Ctrl-C)";

/// Affordable GPU CI for Python projects on Modal's serverless GPUs.
///
/// `gpu-ci init` writes GitHub Actions workflows and a Modal test runner for the
/// project in the current folder; adding the `gpu-tests` label to a pull request
/// then runs its tests on a real NVIDIA GPU.
#[derive(Debug, Parser)]
#[command(name = "gpu-ci", version, after_help = EXIT_CODES)]
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
}

#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES)]
pub struct ConfigArgs {
    #[command(flatten)]
    pub choices: ChoiceArgs,

    /// Print JSON: each setting's value and source.
    #[arg(long)]
    pub json: bool,
}

const PIN_HELP: &str = "\
Environment:
  GITHUB_API_URL         the API to ask [default: https://api.github.com]
  GITHUB_TOKEN, GH_TOKEN a token, for a far higher rate limit

Exit codes:
  0    success
  1    --check found an action with a newer release
  2    bad input, or GitHub could not resolve an action, answered something that is not a tag
       and a commit SHA, or would move a pin back without --allow-downgrade (nothing is changed)";

#[derive(Debug, Args, Clone, Copy)]
#[command(after_help = PIN_HELP)]
pub struct PinArgs {
    /// Pin each action's latest release instead of the newest tag of its current major version.
    #[arg(long)]
    pub upgrade: bool,

    /// Write nothing; list actions with a newer release and exit 1 if there is any.
    #[arg(long, conflicts_with = "upgrade")]
    pub check: bool,

    /// Accept a pin older than the current one (GitHub's newest tag went back, or a release was
    /// withdrawn); without it such a pin is refused.
    #[arg(long, conflicts_with = "check")]
    pub allow_downgrade: bool,
}

#[derive(Debug, Args, Clone, Copy)]
#[command(after_help = EXIT_CODES)]
pub struct UpdateArgs {
    /// Write nothing; print a diff of what update would change and exit 1 if anything would.
    #[arg(long, conflicts_with = "dry_run")]
    pub check: bool,

    /// Print what update would change, as a diff, and write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Recreate generated files that were deleted.
    #[arg(long)]
    pub force: bool,
}

/// The settings a person can choose on the command line; each overrides `[tool.gpu-ci]`.
#[derive(Debug, Args, Default, Clone)]
pub struct ChoiceArgs {
    /// GPU to test on: T4, L4, A10G, L40S, A100, A100-40GB, A100-80GB, H100, H200, B200;
    /// `:N` for N devices (H100:2); a comma-separated fallback list (H100,A100-80GB).
    #[arg(long, value_name = "SPEC")]
    pub gpu: Option<String>,

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

    /// Install test dependencies from this optional-dependencies extra.
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
}

#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES)]
pub struct InitArgs {
    #[command(flatten)]
    pub choices: ChoiceArgs,

    /// Take every default without asking (implied when stdin is not a terminal).
    #[arg(short, long)]
    pub yes: bool,

    /// Overwrite generated files that already exist and differ.
    #[arg(long)]
    pub force: bool,

    /// Print what would be written, as a diff, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
#[command(after_help = RUN_EXIT_CODES)]
pub struct RunArgs {
    /// GPU to ask Modal for, as --gpu of init [default: MODAL_GPU, else the configured GPU].
    #[arg(long, value_name = "SPEC")]
    pub gpu: Option<String>,

    /// Tests to run, relative to the project root [default: the configured test path].
    #[arg(long, value_name = "PATH")]
    pub test_path: Option<String>,

    /// Run the tests on this machine without the Modal client (the runner's in-container script).
    #[arg(long)]
    pub local: bool,

    /// pytest arguments; they replace the configured ones.
    #[arg(last = true, value_name = "PYTEST_ARGS")]
    pub pytest_args: Vec<String>,
}

const RUN_EXIT_CODES: &str = "\
Exit codes:
  N    pytest's exit code (0 passed, 1 tests failed, 5 no tests collected, ...)
  2    bad input, a missing Modal client or missing credentials
  128+S  stopped by signal S, passed on to the client (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP), or
         the client was killed by signal S (139 SIGSEGV)";
