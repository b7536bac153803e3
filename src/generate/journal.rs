//! The write journal, `.gpu-ci.journal`: what a write set is about to do, so that the next gpu-ci
//! command can finish or undo a write that a crash or SIGKILL cut short.
//!
//! It exists only while a write is under way, in one of two states:
//! - `prepared`: files are being staged beside their targets; nothing has replaced anything
//!   yet. Recovery removes every staged file and every folder the write made: nothing happened.
//! - `committed`: every file is staged and synced; the renames may have begun. Recovery renames
//!   each staged file that is still there over its target: everything happened.
//!
//! Each state is written whole to a temporary file and renamed into place, so a journal on disk
//! is never half-written.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoOp, Result};
use crate::project::{read_bytes, read_text};

/// Where the journal lives, relative to the project root.
pub const JOURNAL: &str = ".gpu-ci.journal";
/// The journal's own temporary file, while a state is being written.
const JOURNAL_TEMP: &str = ".gpu-ci.journal.tmp";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Prepared,
    Committed,
}

/// One file of the write set; paths are relative to the project root, with symbolic links
/// already followed (the file that really changes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub target: PathBuf,
    pub temp: PathBuf,
    /// FNV-1a of the staged bytes: a staged file is only moved into place when it is whole.
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    pub state: State,
    /// Folders the write makes, parents first; removed again (when empty) on a roll-back.
    pub created_dirs: Vec<PathBuf>,
    pub entries: Vec<Entry>,
}

/// The hash an entry records.
pub fn hash(bytes: &[u8]) -> String {
    format!("{:016x}", crate::generate::stamp::fnv1a(bytes))
}

/// Writes and syncs `bytes` to a new file `path`. Never through what is already there: a file
/// or a symbolic link of that name (one a pull request committed, say) is an error.
pub fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Syncs a folder, so that the renames and removals in it survive a power cut too.
pub fn sync_dir(dir: &Path) {
    // Not every file system can sync a folder; the renames are atomic either way.
    if let Ok(dir) = fs::File::open(dir) {
        let _ = dir.sync_all();
    }
}

impl Journal {
    /// Puts this state on disk in one step (a whole new journal renamed over the old one).
    pub fn store(&self, root: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("the journal serialises");
        let temp = root.join(JOURNAL_TEMP);
        // Left by a killed gpu-ci, or planted: removed (a link, not what it names), never used.
        let _ = fs::remove_file(&temp);
        let result = write_synced(&temp, text.as_bytes())
            .and_then(|()| fs::rename(&temp, root.join(JOURNAL)));
        if let Err(err) = result {
            let _ = fs::remove_file(&temp);
            return Err(Error::io(IoOp::Write, JOURNAL, err));
        }
        sync_dir(root);
        Ok(())
    }

    /// The journal a write left behind; `None` when there is none.
    ///
    /// It is checked before anything acts on it (`check`): a journal is never committed, but
    /// one can arrive with a pull request, and it must not make gpu-ci move or delete a file
    /// that no gpu-ci write makes.
    pub fn load(root: &Path) -> Result<Option<Journal>> {
        let path = root.join(JOURNAL);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => return Err(not_a_journal("it is not a regular file")),
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(Error::io(IoOp::Read, JOURNAL, err)),
        }
        let text = read_text(&path, JOURNAL)?;
        let journal: Journal =
            serde_json::from_str(&text).map_err(|err| not_a_journal(&err.to_string()))?;
        journal.check(root)?;
        Ok(Some(journal))
    }

    /// Whether every path is one a gpu-ci write makes: relative and plain, through no symbolic
    /// link; each staged file `.NAME.gpu-ci-PID.tmp` beside its target `NAME`; each folder made
    /// one that holds a target.
    fn check(&self, root: &Path) -> Result<()> {
        let refuse = |path: &Path, why: &str| {
            Err(not_a_journal(&format!(
                "it names `{}`, {why}",
                path.display()
            )))
        };
        for entry in &self.entries {
            for path in [&entry.target, &entry.temp] {
                if !is_plain(path) {
                    return refuse(path, "which is not a plain path inside the project");
                }
                if through_link(root, path) {
                    return refuse(path, "which is reached through a symbolic link");
                }
            }
            let name = entry.target.file_name().and_then(|n| n.to_str());
            let staged = entry.temp.file_name().and_then(|n| n.to_str());
            let beside = entry.temp.parent() == entry.target.parent()
                && staged
                    .and_then(staged_stem)
                    .is_some_and(|stem| name.is_some_and(|name| stem == format!(".{name}")));
            if !beside {
                return refuse(&entry.temp, "which is not a file gpu-ci stages for it");
            }
        }
        for dir in &self.created_dirs {
            let holds = |e: &Entry| e.target.parent().is_some_and(|p| p.starts_with(dir));
            if !is_plain(dir) || through_link(root, dir) || !self.entries.iter().any(holds) {
                return refuse(dir, "which is not a folder this write makes");
            }
        }
        Ok(())
    }

    pub fn remove(root: &Path) -> Result<()> {
        match fs::remove_file(root.join(JOURNAL)) {
            Ok(()) => {
                sync_dir(root);
                Ok(())
            }
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
            Err(err) => Err(Error::io(IoOp::Write, JOURNAL, err)),
        }
    }

    /// Undoes a prepared write: removes what it staged and the folders it made.
    pub fn roll_back(&self, root: &Path) {
        for entry in &self.entries {
            let _ = fs::remove_file(root.join(&entry.temp));
        }
        for dir in self.created_dirs.iter().rev() {
            // Only when empty: whatever else appeared there since is not ours.
            let _ = fs::remove_dir(root.join(dir));
        }
    }

    /// Finishes a committed write: moves every staged file that is still there into place.
    /// Returns how many were still to move.
    pub fn roll_forward(&self, root: &Path) -> Result<usize> {
        // Some files may be in place already: the journal, not "nothing was written", is
        // what to go by.
        let io = |op, path: &Path, err| {
            Error::io(op, path, err).with_help(format!(
                "the write is recorded in `{JOURNAL}`: fix the cause, then any gpu-ci command finishes it"
            ))
        };
        let mut moved = 0;
        for entry in &self.entries {
            let temp = root.join(&entry.temp);
            match fs::symlink_metadata(&temp) {
                Ok(_) => {}
                // Already renamed: the rename consumed the staged file.
                Err(err) if err.kind() == ErrorKind::NotFound => continue,
                Err(err) => return Err(io(IoOp::Read, &entry.temp, err)),
            }
            let bytes = read_bytes(&temp, &entry.temp.display().to_string())?;
            if hash(&bytes) != entry.hash {
                return Err(Error::usage(format!(
                    "the staged file `{}` of an interrupted gpu-ci write is not what was staged",
                    entry.temp.display()
                ))
                .with_help(format!(
                    "delete `{JOURNAL}` and the `.gpu-ci-*.tmp` files it names, then run `gpu-ci update`"
                )));
            }
            fs::rename(&temp, root.join(&entry.target))
                .map_err(|err| io(IoOp::Move, &entry.target, err))?;
            moved += 1;
        }
        for dir in self.folders() {
            sync_dir(&root.join(dir));
        }
        Ok(moved)
    }

    /// The folders that hold the write set's files.
    pub fn folders(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = self
            .entries
            .iter()
            .map(|e| e.target.parent().map(Path::to_path_buf).unwrap_or_default())
            .collect();
        dirs.sort();
        dirs.dedup();
        dirs
    }
}

fn not_a_journal(why: &str) -> Error {
    Error::usage(format!(
        "`{JOURNAL}` (what an interrupted gpu-ci write was doing) is not a gpu-ci journal: {why}"
    ))
    .with_help(format!(
        "delete `{JOURNAL}` (gpu-ci never commits it; one that came with a change is not gpu-ci's), then check the generated files with `gpu-ci update --check`"
    ))
}

/// Relative, non-empty, and only names: no root, no `.` or `..`.
pub fn is_plain(path: &Path) -> bool {
    path.components().next().is_some()
        && path.components().all(|c| matches!(c, Component::Normal(_)))
}

/// Whether a folder or file on the way from `root` to `rel` (those that exist) is a symbolic
/// link: a write records its paths with links already followed, so a link there is not its.
pub fn through_link(root: &Path, rel: &Path) -> bool {
    let mut path = root.to_path_buf();
    for part in rel {
        path.push(part);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}

/// `.NAME` of a staged file's name `.NAME.gpu-ci-PID.tmp`; `None` for any other name.
fn staged_stem(name: &str) -> Option<&str> {
    let (stem, pid) = name.strip_suffix(".tmp")?.rsplit_once(".gpu-ci-")?;
    let staged = stem.len() > 1
        && stem.starts_with('.')
        && !pid.is_empty()
        && pid.chars().all(|c| c.is_ascii_digit());
    staged.then_some(stem)
}

/// Whether `name` is a file gpu-ci stages: `.NAME.gpu-ci-PID.tmp`, or the journal's own.
pub fn is_staged_name(name: &str) -> bool {
    name == JOURNAL_TEMP || staged_stem(name).is_some()
}

/// Removes stale staged files from `dir`: under the project lock, no other gpu-ci is writing,
/// so any there were left by one that was killed (or by an older version of gpu-ci). A symbolic
/// link with such a name goes too (the link, never what it names): gpu-ci stages only regular
/// files, and creates each anew, so a link there could only misdirect a write.
pub fn sweep(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file() || t.is_symlink()))
        .filter(|e| e.file_name().to_str().is_some_and(is_staged_name))
        .filter(|e| fs::remove_file(e.path()).is_ok())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_names_are_recognised_and_nothing_else() {
        assert!(is_staged_name(".label-gpu-tests.yml.gpu-ci-4242.tmp"));
        assert!(is_staged_name(".gpu-ci.journal.tmp"));
        assert!(!is_staged_name("label-gpu-tests.yml.gpu-ci-4242.tmp"));
        assert!(!is_staged_name(".x.gpu-ci-.tmp"));
        assert!(!is_staged_name(".x.gpu-ci-12a.tmp"));
        assert!(!is_staged_name("notes.tmp"));
    }

    #[test]
    fn a_journal_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal {
            state: State::Committed,
            created_dirs: vec![".github".into()],
            entries: vec![Entry {
                target: ".github/a.txt".into(),
                temp: ".github/.a.txt.gpu-ci-1.tmp".into(),
                hash: hash(b"new"),
            }],
        };
        journal.store(dir.path()).unwrap();
        assert_eq!(Journal::load(dir.path()).unwrap(), Some(journal.clone()));
        fs::create_dir(dir.path().join(".github")).unwrap();
        fs::write(dir.path().join(".github/.a.txt.gpu-ci-1.tmp"), "new").unwrap();
        assert_eq!(journal.roll_forward(dir.path()).unwrap(), 1);
        assert_eq!(
            fs::read_to_string(dir.path().join(".github/a.txt")).unwrap(),
            "new"
        );
        // Again: nothing left to move.
        assert_eq!(journal.roll_forward(dir.path()).unwrap(), 0);
        Journal::remove(dir.path()).unwrap();
        assert_eq!(Journal::load(dir.path()).unwrap(), None);
    }
}
