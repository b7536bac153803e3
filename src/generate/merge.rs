//! Three-way line merge: the maintainer's edits and the template's changes, both kept.

use similar::{DiffOp, TextDiff};

/// One side's change to the base: base lines `start..end` become `lines`.
#[derive(Debug, Clone)]
struct Hunk {
    start: usize,
    end: usize,
    lines: Vec<String>,
}

fn split_lines(text: &str) -> Vec<String> {
    text.split_inclusive('\n').map(str::to_string).collect()
}

/// One side's changes to `base`, sorted, each separated from the next by at least one
/// unchanged line.
///
/// Built from the diff's matching blocks only, each checked (in order on both sides, the same
/// lines): `similar`'s Myers ops can carry a wrong `old_index` on an insert after a reorder,
/// which an earlier version trusted and then sliced out of order (issue 20). Whatever the diff
/// says, the hunks rebuild `side` exactly from `base`.
fn hunks(base: &[String], side: &[String]) -> Vec<Hunk> {
    let base_refs: Vec<&str> = base.iter().map(String::as_str).collect();
    let side_refs: Vec<&str> = side.iter().map(String::as_str).collect();
    let diff = TextDiff::configure()
        .algorithm(similar::Algorithm::Myers)
        .diff_slices(&base_refs, &side_refs);
    let mut out = Vec::new();
    let (mut old_at, mut new_at) = (0, 0);
    let mut gap = |old: std::ops::Range<usize>, new: std::ops::Range<usize>| {
        if !old.is_empty() || !new.is_empty() {
            out.push(Hunk {
                start: old.start,
                end: old.end,
                lines: side[new].to_vec(),
            });
        }
    };
    for op in diff.ops() {
        let DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = *op
        else {
            continue;
        };
        let in_order = old_index >= old_at && new_index >= new_at;
        let same = in_order
            && old_index + len <= base.len()
            && new_index + len <= side.len()
            && base[old_index..old_index + len] == side[new_index..new_index + len];
        if len == 0 || !same {
            // Not a usable match: its lines fall into the surrounding change.
            continue;
        }
        gap(old_at..old_index, new_at..new_index);
        old_at = old_index + len;
        new_at = new_index + len;
    }
    gap(old_at..base.len(), new_at..side.len());
    out
}

/// The base lines `start..end` with `hunks` (all inside that range) applied.
fn apply(base: &[String], start: usize, end: usize, hunks: &[&Hunk]) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor = start;
    for hunk in hunks {
        out.extend_from_slice(&base[cursor..hunk.start]);
        out.extend(hunk.lines.iter().cloned());
        cursor = hunk.end;
    }
    out.extend_from_slice(&base[cursor..end]);
    out
}

/// Two hunks touch when their base ranges overlap or meet; such edits are merged as one region.
fn touches(a: &Hunk, b_start: usize, b_end: usize) -> bool {
    a.start <= b_end && b_start <= a.end
}

/// Moves the hunks from `next` on that touch the region into it; says whether any did.
fn pull<'a>(
    hunks: &'a [Hunk],
    next: &mut usize,
    (start, end): (&mut usize, &mut usize),
    into: &mut Vec<&'a Hunk>,
) -> bool {
    let before = *next;
    while let Some(hunk) = hunks.get(*next).filter(|h| touches(h, *start, *end)) {
        *start = (*start).min(hunk.start);
        *end = (*end).max(hunk.end);
        into.push(hunk);
        *next += 1;
    }
    *next > before
}

/// Whether `text` still holds the `<<<<<<<` … `>>>>>>>` lines of an unresolved conflict.
pub fn has_conflict_markers(text: &str) -> bool {
    let mut lines = text.lines();
    lines.any(|l| l.starts_with("<<<<<<<")) && lines.any(|l| l.starts_with(">>>>>>>"))
}

pub struct Merged {
    pub text: String,
    pub conflicts: usize,
}

/// Merges `ours` (the file now) and `theirs` (the new render) from their common `base`.
/// Overlapping changes that differ become git-style conflict markers.
pub fn merge(base: &str, ours: &str, theirs: &str, ours_label: &str, theirs_label: &str) -> Merged {
    let base_lines = split_lines(base);
    let ours_hunks = hunks(&base_lines, &split_lines(ours));
    let theirs_hunks = hunks(&base_lines, &split_lines(theirs));

    let mut out: Vec<String> = Vec::new();
    let mut conflicts = 0;
    let mut cursor = 0;
    let (mut i, mut j) = (0, 0);
    while i < ours_hunks.len() || j < theirs_hunks.len() {
        // Start a region at whichever hunk comes first, then pull in every hunk that touches it.
        let take_ours = j >= theirs_hunks.len()
            || (i < ours_hunks.len() && ours_hunks[i].start <= theirs_hunks[j].start);
        let first = if take_ours {
            &ours_hunks[i]
        } else {
            &theirs_hunks[j]
        };
        let (mut start, mut end) = (first.start, first.end);
        let (mut ours_in, mut theirs_in): (Vec<&Hunk>, Vec<&Hunk>) = (Vec::new(), Vec::new());
        // Each side's hunks are sorted, so the region grows until neither side touches it
        // (`|`, not `||`: both sides pull on every round).
        while pull(&ours_hunks, &mut i, (&mut start, &mut end), &mut ours_in)
            | pull(
                &theirs_hunks,
                &mut j,
                (&mut start, &mut end),
                &mut theirs_in,
            )
        {}
        out.extend_from_slice(&base_lines[cursor..start]);
        let ours_version = apply(&base_lines, start, end, &ours_in);
        let theirs_version = apply(&base_lines, start, end, &theirs_in);
        if theirs_in.is_empty() || ours_version == theirs_version {
            out.extend(ours_version);
        } else if ours_in.is_empty() {
            out.extend(theirs_version);
        } else {
            conflicts += 1;
            let line = |text: String, out: &mut Vec<String>| {
                if let Some(last) = out.last_mut()
                    && !last.ends_with('\n')
                {
                    last.push('\n');
                }
                out.push(text);
            };
            line(format!("<<<<<<< {ours_label}\n"), &mut out);
            out.extend(ours_version);
            line("=======\n".to_string(), &mut out);
            out.extend(theirs_version);
            line(format!(">>>>>>> {theirs_label}\n"), &mut out);
        }
        cursor = end;
    }
    out.extend_from_slice(&base_lines[cursor..]);
    Merged {
        text: out.concat(),
        conflicts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(base: &str, ours: &str, theirs: &str) -> Merged {
        merge(base, ours, theirs, "yours", "gpu-ci")
    }

    #[test]
    fn separate_edits_combine() {
        let base = "a\nb\nc\nd\ne\n";
        let ours = "a\nb\nmine\nc\nd\ne\n";
        let theirs = "a\nb\nc\nd\nE\n";
        let merged = m(base, ours, theirs);
        assert_eq!(merged.conflicts, 0);
        assert_eq!(merged.text, "a\nb\nmine\nc\nd\nE\n");
    }

    #[test]
    fn same_edit_on_both_sides_is_taken_once() {
        let merged = m("a\nb\n", "a\nB\n", "a\nB\n");
        assert_eq!((merged.conflicts, merged.text.as_str()), (0, "a\nB\n"));
    }

    #[test]
    fn overlapping_edits_keep_both_sides_in_markers() {
        let merged = m("a\ngpu: L4\nc\n", "a\ngpu: T4\nc\n", "a\ngpu: H100\nc\n");
        assert_eq!(merged.conflicts, 1);
        assert_eq!(
            merged.text,
            "a\n<<<<<<< yours\ngpu: T4\n=======\ngpu: H100\n>>>>>>> gpu-ci\nc\n"
        );
    }

    #[test]
    fn conflict_markers_are_found_only_as_a_pair_in_order() {
        let merged = m("a\ngpu: L4\n", "a\ngpu: T4\n", "a\ngpu: H100\n");
        assert!(has_conflict_markers(&merged.text));
        assert!(!has_conflict_markers("a\n>>>>>>> x\n<<<<<<< y\n"));
        assert!(!has_conflict_markers("# <<<<<<< in a comment\n"));
        // As `gpu-ci doctor` finds them too.
        assert!(has_conflict_markers(
            "a\n<<<<<<< yours (x)\nb\n=======\nc\n>>>>>>> gpu-ci 0.1.0\n"
        ));
        assert!(!has_conflict_markers("a\n=======\nb\n"));
        assert!(!has_conflict_markers("<<<<<<<< long\n"));
    }

    #[test]
    fn unchanged_sides_pass_through() {
        assert_eq!(m("x\ny\n", "x\ny\n", "x\nz\n").text, "x\nz\n");
        assert_eq!(m("x\ny\n", "x\nq\ny\n", "x\ny\n").text, "x\nq\ny\n");
        assert_eq!(m("x", "x\n", "x").text, "x\n");
    }
}
