//! The `include:` entry gpu-ci adds to `.gitlab-ci.yml`, the user's own file: a text edit that
//! adds lines (or, for a one-line `include:`, rewrites that line) and keeps every other byte,
//! comments and order included. The result is parsed and compared with the original before it
//! is used: anything but "the same configuration plus one include" is refused.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::newlines::{is_crlf, keep_line_endings, strip_bom, to_lf, with_bom};

/// What gpu-ci includes.
pub const INCLUDED: &str = ".gitlab/gpu-ci.yml";

/// The file gpu-ci writes where there is no `.gitlab-ci.yml`.
pub const NEW_FILE: &str = "\
# GitLab CI/CD configuration. gpu-ci added the include below: the GPU tests on Modal live in
# .gitlab/gpu-ci.yml (`gpu-ci update` regenerates it). Add your own jobs here.
include:
  - local: .gitlab/gpu-ci.yml
";

const ENTRY: &str = "local: .gitlab/gpu-ci.yml";

fn refuse(why: &str) -> Error {
    Error::usage(format!(
        "cannot add `{INCLUDED}` to the `include:` of .gitlab-ci.yml: {why}"
    ))
    .with_help(format!(
        "add `- local: {INCLUDED}` to its `include:` yourself, then run `gpu-ci update --check`"
    ))
}

/// `.gitlab-ci.yml` with gpu-ci's file included: `None` when it already is.
pub fn with_include(current: Option<&str>) -> Result<Option<String>> {
    let Some(current) = current else {
        return Ok(Some(NEW_FILE.to_string()));
    };
    let (bom, text) = strip_bom(current);
    let lf = if is_crlf(text) {
        to_lf(text)
    } else {
        text.to_string()
    };
    let before = documents(&lf).map_err(|err| {
        Error::usage(format!(".gitlab-ci.yml is not valid YAML: {err}"))
            .with_help("correct it (GitLab would refuse it too), then run gpu-ci again")
    })?;
    if includes_ours(config_of(&before)) {
        return Ok(None);
    }
    let edited = add_entry(&lf)?;
    let after =
        documents(&edited).map_err(|err| refuse(&format!("the edit does not parse: {err}")))?;
    check_same_but_include(&before, &after)?;
    Ok(Some(with_bom(bom, keep_line_endings(text, &edited))))
}

/// Whether the configuration `text` includes gpu-ci's file (for `doctor`).
pub fn is_included(text: &str) -> bool {
    let (_, text) = strip_bom(text);
    documents(&to_lf(text)).is_ok_and(|docs| includes_ours(config_of(&docs)))
}

fn documents(text: &str) -> std::result::Result<Vec<Value>, String> {
    serde_saphyr::from_multiple::<Value>(text).map_err(|err| {
        // The first line says what and where; the rest is a source excerpt.
        err.to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    })
}

/// The configuration: the last document (the first may be a `spec:` header).
fn config_of(docs: &[Value]) -> &Value {
    docs.last().unwrap_or(&Value::Null)
}

/// The `include:` entries as a list.
fn entries(config: &Value) -> Vec<Value> {
    match config.get("include") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(other) => vec![other.clone()],
    }
}

fn includes_ours(config: &Value) -> bool {
    entries(config).iter().any(|entry| {
        let path = match entry {
            Value::String(path) => Some(path.as_str()),
            Value::Object(map) if !map.contains_key("project") => {
                map.get("local").and_then(Value::as_str)
            }
            _ => None,
        };
        path.is_some_and(|p| {
            let p = p.trim_start_matches("./").trim_start_matches('/');
            glob_matches(p, INCLUDED)
        })
    })
}

/// GitLab's wildcards for local includes: `*` within a folder, `**` across folders.
fn glob_matches(pattern: &str, path: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some(b'*') if p.get(1) == Some(&b'*') => {
                let rest = p[2..].strip_prefix(b"/").unwrap_or(&p[2..]);
                (0..=s.len()).any(|i| go(rest, &s[i..]) || go(&p[2..], &s[i..]))
            }
            Some(b'*') => (0..=s.len())
                .take_while(|&i| i == 0 || s[i - 1] != b'/')
                .any(|i| go(&p[1..], &s[i..])),
            Some(c) => s.first() == Some(c) && go(&p[1..], &s[1..]),
        }
    }
    go(pattern.as_bytes(), path.as_bytes())
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// A line holding nothing for YAML: blank or a comment.
fn is_filler(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// Adds the entry as text. Lines are kept as they are, except a one-line `include: VALUE`.
fn add_entry(text: &str) -> Result<String> {
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    // `split` leaves a last empty piece for a text that ends with a newline.
    let ends_with_newline = text.ends_with('\n');
    if ends_with_newline {
        lines.pop();
    }
    // The configuration is the last document.
    let start = lines
        .iter()
        .rposition(|l| l == "---" || l.starts_with("--- ") || l.starts_with("---\t"))
        .map_or(0, |i| i + 1);
    let key = lines.iter().enumerate().skip(start).find(|(_, l)| {
        l.strip_prefix("include")
            .is_some_and(|rest| rest.starts_with(':'))
    });
    let key = key.map(|(at, line)| (at, line.clone()));
    let Some((at, line)) = key else {
        if lines.last().is_some_and(|l| l.trim_end() == "...") {
            return Err(refuse("it ends with a `...` document end"));
        }
        let mut out = lines.join("\n");
        if !out.is_empty() {
            out.push('\n');
            out.push('\n');
        }
        out.push_str("# gpu-ci: the GPU tests on Modal (.gitlab/gpu-ci.yml, which `gpu-ci update` regenerates).\ninclude:\n  - ");
        out.push_str(ENTRY);
        out.push('\n');
        return Ok(out);
    };
    let value = line["include:".len()..].trim();
    if value.is_empty() || value.starts_with('#') {
        add_to_block(&mut lines, at)?;
    } else if value.starts_with('[') {
        let close = closing(&line, ']')
            .ok_or_else(|| refuse("its `include: [...]` spans several lines"))?;
        let inside = line[line.find('[').expect("starts with [") + 1..close].trim();
        let sep = if inside.is_empty() { "" } else { ", " };
        lines[at] = format!("{}{sep}{{{ENTRY}}}{}", &line[..close], &line[close..]);
    } else if value.starts_with('{') {
        let close = closing(&line, '}')
            .ok_or_else(|| refuse("its `include: {...}` spans several lines"))?;
        let open = line.find('{').expect("starts with {");
        lines[at] = format!(
            "{}[{}, {{{ENTRY}}}]{}",
            &line[..open],
            &line[open..=close],
            &line[close + 1..]
        );
    } else if value.starts_with(['&', '*', '!', '|', '>']) {
        return Err(refuse(
            "its `include:` value is an anchor, alias, tag or block scalar",
        ));
    } else {
        // One path: it becomes the first item of a list, its comment kept beside it.
        lines[at] = "include:".to_string();
        lines.insert(at + 1, format!("  - {value}"));
        lines.insert(at + 2, format!("  - {ENTRY}"));
    }
    let mut out = lines.join("\n");
    if ends_with_newline {
        out.push('\n');
    }
    Ok(out)
}

/// Where the flow collection that `line` opens closes, when it closes on this line and only a
/// comment follows.
fn closing(line: &str, close: char) -> Option<usize> {
    let at = line.rfind(close)?;
    let rest = line[at + 1..].trim();
    (rest.is_empty() || rest.starts_with('#')).then_some(at)
}

/// Adds an item to the block under `include:` at line `at`.
fn add_to_block(lines: &mut Vec<String>, at: usize) -> Result<()> {
    // The block: every following line that is filler, indented, or a `-` item at column 0.
    let mut last_content = None;
    let mut first_content = None;
    for (i, line) in lines.iter().enumerate().skip(at + 1) {
        if is_filler(line) {
            continue;
        }
        let belongs = indent_of(line) > 0 || line.starts_with("- ") || line == "-";
        if !belongs {
            break;
        }
        first_content.get_or_insert(i);
        last_content = Some(i);
    }
    let Some(first) = first_content else {
        // `include:` with no value yet.
        lines.insert(at + 1, format!("  - {ENTRY}"));
        return Ok(());
    };
    let item = lines[first].trim_start();
    if !(item.starts_with("- ") || item == "-") {
        return Err(refuse(
            "its `include:` is a mapping, not a list (write it as `include:` then `- local: ...` items)",
        ));
    }
    let indent = indent_of(&lines[first]);
    let last = last_content.expect("a first line means a last one");
    lines.insert(last + 1, format!("{}- {ENTRY}", " ".repeat(indent)));
    Ok(())
}

/// Every document as it was, and the configuration's `include:` the same list plus gpu-ci's.
fn check_same_but_include(before: &[Value], after: &[Value]) -> Result<()> {
    let changed = || refuse("the edit would change more than the `include:` list");
    if before.len().max(1) != after.len() {
        return Err(changed());
    }
    let n = after.len() - 1;
    if before[..n.min(before.len())] != after[..n] {
        return Err(changed());
    }
    let (old, new) = (config_of(before), &after[n]);
    let without = |config: &Value| match config {
        Value::Object(map) => {
            let mut map = map.clone();
            map.remove("include");
            Ok(Value::Object(map))
        }
        Value::Null => Ok(Value::Object(Default::default())),
        _ => Err(refuse("its configuration is not a mapping of keys")),
    };
    if without(old)? != without(new)? {
        return Err(changed());
    }
    let mut expected = entries(old);
    let added = entries(new).last().cloned();
    let ours = added.as_ref().is_some_and(|entry| {
        entry.get("local").and_then(Value::as_str) == Some(INCLUDED)
            && entry.as_object().is_some_and(|m| m.len() == 1)
    });
    expected.extend(added);
    if !ours || entries(new) != expected {
        return Err(changed());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(text: &str) -> String {
        with_include(Some(text)).unwrap().unwrap()
    }

    #[test]
    fn a_missing_file_is_created_and_an_included_one_left_alone() {
        assert_eq!(with_include(None).unwrap().unwrap(), NEW_FILE);
        for included in [
            NEW_FILE,
            "include: .gitlab/gpu-ci.yml\n",
            "include:\n  - local: /.gitlab/gpu-ci.yml\n",
            "include:\n  - local: '.gitlab/*.yml'\n",
            "include: [{local: .gitlab/**.yml}]\n",
        ] {
            assert_eq!(with_include(Some(included)).unwrap(), None, "{included}");
        }
    }

    #[test]
    fn no_include_key_appends_one_keeping_every_byte() {
        let text = "# my pipeline\nstages: [build, test]\n\nbuild:\n  script: [make]  # fast\n";
        let out = add(text);
        assert!(out.starts_with(text), "{out}");
        assert!(
            out.ends_with("include:\n  - local: .gitlab/gpu-ci.yml\n"),
            "{out}"
        );
        let out = add("job:\n  script: [x]");
        assert!(out.starts_with("job:\n  script: [x]\n\n"), "{out}");
    }

    #[test]
    fn a_block_list_gets_one_more_item_in_its_style() {
        let text = "include:\n  - local: a.yml   # first\n  # about b\n  - template: B.gitlab-ci.yml\n\n# jobs\njob:\n  script: [x]\n";
        assert_eq!(
            add(text),
            "include:\n  - local: a.yml   # first\n  # about b\n  - template: B.gitlab-ci.yml\n  - local: .gitlab/gpu-ci.yml\n\n# jobs\njob:\n  script: [x]\n"
        );
        let text = "include:\n- project: g/p\n  file: x.yml\nstages: [test]\n";
        assert_eq!(
            add(text),
            "include:\n- project: g/p\n  file: x.yml\n- local: .gitlab/gpu-ci.yml\nstages: [test]\n"
        );
        assert_eq!(
            add("include:\nstages: [test]\n"),
            "include:\n  - local: .gitlab/gpu-ci.yml\nstages: [test]\n"
        );
    }

    #[test]
    fn one_line_forms_become_lists() {
        assert_eq!(
            add("include: 'a.yml'  # mine\njob: {script: [x]}\n"),
            "include:\n  - 'a.yml'  # mine\n  - local: .gitlab/gpu-ci.yml\njob: {script: [x]}\n"
        );
        assert_eq!(
            add("include: [a.yml, b.yml] # two\n"),
            "include: [a.yml, b.yml, {local: .gitlab/gpu-ci.yml}] # two\n"
        );
        assert_eq!(
            add("include: []\n"),
            "include: [{local: .gitlab/gpu-ci.yml}]\n"
        );
        assert_eq!(
            add("include: {local: a.yml}\n"),
            "include: [{local: a.yml}, {local: .gitlab/gpu-ci.yml}]\n"
        );
    }

    #[test]
    fn the_configuration_document_after_a_spec_header() {
        let text = "spec:\n  inputs:\n    include:\n      default: x\n---\njob:\n  script: [x]\n";
        let out = add(text);
        assert!(out.starts_with(text), "{out}");
        let text = "spec:\n  inputs: {}\n---\ninclude:\n  - local: a.yml\n";
        assert!(add(text).ends_with("  - local: a.yml\n  - local: .gitlab/gpu-ci.yml\n"));
    }

    #[test]
    fn crlf_and_a_byte_order_mark_stay() {
        let out = add("\u{feff}job:\r\n  script: [x]\r\n");
        assert!(
            out.starts_with("\u{feff}job:\r\n  script: [x]\r\n\r\n"),
            "{out:?}"
        );
        assert!(
            out.ends_with("include:\r\n  - local: .gitlab/gpu-ci.yml\r\n"),
            "{out:?}"
        );
    }

    #[test]
    fn shapes_it_cannot_edit_safely_are_refused() {
        for text in [
            "include:\n  local: a.yml\n",
            "include: [a.yml,\n  b.yml]\n",
            "include: &inc a.yml\n",
            "job: [\n",
        ] {
            assert!(with_include(Some(text)).is_err(), "{text}");
        }
    }

    #[test]
    fn wildcards_as_gitlab_reads_them() {
        assert!(glob_matches(".gitlab/*.yml", ".gitlab/gpu-ci.yml"));
        assert!(glob_matches("**/*.yml", ".gitlab/gpu-ci.yml"));
        assert!(glob_matches(".gitlab/**.yml", ".gitlab/gpu-ci.yml"));
        assert!(!glob_matches("*.yml", ".gitlab/gpu-ci.yml"));
        assert!(!glob_matches(".gitlab/other.yml", ".gitlab/gpu-ci.yml"));
    }
}
