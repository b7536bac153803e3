//! `gpu-ci cache [show|clear]` (issue 26): this repository's cache volume, through the Modal
//! client as `gpu-ci run` calls it: `modal run` of a small script (written to a temporary
//! folder, never the project's) that reads the volume's listing, or deletes the volume. The
//! script writes its answer as JSON into a file of that folder, read back here as data.

use std::io::IsTerminal;
use std::path::Path;
use std::process::Stdio;

use crate::cli::{CacheArgs, CacheCommand};
use crate::error::{Error, ExitStatus, IoOp, Result};
use crate::modal_local::{ModalSettings, Search, find_client};
use crate::plan::build::{Prompter, Setup, WhenNotSetUp, load};
use crate::plan::cache::{ccache_volume_name, volume_name};
use crate::plan::choices::Choices;
use crate::ui;

/// What `modal run` runs: the volume's files and bytes (`show`), or its deletion (`clear`).
const SCRIPT: &str = r#""""gpu-ci cache: show or clear a cache volume; started by gpu-ci through `modal run`."""

import json

import modal
import modal.exception
from modal_proto import api_pb2

app = modal.App("gpu-ci-cache")


def one(action: str, name: str) -> dict:
    result = {"volume": name, "exists": True, "files": 0, "bytes": 0, "deleted": False}
    try:
        volume = modal.Volume.from_name(name).hydrate()
    except modal.exception.NotFoundError:
        result["exists"] = False
        return result
    if action == "clear":
        modal.Volume.objects.delete(name)
        result["deleted"] = True
    else:
        for entry in volume.iterdir("/", recursive=True):
            if entry.type == api_pb2.FileEntry.FileType.FILE:
                result["files"] += 1
                result["bytes"] += entry.size
    return result


@app.local_entrypoint()
def main(action: str, names: str, out: str) -> None:
    results = [one(action, name) for name in names.split(",")]
    with open(out, "w", encoding="utf-8") as file:
        json.dump(results, file)
"#;

/// The largest answer read back from the script.
const ANSWER_LIMIT: u64 = 64 * 1024;

/// What the script answered, checked.
#[derive(Debug, serde::Deserialize)]
struct Answer {
    volume: String,
    exists: bool,
    files: u64,
    bytes: u64,
    deleted: bool,
}

pub fn run(args: &CacheArgs, root: &Path) -> Result<ExitStatus> {
    let Setup { plan, .. } = load(
        root,
        &Choices::default(),
        &Prompter::DEFAULTS,
        WhenNotSetUp::Proceed,
    )?;
    let name = volume_name(&plan.project_name);
    let ccache = ccache_volume_name(&plan.project_name);
    let clear = matches!(args.command, Some(CacheCommand::Clear { .. }));
    if let Some(CacheCommand::Clear { yes: false }) = args.command {
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            return Err(Error::usage(format!(
                "refusing to delete the cache volume `{name}` without a confirmation"
            ))
            .with_help("run `gpu-ci cache clear --yes` to delete it without a question"));
        }
        let sure = dialoguer::Confirm::new()
            .with_prompt(format!(
                "Delete the Modal Volumes `{name}` and `{ccache}` and everything cached in them?"
            ))
            .default(false)
            .interact()
            .map_err(|err| {
                let dialoguer::Error::IO(io) = err;
                Error::usage(format!("the question was not answered: {io}"))
            })?;
        if !sure {
            ui::note("nothing deleted");
            return Ok(ExitStatus::Success);
        }
    }
    let answers = ask_modal(
        root,
        if clear { "clear" } else { "show" },
        &[&name, &ccache],
    )?;
    let [answer, compiler] = &answers[..] else {
        return Err(Error::internal(
            "the cache script answered for other volumes",
        ));
    };
    if answer.volume != name || compiler.volume != ccache {
        return Err(Error::internal(format!(
            "the cache script answered for `{}` and `{}`, not `{name}` and `{ccache}`",
            answer.volume, compiler.volume
        )));
    }
    let json = matches!(args.command, Some(CacheCommand::Show { json: true }));
    if clear {
        for done in [answer, compiler] {
            let volume = &done.volume;
            if done.deleted {
                ui::out(&format!(
                    "deleted the Modal Volume {volume}; the next run with `cache` creates it empty"
                ));
            } else {
                ui::out(&format!(
                    "the Modal Volume {volume} does not exist: nothing to clear"
                ));
            }
        }
        if compiler.deleted {
            // Modal keys an image layer by its definition, not by what the volume held: layers
            // built with the old compiler cache stay in its image cache until rebuilt.
            ui::note(
                "image layers already built with the compiler cache stay in Modal's image cache: set MODAL_FORCE_BUILD=1 for the next run to rebuild them",
            );
        }
        return Ok(ExitStatus::Success);
    }
    let scope = "this repository's runs: trusted runs (pushes to the branch, dispatches of it, its own pull requests opened by a person, `gpu-ci run` off CI) read and write it; a fork's or a bot's pull request, another dispatched ref and `gpu-ci run --tree` only read it";
    if json {
        let value = serde_json::json!({
            "volume": name,
            "enabled": plan.cache.value.enabled,
            "exists": answer.exists,
            "files": answer.files,
            "bytes": answer.bytes,
            "scope": scope,
            "compiler_cache": {
                "volume": ccache,
                "exists": compiler.exists,
                "files": compiler.files,
                "bytes": compiler.bytes,
            },
        });
        ui::out(&serde_json::to_string_pretty(&value).expect("JSON serialises"));
        return Ok(ExitStatus::Success);
    }
    ui::out(&format!("volume   {name}"));
    ui::out(&format!("scope    {scope}"));
    ui::out(&if answer.exists {
        format!(
            "size     {} in {} files",
            human_size(answer.bytes),
            answer.files
        )
    } else {
        "size     none: the volume does not exist yet (the first run with `cache` creates it)"
            .into()
    });
    ui::out(&format!(
        "compiler cache  {ccache} (ccache of the image's build steps, scoped alike): {}",
        if compiler.exists {
            format!("{} in {} files", human_size(compiler.bytes), compiler.files)
        } else {
            "none yet".into()
        }
    ));
    if !plan.cache.value.enabled {
        ui::note(
            "`cache` is off in this project's settings: runs neither read nor write this volume (`gpu-ci init --cache` turns it on)",
        );
    }
    Ok(ExitStatus::Success)
}

/// `1.50 GiB`, `12.0 MiB`, `512 B`.
fn human_size(bytes: u64) -> String {
    const UNITS: [(&str, f64); 3] = [
        ("GiB", 1024.0 * 1024.0 * 1024.0),
        ("MiB", 1024.0 * 1024.0),
        ("KiB", 1024.0),
    ];
    UNITS
        .iter()
        .find(|(_, size)| bytes as f64 >= *size)
        .map_or_else(
            || format!("{bytes} B"),
            |(unit, size)| format!("{:.2} {unit}", bytes as f64 / size),
        )
}

/// Runs the script through the Modal client, found as `doctor` finds it: never one inside the
/// project at `root` (an activated `.venv` of a pull request's checkout is its code, and this
/// command holds the Modal token); its answer.
fn ask_modal(root: &Path, action: &str, names: &[&str]) -> Result<Vec<Answer>> {
    let client = find_client(Search::OutsideProject(root)).ok_or_else(|| {
        Error::usage("the Modal client `modal` is not installed").with_help(format!(
            "install it with {}, then run `modal token new`",
            crate::pins::modal_client_install()
        ))
    })?;
    if !ModalSettings::read()?.has_token() {
        return Err(Error::usage("no Modal credentials found")
            .with_help("run `modal token new`, or set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET"));
    }
    let dir = tempfile::tempdir()
        .map_err(|err| Error::io(IoOp::CreateFolderIn, std::env::temp_dir(), err))?;
    let script = dir.path().join("gpu_ci_cache.py");
    std::fs::write(&script, SCRIPT).map_err(|err| Error::io(IoOp::Write, &script, err))?;
    let out = dir.path().join("answer.json");
    let output = client
        .command()
        .current_dir(dir.path())
        .arg("run")
        .arg(&script)
        .arg(format!("--action={action}"))
        .arg(format!("--names={}", names.join(",")))
        .arg(format!("--out={}", out.display()))
        .stdin(Stdio::null())
        .output()
        .map_err(|err| {
            Error::usage(format!(
                "the Modal client (`{}`) could not be started: {err}",
                client.command
            ))
        })?;
    let answer = std::fs::File::open(&out).ok().and_then(|file| {
        use std::io::Read;
        let mut text = String::new();
        file.take(ANSWER_LIMIT).read_to_string(&mut text).ok()?;
        serde_json::from_str::<Vec<Answer>>(&text).ok()
    });
    match answer {
        Some(answer) if output.status.success() => Ok(answer),
        _ => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last = stderr
                .lines()
                .rev()
                .find(|line| !line.trim().is_empty())
                .unwrap_or("no message");
            Err(Error::usage(format!(
                "the Modal client could not {} the cache volume `{}`: {}",
                if action == "clear" { "delete" } else { "read" },
                names[0],
                last.trim()
            ))
            .with_help("`gpu-ci doctor` checks the client and the token"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_shown_in_binary_units() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(1536), "1.50 KiB");
        assert_eq!(human_size(3 * 1024 * 1024 * 1024), "3.00 GiB");
    }
}
