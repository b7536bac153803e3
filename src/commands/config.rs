//! `gpu-ci config`: the resolved settings and where each came from, as `cargo config get` shows
//! them: `python = "3.11"  # detected: .python-version`.

use std::path::Path;

use crate::cli::ConfigArgs;
use crate::error::{ExitStatus, Result};
use crate::plan::build::{Prompter, Setup, WhenNotSetUp, load};
use crate::plan::choices::Choices;
use crate::ui;

pub fn run(args: &ConfigArgs, root: &Path) -> Result<ExitStatus> {
    let Setup { plan, .. } = load(
        root,
        &Choices::from(&args.choices),
        &Prompter::DEFAULTS,
        WhenNotSetUp::Proceed,
    )?;
    let rows = plan.describe();
    // Which bound sets the deadline, when a budget is set (issue 26).
    if let Some(dollars) = plan.max_cost.value {
        ui::note(&crate::plan::budget::describe(
            &plan.deadline,
            dollars,
            plan.timeout.value,
        ));
    }
    if args.json {
        let settings: serde_json::Map<String, serde_json::Value> = rows
            .into_iter()
            .map(|(key, value, source)| {
                let entry = serde_json::json!({ "value": value, "source": source });
                (key, entry)
            })
            .collect();
        let text = serde_json::to_string_pretty(&settings).expect("settings serialise");
        ui::out(&ui::escaped_json(&text));
        return Ok(ExitStatus::Success);
    }
    // The action pins are four long SHA lines that rarely matter when reading the settings:
    // left out of the table unless asked for.
    let (pins, rows): (Vec<_>, Vec<_>) = rows
        .into_iter()
        .partition(|(key, ..)| key.starts_with("actions."));
    let hidden = if args.all { 0 } else { pins.len() };
    let rows = rows
        .into_iter()
        .chain(pins.into_iter().filter(|_| args.all));
    let lines: Vec<(String, String)> = rows
        .map(|(key, value, source)| {
            let value = match value {
                serde_json::Value::Null => "(unset)".to_string(),
                // As TOML writes a list: `["T4", "H100"]`, `["github", "gitlab"]`.
                serde_json::Value::Array(items) => {
                    let items: Vec<String> = items.iter().map(ToString::to_string).collect();
                    format!("[{}]", items.join(", "))
                }
                other => other.to_string(),
            };
            (format!("{key} = {value}"), source.to_string())
        })
        .collect();
    // Sources line up, except after the few long lines (the action pins).
    let width = lines
        .iter()
        .map(|(setting, _)| setting.len())
        .filter(|len| *len <= 40)
        .max()
        .unwrap_or(0);
    for (setting, source) in lines {
        // A value or a source quotes the project: escaped, one line each.
        ui::out(&ui::escaped(&format!("{setting:width$}  # {source}")));
    }
    if hidden > 0 {
        ui::note(&format!(
            "{hidden} action pins left out; `gpu-ci config --all` lists them"
        ));
    }
    Ok(ExitStatus::Success)
}

/// The values a key's string may take, where the plan accepts only a known few.
fn allowed_values(key: &str) -> Option<Vec<&'static str>> {
    use crate::plan::{ci::CiSystem, install::ProjectInstall, python, recipe};
    use crate::project::Framework;
    Some(match key {
        "ci" => CiSystem::ALL.iter().map(|ci| ci.name()).collect(),
        "framework" => Framework::ALL.iter().map(|f| f.name()).collect(),
        "install-project" => ProjectInstall::NAMES.to_vec(),
        "image-builder" => python::IMAGE_BUILDERS.iter().map(|(v, _)| *v).collect(),
        "cuda" => recipe::CUDA_VERSIONS.iter().map(|(v, _, _)| *v).collect(),
        _ => return None,
    })
}

/// The JSON Schema (2020-12) of `[tool.gpu-ci]`, from the reader's own key table
/// (`config::KEY_TYPES`) and the plan's lists of known values: `gpu-ci config --schema`, and
/// `gpu-ci.schema.json` at the repository's root for editors.
pub fn schema() -> serde_json::Value {
    use crate::config::{KEY_TYPES, KeyType, MAX_CACHE_PATHS, MAX_COST_LIMIT, MAX_SHARDS};
    use serde_json::json;
    let mut properties = serde_json::Map::new();
    for (key, kind, description) in KEY_TYPES {
        let text = match allowed_values(key) {
            Some(values) => json!({ "type": "string", "enum": values }),
            None => json!({ "type": "string" }),
        };
        let mut property = match kind {
            KeyType::Text => text,
            KeyType::Flag => json!({ "type": "boolean" }),
            KeyType::TextOrList => json!({
                "anyOf": [text, { "type": "array", "items": text }]
            }),
            KeyType::List => json!({ "type": "array", "items": text }),
            KeyType::Table => json!({
                "type": "object",
                "additionalProperties": { "type": "string" }
            }),
            KeyType::Shards => json!({ "type": "integer", "minimum": 1, "maximum": MAX_SHARDS }),
            KeyType::Seconds => json!({ "type": "integer", "minimum": 1, "maximum": u32::MAX }),
            KeyType::Dollars => {
                json!({ "type": "number", "exclusiveMinimum": 0, "maximum": MAX_COST_LIMIT })
            }
            // The reader also refuses `.`/`..` parts and the system's folders.
            KeyType::FlagOrList => json!({
                "anyOf": [
                    { "type": "boolean" },
                    {
                        "type": "array",
                        "items": { "type": "string", "pattern": "^/[A-Za-z0-9._+@~/-]{1,199}$" },
                        "maxItems": MAX_CACHE_PATHS,
                        "uniqueItems": true
                    }
                ]
            }),
        };
        property["description"] = json!(description);
        properties.insert((*key).to_string(), property);
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "[tool.gpu-ci]",
        "description": "gpu-ci's settings: [tool.gpu-ci] in pyproject.toml, or gpu-ci.toml. Generated by `gpu-ci config --schema`.",
        "type": "object",
        "properties": properties,
        "additionalProperties": false
    })
}

/// `gpu-ci config --schema`: the schema, pretty, on stdout.
pub fn print_schema() -> Result<ExitStatus> {
    let mut text = serde_json::to_string_pretty(&schema()).expect("JSON of strings and numbers");
    text.push('\n');
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`gpu-ci config --schema | head`) is no error worth reporting.
    let _ = std::io::Write::write_all(&mut stdout, text.as_bytes());
    Ok(ExitStatus::Success)
}
