//! Requirements files: where they are and which packages they name.

use std::fs;
use std::path::Path;

/// PEP 503 name normalisation: `Foo_Bar.baz` → `foo-bar-baz`.
pub fn normalise(name: &str) -> String {
    name.to_ascii_lowercase().replace(['_', '.'], "-")
}

/// `requirements*.txt` at the root and `*.txt` under `requirements/`, sorted.
pub fn find_files(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let txt_files = |dir: &Path| -> Vec<String> {
        fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.path().is_file())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|name| name.ends_with(".txt"))
                    .collect()
            })
            .unwrap_or_default()
    };
    files.extend(
        txt_files(root)
            .into_iter()
            .filter(|name| name.starts_with("requirements")),
    );
    files.extend(
        txt_files(&root.join("requirements"))
            .into_iter()
            .map(|name| format!("requirements/{name}")),
    );
    files.sort();
    files
}

/// `file` and every file it pulls in with `-r`/`-c`, relative to the project root, in
/// include order; missing or out-of-project files are left out.
pub fn with_includes(root: &Path, file: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut queue = vec![file.to_string()];
    while let Some(current) = queue.pop() {
        if found.contains(&current) {
            continue;
        }
        let Ok(text) = fs::read_to_string(root.join(&current)) else {
            continue;
        };
        found.push(current.clone());
        let dir = Path::new(&current).parent().unwrap_or(Path::new(""));
        for line in text.lines() {
            let line = line.trim();
            let target = ["-r", "--requirement", "-c", "--constraint"]
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
    fn names_skip_options_comments_and_paths() {
        let text =
            "-r base.txt\n# c\nTorch==2.5 ; python_version>'3'\n-e .\njax[cuda12]>=0.4  # gpu\n";
        assert_eq!(package_names(text), ["torch", "jax"]);
    }
}
