//! The three-way merge never panics and never loses a line (issue 20, item 12): over random
//! small triples whose sides reorder, duplicate and delete the base's lines, and end to end,
//! where an edit the merge cannot place ends as a conflict, never as exit 101.

use std::collections::HashMap;

use gpu_ci::generate::merge::merge;
use proptest::prelude::*;

use crate::common::Project;

/// Lines from a small alphabet, so that sides share and repeat them.
fn lines() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "d", "e"]), 0..9)
        .prop_map(|v| v.into_iter().map(str::to_string).collect())
}

/// One side: the base edited by moves, duplicates, deletions and insertions.
fn edited(base: Vec<String>) -> impl Strategy<Value = Vec<String>> {
    let edit = (
        0u8..4,
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        0u8..5,
    );
    prop::collection::vec(edit, 0..6).prop_map(move |edits| {
        let mut side = base.clone();
        for (kind, at, to, letter) in edits {
            let letter = ["a", "b", "c", "d", "x"][usize::from(letter)].to_string();
            if side.is_empty() {
                side.push(letter);
                continue;
            }
            let at = at.index(side.len());
            match kind {
                0 => {
                    let line = side.remove(at);
                    let to = to.index(side.len() + 1);
                    side.insert(to, line);
                }
                1 => side.insert(to.index(side.len() + 1), side[at].clone()),
                2 => {
                    side.remove(at);
                }
                _ => side.insert(at, letter),
            }
        }
        side
    })
}

fn triple() -> impl Strategy<Value = (Vec<String>, Vec<String>, Vec<String>, bool)> {
    lines().prop_flat_map(|base| {
        let random = prop_oneof![edited(base.clone()), lines()];
        (Just(base.clone()), random.clone(), random, any::<bool>())
    })
}

fn text(lines: &[String], final_newline: bool) -> String {
    let mut text = lines.join("\n");
    if !lines.is_empty() && final_newline {
        text.push('\n');
    }
    text
}

fn counts(text: &str) -> HashMap<&str, usize> {
    let mut counts = HashMap::new();
    for line in text.lines() {
        *counts.entry(line).or_default() += 1;
    }
    counts
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn merge_never_panics_nor_loses_a_line((base, ours, theirs, newline) in triple()) {
        let (base, ours, theirs) = (text(&base, true), text(&ours, newline), text(&theirs, true));
        let merged = merge(&base, &ours, &theirs, "yours", "gpu-ci");
        let (out, before) = (counts(&merged.text), counts(&base));
        // Every line a side added is there, as often as it added it (inside markers or not).
        for side in [&ours, &theirs] {
            for (line, n) in counts(side) {
                let added = n.saturating_sub(before.get(line).copied().unwrap_or(0));
                let kept = out.get(line).copied().unwrap_or(0);
                prop_assert!(kept >= added, "`{line}` lost: {base:?} {ours:?} {theirs:?} -> {:?}", merged.text);
            }
        }
        if merged.conflicts == 0 {
            prop_assert!(!merged.text.contains("<<<<<<<"), "{:?}", merged.text);
        }
        // One side unchanged: the other side, exactly.
        prop_assert_eq!(merge(&base, &ours, &base, "y", "g").text, ours.clone());
        prop_assert_eq!(merge(&base, &base, &theirs, "y", "g").text, theirs.clone());
        prop_assert_eq!(merge(&base, &ours, &ours, "y", "g").text, ours);
    }
}

/// The triple of issue 20 that panicked at `merge.rs:42`.
#[test]
fn the_reordered_triple_of_issue_20_merges() {
    let merged = merge("c\nd\nb\na\n", "a\na\n", "", "yours", "gpu-ci");
    assert_eq!(merged.conflicts, 1, "{}", merged.text);
    assert!(merged.text.contains("a\na\n"), "{}", merged.text);
}

/// Eleven lines of the runner reversed, and a config change that re-renders it: `update
/// --check` and `doctor` report it out of date, and `update` merges it or leaves a conflict;
/// none panics (exit 101 before issue 20, at `merge.rs:42`), and the reversed lines survive.
#[test]
fn reversed_runner_lines_and_a_changed_framework_end_without_a_panic() {
    let project = Project::initialised("uv-groups-src");
    let path = ".modal/in_container.py";
    let mut lines: Vec<String> = project.read(path).lines().map(str::to_string).collect();
    // Lines 13 to 23 reversed: an edit that made the merge panic before issue 20.
    let at = 12;
    lines[at..at + 11].reverse();
    let edited = lines[at..at + 11].join("\n");
    project.write(path, &(lines.join("\n") + "\n"));
    let config = project.read("pyproject.toml");
    project.write(
        "pyproject.toml",
        &config.replacen("[tool.gpu-ci]\n", "[tool.gpu-ci]\nframework = \"jax\"\n", 1),
    );
    for (args, codes) in [
        (&["update", "--check"][..], &[1][..]),
        (&["doctor"], &[1]),
        (&["update"], &[0, 1]),
    ] {
        let output = project.gpu_ci(args).get_output().clone();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let code = output.status.code().unwrap_or(-1);
        assert!(codes.contains(&code), "{args:?}: {code}\n{stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    let merged = project.read(path);
    assert!(merged.contains(&edited), "{merged}");
    assert!(
        merged.contains("FRAMEWORK = \"jax\"") || merged.contains("<<<<<<<"),
        "{merged}"
    );
}
