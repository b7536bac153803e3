use std::process::ExitCode;

use clap::Parser;
use gpu_ci::cli::Cli;
use gpu_ci::error::Error;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let status = match gpu_ci::run(cli) {
        Ok(status) => status,
        Err(err) => {
            // Ctrl-C says nothing: the person who pressed it knows.
            if !matches!(err, Error::Interrupted) {
                gpu_ci::ui::error(&err.to_string());
                if let Some(help) = err.help() {
                    gpu_ci::ui::help(&help);
                }
            }
            err.exit_status()
        }
    };
    status.into()
}
