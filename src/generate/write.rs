//! Writing a set of files all-or-nothing: every file is staged first, then renamed into place.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoOp, Result};

/// One file to write, relative to the project root.
pub struct FileWrite {
    pub path: String,
    pub contents: String,
}

struct Staged {
    temp: PathBuf,
    target: PathBuf,
}

fn temp_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.gpu-ci-{}.tmp", std::process::id()))
}

/// Stages every file beside its target, then renames them all; on any failure before the
/// renames, removes what it staged and the folders it made, so nothing is left half-written.
pub fn write_all(root: &Path, files: &[FileWrite]) -> Result<()> {
    let mut created_dirs: Vec<PathBuf> = Vec::new();
    let mut staged: Vec<Staged> = Vec::new();
    let result = stage(root, files, &mut created_dirs, &mut staged);
    if let Err(err) = result {
        for file in &staged {
            let _ = fs::remove_file(&file.temp);
        }
        for dir in created_dirs.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
        return Err(err);
    }
    for (index, file) in staged.iter().enumerate() {
        if let Err(err) = fs::rename(&file.temp, &file.target) {
            for rest in &staged[index..] {
                let _ = fs::remove_file(&rest.temp);
            }
            // Renames within one folder almost never fail; if one does, say what did change.
            let shown = file.target.strip_prefix(root).unwrap_or(&file.target);
            return Err(Error::io(IoOp::Move, shown, err).with_help(format!(
                "{index} of {} files were already replaced; fix the cause and run the command again",
                staged.len()
            )));
        }
    }
    Ok(())
}

fn stage(
    root: &Path,
    files: &[FileWrite],
    created_dirs: &mut Vec<PathBuf>,
    staged: &mut Vec<Staged>,
) -> Result<()> {
    for file in files {
        let target = root.join(&file.path);
        let shown = Path::new(&file.path);
        if let Some(parent) = target.parent() {
            let mut missing = Vec::new();
            let mut dir = parent;
            while !dir.exists() {
                missing.push(dir.to_path_buf());
                match dir.parent() {
                    Some(up) => dir = up,
                    None => break,
                }
            }
            for dir in missing.into_iter().rev() {
                fs::create_dir(&dir).map_err(|err| {
                    Error::io(
                        IoOp::CreateFolder,
                        dir.strip_prefix(root).unwrap_or(&dir),
                        err,
                    )
                })?;
                created_dirs.push(dir);
            }
        }
        let temp = temp_path(&target);
        fs::write(&temp, &file.contents).map_err(|err| Error::io(IoOp::Write, shown, err))?;
        staged.push(Staged {
            temp: temp.clone(),
            target: target.clone(),
        });
        // A replaced file keeps its permissions (an executable script stays executable).
        if let Ok(meta) = fs::metadata(&target) {
            fs::set_permissions(&temp, meta.permissions())
                .map_err(|err| Error::io(IoOp::Write, shown, err))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_file_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        // A file where a folder must go makes the second write fail.
        fs::write(dir.path().join("blocker"), "x").unwrap();
        let files = [
            FileWrite {
                path: "a/b/one.txt".into(),
                contents: "1".into(),
            },
            FileWrite {
                path: "blocker/two.txt".into(),
                contents: "2".into(),
            },
        ];
        assert!(write_all(dir.path(), &files).is_err());
        let left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, ["blocker"]);
    }
}
