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

/// Lines added and removed by a diff `unified` made: its `+`/`-` lines less the two headers.
pub fn counts(diff: &str) -> (usize, usize) {
    let mut added = 0;
    let mut removed = 0;
    for line in diff.lines() {
        if line.starts_with("+++ ") || line.starts_with("--- ") {
            continue;
        }
        if line.starts_with('+') {
            added += 1;
        } else if line.starts_with('-') {
            removed += 1;
        }
    }
    (added, removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_leave_out_the_headers() {
        let diff = unified("a.txt", Some("one\ntwo\n--- x\n"), "one\n+++ y\nthree\n");
        assert_eq!(counts(&diff), (2, 2), "{diff}");
        assert_eq!(counts(&unified("b.txt", None, "x\ny\n")), (2, 0));
    }
}
