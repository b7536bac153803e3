//! `gpu-ci update`: re-render from `[tool.gpu-ci]` with the current templates, keeping the
//! maintainer's edits through a three-way merge.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use crate::choices::{Loaded, NotSetUp, Prompter, load};
use crate::cli::{ChoiceArgs, UpdateArgs};
use crate::detect::{Project, read_text};
use crate::diff;
use crate::error::{Result, exit};
use crate::lock::Lock;
use crate::merge::merge;
use crate::render::{self, LOCK, Rendered, content_hash, recorded_hash};
use crate::settings::Settings;
use crate::ui;
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

/// Everything an update would write, and what to tell the user about it.
#[derive(Default)]
pub struct Plan {
    pub writes: Vec<FileWrite>,
    pub diffs: Vec<String>,
    report: Vec<String>,
    conflicts: Vec<String>,
    beside_files: Vec<String>,
}

impl Plan {
    /// Adds a file gpu-ci owns outright (the config, the lock) when its text changes.
    pub fn replace(&mut self, path: &str, old: Option<&str>, new: String) {
        if old != Some(new.as_str()) {
            self.diffs.push(diff::unified(path, old, &new));
            self.writes.push(FileWrite {
                path: path.to_string(),
                contents: new,
            });
        }
    }
}

/// Plans re-rendering every generated file for `settings`, merging the maintainer's edits.
pub fn plan(
    root: &Path,
    project: &Project,
    settings: &Settings,
    section: String,
    force: bool,
) -> Result<Plan> {
    let lock = Lock::read(root)?;
    let context = render::context_json(settings, project, section);
    let rendered = render::render_context(&context)?;
    let mut plan = Plan::default();
    for new in &rendered {
        let outcome = plan_file(root, new, lock.as_ref(), force)?;
        let current = || read_text(&root.join(new.path), new.path).ok();
        let (verb, text) = match outcome {
            Outcome::Unchanged => continue,
            Outcome::KeptDeleted => {
                plan.report.push(format!(
                    "    kept {} deleted (`gpu-ci update --force` recreates it)",
                    new.path
                ));
                continue;
            }
            Outcome::Create(text) => ("created", text),
            Outcome::Replace(text) => ("updated", text),
            Outcome::Merged(text) => ("merged", text),
            Outcome::Conflict(text, n) => {
                let plural = if n == 1 { "" } else { "s" };
                plan.conflicts
                    .push(format!("`{}` ({n} conflict{plural})", new.path));
                ("conflict", text)
            }
            Outcome::Unrecoverable(text) => {
                plan.diffs
                    .push(diff::unified(new.path, current().as_deref(), &text));
                plan.beside_files.push(new.path.to_string());
                plan.report.push(format!(
                    "   wrote {} beside your edited {}",
                    beside(new.path),
                    new.path
                ));
                plan.writes.push(FileWrite {
                    path: beside(new.path),
                    contents: text,
                });
                continue;
            }
        };
        plan.diffs
            .push(diff::unified(new.path, current().as_deref(), &text));
        plan.report.push(format!("{verb:>8} {}", new.path));
        plan.writes.push(FileWrite {
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
    plan.replace(LOCK, old_lock.as_deref(), lock_text);
    Ok(plan)
}

/// Writes a plan all-or-nothing and reports it; the exit code says whether work is left.
pub fn apply(root: &Path, plan: Plan) -> Result<u8> {
    if !plan.writes.is_empty() {
        write_all(root, &plan.writes)?;
    }
    for line in &plan.report {
        eprintln!("{line}");
    }
    if plan.writes.is_empty() {
        eprintln!("gpu-ci: generated files are up to date");
    }
    let mut failed = false;
    if !plan.conflicts.is_empty() {
        failed = true;
        ui::error(&format!(
            "your edits and the new templates overlap in {}",
            plan.conflicts.join(", ")
        ));
        ui::help(
            "both sides are kept between <<<<<<< and >>>>>>> markers: keep what you need, delete the markers, then run `gpu-ci update --check`",
        );
    }
    if !plan.beside_files.is_empty() {
        failed = true;
        let names: Vec<String> = plan.beside_files.iter().map(|p| format!("`{p}`")).collect();
        ui::error(&format!(
            "cannot tell what gpu-ci wrote in {} (no lock for this version and nothing in git history), so your file is left as it is",
            names.join(", ")
        ));
        ui::help(
            "merge the `.new` file beside it by hand (take it and reapply your edits), then delete the `.new` file",
        );
    }
    Ok(if failed { exit::FAILURE } else { exit::OK })
}

/// Prints a plan's diffs for `--check` (exit 1 when anything would change) or `--dry-run`.
pub fn show(plan: &Plan, check: bool) -> u8 {
    let mut stdout = std::io::stdout().lock();
    for d in &plan.diffs {
        let _ = write!(stdout, "{d}");
    }
    if plan.diffs.is_empty() {
        eprintln!("gpu-ci: generated files are up to date");
        exit::OK
    } else if check {
        ui::error("generated files are out of date");
        ui::help("run `gpu-ci update`");
        exit::FAILURE
    } else {
        eprintln!("dry run: nothing written");
        exit::OK
    }
}

pub fn run(args: &UpdateArgs, root: &Path) -> Result<u8> {
    let Loaded {
        project,
        config,
        settings,
    } = load(
        root,
        &ChoiceArgs::default(),
        &Prompter::DEFAULTS,
        NotSetUp::Refuse,
    )?;
    let plan = plan(root, &project, &settings, config.section_name(), args.force)?;
    if args.check || args.dry_run {
        return Ok(show(&plan, args.check));
    }
    apply(root, plan)
}
