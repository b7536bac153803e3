//! `gpu-ci completions SHELL` and `gpu-ci man`: shell completions and the man page, both
//! generated from the clap definitions in `cli.rs`, so they never disagree with `--help`.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::error::{Error, ExitStatus, IoOp, Result};

pub fn completions(args: &CompletionsArgs) -> Result<ExitStatus> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "gpu-ci", &mut out);
    write_stdout(&out)
}

pub fn man(args: &ManArgs) -> Result<ExitStatus> {
    let command = Cli::command();
    if let Some(dir) = &args.out_dir {
        std::fs::create_dir_all(dir).map_err(|err| Error::io(IoOp::CreateFolder, dir, err))?;
        // gpu-ci.1, and gpu-ci-init.1 and so on for each subcommand.
        clap_mangen::generate_to(command, dir).map_err(|err| Error::io(IoOp::Write, dir, err))?;
        crate::ui::plain(&format!("wrote the man pages into {}", shown(dir)));
        return Ok(ExitStatus::Success);
    }
    let mut out = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut out)
        .map_err(|err| Error::internal(format!("cannot render the man page: {err}")))?;
    write_stdout(&out)
}

fn shown(dir: &Path) -> String {
    format!("`{}`", dir.display())
}

fn write_stdout(bytes: &[u8]) -> Result<ExitStatus> {
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`gpu-ci man | head`) is no error worth reporting.
    let _ = stdout.write_all(bytes).and_then(|()| stdout.flush());
    Ok(ExitStatus::Success)
}
