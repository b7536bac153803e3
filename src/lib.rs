//! gpu-ci: GPU CI on Modal for Python projects.
//!
//! Data flows one way: `project` reads the Python project, `plan` builds the typed test plan
//! from flags, config and detection, `targets` render the plan, `generate` writes the files;
//! `commands` wire these together. ARCHITECTURE.md has the map and the rules.

pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod generate;
pub mod github_api;
pub mod github_repo;
pub mod modal_local;
pub mod pins;
pub mod plan;
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
    match cli.command {
        Command::Init(args) => commands::init::run(&args, &root),
        Command::Update(args) => commands::update::run(&args, &root),
        Command::Run(args) => commands::run::run(&args, &root),
        Command::Pin(args) => commands::pin::run(&args, &root),
        Command::Config(args) => commands::config::run(&args, &root),
        Command::Github(GithubCommand::Setup(args)) => commands::github_setup::run(&args, &root),
        Command::Doctor(args) => commands::doctor::run(&args, &root),
        Command::Completions(args) => commands::completions::completions(&args),
        Command::Man(args) => commands::completions::man(&args),
    }
}
