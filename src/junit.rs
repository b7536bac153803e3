//! pytest's JUnit XML, read for its test cases only: the node id (rebuilt from xunit1's `file`,
//! `classname` and `name`, as the runner's summary does) and the time of each.
//!
//! The file may come from a run of anyone's tests, so the reader is small and strict: a size
//! cap, UTF-8 only, no document type (so no entity can be declared, let alone expanded), only
//! XML's five predefined entities and character references; comments, processing instructions
//! and CDATA are skipped, text is never read.

use std::fmt;

/// The largest JUnit XML read: a merged file of many shards, with their captured output.
pub const LIMIT: u64 = 256 * 1024 * 1024;

/// One `<testcase>`.
#[derive(Debug, Clone, PartialEq)]
pub struct TestCase {
    /// pytest's node id: `tests/test_x.py::TestA::test_b[1]`.
    pub node_id: String,
    /// Its `time` attribute, when it is a finite number of seconds, 0 or more.
    pub seconds: Option<f64>,
}

/// Why a document was not read; the byte offset where the reader stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub offset: usize,
    pub reason: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.reason, self.offset)
    }
}

fn fail<T>(offset: usize, reason: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        offset,
        reason: reason.into(),
    })
}

/// The test cases of a JUnit XML document, in document order.
pub fn test_cases(text: &str) -> Result<Vec<TestCase>, ParseError> {
    let mut cases = Vec::new();
    let mut at = 0;
    let mut saw_root = false;
    while let Some(found) = text[at..].find('<') {
        at += found;
        let rest = &text[at..];
        let skip_to = |end: &str| -> Result<usize, ParseError> {
            match rest.find(end) {
                Some(i) => Ok(at + i + end.len()),
                None => fail(at, format!("unterminated markup, no `{end}`")),
            }
        };
        at = if rest.starts_with("<?") {
            skip_to("?>")?
        } else if rest.starts_with("<!--") {
            skip_to("-->")?
        } else if rest.starts_with("<![CDATA[") {
            skip_to("]]>")?
        } else if rest.starts_with("<!") {
            return fail(
                at,
                "the document declares a document type or entities, which pytest never writes; it was not read",
            );
        } else if rest.starts_with("</") {
            skip_to(">")?
        } else {
            let (tag, end) = start_tag(text, at)?;
            saw_root = true;
            if tag.name == "testcase" {
                cases.push(tag.test_case());
            }
            end
        };
    }
    if !saw_root {
        return fail(0, "no XML element in the document");
    }
    Ok(cases)
}

/// A start tag's name and attributes.
struct Tag {
    name: String,
    attributes: Vec<(String, String)>,
}

impl Tag {
    fn get(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn test_case(&self) -> TestCase {
        let seconds = self
            .get("time")
            .and_then(|t| t.trim().parse::<f64>().ok())
            .filter(|t| t.is_finite() && *t >= 0.0);
        TestCase {
            node_id: node_id(
                self.get("file"),
                self.get("classname").unwrap_or_default(),
                self.get("name").unwrap_or_default(),
            ),
            seconds,
        }
    }
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')
}

/// The start tag at `at` (which holds `<`), and the offset just after it.
fn start_tag(text: &str, at: usize) -> Result<(Tag, usize), ParseError> {
    let mut chars = text[at + 1..].char_indices().peekable();
    let offset = |i: usize| at + 1 + i;
    let mut name = String::new();
    while let Some(&(_, c)) = chars.peek() {
        if !is_name_char(c) {
            break;
        }
        name.push(c);
        chars.next();
    }
    if name.is_empty() {
        return fail(at, "a `<` that starts no tag");
    }
    let mut attributes = Vec::new();
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        match chars.next() {
            Some((i, '>')) => return Ok((Tag { name, attributes }, offset(i) + 1)),
            Some((i, '/')) => match chars.next() {
                Some((j, '>')) => return Ok((Tag { name, attributes }, offset(j) + 1)),
                _ => return fail(offset(i), "a `/` in a tag not followed by `>`"),
            },
            Some((i, c)) if is_name_char(c) => {
                let mut key = c.to_string();
                while let Some((_, c)) = chars.next_if(|(_, c)| is_name_char(*c)) {
                    key.push(c);
                }
                while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
                if chars.next().map(|(_, c)| c) != Some('=') {
                    return fail(offset(i), format!("attribute `{key}` has no `=`"));
                }
                while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
                let Some((start, quote @ ('"' | '\''))) = chars.next() else {
                    return fail(offset(i), format!("attribute `{key}` has no quoted value"));
                };
                let mut raw_end = None;
                for (j, c) in chars.by_ref() {
                    if c == quote {
                        raw_end = Some(j);
                        break;
                    }
                    if c == '<' {
                        return fail(offset(j), "a `<` inside an attribute value");
                    }
                }
                let Some(end) = raw_end else {
                    return fail(offset(start), format!("attribute `{key}` is not closed"));
                };
                let value = unescape(&text[offset(start) + 1..offset(end)], offset(start) + 1)?;
                if attributes.iter().any(|(k, _)| *k == key) {
                    return fail(offset(i), format!("attribute `{key}` given twice"));
                }
                attributes.push((key, value));
            }
            Some((i, c)) => return fail(offset(i), format!("unexpected `{c}` in a tag")),
            None => return fail(at, format!("tag `{name}` is not closed")),
        }
    }
}

/// An attribute value with its references resolved: XML's five entities and character
/// references, nothing else.
fn unescape(raw: &str, at: usize) -> Result<String, ParseError> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let here = at + (raw.len() - rest.len()) + amp;
        let Some(semi) = rest[amp..].find(';') else {
            return fail(here, "a `&` that starts no reference");
        };
        let name = &rest[amp + 1..amp + semi];
        let c = match name {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let number = if let Some(hex) = name.strip_prefix("#x") {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(decimal) = name.strip_prefix('#') {
                    decimal.parse::<u32>().ok()
                } else {
                    return fail(here, format!("unknown entity `&{name};`"));
                };
                match number.and_then(char::from_u32) {
                    Some(c) => c,
                    None => return fail(here, format!("`&{name};` names no character")),
                }
            }
        };
        out.push(c);
        rest = &rest[amp + semi + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// pytest's node id from an xunit1 test case, as the runner's `node_id()` builds it: the file,
/// the classes from the dotted class name, the test's name.
pub fn node_id(file: Option<&str>, classname: &str, name: &str) -> String {
    let Some(file) = file.filter(|f| !f.is_empty()) else {
        return [classname, name]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("::");
    };
    let module = file.strip_suffix(".py").unwrap_or(file).replace('/', ".");
    if classname.is_empty() && name == module {
        // A module that failed (or was skipped) at collection.
        return file.to_string();
    }
    let mut parts = vec![file];
    if let Some(classes) = classname
        .strip_prefix(module.as_str())
        .and_then(|rest| rest.strip_prefix('.'))
    {
        parts.extend(classes.split('.'));
    }
    parts.push(name);
    parts.join("::")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Vec<String> {
        test_cases(text)
            .unwrap()
            .into_iter()
            .map(|c| c.node_id)
            .collect()
    }

    #[test]
    fn reads_pytest_xunit1() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest" errors="0" failures="1" skipped="0" tests="3" time="1.5"><testcase classname="tests.test_a" name="test_x[a&gt;b &amp; &quot;c&quot; &#233;&#x263A;]" file="tests/test_a.py" line="3" time="0.25" /><testcase classname="tests.test_a.TestK.Inner" name="test_y" file="tests/test_a.py" line="9" time="1.250"><failure message="x &lt; y">assert 1 &lt; 0 <![CDATA[ <testcase name="fake"/> ]]></failure><system-out><!-- <testcase name="nope"/> --></system-out></testcase><testcase classname="" name="tests.test_bad" file="tests/test_bad.py" time='nan'><error message="collection failure">E</error></testcase></testsuite></testsuites>"#;
        let cases = test_cases(xml).unwrap();
        assert_eq!(
            cases.iter().map(|c| c.node_id.as_str()).collect::<Vec<_>>(),
            [
                "tests/test_a.py::test_x[a>b & \"c\" é☺]",
                "tests/test_a.py::TestK::Inner::test_y",
                "tests/test_bad.py",
            ]
        );
        assert_eq!(cases[0].seconds, Some(0.25));
        assert_eq!(cases[1].seconds, Some(1.25));
        assert_eq!(cases[2].seconds, None, "nan is not a duration");
    }

    #[test]
    fn without_a_file_the_id_is_class_and_name() {
        assert_eq!(
            ids(r#"<testsuite><testcase classname="a.b" name="t" time="1"/></testsuite>"#),
            ["a.b::t"]
        );
    }

    #[test]
    fn refuses_document_types_and_entities() {
        let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><testsuite><testcase name="&lol2;" file="a.py" classname="a"/></testsuite>"#;
        let err = test_cases(laughs).unwrap_err();
        assert!(err.reason.contains("document type"), "{err}");
        let external = r#"<!DOCTYPE x SYSTEM "file:///etc/passwd"><testsuite/>"#;
        assert!(test_cases(external).is_err());
        let undeclared = r#"<testsuite><testcase name="&lol;" classname="a"/></testsuite>"#;
        assert!(
            test_cases(undeclared)
                .unwrap_err()
                .reason
                .contains("unknown entity")
        );
    }

    #[test]
    fn refuses_broken_markup() {
        for broken in [
            "",
            "just text",
            "<testsuite><testcase name=\"x",
            "<testsuite><testcase name=x/>",
            "<testsuite><testcase name=\"a<b\"/>",
            "<testsuite><testcase name=\"a\" name=\"b\"/>",
            "<testsuite><!-- open",
            "<testsuite><testcase name=\"&#xD800;\"/>",
            "<testsuite><testcase name=\"&amp\"/>",
        ] {
            assert!(test_cases(broken).is_err(), "{broken:?}");
        }
    }

    #[test]
    fn a_gt_inside_a_value_does_not_end_the_tag() {
        assert_eq!(
            ids(r#"<testsuite><testcase file="t.py" classname="t" name="a>b"/></testsuite>"#),
            ["t.py::a>b"]
        );
    }
}
