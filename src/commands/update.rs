//! `gpu-ci update`: re-render from `[tool.gpu-ci]` with the current templates, keeping the
//! maintainer's edits through a three-way merge.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use crate::choices::{Prompter, choose};
use crate::cli::{ChoiceArgs, UpdateArgs};
use crate::config::ConfigFile;
use crate::detect::{Project, read_text};
use crate::diff;
use crate::error::{Error, Result, exit};
use crate::lock::Lock;
use crate::merge::merge;
use crate::render::{self, LOCK, Rendered, content_hash, recorded_hash};
use crate::settings::Settings;
use crate::write::{FileWrite, write_all};

/// What `update` does with one generated file.
enum Outcome {
    Unchanged,
    Create(String),
    /// Untouched since gpu-ci wrote it: replaced by the new render.
    Replace(String),
    /// Edited, and merged cleanly with the new render.
    Merged(String),
    /// Edited where the template changed too: both sides kept between markers.
    Conflict(String, usize),
    /// Edited, and what gpu-ci wrote cannot be recovered: the new render goes beside it.
    Unrecoverable(String),
    /// Generated once and deleted since: left deleted.
    KeptDeleted,
}

/// The file as gpu-ci last wrote it: re-rendered from the lock when the version matches,
/// else found in git history by its hash.
fn recover_base(root: &Path, path: &str, recorded: &str, lock: Option<&Lock>) -> Option<String> {
    if let Some(lock) = lock.filter(|l| l.version == env!("CARGO_PKG_VERSION"))
        && let Ok(files) = render::render_context(&lock.context)
        && let Some(file) = files.into_iter().find(|f| f.path == path)
        && content_hash(&file.contents) == recorded
    {
        return Some(file.contents);
    }
    let git = |args: &[&str]| -> Option<String> {
        let output = Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let commits = git(&["log", "--format=%H", "-n", "200", "--", path])?;
    commits.lines().find_map(|commit| {
        let text = git(&["show", &format!("{commit}:{path}")])?;
        (content_hash(&text) == recorded).then_some(text)
    })
}

fn plan_file(root: &Path, new: &Rendered, lock: Option<&Lock>, force: bool) -> Result<Outcome> {
    let target = root.join(new.path);
    if !target.exists() {
        let was_generated = lock.is_some_and(|l| l.files.iter().any(|f| f == new.path));
        return Ok(if was_generated && !force {
            Outcome::KeptDeleted
        } else {
            Outcome::Create(new.contents.clone())
        });
    }
    let current = read_text(&target, new.path)?;
    if current == new.contents {
        return Ok(Outcome::Unchanged);
    }
    let Some(recorded) = recorded_hash(&current) else {
        return Ok(Outcome::Unrecoverable(new.contents.clone()));
    };
    if content_hash(&current) == recorded {
        return Ok(Outcome::Replace(new.contents.clone()));
    }
    // Edited; if gpu-ci would write what it wrote before, the edits simply stay.
    if recorded_hash(&new.contents) == Some(recorded) {
        return Ok(Outcome::Unchanged);
    }
    let Some(base) = recover_base(root, new.path, recorded, lock) else {
        return Ok(Outcome::Unrecoverable(new.contents.clone()));
    };
    let merged = merge(
        &base,
        &current,
        &new.contents,
        &format!("yours ({})", new.path),
        &format!("gpu-ci {}", env!("CARGO_PKG_VERSION")),
    );
    Ok(match merged.conflicts {
        0 if merged.text == current => Outcome::Unchanged,
        0 => Outcome::Merged(merged.text),
        n => Outcome::Conflict(merged.text, n),
    })
}

fn beside(path: &str) -> String {
    format!("{path}.new")
}

pub fn run(args: &crate::cli::UpdateArgs, root: &Path) -> Result<u8> {
    let UpdateArgs {
        check,
        dry_run,
        force,
    } = *args;
    let project = Project::detect(root)?;
    let config = ConfigFile::open(root)?;
    let existing = config.read()?;
    let lock = Lock::read(root)?;
    if !config.is_initialised() && lock.is_none() {
        return Err(
            Error::usage("gpu-ci is not set up here: no gpu-ci settings and no lock")
                .with_help("run `gpu-ci init` first"),
        );
    }
    let raw = choose(
        &ChoiceArgs::default(),
        &existing,
        &project,
        &Prompter { interactive: false },
    )?;
    let settings = Settings::from_raw(&raw, &project)?;
    let context = render::context_json(&settings, &project, config.section_name());
    let rendered = render::render_context(&context)?;

    let mut writes: Vec<FileWrite> = Vec::new();
    let mut diffs: Vec<String> = Vec::new();
    let mut conflicts: Vec<String> = Vec::new();
    let mut beside_files: Vec<String> = Vec::new();
    let mut report: Vec<String> = Vec::new();
    for new in &rendered {
        let outcome = plan_file(root, new, lock.as_ref(), force)?;
        let current = || read_text(&root.join(new.path), new.path).ok();
        let (verb, text) = match outcome {
            Outcome::Unchanged => continue,
            Outcome::KeptDeleted => {
                report.push(format!(
                    "    kept {} deleted (`gpu-ci update --force` recreates it)",
                    new.path
                ));
                continue;
            }
            Outcome::Create(text) => ("created", text),
            Outcome::Replace(text) => ("updated", text),
            Outcome::Merged(text) => ("merged", text),
            Outcome::Conflict(text, n) => {
                conflicts.push(format!(
                    "`{}` ({n} conflict{})",
                    new.path,
                    if n == 1 { "" } else { "s" }
                ));
                ("conflict", text)
            }
            Outcome::Unrecoverable(text) => {
                diffs.push(diff::unified(new.path, current().as_deref(), &text));
                beside_files.push(new.path.to_string());
                writes.push(FileWrite {
                    path: beside(new.path),
                    contents: text,
                });
                report.push(format!(
                    "   wrote {} beside your edited {}",
                    beside(new.path),
                    new.path
                ));
                continue;
            }
        };
        diffs.push(diff::unified(new.path, current().as_deref(), &text));
        report.push(format!("{verb:>8} {}", new.path));
        writes.push(FileWrite {
            path: new.path.to_string(),
            contents: text,
        });
    }
    let lock_text = Lock::new(
        context,
        rendered.iter().map(|f| f.path.to_string()).collect(),
    )
    .render();
    let old_lock = read_text(&root.join(LOCK), LOCK).ok();
    if old_lock.as_deref() != Some(lock_text.as_str()) {
        diffs.push(diff::unified(LOCK, old_lock.as_deref(), &lock_text));
        writes.push(FileWrite {
            path: LOCK.to_string(),
            contents: lock_text,
        });
    }

    if check || dry_run {
        let mut stdout = std::io::stdout().lock();
        for d in &diffs {
            let _ = write!(stdout, "{d}");
        }
        if diffs.is_empty() {
            eprintln!("gpu-ci: generated files are up to date");
            return Ok(exit::OK);
        }
        if check {
            eprintln!("error: generated files are out of date\nhelp: run `gpu-ci update`");
            return Ok(exit::FAILURE);
        }
        eprintln!("dry run: nothing written");
        return Ok(exit::OK);
    }

    if writes.is_empty() {
        for line in &report {
            eprintln!("{line}");
        }
        eprintln!("gpu-ci: generated files are up to date");
        return Ok(exit::OK);
    }
    write_all(root, &writes)?;
    for line in &report {
        eprintln!("{line}");
    }
    let mut failed = false;
    if !conflicts.is_empty() {
        failed = true;
        eprintln!(
            "error: your edits and the new templates overlap in {}",
            conflicts.join(", ")
        );
        eprintln!(
            "help: both sides are kept between <<<<<<< and >>>>>>> markers: keep what you need, delete the markers, then run `gpu-ci update --check`"
        );
    }
    if !beside_files.is_empty() {
        failed = true;
        let names: Vec<String> = beside_files.iter().map(|p| format!("`{p}`")).collect();
        eprintln!(
            "error: cannot tell what gpu-ci wrote in {} (no lock for this version and nothing in git history), so your file is left as it is",
            names.join(", ")
        );
        eprintln!(
            "help: merge the `.new` file beside it by hand (take it and reapply your edits), then delete the `.new` file"
        );
    }
    Ok(if failed { exit::FAILURE } else { exit::OK })
}
