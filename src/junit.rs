//! pytest's JUnit XML, read for its test cases only: the node id (rebuilt from xunit1's `file`,
//! `classname` and `name`, as the runner's summary does) and the time of each.
//!
//! The file may come from a run of anyone's tests, so the reader is small and strict: a size
//! cap, UTF-8 only (a byte-order mark or an XML declaration naming another encoding is refused,
//! so no reader that trusts them can be walked into UTF-16), no document type (so no entity can be declared, let alone expanded), only
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

/// The text of a JUnit XML file's bytes: UTF-8, as pytest writes it, and nothing else. A
/// byte-order mark of UTF-16 or UTF-32, a NUL byte (UTF-16 without its mark), or an XML
/// declaration that names another encoding is refused: a reader that believed them would read
/// a different document than the one checked here.
pub fn decode(bytes: &[u8]) -> Result<&str, ParseError> {
    const MARKS: [(&[u8], &str); 4] = [
        (b"\x00\x00\xfe\xff", "UTF-32"),
        (b"\xff\xfe\x00\x00", "UTF-32"),
        (b"\xfe\xff", "UTF-16"),
        (b"\xff\xfe", "UTF-16"),
    ];
    if let Some((_, name)) = MARKS.iter().find(|(mark, _)| bytes.starts_with(mark)) {
        return fail(
            0,
            format!("its byte-order mark says {name}; pytest writes UTF-8"),
        );
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return fail(
            at,
            "a NUL byte (UTF-16 or UTF-32 text?); pytest writes UTF-8",
        );
    }
    let text = std::str::from_utf8(bytes).map_err(|err| ParseError {
        offset: err.valid_up_to(),
        reason: "not UTF-8, as pytest writes its JUnit XML".into(),
    })?;
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(declaration) = body
        .strip_prefix("<?xml")
        .filter(|rest| rest.starts_with(|c: char| c.is_whitespace()))
        .and_then(|rest| rest.split_once("?>"))
        .map(|(inside, _)| inside)
    {
        let encoding = declaration.split_once("encoding").and_then(|(_, after)| {
            let after = after.trim_start().strip_prefix('=')?.trim_start();
            let quote = after.chars().next().filter(|c| matches!(c, '"' | '\''))?;
            after[1..].split_once(quote).map(|(value, _)| value)
        });
        if let Some(encoding) = encoding
            && !encoding.eq_ignore_ascii_case("utf-8")
            && !encoding.eq_ignore_ascii_case("utf8")
        {
            return fail(
                text.len() - body.len(),
                format!(
                    "its XML declaration names the encoding `{}`; pytest writes UTF-8",
                    encoding.escape_debug()
                ),
            );
        }
    }
    Ok(text)
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
    fn decodes_utf8_only() {
        let plain = r#"<?xml version="1.0" encoding="utf-8"?><testsuite/>"#;
        assert_eq!(decode(plain.as_bytes()).unwrap(), plain);
        let marked = "\u{feff}<?xml version='1.0' encoding='UTF8' ?><testsuite/>";
        assert!(decode(marked.as_bytes()).is_ok());
        assert!(decode(b"<testsuite/>").is_ok());
        let utf16: Vec<u8> = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><testsuite/>"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let err = decode(&utf16).unwrap_err();
        assert!(err.reason.contains("NUL byte"), "{err}");
        let mut with_mark = vec![0xff, 0xfe];
        with_mark.extend(&utf16);
        assert!(decode(&with_mark).unwrap_err().reason.contains("UTF-16"));
        let mut big_endian = vec![0xfe, 0xff];
        big_endian.extend(utf16.chunks(2).flat_map(|pair| [pair[1], pair[0]]));
        assert!(decode(&big_endian).unwrap_err().reason.contains("UTF-16"));
        assert!(
            decode(b"\x00\x00\xfe\xff\x00\x00\x00<")
                .unwrap_err()
                .reason
                .contains("UTF-32")
        );
        // UTF-8 bytes that say they are something else: refused, not believed.
        for other in ["UTF-16", "latin-1", "utf-7", ""] {
            let text = format!("<?xml version=\"1.0\" encoding=\"{other}\"?><testsuite/>");
            let err = decode(text.as_bytes()).unwrap_err();
            assert!(err.reason.contains("names the encoding"), "{other}: {err}");
        }
        assert!(
            decode(b"<testsuite name=\"\xff\"/>")
                .unwrap_err()
                .reason
                .contains("not UTF-8")
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
