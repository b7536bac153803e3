//! Unified diffs for `--dry-run` (and later `--check`).

use similar::TextDiff;

/// A unified diff from `old` to `new`, with line endings normalised; `None` for a new file.
pub fn unified(path: &str, old: Option<&str>, new: &str) -> String {
    let old_text = old.map(|t| t.replace("\r\n", "\n")).unwrap_or_default();
    let new_text = new.replace("\r\n", "\n");
    let old_name = if old.is_some() {
        format!("a/{path}")
    } else {
        "/dev/null".to_string()
    };
    TextDiff::from_lines(&old_text, &new_text)
        .unified_diff()
        .context_radius(3)
        .header(&old_name, &format!("b/{path}"))
        .to_string()
}
