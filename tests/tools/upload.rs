//! Issue 20, findings 7, 8 and 13: what the runner uploads from the tree under test (git's own
//! view of a checkout; outside git, every nested .gitignore through a matcher that never
//! backtracks), and `gpu-ci run --tree DIR`, which tests another checkout as data with this
//! project's runner, as CI does.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use predicates::prelude::*;

use crate::common::{Project, describe, gpu_ci, scrub_env};
use crate::installed::python;
use crate::modal_api::{ModalApi, gpu_ci_run};
use crate::runner::python_in;

/// What Modal would upload: the runner's upload set, walked by Modal's own mount walker.
const UPLOAD_HARNESS: &str = r#"
import pathlib, runpy, sys
import modal
from modal.mount import _MountDir
ns = runpy.run_path(".modal/test_runner.py")
root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").absolute()
try:
    matcher = ns["upload_set"](root)
except ns["TreeError"] as error:
    print(f"refused: {error}")
    sys.exit(0)
entry = _MountDir(local_dir=root, remote_path=pathlib.PurePosixPath("/root/project"), ignore=matcher, recursive=True)
for _, remote in sorted(entry.get_files_to_upload(), key=lambda f: str(f[1])):
    print(str(remote).removeprefix("/root/project/"))
"#;

/// The runner's upload of the project's tree, as Modal's walker would send it.
fn uploaded(project: &Project) -> Vec<String> {
    python_in(project, UPLOAD_HARNESS)
        .lines()
        .map(str::to_string)
        .collect()
}

/// git in the project, with no GIT_* variable of the test's environment.
fn git(project: &Project, args: &[&str]) {
    let mut cmd = Command::new("git");
    scrub_env(&mut cmd);
    let output = cmd
        .current_dir(&project.root)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        describe(&output)
    );
}

fn assert_upload(uploaded: &[String], kept: &[&str], dropped: &[&str], case: &str) {
    for file in kept {
        assert!(
            uploaded.iter().any(|u| u == file),
            "{case}: {file} not uploaded: {uploaded:#?}"
        );
    }
    for file in dropped {
        assert!(
            !uploaded.iter().any(|u| u == file),
            "{case}: {file} uploaded: {uploaded:#?}"
        );
    }
}

/// The root .gitignore's rules (anchored, unanchored, folders only, `!`), and the defaults,
/// which no `!` takes back; outside git.
#[test]
fn uploads_follow_gitignore_and_the_defaults() {
    let project = Project::initialised("uv-groups-src");
    project.write(
        ".gitignore",
        "# build products\ndata/\n*.ckpt\n!keep.ckpt\n/build\ndocs/_build/\n!.git\n!.venv/\n!test-outputs\n",
    );
    for file in [
        "data/train.csv",
        "sub/data/more.csv",
        "model.ckpt",
        "sub/model.ckpt",
        "keep.ckpt",
        "build/out.txt",
        "sub/build/kept.txt",
        "docs/_build/index.html",
        "docs/index.md",
        ".git/config",
        ".venv/lib/site.py",
        "src/vecops/__pycache__/x.cpython-312.pyc",
        "test-outputs/junit.xml",
    ] {
        project.write(file, "x");
    }
    assert_upload(
        &uploaded(&project),
        &[
            "keep.ckpt",
            "sub/build/kept.txt",
            "docs/index.md",
            "src/vecops/__init__.py",
            "tests/test_vecops.py",
            "pyproject.toml",
            ".gitignore",
        ],
        &[
            "data/train.csv",
            "sub/data/more.csv",
            "model.ckpt",
            "sub/model.ckpt",
            "build/out.txt",
            "docs/_build/index.html",
            ".git/config",
            ".venv/lib/site.py",
            "src/vecops/__pycache__/x.cpython-312.pyc",
            "test-outputs/junit.xml",
        ],
        "no git",
    );

    // A link into a path left out would carry that file into the upload: refused too. The
    // .venv's own links (into the system's Python) are left out with it.
    std::os::unix::fs::symlink("/usr/bin/python3", project.path(".venv/python")).unwrap();
    std::os::unix::fs::symlink("model.ckpt", project.path("config.txt")).unwrap();
    let refused = uploaded(&project).join("\n");
    assert!(
        refused.starts_with("refused: `config.txt` is a symlink to `model.ckpt`, outside the tree under test (an ignored path)"),
        "{refused}"
    );
}

/// Finding 8: a nested .gitignore hides what it names, below its own folder only, outside
/// git and in a git checkout; in a checkout .git/info/exclude too, tracked files stay, and
/// untracked files that nothing ignores go.
#[test]
fn finding_8_nested_gitignores_and_git_excludes_hide_their_files() {
    let project = Project::initialised("uv-groups-src");
    project.write("data/.gitignore", "*\n");
    project.write("data/train.csv", "secret data");
    project.write("sub/.gitignore", ".env\n/local/\n");
    project.write("sub/.env", "MODAL_TOKEN_SECRET=leak");
    project.write("sub/local/notes.txt", "x");
    project.write("sub/deeper/local/kept.txt", "x");
    project.write("sub/deeper/run.py", "x");
    project.write("other/.env", "kept: no ignore file names it here");
    let kept = [
        "sub/.gitignore",
        "sub/deeper/run.py",
        "sub/deeper/local/kept.txt",
        "other/.env",
        "tests/test_vecops.py",
    ];
    let dropped = [
        "data/train.csv",
        "data/.gitignore",
        "sub/.env",
        "sub/local/notes.txt",
    ];
    assert_upload(&uploaded(&project), &kept, &dropped, "no git");

    git(&project, &["init", "-q"]);
    project.write(".git/info/exclude", "scratch/\n");
    project.write("scratch/big.bin", "x");
    project.write("notes/todo.txt", "untracked, not ignored");
    project.write("tracked.log", "x");
    project.write(".gitignore", "*.log\n");
    git(&project, &["add", "-f", "tracked.log", "pyproject.toml"]);
    git(&project, &["commit", "-q", "-m", "base"]);
    let in_git = uploaded(&project);
    assert_upload(
        &in_git,
        &[&kept[..], &["notes/todo.txt", "tracked.log", ".gitignore"]].concat(),
        &[
            &dropped[..],
            &["scratch/big.bin", ".git/config", ".git/HEAD"],
        ]
        .concat(),
        "git",
    );
    assert!(
        !in_git.iter().any(|u| u.starts_with(".git/")),
        "{in_git:#?}"
    );
}

/// Finding 7: the ReDoS pattern from the issue (17 s a match before) gives the right answer;
/// against git as the reference, on names that match and names that do not.
#[test]
fn finding_7_a_pathological_pattern_gets_the_right_answer() {
    let project = Project::initialised("uv-groups-src");
    project.write(
        ".gitignore",
        "**/*a*a*a*a*b\n*x*x*x*x*x*x*y\n**/q*q*q*q*/**\n[!z]*[a-c]*a?a*b\n",
    );
    let long_a = "a".repeat(200);
    let long_x = "x".repeat(200);
    let names = [
        format!("deep/er/{long_a}"),
        format!("deep/{long_a}b"),
        long_x.clone(),
        format!("{long_x}y"),
        "qqqq/inside.txt".to_string(),
        format!("{}/inside.txt", "q".repeat(150)),
        "zaaab".to_string(),
        "kcaxab".to_string(),
    ];
    for name in &names {
        project.write(name, "x");
    }
    let walked = uploaded(&project);
    git(&project, &["init", "-q"]);
    let in_git = uploaded(&project);
    // git's own answer, computed by git alone.
    let mut cmd = Command::new("git");
    scrub_env(&mut cmd);
    let listed = cmd
        .current_dir(&project.root)
        .args(["ls-files", "--others", "--exclude-standard"])
        .output()
        .unwrap();
    let listed = String::from_utf8(listed.stdout).unwrap();
    for name in &names {
        let git_keeps = listed.lines().any(|l| l == name);
        assert_eq!(
            walked.contains(name),
            git_keeps,
            "outside git, {name} (git keeps it: {git_keeps})"
        );
        assert_eq!(in_git.contains(name), git_keeps, "in git, {name}");
    }
    assert!(walked.contains(&format!("deep/er/{long_a}")));
    assert!(!walked.contains(&format!("deep/{long_a}b")));
    assert!(!walked.contains(&"qqqq/inside.txt".to_string()));
}

/// The walk outside git agrees with git on random trees and random ignore files, nested ones
/// included: git is the reference.
#[test]
fn the_walk_outside_git_agrees_with_git() {
    // Reversed ranges (`[b-a]`, which a regex refuses) and escaped `-` included.
    let project = Project::initialised("uv-groups-src");
    let code = r##"
import os, pathlib, random, runpy, subprocess, sys, tempfile
ns = runpy.run_path(".modal/test_runner.py")
rng = random.Random(20)
names = ["a", "b", "ab", "x.py", "y.txt", "data", "sub", "[a]"]
patterns = ["a", "b/", "*.py", "!x.py", "/ab", "data/", "sub/a", "**/b", "a/**", "**/sub/**", "*.txt",
            "!a", "s*b/", "[ab]", "a*/x.py", "?b", "!data/", "**/ab/*.py", "\\[a]", "a/**/b", "#a", "!/sub",
            "[b-a]", "[!b-a]", "a[b-a]", "[ab-a]", "[a\\-b]", "[--b]"]
env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
differ = []
for trial in range(120):
    root = pathlib.Path(tempfile.mkdtemp())
    for _ in range(25):
        path = root.joinpath(*[rng.choice(names) for _ in range(rng.randint(1, 4))])
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                path.write_text("x")
        except (FileExistsError, NotADirectoryError):
            pass
    folders = [root] + sorted(p for p in root.rglob("*") if p.is_dir())
    for folder in rng.sample(folders, min(3, len(folders))):
        (folder / ".gitignore").write_text("\n".join(rng.sample(patterns, 4)) + "\n")
    ours = sorted(ns["walked_files"](root))
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=env)
    out = subprocess.run(["git", "ls-files", "-z", "--others", "--exclude-standard"], cwd=root,
                         capture_output=True, check=True, env=env).stdout
    theirs = sorted(os.fsdecode(x) for x in out.split(b"\0") if x)
    if ours != theirs:
        differ.append((trial, sorted(set(ours) ^ set(theirs))))
print(differ)
"##;
    assert_eq!(python_in(&project, code).trim(), "[]");
}

/// In a git checkout, git's config is the tree's: an fsmonitor program it names is never
/// started, nor a `core.worktree` elsewhere followed; `.git` as a link out is refused.
#[test]
fn listing_a_checkout_runs_nothing_of_its_git_config() {
    let project = Project::initialised("uv-groups-src");
    git(&project, &["init", "-q"]);
    let marker = project.root.parent().unwrap().join("fsmonitor-ran");
    let hook = project.root.parent().unwrap().join("fsmonitor.sh");
    std::fs::write(&hook, format!("#!/bin/sh\ntouch {}\n", marker.display())).unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("outside.txt"), "x").unwrap();
    let mut config = project.read(".git/config");
    config.push_str(&format!(
        "[core]\n\tfsmonitor = {}\n\tworktree = {}\n",
        hook.display(),
        elsewhere.path().display()
    ));
    project.write(".git/config", &config);
    let files = uploaded(&project);
    assert!(!marker.exists(), "the tree's fsmonitor program ran");
    assert!(files.contains(&"pyproject.toml".to_string()), "{files:#?}");
    assert!(!files.contains(&"outside.txt".to_string()), "{files:#?}");

    let other = Project::initialised("uv-groups-src");
    git(&other, &["init", "-q"]);
    std::fs::rename(
        other.path(".git"),
        other.root.parent().unwrap().join("real-git"),
    )
    .unwrap();
    std::os::unix::fs::symlink("../real-git", other.path(".git")).unwrap();
    let refused = uploaded(&other).join("\n");
    assert!(
        refused.starts_with("refused: `.git` is a symlink"),
        "{refused}"
    );
}

/// Links: in a git checkout as outside one, a link that leads out of the tree stops the run;
/// a link to a folder is not entered; a FIFO is left out (reading it would hang the upload).
#[test]
fn links_out_of_a_checkout_are_refused_and_fifos_left_out() {
    let project = Project::initialised("uv-groups-src");
    git(&project, &["init", "-q"]);
    std::os::unix::fs::symlink("/etc", project.path("tests/etc")).unwrap();
    let fifo = project.path("tests/pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let files = uploaded(&project);
    assert!(
        files.contains(&"tests/test_vecops.py".to_string()),
        "{files:#?}"
    );
    assert!(
        !files.iter().any(|f| f.starts_with("tests/etc")),
        "{files:#?}"
    );
    assert!(!files.contains(&"tests/pipe".to_string()), "{files:#?}");

    std::os::unix::fs::symlink("/proc/self/environ", project.path("tests/leak.txt")).unwrap();
    let refused = uploaded(&project).join("\n");
    assert!(
        refused.starts_with(
            "refused: `tests/leak.txt` is a symlink to `/proc/self/environ`, outside the tree under test"
        ),
        "{refused}"
    );
}

/// Finding 13: `gpu-ci run --tree DIR` tests a pull request's checkout on Modal with this
/// project's runner: the PR's tests run in the sandbox; its own runner, its `modal` package
/// and its .venv never run here; the outputs land here; the PR's tree is left as it was.
#[test]
fn finding_13_run_tree_tests_another_checkout_as_data_with_this_runner() {
    python();
    let trusted = Project::initialised("extras-flat");
    let pr = Project::fixture("extras-flat");
    let ran = pr.root.parent().unwrap().join("pr-code-ran-here");
    let plant = format!(
        "import pathlib\npathlib.Path({:?}).write_text('ran')\n",
        ran.display().to_string()
    );
    pr.write(".modal/test_runner.py", &plant);
    pr.write(".modal/in_container.py", &plant);
    pr.write(".modal/gpu_ci_results.py", &plant);
    pr.write(".modal/local_run.py", &plant);
    pr.write("modal/__init__.py", &plant);
    pr.write(
        ".venv/bin/python",
        &format!("#!/bin/sh\ntouch {}\n", ran.display()),
    );
    std::fs::set_permissions(
        pr.path(".venv/bin/python"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    pr.write(
        "test/test_from_the_pr.py",
        "def test_from_the_pr():\n    assert True\n",
    );
    let before = pr.snapshot_tree();

    // The real Modal client against the local Modal API (tests/tools/modal_api).
    let api = ModalApi::start(serde_json::json!({}));
    let tree = pr.root.display().to_string();
    let output = gpu_ci_run(&api, &trusted, &["--tree", &tree]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("test/test_from_the_pr.py::test_from_the_pr PASSED"),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!(
            "note: testing {} as data",
            pr.root.canonicalize().unwrap().display()
        )),
        "{stderr}"
    );
    assert!(!ran.exists(), "code of the PR's tree ran on this machine");
    let uploaded: Vec<String> = api.uploaded().into_iter().map(|(path, _)| path).collect();
    assert!(
        uploaded
            .iter()
            .any(|path| path.ends_with("test/test_from_the_pr.py")),
        "{uploaded:?}"
    );
    assert!(trusted.path("test-outputs/summary.md").is_file());
    // The sandbox holds copies of the uploaded files: the PR's tree is left as it was.
    assert_eq!(before, pr.snapshot_tree(), "the PR's tree was changed");
}

/// Finding 13: with --local the PR's code would run here: refused before anything runs.
#[test]
fn finding_13_run_tree_with_local_is_refused() {
    let trusted = Project::initialised("extras-flat");
    let pr = Project::fixture("extras-flat");
    let ran = pr.root.parent().unwrap().join("pr-code-ran-here");
    pr.write(
        ".venv/bin/python",
        &format!("#!/bin/sh\ntouch {}\n", ran.display()),
    );
    std::fs::set_permissions(
        pr.path(".venv/bin/python"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    gpu_ci()
        .arg("-C")
        .arg(&trusted.root)
        .args(["run", "--local", "--tree"])
        .arg(&pr.root)
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "error: --tree cannot be used with --local: --local runs the tests, and so the tree's code, on this machine\n",
        ));
    assert!(!ran.exists());
    assert!(!trusted.path("test-outputs").exists());
}
