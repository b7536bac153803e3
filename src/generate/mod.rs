//! Turning rendered files into changes on disk: the hash stamp, the lock, the three-way merge,
//! diffs, and the all-or-nothing write. Knows nothing of what the files say.

pub mod carry;
pub mod changes;
pub mod diff;
pub mod engine;
pub mod journal;
pub mod lock;
pub mod merge;
pub mod session;
pub mod stamp;
pub mod write;

use std::path::Path;

use crate::error::{Error, Result};
use crate::newlines::{is_crlf, keep_line_endings, to_lf};
use changes::ChangeSet;
use lock::{LEGACY_LOCK, LOCK, Lock};
use stamp::{content_hash, recorded_hash};
use write::read_target;

/// One rendered file, relative to the project root.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub path: &'static str,
    pub contents: String,
}

/// What to do with a generated file that exists and differs from the new render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnEdited {
    /// `init`: refuse, naming the files, unless `force` (then overwrite).
    Refuse { force: bool },
    /// `update` and `pin`: merge three ways; `force` recreates deleted files.
    Merge { force: bool },
}

/// What becomes of one generated file under `OnEdited::Merge`.
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
    Unrecoverable(String, Lost),
    /// Generated once and deleted since: left deleted.
    KeptDeleted,
    /// Holds conflict markers from an earlier update: left alone until they are resolved.
    Unresolved,
}

/// Why what gpu-ci last wrote in a file cannot be recovered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lost {
    /// The file's `gpu-ci-hash:` line is gone.
    NoHashLine,
    /// No lock, and no commit in git history holds the file as gpu-ci wrote it.
    NoLock,
    /// The lock is from another gpu-ci version, and git history does not help either.
    OtherVersion(String),
    /// The lock's render has another hash, and no commit holds one with this hash: the hash
    /// line was edited, or the file came from elsewhere.
    UnknownHash,
}

impl Lost {
    pub fn describe(&self) -> String {
        match self {
            Lost::NoHashLine => "its `gpu-ci-hash:` line was removed".into(),
            Lost::NoLock => {
                format!("there is no `{LOCK}` and git history has no copy of it as gpu-ci wrote it")
            }
            Lost::OtherVersion(version) => format!(
                "`{LOCK}` is from gpu-ci {version}, whose templates this version does not have, and git history has no copy of it as gpu-ci wrote it"
            ),
            Lost::UnknownHash => format!(
                "its `gpu-ci-hash:` line matches neither what `{LOCK}` records nor any copy in git history; was the line edited?"
            ),
        }
    }
}

/// The changes that bring the generated files and the lock to `rendered`.
///
/// `base` is what the lock re-renders to (when its version is this one): the files as gpu-ci
/// last wrote them, the base of each merge. `decided` holds files whose text the caller
/// already settled under `OnEdited::Merge` (edits carried across a split, `carry`): they are
/// written as they are, instead of merged.
pub fn regenerate(
    root: &Path,
    rendered: &[Rendered],
    new_lock: &Lock,
    old_lock: Option<&Lock>,
    base: Option<&[Rendered]>,
    on_edited: OnEdited,
    decided: &[(String, String)],
) -> Result<ChangeSet> {
    let mut changes = ChangeSet::default();
    let mut refused = Vec::new();
    for new in rendered {
        let current = read_target(root, new.path)?;
        let old = current.as_deref();
        // A working copy with `\r\n` line ends is compared and merged line by line as `\n`,
        // and written back with its own line ends.
        let crlf = old.is_some_and(is_crlf);
        let old_lf = old.map(|text| if crlf { to_lf(text) } else { text.to_string() });
        let form = |text: String| match old {
            Some(old) if crlf => keep_line_endings(old, &text),
            _ => text,
        };
        let settled = decided.iter().find(|(path, _)| path == new.path);
        if let (OnEdited::Merge { .. }, Some((_, text))) = (on_edited, settled) {
            if old_lf.as_deref() != Some(text.as_str()) {
                let verb = (*text != new.contents).then_some("edits carried");
                changes.change(new.path, old, form(text.clone()), verb);
            }
            continue;
        }
        match on_edited {
            OnEdited::Refuse { force } => {
                if old_lf.as_deref().is_some_and(|old| old != new.contents) && !force {
                    refused.push(format!("`{}`", new.path));
                }
                if old_lf.as_deref() != Some(new.contents.as_str()) {
                    changes.change(new.path, old, form(new.contents.clone()), None);
                }
            }
            OnEdited::Merge { force } => {
                match merge_file(root, new, old_lf.as_deref(), old_lock, base, force) {
                    Outcome::Unchanged => {}
                    Outcome::KeptDeleted => changes.note(format!(
                        "    kept {} deleted (`gpu-ci update --force` recreates it)",
                        new.path
                    )),
                    Outcome::Unresolved => changes.unresolved(new.path),
                    Outcome::Create(text) | Outcome::Replace(text) => {
                        changes.change(new.path, old, form(text), None)
                    }
                    Outcome::Merged(text) => {
                        changes.change(new.path, old, form(text), Some("merged"))
                    }
                    Outcome::Conflict(text, n) => {
                        changes.conflict(new.path, old.unwrap_or_default(), form(text), n)
                    }
                    Outcome::Unrecoverable(text, lost) => {
                        changes.beside(new.path, old.unwrap_or_default(), form(text), lost)
                    }
                }
            }
        }
    }
    if !refused.is_empty() {
        let subject = if refused.len() == 1 {
            "a generated file already exists and differs"
        } else {
            "generated files already exist and differ"
        };
        return Err(Error::usage(format!(
            "{subject} from what init would write: {}",
            refused.join(", ")
        ))
        .with_help("run `gpu-ci update` to upgrade them keeping your edits, or `gpu-ci init --force` to overwrite them"));
    }
    // The lock is gpu-ci's own record, never a maintainer's edit: it is simply rewritten.
    let old_text = read_target(root, LOCK)?;
    changes.change(LOCK, old_text.as_deref(), new_lock.render(), None);
    // A lock where gpu-ci 0.1 kept it moves to the root with this write.
    if root.join(LEGACY_LOCK).is_file() {
        changes.remove_after(LEGACY_LOCK, LOCK);
    }
    Ok(changes)
}

/// What gpu-ci last wrote in the file that now holds `current`: itself when it is unedited,
/// else as `recover_base` finds it; `None` when it cannot be recovered.
pub fn written_base(
    root: &Path,
    path: &str,
    current: &str,
    base: Option<&[Rendered]>,
) -> Option<String> {
    let recorded = recorded_hash(current)?;
    if content_hash(current) == recorded {
        return Some(current.to_string());
    }
    recover_base(root, path, recorded, base)
}

/// The file as gpu-ci last wrote it: from the lock's render when it matches the recorded hash,
/// else found in git history by that hash.
fn recover_base(
    root: &Path,
    path: &str,
    recorded: &str,
    base: Option<&[Rendered]>,
) -> Option<String> {
    if let Some(file) = base.into_iter().flatten().find(|f| f.path == path)
        && content_hash(&file.contents) == recorded
    {
        return Some(file.contents.clone());
    }
    let git = |args: &[&str]| -> Option<String> {
        let output = crate::isolated::git(root, args).ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let commits = git(&["log", "--format=%H", "-n", "200", "--", path])?;
    commits.lines().find_map(|commit| {
        let text = git(&["show", "--no-textconv", &format!("{commit}:{path}")])?;
        (content_hash(&text) == recorded).then_some(text)
    })
}

/// Decides what becomes of one generated file, given what it holds now (`None`: missing).
fn merge_file(
    root: &Path,
    new: &Rendered,
    current: Option<&str>,
    lock: Option<&Lock>,
    base: Option<&[Rendered]>,
    force: bool,
) -> Outcome {
    let Some(current) = current else {
        let was_generated = lock.is_some_and(|l| l.files.iter().any(|f| f == new.path));
        return if was_generated && !force {
            Outcome::KeptDeleted
        } else {
            Outcome::Create(new.contents.clone())
        };
    };
    if current == new.contents {
        return Outcome::Unchanged;
    }
    if merge::has_conflict_markers(current) {
        return Outcome::Unresolved;
    }
    let Some(recorded) = recorded_hash(current) else {
        return Outcome::Unrecoverable(new.contents.clone(), Lost::NoHashLine);
    };
    if content_hash(current) == recorded {
        return Outcome::Replace(new.contents.clone());
    }
    // Edited; if gpu-ci would write what it wrote before, the edits simply stay.
    if recorded_hash(&new.contents) == Some(recorded) {
        return Outcome::Unchanged;
    }
    let Some(base_text) = recover_base(root, new.path, recorded, base) else {
        let lost = match (lock, base) {
            (None, _) => Lost::NoLock,
            (Some(lock), None) => Lost::OtherVersion(lock.version.clone()),
            (Some(_), Some(_)) => Lost::UnknownHash,
        };
        return Outcome::Unrecoverable(new.contents.clone(), lost);
    };
    let base = base_text;
    let merged = merge::merge(
        &base,
        current,
        &new.contents,
        &format!("yours ({})", new.path),
        &format!("gpu-ci {}", env!("CARGO_PKG_VERSION")),
    );
    match merged.conflicts {
        0 if merged.text == current => Outcome::Unchanged,
        0 => Outcome::Merged(merged.text),
        n => Outcome::Conflict(merged.text, n),
    }
}
