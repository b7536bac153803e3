use std::process::ExitCode;

use clap::Parser;
use gpu_ci::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match gpu_ci::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            if err.code != gpu_ci::error::exit::INTERRUPTED {
                gpu_ci::ui::error(&err.message);
                if let Some(help) = &err.help {
                    gpu_ci::ui::help(help);
                }
            }
            ExitCode::from(err.code)
        }
    }
}
