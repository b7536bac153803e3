//! The tests' own text in the results every CI target posts: node ids, failure excerpts, skip
//! reasons, the import that skipped everything and the rerun lines reach Markdown in the GitHub
//! job summary and PR comment (the runner's summary.md as it is), the GitLab note and the
//! Bitbucket comment (what their scripts make of it). One table of hostile strings goes through
//! the runner's real path (a conftest.py forges the JUnit XML the summary is made of), then
//! through the GitLab and Bitbucket scripts against a local forge, and every body is rendered by
//! cmark-gfm, GitHub's own CommonMark/GFM renderer, with its autolinks: hostile text must make
//! no element (link, image, heading, emphasis, raw HTML, code, table cell, list, quote, block)
//! that the same summary made of harmless text does not, no mention, no issue link, no bidi
//! control, and no line a GitLab quick action.

use serde_json::{Value, json};

use crate::ci_scripts::{bitbucket_comments_of, gitlab_notes_of};
use crate::common::describe;
use crate::installed::runner_python;
use crate::runner::{run_modal, suite};

/// Each is a node id, a failure's text and part of the import that skipped every test.
const HOSTILE: &[&str] = &[
    "<b>bold</b> <script>alert(1)</script> <img src=x onerror=alert(1)> <a href=https://evil.example/a>a</a>",
    "&#10;# heading&#10;&#10;[entity link](https://evil.example/e)&#10;![entity image](https://evil.example/e.png)&#13;## h2",
    "&lt;b&gt;escaped&lt;/b&gt; &amp;lt;i&amp;gt; &#x3C;u&#x3E; &#60;s&#62;",
    "` x `` y ``` z ```` w ````` v `````` u",
    "```\nfenced\n```\n~~~\ntilde\n~~~",
    "[link](http://evil.example/link) [ref][1] [1]: https://evil.example/ref",
    "![image](https://evil.example/i.png) ![alt][img]",
    "bare https://evil.example/bare and http://evil.example/http and www.evil.example/www",
    "mail me@evil.example and xmpp:me@evil.example and mailto:me@evil.example",
    "<https://evil.example/angle> <me@evil.example>",
    "@octocat @everyone @org/team",
    "#123 GH-1 !7 ~label %milestone $snippet",
    "\n/label ~hacked\n  /close\n/assign @octocat\n/merge",
    "/label ~at-the-start",
    "\n# heading\n\n## second\n\nSetext\n===\n\n---\n\n> quote\n\n- item\n+ item\n1. item\n\n    indented code",
    "**bold** __bold__ *em* _em_ ~~strike~~ ~single~",
    "| a | b |\n| --- | --- |\n| c | d |",
    "cell | break || and \\| escaped",
    "<details><summary>open</summary>\n\nhidden [x](https://evil.example/d)\n\n</details>",
    "</code></summary></details></pre><h1>closed</h1>",
    "<!-- comment --> <?php echo 1; ?> <![CDATA[x]]> <!DOCTYPE html>",
    "carriage\r# heading\r\n[cr link](https://evil.example/cr)\r\r- item",
    "separator\u{2028}# heading\u{2029}[ls link](https://evil.example/ls)\u{85}- item",
    "zero\u{200b}width\u{200c}non\u{200d}joiner\u{2060}@\u{200b}octocat \u{feff}bom",
    "bidi \u{202e}gnp.exe\u{202c} \u{2066}isolate\u{2069} \u{200f}rtl\u{200e}",
    "$x^2$ $$\\sum$$ :smile: [^1] [^1]: note",
    "\\[escaped](https://evil.example/esc) \\`code\\` \\<b>",
    "\ttab\n    four spaces\n\n\n\nblank lines",
    "- [ ] task\n- [x] done",
];

/// A very long one: links and images, repeated.
fn long_string() -> String {
    "[long](https://evil.example/long) ![l](https://evil.example/l.png) www.evil.example **b** "
        .repeat(30)
}

fn hostile() -> Vec<String> {
    let mut all: Vec<String> = HOSTILE.iter().map(|s| s.to_string()).collect();
    all.push(long_string());
    all
}

/// The same shape with nothing in it: as many harmless characters.
fn harmless(text: &str) -> String {
    "x".repeat(text.chars().count())
}

/// Text for an XML attribute or element, every line break kept as a character reference.
fn xml(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\r' | '\t' => out.push_str(&format!("&#{};", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// pytest's xunit1 JUnit XML: one failing test per text, named by it and failing with it.
fn failing(texts: &[String]) -> String {
    let cases: String = texts
        .iter()
        .map(|text| {
            format!(
                r#"<testcase classname="test.test_suite" file="test/test_suite.py" name="{}" time="0.1"><failure message="m">{}</failure></testcase>"#,
                xml(text),
                xml(text)
            )
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">{cases}</testsuite></testsuites>"#
    )
}

/// Every test skipped at import, the import named by all the texts.
fn skipped_at_import(texts: &[String]) -> String {
    let name: Vec<String> = texts.iter().map(|text| text.replace('\'', "")).collect();
    let reason = format!("could not import '{}': No module named x", name.join("\n"));
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest"><testcase classname="test.test_suite" file="test/test_suite.py" name="test_gpu" time="0"><skipped type="pytest.skip" message="{}"/></testcase></testsuite></testsuites>"#,
        xml(&reason)
    )
}

/// Replaces the JUnit XML pytest wrote with forged.xml, as any test suite can.
const FORGER: &str = "import shutil\n\ndef pytest_unconfigure(config):\n    \
    if config.option.xmlpath:\n        shutil.copyfile('forged.xml', config.option.xmlpath)\n";

/// Renders each body as its forge would (GitHub and GitLab: cmark-gfm with its extensions and
/// the HTML they let through; Bitbucket: no HTML), with and without hostile text, and says
/// what the hostile one has that the harmless one does not.
const RENDER: &str = r##"
import collections, html.parser, json, re, sys
import cmarkgfm
from cmarkgfm.cmark import Options

BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

class Shape(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = collections.Counter()
        self.text, self.outside_code, self.depth = [], [], 0
    def handle_starttag(self, tag, attrs):
        self.tags[tag] += 1
        self.depth += tag in ("code", "pre")
    def handle_startendtag(self, tag, attrs):
        self.tags[tag] += 1
    def handle_endtag(self, tag):
        self.depth -= tag in ("code", "pre")
    def handle_comment(self, data):
        self.tags["<!--" + data.strip() + "-->"] += 1
    def handle_data(self, data):
        self.text.append(data)
        if not self.depth:
            self.outside_code.append(data)

def render(target, body):
    options = Options.CMARK_OPT_DEFAULT if target == "bitbucket" else Options.CMARK_OPT_UNSAFE
    rendered = cmarkgfm.github_flavored_markdown_to_html(body, options=options)
    shape = Shape()
    shape.feed(rendered)
    shape.close()
    return rendered, shape

problems, shown = [], []
for case in json.load(sys.stdin):
    where = f"{case['target']}, {case['case']}"
    rendered, hostile = render(case["target"], case["hostile"])
    _, harmless = render(case["target"], case["harmless"])
    extra = hostile.tags - harmless.tags
    if extra:
        problems.append(f"{where}: elements from hostile text: {dict(extra)}")
    text = "".join(hostile.text)
    for found in re.finditer(r"@[A-Za-z0-9_]", text):
        problems.append(f"{where}: a mention: {text[max(0, found.start() - 20):found.end() + 20]!r}")
    outside = "".join(hostile.outside_code)
    for found in re.finditer(r"#[0-9]", outside):
        problems.append(f"{where}: an issue link: {outside[max(0, found.start() - 20):found.end() + 20]!r}")
    if BIDI.search(text):
        problems.append(f"{where}: a bidi control character is shown raw")
    if case["target"] != "bitbucket":
        for line in case["hostile"].split("\n"):
            if line.lstrip().startswith("/"):
                problems.append(f"{where}: a line GitLab reads as a quick action: {line[:80]!r}")
    shown.append({"where": where, "text": text, "html": rendered})
print(json.dumps({"problems": problems, "shown": shown}))
"##;

fn render(cases: &[Value]) -> Value {
    use std::io::Write;
    let mut child = runner_python()
        .args(["-c", RENDER])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let input = serde_json::to_vec(cases).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn hostile_test_text_is_inert_in_every_targets_markdown() {
    let project = suite("def test_ok():\n    pass\n", &[]);
    project.write("test/conftest.py", FORGER);
    let texts = hostile();
    let calm: Vec<String> = texts.iter().map(|t| harmless(t)).collect();
    let mut summaries = Vec::new();
    for (case, make) in [
        ("failing tests", failing as fn(&[String]) -> String),
        ("skipped at import", skipped_at_import),
    ] {
        for texts in [&texts, &calm] {
            project.write("forged.xml", &make(texts));
            let run = run_modal(&project, serde_json::json!({}));
            assert_eq!(
                run.code, 0,
                "pytest's own code: {}{}",
                run.stdout, run.stderr
            );
            let summary = project.read("test-outputs/summary.md");
            let expected = if case == "failing tests" {
                format!("| 0 | {} | 0 | 0 |", texts.len())
            } else {
                "Every test was skipped at import".to_string()
            };
            assert!(summary.contains(&expected), "{case}: {summary}");
            assert!(
                !summary.contains("more failing tests"),
                "every failure is in the summary: {summary}"
            );
            summaries.push((case, summary));
        }
    }
    let bodies: Vec<String> = summaries.iter().map(|(_, s)| s.clone()).collect();
    let gitlab = gitlab_notes_of(&bodies);
    let bitbucket = bitbucket_comments_of(&bodies);
    let mut cases = Vec::new();
    for (target, posted) in [
        ("github", &bodies),
        ("gitlab", &gitlab),
        ("bitbucket", &bitbucket),
    ] {
        for pair in 0..summaries.len() / 2 {
            cases.push(json!({
                "target": target,
                "case": summaries[2 * pair].0,
                "hostile": posted[2 * pair],
                "harmless": posted[2 * pair + 1],
            }));
        }
    }
    let verdict = render(&cases);
    let problems: Vec<&str> = verdict["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The hostile text is there, shown as text.
    for shown in verdict["shown"].as_array().unwrap() {
        // Less the zero-width spaces after `@`, `#`, `://` and `www.`.
        let text = shown["text"].as_str().unwrap().replace('\u{200b}', "");
        for needle in [
            "[link](http://evil.example/link)",
            "<script>alert(1)</script>",
            "label ~hacked",
            "**bold**",
        ] {
            assert!(
                text.contains(needle),
                "{}: no {needle:?} in {text}",
                shown["where"]
            );
        }
    }
}
