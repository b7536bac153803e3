//! gpu-ci: GPU CI on Modal for Python projects.
//!
//! Data flows one way: `project` reads the Python project, `plan` builds the typed test plan
//! from flags, config and detection, `targets` render the plan, `generate` writes the files;
//! `commands` wire these together. ARCHITECTURE.md has the map and the rules.

// `run` starts pytest in a process group of its own and passes signals on to it (process groups,
// SIGTERM/SIGKILL, `std::os::unix`): Linux and macOS only. Said once, here, rather than as a page
// of unresolved imports.
#[cfg(not(unix))]
compile_error!(
    "gpu-ci supports Linux and macOS only: Windows is not supported (on Windows, use WSL)"
);

pub mod args;
pub mod cli;
pub mod commands;
pub mod config;
pub mod costs;
pub mod error;
pub mod generate;
pub mod github;
pub mod isolated;
pub mod junit;
pub mod modal_local;
pub mod newlines;
pub mod pins;
pub mod plan;
pub mod preflight;
pub mod project;
pub mod secrets;
pub mod targets;
pub mod ui;

use std::path::PathBuf;

use cli::{Cli, Command, GithubCommand};
use error::{ExitStatus, Result};

/// `update --gpu H100` and the like: `update` takes no setting, and clap's "unexpected argument"
/// would not say where settings go. For an argument `init` accepts, an error that points to
/// `init`, which writes the setting into `[tool.gpu-ci]` and re-renders as `update` does.
pub fn setting_flag_outside_init(
    err: &clap::Error,
    args: &[std::ffi::OsString],
) -> Option<error::Error> {
    use clap::CommandFactory;
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if err.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(given)) = err.get(ContextKind::InvalidArg) else {
        return None;
    };
    // The subcommand: the first word that is neither a global option nor its value.
    let mut words = args.iter().skip(1).filter_map(|a| a.to_str());
    let subcommand = loop {
        match words.next()? {
            "-C" | "--color" => {
                words.next();
            }
            word if word.starts_with('-') => {}
            word => break word,
        }
    };
    if subcommand != "update" {
        return None;
    }
    let name = given
        .split('=')
        .next()
        .unwrap_or(given)
        .trim_start_matches('-');
    let command = Cli::command();
    let init = command.find_subcommand("init")?;
    let known = init.get_arguments().any(|arg| {
        arg.get_long() == Some(name) && arg.get_id() != "dry_run" && arg.get_id() != "force"
    });
    known.then(|| {
        error::Error::usage(format!(
            "`update` changes no setting: `--{name}` is a flag of `init`"
        ))
        .with_help(format!(
            "run `gpu-ci init --{name} …`: on a project gpu-ci has set up, it writes the setting into [tool.gpu-ci] and re-renders the files keeping your edits, as update does"
        ))
    })
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<ExitStatus> {
    ui::init(cli.color);
    ui::set_verbosity(if cli.quiet {
        ui::Verbosity::Quiet
    } else if cli.verbose {
        ui::Verbosity::Verbose
    } else {
        ui::Verbosity::Normal
    });
    let root = cli.directory.unwrap_or_else(|| PathBuf::from("."));
    // One gpu-ci at a time in a project; a write an earlier one left unfinished is settled
    // before anything is read. Commands that write nothing let the next one in at once.
    let command = match cli.command {
        // Neither reads a project: no session, in any folder.
        Command::Completions(args) => return commands::completions::completions(&args),
        Command::Man(args) => return commands::completions::man(&args),
        Command::Config(args) if args.schema => return commands::config::print_schema(),
        command => command,
    };
    let session = generate::session::Session::start(&root, &commands::own_files())?;
    match command {
        Command::Init(args) => commands::init::run(&args, &root),
        Command::Update(args) => commands::update::run(&args, &root),
        Command::Pin(args) => commands::pin::run(&args, &root),
        Command::Durations(args) => commands::durations::run(&args, &root),
        Command::Run(args) => {
            drop(session);
            commands::run::run(&args, &root)
        }
        Command::Config(args) => {
            drop(session);
            commands::config::run(&args, &root)
        }
        Command::Doctor(args) => {
            drop(session);
            commands::doctor::run(&args, &root)
        }
        Command::Costs(args) => {
            drop(session);
            commands::costs::run(&args, &root)
        }
        Command::Cache(args) => {
            drop(session);
            commands::cache::run(&args, &root)
        }
        Command::Github(GithubCommand::Setup(args)) => {
            drop(session);
            commands::github_setup::run(&args, &root)
        }
        Command::Completions(_) | Command::Man(_) => unreachable!("answered before the session"),
    }
}
