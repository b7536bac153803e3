//! Issue 20, finding 10: every command reads project files the same way (regular files only,
//! inside the project, capped), and no message shows project text with its control, C1 or
//! bidirectional characters raw.

use std::fs;
use std::io::Read;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use crate::common::{GENERATED, Project, describe, gpu_ci_process};

const RUNNER: &str = GENERATED[3];
const LOCK: &str = ".gpu-ci.lock";

/// `gpu-ci -C root ARGS`, killed (by its pid) if it has not ended after a minute: a read that
/// blocks on a FIFO must fail the test, not hang the suite.
fn run_bounded(project: &Project, args: &[&str]) -> Output {
    let mut child = gpu_ci_process()
        .arg("-C")
        .arg(&project.root)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("gpu-ci {args:?} blocked");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// A generated file or the lock replaced by a FIFO (which blocks whoever opens it to read) or
/// by a link to `/dev/zero` (endless): `doctor` says so in a failed check and ends, as
/// `update --check` refuses it with an `error:`.
#[test]
fn issue_20_a_fifo_or_dev_zero_in_place_of_a_generated_file_is_refused_not_read() {
    for rel in [RUNNER, LOCK] {
        for kind in ["fifo", "dev-zero"] {
            let project = Project::initialised("uv-groups-src");
            fs::remove_file(project.path(rel)).unwrap();
            match kind {
                "fifo" => mkfifo(&project.path(rel)),
                _ => std::os::unix::fs::symlink("/dev/zero", project.path(rel)).unwrap(),
            }
            let doctor = run_bounded(&project, &["doctor"]);
            let stdout = String::from_utf8_lossy(&doctor.stdout);
            assert_eq!(
                doctor.status.code(),
                Some(1),
                "{rel} {kind}: {}",
                describe(&doctor)
            );
            assert!(
                stdout.contains(&format!("cannot write `{rel}`"))
                    || stdout.contains(&format!("cannot read `{rel}`")),
                "{rel} {kind}: {stdout}"
            );
            let check = run_bounded(&project, &["update", "--check"]);
            let stderr = String::from_utf8_lossy(&check.stderr);
            assert_eq!(
                check.status.code(),
                Some(2),
                "{rel} {kind}: {}",
                describe(&check)
            );
            assert!(stderr.contains(&format!("`{rel}`")), "{stderr}");
        }
    }
}

/// The config file as a FIFO or a link to `/dev/zero`, and a generated file that links to a
/// file inside the project larger than the cap: refused, never read whole.
#[test]
fn issue_20_the_config_file_and_oversized_files_are_refused_not_read() {
    for kind in ["fifo", "dev-zero"] {
        let project = Project::initialised("uv-groups-src");
        fs::remove_file(project.path("pyproject.toml")).unwrap();
        match kind {
            "fifo" => mkfifo(&project.path("pyproject.toml")),
            _ => std::os::unix::fs::symlink("/dev/zero", project.path("pyproject.toml")).unwrap(),
        }
        for args in [
            &["config"][..],
            &["doctor"],
            &["update", "--check"],
            &["init", "--yes"],
        ] {
            let output = run_bounded(&project, args);
            let text =
                String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
            assert!(
                matches!(output.status.code(), Some(1 | 2)),
                "{args:?}: {}",
                describe(&output)
            );
            assert!(
                text.contains("cannot read `pyproject.toml`: it is not a regular file"),
                "{kind} {args:?}: {text}"
            );
        }
    }
    let project = Project::initialised("uv-groups-src");
    let big = fs::File::create(project.path("big.py")).unwrap();
    big.set_len(9 << 20).unwrap();
    fs::remove_file(project.path(RUNNER)).unwrap();
    std::os::unix::fs::symlink("../big.py", project.path(RUNNER)).unwrap();
    let output = run_bounded(&project, &["update", "--check"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(stderr.contains("it is larger than 8 MiB"), "{stderr}");
    let doctor = run_bounded(&project, &["doctor"]);
    assert!(String::from_utf8_lossy(&doctor.stdout).contains("it is larger than 8 MiB"));
}

/// What a terminal could act on rather than show.
fn hostile(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        || matches!(
            c,
            '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{2028}' | '\u{2029}'
        )
}

/// Text with hostile characters among plain ones.
fn hostile_text() -> impl Strategy<Value = String> {
    let chars = prop::sample::select(vec![
        '\u{1b}', '\u{7}', '\u{8}', '\r', '\n', '\u{0}', '\u{7f}', '\u{85}', '\u{9b}', '\u{202a}',
        '\u{202e}', '\u{2066}', '\u{2069}', '\u{200e}', '\u{200f}', '\u{61c}', '\u{2028}',
        '\u{2029}', 'a', 'Z', '3', ' ', '-', '[', ':', '"', '\\', 'é',
    ]);
    prop::collection::vec(chars, 1..12)
        .prop_map(|v| v.into_iter().collect::<String>())
        .prop_filter("holds a hostile character", |s| s.chars().any(hostile))
}

/// A TOML basic string holding `text` exactly (every non-printable as an escape).
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Where hostile text goes: a key's name, a value of each kind, other project files.
const PLACES: [&str; 8] = [
    "key",
    "gpu",
    "label",
    "python",
    "pytest-args",
    "test-path",
    "python-version",
    "requires-python",
];

/// Puts `text` at `PLACES[place]` of an initialised project, runs every command that reads
/// it, and fails on any hostile character in what they print.
fn assert_shown_inert(text: &str, place: usize) -> Result<(), TestCaseError> {
    let project = Project::initialised("uv-groups-src");
    let pyproject = project.read("pyproject.toml");
    let quoted = toml_string(text);
    match PLACES[place] {
        "key" => project.write(
            "pyproject.toml",
            &pyproject.replacen(
                "[tool.gpu-ci]\n",
                &format!("[tool.gpu-ci]\n{quoted} = 1\n"),
                1,
            ),
        ),
        "python-version" => {
            fs::write(project.path(".python-version"), text).unwrap();
            project.write(
                "pyproject.toml",
                &pyproject.replacen("python = ", "# python = ", 1),
            );
        }
        "requires-python" => project.write(
            "pyproject.toml",
            &pyproject.replacen(
                "requires-python = \">=3.10\"",
                &format!("requires-python = {quoted}"),
                1,
            ),
        ),
        key => {
            let kept: Vec<&str> = pyproject
                .lines()
                .filter(|l| !l.starts_with(&format!("{key} =")))
                .collect();
            let text = kept.join("\n").replacen(
                "[tool.gpu-ci]\n",
                &format!("[tool.gpu-ci]\n{key} = {quoted}\n"),
                1,
            );
            project.write("pyproject.toml", &(text + "\n"));
        }
    }
    let runs: [&[&str]; 7] = [
        &["config"],
        &["config", "--json"],
        &["doctor"],
        &["doctor", "--json"],
        &["update", "--check"],
        &["init", "--yes", "--dry-run", "--diff"],
        &["init", "--yes", "--force"],
    ];
    for args in runs {
        let output = run_bounded(&project, args);
        prop_assert_ne!(output.status.code(), Some(101), "{:?}", describe(&output));
        for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
            let mut shown = String::new();
            let _ = bytes.as_slice().read_to_string(&mut shown);
            let raw: Vec<char> = shown.chars().filter(|c| hostile(*c)).collect();
            prop_assert!(
                raw.is_empty(),
                "{:?} {} ({}): raw {:?} in {}:\n{}",
                text,
                PLACES[place],
                args.join(" "),
                raw,
                stream,
                shown
            );
        }
    }
    Ok(())
}

/// Every place once, with escapes that move the cursor, recolour and reverse the line.
#[test]
fn issue_20_hostile_text_in_every_place_is_shown_escaped() {
    for place in 0..PLACES.len() {
        assert_shown_inert(
            "\u{1b}[2J\u{9b}31m\u{202e}\u{2066}gpu\r\nhelp: x\u{85}",
            place,
        )
        .unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn issue_20_no_hostile_character_of_the_project_reaches_the_terminal_raw(
        text in hostile_text(),
        place in 0usize..PLACES.len(),
    ) {
        assert_shown_inert(&text, place)?;
    }
}

/// `gpu-ci durations` reads the run's JUnit XML from the project (`test-outputs/junit.xml`) and
/// writes the durations file (`--output` names one under `.github/` here): a FIFO in place of the
/// XML is refused, not opened (opening it blocks), and a `.github` that links out of the project
/// is never written through (a tree from a tarball can carry both).
#[test]
fn durations_reads_no_fifo_and_writes_through_no_link_out_of_the_project() {
    const JUNIT: &str = "<testsuites><testsuite name=\"pytest\"><testcase classname=\"tests.test_io\" name=\"test_read\" time=\"0.5\"/></testsuite></testsuites>\n";
    let project = Project::initialised("uv-groups-src");
    fs::create_dir_all(project.path("test-outputs")).unwrap();
    mkfifo(&project.path("test-outputs/junit.xml"));
    let output = run_bounded(&project, &["durations"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("not a regular file"),
        "{}",
        describe(&output)
    );

    let project = Project::fixture("uv-groups-src");
    project.write("test-outputs/junit.xml", JUNIT);
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), project.path(".github")).unwrap();
    let into_github = ["durations", "--output", ".github/gpu-ci-durations.json"];
    let output = run_bounded(&project, &into_github);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert_eq!(
        fs::read_dir(outside.path()).unwrap().count(),
        0,
        "durations wrote through `.github` out of the project: {}",
        describe(&output)
    );
    // Issue 24: the durations file's own place, beside the lock, as a link out of the project.
    let target = outside.path().join("victim.json");
    std::os::unix::fs::symlink(&target, project.path(".gpu-ci-durations.json")).unwrap();
    let output = run_bounded(&project, &["durations"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(
        !target.exists(),
        "written through the link: {}",
        describe(&output)
    );
    fs::remove_file(project.path(".gpu-ci-durations.json")).unwrap();
    // A real folder: written.
    fs::remove_file(project.path(".github")).unwrap();
    let output = run_bounded(&project, &into_github);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(
        project
            .read(".github/gpu-ci-durations.json")
            .contains("test_read")
    );
}

/// Issue 24: `update` moves the durations file from where gpu-ci 0.1 kept it
/// (`.github/gpu-ci-durations.json`) beside the lock; a `.github` that links out of the project
/// (a tree can carry one) is never read through, nor anything removed there.
#[test]
fn update_moves_no_durations_file_through_a_linked_github_folder() {
    // On GitLab, so that nothing else gpu-ci writes goes into `.github`.
    let project = Project::fixture("uv-groups-src");
    project
        .gpu_ci(&["init", "--yes", "--ci", "gitlab"])
        .success();
    let outside = tempfile::tempdir().unwrap();
    fs::write(
        outside.path().join("gpu-ci-durations.json"),
        "{\"durations\": {\"secret\": 1.0}, \"version\": 1}\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path(), project.path(".github")).unwrap();
    let output = run_bounded(&project, &["update", "--dry-run", "--diff"]);
    let shown = describe(&output);
    assert!(!shown.contains("secret"), "read through the link: {shown}");
    let output = run_bounded(&project, &["update"]);
    let shown = describe(&output);
    assert!(
        shown.contains("left .github/gpu-ci-durations.json: it or a folder above it is not a plain file or folder"),
        "{shown}"
    );
    assert!(
        !project.path(".gpu-ci-durations.json").exists(),
        "copied from outside the project: {shown}"
    );
    assert!(
        outside.path().join("gpu-ci-durations.json").is_file(),
        "removed a file outside the project: {shown}"
    );
}
