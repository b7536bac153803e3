//! The JSON Schema of `[tool.gpu-ci]` (`gpu-ci config --schema`) against the reader itself:
//! each key's valid values accepted by both, each wrong type or unknown value refused by both.
//! The schema is checked with the `jsonschema` package of `.venv` (check-jsonschema's own).

use std::process::Command;

use serde_json::{Value, json};

use crate::common::Project;
use crate::installed::python;

/// A value as TOML: strings in JSON's quoting (valid TOML for these), arrays, inline tables.
fn toml(value: &Value) -> String {
    match value {
        Value::String(_) | Value::Bool(_) | Value::Number(_) => value.to_string(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(toml).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{ {} }}",
            map.iter()
                .map(|(k, v)| format!("{} = {}", Value::from(k.as_str()), toml(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Null => panic!("TOML has no null"),
    }
}

/// The cases: a key, a value, and whether gpu-ci should accept it (on uv-groups-src, with
/// `python = "3.12"` beside it so every image builder admits the Python).
fn cases() -> Vec<(&'static str, Value, bool)> {
    let schema: Value = serde_json::from_slice(
        &crate::common::gpu_ci()
            .args(["config", "--schema"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let sha = "11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2";
    let mut cases: Vec<(&'static str, Value, bool)> = vec![
        ("gpu", json!("H100"), true),
        ("gpu", json!(["T4", "H100"]), true),
        ("python", json!("3.11"), true),
        ("test-path", json!("tests/"), true),
        ("pytest-args", json!("-v -x"), true),
        ("label", json!("gpu-run"), true),
        ("group", json!("tests"), true),
        ("requirements", json!("requirements-gpu.txt"), true),
        ("fork-prs", json!(true), true),
        ("timeout", json!(600), true),
        ("max-cost", json!(2), true),
        ("max-cost", json!(0.25), true),
        ("max-cost", json!(10000), true),
        ("cache", json!(true), true),
        ("cache", json!(false), true),
        (
            "cache",
            json!(["/root/.cache/torch_extensions", "/data/models"]),
            true,
        ),
        (
            "base-image",
            json!("nvcr.io/nvidia/pytorch:25.01-py3"),
            true,
        ),
        ("allow-no-tests", json!(false), true),
        ("branch", json!("main"), true),
        ("environment", json!("gpu"), true),
        ("shards", json!(4), true),
        ("shards", json!(32), true),
        ("actions", json!({ "actions/checkout": sha }), true),
        ("ci", json!("gitlab"), true),
        ("ci", json!(["github", "bitbucket"]), true),
        ("packages", json!(["torchao>=0.10"]), true),
        (
            "index-url",
            json!("https://download.pytorch.org/whl/cu128"),
            true,
        ),
        (
            "extra-index-urls",
            json!(["https://download.pytorch.org/whl/cu128"]),
            true,
        ),
        ("env", json!({ "KERAS_BACKEND": "jax" }), true),
        ("modal-secrets", json!(["hf-token"]), true),
        ("setup", json!(["make"]), true),
        ("apt", json!(["libgl1"]), true),
        ("submodules", json!(true), true),
        // Unknown keys and values outside a key's list.
        ("gpus", json!("H100"), false),
        ("ci", json!("jenkins"), false),
        ("ci", json!(["github", "jenkins"]), false),
        // Numbers out of range, or of the wrong kind.
        ("shards", json!(0), false),
        ("shards", json!(33), false),
        ("shards", json!("4"), false),
        ("shards", json!(1.5), false),
        ("timeout", json!(0), false),
        ("timeout", json!(-1), false),
        ("timeout", json!("600"), false),
        ("max-cost", json!(0), false),
        ("max-cost", json!(-1.5), false),
        ("max-cost", json!(10000.5), false),
        ("max-cost", json!("2"), false),
        ("cache", json!("yes"), false),
        ("cache", json!(["relative/path"]), false),
        ("cache", json!(["/has space"]), false),
        ("cache", json!([1]), false),
        ("gpu", json!(1), false),
        ("gpu", json!([1]), false),
        ("ci", json!({ "github": "yes" }), false),
        ("env", json!("KERAS_BACKEND=jax"), false),
        ("env", json!({ "KERAS_BACKEND": 1 }), false),
        ("actions", json!("v4"), false),
    ];
    // Every key's type: a value of each wrong JSON type is refused by both.
    for (key, property) in schema["properties"].as_object().unwrap() {
        let key: &'static str = Box::leak(key.clone().into_boxed_str());
        let types: Vec<&str> = match property.get("anyOf") {
            Some(any) => any
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["type"].as_str().unwrap())
                .collect(),
            None => vec![property["type"].as_str().unwrap()],
        };
        for (kind, wrong) in [
            ("string", json!("text")),
            ("boolean", json!(true)),
            ("integer", json!(7)),
            ("array", json!(["x"])),
            ("object", json!({ "A": "b" })),
        ] {
            // A number takes a whole number too (`max-cost = 2`).
            let taken = types.contains(&kind) || (kind == "integer" && types.contains(&"number"));
            if !taken {
                // A list of strings where a list is taken counts as that list (gpu, ci).
                cases.push((key, wrong, false));
            }
        }
        // Every value of a key's list is accepted by both; another string is refused.
        let strings = property
            .get("enum")
            .or_else(|| property.get("anyOf").and_then(|a| a[0].get("enum")))
            .or_else(|| property.get("items").and_then(|i| i.get("enum")));
        if let Some(values) = strings {
            for value in values.as_array().unwrap() {
                cases.push((key, value.clone(), true));
            }
            cases.push((key, json!("zzz"), false));
        }
    }
    cases
}

/// Issue 24: the schema and the reader agree on every key, type and listed value.
#[test]
fn schema_and_reader_agree_on_every_key_type_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let schema_path = dir.path().join("schema.json");
    let output = crate::common::gpu_ci()
        .args(["config", "--schema"])
        .output()
        .unwrap();
    std::fs::write(&schema_path, &output.stdout).unwrap();
    let cases = cases();
    let instances: Vec<Value> = cases
        .iter()
        .map(|(key, value, _)| {
            let mut instance = json!({ "python": "3.12" });
            instance[*key] = value.clone();
            instance
        })
        .collect();
    let instances_path = dir.path().join("instances.json");
    std::fs::write(&instances_path, serde_json::to_vec(&instances).unwrap()).unwrap();
    let check = Command::new(python())
        .args([
            "-c",
            "import json, sys, jsonschema\n\
             schema = json.load(open(sys.argv[1]))\n\
             jsonschema.Draft202012Validator.check_schema(schema)\n\
             v = jsonschema.Draft202012Validator(schema)\n\
             print(json.dumps([v.is_valid(i) for i in json.load(open(sys.argv[2]))]))",
        ])
        .arg(&schema_path)
        .arg(&instances_path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let by_schema: Vec<bool> = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(by_schema.len(), cases.len());

    let mut disagreements = Vec::new();
    for ((key, value, expected), schema_ok) in cases.iter().zip(by_schema) {
        let project = Project::fixture("uv-groups-src");
        project.write("requirements-gpu.txt", "pytest\n");
        let mut text = project.read("pyproject.toml");
        text.push_str("\n[tool.gpu-ci]\n");
        if *key != "python" {
            text.push_str("python = \"3.12\"\n");
        }
        text.push_str(&format!("{key} = {}\n", toml(value)));
        project.write("pyproject.toml", &text);
        let output = project.gpu_ci(&["config", "--json"]).get_output().clone();
        let reader_ok = output.status.success();
        if reader_ok != *expected || schema_ok != *expected {
            disagreements.push(format!(
                "{key} = {}: expected {expected}, schema {schema_ok}, reader {reader_ok} ({})",
                toml(value),
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
