//! Issue 20, item 2: no gpu-ci command other than `run` executes anything from the project
//! tree. A pull request can carry `modal/__main__.py`, a `.venv/bin/python`, `modal`, `uvx` and
//! `git` scripts, and (in a tree that comes with its `.git`) a `core.fsmonitor` program; the
//! maintainer has the project's bin folders on PATH and runs gpu-ci from the project folder
//! with Modal's and GitHub's tokens in the environment. Each planted program writes a marker
//! when it runs: after every other subcommand, none exists.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use gpu_ci::pins::MODAL_CLIENT_VERSION;
use tempfile::TempDir;

use crate::common::{Project, describe, git, gpu_ci};
use crate::fake_github::{self, REPO};

/// The programs planted in each of the project's bin folders.
const PLANTED: [&str; 6] = ["python", "python3", "modal", "uvx", "git", "pytest"];
const BIN_FOLDERS: [&str; 2] = [".venv/bin", "bin"];

fn executable(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The first `name` on the test's own PATH.
fn real(name: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("{name} on PATH"))
}

struct Planted {
    project: Project,
    /// Where the planted programs leave their markers (outside the project).
    markers: TempDir,
    /// A home folder, with a bin folder holding the real git and python3 only.
    home: TempDir,
}

impl Planted {
    fn new() -> Planted {
        let project = fake_github::committed_project("uv-groups-src");
        let markers = tempfile::tempdir().unwrap();
        let mark = |name: &str| markers.path().join(name).display().to_string();
        for folder in BIN_FOLDERS {
            for name in PLANTED {
                let marker = mark(&format!("{}-{name}", folder.replace('/', "_")));
                executable(
                    &project.path(&format!("{folder}/{name}")),
                    &format!(
                        "#!/bin/sh\necho ran > '{marker}'\necho 'modal client version: {MODAL_CLIENT_VERSION}'\n"
                    ),
                );
            }
        }
        for module in ["__init__", "__main__"] {
            project.write(
                &format!("modal/{module}.py"),
                &format!(
                    "open({:?}, 'w').write('ran')\nprint('modal client version: {MODAL_CLIENT_VERSION}')\n",
                    mark(&format!("modal-{module}"))
                ),
            );
        }
        // A tree that comes with its own .git: its config names a program of the tree.
        let hook = project.path(".venv/bin/fsmonitor-hook");
        executable(
            &hook,
            &format!("#!/bin/sh\necho ran > '{}'\n", mark("fsmonitor")),
        );
        git(
            &project.root,
            &["config", "core.fsmonitor", hook.to_str().unwrap()],
        );
        project.write(
            "test-outputs/junit.xml",
            "<testsuites><testsuite name=\"pytest\"><testcase classname=\"tests.test_io\" name=\"test_read\" time=\"0.5\"/></testsuite></testsuites>\n",
        );
        let home = tempfile::tempdir().unwrap();
        let bin = home.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        for name in ["git", "python3"] {
            std::os::unix::fs::symlink(real(name), bin.join(name)).unwrap();
        }
        Planted {
            project,
            markers,
            home,
        }
    }

    /// The project's bin folders first, then the real git and python3.
    fn path(&self) -> OsString {
        let mut dirs: Vec<PathBuf> = BIN_FOLDERS.iter().map(|f| self.project.path(f)).collect();
        dirs.push(self.home.path().join("bin"));
        std::env::join_paths(dirs).unwrap()
    }

    /// `gpu-ci ARGS…` from the project folder, as a maintainer runs it, with tokens around.
    fn gpu_ci(&self, args: &[&str], api: Option<&str>) -> std::process::Output {
        let mut cmd = gpu_ci();
        cmd.current_dir(&self.project.root)
            .args(args)
            .env("PATH", self.path())
            .env("HOME", self.home.path())
            .env("MODAL_TOKEN_ID", "ak-isolation")
            .env("MODAL_TOKEN_SECRET", "as-isolation")
            .env("GPU_CI_RETRY_DELAY_MS", "1");
        if let Some(url) = api {
            cmd.env("GITHUB_API_URL", url)
                .env("GITHUB_TOKEN", fake_github::TOKEN);
        }
        cmd.output().unwrap()
    }

    fn markers(&self) -> Vec<String> {
        let mut found: Vec<String> = std::fs::read_dir(self.markers.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        found.sort();
        found
    }
}

#[test]
fn no_subcommand_but_run_executes_anything_from_the_project_tree() {
    let planted = Planted::new();
    let github = fake_github::FakeGitHub::start(fake_github::State::new());
    let pins = crate::pin::FakeGitHub::start(crate::pin::routes());
    let commands: Vec<(Vec<&str>, Option<&str>, &[i32])> = vec![
        (vec!["init", "--yes", "--force"], None, &[0]),
        (vec!["update"], None, &[0]),
        (vec!["update", "--check"], None, &[0]),
        (vec!["pin", "--check"], Some(&pins.url), &[1]),
        (vec!["config"], None, &[0]),
        (vec!["doctor"], Some(&github.url), &[1]),
        (vec!["doctor", "--json"], None, &[0, 1]),
        (vec!["durations"], None, &[0]),
        (vec!["completions", "bash"], None, &[0]),
        (vec!["man"], None, &[0]),
        (vec!["github", "setup"], Some(&github.url), &[0]),
        // The project's `modal` is never the client: none other is found, so exit 2.
        (vec!["cache", "show"], None, &[2]),
        (vec!["cache", "clear", "--yes"], None, &[2]),
    ];
    for (args, api, codes) in commands {
        let output = planted.gpu_ci(&args, api);
        assert!(
            output
                .status
                .code()
                .is_some_and(|code| codes.contains(&code)),
            "gpu-ci {args:?}: {}",
            describe(&output)
        );
        assert_eq!(
            planted.markers(),
            Vec::<String>::new(),
            "gpu-ci {args:?} ran a program of the project tree: {}",
            describe(&output)
        );
    }
    // `github setup` really went through: it found the repository from git's remote.
    assert!(
        github.state().secrets.contains_key("MODAL_TOKEN_SECRET"),
        "{REPO}"
    );
    // The planted programs do write their markers when something runs them.
    let python = planted.project.path(".venv/bin/python");
    std::process::Command::new(&python).output().unwrap();
    assert_eq!(planted.markers(), vec![".venv_bin-python".to_string()]);
}

#[test]
fn doctor_names_a_modal_client_inside_the_project_without_running_it() {
    let planted = Planted::new();
    let output = planted.gpu_ci(&["doctor", "--json"], None);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let check = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "modal-client")
        .unwrap()
        .clone();
    assert_eq!(check["status"], "skip", "{check}");
    let detail = check["detail"].as_str().unwrap();
    assert!(
        detail.contains(".venv/bin/modal") && detail.contains("inside the project"),
        "{detail}"
    );
    assert_eq!(planted.markers(), Vec::<String>::new());
}

/// The pre-flight resolve's `uv` is a probe like the others: the one found is outside the
/// project, and the PATH it runs with holds none of the project's folders (uv looks for a
/// Python interpreter on PATH and runs it to learn what it is: with the project's activated
/// `.venv/bin` first on PATH, that is the pull request's `python3`).
#[test]
fn the_preflight_uv_runs_with_a_path_outside_the_project() {
    let planted = Planted::new();
    // A real-looking uv outside the project that, like uv's interpreter discovery, runs the
    // first `python3` on the PATH it was given.
    executable(
        &planted.home.path().join("bin/uv"),
        "#!/bin/sh\npython3 -c pass >/dev/null 2>&1\necho 'error: no solution found' >&2\nexit 1\n",
    );
    for args in [&["doctor", "--json"][..], &["init", "--yes", "--force"][..]] {
        let output = planted.gpu_ci(args, None);
        assert_eq!(
            planted.markers(),
            Vec::<String>::new(),
            "gpu-ci {args:?}: uv ran the project's python3: {}",
            describe(&output)
        );
    }
}

/// A `uv` in the git work tree around the project (the project in a subfolder, the
/// repository's `bin/` on PATH) is the pull request's: never run.
#[test]
fn the_preflight_never_runs_a_uv_from_the_repository_around_the_project() {
    let project = crate::common::Project::initialised("uv-groups-src");
    let top = project.root.parent().unwrap().to_path_buf();
    std::fs::create_dir(top.join(".git")).unwrap();
    let markers = tempfile::tempdir().unwrap();
    let marker = markers.path().join("uv");
    executable(
        &top.join("bin/uv"),
        &format!("#!/bin/sh\necho ran > '{}'\nexit 1\n", marker.display()),
    );
    let home = tempfile::tempdir().unwrap();
    let output = gpu_ci()
        .current_dir(&project.root)
        .args(["doctor", "--json"])
        .env("PATH", std::env::join_paths([top.join("bin")]).unwrap())
        .env("HOME", home.path())
        .output()
        .unwrap();
    assert!(
        !marker.exists(),
        "doctor ran the repository's bin/uv: {}",
        describe(&output)
    );
}
