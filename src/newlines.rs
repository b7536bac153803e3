//! Line endings and byte-order marks: what a file had is kept in what gpu-ci writes back.
//!
//! gpu-ci renders and edits text with `\n` line ends (toml_edit writes `\n`; templates and the
//! merge work on `\n`). A file that had `\r\n` (a Windows checkout, `core.autocrlf`) gets them
//! back: every line gpu-ci did not change keeps its exact bytes, and each new line takes the
//! ending most of the file's lines have.

use similar::{Algorithm, DiffOp, capture_diff_slices};

const BOM: char = '\u{feff}';

/// Splits a UTF-8 byte-order mark off `text`: whether it had one, and the rest.
pub fn strip_bom(text: &str) -> (bool, &str) {
    match text.strip_prefix(BOM) {
        Some(rest) => (true, rest),
        None => (false, text),
    }
}

/// `text` with the byte-order mark put back when `bom`.
pub fn with_bom(bom: bool, text: String) -> String {
    if bom { format!("{BOM}{text}") } else { text }
}

/// Whether most of `text`'s lines end with `\r\n`.
pub fn is_crlf(text: &str) -> bool {
    let crlf = text.matches("\r\n").count();
    crlf > 0 && crlf >= text.matches('\n').count() - crlf
}

/// `text` with `\r\n` line ends made `\n`.
pub fn to_lf(text: &str) -> String {
    text.replace("\r\n", "\n")
}

/// `new` (written with `\n`) with `original`'s line endings: the lines both share keep
/// `original`'s bytes; the others end as most of `original`'s lines do.
pub fn keep_line_endings(original: &str, new: &str) -> String {
    if !original.contains('\r') {
        return new.to_string();
    }
    let new = to_lf(new);
    let old_lines: Vec<&str> = original.split_inclusive('\n').collect();
    let old_normal: Vec<String> = old_lines
        .iter()
        .map(|line| match line.strip_suffix("\r\n") {
            Some(body) => format!("{body}\n"),
            None => (*line).to_string(),
        })
        .collect();
    let old_normal: Vec<&str> = old_normal.iter().map(String::as_str).collect();
    let new_lines: Vec<&str> = new.split_inclusive('\n').collect();
    let crlf = is_crlf(original);
    let mut out = String::with_capacity(new.len() + new_lines.len());
    for op in capture_diff_slices(Algorithm::Myers, &old_normal, &new_lines) {
        match op {
            DiffOp::Equal { old_index, len, .. } => {
                old_lines[old_index..old_index + len]
                    .iter()
                    .for_each(|line| out.push_str(line));
            }
            DiffOp::Delete { .. } => {}
            DiffOp::Insert {
                new_index, new_len, ..
            }
            | DiffOp::Replace {
                new_index, new_len, ..
            } => {
                for line in &new_lines[new_index..new_index + new_len] {
                    match line.strip_suffix('\n') {
                        Some(body) if crlf => {
                            out.push_str(body);
                            out.push_str("\r\n");
                        }
                        _ => out.push_str(line),
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_lines_keep_their_bytes_and_new_lines_follow_the_file() {
        let original = "a\r\nb\r\nc\n";
        let new = "a\nb\nadded\nc\n";
        assert_eq!(keep_line_endings(original, new), "a\r\nb\r\nadded\r\nc\n");
        assert_eq!(keep_line_endings("x\ny\n", "x\nz\n"), "x\nz\n");
        assert_eq!(keep_line_endings("x\r\n", "x\r\nlast"), "x\r\nlast");
    }

    #[test]
    fn a_bom_is_split_and_put_back() {
        let (bom, rest) = strip_bom("\u{feff}[tool]\n");
        assert!(bom);
        assert_eq!(with_bom(bom, rest.to_string()), "\u{feff}[tool]\n");
        assert_eq!(strip_bom("x"), (false, "x"));
    }

    #[test]
    fn crlf_is_what_most_lines_say() {
        assert!(is_crlf("a\r\nb\r\nc\n"));
        assert!(!is_crlf("a\nb\nc\r\n"));
        assert!(!is_crlf("no newline"));
    }
}
