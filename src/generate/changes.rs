//! A set of file changes that a command shows (`--dry-run`, `--check`) or writes all at once,
//! and what to tell the user about each.

use std::io::Write;
use std::path::Path;

use crate::error::{ExitStatus, Result};
use crate::generate::write::{FileWrite, write_all};
use crate::generate::{Lost, diff};
use crate::ui;

#[derive(Default)]
pub struct ChangeSet {
    writes: Vec<FileWrite>,
    diffs: Vec<String>,
    /// One line per diff for `--dry-run` without `--diff`: the file and its `+N -M`.
    summary: Vec<(String, usize, usize)>,
    report: Vec<String>,
    conflicts: Vec<String>,
    beside_files: Vec<(String, Lost)>,
    /// Files that still hold conflict markers, left alone.
    unresolved: Vec<String>,
    /// Files that move: removed from the first path once the write (holding the second) is done.
    moves: Vec<(String, String)>,
    /// Each file's change, for `--json`: its path, the kind of change and its diff.
    files: Vec<FileChange>,
}

/// One file of a `--check --json` answer.
struct FileChange {
    path: String,
    /// `create`, `update`, `conflict` (merged with markers), `beside` (FILE.new written next
    /// to an edited FILE) or `unresolved` (it still holds conflict markers).
    change: &'static str,
    diff: Option<String>,
}

impl ChangeSet {
    /// Writes `new` to `path` when it differs from `old`: reported as `verb`, or as created or
    /// updated when `verb` is `None`.
    pub fn change(&mut self, path: &str, old: Option<&str>, new: String, verb: Option<&str>) {
        if old == Some(new.as_str()) {
            return;
        }
        let verb = verb.unwrap_or(if old.is_some() { "updated" } else { "created" });
        let would = if old.is_some() { "change" } else { "create" };
        let unified = diff::unified(path, old, &new);
        self.count(format!("would {would} {path}"), &unified);
        self.diffs.push(format!("would {would} {path}\n{unified}"));
        self.files.push(FileChange {
            path: path.to_string(),
            change: if old.is_some() { "update" } else { "create" },
            diff: Some(unified),
        });
        self.report.push(format!("{verb:>8} {path}"));
        self.writes.push(FileWrite {
            path: path.to_string(),
            contents: new,
        });
    }

    /// Like `change`, for a merge whose overlaps are left between conflict markers.
    pub fn conflict(&mut self, path: &str, old: &str, merged: String, conflicts: usize) {
        let plural = if conflicts == 1 { "" } else { "s" };
        self.conflicts
            .push(format!("`{path}` ({conflicts} conflict{plural})"));
        self.change(path, Some(old), merged, Some("conflict"));
        if let Some(last) = self.files.last_mut().filter(|f| f.path == path) {
            last.change = "conflict";
        }
    }

    /// Leaves an edited file alone and writes the new render beside it as `FILE.new`.
    pub fn beside(&mut self, path: &str, old: &str, new: String, lost: Lost) {
        let target = format!("{path}.new");
        let unified = diff::unified(path, Some(old), &new);
        let what = format!("would write {target} beside your edited {path}");
        self.count(what.clone(), &unified);
        self.diffs.push(format!("{what}\n{unified}"));
        self.files.push(FileChange {
            path: path.to_string(),
            change: "beside",
            diff: Some(unified),
        });
        self.report
            .push(format!("   wrote {target} beside your edited {path}"));
        self.beside_files.push((path.to_string(), lost));
        self.writes.push(FileWrite {
            path: target,
            contents: new,
        });
    }

    fn count(&mut self, what: String, unified: &str) {
        let (added, removed) = diff::counts(unified);
        self.summary.push((what, added, removed));
    }

    /// `+N -M` per file, then the total: what `--dry-run` shows without `--diff`.
    fn summary_text(&self) -> String {
        let width = self
            .summary
            .iter()
            .map(|(w, ..)| w.len())
            .max()
            .unwrap_or(0);
        let mut text = String::new();
        let (mut added, mut removed) = (0, 0);
        for (what, a, r) in &self.summary {
            text.push_str(&format!("{what:<width$}  +{a} -{r}\n"));
            added += a;
            removed += r;
        }
        let n = self.summary.len();
        let files = if n == 1 { "file" } else { "files" };
        text.push_str(&format!(
            "{n} {files}, +{added} -{removed} (`--diff` shows the lines)\n"
        ));
        text
    }

    /// Removes `from` once everything else is written, where `to` is written: a file that moved.
    /// Outside the all-or-nothing write: after a crash both are there, and the next write
    /// removes `from` again.
    pub fn remove_after(&mut self, from: &str, to: &str) {
        let what = format!("would move {from} to {to}");
        self.summary.push((what.clone(), 0, 0));
        self.diffs.push(format!("{what}\n"));
        self.moves.push((from.to_string(), to.to_string()));
    }

    /// A file left alone because it still holds conflict markers.
    pub fn unresolved(&mut self, path: &str) {
        self.unresolved.push(format!("`{path}`"));
        self.files.push(FileChange {
            path: path.to_string(),
            change: "unresolved",
            diff: None,
        });
    }

    /// Says which files still hold conflict markers (an error, or a warning for `--dry-run`);
    /// whether any does.
    fn report_unresolved(&self, as_error: bool) -> bool {
        if self.unresolved.is_empty() {
            return false;
        }
        let message = format!(
            "unresolved conflict markers in {}: left as it is until they are gone",
            self.unresolved.join(", ")
        );
        if as_error {
            ui::error(&message);
        } else {
            ui::warning(&message);
        }
        ui::help(
            "keep what you need between <<<<<<< and >>>>>>>, delete the marker lines, then run `gpu-ci update --check`",
        );
        true
    }

    /// A line for the user that changes no file.
    pub fn note(&mut self, line: String) {
        self.report.push(line);
    }

    /// The files this set would write, relative to the root (read-only, for `gpu-ci doctor`).
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.writes.iter().map(|w| w.path.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.moves.is_empty()
    }

    /// Prints the diffs for `--check` (exit 1 when anything would change) or `--dry-run`;
    /// `full`: every line of every diff, else a line per file with its `+N -M` and a total.
    pub fn show(&self, check: bool, full: bool) -> ExitStatus {
        let mut stdout = std::io::stdout().lock();
        if full {
            for d in &self.diffs {
                // The files' lines come from the project: shown with hostile characters escaped.
                let _ = write!(stdout, "{}", ui::escaped_lines(d));
            }
        } else if !self.diffs.is_empty() {
            let _ = write!(stdout, "{}", ui::escaped_lines(&self.summary_text()));
        }
        drop(stdout);
        let unresolved = self.report_unresolved(check);
        if unresolved && check {
            ExitStatus::Failure
        } else if self.diffs.is_empty() {
            if !unresolved {
                ui::plain("gpu-ci: generated files are up to date");
            }
            ExitStatus::Success
        } else if check {
            ui::error("generated files are out of date");
            ui::help("run `gpu-ci update`");
            ExitStatus::Failure
        } else {
            ui::plain("dry run: nothing written");
            ExitStatus::Success
        }
    }

    /// `--check --json`: `{"up_to_date": …, "files": [{"path", "change", "diff"}]}` on stdout,
    /// nothing else; exit 1 when a file would change or holds conflict markers.
    pub fn show_json(&self) -> ExitStatus {
        let files: Vec<serde_json::Value> = self
            .files
            .iter()
            .map(|f| serde_json::json!({ "path": f.path, "change": f.change, "diff": f.diff }))
            .collect();
        let up_to_date = files.is_empty();
        let text = serde_json::to_string_pretty(
            &serde_json::json!({ "up_to_date": up_to_date, "files": files }),
        )
        .expect("JSON of strings");
        ui::out(&ui::escaped_json(&text));
        if up_to_date {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        }
    }

    /// Writes everything all-or-nothing and reports it; exit 1 when work is left to the user.
    pub fn apply(self, root: &Path) -> Result<ExitStatus> {
        if !self.writes.is_empty() {
            write_all(root, &self.writes)?;
        }
        for line in &self.report {
            ui::plain(line);
        }
        for (from, to) in &self.moves {
            remove_moved(root, from, to);
        }
        if self.is_empty() && self.unresolved.is_empty() {
            ui::plain("gpu-ci: generated files are up to date");
        }
        let mut failed = self.report_unresolved(true);
        if !self.conflicts.is_empty() {
            failed = true;
            ui::error(&format!(
                "your edits and the new templates overlap in {}",
                self.conflicts.join(", ")
            ));
            ui::help(
                "both sides are kept between <<<<<<< and >>>>>>> markers: keep what you need, delete the markers, then run `gpu-ci update --check`",
            );
        }
        if !self.beside_files.is_empty() {
            failed = true;
            for (path, lost) in &self.beside_files {
                ui::error(&format!(
                    "cannot tell what gpu-ci wrote in `{path}`: {}; so your file is left as it is",
                    lost.describe()
                ));
            }
            ui::help(
                "merge the `.new` file beside it by hand (take it and reapply your edits), then delete the `.new` file",
            );
        }
        Ok(if failed {
            ExitStatus::Failure
        } else {
            ExitStatus::Success
        })
    }
}

/// Removes `from`, a file that moved to `to`, when it and each folder above it inside the
/// project are what they seem (no link: a `.github` linked elsewhere must not lose a file out
/// of the project); then its folder, if that is left empty (no `.github/` for a project that
/// does not use GitHub).
fn remove_moved(root: &Path, from: &str, to: &str) {
    let rel = Path::new(from);
    let mut plain = true;
    let mut at = root.to_path_buf();
    for (i, part) in rel.components().enumerate() {
        at.push(part);
        let last = i + 1 == rel.components().count();
        let ok = std::fs::symlink_metadata(&at).is_ok_and(|m| {
            if last {
                m.file_type().is_file()
            } else {
                m.file_type().is_dir()
            }
        });
        plain &= ok;
    }
    if !plain {
        ui::warning(&format!(
            "left `{from}` where it is: it or a folder above it is not a plain file or folder"
        ));
        ui::help(&format!("delete it by hand: `{to}` holds it now"));
        return;
    }
    match std::fs::remove_file(root.join(rel)) {
        Ok(()) => {
            ui::plain(&format!("   moved {from} to {to}"));
            if let Some(parent) = rel.parent().filter(|p| !p.as_os_str().is_empty()) {
                // Fails, as it should, when anything else is in the folder.
                let _ = std::fs::remove_dir(root.join(parent));
            }
        }
        Err(err) => {
            ui::warning(&format!("cannot remove `{from}`: {err}"));
            ui::help(&format!("delete it by hand: `{to}` holds it now"));
        }
    }
}
