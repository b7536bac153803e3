//! pytest's JUnit XML as the runner reads it: the code under test writes that file, so it may be
//! any bytes. A UTF-16 document hid its document type from a search of its bytes, and its
//! entities expanded while it was parsed; now anything but UTF-8 is refused, and so is any
//! document type, by the parser itself. The summary still comes out, saying why the XML was
//! not read, and the exit code stays pytest's.

use crate::common::{shown, utf16_billion_laughs};
use crate::runner::{run_local, run_modal, suite};

/// Replaces the JUnit XML pytest wrote with forged.xml, as any test suite can.
const FORGER: &str = "import shutil\n\ndef pytest_unconfigure(config):\n    \
    if config.option.xmlpath:\n        shutil.copyfile('forged.xml', config.option.xmlpath)\n";

#[test]
fn junit_xml_in_utf16_or_with_a_document_type_is_refused_and_the_summary_says_so() {
    let project = suite("def test_ok():\n    pass\n", &[]);
    project.write("test/conftest.py", FORGER);
    let utf8_laughs = String::from_utf8(
        utf16_billion_laughs(3, false)
            .chunks(2)
            .map(|pair| pair[0])
            .collect(),
    )
    .unwrap()
    .replace("UTF-16", "utf-8");
    let declared_utf16 = r#"<?xml version="1.0" encoding="UTF-16"?><testsuites><testsuite name="pytest"><testcase classname="test.test_laughs" file="test/test_laughs.py" name="test_laughs" time="1"><failure message="m">lol</failure></testcase></testsuite></testsuites>"#;
    for (name, forged, why) in [
        (
            "UTF-16 with its mark",
            utf16_billion_laughs(3, true),
            "UTF-16",
        ),
        (
            "UTF-16 without a mark",
            utf16_billion_laughs(3, false),
            "UTF-8",
        ),
        (
            "a document type in UTF-8",
            utf8_laughs.into_bytes(),
            "document type",
        ),
        (
            "UTF-8 that says UTF-16",
            declared_utf16.as_bytes().to_vec(),
            "encoding other than UTF-8",
        ),
    ] {
        std::fs::write(project.path("forged.xml"), &forged).unwrap();
        // The CI path (the trusted side reads the file back from the sandbox) for every file;
        // the one of the issue also through `--local`, which reads it with the same code.
        let paths = if name.starts_with("UTF-16 with") {
            &["modal", "--local"][..]
        } else {
            &["modal"][..]
        };
        for &path in paths {
            let run = if path == "modal" {
                run_modal(&project, serde_json::json!({}))
            } else {
                run_local(&project, None)
            };
            assert_eq!(
                run.code, 0,
                "{name}, {path}: pytest's exit code: {}{}",
                run.stdout, run.stderr
            );
            let summary = shown(&project.read("test-outputs/summary.md"));
            assert!(
                summary.contains("the JUnit XML could not be read"),
                "{name}, {path}: {summary}"
            );
            assert!(summary.contains(why), "{name}, {path}: {summary}");
            assert!(
                summary.contains("| 0 | 0 | 0 | 0 |"),
                "{name}, {path}: {summary}"
            );
            assert!(!summary.contains("lol"), "{name}, {path}: {summary}");
        }
    }
}
