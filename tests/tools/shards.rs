//! Shards and the GPU matrix (issue 15): the split (a pure function the trusted side runs), the
//! runs at once on the stand-in Modal client and as local processes, one merged JUnit XML that
//! validates and adds up to the runs', and a run that fails to start taking nothing from the
//! others.

use std::collections::BTreeMap;

use crate::common::{Project, describe, gpu_ci, repo_root, shown};
use crate::installed::{runner_python, stand_ins};
use crate::runner::{Run, configure, python_in, run_modal, suite};
use serde_json::json;

/// Test files `a` (4 tests), `b` (3) and `c` (2, `c[1]` fails). Each test appends its node id
/// to `ran.txt` beside the project, so that a test run twice, or never, shows.
/// Each test appends its id to `ran.txt` beside the project, by its absolute path: the tests
/// may run in a sandbox's folder of the local Modal API, not in the project.
fn three_files(project: &Project) {
    let ran = project.root.parent().unwrap().join("ran.txt");
    for (name, count) in [("a", 4), ("b", 3), ("c", 2)] {
        project.write(
            &format!("test/test_{name}.py"),
            &format!(
                "import pathlib\nimport pytest\n\n\n@pytest.mark.parametrize('n', range({count}))\n\
                 def test_{name}(n, request):\n    ran = pathlib.Path({ran:?})\n    \
                 with ran.open('a') as f:\n        f.write(request.node.nodeid + '\\n')\n    \
                 assert not ('{name}' == 'c' and n == 1), 'c[1] fails'\n"
            ),
        );
    }
}

fn ran(project: &Project) -> Vec<String> {
    let path = project.root.parent().unwrap().join("ran.txt");
    let mut lines: Vec<String> = std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

fn nine_ids() -> Vec<String> {
    let mut ids: Vec<String> = [("a", 4), ("b", 3), ("c", 2)]
        .iter()
        .flat_map(|(name, count)| {
            (0..*count).map(move |n| format!("test/test_{name}.py::test_{name}[{n}]"))
        })
        .collect();
    ids.sort();
    ids
}

/// The merged JUnit XML and every run's, validated against pytest's JUnit schema (with the
/// attributes and elements pytest's xunit1 family adds); the merged counts, as the summary counts
/// them and as the XML's own attributes say, and the sum of the runs'.
const VALIDATE: &str = r#"
import glob, json, runpy, sys
import xml.etree.ElementTree as ET
import xmlschema
ns = runpy.run_path(".modal/gpu_ci_results.py")
text = open(XSD, encoding="utf-8").read()
xunit1 = text.replace(
    '<xs:attribute name="group" type="xs:string"/>\n        </xs:complexType>\n    </xs:element>\n\n    <xs:element name="testsuite">',
    '<xs:attribute name="group" type="xs:string"/>\n<xs:attribute name="file" type="xs:string"/>\n<xs:attribute name="line" type="xs:string"/>\n        </xs:complexType>\n    </xs:element>\n\n    <xs:element name="testsuite">',
).replace(
    '<xs:element ref="errors"/>\n',
    '<xs:element ref="errors"/>\n<xs:element ref="error"/>\n<xs:element ref="properties"/>\n',
).replace(
    '<xs:element name="skipped">',
    '<xs:element name="error"><xs:complexType mixed="true"><xs:attribute name="type" type="xs:string"/><xs:attribute name="message" type="xs:string"/></xs:complexType></xs:element>\n<xs:element name="skipped">',
)
assert xunit1.count("xs:attribute name=\"file\"") == 2 and 'name="error"' in xunit1, "the schema changed"
schema = xmlschema.XMLSchema(xunit1)
schema.validate("test-outputs/junit.xml")
parts = sorted(glob.glob("test-outputs/runs/*/junit.xml"))
for part in parts:
    schema.validate(part)
merged = ns["junit_results"](open("test-outputs/junit.xml", "rb").read())["counts"]
summed = {k: sum(ns["junit_results"](open(p, "rb").read())["counts"][k] for p in parts) for k in merged}
root = ET.parse("test-outputs/junit.xml").getroot()
attributes = {k: int(root.get(k)) for k in ("tests", "failures", "errors")}
suites = [s.get("name") for s in root.findall("testsuite")]
print(json.dumps({"merged": merged, "summed": summed, "attributes": attributes, "parts": len(parts), "suites": suites}))
"#;

#[derive(Debug)]
struct Merged {
    counts: BTreeMap<String, u64>,
    parts: usize,
    suites: Vec<String>,
}

fn validate(project: &Project) -> Merged {
    let xsd = repo_root().join("tests/tools/junit-10.xsd");
    let code = format!("XSD = {:?}\n{VALIDATE}", xsd.display().to_string());
    let out: serde_json::Value = serde_json::from_str(&python_in(project, &code)).unwrap();
    let counts: BTreeMap<String, u64> = serde_json::from_value(out["merged"].clone()).unwrap();
    let summed: BTreeMap<String, u64> = serde_json::from_value(out["summed"].clone()).unwrap();
    assert_eq!(counts, summed, "the merged counts are the sum of the runs'");
    let attributes = &out["attributes"];
    assert_eq!(attributes["tests"], counts.values().sum::<u64>());
    assert_eq!(attributes["failures"], counts["failed"]);
    assert_eq!(attributes["errors"], counts["errors"]);
    Merged {
        counts,
        parts: out["parts"].as_u64().unwrap() as usize,
        suites: serde_json::from_value(out["suites"].clone()).unwrap(),
    }
}

fn commands(run: &Run, kind: &str) -> Vec<Vec<String>> {
    run.events(kind)
        .iter()
        .map(|e| serde_json::from_value(e["command"].clone()).unwrap())
        .collect()
}

#[test]
fn the_split_is_deterministic_balanced_and_keeps_files_whole() {
    let project = Project::initialised("uv-groups-src");
    let harness = r#"
import json, runpy
ns = runpy.run_path(".modal/gpu_ci_results.py")
split, select = ns["split_shards"], ns["shard_selection"]
ids = [f"t/a.py::t{i}" for i in range(4)] + [f"t/b.py::t{i}" for i in range(3)] + ["t/c.py::t0", "t/c.py::t1", "t/d.py::t0"]

# No durations: whole files, balanced by their test counts, heaviest first.
groups = split(ids, [], {}, 2)
assert [g["files"] for g in groups] == [["t/a.py", "t/d.py"], ["t/b.py", "t/c.py"]], groups
assert [len(g["ids"]) for g in groups] == [5, 5]
assert groups[0]["ids"] == ids[:4] + ["t/d.py::t0"], "collection order inside a group"
assert split(list(ids), [], {}, 2) == groups, "deterministic"

# Durations: a file heavier than a shard's share is split by test; the others stay whole.
durations = {"t/a.py::t0": 8.0, "t/a.py::t1": 1.0, "t/a.py::t2": 1.0, "t/a.py::t3": 1.0, "t/b.py::t0": 0.5}
groups = split(ids, [], durations, 2)
assert [round(g["weight"], 3) for g in groups] == [8.0, 8.5], groups
assert groups[0]["ids"] == ["t/a.py::t0"], groups
assert sorted(n for g in groups for n in g["ids"]) == sorted(ids), "every test once"
reordered = dict(reversed(list(durations.items())))
assert split(ids, [], reordered, 2) == groups, "the durations' order does not matter"
# Tests without a duration weigh the median of those recorded (1.0 here).
assert round(sum(g["weight"] for g in groups), 3) == 8 + 1 + 1 + 1 + 0.5 + 5 * 1.0

# Tests recorded at 0 s still spread; more shards than tests leaves none empty.
zeros = {n: 0.0 for n in ids}
assert [len(g["ids"]) for g in split(ids[:4], [], zeros, 4)] == [1, 1, 1, 1]
assert len(split(ids[:3], [], {}, 5)) == 3
# Nothing collected: one group, which runs whatever pytest finds.
assert split([], [], {}, 3) == [{"ids": [], "files": [], "weight": 0.0}]

# A module that failed to collect is a unit of its own: one shard reports it.
groups = split(ids, ["t/broken.py"], {}, 3)
owners = [i for i, g in enumerate(groups) if "t/broken.py" in g["files"]]
assert len(owners) == 1, groups
selection = select(groups, 0, ids)
assert selection["new_tests"] and selection["known"] == ids
assert set(selection["skip_files"]) == {f for g in groups[1:] for f in g["files"]} - set(groups[0]["files"])
assert not select(groups, 1, ids)["new_tests"] and select(groups, 1, ids)["known"] == []
print("ok")
"#;
    assert_eq!(python_in(&project, harness), "ok\n");
}

/// What the container says it collected is checked before the split uses it.
#[test]
fn a_collected_list_is_checked_before_it_is_used() {
    let project = Project::initialised("uv-groups-src");
    let harness = r#"
import json, runpy
ns = runpy.run_path(".modal/gpu_ci_results.py")
parse = ns["parse_collected"]
ids, files = parse(json.dumps({"ids": ["t/a.py::x", "t/a.py::x", "t/b.py::y"], "errors": ["t/c.py", "t", "t/d.py::k"]}).encode())
assert ids == ["t/a.py::x", "t/b.py::y"] and files == ["t/c.py"], (ids, files)
for bad in [b"\xff", b"[]", b"{}", b'{"ids": "x", "errors": []}', b'{"ids": [1], "errors": []}',
            b'{"ids": ["a\\nb"], "errors": []}', b'{"ids": [""], "errors": []}', b"[" * 100000,
            json.dumps({"ids": ["x" * 5000], "errors": []}).encode()]:
    try:
        parse(bad)
    except ValueError:
        continue
    raise AssertionError(bad[:40])
durations = ns["parse_durations"](b'{"version": 1, "durations": {"a": 1.5, "b": -1, "c": true, "d": "2", "e": 1e999}}')
assert durations == {"a": 1.5}, durations
print("ok")
"#;
    assert_eq!(python_in(&project, harness), "ok\n");
}

#[test]
fn shards_run_at_once_each_test_once_and_merge_into_one_valid_report() {
    let project = suite("", &["--shards", "3"]);
    three_files(&project);
    let run = run_modal(&project, json!({}));
    assert_eq!(run.code, 1, "c[1] fails: {}{}", run.stdout, run.stderr);
    assert_eq!(run.events("create").len(), 3, "a sandbox a shard");
    let execs = commands(&run, "exec");
    let collect: Vec<_> = execs
        .iter()
        .filter(|c| c.contains(&"--collect-only".into()))
        .collect();
    assert_eq!(collect.len(), 1, "the tests are collected once: {execs:?}");
    let shards: Vec<_> = execs
        .iter()
        .filter(|c| c.windows(2).any(|w| w == ["--select", "-"]))
        .collect();
    assert_eq!(shards.len(), 3, "{execs:?}");
    assert_eq!(ran(&project), nine_ids(), "every test ran exactly once");
    assert_eq!(run.events("terminate").len(), 3);

    // Lines come whole, led by their shard.
    assert!(run.stdout.contains("[shard 2/3] "), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("gpu-ci: 9 tests in 3 files, split into 3 shards by test count per file"),
        "{}",
        run.stdout
    );
    let merged = validate(&project);
    assert_eq!(merged.parts, 3);
    assert_eq!(merged.counts["passed"], 8);
    assert_eq!(merged.counts["failed"], 1);
    assert_eq!(
        merged.suites,
        [
            "pytest (shard 1/3)",
            "pytest (shard 2/3)",
            "pytest (shard 3/3)"
        ]
    );
    let summary = shown(&project.read("test-outputs/summary.md"));
    assert!(summary.starts_with("### ❌ GPU tests failed"), "{summary}");
    assert!(summary.contains("| 8 | 1 | 0 | 0 |"), "{summary}");
    assert!(summary.contains("**shards:** 3"), "{summary}");
    assert!(summary.contains("**GPU time:** "), "{summary}");
    for shard in ["1/3", "2/3", "3/3"] {
        assert!(summary.contains(&format!("| L4 | {shard} |")), "{summary}");
    }
    assert!(
        summary.contains("<code>test/test_c.py::test_c[1]</code> (failure, shard "),
        "{summary}"
    );
    for shard in 1..=3 {
        let folder = format!("test-outputs/runs/shard-{shard}-of-3");
        assert!(
            project.path(&folder).join("junit.xml").is_file(),
            "{folder}"
        );
        assert!(project.path(&folder).join("pytest-output.log").is_file());
    }
    assert!(
        run.stderr
            .contains("gpu-ci: 8 passed, 1 failed, 0 skipped, 0 errors in 3 runs"),
        "{}",
        run.stderr
    );

    // A single run afterwards leaves no shard folder behind to be mistaken for its own.
    project
        .gpu_ci(&["init", "--yes", "--force", "--shards", "1"])
        .success();
    let single = run_modal(&project, json!({}));
    assert_eq!(single.code, 1);
    assert!(!project.path("test-outputs/runs").exists());
}

#[test]
fn a_gpu_matrix_runs_the_suite_on_each_gpu_and_a_gpu_that_fails_to_start_loses_nothing() {
    let project = suite("", &[]);
    three_files(&project);
    // The matrix as the config writes it.
    configure(&project, "shards = 2");
    let config = project
        .read("pyproject.toml")
        .replace("gpu = \"L4\"", "gpu = [\"T4\", \"H100\"]");
    project.write("pyproject.toml", &config);
    project.gpu_ci(&["update"]).success();
    let run = run_modal(&project, json!({}));
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let mut gpus: Vec<String> = run
        .events("create")
        .iter()
        .map(|e| e["gpu"].as_str().unwrap().to_string())
        .collect();
    gpus.sort();
    assert_eq!(gpus, ["H100", "H100", "T4", "T4"]);
    let mut twice = nine_ids();
    twice.extend(nine_ids());
    twice.sort();
    assert_eq!(ran(&project), twice, "every test once on each GPU");
    let merged = validate(&project);
    assert_eq!(merged.parts, 4);
    assert_eq!(merged.counts["failed"], 2);
    let summary = shown(&project.read("test-outputs/summary.md"));
    assert!(
        summary.contains("**runs:** 4 (2 GPUs × 2 shards)"),
        "{summary}"
    );
    for row in [
        "| T4 | 1/2 |",
        "| T4 | 2/2 |",
        "| H100 | 1/2 |",
        "| H100 | 2/2 |",
    ] {
        assert!(summary.contains(row), "{row}: {summary}");
    }
    assert!(
        summary.contains("gpu-ci run --gpu T4 -- 'test/test_c.py::test_c[1]'"),
        "{summary}"
    );
    for folder in [
        "T4-shard-1-of-2",
        "T4-shard-2-of-2",
        "H100-shard-1-of-2",
        "H100-shard-2-of-2",
    ] {
        assert!(
            project.path("test-outputs/runs").join(folder).is_dir(),
            "{folder}"
        );
    }

    // H100 has no capacity at all: T4's results are whole, H100's rows say why they are empty.
    std::fs::remove_file(project.root.parent().unwrap().join("ran.txt")).unwrap();
    let run = run_modal(&project, json!({"fail_gpu": "H100"}));
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.events("create").len(), 6, "each H100 shard tried twice");
    assert_eq!(ran(&project), nine_ids(), "T4 ran everything once");
    let merged = validate(&project);
    assert_eq!(merged.counts["passed"], 8);
    assert_eq!(merged.counts["failed"], 1);
    let summary = shown(&project.read("test-outputs/summary.md"));
    assert!(
        summary.starts_with("### ⚠️ GPU tests did not finish"),
        "{summary}"
    );
    assert!(summary.contains("2 of 4 runs did not finish"), "{summary}");
    assert!(
        summary.contains("**H100 shard 1/2:** the sandbox could not start: ResourceExhaustedError"),
        "{summary}"
    );
    assert!(summary.contains("| T4 | 1/2 |"), "{summary}");
}

#[test]
fn a_shard_that_fails_to_start_loses_nothing_of_the_others() {
    let project = suite("", &["--shards", "3"]);
    three_files(&project);
    // Two sandboxes start; every later start fails, the third shard's retry too.
    let run = run_modal(&project, json!({"starts_limit": 2}));
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.events("create").len(), 4);
    assert!(
        run.stderr
            .contains("the sandbox could not start: ResourceExhaustedError"),
        "{}",
        run.stderr
    );
    let ran = ran(&project);
    assert!(!ran.is_empty() && ran.len() < 9, "{ran:?}");
    let mut unique = ran.clone();
    unique.dedup();
    assert_eq!(unique, ran, "no test ran twice");
    let merged = validate(&project);
    assert_eq!(merged.counts.values().sum::<u64>() as usize, ran.len());
    assert_eq!(
        merged.parts, 2,
        "the runs that started kept their JUnit XML"
    );
    let summary = shown(&project.read("test-outputs/summary.md"));
    assert!(summary.contains("1 of 3 runs did not finish"), "{summary}");
    assert!(summary.contains("⚠️ did not finish |"), "{summary}");
}

/// The plugin of a shard: its own tests, the files of other shards left uncollected (a module
/// that fails to import is reported by its shard only), and a test the collection did not list
/// run by the first shard only.
#[test]
fn a_new_test_and_a_broken_module_run_in_exactly_one_shard() {
    let project = suite("", &[]);
    three_files(&project);
    project.write("test/test_broken.py", "import not_a_module_here\n");
    let known: Vec<String> = nine_ids();
    project.write(
        "test/test_a.py",
        &format!(
            "{}\n\ndef test_new():\n    pass\n",
            project.read("test/test_a.py")
        ),
    );
    let a: Vec<&String> = known.iter().filter(|id| id.contains("test_a")).collect();
    let rest: Vec<&String> = known.iter().filter(|id| !id.contains("test_a")).collect();
    let selections = [
        serde_json::json!({"ids": a, "skip_files": ["test/test_b.py", "test/test_c.py", "test/test_broken.py"], "new_tests": true, "known": known}),
        serde_json::json!({"ids": rest, "skip_files": ["test/test_a.py"], "new_tests": false, "known": []}),
    ];
    let mut results = Vec::new();
    for (index, selection) in selections.iter().enumerate() {
        let file = project
            .root
            .parent()
            .unwrap()
            .join(format!("selection-{index}.json"));
        std::fs::write(&file, selection.to_string()).unwrap();
        let out = project.root.parent().unwrap().join(format!("out-{index}"));
        let output = runner_python()
            .current_dir(&project.root)
            .args([
                "-u",
                ".modal/in_container.py",
                "--no-gpu-report",
                "--select",
            ])
            .arg(&file)
            .arg("--output-dir")
            .arg(&out)
            .args(["--", "test/", "-v"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        results.push((output.status.code(), stdout));
    }
    let (code, first) = &results[0];
    assert_eq!(*code, Some(0), "{first}");
    assert!(first.contains("test/test_a.py::test_new PASSED"), "{first}");
    assert!(
        first.contains("collected 5 items"),
        "only test_a.py is collected: {first}"
    );
    assert!(!first.contains("not_a_module_here"), "{first}");
    let (code, second) = &results[1];
    assert_eq!(
        *code,
        Some(2),
        "the broken module interrupts its shard: {second}"
    );
    assert!(second.contains("not_a_module_here"), "{second}");
    assert!(!second.contains("test_new"), "{second}");
}

fn venv_path() -> String {
    format!("{}:/usr/bin:/bin", repo_root().join(".venv/bin").display())
}

fn local(project: &Project, args: &[&str]) -> std::process::Output {
    gpu_ci()
        .arg("-C")
        .arg(&project.root)
        .arg("run")
        .arg("--local")
        .args(args)
        .env("PATH", venv_path())
        .env("PYTHONPATH", stand_ins())
        .output()
        .unwrap()
}

/// Each test's outcome from the run's JUnit XML, by node id.
fn outcomes(project: &Project) -> BTreeMap<String, String> {
    let code = "import json, runpy\nns = runpy.run_path('.modal/gpu_ci_results.py')\n\
        import xml.etree.ElementTree as ET\n\
        root = ET.parse('test-outputs/junit.xml').getroot()\n\
        print(json.dumps({ns['node_id'](c): ns['case_outcome'](c)[0] for c in root.iter('testcase')}))";
    serde_json::from_str(&python_in(project, code)).unwrap()
}

#[test]
fn local_shards_are_processes_with_the_same_results_as_one_run() {
    let project = Project::fixture("extras-flat");
    std::fs::remove_file(project.path("test/test_mathkit.py")).unwrap();
    three_files(&project);
    project.write(
        "test/test_skips.py",
        "import pytest\n\n@pytest.mark.skip(reason='later')\ndef test_later():\n    pass\n",
    );
    project.gpu_ci(&["init", "--yes"]).success();

    let serial = local(&project, &[]);
    assert_eq!(serial.status.code(), Some(1), "{}", describe(&serial));
    let serial_outcomes = outcomes(&project);
    assert_eq!(serial_outcomes.len(), 10);
    gpu_ci()
        .arg("-C")
        .arg(&project.root)
        .arg("durations")
        .assert()
        .success();
    std::fs::remove_file(project.root.parent().unwrap().join("ran.txt")).unwrap();

    let sharded = local(&project, &["--shards", "3"]);
    assert_eq!(sharded.status.code(), Some(1), "{}", describe(&sharded));
    let stdout = String::from_utf8_lossy(&sharded.stdout);
    let stderr = String::from_utf8_lossy(&sharded.stderr);
    assert!(
        stdout.contains("split into 3 shards by recorded durations (10 of 10 tests recorded"),
        "{stdout}"
    );
    for shard in 1..=3 {
        assert!(
            stdout.contains(&format!("[shard {shard}/3] gpu-ci GPU report: ")),
            "{stdout}"
        );
    }
    assert_eq!(
        outcomes(&project),
        serial_outcomes,
        "the same tests, the same outcomes"
    );
    assert_eq!(ran(&project), nine_ids(), "every test ran exactly once");
    assert!(
        stderr.contains("gpu-ci: 8 passed, 1 failed, 1 skipped, 0 errors"),
        "{stderr}"
    );
    let merged = validate(&project);
    assert_eq!(merged.parts, 3);
    let summary = shown(&project.read("test-outputs/summary.md"));
    assert!(
        summary.contains("| 1/3 |") && summary.contains("| 3/3 |"),
        "{summary}"
    );
    assert!(summary.contains("not billed (ran locally)"), "{summary}");
}

/// Arguments pytest refuses fail the listing: every shard says so, none runs, pytest's exit code.
#[test]
fn a_listing_that_fails_stops_every_shard_with_pytests_code() {
    let project = suite(
        "",
        &["--shards", "2", "--pytest-args", "-v --no-such-option"],
    );
    three_files(&project);
    let run = run_modal(&project, json!({}));
    assert_eq!(
        run.code, 4,
        "pytest's usage error: {}{}",
        run.stdout, run.stderr
    );
    assert_eq!(
        commands(&run, "exec")
            .iter()
            .filter(|c| c.contains(&"--select".into()))
            .count(),
        0
    );
    assert!(ran(&project).is_empty());
    let summary = shown(&project.read("test-outputs/summary.md"));
    assert!(
        summary.contains("the tests could not be collected (pytest exit code 4)"),
        "{summary}"
    );

    let output = runner_python()
        .current_dir(&project.root)
        .args([
            "-u",
            ".modal/local_run.py",
            "--shards",
            "2",
            "--",
            "test/",
            "--no-such-option",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .contains("unrecognized arguments: --no-such-option")
    );
    assert!(
        shown(&project.read("test-outputs/summary.md"))
            .contains("the tests could not be collected (pytest exit code 4)")
    );
}

/// Ctrl-C reaches every local shard (each in a process group of its own): their pytests stop,
/// and the run exits 130.
#[test]
fn ctrl_c_stops_every_local_shard() {
    use std::os::unix::process::CommandExt;
    use std::time::{Duration, Instant};
    let project = Project::fixture("extras-flat");
    let pids = project.root.parent().unwrap().to_path_buf();
    for name in ["a", "b"] {
        project.write(
            &format!("test/test_{name}.py"),
            &format!(
                "import os, time\n\ndef test_hangs():\n    open({:?}, 'w').write(str(os.getpid()))\n    time.sleep(60)\n",
                pids.join(format!("{name}.pid")).display().to_string()
            ),
        );
    }
    let mut child = crate::common::gpu_ci_process()
        .arg("-C")
        .arg(&project.root)
        .args(["run", "--local", "--shards", "2"])
        .env("PATH", venv_path())
        .env("PYTHONPATH", stand_ins())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let read = |name: &str| {
        std::fs::read_to_string(pids.join(format!("{name}.pid")))
            .ok()
            .filter(|p| !p.is_empty())
    };
    while read("a").is_none() || read("b").is_none() {
        assert!(
            Instant::now() < deadline,
            "the shards never started their tests"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let group = format!("-{}", child.id());
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", "--", &group])
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(child.wait().unwrap().code(), Some(130));
    for name in ["a", "b"] {
        let pid = read(name).unwrap();
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "shard pytest {pid} outlived the run"
        );
    }
}

/// Issue 24: one test and four shards asked for, locally: the output's lines were led by `[] `,
/// the shard had no folder, and the split said "1 tests in 1 files, split into 1 shards".
#[test]
fn fewer_tests_than_shards_run_as_one_named_shard_with_its_folder() {
    let project = Project::fixture("extras-flat");
    std::fs::remove_file(project.path("test/test_mathkit.py")).unwrap();
    project.write("test/test_one.py", "def test_one():\n    pass\n");
    project.gpu_ci(&["init", "--yes"]).success();

    let run = local(&project, &["--shards", "4"]);
    assert_eq!(run.status.code(), Some(0), "{}", describe(&run));
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains(
            "gpu-ci: 1 test in 1 file, split into 1 shard by test count per file (no recorded durations; 1 test); 4 were asked for, but there are fewer tests"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("[] "), "{stdout}");
    assert!(
        stdout.contains("[shard 1/1] test/test_one.py::test_one PASSED"),
        "{stdout}"
    );
    let runs = project.path("test-outputs/runs");
    let folders: Vec<String> = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        folders,
        ["shard-1-of-1"],
        "one folder, for the shard that ran"
    );
    assert!(runs.join("shard-1-of-1/junit.xml").is_file());
    let summary = shown(&project.read("test-outputs/summary.md"));
    assert!(summary.starts_with("### ✅ GPU tests passed"), "{summary}");
    assert!(summary.contains("| 1/1 |"), "{summary}");
    assert!(
        summary.contains("1 test in 1 file, split into 1 shard"),
        "{summary}"
    );
}

/// Issue 24: the runner reads the durations beside the lock (`.gpu-ci-durations.json`), and
/// where gpu-ci 0.1 kept them (`.github/gpu-ci-durations.json`) while only that one exists;
/// GPU_CI_DURATIONS names another. The runner's own line, run in the project's folder.
#[test]
fn runner_reads_the_durations_beside_the_lock_else_where_they_were() {
    let project = Project::fixture("extras-flat");
    project
        .gpu_ci(&["init", "--yes", "--ci", "gitlab"])
        .success();
    let code = "import os, pathlib\n\
        line = next(l for l in open('.modal/test_runner.py') if l.startswith('DURATIONS_PATH = '))\n\
        ns = {'os': os, 'pathlib': pathlib}\n\
        exec(line, ns)\n\
        print(ns['DURATIONS_PATH'])";
    let path = || python_in(&project, code).trim().to_string();
    assert_eq!(path(), ".gpu-ci-durations.json", "none yet");
    project.write(".github/gpu-ci-durations.json", "{}\n");
    assert_eq!(path(), ".github/gpu-ci-durations.json", "only the old one");
    project.write(".gpu-ci-durations.json", "{}\n");
    assert_eq!(path(), ".gpu-ci-durations.json", "both");
    let chosen = runner_python()
        .current_dir(&project.root)
        .env("GPU_CI_DURATIONS", "elsewhere.json")
        .args(["-c", code])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&chosen.stdout).trim(),
        "elsewhere.json"
    );
}
