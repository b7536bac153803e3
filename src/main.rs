use std::process::ExitCode;

use clap::Parser;
use gpu_ci::cli::Cli;
use gpu_ci::error::{Error, guarded};

fn main() -> ExitCode {
    // A panic anywhere ends as one `error:` line and exit status 3 (issue 20).
    guarded(|| {
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        let cli = match Cli::try_parse_from(&args) {
            Ok(cli) => cli,
            Err(err) => match gpu_ci::setting_flag_outside_init(&err, &args) {
                Some(hint) => {
                    gpu_ci::ui::error(&hint.to_string());
                    if let Some(help) = hint.help() {
                        gpu_ci::ui::help(&help);
                    }
                    return hint.exit_status();
                }
                None => err.exit(),
            },
        };
        match gpu_ci::run(cli) {
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
        }
    })
    .into()
}
