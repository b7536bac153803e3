//! `gpu-ci doctor`: one screen of checks, each passed (✓), failed (✗) with how to fix it, or
//! skipped (-) with why. Here: the config, the generated files, git, the Modal client and
//! credentials, the Python version; on GitHub, with a token: the secrets, the label, the
//! workflows on the default branch. Reads only; exit 1 when any check fails.

use std::path::Path;

use serde::Serialize;

use crate::cli::DoctorArgs;
use crate::commands::github_setup::SECRETS;
use crate::commands::regenerate_files;
use crate::config::ConfigFile;
use crate::error::{Error, ExitStatus, Result};
use crate::generate::OnEdited;
use crate::generate::lock::{LOCK, Lock};
use crate::generate::merge::has_conflict_markers;
use crate::generate::write::read_target;
use crate::github::GitHub;
use crate::github::repo::{Found, Repo};
use crate::isolated;
use crate::modal_local::{ModalSettings, Search, find_client};
use crate::pins::{MODAL_CLIENT_VERSION, PINNED_ACTIONS, modal_client_install};
use crate::plan::TestPlan;
use crate::plan::build::{Setup, load_set_up};
use crate::plan::ci::CiSystem;
use crate::plan::python::ImageBuilder;
use crate::preflight;
use crate::project::Project;
use crate::project::python::PythonSpec;
use crate::targets::{self, Target, bitbucket, gitlab, gitlab_include, modal};
use crate::ui;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

#[derive(Debug, Serialize)]
pub struct Check {
    /// A stable name, for `--json` readers: `config`, `generated-files`, `github-secrets`, …
    pub id: &'static str,
    /// What is checked, as the screen shows it.
    pub title: &'static str,
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do, for a failed check.
    pub fix: Option<String>,
}

fn pass(id: &'static str, title: &'static str, detail: impl Into<String>) -> Check {
    Check {
        id,
        title,
        status: Status::Pass,
        detail: detail.into(),
        fix: None,
    }
}

fn fail(
    id: &'static str,
    title: &'static str,
    detail: impl Into<String>,
    fix: impl Into<String>,
) -> Check {
    Check {
        id,
        title,
        status: Status::Fail,
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

fn skip(id: &'static str, title: &'static str, why: impl Into<String>) -> Check {
    Check {
        id,
        title,
        status: Status::Skip,
        detail: why.into(),
        fix: None,
    }
}

/// An error as a failed check: its message, and its help as the fix.
fn failed_with(id: &'static str, title: &'static str, err: &Error) -> Check {
    let fix = err
        .help()
        .unwrap_or_else(|| "correct what the message names, then run `gpu-ci doctor` again".into());
    fail(id, title, err.to_string(), fix)
}

/// Every path gpu-ci writes: the plan's generated files (every target's without a plan), the
/// lock, and `.gitlab-ci.yml` when it includes gpu-ci's file.
fn written_paths(plan: Option<&TestPlan>) -> Vec<&'static str> {
    let files: Vec<&'static str> = match plan {
        Some(plan) => targets::files_of(plan).iter().map(|f| f.path).collect(),
        None => targets::generated_files().map(|f| f.path).collect(),
    };
    let gitlab = plan.is_some_and(|p| p.uses(CiSystem::Gitlab));
    files
        .into_iter()
        .chain([LOCK])
        .chain(gitlab.then_some(gitlab::CI_FILE))
        .collect()
}

fn config_check(loaded: &Result<Setup>) -> Check {
    const TITLE: &str = "config";
    match loaded {
        Ok(setup) => pass(
            "config",
            TITLE,
            format!("{} is valid", setup.config.section_name()),
        ),
        Err(err) => failed_with("config", TITLE, err),
    }
}

fn generated_check(root: &Path, plan: Option<&TestPlan>) -> Check {
    const ID: &str = "generated-files";
    const TITLE: &str = "generated files";
    let Some(plan) = plan else {
        return skip(ID, TITLE, "needs a valid config");
    };
    // Issue 27: the runner split by where it runs; a project from before has two files.
    if let Ok(Some(lock)) = Lock::read(root)
        && modal::is_old_layout(&lock.files)
    {
        return fail(
            ID,
            TITLE,
            format!(
                "the runner is in the old two-file layout ({}), from before gpu-ci split it by where it runs",
                modal::OLD_LAYOUT.join(" and ")
            ),
            "run `gpu-ci update`: it moves the runner to four files and carries your edits into them (`gpu-ci update --check` shows the diff)",
        );
    }
    match regenerate_files(root, plan, OnEdited::Merge { force: false }) {
        Ok(changes) if changes.is_empty() => {
            pass(ID, TITLE, "current with the config and templates")
        }
        Ok(changes) => {
            let paths: Vec<&str> = changes.paths().collect();
            fail(
                ID,
                TITLE,
                format!("out of date: {}", paths.join(", ")),
                "run `gpu-ci update` (`gpu-ci update --check` shows the diff)",
            )
        }
        Err(err) => failed_with(ID, TITLE, &err),
    }
}

fn markers_check(root: &Path, plan: Option<&TestPlan>) -> Check {
    const ID: &str = "conflict-markers";
    const TITLE: &str = "no conflict markers";
    let mut marked: Vec<&str> = Vec::new();
    for path in written_paths(plan) {
        // Read as `gpu-ci update` reads it (a regular file inside the project, capped: never a
        // FIFO that blocks or a link to `/dev/zero`), and judged as it judges it.
        match read_target(root, path) {
            Ok(Some(text)) if has_conflict_markers(&text) => marked.push(path),
            Ok(_) => {}
            Err(err) => return failed_with(ID, TITLE, &err),
        }
    }
    if marked.is_empty() {
        pass(ID, TITLE, "none in the generated files")
    } else {
        fail(
            ID,
            TITLE,
            format!("unresolved merge in {}", marked.join(", ")),
            "keep what you need between <<<<<<< and >>>>>>>, delete the markers, then run `gpu-ci update --check`",
        )
    }
}

/// `git -C root ARGS…`, isolated: `None` when git cannot run, else whether it succeeded.
fn git(root: &Path, args: &[&str]) -> Option<bool> {
    isolated::git(root, args)
        .ok()
        .map(|out| out.status.success())
}

/// Whether the last commit holds `config` with gpu-ci's settings in it: after `init`, the
/// config file is changed too, and a clone without those settings renders other files.
fn config_committed(root: &Path, config: &str) -> bool {
    isolated::git(root, &["show", &format!("HEAD:{config}")])
        .ok()
        .filter(|out| out.status.success())
        .is_some_and(|out| {
            let text = String::from_utf8_lossy(&out.stdout);
            text.contains("[tool.gpu-ci") || !config.ends_with("pyproject.toml")
        })
}

fn git_check(root: &Path, plan: Option<&TestPlan>, config: Option<&str>) -> Check {
    const ID: &str = "git";
    const TITLE: &str = "committed";
    match git(root, &["rev-parse", "--is-inside-work-tree"]) {
        None => {
            return fail(
                ID,
                TITLE,
                "git is not installed",
                "install git: gpu-ci's files reach GitHub through it",
            );
        }
        Some(false) => {
            return fail(
                ID,
                TITLE,
                "not a git repository",
                "run `git init`, then commit the generated files and the lock",
            );
        }
        Some(true) => {}
    }
    let present: Vec<&str> = written_paths(plan)
        .into_iter()
        .filter(|p| root.join(p).is_file())
        .collect();
    // An ignore rule matters even for a tracked file: a fresh `git add` skips it.
    let ignored: Vec<&str> = present
        .iter()
        .copied()
        .filter(|p| git(root, &["check-ignore", "-q", "--no-index", p]) == Some(true))
        .collect();
    let mut untracked: Vec<&str> = present
        .iter()
        .copied()
        .filter(|p| git(root, &["ls-files", "--error-unmatch", p]) != Some(true))
        .collect();
    // The settings the files were rendered from go in the same commit.
    if let Some(config) = config.filter(|c| root.join(c).is_file())
        && !config_committed(root, config)
    {
        untracked.push(config);
    }
    if !ignored.is_empty() {
        return fail(
            ID,
            TITLE,
            format!("ignored by git: {}", ignored.join(", ")),
            format!(
                "remove the rule that matches (`git check-ignore -v {}` names it), then commit the files",
                ignored[0]
            ),
        );
    }
    if !untracked.is_empty() {
        return fail(
            ID,
            TITLE,
            format!("not committed: {}", untracked.join(", ")),
            format!(
                "`git add {}` and commit: the lock lets `gpu-ci update` keep your edits, and the config holds the settings",
                untracked.join(" ")
            ),
        );
    }
    pass(
        ID,
        TITLE,
        "the lock and the generated files are tracked and not ignored",
    )
}

/// The client outside the project, asked its version in isolation (`isolated`): a client
/// inside the project tree (an activated `.venv`) is named but not run.
fn modal_client_check(root: &Path) -> Check {
    const ID: &str = "modal-client";
    const TITLE: &str = "Modal client";
    let install = modal_client_install();
    match find_client(Search::OutsideProject(root)) {
        None if let Some(inside) = isolated::found_inside("modal", root) => skip(
            ID,
            TITLE,
            format!(
                "only {inside:?} on PATH, inside the project: doctor runs nothing from the project tree"
            ),
        ),
        None => fail(
            ID,
            TITLE,
            "not found: no `modal` on PATH, nor through `uvx` or `python3 -m modal`",
            format!("install it: {install}"),
        ),
        Some(client) => match client.version() {
            Some(version) if version == MODAL_CLIENT_VERSION => pass(
                ID,
                TITLE,
                format!("`{}` is {version}, as the workflows pin", client.command),
            ),
            found => fail(
                ID,
                TITLE,
                format!(
                    "`{}` is {}, the workflows pin {MODAL_CLIENT_VERSION}",
                    client.command,
                    found.unwrap_or("of an unknown version")
                ),
                format!("install the pinned version: {install}"),
            ),
        },
    }
}

fn credentials_check(modal: &Result<ModalSettings>) -> Check {
    const ID: &str = "modal-credentials";
    const TITLE: &str = "Modal credentials";
    let settings = match modal {
        Ok(settings) => settings,
        Err(err) => return failed_with(ID, TITLE, err),
    };
    match (&settings.token_id, &settings.token_secret) {
        (Some(id), Some(secret)) if id.from == secret.from => {
            pass(ID, TITLE, format!("a token from {}", id.from))
        }
        (Some(id), Some(secret)) => pass(
            ID,
            TITLE,
            format!("a token from {} and {}", id.from, secret.from),
        ),
        _ => fail(
            ID,
            TITLE,
            format!(
                "no token: neither MODAL_TOKEN_ID and MODAL_TOKEN_SECRET nor profile `{}` in {}{}",
                settings.profile,
                settings.file,
                if settings.file_exists {
                    ""
                } else {
                    " (no such file)"
                }
            ),
            "run `modal token new` (or `modal profile activate NAME`)",
        ),
    }
}

fn python_check(root: &Path, loaded: &Result<Setup>) -> Check {
    const ID: &str = "python";
    const TITLE: &str = "Python version";
    let set = "set `python = \"3.X\"` in the config (or `gpu-ci init --force --python 3.X`), then `gpu-ci update`";
    let detected;
    // The plan's version, which its image builder offers; without a plan, the config's text,
    // checked as the plan would check it (the config check says every other reason).
    let (project, builder, version, from) = match loaded {
        Ok(setup) => (
            &setup.project,
            setup.plan.image_builder.value,
            setup.plan.python.value,
            setup.plan.python.source.to_string(),
        ),
        Err(_) => {
            let Ok(project) = Project::detect(root) else {
                return skip(ID, TITLE, "needs a readable project");
            };
            detected = project;
            let raw = ConfigFile::open(root).and_then(|c| c.read()).ok();
            let builder = match raw.as_ref().and_then(|r| r.image_builder.as_deref()) {
                Some(text) => match ImageBuilder::parse(text) {
                    Ok(builder) => builder,
                    Err(err) => {
                        return fail(
                            ID,
                            TITLE,
                            err.to_string(),
                            "fix `image-builder` in the config",
                        );
                    }
                },
                None => ImageBuilder::current(),
            };
            let Some(text) = raw.and_then(|r| r.python) else {
                return skip(ID, TITLE, "needs a valid config");
            };
            let from = "the config".to_string();
            match builder.parse_python(&text) {
                Ok(version) => (&detected, builder, version, from),
                Err(err) => return fail(ID, TITLE, format!("{err} ({from})"), set),
            }
        }
    };
    // An image Python the project's own constraint excludes cannot install it.
    if let Some((constraint, source)) = project.python_constraint()
        && let Some(spec) = PythonSpec::parse(constraint)
        && !spec.allows(version.minor)
    {
        let fix = match builder.pick(&spec, constraint) {
            Ok(allowed) => set.replace("3.X", &allowed.to_string()),
            Err(_) => {
                "widen the project's constraint, or set `image-builder` to your workspace's builder"
                    .to_string()
            }
        };
        return fail(
            ID,
            TITLE,
            format!(
                "{version} ({from}) is outside the project's {} (`{constraint}`)",
                source.location()
            ),
            fix,
        );
    }
    pass(
        ID,
        TITLE,
        format!(
            "{version} ({from}), which Modal's image builder {} offers",
            builder.version
        ),
    )
}

/// The GitHub checks, or each skipped with why.
fn github_checks(root: &Path, args: &DoctorArgs, plan: Option<&TestPlan>) -> Vec<Check> {
    const REPO: (&str, &str) = ("github-repo", "GitHub repository");
    const SECRETS_: (&str, &str) = ("github-secrets", "GitHub secrets");
    const LABEL: (&str, &str) = ("github-label", "GitHub label");
    const WORKFLOWS: (&str, &str) = ("github-workflows", "workflows on GitHub");
    let all = [REPO, SECRETS_, LABEL, WORKFLOWS];
    let skip_all = |why: &str| -> Vec<Check> {
        all.iter()
            .map(|(id, title)| skip(id, title, why.to_string()))
            .collect()
    };
    let github = match GitHub::from_env() {
        Ok(github) => github,
        Err(err) => {
            let mut checks = skip_all("needs the GitHub repository");
            checks[0] = failed_with(REPO.0, REPO.1, &err);
            return checks;
        }
    };
    if !github.has_token() {
        let mut checks = skip_all("needs the GitHub repository");
        checks[0] = skip(
            REPO.0,
            REPO.1,
            "no GITHUB_TOKEN or GH_TOKEN: set one to check GitHub",
        );
        return checks;
    }
    let repo = match &args.repo {
        Some(text) => Repo::parse(text),
        None => Repo::from_git(root),
    };
    let mut checks = skip_all("needs the GitHub repository");
    let (repo, branch) = match repo.and_then(|repo| {
        let branch = github.default_branch(&repo)?;
        Ok((repo, branch))
    }) {
        Ok((repo, Some(branch))) => {
            checks[0] = pass(REPO.0, REPO.1, format!("{repo}, default branch `{branch}`"));
            (repo, branch)
        }
        Ok((repo, None)) => {
            checks[0] = fail(
                REPO.0,
                REPO.1,
                format!("GitHub knows no repository {repo}, or the token may not see it"),
                "pass --repo OWNER/NAME, or use a token that may read the repository",
            );
            return checks;
        }
        Err(err) => {
            checks[0] = failed_with(REPO.0, REPO.1, &err);
            return checks;
        }
    };

    checks[1] = match github.secret_names(&repo) {
        Ok(mut names) => {
            let organization = github.organization_secret_names(&repo);
            if let Ok(shared) = &organization {
                names.extend(shared.iter().cloned());
            }
            let missing: Vec<&str> = SECRETS
                .into_iter()
                .filter(|s| !names.iter().any(|n| n == s))
                .collect();
            match (missing.is_empty(), organization) {
                (true, _) => pass(SECRETS_.0, SECRETS_.1, SECRETS.join(" and ") + " exist"),
                (false, Ok(_)) => fail(
                    SECRETS_.0,
                    SECRETS_.1,
                    format!("missing: {}", missing.join(", ")),
                    "run `gpu-ci github setup`",
                ),
                // Missing from the repository, and the organisation's could not be read: it
                // may hold them, so say so rather than call them missing.
                (false, Err(err)) => fail(
                    SECRETS_.0,
                    SECRETS_.1,
                    format!(
                        "not in the repository: {}; the organisation's secrets could not be listed ({err})",
                        missing.join(", ")
                    ),
                    "run `gpu-ci github setup`, or give the token `Secrets: read` on the organisation if they are organisation secrets",
                ),
            }
        }
        Err(err) => failed_with(SECRETS_.0, SECRETS_.1, &err),
    };

    checks[2] = match plan {
        None => skip(LABEL.0, LABEL.1, "needs a valid config"),
        Some(plan) => {
            let label = &plan.label.value;
            match github.has_label(&repo, label) {
                Ok(true) => pass(LABEL.0, LABEL.1, format!("`{label}` exists")),
                Ok(false) => fail(
                    LABEL.0,
                    LABEL.1,
                    format!("`{label}` does not exist"),
                    "run `gpu-ci github setup`",
                ),
                Err(err) => failed_with(LABEL.0, LABEL.1, &err),
            }
        }
    };

    let files: Vec<&str> = match plan {
        Some(plan) => targets::files_of(plan).iter().map(|f| f.path).collect(),
        None => [Target::Github, Target::Modal]
            .iter()
            .flat_map(|t| t.files().iter().map(|f| f.path))
            .collect(),
    };
    let mut missing = Vec::new();
    for path in &files {
        match github.has_file(&repo, path, &branch) {
            Ok(true) => {}
            Ok(false) => missing.push(*path),
            Err(err) => {
                checks[3] = failed_with(WORKFLOWS.0, WORKFLOWS.1, &err);
                return checks;
            }
        }
    }
    checks[3] = if missing.is_empty() {
        pass(
            WORKFLOWS.0,
            WORKFLOWS.1,
            format!("the generated files are on `{branch}`"),
        )
    } else {
        fail(
            WORKFLOWS.0,
            WORKFLOWS.1,
            format!("not on `{branch}`: {}", missing.join(", ")),
            format!(
                "commit them and merge into `{branch}`: GitHub runs pushes and dispatches from there"
            ),
        )
    };
    checks
}

/// With a token: each action's pinned commit belongs to that action's repository (reachable
/// from the tag its comment names, or from the default branch), as zizmor's impostor-commit
/// audit checks. A fork's commit is reachable by SHA through its parent, so a pin alone proves
/// nothing.
fn action_pins_check(plan: Option<&TestPlan>) -> Check {
    const ID: &str = "action-pins";
    const TITLE: &str = "action pins";
    let Some(plan) = plan else {
        return skip(ID, TITLE, "needs a valid config");
    };
    let github = match GitHub::from_env() {
        Ok(github) => github,
        Err(err) => return failed_with(ID, TITLE, &err),
    };
    if !github.has_token() {
        return skip(
            ID,
            TITLE,
            "no GITHUB_TOKEN or GH_TOKEN: set one to check them",
        );
    }
    let mut impostors = Vec::new();
    for action in PINNED_ACTIONS {
        let pin = plan.pin(action);
        let repo = match Repo::parse(action.repo) {
            Ok(repo) => repo,
            Err(err) => return failed_with(ID, TITLE, &err),
        };
        match github.pinned_commit(&repo, &pin.sha, &pin.version) {
            Ok(Found::Nowhere) => impostors.push(format!("{}@{}", action.repo, pin.sha)),
            Ok(Found::Tag(_) | Found::DefaultBranch(_)) => {}
            Err(err) => return failed_with(ID, TITLE, &err),
        }
    }
    if impostors.is_empty() {
        pass(
            ID,
            TITLE,
            format!(
                "each of the {} pinned commits is in its action's repository",
                PINNED_ACTIONS.len()
            ),
        )
    } else {
        fail(
            ID,
            TITLE,
            format!(
                "not on a tag or the default branch of the action's repository (a fork's commit?): {}",
                impostors.join(", ")
            ),
            "run `gpu-ci pin` to pin each action to its release's commit, then `gpu-ci update`",
        )
    }
}

/// GitLab: `.gitlab-ci.yml` includes gpu-ci's file; the CI/CD variables, which gpu-ci cannot
/// read from here, named.
fn gitlab_checks(root: &Path) -> Vec<Check> {
    const ID: &str = "gitlab-include";
    const TITLE: &str = "GitLab include";
    let include = match read_target(root, gitlab::CI_FILE) {
        Ok(Some(text)) if gitlab_include::is_included(&text) => pass(
            ID,
            TITLE,
            format!("{} includes {}", gitlab::CI_FILE, gitlab::PIPELINE.path),
        ),
        Ok(Some(_)) => fail(
            ID,
            TITLE,
            format!(
                "{} does not include {}",
                gitlab::CI_FILE,
                gitlab::PIPELINE.path
            ),
            "run `gpu-ci update`, which adds the `include:` entry",
        ),
        Ok(None) => fail(
            ID,
            TITLE,
            format!("no {}", gitlab::CI_FILE),
            "run `gpu-ci update`, which creates it",
        ),
        Err(err) => failed_with(ID, TITLE, &err),
    };
    vec![
        include,
        skip(
            "gitlab-variables",
            "GitLab variables",
            format!(
                "not readable from here: MODAL_TOKEN_ID, MODAL_TOKEN_SECRET, {} under Settings → CI/CD → Variables",
                gitlab::TOKEN_VARIABLE
            ),
        ),
    ]
}

fn bitbucket_checks() -> Vec<Check> {
    vec![skip(
        "bitbucket-variables",
        "Bitbucket variables",
        format!(
            "not readable from here: secured MODAL_TOKEN_ID, MODAL_TOKEN_SECRET, {} under Repository settings → Pipelines",
            bitbucket::TOKEN_VARIABLE
        ),
    )]
}

/// The pre-flight resolve of the image's dependency set (issue 21).
fn preflight_check(loaded: &Result<Setup>) -> Check {
    const ID: &str = "preflight";
    const TITLE: &str = "dependencies resolve";
    let Ok(setup) = loaded else {
        return skip(ID, TITLE, "needs a valid config");
    };
    let python = setup.plan.python.value;
    match preflight::resolve(&setup.plan, &setup.project) {
        preflight::Outcome::Skipped(why) => skip(ID, TITLE, why),
        preflight::Outcome::Conflict { message, fix } => fail(
            ID,
            TITLE,
            format!("uv found no set for Python {python} on Linux x86_64:\n{message}"),
            fix,
        ),
        preflight::Outcome::Resolved {
            packages,
            problems,
            scope,
        } => match problems.first() {
            None => pass(
                ID,
                TITLE,
                format!(
                    "{} packages for Python {python} on Linux x86_64 ({}){scope}",
                    packages.len(),
                    preflight::PLATFORM
                ),
            ),
            Some(_) => {
                let what: Vec<&str> = problems.iter().map(|p| p.what.as_str()).collect();
                let fix: Vec<&str> = problems.iter().map(|p| p.fix.as_str()).collect();
                fail(ID, TITLE, what.join("\n"), fix.join("; "))
            }
        },
    }
}

/// Every check, in the order the screen shows them.
pub fn checks(args: &DoctorArgs, root: &Path) -> Vec<Check> {
    let loaded = load_set_up(root);
    let plan = loaded.as_ref().ok().map(|s| &s.plan);
    let mut checks = vec![
        config_check(&loaded),
        generated_check(root, plan),
        markers_check(root, plan),
        git_check(root, plan, loaded.as_ref().ok().map(|s| s.config.name)),
        python_check(root, &loaded),
        preflight_check(&loaded),
        modal_client_check(root),
        credentials_check(&ModalSettings::read()),
    ];
    // Without a valid config, the GitHub checks still say what they can.
    if plan.is_none_or(|p| p.uses(CiSystem::Github)) {
        checks.extend(github_checks(root, args, plan));
        checks.push(action_pins_check(plan));
    }
    if plan.is_some_and(|p| p.uses(CiSystem::Gitlab)) {
        checks.extend(gitlab_checks(root));
    }
    if plan.is_some_and(|p| p.uses(CiSystem::Bitbucket)) {
        checks.extend(bitbucket_checks());
    }
    checks
}

pub fn run(args: &DoctorArgs, root: &Path) -> Result<ExitStatus> {
    let checks = checks(args, root);
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    if args.json {
        let report = serde_json::json!({ "ok": failed == 0, "checks": checks });
        let text = serde_json::to_string_pretty(&report).expect("the report serialises");
        ui::out(&ui::escaped_json(&text));
    } else {
        print_screen(&checks, failed);
    }
    Ok(if failed == 0 {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

fn print_screen(checks: &[Check], failed: usize) {
    let width = checks.iter().map(|c| c.title.len()).max().unwrap_or(0);
    for check in checks {
        let mark = match check.status {
            Status::Pass => ui::paint("✓", "32"),
            Status::Fail => ui::paint("✗", "31"),
            Status::Skip => ui::paint("-", "2"),
        };
        // Details and fixes quote the project (a key, a value, a path): escaped, one line each;
        // a detail of several lines (uv's message) goes on indented, under the row's text.
        let mut lines = check.detail.lines();
        let detail = ui::escaped(lines.next().unwrap_or_default());
        println!("{mark} {:width$}  {detail}", check.title);
        for line in lines {
            println!("  {:width$}  {}", "", ui::escaped(line));
        }
        if let Some(fix) = &check.fix {
            let fix = ui::escaped(fix);
            println!("  {:width$}  {} {fix}", "", ui::paint("fix:", "1;32"));
        }
    }
    let skipped = checks.iter().filter(|c| c.status == Status::Skip).count();
    let skipped = if skipped == 0 {
        String::new()
    } else {
        format!(", {skipped} skipped")
    };
    if failed == 0 {
        println!("all checks passed{skipped}");
    } else {
        let plural = if failed == 1 { "" } else { "s" };
        println!("{failed} check{plural} failed{skipped}");
    }
}
