//! gpu-ci: GPU CI on Modal for Python projects.

pub mod actions;
pub mod choices;
pub mod cli;
pub mod commands;
pub mod config;
pub mod detect;
pub mod diff;
pub mod error;
pub mod github;
pub mod gpu;
pub mod lock;
pub mod merge;
pub mod plan;
pub mod render;
pub mod settings;
pub mod ui;
pub mod write;

use std::path::PathBuf;

use cli::{Cli, Command};
use error::Result;

/// Runs one parsed command line; `Ok` holds the exit code.
pub fn run(cli: Cli) -> Result<u8> {
    ui::init(cli.color);
    let root = cli.directory.unwrap_or_else(|| PathBuf::from("."));
    match cli.command {
        Command::Init(args) => commands::init::run(&args, &root).map(|()| error::exit::OK),
        Command::Update(args) => commands::update::run(&args, &root),
        Command::Run(args) => commands::run::run(&args, &root),
        Command::Pin(args) => commands::pin::run(&args, &root),
    }
}
