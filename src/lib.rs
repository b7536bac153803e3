//! gpu-ci: GPU CI on Modal for Python projects.
//!
//! Data flows one way: `project` reads the Python project, `plan` builds the typed test plan
//! from flags, config and detection, `targets` render the plan, `generate` writes the files;
//! `commands` wire these together. ARCHITECTURE.md has the map and the rules.

pub mod args;
pub mod cli;
pub mod commands;
pub mod config;
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

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<ExitStatus> {
    ui::init(cli.color);
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
        Command::Github(GithubCommand::Setup(args)) => {
            drop(session);
            commands::github_setup::run(&args, &root)
        }
        Command::Completions(_) | Command::Man(_) => unreachable!("answered before the session"),
    }
}
