//! Writing a set of files as one transaction: all of them or none, also across a crash.
//!
//! 1. Every target is resolved (a symbolic link is followed to the file it names, which must be
//!    inside the project) and checked: a folder or a special file where a file must go is
//!    refused before anything is written.
//! 2. A journal in state `prepared` names every file about to be staged and every folder about
//!    to be made; then each file is staged beside its target and synced.
//! 3. The journal turns `committed`; each staged file is renamed over its target; the journal
//!    is removed.
//!
//! A failure before step 3 removes what was staged and the folders made: nothing was written.
//! A crash is settled by the next gpu-ci command (`session`): before the commit it is rolled
//! back, after it rolled forward. Concurrent gpu-ci commands are kept apart by `session`'s lock.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoOp, Result};
use crate::generate::journal::{Entry, Journal, State, hash, is_plain, sweep, write_synced};
use crate::project::read_text;

/// One file to write, relative to the project root.
pub struct FileWrite {
    pub path: String,
    pub contents: String,
}

/// `.NAME.gpu-ci-PID.tmp` beside `target`.
fn temp_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.gpu-ci-{}.tmp", std::process::id()))
}

fn refuse(message: String, help: &str) -> Error {
    Error::usage(message).with_help(help)
}

/// The file that writing `rel` really changes, relative to `root_real` (the canonical root),
/// and the folders that must be made for it (adding them to `to_create`, parents first).
fn resolve(
    root: &Path,
    root_real: &Path,
    rel: &str,
    to_create: &mut Vec<PathBuf>,
) -> Result<PathBuf> {
    let path = root.join(rel);
    let name = path
        .file_name()
        .ok_or_else(|| Error::internal(format!("`{rel}` names no file")))?;
    // The nearest folder on the path that exists; the ones below it will be made.
    let mut missing: Vec<&std::ffi::OsStr> = Vec::new();
    let mut existing = path.parent().unwrap_or(root);
    while let Err(err) = fs::symlink_metadata(existing) {
        // Not a folder: a file higher up, which the check below names.
        if !matches!(err.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) {
            return Err(Error::io(IoOp::Read, existing, err));
        }
        missing.push(existing.file_name().unwrap_or_default());
        existing = existing.parent().unwrap_or(root);
    }
    let shown_existing = existing.strip_prefix(root).unwrap_or(existing).display();
    let existing_real = fs::canonicalize(existing).map_err(|err| {
        refuse(
            format!(
                "cannot write `{rel}`: `{shown_existing}` is a symbolic link to nothing ({err})"
            ),
            "remove the broken link, or point it at a folder inside the project",
        )
    })?;
    if !existing_real.is_dir() {
        return Err(refuse(
            format!("cannot write `{rel}`: `{shown_existing}` is a file, not a folder"),
            "move the file away, then run the command again; nothing was written",
        ));
    }
    let Ok(parent) = existing_real.strip_prefix(root_real) else {
        return Err(refuse(
            format!(
                "cannot write `{rel}`: `{shown_existing}` leads to `{}`, outside the project",
                existing_real.display()
            ),
            "gpu-ci writes only inside the project; replace the link with a folder; nothing was written",
        ));
    };
    let mut parent = parent.to_path_buf();
    for dir in missing.iter().rev() {
        parent.push(dir);
        if !to_create.contains(&parent) {
            to_create.push(parent.clone());
        }
    }
    let target = parent.join(name);
    if !missing.is_empty() {
        return Ok(target);
    }
    let absolute = root_real.join(&target);
    match fs::symlink_metadata(&absolute) {
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(target),
        Err(err) => Err(Error::io(IoOp::Read, rel, err)),
        Ok(meta) if meta.file_type().is_symlink() => {
            // Keep the link; write the file it names, when that file is inside the project.
            let real = fs::canonicalize(&absolute).map_err(|err| {
                refuse(
                    format!("cannot write `{rel}`: it is a symbolic link to nothing ({err})"),
                    "remove the broken link or point it at a file inside the project; nothing was written",
                )
            })?;
            let Ok(inside) = real.strip_prefix(root_real) else {
                return Err(refuse(
                    format!(
                        "cannot write `{rel}`: it is a symbolic link to `{}`, outside the project",
                        real.display()
                    ),
                    "gpu-ci writes only inside the project; replace the link with a copy of the file; nothing was written",
                ));
            };
            if !real.is_file() {
                return Err(refuse(
                    format!(
                        "cannot write `{rel}`: it links to `{}`, which is not a file",
                        inside.display()
                    ),
                    "point the link at a file, or remove it; nothing was written",
                ));
            }
            Ok(inside.to_path_buf())
        }
        Ok(meta) if meta.is_dir() => Err(refuse(
            format!("cannot write `{rel}`: it is a folder"),
            "move the folder away (gpu-ci writes a file there), then run the command again; nothing was written",
        )),
        Ok(meta) if !meta.is_file() => Err(refuse(
            format!("cannot write `{rel}`: it is not a regular file"),
            "remove it, then run the command again; nothing was written",
        )),
        Ok(_) => Ok(target),
    }
}

/// What `rel` holds now, read where a write would put it (`None`: nothing there yet): through
/// a symbolic link only to a file inside the project, as `write_all` would write it. A link out
/// of the project, which a pull request can commit, is refused here as the write refuses it,
/// so that no diff (`update --check` in CI) ever shows a file from outside the project.
pub fn read_target(root: &Path, rel: &str) -> Result<Option<String>> {
    let root_real = fs::canonicalize(root).map_err(|err| Error::io(IoOp::Read, root, err))?;
    let target = root_real.join(resolve(root, &root_real, rel, &mut Vec::new())?);
    if !target.is_file() {
        return Ok(None);
    }
    read_text(&target, rel).map(Some)
}

/// The file a write of `rel` would change, relative to the canonical root (a link inside the
/// project followed); `None` where a write would refuse it. A journal records targets so.
pub fn written_at(root: &Path, rel: &str) -> Option<PathBuf> {
    let root_real = fs::canonicalize(root).ok()?;
    resolve(root, &root_real, rel, &mut Vec::new()).ok()
}

/// The file a write of `rel` would change (canonical, a link inside the project followed), or
/// the error a write gives for it: a link out of the project, a file where a folder goes. For a
/// writer of its own (`durations`) that must refuse what [`write_all`] refuses.
pub fn checked_target(root: &Path, rel: &str) -> Result<PathBuf> {
    let root_real = fs::canonicalize(root).map_err(|err| Error::io(IoOp::Read, root, err))?;
    let target = resolve(root, &root_real, rel, &mut Vec::new())?;
    Ok(root_real.join(target))
}

/// Writes every file or none: checks all targets, stages every file under a `prepared`
/// journal, commits, renames. See the module's comment for what a crash leaves.
pub fn write_all(root: &Path, files: &[FileWrite]) -> Result<()> {
    let root_real = fs::canonicalize(root).map_err(|err| Error::io(IoOp::Read, root, err))?;
    let mut created_dirs = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    for file in files {
        let target = resolve(root, &root_real, &file.path, &mut created_dirs)?;
        if !is_plain(&target) {
            return Err(Error::internal(format!(
                "`{}` is not a plain path",
                file.path
            )));
        }
        if entries.iter().any(|e| e.target == target) {
            return Err(refuse(
                format!(
                    "cannot write `{}`: another file of this write is a link to the same file `{}`",
                    file.path,
                    target.display()
                ),
                "replace the link with a file; nothing was written",
            ));
        }
        entries.push(Entry {
            temp: temp_path(&target),
            target,
            hash: hash(file.contents.as_bytes()),
        });
    }
    let mut journal = Journal {
        state: State::Prepared,
        created_dirs,
        entries,
    };
    // Files staged by a gpu-ci that was killed (or by an older version) where this one stages.
    for dir in journal.folders() {
        sweep(&root_real.join(dir));
    }
    journal.store(&root_real)?;
    let staged = stage(&root_real, &journal, files).and_then(|()| {
        journal.state = State::Committed;
        journal.store(&root_real)
    });
    if let Err(err) = staged {
        journal.roll_back(&root_real);
        let _ = Journal::remove(&root_real);
        return Err(err);
    }
    // Committed: from here the write completes, now or at the next gpu-ci command.
    journal.roll_forward(&root_real)?;
    Journal::remove(&root_real)
}

/// Makes the journal's folders and stages each file beside its target.
fn stage(root: &Path, journal: &Journal, files: &[FileWrite]) -> Result<()> {
    for dir in &journal.created_dirs {
        match fs::create_dir(root.join(dir)) {
            Err(err) if err.kind() != ErrorKind::AlreadyExists => {
                return Err(Error::io(IoOp::CreateFolder, dir, err));
            }
            _ => {}
        }
    }
    for (entry, file) in journal.entries.iter().zip(files) {
        let temp = root.join(&entry.temp);
        let shown = Path::new(&file.path);
        write_synced(&temp, file.contents.as_bytes())
            .map_err(|err| Error::io(IoOp::Write, shown, err))?;
        // A replaced file keeps its permissions (an executable script stays executable).
        if let Ok(meta) = fs::metadata(root.join(&entry.target)) {
            fs::set_permissions(&temp, meta.permissions())
                .map_err(|err| Error::io(IoOp::Write, shown, err))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, contents: &str) -> FileWrite {
        FileWrite {
            path: path.into(),
            contents: contents.into(),
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_failing_file_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        // A file where a folder must go: refused before anything is written.
        fs::write(dir.path().join("blocker"), "x").unwrap();
        let files = [file("a/b/one.txt", "1"), file("blocker/two.txt", "2")];
        let err = write_all(dir.path(), &files).unwrap_err();
        assert!(err.to_string().contains("`blocker` is a file"), "{err}");
        assert_eq!(names(dir.path()), ["blocker"]);
    }

    #[test]
    fn a_write_replaces_every_file_and_leaves_no_journal() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("old.txt"), "old").unwrap();
        write_all(dir.path(), &[file("old.txt", "new"), file("d/e.txt", "e")]).unwrap();
        assert_eq!(names(dir.path()), ["d", "old.txt"]);
        assert_eq!(names(&dir.path().join("d")), ["e.txt"]);
        assert_eq!(
            fs::read_to_string(dir.path().join("old.txt")).unwrap(),
            "new"
        );
    }
}
