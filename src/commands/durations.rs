//! `gpu-ci durations`: the time of each test from a run's JUnit XML, written to the small file
//! that balances the shards (`.gpu-ci-durations.json`), sorted and rounded so that its
//! diffs stay readable.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use serde_json::json;

use crate::cli::DurationsArgs;
use crate::error::{Error, ExitStatus, IoOp, Result};
use crate::junit;

/// The format of the durations file, for a reader to check.
pub const VERSION: u64 = 1;

/// The durations of `junit_xml`'s test cases by node id; a test listed more than once (on
/// several GPUs of a matrix) keeps its longest time. Cases without a usable time are left out.
pub fn durations(junit_xml: &str) -> std::result::Result<BTreeMap<String, f64>, junit::ParseError> {
    let mut durations: BTreeMap<String, f64> = BTreeMap::new();
    for case in junit::test_cases(junit_xml)? {
        let Some(seconds) = case.seconds else {
            continue;
        };
        if case.node_id.is_empty() {
            continue;
        }
        let entry = durations.entry(case.node_id).or_insert(0.0);
        *entry = entry.max(seconds);
    }
    Ok(durations)
}

/// The file's text: `{"version": 1, "durations": {"node id": seconds, ...}}`, one test a line,
/// in node-id order, to the millisecond.
pub fn render(durations: &BTreeMap<String, f64>) -> String {
    let rounded: serde_json::Map<String, serde_json::Value> = durations
        .iter()
        .map(|(id, seconds)| {
            let ms = (seconds * 1000.0).round() / 1000.0;
            (id.clone(), json!(ms))
        })
        .collect();
    let document = json!({ "version": VERSION, "durations": rounded });
    let mut text = serde_json::to_string_pretty(&document).expect("JSON of strings and numbers");
    text.push('\n');
    text
}

fn read_junit(path: &Path) -> Result<String> {
    let not_regular = || {
        Error::usage(format!(
            "cannot read `{}`: it is not a regular file",
            path.display()
        ))
        .with_help("name a JUnit XML file (gpu-ci reads nothing else)")
    };
    // A FIFO blocks whoever opens it, a device never ends: refused before it is opened.
    let meta = std::fs::metadata(path).map_err(|err| {
        let error = Error::io(IoOp::Read, path, err);
        if path.ends_with("test-outputs/junit.xml") {
            error.with_help("run the tests first (`gpu-ci run`), or name a JUnit XML file")
        } else {
            error
        }
    })?;
    if !meta.is_file() {
        return Err(not_regular());
    }
    let file = std::fs::File::open(path).map_err(|err| Error::io(IoOp::Read, path, err))?;
    // What was opened, not what was looked at: it may have been replaced in between.
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Err(not_regular());
    }
    let mut bytes = Vec::new();
    file.take(junit::LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| Error::io(IoOp::Read, path, err))?;
    if bytes.len() as u64 > junit::LIMIT {
        return Err(Error::usage(format!(
            "`{}` is larger than {} MiB; it was not read",
            path.display(),
            junit::LIMIT / 1024 / 1024
        )));
    }
    if let Err(err) = junit::decode(&bytes) {
        return Err(Error::usage(format!(
            "`{}` is not JUnit XML gpu-ci can read: {err}",
            path.display()
        )));
    }
    Ok(String::from_utf8(bytes).expect("junit::decode checked that it is UTF-8"))
}

/// Writes `text` to `path` whole or not at all: a temporary file beside it, then a rename.
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&folder).map_err(|err| Error::io(IoOp::CreateFolder, &folder, err))?;
    let mut temp = tempfile::Builder::new()
        .prefix(".gpu-ci-durations-")
        .tempfile_in(&folder)
        .map_err(|err| Error::io(IoOp::CreateFolderIn, &folder, err))?;
    temp.write_all(text.as_bytes())
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|err| Error::io(IoOp::Write, temp.path(), err))?;
    temp.persist(path)
        .map_err(|err| Error::io(IoOp::Move, path, err.error))?;
    Ok(())
}

pub fn run(args: &DurationsArgs, root: &Path) -> Result<ExitStatus> {
    let junit_path = root.join(&args.junit);
    let text = read_junit(&junit_path)?;
    let durations = durations(&text).map_err(|err| {
        Error::usage(format!(
            "`{}` is not JUnit XML gpu-ci can read: {err}",
            args.junit.display()
        ))
    })?;
    if durations.is_empty() {
        return Err(Error::usage(format!(
            "`{}` holds no test with a time; nothing was written",
            args.junit.display()
        )));
    }
    // Inside the project (a relative path), written as every gpu-ci write is: never through a
    // link that leads out of it (a `.github` that came with the tree, say).
    let output = match args.output.to_str() {
        Some(rel) if args.output.is_relative() => {
            crate::generate::write::checked_target(root, rel)?
        }
        _ => root.join(&args.output),
    };
    let before = crate::project::read_text(&output, &args.output.display().to_string())
        .ok()
        .and_then(|old| serde_json::from_str::<serde_json::Value>(&old).ok())
        .and_then(|old| old.get("durations")?.as_object().cloned());
    write_atomically(&output, &render(&durations))?;
    let total: f64 = durations.values().sum();
    let mut line = format!(
        "gpu-ci: recorded {} test durations ({total:.1} s in all) from {} into {}",
        durations.len(),
        args.junit.display(),
        args.output.display()
    );
    let changes = before.map(|old| {
        let added = durations.keys().filter(|id| !old.contains_key(*id)).count();
        let dropped = old.keys().filter(|id| !durations.contains_key(*id)).count();
        (added, dropped)
    });
    if args.json {
        let text = serde_json::to_string_pretty(&json!({
            "junit": args.junit.display().to_string(),
            "output": args.output.display().to_string(),
            "tests": durations.len(),
            "total_seconds": (total * 1000.0).round() / 1000.0,
            "new": changes.map(|(added, _)| added),
            "dropped": changes.map(|(_, dropped)| dropped),
        }))
        .expect("JSON of strings and numbers");
        crate::ui::out(&crate::ui::escaped_json(&text));
        return Ok(ExitStatus::Success);
    }
    if let Some((added, dropped)) = changes {
        line.push_str(&format!(" ({added} new, {dropped} no longer listed)"));
    }
    crate::ui::plain(&format!("{line}; commit it, and shards balance by it"));
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_on_several_gpus_keeps_its_longest_time() {
        let xml = r#"<testsuites><testsuite name="pytest (T4)"><testcase classname="t" name="a" file="t.py" time="2.5"/><testcase classname="t" name="b" file="t.py" time="0.1234"/></testsuite><testsuite name="pytest (H100)"><testcase classname="t" name="a" file="t.py" time="1.0"/><testcase classname="t" name="c" file="t.py"/></testsuite></testsuites>"#;
        let found = durations(xml).unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found["t.py::a"], 2.5);
        assert_eq!(
            render(&found),
            "{\n  \"durations\": {\n    \"t.py::a\": 2.5,\n    \"t.py::b\": 0.123\n  },\n  \"version\": 1\n}\n"
        );
    }
}
