//! `gpu-ci config`: the resolved settings and where each came from, as `cargo config get` shows
//! them: `python = "3.11"  # detected: .python-version`.

use std::path::Path;

use crate::cli::ConfigArgs;
use crate::error::{ExitStatus, Result};
use crate::plan::build::{Prompter, Setup, WhenNotSetUp, load};
use crate::ui;

pub fn run(args: &ConfigArgs, root: &Path) -> Result<ExitStatus> {
    let Setup { plan, .. } = load(
        root,
        &args.choices,
        &Prompter::DEFAULTS,
        WhenNotSetUp::Proceed,
    )?;
    let rows = plan.describe();
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
