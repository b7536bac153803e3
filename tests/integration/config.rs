//! `gpu-ci config [--json]`: every setting's value and where it came from (issue 10).

use crate::common::{FIXTURES, Project};

/// The keys `config --json` must always give, whatever the layout.
const ALWAYS: [&str; 11] = [
    "gpu",
    "python",
    "test-path",
    "pytest-args",
    "label",
    "fork-prs",
    "timeout",
    "allow-no-tests",
    "base-image",
    "framework",
    "branch",
];

fn config_json(project: &Project, args: &[&str]) -> serde_json::Value {
    let mut full = vec!["config", "--json"];
    full.extend_from_slice(args);
    let output = project.gpu_ci(&full).success().get_output().stdout.clone();
    serde_json::from_slice(&output).expect("config --json prints JSON")
}

fn source_kind<'a>(json: &'a serde_json::Value, key: &str) -> &'a str {
    json[key]["source"]["kind"]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` has no source kind: {json:#}"))
}

#[test]
fn json_gives_every_setting_a_value_and_a_source_on_every_fixture() {
    let kinds = [
        "flag",
        "environment",
        "config",
        "detected",
        "prompt",
        "default",
    ];
    for fixture in FIXTURES {
        let project = Project::fixture(fixture);
        let json = config_json(&project, &[]);
        for key in ALWAYS {
            assert!(
                json.get(key).is_some_and(|e| e.get("value").is_some()),
                "{fixture}: no value for `{key}`: {json:#}"
            );
            assert!(kinds.contains(&source_kind(&json, key)), "{fixture}: {key}");
        }
        // Exactly one install source is reported.
        let installs = ["group", "extra", "requirements", "install"]
            .iter()
            .filter(|key| json.get(**key).is_some())
            .count();
        assert_eq!(installs, 1, "{fixture}: {json:#}");
        // config writes nothing.
        assert!(!project.path(".github").exists(), "{fixture}");
    }
}

/// Every key the config accepts is shown, on every fixture: the install source as the one of
/// `group`, `extra` or `requirements` in use (or `install` when none), `actions` as one row
/// per action.
#[test]
fn every_config_key_is_shown() {
    let install = ["group", "extra", "requirements"];
    for fixture in FIXTURES {
        let json = config_json(&Project::fixture(fixture), &[]);
        for key in gpu_ci::config::KEYS {
            let shown = match *key {
                "actions" => json
                    .as_object()
                    .unwrap()
                    .keys()
                    .any(|k| k.starts_with("actions.")),
                key if install.contains(&key) => install
                    .iter()
                    .chain(&["install"])
                    .any(|k| json.get(k).is_some()),
                key => json.get(key).is_some_and(|e| e.get("source").is_some()),
            };
            assert!(
                shown,
                "{fixture}: `gpu-ci config` does not show `{key}`: {json:#}"
            );
        }
    }
}

#[test]
fn sources_follow_the_precedence_flag_config_detection_default() {
    let project = Project::fixture("uv-groups-src");
    let json = config_json(&project, &[]);
    assert_eq!(source_kind(&json, "gpu"), "default");
    assert_eq!(source_kind(&json, "python"), "detected");
    assert_eq!(
        json["python"]["source"]["from"],
        "`requires-python` in pyproject.toml"
    );
    assert_eq!(source_kind(&json, "group"), "detected");

    project
        .gpu_ci(&["init", "--yes", "--gpu", "A10G"])
        .success();
    let json = config_json(&project, &[]);
    assert_eq!(json["gpu"]["value"], "A10G");
    assert_eq!(source_kind(&json, "gpu"), "config");
    assert_eq!(json["gpu"]["source"]["key"], "gpu");

    let json = config_json(&project, &["--gpu", "H100:2"]);
    assert_eq!(json["gpu"]["value"], "H100:2");
    assert_eq!(json["gpu"]["source"]["flag"], "--gpu");
}

#[test]
fn text_form_reads_like_toml_with_the_source_as_a_comment() {
    let project = Project::fixture("extras-flat");
    project.write(".python-version", "3.13\n");
    let assert = project.gpu_ci(&["config", "--label", "run gpu"]).success();
    let text = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("no `{key}` line:\n{text}"))
            .to_string()
    };
    assert!(
        line("python").contains("\"3.13\"")
            && line("python").ends_with("# detected: .python-version"),
        "{text}"
    );
    assert!(line("label").ends_with("# flag: --label"), "{text}");
    assert!(line("extra").contains("\"test\""), "{text}");
    assert!(line("gpu").ends_with("# default"), "{text}");
}

#[test]
fn bad_flags_are_refused_as_init_refuses_them() {
    let project = Project::fixture("extras-flat");
    project
        .gpu_ci(&["config", "--gpu", "V100"])
        .code(2)
        .stderr(predicates::str::contains("error: unknown GPU `V100`"));
}

/// Issue 24: `gpu-ci config --schema` prints the JSON Schema of `[tool.gpu-ci]`, in any folder
/// (it reads no project), and gpu-ci.schema.json at the repository's root is exactly it. The
/// schema's keys are the reader's; the tools tests check types and values against the reader.
#[test]
fn config_schema_is_the_committed_file_and_names_every_key() {
    let dir = tempfile::tempdir().unwrap();
    let output = crate::common::gpu_ci()
        .current_dir(dir.path())
        .args(["config", "--schema"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).unwrap();
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/gpu-ci.schema.json"))
            .unwrap();
    assert_eq!(
        printed, committed,
        "gpu-ci.schema.json is out of date: run `gpu-ci config --schema > gpu-ci.schema.json`"
    );
    let schema: serde_json::Value = serde_json::from_str(&printed).unwrap();
    let mut keys: Vec<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let mut expected: Vec<&str> = gpu_ci::config::KEYS.to_vec();
    expected.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(schema["additionalProperties"], false);
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "wrote into the folder"
    );
}

#[test]
fn the_table_leaves_the_action_pins_out_unless_all() {
    let project = Project::initialised("extras-flat");
    let output = project.gpu_ci(&["config"]).success();
    let stdout = String::from_utf8(output.get_output().stdout.clone()).unwrap();
    let stderr = String::from_utf8(output.get_output().stderr.clone()).unwrap();
    assert!(!stdout.contains("actions."), "{stdout}");
    assert!(stdout.contains("gpu = \"L4\""), "{stdout}");
    assert!(
        stderr.contains("note: 4 action pins left out; `gpu-ci config --all` lists them"),
        "{stderr}"
    );
    let output = project.gpu_ci(&["config", "--all"]).success();
    let stdout = String::from_utf8(output.get_output().stdout.clone()).unwrap();
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("actions.\""))
            .count(),
        4,
        "{stdout}"
    );
    assert!(
        stdout.contains("actions.\"actions/checkout\" = "),
        "{stdout}"
    );
    // JSON is for programs: every setting, pins included.
    let output = project.gpu_ci(&["config", "--json"]).success();
    let json: serde_json::Value = serde_json::from_slice(&output.get_output().stdout).unwrap();
    assert!(
        json.get("actions.\"actions/checkout\"").is_some(),
        "{json:#}"
    );
}

/// Issue 26: `max-cost` (a flag, or the config) becomes the deadline when it buys less than
/// `timeout`; `config` says which bound applies and where the budget came from.
#[test]
fn max_cost_bounds_the_deadline_and_config_says_which_bound_applies() {
    let project = Project::fixture("uv-groups-src");
    // H100 at $0.001097 a second: $2 buys 1823 s, under the default hour.
    let assert = project
        .gpu_ci(&["config", "--gpu", "H100", "--max-cost", "2"])
        .success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains(
            "deadline 30 min (max-cost $2.00): the budget allows less than timeout's 60 min"
        ),
        "{stderr}"
    );
    let json = config_json(&project, &["--gpu", "H100", "--max-cost", "2"]);
    assert_eq!(json["max-cost"]["value"], 2.0);
    assert_eq!(json["max-cost"]["source"]["flag"], "--max-cost");

    // Four shards of two devices each, in the config: the budget buys an eighth.
    crate::common::add_config(
        &project,
        "gpu = \"H100:2\"\nshards = 4\nmax-cost = 16\ntimeout = 600\n",
    );
    let json = config_json(&project, &[]);
    assert_eq!(json["max-cost"]["value"], 16.0);
    assert_eq!(source_kind(&json, "max-cost"), "config");
    let assert = project.gpu_ci(&["config"]).success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    // $16 / ($0.002194 × 4) = 1823 s: more than the timeout, which wins.
    assert!(
        stderr.contains("deadline 10 min (timeout): max-cost $16.00 would allow 30 min"),
        "{stderr}"
    );
    let text = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert!(text.contains("max-cost = 16.0"), "{text}");

    // With no budget the row is there, empty, from the default.
    let json = config_json(&Project::fixture("extras-flat"), &[]);
    assert_eq!(json["max-cost"]["value"], serde_json::Value::Null);
    assert_eq!(source_kind(&json, "max-cost"), "default");
}

/// Issue 26: a budget too small to run anything, and amounts that are not one, are refused
/// with a one-line error that says what would do, before anything is written.
#[test]
fn a_budget_that_buys_no_run_or_is_no_amount_is_refused() {
    let project = Project::fixture("uv-groups-src");
    project
        .gpu_ci(&[
            "init",
            "--yes",
            "--gpu",
            "H100",
            "--shards",
            "4",
            "--max-cost",
            "0.05",
        ])
        .code(2)
        .stderr(predicates::str::contains(
            "error: max-cost $0.05 buys 11 s of H100 × 4 shards",
        ))
        .stderr(predicates::str::contains(
            "raise max-cost to at least $0.53",
        ));
    assert!(!project.path(".github").exists(), "nothing written");
    for bad in ["0", "-1", "nan", "inf", "two", "20000"] {
        project
            .gpu_ci(&["config", &format!("--max-cost={bad}")])
            .code(2)
            .stderr(predicates::str::contains("--max-cost"));
    }
    for bad in ["0", "-2.5", "\"2\"", "20000", "true"] {
        let fresh = Project::fixture("uv-groups-src");
        crate::common::add_config(&fresh, &format!("max-cost = {bad}\n"));
        fresh
            .gpu_ci(&["config"])
            .code(2)
            .stderr(predicates::str::contains(
                "`max-cost` in [tool.gpu-ci] in pyproject.toml must be an amount of US dollars",
            ));
    }
}

/// Issue 26: `cache` from a flag (`--cache`, `--no-cache`, `--cache-path`) or the config, shown
/// with its source; `init` writes it back, and the runner and the workflows carry it.
#[test]
fn cache_is_a_setting_with_its_source_and_reaches_the_generated_files() {
    let project = Project::fixture("extras-flat");
    let json = config_json(&project, &[]);
    assert_eq!(json["cache"]["value"], false);
    assert_eq!(source_kind(&json, "cache"), "default");
    let json = config_json(&project, &["--cache"]);
    assert_eq!(json["cache"]["value"], true);
    assert_eq!(json["cache"]["source"]["flag"], "--cache");
    let json = config_json(&project, &["--cache-path", "/data/models"]);
    assert_eq!(json["cache"]["value"], serde_json::json!(["/data/models"]));

    project
        .gpu_ci(&[
            "init",
            "--yes",
            "--cache-path",
            "/root/.cache/torch_extensions",
        ])
        .success()
        .stderr(predicates::str::contains(
            "the download caches live on the Modal Volume `gpu-ci-cache-mathkit`",
        ));
    assert!(
        project
            .read("pyproject.toml")
            .contains("cache = [\"/root/.cache/torch_extensions\"]")
    );
    let json = config_json(&project, &[]);
    assert_eq!(source_kind(&json, "cache"), "config");
    let runner = project.read(".modal/test_runner.py");
    assert!(runner.contains("CACHE_VOLUME = \"gpu-ci-cache-mathkit\""));
    assert!(runner.contains("CACHE_PATHS = [\"/root/.cache/torch_extensions\"]"));
    assert!(runner.contains("volumes=cache_volumes(),"));
    // Only the caller that tests its own trusted commit lets the run write the cache.
    let called = project.read(".github/workflows/_modal-gpu-tests.yml");
    assert!(
        called.contains(
            "GPU_CI_CACHE_ACCESS: ${{ inputs.cache_write && 'read-write' || 'read-only' }}"
        )
    );
    assert!(
        project
            .read(".github/workflows/label-gpu-tests.yml")
            .contains(
                "cache_write: ${{ github.event.pull_request.head.repo.full_name == github.repository && github.event.pull_request.user.type != 'Bot' }}"
            )
    );
    assert!(
        project
            .read(".github/workflows/run-gpu-tests.yml")
            .contains("cache_write: ${{ github.ref == 'refs/heads/main' && (github.event_name == 'push' || inputs.ref == '') }}")
    );

    // --no-cache turns it off: the key goes, and so does every cache line.
    project
        .gpu_ci(&["init", "--yes", "--force", "--no-cache"])
        .success();
    assert!(!project.read("pyproject.toml").contains("cache ="));
    assert!(
        !project
            .read(".modal/test_runner.py")
            .contains("CACHE_VOLUME")
    );
    assert!(
        !project
            .read(".github/workflows/_modal-gpu-tests.yml")
            .contains("cache_write")
    );
}

/// Issue 26: a `cache` that is not true, false or a list of plain absolute container paths is
/// refused with one `error:` line, from the config and from --cache-path alike.
#[test]
fn cache_values_and_paths_that_are_not_plain_absolute_folders_are_refused() {
    for (value, said) in [
        (
            "\"yes\"",
            "must be true, false or a list of absolute container paths",
        ),
        (
            "1",
            "must be true, false or a list of absolute container paths",
        ),
        (
            "[1]",
            "must be true, false or a list of absolute container paths",
        ),
        ("[\"relative/cache\"]", "is not an absolute container path"),
        ("[\"/root/../etc\"]", "is not a plain folder path"),
        ("[\"/root/./x\"]", "is not a plain folder path"),
        ("[\"/root//x\"]", "is not a plain folder path"),
        ("[\"/root/x/\"]", "is not a plain folder path"),
        ("[\"/\"]", "is not a plain folder path"),
        ("[\"/proc/self\"]", "is in `/proc`"),
        ("[\"/usr\"]", "is in `/usr`"),
        ("[\"/gpu-ci-cache/x\"]", "is in `/gpu-ci-cache`"),
        ("[\"/root/project/data\"]", "is in `/root/project`"),
        ("[\"/root/a b\"]", "holds ' '"),
        ("[\"/root/$(id)\"]", "holds '$'"),
        ("[\"/root/x\\u0000y\"]", "holds '\\0'"),
        ("[\"/a\", \"/a\"]", "is listed twice"),
    ] {
        let project = Project::fixture("extras-flat");
        crate::common::add_config(&project, &format!("cache = {value}\n"));
        let output = project.gpu_ci(&["config"]).code(2);
        let stderr = String::from_utf8_lossy(&output.get_output().stderr).into_owned();
        assert!(
            stderr.starts_with("error: `cache` in [tool.gpu-ci] in pyproject.toml")
                && stderr.contains(said),
            "{value}: {stderr}"
        );
        assert_eq!(
            stderr.lines().filter(|l| l.starts_with("error:")).count(),
            1,
            "{stderr}"
        );
    }
    let many: Vec<String> = (0..17).map(|i| format!("\"/c/{i}\"")).collect();
    let project = Project::fixture("extras-flat");
    crate::common::add_config(&project, &format!("cache = [{}]\n", many.join(", ")));
    project
        .gpu_ci(&["config"])
        .code(2)
        .stderr(predicates::str::contains("17 paths; at most 16"));
    for bad in ["relative", "/root/../x", "/sys/x", "/a b"] {
        project
            .gpu_ci(&["init", "--yes", "--cache-path", bad])
            .code(2)
            .stderr(predicates::str::contains("--cache-path"));
    }
    assert!(!project.path(".github").exists(), "nothing written");
}

/// Issue 26: `gpu-ci cache` needs the Modal client, as `gpu-ci run` does: without one on PATH
/// it says how to install it, one `error:` line, exit 2.
#[test]
fn gpu_ci_cache_without_a_modal_client_says_how_to_install_it() {
    let project = Project::fixture("extras-flat");
    let empty = tempfile::tempdir().unwrap();
    let output = crate::common::gpu_ci()
        .env("PATH", empty.path())
        .arg("-C")
        .arg(&project.root)
        .args(["cache", "show"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&output.get_output().stderr).into_owned();
    assert!(
        stderr.starts_with("error: the Modal client `modal` is not installed"),
        "{stderr}"
    );
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error:")).count(),
        1
    );
}
