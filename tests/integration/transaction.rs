//! Issue 14, finding 6: a write is all files or none. Targets are checked before anything is
//! written; a failure midway leaves nothing; two gpu-ci commands never mix their files; a SIGKILL
//! at any moment is completed or undone by the next command; stale staged files are removed.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::common::{GENERATED, Project, describe, gpu_ci_path, gpu_ci_process, scrub_env};

const REUSABLE: &str = GENERATED[0];
const RUNNER: &str = GENERATED[3];
const LOCK: &str = ".gpu-ci.lock";

/// Every path under the root, folders too (with a trailing `/`), and each file's bytes.
pub fn entries(root: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut found = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            if entry.file_type().unwrap().is_dir() {
                found.insert(format!("{rel}/"), None);
                stack.push(path);
            } else {
                found.insert(rel, Some(fs::read(&path).unwrap()));
            }
        }
    }
    found
}

/// `gpu-ci ARGS` exits 2 saying `message`, never panics, and leaves every byte and folder.
pub fn assert_refused(project: &Project, args: &[&str], message: &str) {
    let before = entries(&project.root);
    let output = project.gpu_ci(args).get_output().clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{args:?}: {}",
        describe(&output)
    );
    assert!(
        stderr.contains(message),
        "{args:?}: expected `{message}` in:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        before,
        entries(&project.root),
        "{args:?} changed the project"
    );
}

#[test]
fn finding_6_a_folder_where_a_file_goes_stops_the_write_before_it_starts() {
    let project = Project::fixture("uv-groups-src");
    fs::create_dir_all(project.path(LOCK)).unwrap();
    assert_refused(
        &project,
        &["init", "--yes"],
        "error: cannot write `.gpu-ci.lock`: it is a folder",
    );
    assert!(!project.path(".github/workflows").exists());
    assert!(!project.path(".modal").exists());
}

#[test]
fn finding_6_a_write_that_fails_midway_leaves_no_staged_file_or_folder() {
    // A file-size limit (with SIGXFSZ ignored) fails the first large write with EFBIG, as a
    // full disk fails it with ENOSPC: after the journal and the folders were made.
    let project = Project::fixture("uv-groups-src");
    let before = entries(&project.root);
    let mut cmd = Command::new("sh");
    scrub_env(&mut cmd);
    let output = cmd
        .args(["-c", "ulimit -f 8 && trap '' XFSZ && exec \"$@\"", "sh"])
        .arg(gpu_ci_path())
        .arg("-C")
        .arg(&project.root)
        .args(["init", "--yes"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(stderr.contains("File too large"), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert_eq!(before, entries(&project.root), "something was left behind");
}

/// How a file of the set says which GPU it was written for.
type GpuMark = fn(&str) -> String;

/// The GPU each file of a set says, for T4 or H100 sets.
fn gpus(project: &Project) -> Vec<(&'static str, &'static str)> {
    let marks: [(&str, GpuMark); 4] = [
        ("pyproject.toml", |g| format!("gpu = \"{g}\"")),
        (REUSABLE, |g| format!("vars.MODAL_GPU || '{g}' }}}}")),
        (RUNNER, |g| format!("GPU_DEFAULT = \"{g}\"")),
        (LOCK, |g| format!("\"gpu_setting\": \"{g}\"")),
    ];
    marks
        .iter()
        .map(|(file, mark)| {
            let text = project.read(file);
            let gpu = ["T4", "H100"]
                .into_iter()
                .find(|g| text.contains(&mark(g)))
                .unwrap_or("neither");
            (*file, gpu)
        })
        .collect()
}

#[test]
fn finding_6_concurrent_inits_never_mix_their_files() {
    let project = Project::initialised("uv-groups-src");
    for round in 0..4 {
        let children: Vec<_> = ["T4", "H100"]
            .iter()
            .map(|gpu| {
                gpu_ci_process()
                    .arg("-C")
                    .arg(&project.root)
                    .args(["init", "--yes", "--force", "--gpu", gpu])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "round {round}: {}",
                describe(&output)
            );
        }
        let set = gpus(&project);
        assert!(
            set.iter()
                .all(|(_, gpu)| *gpu == set[0].1 && *gpu != "neither"),
            "round {round}: a mixed set {set:?}"
        );
    }
}

#[test]
fn finding_6_stale_staged_files_are_removed_by_the_next_command() {
    let project = Project::initialised("uv-groups-src");
    let stale = [
        ".github/workflows/.label-gpu-tests.yml.gpu-ci-4242.tmp",
        ".modal/.test_runner.py.gpu-ci-1.tmp",
        ".github/.gpu-ci.lock.gpu-ci-77.tmp",
        ".gpu-ci.journal.tmp",
    ];
    for rel in stale {
        project.write(rel, "half");
    }
    project.write("notes.tmp", "mine");
    project.gpu_ci(&["config"]).success();
    for rel in stale {
        assert!(!project.path(rel).exists(), "{rel} is left");
    }
    assert_eq!(project.read("notes.tmp"), "mine");
}

/// Whether gpu-ci has begun to write in `root`: its journal, or (for a gpu-ci without one) the
/// first folder it makes.
fn writing(root: &Path) -> bool {
    root.join(".gpu-ci.journal").exists() || root.join(".github").exists()
}

/// Starts `init --yes` in `root` and, once it begins to write, returns it and when that was.
fn init_until_it_writes(root: &Path) -> (std::process::Child, Instant) {
    let mut child = gpu_ci_process()
        .arg("-C")
        .arg(root)
        .args(["init", "--yes"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    while !writing(root) {
        assert!(Instant::now() < deadline, "init never began to write");
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_micros(100));
    }
    (child, Instant::now())
}

/// SIGKILLs `init` on a pyproject of about `size` bytes `kills` times, at moments spread over
/// its write (from its first write to its end), runs `gpu-ci config` after each, and checks
/// that the project is then exactly as before or exactly as a complete init leaves it, with no
/// staged file, journal or stray folder. Returns (runs undone, runs completed).
fn kill_during_init(size: usize, kills: u32) -> (u32, u32) {
    let fresh = || {
        let project = Project::fixture("extras-flat");
        let mut text = project.read("pyproject.toml");
        text.push_str("\n[tool.padding]\n");
        let mut n = 0;
        while text.len() < size {
            text.push_str(&format!("key_{n:06} = \"{}\"\n", "x".repeat(80)));
            n += 1;
        }
        project.write("pyproject.toml", &text);
        project
    };
    let pristine = entries(&fresh().root);
    let reference = fresh();
    let (child, began) = init_until_it_writes(&reference.root);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    let window = began.elapsed();
    let complete = entries(&reference.root);
    let (mut undone, mut completed) = (0, 0);
    for kill in 0..kills {
        let project = fresh();
        let (mut child, began) = init_until_it_writes(&project.root);
        let at = window.mul_f64(1.2 * f64::from(kill) / f64::from(kills));
        while began.elapsed() < at {
            std::hint::spin_loop();
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        project.gpu_ci(&["config"]).success();
        let now = entries(&project.root);
        if now == pristine {
            undone += 1;
        } else if now == complete {
            completed += 1;
        } else {
            let state = |k: &String| match now.get(k) {
                v if v == complete.get(k) && v == pristine.get(k) => "same",
                v if v == complete.get(k) => "new",
                v if v == pristine.get(k) => "old",
                _ => "torn",
            };
            let files: BTreeMap<_, _> = now
                .keys()
                .chain(complete.keys())
                .map(|k| (k, state(k)))
                .filter(|(_, s)| *s != "same")
                .collect();
            panic!(
                "kill {kill} ({at:?} into a {window:?} write): neither as before nor complete: {files:?}"
            );
        }
    }
    (undone, completed)
}

#[test]
fn finding_6_a_sigkill_at_any_moment_is_finished_or_undone_by_the_next_command() {
    let (undone, completed) = kill_during_init(1 << 20, 20);
    assert_eq!(undone + completed, 20);
    // The first kill falls just after the journal appeared: that write is undone.
    assert!(undone >= 1, "{undone} undone, {completed} completed");
}

/// A journal is never committed, but a pull request can carry one: a crafted `committed`
/// journal (its hash right) must not move a file of the project over one outside it, nor a
/// `prepared` one delete a file outside it, whichever command runs first.
#[test]
fn a_journal_that_came_with_a_change_touches_nothing_outside_the_project() {
    use gpu_ci::generate::journal::{Entry, Journal, State, hash};
    let project = Project::initialised("uv-groups-src");
    let victim = project.root.parent().unwrap().join("victim");
    fs::write(&victim, "precious").unwrap();
    project.write("payload", "owned");
    let absolute = victim.display().to_string();
    for (state, target, temp) in [
        (State::Committed, "../victim", "payload"),
        (State::Committed, absolute.as_str(), "payload"),
        (State::Prepared, "x", "../victim"),
        (State::Prepared, "x", absolute.as_str()),
    ] {
        let journal = Journal {
            state,
            created_dirs: vec![],
            entries: vec![Entry {
                target: target.into(),
                temp: temp.into(),
                hash: hash(b"owned"),
            }],
        };
        project.write(".gpu-ci.journal", &serde_json::to_string(&journal).unwrap());
        for command in [&["config"][..], &["update", "--check"], &["init", "--yes"]] {
            assert_refused(&project, command, "is not a gpu-ci journal");
        }
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    }
}

/// A symbolic link where gpu-ci stages its journal (committed with a change, say) is removed,
/// never written through.
#[test]
fn a_link_where_gpu_ci_stages_is_never_written_through() {
    let project = Project::fixture("uv-groups-src");
    let victim = project.root.parent().unwrap().join("victim");
    fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, project.path(".gpu-ci.journal.tmp")).unwrap();
    project.gpu_ci(&["init", "--yes"]).success();
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    assert!(fs::symlink_metadata(project.path(".gpu-ci.journal.tmp")).is_err());
    assert!(project.path(REUSABLE).is_file());
}

/// A generated file, the lock or `.gitlab-ci.yml` committed as a link out of the project (to a
/// secret, or to `/proc/self/environ`) is refused before it is read: `update --check` in CI,
/// `--dry-run` and every write never show a byte of it in a diff.
#[test]
fn a_link_out_of_the_project_is_never_read_into_a_diff() {
    let secret = "SECRET-8c1f-never-shown";
    for (rel, ci) in [
        (RUNNER, "github"),
        (LOCK, "github"),
        (".gitlab-ci.yml", "gitlab"),
    ] {
        let project = Project::fixture("uv-groups-src");
        project.gpu_ci(&["init", "--yes", "--ci", ci]).success();
        let outside = project.root.parent().unwrap().join("secret");
        fs::write(&outside, format!("{secret}\n")).unwrap();
        let _ = fs::remove_file(project.path(rel));
        std::os::unix::fs::symlink(&outside, project.path(rel)).unwrap();
        for args in [
            &["update", "--check"][..],
            &["update", "--dry-run", "--diff"],
            &["update"],
            &["init", "--yes", "--dry-run", "--diff", "--ci", ci],
            &["init", "--yes", "--force", "--ci", ci],
        ] {
            let output = project.gpu_ci(args).get_output().clone();
            let shown = describe(&output);
            assert_eq!(output.status.code(), Some(2), "{rel} {args:?}: {shown}");
            assert!(
                shown.contains(&format!("cannot write `{rel}`: it is a symbolic link to `")),
                "{rel} {args:?}: {shown}"
            );
            assert!(
                !shown.contains(secret),
                "{rel} {args:?} showed the file: {shown}"
            );
            assert_eq!(fs::read_to_string(&outside).unwrap(), format!("{secret}\n"));
        }
    }
}

/// Issue 20, finding 1: a pull request commits a journal in state `committed` with two
/// entries (a `.pth` in the ignored virtual environment, which runs at the next Python start,
/// and `.env`) and their staged files. Checking the PR out and running `config`, `doctor` or
/// `update --check` must move nothing into place: the journal is tracked, and neither target
/// is a file gpu-ci writes.
#[test]
fn issue_20_a_journal_committed_with_a_pull_request_is_refused_by_every_command() {
    use crate::common::git;
    use gpu_ci::generate::journal::{Entry, Journal, State, hash};
    const PTH: &str = ".venv/lib/python3.11/site-packages/gpu_ci_pwn.pth";
    const PTH_STAGED: &str = ".venv/lib/python3.11/site-packages/.gpu_ci_pwn.pth.gpu-ci-4242.tmp";
    const PAYLOAD: &str = "import os; os.system('touch /tmp/pwned')\n";
    const ENV: &str = "MODAL_TOKEN_SECRET=attacker\n";
    let plant = |project: &Project, entries: &[(&str, &str, &str)]| {
        let journal = Journal {
            state: State::Committed,
            created_dirs: vec![],
            entries: entries
                .iter()
                .map(|(target, temp, text)| Entry {
                    target: (*target).into(),
                    temp: (*temp).into(),
                    hash: hash(text.as_bytes()),
                })
                .collect(),
        };
        for (_, temp, text) in entries {
            project.write(temp, text);
        }
        project.write(".gpu-ci.journal", &serde_json::to_string(&journal).unwrap());
    };
    let attack = [
        (PTH, PTH_STAGED, PAYLOAD),
        (".env", "..env.gpu-ci-4242.tmp", ENV),
    ];

    // The pull request: the journal and its staged files committed (`add -f` past the ignores).
    let project = Project::initialised("uv-groups-src");
    project.write(".gitignore", ".venv/\n.env\n");
    git(&project.root, &["init", "-q"]);
    git(&project.root, &["add", "."]);
    git(&project.root, &["commit", "-qm", "base"]);
    plant(&project, &attack);
    git(&project.root, &["add", "-f", "."]);
    git(&project.root, &["commit", "-qm", "the pull request"]);
    for command in [
        &["config"][..],
        &["doctor"],
        &["update", "--check"],
        &["update"],
    ] {
        assert_refused(&project, command, "nothing it names was moved or removed");
        assert!(!project.path(PTH).exists() && !project.path(".env").exists());
    }
    let output = project.gpu_ci(&["config"]).get_output().clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is tracked by git"), "{stderr}");
    assert!(stderr.contains("delete `.gpu-ci.journal`"), "{stderr}");

    // The same journal untracked (copied in by hand, or tracked files removed from the index):
    // still refused, for what it names.
    git(&project.root, &["rm", "-q", "--cached", "-r", "."]);
    for command in [&["config"][..], &["doctor"], &["update", "--check"]] {
        assert_refused(
            &project,
            command,
            "names `.venv/lib/python3.11/site-packages/gpu_ci_pwn.pth`, which is not a file gpu-ci writes",
        );
    }
    plant(&project, &attack[1..]);
    assert_refused(
        &project,
        &["config"],
        "names `.env`, which is not a file gpu-ci writes",
    );
    assert!(!project.path(PTH).exists() && !project.path(".env").exists());

    // Outside git, a journal naming gpu-ci's own files is a real interrupted write: finished.
    let project = Project::initialised("uv-groups-src");
    let runner = project.read(RUNNER) + "# the rest of an interrupted update\n";
    let staged = ".modal/.test_runner.py.gpu-ci-4242.tmp";
    fs::remove_file(project.path(".gitignore")).ok();
    plant(&project, &[(RUNNER, staged, runner.as_str())]);
    project.gpu_ci(&["config"]).success();
    assert_eq!(project.read(RUNNER), runner);
    assert!(!project.path(".gpu-ci.journal").exists());
    // In git, untracked, the same: finished.
    let project = Project::initialised("uv-groups-src");
    git(&project.root, &["init", "-q"]);
    git(&project.root, &["add", "."]);
    git(&project.root, &["commit", "-qm", "base"]);
    plant(&project, &[(RUNNER, staged, runner.as_str())]);
    project.gpu_ci(&["doctor"]).get_output();
    assert!(!project.path(".gpu-ci.journal").exists());
    assert!(
        project
            .read(RUNNER)
            .ends_with("# the rest of an interrupted update\n")
    );
}

/// A pull request that is not a git checkout (a tarball, a `git archive`) can carry a lock as
/// well as a journal: the lock on disk, or one the journal stages, listing `.env` or a module
/// beside the runner (`.modal/modal.py`, which `python .modal/test_runner.py` imports first)
/// must not make them "gpu-ci's own files". Nothing is moved into place.
#[test]
fn a_lock_that_came_with_a_journal_names_no_file_gpu_ci_writes() {
    use gpu_ci::generate::journal::{Entry, Journal, State, hash};
    use gpu_ci::generate::lock::Lock;
    const ENV: &str = "MODAL_TOKEN_SECRET=attacker\n";
    const SHADOW: &str = "import os; os.system('touch /tmp/pwned')\n";
    for (target, temp, text) in [
        (".env", "..env.gpu-ci-4242.tmp", ENV),
        (
            ".modal/modal.py",
            ".modal/.modal.py.gpu-ci-4242.tmp",
            SHADOW,
        ),
    ] {
        for lock_staged in [false, true] {
            let project = Project::initialised("uv-groups-src");
            fs::remove_file(project.path(".gitignore")).ok();
            let mut lock = Lock::parse(&project.read(LOCK)).unwrap();
            lock.files.push(target.to_string());
            let lock_text = lock.render();
            let mut entries = vec![Entry {
                target: target.into(),
                temp: temp.into(),
                hash: hash(text.as_bytes()),
            }];
            project.write(temp, text);
            if lock_staged {
                let staged = "..gpu-ci.lock.gpu-ci-4242.tmp";
                project.write(staged, &lock_text);
                entries.push(Entry {
                    target: LOCK.into(),
                    temp: staged.into(),
                    hash: hash(lock_text.as_bytes()),
                });
            } else {
                project.write(LOCK, &lock_text);
            }
            let journal = Journal {
                state: State::Committed,
                created_dirs: vec![],
                entries,
            };
            project.write(".gpu-ci.journal", &serde_json::to_string(&journal).unwrap());
            for command in [&["config"][..], &["doctor"], &["update", "--check"]] {
                assert_refused(
                    &project,
                    command,
                    &format!("names `{target}`, which is not a file gpu-ci writes"),
                );
                assert!(
                    !project.path(target).exists(),
                    "{target} (lock staged: {lock_staged}) {command:?} moved it into place"
                );
            }
        }
    }
}

/// A journal committed with a pull request, in a checkout where gpu-ci finds no git outside the
/// project (git only in a project's environment, or none): whether git tracks it is unknown,
/// so it is refused, not taken for an interrupted write. Here it names the runner, a file
/// gpu-ci does write, which `gpu-ci run` executes; a change that survives `git checkout main`
/// when the branches share that file.
#[test]
fn a_journal_in_a_checkout_is_refused_when_no_git_can_say_it_is_untracked() {
    use crate::common::git;
    use gpu_ci::generate::journal::{Entry, Journal, State, hash};
    let project = Project::initialised("uv-groups-src");
    git(&project.root, &["init", "-q"]);
    git(&project.root, &["add", "."]);
    git(&project.root, &["commit", "-qm", "base"]);
    let original = project.read(RUNNER);
    let hostile = "import os; os.system('touch /tmp/pwned')\n";
    let staged = ".modal/.test_runner.py.gpu-ci-4242.tmp";
    project.write(staged, hostile);
    let journal = Journal {
        state: State::Committed,
        created_dirs: vec![],
        entries: vec![Entry {
            target: RUNNER.into(),
            temp: staged.into(),
            hash: hash(hostile.as_bytes()),
        }],
    };
    project.write(".gpu-ci.journal", &serde_json::to_string(&journal).unwrap());
    git(&project.root, &["add", "-f", "."]);
    git(&project.root, &["commit", "-qm", "the pull request"]);
    let empty = tempfile::tempdir().unwrap();
    let output = crate::common::gpu_ci()
        .arg("-C")
        .arg(&project.root)
        .arg("config")
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("nothing it names was moved or removed"),
        "{}",
        describe(&output)
    );
    assert_eq!(project.read(RUNNER), original);
}
