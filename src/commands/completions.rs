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
    if args.shell == clap_complete::Shell::Bash {
        out = bash_completions(command)?;
    } else {
        clap_complete::generate(args.shell, &mut command, "gpu-ci", &mut out);
    }
    write_stdout(&out)
}

/// The bin name bash's script is generated for, then registered for `gpu-ci`.
const BASH_BIN_NAME: &str = "gpu_ci";

/// Bash's script. clap_complete spells a hyphenated bin name's states two ways (the loop that
/// follows the words says `gpu__ci__subcmd__init`, the arms that complete a subcommand's
/// options `gpu__subcmd__ci__subcmd__init`), so no subcommand's options ever complete
/// (clap-rs/clap#6421). Generated for `gpu_ci`, both agree; the `complete` lines then register
/// it for `gpu-ci`, and only they name the binary.
fn bash_completions(mut command: clap::Command) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_complete::generate(
        clap_complete::Shell::Bash,
        &mut command,
        BASH_BIN_NAME,
        &mut out,
    );
    let script = String::from_utf8(out)
        .map_err(|_| Error::internal("the bash completions are not UTF-8"))?;
    let register = format!(" {BASH_BIN_NAME}\n");
    let mut registered = 0;
    let lines: Vec<String> = script
        .split_inclusive('\n')
        .map(|line| {
            if line.trim_start().starts_with("complete -F ") && line.ends_with(&register) {
                registered += 1;
                format!("{} gpu-ci\n", &line[..line.len() - register.len()])
            } else {
                line.to_string()
            }
        })
        .collect();
    let script = lines.concat();
    // Registered twice: for bash 4.4 and later, and for older ones. Anything else means
    // clap_complete changed and this rename needs a look.
    if registered != 2 {
        return Err(Error::internal(
            "clap_complete's bash script changed shape; gpu-ci's rename of its bin name needs a look",
        ));
    }
    Ok(script.into_bytes())
}

pub fn man(args: &ManArgs) -> Result<ExitStatus> {
    let pages = man_pages()?;
    if let Some(dir) = &args.out_dir {
        std::fs::create_dir_all(dir).map_err(|err| Error::io(IoOp::CreateFolder, dir, err))?;
        for (name, page) in &pages {
            let path = dir.join(name);
            std::fs::write(&path, page).map_err(|err| Error::io(IoOp::Write, path, err))?;
        }
        crate::ui::plain(&format!("wrote the man pages into {}", shown(dir)));
        return Ok(ExitStatus::Success);
    }
    write_stdout(&pages[0].1)
}

/// gpu-ci.1 first, then a page for each command under it (gpu-ci-init.1, gpu-ci-github.1,
/// gpu-ci-github-setup.1, ...): exactly the pages any page links to. clap's `help` subcommand
/// has no page, so no page names one; each page ends with SEE ALSO: its parent and its
/// children.
fn man_pages() -> Result<Vec<(String, Vec<u8>)>> {
    fn walk(
        command: &clap::Command,
        parent: Option<&str>,
        pages: &mut Vec<(String, Vec<u8>)>,
    ) -> Result<()> {
        let page = render_page(command)
            .map_err(|err| Error::internal(format!("cannot render the man page: {err}")))?;
        let mut page = page;
        let name = page_name(command);
        let children: Vec<&clap::Command> = command
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .collect();
        let see_also: Vec<String> = parent
            .map(str::to_string)
            .into_iter()
            .chain(children.iter().map(|c| page_name(c)))
            .map(|page| format!("{}(1)", page.replace('-', "\\-")))
            .collect();
        if !see_also.is_empty() {
            page.extend_from_slice(
                format!(".SH \"SEE ALSO\"\n{}\n", see_also.join(", ")).as_bytes(),
            );
        }
        pages.push((format!("{name}.1"), page));
        for child in children {
            walk(child, Some(&name), pages)?;
        }
        Ok(())
    }
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    let mut pages = Vec::new();
    walk(&command, None, &mut pages)?;
    Ok(pages)
}

/// One page: clap_mangen's sections, then the help's end as sections of their own (NOTES,
/// EXAMPLES, EXIT STATUS), kept line for line as the help shows them.
fn render_page(command: &clap::Command) -> std::io::Result<Vec<u8>> {
    let man = clap_mangen::Man::new(command.clone());
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    if command.has_subcommands() {
        man.render_subcommands_section(&mut page)?;
    }
    let end = command
        .get_after_help()
        .map(|text| text.to_string())
        .unwrap_or_default();
    let (rest, exit_codes) = end.split_once("Exit codes:\n").unwrap_or((&end, ""));
    let (notes, examples) = rest.split_once("Examples:\n").unwrap_or((rest, ""));
    for (title, text) in [
        ("NOTES", notes),
        ("EXAMPLES", examples),
        ("\"EXIT STATUS\"", exit_codes),
    ] {
        if !text.trim().is_empty() {
            page.extend_from_slice(
                format!(".SH {title}\n.nf\n{}\n.fi\n", roff_lines(text.trim_end())).as_bytes(),
            );
        }
    }
    if command.get_version().is_some() {
        man.render_version_section(&mut page)?;
    }
    Ok(page)
}

/// Text for a no-fill block: backslashes and hyphens escaped, and a line that starts with a
/// control character (`.` or `'`) made plain text.
fn roff_lines(text: &str) -> String {
    text.lines()
        .map(|line| {
            let line = line.replace('\\', "\\e").replace('-', "\\-");
            if line.starts_with('.') || line.starts_with('\'') {
                format!("\\&{line}")
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A command's page name: `gpu-ci-github-setup` (clap's display name once built).
fn page_name(command: &clap::Command) -> String {
    command
        .get_display_name()
        .unwrap_or(command.get_name())
        .to_string()
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
