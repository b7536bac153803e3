//! What every gpu-ci command does first in a project: wait its turn (an advisory lock, so two
//! commands never interleave their writes), then settle a write that an earlier command left
//! unfinished (a crash, a SIGKILL), before it reads anything.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

use crate::error::{Error, IoOp, Result};
use crate::generate::journal::{JOURNAL, Journal, State, is_plain, sweep, through_link};
use crate::generate::lock::{LEGACY_LOCK, LOCK, Lock};
use crate::generate::write::written_at;
use crate::ui;

/// Holds the project's lock until it drops.
pub struct Session {
    _lock: Option<File>,
}

impl Session {
    /// Takes the project's lock (waiting, with a note, while another gpu-ci holds it), then
    /// finishes or undoes an interrupted write. `own` names every file a gpu-ci write makes
    /// (the commands know them): a journal is acted on only for those.
    pub fn start(root: &Path, own: &[&str]) -> Result<Session> {
        // Not a folder: the command itself says so, in its own words.
        if !root.is_dir() {
            return Ok(Session { _lock: None });
        }
        // The lock is on the project folder itself: no lock file to ignore or commit, and
        // the system releases it whenever the process ends, however it ends.
        let folder = File::open(root).map_err(|err| Error::io(IoOp::Read, root, err))?;
        match folder.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                ui::note("waiting for another gpu-ci command in this project to finish");
                folder
                    .lock()
                    .map_err(|err| Error::io(IoOp::Read, root, err))?;
            }
            // A file system without locks (some network mounts): go on without one.
            Err(TryLockError::Error(err)) if err.kind() == std::io::ErrorKind::Unsupported => {}
            Err(TryLockError::Error(err)) => return Err(Error::io(IoOp::Read, root, err)),
        }
        recover(root, own)?;
        Ok(Session {
            _lock: Some(folder),
        })
    }
}

/// Settles what an interrupted write left: rolled back before its commit, forward after it;
/// and removes staged files nobody will use. A journal is acted on only when it is one a write
/// on this machine left (git tracks neither it nor its staged files) and names only gpu-ci's
/// own files (`own`, fixed names; never what a lock lists, since a lock can come with the tree
/// too): one that came
/// with a pull request is refused, and nothing is moved or removed (issue 20).
pub fn recover(root: &Path, own: &[&str]) -> Result<()> {
    let journal = Journal::load(root)?;
    if let Some(journal) = &journal {
        refuse_tracked(root, journal)?;
        refuse_foreign_targets(root, journal, own)?;
        match journal.state {
            State::Prepared => {
                journal.roll_back(root);
                Journal::remove(root)?;
                ui::note(
                    "an earlier gpu-ci command was interrupted while staging its files; they were removed, and nothing of that write was applied",
                );
            }
            State::Committed => {
                let moved = journal.roll_forward(root)?;
                Journal::remove(root)?;
                let total = journal.entries.len();
                ui::note(&format!(
                    "an earlier gpu-ci command was interrupted while writing its files; its write was completed ({moved} of {total} were still to move into place)"
                ));
            }
        }
    }
    // Only now (a committed write's staged files are what completes it): staged files nobody
    // will use, where gpu-ci writes (what its lock and the journal list) and beside the journal.
    let mut dirs: Vec<PathBuf> = vec![PathBuf::new()];
    if let Some(journal) = &journal {
        dirs.extend(journal.folders());
    }
    if let Ok(Some(lock)) = Lock::read(root) {
        let files = lock
            .files
            .iter()
            .map(String::as_str)
            .chain([LOCK, LEGACY_LOCK]);
        dirs.extend(files.filter_map(|f| Path::new(f).parent().map(Path::to_path_buf)));
    }
    // The lock comes from the project (a pull request, say): only its folders inside it.
    dirs.retain(|dir| dir.as_os_str().is_empty() || (is_plain(dir) && !through_link(root, dir)));
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        sweep(&root.join(dir));
    }
    Ok(())
}

/// The error for a journal gpu-ci will not act on: what it names stays as it is.
fn untrusted(why: String) -> Error {
    Error::usage(format!(
        "`{JOURNAL}` {why}; nothing it names was moved or removed"
    ))
    .with_help(format!(
        "a gpu-ci journal exists only while gpu-ci writes and is never committed: check what it names, then delete `{JOURNAL}` and the `.gpu-ci-*.tmp` files it lists (`git rm` them if a commit added them), and run `gpu-ci update --check`"
    ))
}

/// Refuses a journal when git tracks it or any file it stages: a write on this machine never
/// commits them, so they came with a commit (a pull request's, say).
fn refuse_tracked(root: &Path, journal: &Journal) -> Result<()> {
    let mut asked: Vec<PathBuf> = vec![PathBuf::from(JOURNAL)];
    asked.extend(journal.entries.iter().map(|e| e.temp.clone()));
    match tracked(root, &asked) {
        Tracked::None => Ok(()),
        Tracked::Some(paths) => Err(untrusted(format!(
            "is tracked by git with what it stages ({}): it came with a commit, not from an interrupted gpu-ci",
            paths.join(", ")
        ))),
        Tracked::Unknown => Err(untrusted(
            "is in a git checkout, and git could not say whether it came with a commit".into(),
        )),
    }
}

enum Tracked {
    None,
    Some(Vec<String>),
    Unknown,
}

/// Which of `paths` (relative to `root`) git tracks, asked without running anything of the
/// project's (`isolated::git`: a git from outside the project, no hook, no fsmonitor, no
/// GIT_* variable from the caller, stdin closed) and without pathspec magic. Outside a git
/// checkout nothing is tracked; inside one, without a git to ask, it is unknown.
fn tracked(root: &Path, paths: &[PathBuf]) -> Tracked {
    let mut args = vec![
        "--literal-pathspecs",
        "-c",
        "core.untrackedCache=false",
        "ls-files",
        "-z",
        "--",
    ];
    // Journal paths come from JSON text, so they are UTF-8.
    args.extend(paths.iter().filter_map(|path| path.to_str()));
    let output = crate::isolated::git(root, &args);
    let in_checkout = || {
        std::fs::canonicalize(root)
            .is_ok_and(|real| real.ancestors().any(|dir| dir.join(".git").exists()))
    };
    match output {
        Ok(out) if out.status.success() => {
            let listed: Vec<String> = out
                .stdout
                .split(|b| *b == 0)
                .filter(|name| !name.is_empty())
                .map(|name| format!("`{}`", String::from_utf8_lossy(name)))
                .collect();
            if listed.is_empty() {
                Tracked::None
            } else {
                Tracked::Some(listed)
            }
        }
        // No git, or git failed, outside a checkout: nothing can have been checked out with
        // it. Inside one (a `.git` above), not knowing is not "untracked": no git outside the
        // project is no proof that the journal did not come with a commit.
        _ if !in_checkout() => Tracked::None,
        _ => Tracked::Unknown,
    }
}

/// Refuses a journal that names a file no gpu-ci write makes (`.env`, a `.pth` in a virtual
/// environment, a module beside the runner): only `own` (every file some target generates, the
/// lock, the config and durations files: fixed names) and a `FILE.new` beside one of them, each
/// as a write records it (a link inside the project followed). Never the names a lock lists: the
/// lock on disk, or one the journal stages, comes with the tree as the journal does (a pull
/// request as a tarball, outside git), so it could list anything.
fn refuse_foreign_targets(root: &Path, journal: &Journal, own: &[&str]) -> Result<()> {
    let mut names: Vec<String> = own.iter().map(|s| s.to_string()).collect();
    names.push(LOCK.to_string());
    names.push(LEGACY_LOCK.to_string());
    let mut allowed: Vec<PathBuf> = Vec::new();
    for name in &names {
        for name in [name.clone(), format!("{name}.new")] {
            allowed.push(PathBuf::from(&name));
            allowed.extend(written_at(root, &name));
        }
    }
    match journal
        .entries
        .iter()
        .find(|e| !allowed.contains(&e.target))
    {
        None => Ok(()),
        Some(entry) => Err(untrusted(format!(
            "names `{}`, which is not a file gpu-ci writes",
            entry.target.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::generate::journal::{Entry, JOURNAL as JOURNAL_NAME, hash};

    /// The files these tests' writes make.
    const OWN: &[&str] = &["new/a.txt", "b.txt"];

    fn journal(state: State) -> Journal {
        Journal {
            state,
            created_dirs: vec!["new".into()],
            entries: vec![
                Entry {
                    target: "new/a.txt".into(),
                    temp: "new/.a.txt.gpu-ci-7.tmp".into(),
                    hash: hash(b"a2"),
                },
                Entry {
                    target: "b.txt".into(),
                    temp: ".b.txt.gpu-ci-7.tmp".into(),
                    hash: hash(b"b2"),
                },
            ],
        }
    }

    #[test]
    fn a_prepared_write_is_rolled_back() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("b.txt"), "b1").unwrap();
        fs::create_dir(root.join("new")).unwrap();
        fs::write(root.join("new/.a.txt.gpu-ci-7.tmp"), "a2").unwrap();
        // Killed while staging the second file.
        fs::write(root.join(".b.txt.gpu-ci-7.tmp"), "b").unwrap();
        journal(State::Prepared).store(root).unwrap();
        recover(root, OWN).unwrap();
        let left: Vec<_> = fs::read_dir(root)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, ["b.txt"]);
        assert_eq!(fs::read_to_string(root.join("b.txt")).unwrap(), "b1");
    }

    #[test]
    fn a_committed_write_is_rolled_forward() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir(root.join("new")).unwrap();
        // Killed after the first rename.
        fs::write(root.join("new/a.txt"), "a2").unwrap();
        fs::write(root.join("b.txt"), "b1").unwrap();
        fs::write(root.join(".b.txt.gpu-ci-7.tmp"), "b2").unwrap();
        journal(State::Committed).store(root).unwrap();
        recover(root, OWN).unwrap();
        assert_eq!(fs::read_to_string(root.join("new/a.txt")).unwrap(), "a2");
        assert_eq!(fs::read_to_string(root.join("b.txt")).unwrap(), "b2");
        assert!(!root.join(JOURNAL_NAME).exists());
        assert!(!root.join(".b.txt.gpu-ci-7.tmp").exists());
    }

    /// A journal that names what no gpu-ci write makes (one committed with a pull request) is
    /// refused before anything is moved or removed.
    #[test]
    fn a_journal_naming_paths_no_write_makes_is_refused_and_acted_on_by_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::write(dir.path().join("victim"), "precious").unwrap();
        fs::write(root.join("payload"), "owned").unwrap();
        fs::write(root.join(".victim.gpu-ci-1.tmp"), "owned").unwrap();
        std::os::unix::fs::symlink(dir.path(), root.join("up")).unwrap();
        let victim = dir.path().join("victim").display().to_string();
        let entry = |target: &str, temp: &str| Entry {
            target: target.into(),
            temp: temp.into(),
            hash: hash(b"owned"),
        };
        let crafted = [
            (State::Committed, vec![], entry("../victim", "payload")),
            (State::Committed, vec![], entry(&victim, "payload")),
            (
                State::Committed,
                vec![],
                entry("sub/../../victim", "payload"),
            ),
            (State::Committed, vec![], entry("up/victim", "payload")),
            (State::Committed, vec![], entry("victim", "payload")),
            (
                State::Committed,
                vec![],
                entry("sub/victim", ".victim.gpu-ci-1.tmp"),
            ),
            (State::Prepared, vec![], entry("x", "../victim")),
            (
                State::Prepared,
                vec![],
                entry("victim", &format!("{victim}.gpu-ci-1.tmp")),
            ),
            (
                State::Prepared,
                vec!["..".into()],
                entry("x", ".x.gpu-ci-1.tmp"),
            ),
            (
                State::Prepared,
                vec!["up".into()],
                entry("up/x", "up/.x.gpu-ci-1.tmp"),
            ),
            (
                State::Prepared,
                vec!["sub".into()],
                entry("x", ".x.gpu-ci-1.tmp"),
            ),
        ];
        for (state, created_dirs, entry) in crafted {
            let journal = Journal {
                state,
                created_dirs,
                entries: vec![entry],
            };
            journal.store(&root).unwrap();
            let err = recover(&root, OWN).unwrap_err();
            assert!(
                err.to_string().contains("is not a gpu-ci journal"),
                "{journal:?}: {err}"
            );
            assert!(
                err.help().unwrap().contains("delete `.gpu-ci.journal`"),
                "{err:?}"
            );
            assert_eq!(
                fs::read_to_string(dir.path().join("victim")).unwrap(),
                "precious"
            );
            assert_eq!(fs::read_to_string(root.join("payload")).unwrap(), "owned");
            assert!(root.join("sub").is_dir() && root.join("up").exists());
        }
    }

    /// A committed write that cannot finish may have moved some files already: its help
    /// points at the journal, never says that nothing was written.
    #[test]
    fn a_committed_write_that_cannot_finish_says_the_journal_finishes_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join(".b.txt.gpu-ci-7.tmp"), "b2").unwrap();
        fs::create_dir(root.join("b.txt")).unwrap();
        fs::write(root.join("b.txt/keep"), "x").unwrap();
        journal(State::Committed).store(root).unwrap();
        let err = recover(root, OWN).unwrap_err();
        assert!(
            err.to_string().contains("cannot move into place `b.txt`"),
            "{err}"
        );
        let help = err.help().unwrap();
        assert!(
            help.contains("the write is recorded in `.gpu-ci.journal`"),
            "{help}"
        );
        assert!(!help.contains("nothing was written"), "{help}");
        assert!(root.join(JOURNAL_NAME).exists());
    }

    #[test]
    fn a_staged_file_that_is_not_what_was_staged_is_never_moved_into_place() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir(root.join("new")).unwrap();
        fs::write(root.join("new/a.txt"), "a2").unwrap();
        fs::write(root.join("b.txt"), "b1").unwrap();
        fs::write(root.join(".b.txt.gpu-ci-7.tmp"), "something else").unwrap();
        journal(State::Committed).store(root).unwrap();
        let err = recover(root, OWN).unwrap_err();
        assert!(err.to_string().contains("is not what was staged"), "{err}");
        assert_eq!(fs::read_to_string(root.join("b.txt")).unwrap(), "b1");
    }
}
