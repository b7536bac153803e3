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
    fn names_skip_options_comments_and_paths() {
        let text =
            "-r base.txt\n# c\nTorch==2.5 ; python_version>'3'\n-e .\njax[cuda12]>=0.4  # gpu\n";
        assert_eq!(package_names(text), ["torch", "jax"]);
    }
}
