//! Property: random maintainer edits plus a random config change never lose an edit, and a
//! clean `update` is followed by a green `--check`.

use proptest::prelude::*;

use crate::common::{GENERATED, Project};

const CHANGES: [(&str, &str); 6] = [
    ("gpu = \"L4\"", "gpu = \"H100:2\""),
    ("gpu = \"L4\"", "gpu = \"H100, A100-80GB\""),
    ("pytest-args = \"-v\"", "pytest-args = \"-x -ra\""),
    ("label = \"gpu-tests\"", "label = \"run-gpu\""),
    ("python = \"3.10\"", "python = \"3.13\""),
    (
        "label = \"gpu-tests\"",
        "label = \"gpu-tests\"\nfork-prs = true",
    ),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn edits_survive_update(
        edits in prop::collection::vec((0usize..GENERATED.len(), 0.0f64..1.0), 1..5),
        change in 0usize..CHANGES.len(),
    ) {
        let project = Project::initialised("uv-groups-src");
        let mut added: Vec<(&str, String)> = Vec::new();
        for (n, (file, at)) in edits.iter().enumerate() {
            let path = GENERATED[*file];
            let mut lines: Vec<String> = project.read(path).lines().map(str::to_string).collect();
            let line = format!("# maintainer edit {n}");
            let index = ((lines.len() as f64) * at) as usize;
            lines.insert(index.min(lines.len()), line.clone());
            project.write(path, &(lines.join("\n") + "\n"));
            added.push((path, line));
        }
        let (from, to) = CHANGES[change];
        let config = project.read("pyproject.toml");
        project.write("pyproject.toml", &config.replacen(from, to, 1));

        let output = project.gpu_ci(&["update"]).get_output().clone();
        let code = output.status.code();
        prop_assert!(code == Some(0) || code == Some(1), "{output:?}");
        for (path, line) in &added {
            prop_assert!(project.read(path).contains(line.as_str()), "{line} lost from {path}");
        }
        if code == Some(0) {
            let check = project.gpu_ci(&["update", "--check"]).get_output().clone();
            prop_assert_eq!(check.status.code(), Some(0), "{:?}", check);
        }
    }
}
