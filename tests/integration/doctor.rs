//! `gpu-ci doctor`: a healthy project passes every check; then each broken state, one at a
//! time, fails exactly its own check. The Modal client is a fake `modal` on a PATH of its own,
//! GitHub the fake on 127.0.0.1.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use gpu_ci::pins::MODAL_CLIENT_VERSION;
use serde_json::Value;
use tempfile::TempDir;

use crate::common::git;
use crate::common::{Project, gpu_ci};
use crate::fake_github::{FakeGitHub, State, TOKEN, committed_project};
use crate::snapshots::settings;

/// The generated files and the lock, as the fake GitHub holds them on `main`.
const ON_MAIN: [&str; 7] = crate::common::GENERATED;

/// A home folder with a Modal token, and a PATH holding only git and a fake `modal`.
struct Machine {
    home: TempDir,
    bin: PathBuf,
}

impl Machine {
    fn new(modal_version: Option<&str>) -> Machine {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(
            home.path().join(".modal.toml"),
            "[default]\ntoken_id = \"ak-1\"\ntoken_secret = \"as-1\"\n",
        )
        .unwrap();
        let bin = home.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let git = std::env::split_paths(&std::env::var_os("PATH").unwrap())
            .map(|dir| dir.join("git"))
            .find(|path| path.is_file())
            .expect("git on PATH");
        std::os::unix::fs::symlink(git, bin.join("git")).unwrap();
        if let Some(version) = modal_version {
            let modal = bin.join("modal");
            std::fs::write(
                &modal,
                format!("#!/bin/sh\necho \"modal client version: {version}\"\n"),
            )
            .unwrap();
            std::fs::set_permissions(&modal, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Machine { home, bin }
    }

    fn home(&self) -> &Path {
        self.home.path()
    }
}

fn healthy_github() -> State {
    let mut state = State::new();
    state.labels.insert("gpu-tests".into(), Default::default());
    state.secrets.insert("MODAL_TOKEN_ID".into(), "x".into());
    // An organisation secret shared with the repository counts too.
    state.organization_secrets.push("MODAL_TOKEN_SECRET".into());
    state.files = ON_MAIN.iter().map(|p| p.to_string()).collect();
    state
}

fn doctor(
    project: &Project,
    machine: &Machine,
    server: Option<&FakeGitHub>,
) -> assert_cmd::Command {
    let mut cmd = gpu_ci();
    cmd.arg("-C")
        .arg(&project.root)
        .arg("doctor")
        .env("HOME", machine.home())
        .env("PATH", &machine.bin)
        .env("GPU_CI_RETRY_DELAY_MS", "1");
    if let Some(server) = server {
        cmd.env("GITHUB_API_URL", &server.url)
            .env("GH_TOKEN", TOKEN);
    }
    cmd
}

/// The report as JSON, and the ids of the checks with `status`.
fn report(cmd: &mut assert_cmd::Command, code: i32) -> (Value, Vec<(String, String)>) {
    let output = cmd.arg("--json").output().unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        output.status.code(),
        Some(code),
        "{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: Value = serde_json::from_str(&text).unwrap();
    let statuses = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (json, statuses)
}

fn ids_with(statuses: &[(String, String)], status: &str) -> BTreeSet<String> {
    statuses
        .iter()
        .filter(|(_, s)| s == status)
        .map(|(id, _)| id.clone())
        .collect()
}

#[test]
fn a_healthy_project_passes_every_check() {
    let project = committed_project("uv-groups-src");
    let machine = Machine::new(Some(MODAL_CLIENT_VERSION));
    let server = FakeGitHub::start(healthy_github());
    let (json, statuses) = report(&mut doctor(&project, &machine, Some(&server)), 0);
    assert_eq!(json["ok"], true);
    assert_eq!(statuses.len(), 13, "{json:#}");
    assert_eq!(ids_with(&statuses, "pass").len(), 12, "{json:#}");
    // No uv on this machine's PATH: the pre-flight resolve says it was skipped (issue 21).
    assert_eq!(
        ids_with(&statuses, "skip"),
        BTreeSet::from(["preflight".to_string()]),
        "{json:#}"
    );
    assert_eq!(server.changes(), Vec::<String>::new(), "doctor only reads");
}

/// One broken state: how to make it, and which checks must then fail (and only those).
struct Broken {
    name: &'static str,
    fails: &'static [&'static str],
    modal: Option<&'static str>,
    github: fn(&mut State),
    project: fn(&Project, &Machine),
}

fn nothing_to_github(_: &mut State) {}
fn nothing_to_project(_: &Project, _: &Machine) {}

fn set_in_config(project: &Project, from: &str, to: &str) {
    let text = project.read("pyproject.toml");
    assert!(text.contains(from), "{from} in\n{text}");
    project.write("pyproject.toml", &text.replacen(from, to, 1));
}

#[test]
fn each_broken_state_fails_its_own_check() {
    let cases = [
        Broken {
            name: "an invalid config",
            fails: &["config"],
            modal: Some(MODAL_CLIENT_VERSION),
            github: nothing_to_github,
            project: |p, _| set_in_config(p, "gpu = \"L4\"", "gpu = \"Z100\""),
        },
        Broken {
            name: "settings changed without update",
            fails: &["generated-files"],
            modal: Some(MODAL_CLIENT_VERSION),
            github: nothing_to_github,
            project: |p, _| set_in_config(p, "gpu = \"L4\"", "gpu = \"H100\""),
        },
        Broken {
            name: "conflict markers left in the runner",
            fails: &["conflict-markers"],
            modal: Some(MODAL_CLIENT_VERSION),
            github: nothing_to_github,
            project: |p, _| {
                let text = p.read(".modal/test_runner.py");
                p.write(
                    ".modal/test_runner.py",
                    &format!("{text}<<<<<<< yours\nA = 1\n=======\nA = 2\n>>>>>>> gpu-ci\n"),
                );
            },
        },
        Broken {
            name: "the lock not tracked",
            fails: &["git"],
            modal: Some(MODAL_CLIENT_VERSION),
            github: nothing_to_github,
            project: |p, _| git(&p.root, &["rm", "-q", "--cached", ".gpu-ci.lock"]),
        },
        Broken {
            name: "the lock ignored (a common `*.lock` rule)",
            fails: &["git"],
            modal: Some(MODAL_CLIENT_VERSION),
            github: nothing_to_github,
            project: |p, _| p.write(".gitignore", "*.lock\n"),
        },
        Broken {
            name: "not a git repository",
            // Nor is there a remote to name the GitHub repository.
            fails: &["git", "github-repo"],
            modal: Some(MODAL_CLIENT_VERSION),
            github: nothing_to_github,
            project: |p, _| std::fs::remove_dir_all(p.path(".git")).unwrap(),
        },
        Broken {
            name: "a Python Modal does not offer",
            // The config fails to load too; the checks that need it are skipped.
            fails: &["config", "python"],
            modal: Some(MODAL_CLIENT_VERSION),
            github: nothing_to_github,
            project: |p, _| set_in_config(p, "python = \"3.12\"", "python = \"3.9\""),
        },
        Broken {
            name: "a Python outside requires-python",
            fails: &["python"],
            modal: Some(MODAL_CLIENT_VERSION),
            github: nothing_to_github,
            project: |p, _| {
                set_in_config(
                    p,
                    "requires-python = \">=3.10\"",
                    "requires-python = \">=3.13\"",
                )
            },
        },
        Broken {
            name: "a pinned commit that is in none of its action's refs (issue 20)",
            fails: &["action-pins"],
            modal: Some(MODAL_CLIENT_VERSION),
            github: |state| {
                let checkout = state.action_repos.get_mut("actions/checkout").unwrap();
                for commits in checkout.refs.values_mut() {
                    commits.retain(|c| c.starts_with('f'));
                }
            },
            project: nothing_to_project,
        },
        Broken {
            name: "no Modal client",
            fails: &["modal-client"],
            modal: None,
            github: nothing_to_github,
            project: nothing_to_project,
        },
        Broken {
            name: "another Modal client version",
            fails: &["modal-client"],
            modal: Some("1.5.0"),
            github: nothing_to_github,
            project: nothing_to_project,
        },
        Broken {
            name: "no Modal credentials",
            fails: &["modal-credentials"],
            modal: Some(MODAL_CLIENT_VERSION),
            github: nothing_to_github,
            project: |_, m| std::fs::remove_file(m.home().join(".modal.toml")).unwrap(),
        },
        Broken {
            name: "a secret missing on GitHub",
            fails: &["github-secrets"],
            modal: Some(MODAL_CLIENT_VERSION),
            github: |s| s.organization_secrets.clear(),
            project: nothing_to_project,
        },
        Broken {
            name: "no label on GitHub",
            fails: &["github-label"],
            modal: Some(MODAL_CLIENT_VERSION),
            github: |s| s.labels.clear(),
            project: nothing_to_project,
        },
        Broken {
            name: "workflows not on the default branch",
            fails: &["github-workflows"],
            modal: Some(MODAL_CLIENT_VERSION),
            github: |s| {
                s.files.remove(".github/workflows/run-gpu-tests.yml");
            },
            project: nothing_to_project,
        },
        Broken {
            name: "a repository GitHub does not know",
            fails: &["github-repo"],
            modal: Some(MODAL_CLIENT_VERSION),
            github: nothing_to_github,
            project: |p, _| {
                git(
                    &p.root,
                    &[
                        "remote",
                        "set-url",
                        "origin",
                        "https://github.com/someone/else",
                    ],
                )
            },
        },
    ];
    for case in cases {
        let project = committed_project("uv-groups-src");
        let machine = Machine::new(case.modal);
        let mut state = healthy_github();
        (case.github)(&mut state);
        let server = FakeGitHub::start(state);
        (case.project)(&project, &machine);
        let (json, statuses) = report(&mut doctor(&project, &machine, Some(&server)), 1);
        let want: BTreeSet<String> = case.fails.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            ids_with(&statuses, "fail"),
            want,
            "{}:\n{json:#}",
            case.name
        );
        for check in json["checks"].as_array().unwrap() {
            if check["status"] == "fail" {
                assert!(
                    check["fix"].as_str().is_some_and(|f| !f.is_empty()),
                    "{}: {check}",
                    case.name
                );
            }
        }
    }
}

#[test]
fn the_modal_client_is_asked_its_version_without_any_token_outside_the_project() {
    let project = committed_project("uv-groups-src");
    let machine = Machine::new(None);
    let seen = machine.home().join("seen");
    let modal = machine.bin.join("modal");
    std::fs::write(
        &modal,
        format!(
            "#!/bin/sh\nprintf '%s%s%s\\n' \"$GH_TOKEN\" \"$GITHUB_TOKEN\" \"$MODAL_TOKEN_SECRET\" > '{}'\npwd >> '{0}'\necho \"modal client version: {MODAL_CLIENT_VERSION}\"\n",
            seen.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&modal, std::fs::Permissions::from_mode(0o755)).unwrap();
    let server = FakeGitHub::start(healthy_github());
    let (json, _) = report(
        doctor(&project, &machine, Some(&server))
            .current_dir(&project.root)
            .env("GITHUB_TOKEN", TOKEN)
            .env("MODAL_TOKEN_SECRET", "as-in-the-environment")
            .env("MODAL_TOKEN_ID", "ak-in-the-environment"),
        0,
    );
    let seen = std::fs::read_to_string(&seen).unwrap();
    let (tokens, cwd) = seen.split_once('\n').unwrap_or(("", &seen));
    assert_eq!(tokens, "", "a token reached the Modal client: {json:#}");
    // Issue 20, item 2: it runs from a folder of its own, not the project's.
    let cwd = std::path::Path::new(cwd.trim());
    assert!(
        cwd.is_absolute()
            && !cwd.starts_with(&project.root)
            && !cwd.starts_with(project.root.canonicalize().unwrap()),
        "the Modal client ran in the project: {}",
        cwd.display()
    );
}

#[test]
fn without_a_token_github_is_skipped_with_a_note_and_the_screen_fits() {
    let project = committed_project("uv-groups-src");
    let machine = Machine::new(None);
    let output = doctor(&project, &machine, None).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.lines().count() <= 24, "one screen:\n{text}");
    let mut settings = settings();
    // A new Modal pin is not a change of this screen.
    settings.add_filter(&MODAL_CLIENT_VERSION.replace('.', r"\."), "[MODAL]");
    settings.bind(|| insta::assert_snapshot!("doctor-no-token-no-modal", text));

    let (_, statuses) = report(
        &mut doctor(&project, &Machine::new(Some(MODAL_CLIENT_VERSION)), None),
        0,
    );
    let skipped = ids_with(&statuses, "skip");
    assert_eq!(
        skipped,
        [
            "github-repo",
            "github-secrets",
            "github-label",
            "github-workflows",
            "action-pins",
            // No uv on this machine's PATH (issue 21).
            "preflight"
        ]
        .map(String::from)
        .into()
    );
}

/// Organisation secrets the token may not list were counted as missing, silently: doctor now
/// says they could not be listed and what to do, instead of calling them missing.
#[test]
fn unlistable_organisation_secrets_are_not_reported_as_missing() {
    let project = committed_project("uv-groups-src");
    let machine = Machine::new(Some(MODAL_CLIENT_VERSION));
    let mut state = healthy_github();
    state.organization_secrets_forbidden = true;
    let server = FakeGitHub::start(state);
    let (json, statuses) = report(&mut doctor(&project, &machine, Some(&server)), 1);
    assert_eq!(
        ids_with(&statuses, "fail"),
        std::collections::BTreeSet::from(["github-secrets".to_string()]),
        "{json:#}"
    );
    let check = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "github-secrets")
        .unwrap();
    let detail = check["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("not in the repository: MODAL_TOKEN_SECRET; the organisation's secrets could not be listed"),
        "{detail}"
    );
    assert!(
        check["fix"]
            .as_str()
            .unwrap()
            .contains("`Secrets: read` on the organisation")
    );
}

/// Issue 20, item 9: with a token, doctor checks that each pinned commit belongs to its
/// action's repository (zizmor's impostor-commit audit): a commit on the default branch passes,
/// a commit GitHub only knows through a fork (the compare API says `diverged`) fails, naming the
/// action; nothing else changes.
#[test]
fn doctor_tells_an_honest_pinned_commit_from_an_impostor() {
    let honest = "1".repeat(40);
    let impostor = "2".repeat(40);
    for (sha, code, status) in [(&honest, 0, "pass"), (&impostor, 1, "fail")] {
        let project = committed_project("uv-groups-src");
        let text = project.read("pyproject.toml");
        project.write(
            "pyproject.toml",
            &format!("{text}\n[tool.gpu-ci.actions]\n\"actions/checkout\" = \"{sha} # v4.2.2\"\n"),
        );
        project.gpu_ci(&["update"]).success();
        git(&project.root, &["commit", "-q", "-am", "pin checkout"]);
        let machine = Machine::new(Some(MODAL_CLIENT_VERSION));
        let mut state = healthy_github();
        let checkout = state.action_repos.get_mut("actions/checkout").unwrap();
        checkout
            .refs
            .get_mut("main")
            .unwrap()
            .insert(1, honest.clone());
        let server = FakeGitHub::start(state);
        let (json, statuses) = report(&mut doctor(&project, &machine, Some(&server)), code);
        let check = json["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "action-pins")
            .unwrap();
        assert_eq!(check["status"], status, "{json:#}");
        if status == "fail" {
            assert_eq!(
                ids_with(&statuses, "fail"),
                BTreeSet::from(["action-pins".to_string()]),
                "{json:#}"
            );
            let detail = check["detail"].as_str().unwrap();
            assert!(
                detail.contains(&format!("actions/checkout@{impostor}"))
                    && !detail.contains("actions/setup-python"),
                "{detail}"
            );
        }
        // Asked of the action's repository: the tag first, then the default branch.
        let asked: Vec<String> = server
            .requests()
            .iter()
            .map(|r| r.path.clone())
            .filter(|p| p.starts_with("/repos/actions/checkout"))
            .collect();
        assert_eq!(
            asked,
            [
                format!("/repos/actions/checkout/compare/v4.2.2...{sha}"),
                "/repos/actions/checkout".to_string(),
                format!("/repos/actions/checkout/compare/main...{sha}"),
            ],
            "{status}"
        );
        assert_eq!(server.changes(), Vec::<String>::new(), "doctor only reads");
    }
}

#[test]
fn the_git_add_fix_names_every_file_the_pyproject_init_changed_too() {
    let project = committed_project("uv-groups-src");
    // As committed before init: the pyproject without [tool.gpu-ci]; the lock not added.
    let with_settings = project.read("pyproject.toml");
    let start = with_settings.find("\n[tool.gpu-ci]").unwrap();
    project.write("pyproject.toml", &with_settings[..start + 1]);
    git(&project.root, &["commit", "-q", "-am", "before gpu-ci"]);
    project.write("pyproject.toml", &with_settings);
    git(&project.root, &["rm", "-q", "--cached", ".gpu-ci.lock"]);
    let machine = Machine::new(Some(MODAL_CLIENT_VERSION));
    let (json, _) = report(&mut doctor(&project, &machine, None), 1);
    let check = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "git")
        .unwrap();
    assert_eq!(check["status"], "fail", "{json:#}");
    assert_eq!(
        check["detail"], "not committed: .gpu-ci.lock, pyproject.toml",
        "{json:#}"
    );
    assert!(
        check["fix"]
            .as_str()
            .unwrap()
            .starts_with("`git add .gpu-ci.lock pyproject.toml` and commit"),
        "{json:#}"
    );
}

/// Issue 24: `run` suggested an unpinned `pip install modal`, `doctor` the pinned version.
/// One command, the pinned version, from both.
#[test]
fn run_and_doctor_give_the_same_pinned_install_command_for_the_modal_client() {
    let project = committed_project("uv-groups-src");
    let machine = Machine::new(None);
    let (json, _) = report(&mut doctor(&project, &machine, None), 1);
    let check = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "modal-client")
        .unwrap()
        .clone();
    let command = format!(
        "`uv tool install modal=={MODAL_CLIENT_VERSION}` (or `pip install modal=={MODAL_CLIENT_VERSION}`)"
    );
    assert_eq!(
        check["fix"].as_str().unwrap(),
        format!("install it: {command}"),
        "{json:#}"
    );
    let run = gpu_ci()
        .arg("-C")
        .arg(&project.root)
        .arg("run")
        .env("HOME", machine.home())
        .env("PATH", &machine.bin)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains(&format!(
            "help: install it with {command}, then run `modal token new`"
        )),
        "{stderr}"
    );
}
