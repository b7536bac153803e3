//! Which CI systems a project already uses, from the files each one reads.

use std::path::Path;

/// A CI system's name as `--ci` and the `ci` key spell it, and the file that shows it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CiFound {
    pub name: &'static str,
    pub from: &'static str,
}

/// The CI systems whose files are in `root`: `.github/` (holding more than gpu-ci's own lock),
/// `.gitlab-ci.yml`, `bitbucket-pipelines.yml`; in that order.
pub fn detect(root: &Path) -> Vec<CiFound> {
    let mut found = Vec::new();
    let github = root.join(".github");
    // gpu-ci keeps its lock in `.github/` for every target: that alone says nothing.
    let github_used = std::fs::read_dir(&github).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|entry| entry.file_name() != "gpu-ci.lock")
    });
    if github_used {
        found.push(CiFound {
            name: "github",
            from: ".github/",
        });
    }
    for (name, file) in [
        ("gitlab", ".gitlab-ci.yml"),
        ("bitbucket", "bitbucket-pipelines.yml"),
    ] {
        if root.join(file).is_file() {
            found.push(CiFound { name, from: file });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_system_by_its_file_and_the_lock_alone_is_not_github() {
        let dir = tempfile::tempdir().unwrap();
        assert!(detect(dir.path()).is_empty());
        std::fs::create_dir(dir.path().join(".github")).unwrap();
        std::fs::write(dir.path().join(".github/gpu-ci.lock"), "{}").unwrap();
        assert!(detect(dir.path()).is_empty());
        std::fs::write(dir.path().join(".gitlab-ci.yml"), "").unwrap();
        std::fs::write(dir.path().join("bitbucket-pipelines.yml"), "").unwrap();
        std::fs::create_dir(dir.path().join(".github/workflows")).unwrap();
        let names: Vec<&str> = detect(dir.path()).iter().map(|f| f.name).collect();
        assert_eq!(names, ["github", "gitlab", "bitbucket"]);
    }
}
