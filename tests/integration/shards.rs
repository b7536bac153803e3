//! Shards and a GPU matrix in the settings (issue 15): written by init, shown by config, passed
//! by `gpu-ci run`; `gpu-ci durations` and its file. The runs themselves are in the tools binary
//! (tests/tools/shards.rs).

use crate::common::{Project, utf16_billion_laughs};
use crate::run::{FakeBin, run_cmd};

#[test]
fn init_writes_a_matrix_as_a_list_and_the_shards() {
    let project = Project::fixture("uv-groups-src");
    project
        .gpu_ci(&[
            "init",
            "--yes",
            "--gpu",
            "T4",
            "--gpu",
            "h100:2, A100-80GB",
            "--shards",
            "4",
        ])
        .success();
    let config = project.read("pyproject.toml");
    assert!(
        config.contains("gpu = [\"T4\", \"H100:2, A100-80GB\"]\n"),
        "{config}"
    );
    assert!(config.contains("shards = 4\n"), "{config}");
    let runner = project.read(".modal/test_runner.py");
    assert!(
        runner.contains("GPU_DEFAULT = \"T4;H100:2,A100-80GB\"\n"),
        "{runner}"
    );
    assert!(runner.contains("SHARDS = 4\n"));
    let reusable = project.read(".github/workflows/_modal-gpu-tests.yml");
    assert!(
        reusable
            .contains("MODAL_GPU: ${{ inputs.gpu || vars.MODAL_GPU || 'T4;H100:2,A100-80GB' }}"),
        "{reusable}"
    );
    assert!(reusable.contains("GPU_CI_SHARDS: ${{ inputs.shards }}"));
    let dispatch = project.read(".github/workflows/run-gpu-tests.yml");
    assert!(
        dispatch.contains("shards: ${{ inputs.shards }}"),
        "{dispatch}"
    );
    // The list reads back as it was written: nothing to update.
    project.gpu_ci(&["update", "--check"]).success();

    let output = project
        .gpu_ci(&["config", "--json"])
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&output).unwrap();
    assert_eq!(
        json["gpu"]["value"],
        serde_json::json!(["T4", "H100:2, A100-80GB"])
    );
    assert_eq!(json["gpu"]["source"]["kind"], "config");
    assert_eq!(json["shards"]["value"], 4);
    assert_eq!(json["shards"]["source"]["kind"], "config");
    let text = project
        .gpu_ci(&["config"])
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains("gpu = [\"T4\", \"H100:2, A100-80GB\"]  "),
        "as TOML writes it: {text}"
    );

    // One entry again: a plain string, and no shards key at the default.
    project
        .gpu_ci(&["init", "--yes", "--force", "--gpu", "L4", "--shards", "1"])
        .success();
    let config = project.read("pyproject.toml");
    assert!(config.contains("gpu = \"L4\"\n"), "{config}");
    assert!(!config.contains("shards"), "{config}");
}

#[test]
fn a_comma_list_stays_a_fallback_and_a_semicolon_makes_a_matrix() {
    let project = Project::fixture("uv-groups-src");
    let json = |args: &[&str]| -> serde_json::Value {
        let mut full = vec!["config", "--json"];
        full.extend_from_slice(args);
        serde_json::from_slice(&project.gpu_ci(&full).success().get_output().stdout).unwrap()
    };
    assert_eq!(
        json(&["--gpu", "H100,A100-80GB"])["gpu"]["value"],
        "H100, A100-80GB"
    );
    assert_eq!(
        json(&["--gpu", "T4; H100"])["gpu"]["value"],
        serde_json::json!(["T4", "H100"])
    );
}

#[test]
fn run_passes_the_matrix_and_the_shards_to_the_runner() {
    let project = Project::initialised("uv-groups-src");
    let bin = FakeBin::with_modal();
    run_cmd(
        &project,
        &bin,
        &["--gpu", "T4", "--gpu", "H100", "--shards", "3"],
    )
    .assert()
    .success();
    let log = bin.recorded();
    assert!(log.contains("MODAL_GPU=T4;H100\n"), "{log}");
    assert!(log.contains("GPU_CI_SHARDS=3\n"), "{log}");
    assert!(
        log.contains("GPU_CI_DURATIONS=.gpu-ci-durations.json\n"),
        "{log}"
    );
    // MODAL_GPU may hold a matrix too; the configured shards apply without the flag.
    run_cmd(&project, &bin, &[])
        .env("MODAL_GPU", "T4;L4")
        .assert()
        .success();
    let log = bin.recorded();
    assert!(log.contains("MODAL_GPU=T4;L4\n"), "{log}");
    assert!(log.contains("GPU_CI_SHARDS=1\n"), "{log}");
}

const MATRIX_JUNIT: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<testsuites name="gpu-ci" tests="5" failures="1" errors="0" time="9.000">
<testsuite name="pytest (T4 shard 1/2)" tests="3" failures="1" errors="0" skipped="0" time="7.5">
<testcase classname="tests.test_model" name="test_train[fp16]" file="tests/test_model.py" line="4" time="6.25"><failure message="x">E   assert 1 &lt; 0</failure></testcase>
<testcase classname="tests.test_model.TestInfer" name="test_batch" file="tests/test_model.py" line="9" time="1.0004"/>
<testcase classname="tests.test_io" name="test_read" file="tests/test_io.py" line="1" time="0.2"/>
</testsuite>
<testsuite name="pytest (H100 shard 1/2)" tests="2" failures="0" errors="0" skipped="0" time="1.5">
<testcase classname="tests.test_model" name="test_train[fp16]" file="tests/test_model.py" line="4" time="1.5"/>
<testcase classname="tests.test_io" name="test_read" file="tests/test_io.py" line="1" time="0.3"/>
</testsuite>
</testsuites>
"#;

#[test]
fn durations_records_each_test_once_with_its_longest_time() {
    let project = Project::fixture("uv-groups-src");
    project.write("test-outputs/junit.xml", MATRIX_JUNIT);
    project
        .gpu_ci(&["durations"])
        .success()
        .stderr(predicates::str::contains(
            "gpu-ci: recorded 3 test durations (7.6 s in all) from test-outputs/junit.xml into .gpu-ci-durations.json",
        ));
    assert_eq!(
        project.read(".gpu-ci-durations.json"),
        "{\n  \"durations\": {\n    \"tests/test_io.py::test_read\": 0.3,\n    \"tests/test_model.py::TestInfer::test_batch\": 1.0,\n    \"tests/test_model.py::test_train[fp16]\": 6.25\n  },\n  \"version\": 1\n}\n"
    );

    // A refresh from another run says what changed; --output and a path of one's choosing.
    project.write(
        "elsewhere/run.xml",
        r#"<testsuite name="pytest"><testcase classname="tests.test_io" name="test_read" file="tests/test_io.py" time="0.25"/><testcase classname="tests.test_new" name="test_it" file="tests/test_new.py" time="2"/></testsuite>"#,
    );
    project
        .gpu_ci(&["durations", "elsewhere/run.xml"])
        .success()
        .stderr(predicates::str::contains("(1 new, 2 no longer listed)"));
    let text = project.read(".gpu-ci-durations.json");
    assert!(
        text.contains("\"tests/test_new.py::test_it\": 2.0"),
        "{text}"
    );
    assert!(!text.contains("test_model"), "{text}");
    project
        .gpu_ci(&["durations", "elsewhere/run.xml", "--output", "d.json"])
        .success();
    assert_eq!(project.read("d.json"), text);
}

/// Issue 24: `durations --json` says what it recorded, as JSON on stdout, parsed here.
#[test]
fn durations_json_says_what_was_recorded() {
    let project = Project::fixture("uv-groups-src");
    project.write("test-outputs/junit.xml", MATRIX_JUNIT);
    let answer = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["durations", "--json"];
        all.extend(args);
        let output = project.gpu_ci(&all).success().get_output().clone();
        serde_json::from_slice(&output.stdout).unwrap()
    };
    assert_eq!(
        answer(&[]),
        serde_json::json!({
            "junit": "test-outputs/junit.xml",
            "output": ".gpu-ci-durations.json",
            "tests": 3,
            "total_seconds": 7.55,
            "new": null,
            "dropped": null,
        })
    );
    project.write(
        "elsewhere/run.xml",
        r#"<testsuite name="pytest"><testcase classname="tests.test_new" name="test_it" file="tests/test_new.py" time="2"/></testsuite>"#,
    );
    let second = answer(&["elsewhere/run.xml"]);
    assert_eq!(
        (second["new"].clone(), second["dropped"].clone()),
        (1.into(), 3.into())
    );
    assert!(project.read(".gpu-ci-durations.json").contains("test_new"));
}

/// The JUnit XML comes from anyone's test run: only UTF-8 is read, whatever a byte-order mark
/// or the XML declaration says, so no reader that trusts them can be walked around the check
/// for a document type (the billion laughs in UTF-16 hides it from a search of the bytes).
#[test]
fn durations_reads_utf8_junit_xml_only() {
    let project = Project::fixture("uv-groups-src");
    let declared = MATRIX_JUNIT.replacen("encoding=\"utf-8\"", "encoding=\"UTF-16\"", 1);
    assert_ne!(declared, MATRIX_JUNIT);
    std::fs::create_dir_all(project.path("test-outputs")).unwrap();
    for (name, bytes, why) in [
        (
            "UTF-16 with its mark",
            utf16_billion_laughs(9, true),
            "byte-order mark says UTF-16",
        ),
        (
            "UTF-16 without a mark",
            utf16_billion_laughs(9, false),
            "a NUL byte",
        ),
        (
            "UTF-8 that says UTF-16",
            declared.into_bytes(),
            "names the encoding `UTF-16`",
        ),
    ] {
        std::fs::write(project.path("test-outputs/junit.xml"), bytes).unwrap();
        let output = project.gpu_ci(&["durations"]).code(2).get_output().clone();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.starts_with("error: ")
                && stderr.contains("test-outputs/junit.xml` is not JUnit XML gpu-ci can read: "),
            "{name}: {stderr}"
        );
        assert!(stderr.contains(why), "{name}: {stderr}");
        assert_eq!(
            stderr.lines().filter(|l| l.starts_with("error:")).count(),
            1,
            "{name}: {stderr}"
        );
        assert!(
            !project.path(".gpu-ci-durations.json").exists(),
            "{name}: nothing written"
        );
    }
}

/// Issue 24: the durations file sits beside the lock, so `gpu-ci durations` on a GitLab-only
/// project makes no `.github/`; `run` reads it there, and reads where gpu-ci 0.1 kept it
/// (`.github/gpu-ci-durations.json`) while only that one exists; `update` moves that one.
#[test]
fn durations_file_sits_beside_the_lock_and_update_moves_the_old_one() {
    let project = Project::fixture("uv-groups-src");
    project
        .gpu_ci(&["init", "--yes", "--ci", "gitlab"])
        .success()
        .stderr(predicates::str::contains(
            "commit `.gpu-ci-durations.json` when `gpu-ci durations` writes it",
        ));
    project.write("test-outputs/junit.xml", MATRIX_JUNIT);
    project.gpu_ci(&["durations"]).success();
    assert!(project.read(".gpu-ci-durations.json").contains("test_read"));
    assert!(!project.path(".github").exists(), "durations made .github/");

    // Where gpu-ci 0.1 kept it: read by `run` while it is the only one, then moved by update.
    let old = project.read(".gpu-ci-durations.json");
    std::fs::remove_file(project.path(".gpu-ci-durations.json")).unwrap();
    project.write(".github/gpu-ci-durations.json", &old);
    let bin = FakeBin::with_modal();
    run_cmd(&project, &bin, &[]).assert().success();
    let log = bin.recorded();
    assert!(
        log.contains("GPU_CI_DURATIONS=.github/gpu-ci-durations.json\n"),
        "{log}"
    );
    project
        .gpu_ci(&["update", "--check"])
        .code(1)
        .stdout(predicates::str::contains(
            "would move .github/gpu-ci-durations.json to .gpu-ci-durations.json",
        ));
    project
        .gpu_ci(&["update"])
        .success()
        .stderr(predicates::str::contains(
            "moved .github/gpu-ci-durations.json to .gpu-ci-durations.json",
        ));
    assert_eq!(project.read(".gpu-ci-durations.json"), old);
    assert!(!project.path(".github").exists(), "left an empty .github/");
    project.gpu_ci(&["update", "--check"]).success();
    run_cmd(&project, &bin, &[]).assert().success();
    let log = bin.recorded();
    assert!(
        log.contains("GPU_CI_DURATIONS=.gpu-ci-durations.json\n"),
        "{log}"
    );

    // Both there: the old one is stale, left with a note, never copied over the new one.
    project.write(".github/gpu-ci-durations.json", "{}\n");
    project
        .gpu_ci(&["update"])
        .success()
        .stderr(predicates::str::contains(
            "left .github/gpu-ci-durations.json: the runner reads .gpu-ci-durations.json",
        ));
    assert_eq!(project.read(".gpu-ci-durations.json"), old);
}
