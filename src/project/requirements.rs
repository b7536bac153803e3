//! Requirements files: where they are and which packages they name.

use std::fs;
use std::path::Path;

/// PEP 503 name normalisation: `Foo_Bar.baz` → `foo-bar-baz`.
pub fn normalise(name: &str) -> String {
    name.to_ascii_lowercase().replace(['_', '.'], "-")
}

/// What a requirements file is for, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// `test-requirements.txt`, `requirements-test.txt`, `requirements/tests.txt`, ...
    Test,
    /// `dev-requirements.txt`, `requirements_dev.txt`, `requirements/dev.in`, ...
    Dev,
    /// Anything else: the project's own (`requirements.txt`), ...
    Other,
    /// Named for CI, release, docs, lint or publishing tooling (`ci.txt`, `release.txt`): never
    /// the source of the test dependencies.
    Tooling,
}

/// Words of a requirements file's name that say it serves tooling, not the tests.
const TOOLING_WORDS: [&str; 12] = [
    "ci",
    "release",
    "releases",
    "docs",
    "doc",
    "publish",
    "publishing",
    "deploy",
    "lint",
    "style",
    "quality",
    "upload",
];

/// Whether a name (an extra's, a file's word) names tooling rather than the tests: `quality`,
/// `docs`, `ci`, `release`, ...
pub fn is_tooling_name(name: &str) -> bool {
    TOOLING_WORDS.contains(&name.to_ascii_lowercase().as_str())
}

/// The role of a requirements file, from the words of its name besides "requirements".
pub fn role(path: &str) -> Role {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    let words: Vec<String> = stem
        .to_ascii_lowercase()
        .split(['-', '_', '.'])
        .filter(|w| !w.is_empty() && *w != "requirements" && *w != "reqs")
        .map(str::to_string)
        .collect();
    let has = |names: &[&str]| words.iter().any(|w| names.contains(&w.as_str()));
    if has(&TOOLING_WORDS) {
        Role::Tooling
    } else if has(&["test", "tests", "testing"]) {
        Role::Test
    } else if has(&["dev", "develop", "development"]) {
        Role::Dev
    } else {
        Role::Other
    }
}

/// Whether a file name is a requirements file: `requirements*.txt|in`, `*-requirements.txt|in`
/// or `*_requirements.txt|in`.
fn is_requirements_name(name: &str) -> bool {
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return false;
    };
    (ext == "txt" || ext == "in")
        && (stem.starts_with("requirements")
            || stem.ends_with("-requirements")
            || stem.ends_with("_requirements"))
}

/// Requirements files at the root (`requirements*.txt`, `dev-requirements.txt`, `*.in`) and
/// every `.txt`/`.in` under `requirements/` and its per-package subfolders
/// (`requirements/<pkg>/test.txt`), relative and sorted; a `.in` is left out when the `.txt`
/// compiled from it sits beside it. Symlinks are not followed.
pub fn find_files(root: &Path) -> Vec<String> {
    let regular_files = |dir: &Path| -> Vec<String> {
        fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut files: Vec<String> = regular_files(root)
        .into_iter()
        .filter(|name| is_requirements_name(name))
        .collect();
    let folder = root.join("requirements");
    if fs::symlink_metadata(&folder).is_ok_and(|m| m.is_dir()) {
        let mut folders = vec!["requirements".to_string()];
        for entry in fs::read_dir(&folder).into_iter().flatten().flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir())
                && let Ok(name) = entry.file_name().into_string()
                && !name.starts_with('.')
            {
                folders.push(format!("requirements/{name}"));
            }
        }
        for dir in folders {
            files.extend(
                regular_files(&root.join(&dir))
                    .into_iter()
                    .filter(|name| name.ends_with(".txt") || name.ends_with(".in"))
                    .map(|name| format!("{dir}/{name}")),
            );
        }
    }
    let compiled: Vec<String> = files
        .iter()
        .filter_map(|f| f.strip_suffix(".txt").map(str::to_string))
        .collect();
    files.retain(|f| {
        f.strip_suffix(".in")
            .is_none_or(|stem| !compiled.iter().any(|c| c == stem))
    });
    files.sort();
    files
}

/// `file` and every file it pulls in with `-r`/`-c`, relative to the project root, in
/// include order; missing or out-of-project files, and symlinks, are left out.
pub fn with_includes(root: &Path, file: &str) -> Vec<String> {
    includes(root, file, true)
}

/// `file` and the files it installs from (`-r`, not the constraints of `-c`), inside the
/// project, each once.
pub fn installing(root: &Path, file: &str) -> Vec<String> {
    includes(root, file, false)
}

fn includes(root: &Path, file: &str, constraints: bool) -> Vec<String> {
    let options: &[&str] = if constraints {
        &["-r", "--requirement", "-c", "--constraint"]
    } else {
        &["-r", "--requirement"]
    };
    let mut found: Vec<String> = Vec::new();
    let mut queue = vec![file.to_string()];
    while let Some(current) = queue.pop() {
        if found.contains(&current) {
            continue;
        }
        let Some(text) = super::read_regular(root, &current) else {
            continue;
        };
        found.push(current.clone());
        let dir = Path::new(&current).parent().unwrap_or(Path::new(""));
        for line in text.lines() {
            let line = line.trim();
            let target = options
                .iter()
                .find_map(|opt| line.strip_prefix(opt))
                .map(|rest| rest.trim_start_matches('=').trim());
            if let Some(target) = target.filter(|t| !t.is_empty())
                && let Some(path) = normalise_path(&dir.join(target))
            {
                queue.push(path);
            }
        }
    }
    found
}

/// `requirements/../base.txt` → `base.txt`; `None` when it leaves the project.
fn normalise_path(path: &Path) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for part in path.components() {
        match part {
            std::path::Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            std::path::Component::ParentDir => {
                parts.pop()?;
            }
            std::path::Component::CurDir => {}
            _ => return None,
        }
    }
    Some(parts.join("/"))
}

/// The requirements a requirements file lists, as written (markers kept): lines joined where
/// they end in `\\`, comments and options (`--hash` …) cut off; includes, options, editable and
/// path or URL lines skipped (what they install has no name to check here).
pub fn requirement_lines(text: &str) -> Vec<String> {
    text.replace("\\\r\n", " ")
        .replace("\\\n", " ")
        .lines()
        .filter_map(|line| {
            // pip's comments: `#` at the start or after whitespace.
            let line = match line.find(" #").or_else(|| line.find("\t#")) {
                Some(at) => &line[..at],
                None if line.trim_start().starts_with('#') => "",
                None => line,
            };
            let line = match line.find(" --").or_else(|| line.find("\t--")) {
                Some(at) => &line[..at],
                None => line,
            };
            let line = line.trim();
            let first = line
                .split([' ', ';', '[', '<', '>', '=', '!', '~', '@'])
                .next()?;
            let archive = [".whl", ".tar.gz", ".zip"]
                .iter()
                .any(|end| first.ends_with(end));
            let named = line.starts_with(|c: char| c.is_ascii_alphanumeric())
                && !first.contains([':', '/', '\\'])
                && !archive;
            named.then(|| line.to_string())
        })
        .collect()
}

/// The distributions a requirements file names (options and includes skipped).
pub fn package_names(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.split(" #").next().unwrap_or("").trim())
        .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with('-'))
        .filter_map(|line| {
            let end = line
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
                .unwrap_or(line.len());
            let name = &line[..end];
            (!name.is_empty() && name != ".").then(|| normalise(name))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn includes_are_followed_relative_to_the_including_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("requirements")).unwrap();
        fs::write(dir.path().join("base.txt"), "numpy\n").unwrap();
        fs::write(
            dir.path().join("requirements/test.txt"),
            "-r ../base.txt\n-c pins.txt\npytest\n",
        )
        .unwrap();
        fs::write(
            dir.path().join("requirements/pins.txt"),
            "-r ../../outside.txt\n",
        )
        .unwrap();
        assert_eq!(
            with_includes(dir.path(), "requirements/test.txt"),
            ["requirements/test.txt", "requirements/pins.txt", "base.txt"]
        );
    }

    #[test]
    fn requirement_lines_keep_markers_and_skip_what_has_no_name() {
        let text = "# comment\nnumpy>=1.26 # why\ntorch==2.4 \\\n    --hash=sha256:abc\n-r base.txt\n-e .\n./local\ngit+https://x/y.git\npkg @ https://x/pkg.whl\ndist.whl\npywin32; sys_platform == 'win32'\n--index-url https://x\n";
        assert_eq!(
            requirement_lines(text),
            [
                "numpy>=1.26",
                "torch==2.4",
                "pkg @ https://x/pkg.whl",
                "pywin32; sys_platform == 'win32'"
            ]
        );
    }

    #[test]
    fn includes_for_installing_leave_constraints_out() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("test.txt"),
            "-r base.txt\n-c pins.txt\npytest\n",
        )
        .unwrap();
        fs::write(dir.path().join("base.txt"), "numpy\n").unwrap();
        fs::write(dir.path().join("pins.txt"), "numpy<3\n").unwrap();
        assert_eq!(installing(dir.path(), "test.txt"), ["test.txt", "base.txt"]);
    }

    #[test]
    fn roles_come_from_the_name() {
        assert_eq!(role("dev-requirements.txt"), Role::Dev);
        assert_eq!(role("requirements-test.txt"), Role::Test);
        assert_eq!(role("requirements/tests.in"), Role::Test);
        assert_eq!(role("requirements_dev.txt"), Role::Dev);
        assert_eq!(role("test-requirements.txt"), Role::Test);
        assert_eq!(role("requirements.txt"), Role::Other);
        assert_eq!(role("requirements/docs.txt"), Role::Tooling);
        // Issue 22: `ci.txt` held twine and awscli, and was taken as the test source.
        assert_eq!(role("requirements/ci.txt"), Role::Tooling);
        assert_eq!(role("requirements-release.txt"), Role::Tooling);
        assert_eq!(role("requirements/publish.in"), Role::Tooling);
        assert_eq!(role("requirements/pkg/test.txt"), Role::Test);
    }

    #[test]
    fn finds_every_common_name_and_prefers_compiled_files() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "requirements.txt",
            "dev-requirements.txt",
            "requirements-test.in",
            "requirements-test.txt",
            "docs_requirements.in",
            "setup.txt",
        ] {
            fs::write(dir.path().join(name), "x\n").unwrap();
        }
        fs::create_dir(dir.path().join("requirements")).unwrap();
        fs::write(dir.path().join("requirements/ci.in"), "x\n").unwrap();
        fs::create_dir(dir.path().join("requirements/pkg")).unwrap();
        fs::write(dir.path().join("requirements/pkg/test.txt"), "x\n").unwrap();
        assert_eq!(
            find_files(dir.path()),
            [
                "dev-requirements.txt",
                "docs_requirements.in",
                "requirements-test.txt",
                "requirements.txt",
                "requirements/ci.in",
                "requirements/pkg/test.txt"
            ]
        );
    }

    #[test]
    fn names_skip_options_comments_and_paths() {
        let text =
            "-r base.txt\n# c\nTorch==2.5 ; python_version>'3'\n-e .\njax[cuda12]>=0.4  # gpu\n";
        assert_eq!(package_names(text), ["torch", "jax"]);
    }
}
