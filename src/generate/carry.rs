//! Carrying a maintainer's edits across files that were split or renamed (issue 27: the
//! runner's two files became four). The three-way merge works file by file; here each edited
//! region of an old file (its lines as gpu-ci wrote them, with three lines of context) is
//! looked for in every new file, and the edit is applied where that region is found exactly
//! once. An edit whose region is found nowhere (its code changed) or more than once is left
//! out, and said, with its lines, so that the maintainer can make it again by hand.

use similar::{ChangeTag, TextDiff};

/// One old file: what gpu-ci wrote (`base`) and what it holds now (`current`).
pub struct OldFile<'a> {
    pub path: &'a str,
    pub base: &'a str,
    pub current: &'a str,
}

/// An edit that could not be carried: where it was, and the edit itself as a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftEdit {
    pub path: String,
    /// The edited lines in the maintainer's file, 1-based, inclusive.
    pub first: usize,
    pub last: usize,
    pub diff: String,
}

/// The new files with the edits carried into them (the same order as `new`), and the edits
/// left out.
#[derive(Debug, Default)]
pub struct Carried {
    pub files: Vec<(String, String)>,
    pub left: Vec<LeftEdit>,
    /// How many edits (groups of nearby changed lines) went in.
    pub carried: usize,
}

const CONTEXT: usize = 3;

fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// Where `needle` occurs in `hay`, as a run of whole lines: the start of every occurrence.
fn occurrences(hay: &[String], needle: &[&str]) -> Vec<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return Vec::new();
    }
    (0..=hay.len() - needle.len())
        .filter(|&at| {
            hay[at..at + needle.len()]
                .iter()
                .zip(needle)
                .all(|(a, b)| a == b)
        })
        .collect()
}

/// Carries the edits of each old file into `new` (path, text).
pub fn carry(old: &[OldFile], new: &[(String, String)]) -> Carried {
    let mut files: Vec<(String, Vec<String>)> = new
        .iter()
        .map(|(path, text)| {
            (
                path.clone(),
                lines(text).into_iter().map(str::to_string).collect(),
            )
        })
        .collect();
    let mut carried = Carried::default();
    for file in old {
        let diff = TextDiff::from_lines(file.base, file.current);
        for group in diff.grouped_ops(CONTEXT) {
            let (Some(first), Some(last)) = (group.first(), group.last()) else {
                continue;
            };
            let before = first.old_range().start..last.old_range().end;
            let after = first.new_range().start..last.new_range().end;
            let base_lines = lines(file.base);
            let current_lines = lines(file.current);
            let region = &base_lines[before.clone()];
            // Where the region is, in every new file: it must be in exactly one place.
            let found: Vec<(usize, usize)> = files
                .iter()
                .enumerate()
                .flat_map(|(index, (_, text))| {
                    occurrences(text, region)
                        .into_iter()
                        .map(move |at| (index, at))
                })
                .collect();
            if let [(index, at)] = found[..] {
                let replacement = current_lines[after].iter().map(|l| l.to_string());
                files[index].1.splice(at..at + region.len(), replacement);
                carried.carried += 1;
                continue;
            }
            let mut shown = String::new();
            for op in &group {
                for change in diff.iter_changes(op) {
                    let sign = match change.tag() {
                        ChangeTag::Equal => ' ',
                        ChangeTag::Delete => '-',
                        ChangeTag::Insert => '+',
                    };
                    shown.push(sign);
                    shown.push_str(change.value().trim_end_matches('\n'));
                    shown.push('\n');
                }
            }
            // The edited lines themselves, without the context, in the maintainer's file.
            let changed: Vec<_> = group
                .iter()
                .filter(|op| op.tag() != similar::DiffTag::Equal)
                .map(|op| op.new_range())
                .collect();
            let first_line = changed.first().map_or(after.start, |r| r.start) + 1;
            let last_line = changed.last().map_or(after.end, |r| r.end).max(first_line);
            carried.left.push(LeftEdit {
                path: file.path.to_string(),
                first: first_line,
                last: last_line,
                diff: shown,
            });
        }
    }
    carried.files = files
        .into_iter()
        .map(|(path, text)| (path, text.concat()))
        .collect();
    carried
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(files: &[(&str, &str)]) -> Vec<(String, String)> {
        files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect()
    }

    const BASE: &str = "a1\na2\na3\na4\na5\nb1\nb2\nb3\nb4\nb5\nc1\nc2\nc3\nc4\nc5\n";

    #[test]
    fn an_edit_follows_its_lines_into_the_file_that_holds_them() {
        let current = BASE.replace("b3\n", "b3 edited\n");
        let carried = carry(
            &[OldFile {
                path: "old.py",
                base: BASE,
                current: &current,
            }],
            &new(&[
                ("one.py", "a1\na2\na3\na4\na5\nnew\n"),
                ("two.py", "x\na5\nb1\nb2\nb3\nb4\nb5\nc1\n"),
            ]),
        );
        assert_eq!(carried.left, []);
        assert_eq!(carried.carried, 1);
        assert_eq!(carried.files[0].1, "a1\na2\na3\na4\na5\nnew\n");
        assert_eq!(carried.files[1].1, "x\na5\nb1\nb2\nb3 edited\nb4\nb5\nc1\n");
    }

    #[test]
    fn an_edit_whose_lines_changed_or_repeat_is_left_and_named() {
        let current = BASE
            .replace("b3\n", "b3 edited\n")
            .replace("c5\n", "c5\nadded\n");
        let carried = carry(
            &[OldFile {
                path: "old.py",
                base: BASE,
                current: &current,
            }],
            &new(&[
                // b2 changed in the template: the edit's context is gone.
                ("one.py", "b1\nB2\nb3\nb4\nb5\n"),
                // c2..c5 twice: which one is ambiguous.
                ("two.py", "c2\nc3\nc4\nc5\n"),
                ("three.py", "c2\nc3\nc4\nc5\n"),
            ]),
        );
        assert_eq!(carried.carried, 0);
        assert_eq!(carried.left.len(), 2);
        assert_eq!(carried.left[0].path, "old.py");
        assert_eq!((carried.left[0].first, carried.left[0].last), (8, 8));
        assert!(carried.left[0].diff.contains("-b3\n+b3 edited\n"));
        assert_eq!((carried.left[1].first, carried.left[1].last), (16, 16));
        assert!(carried.left[1].diff.contains("+added\n"));
        // Nothing was written where the edit could not be placed.
        assert_eq!(carried.files[1].1, "c2\nc3\nc4\nc5\n");
    }
}
