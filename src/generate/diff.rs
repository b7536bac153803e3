//! Unified diffs for `--dry-run` and `--check`.

use similar::TextDiff;

use crate::newlines::to_lf;

/// A unified diff from `old` to `new`, with line endings normalised; `None` for a new file.
pub fn unified(path: &str, old: Option<&str>, new: &str) -> String {
    let old_text = old.map(to_lf).unwrap_or_default();
    let new_text = to_lf(new);
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
