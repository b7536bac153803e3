//! `gpu-ci run`: run the GPU tests now, on Modal through its client, or here with `--local`,
//! which runs the runner's local_run.py (and through it in_container.py), without the Modal client.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use crate::args::quote;
use crate::cli::RunArgs;
use crate::error::{Error, ExitStatus, IoOp, Result};
use crate::modal_local::{Client, ModalSettings, Search, find_client, on_path};
use crate::plan::build::{Prompter, Setup, WhenNotSetUp, load};
use crate::plan::choices::Choices;
use crate::plan::install::InstallPlan;
use crate::plan::values::{parse_gpu, split_args};
use crate::plan::{Source, Sourced, TestPlan, durations_file};
use crate::project::Project;
use crate::targets::{
    self, GeneratedFile,
    modal::{FILES, LOCAL_RUN, RUNNER},
};
use crate::ui::{self, note, warning};
use child::ChildEnd;
use signal_hook::consts::SIGINT;

mod child;

fn succeeds(program: &Path, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The Modal client, as `doctor` finds it, with what to do when there is none.
fn modal_client() -> Result<Client> {
    find_client(Search::WholePath).ok_or_else(|| {
        Error::usage("the Modal client `modal` is not installed").with_help(format!(
            "install it with {}, then run `modal token new`; or run the tests here with `gpu-ci run --local`",
            crate::pins::modal_client_install()
        ))
    })
}

fn file_name(file: GeneratedFile) -> &'static str {
    file.path.rsplit('/').next().unwrap_or(file.path)
}

/// The project's own runner, or the bundled one rendered into a temporary folder that is
/// removed when this value drops, so the repository is left as it was.
enum Runner {
    Project(PathBuf),
    Bundled(tempfile::TempDir),
}

impl Runner {
    /// The project's runner when it has `needed`, else the bundled one (every runner file).
    fn find(root: &Path, plan: &TestPlan, needed: GeneratedFile) -> Result<Runner> {
        let own = root.join(needed.path);
        if own.is_file() {
            let dir = own.parent().map(Path::to_path_buf).unwrap_or_default();
            return Ok(Runner::Project(dir));
        }
        note(&format!(
            "no {} here; running the bundled runner (`gpu-ci init` writes it into the project)",
            needed.path
        ));
        let dir = tempfile::Builder::new()
            .prefix("gpu-ci-runner-")
            .tempdir()
            .map_err(|err| Error::io(IoOp::CreateFolderIn, std::env::temp_dir(), err))?;
        for file in FILES {
            let contents = targets::render_one(plan, file.path)?;
            let path = dir.path().join(file_name(file));
            std::fs::write(&path, contents).map_err(|err| Error::io(IoOp::Write, &path, err))?;
        }
        Ok(Runner::Bundled(dir))
    }

    fn path(&self, file: GeneratedFile) -> PathBuf {
        match self {
            Runner::Project(dir) => dir.join(file_name(file)),
            Runner::Bundled(dir) => dir.path().join(file_name(file)),
        }
    }
}

/// The Python for `--local`: the project's `.venv/bin/python`, else `python3`; 3.9 or newer,
/// as the runner's local_run.py needs. No Modal client is needed.
fn local_python(root: &Path) -> Result<PathBuf> {
    let venv = root.join(".venv/bin/python");
    let python = if venv.is_file() {
        Some(venv)
    } else {
        on_path("python3")
    }
    .ok_or_else(|| {
        Error::usage("no Python found: neither .venv/bin/python nor python3")
            .with_help("create the project's virtual environment, or put python3 on PATH")
    })?;
    if !succeeds(
        &python,
        &["-c", "import sys; sys.exit(sys.version_info < (3, 9))"],
    ) {
        return Err(Error::usage(format!(
            "`{}` is not a working Python 3.9 or newer",
            python.display()
        ))
        .with_help("create the project's .venv with Python 3.9+, or put one on PATH as python3"));
    }
    Ok(python)
}

/// The command that installs this project's test dependencies into `python`'s environment,
/// as the plan installs them on Modal: its group, extra, requirements or poetry group.
fn install_command(plan: &TestPlan, python: &Path, root: &Path) -> String {
    let pip = {
        let shown = python.strip_prefix(root).unwrap_or(python);
        format!("{} -m pip install", quote(&shown.display().to_string()))
    };
    let flags = |flag: &str, names: &[String]| -> String {
        names
            .iter()
            .map(|n| format!(" {flag} {}", quote(n)))
            .collect()
    };
    let with_extras = |extras: &[String]| -> String {
        if extras.is_empty() {
            ".".to_string()
        } else {
            quote(&format!(".[{}]", extras.join(",")))
        }
    };
    match &plan.install {
        InstallPlan::Uv { groups, extras, .. } => format!(
            "uv sync{}{}",
            flags("--group", groups),
            flags("--extra", extras)
        ),
        InstallPlan::Poetry { groups, .. } => {
            format!("poetry install{}", flags("--with", groups))
        }
        InstallPlan::Requirements { install, .. } => format!("{pip}{}", flags("-r", install)),
        InstallPlan::Source { extras } => format!("{pip} -e {}", with_extras(extras)),
        InstallPlan::Nothing => format!("{pip} pytest"),
    }
}

/// `--local` runs pytest with `python`: without it, nothing would run and the verdict would be
/// pytest's "No module named pytest" counted as a test failure. Checked from the project, as
/// the run imports it.
fn check_pytest(plan: &TestPlan, python: &Path, root: &Path) -> Result<()> {
    let found = Command::new(python)
        .args([
            "-c",
            "import importlib.util, sys; sys.exit(importlib.util.find_spec('pytest') is None)",
        ])
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Ok(());
    }
    Err(Error::usage(format!(
        "pytest is not installed for `{}`, so `run --local` cannot run the tests",
        python.display()
    ))
    .with_help(format!(
        "install the test dependencies: `{}`; then run `gpu-ci run --local` again",
        install_command(plan, python, root)
    )))
}

/// What reads, in the chosen Python, which of the requirements given as arguments (data, never
/// code) have no installed distribution, one normalised name a line. Run with `-I` (nothing of
/// the project's folder on the import path), it sees what the test run will: PYTHONPATH and the
/// user's site folder added back. A requirement with a marker counts only where `packaging` can
/// evaluate it and it holds here; any failure prints nothing: never a false error.
const MISSING_DISTRIBUTIONS: &str = r#"import os, re, sys
import importlib.metadata as md
extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
if not os.environ.get("PYTHONNOUSERSITE"):
    import site
    extra.append(site.getusersitepackages())
sys.path.extend(os.path.abspath(p) for p in extra)
def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()
installed = set()
for dist in md.distributions():
    try:
        name = dist.metadata["Name"]
    except Exception:
        continue
    if name:
        installed.add(norm(name))
try:
    from packaging.requirements import Requirement
except Exception:
    Requirement = None
missing = []
for text in sys.argv[1:]:
    found = re.match(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)", text)
    if not found:
        continue
    name = found.group(1)
    if ";" in text:
        if Requirement is None:
            continue
        try:
            requirement = Requirement(text)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            name = requirement.name
        except Exception:
            continue
    if norm(name) not in installed and norm(name) not in missing:
        missing.append(norm(name))
print("\n".join(missing))
"#;

/// A requirement's name, normalised (PEP 503); `None` where it starts with none.
fn requirement_name(text: &str) -> Option<String> {
    let text = text.trim_start();
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(text.len());
    let name = text[..end].trim_end_matches(['-', '_', '.']);
    (!name.is_empty()).then(|| crate::project::requirements::normalise(name))
}

/// The requirements the plan installs for the tests, as the project writes them: its
/// dependencies and the chosen extras or groups (uv, Poetry), or the chosen requirements file
/// and the files it includes. The project itself is left out (a group may name it); so is
/// what only a build knows (setup.py).
fn test_requirements(plan: &TestPlan, project: &Project) -> Vec<String> {
    let tables = |names: Vec<String>| -> Vec<String> {
        let Some(pyproject) = &project.pyproject else {
            return Vec::new();
        };
        pyproject
            .requirements
            .iter()
            .filter(|(table, _)| names.contains(table))
            .flat_map(|(_, list)| list.iter().cloned())
            .collect()
    };
    let found = match &plan.install {
        InstallPlan::Uv { groups, extras, .. } => tables(
            std::iter::once("project".to_string())
                .chain(extras.iter().map(|e| format!("extra:{e}")))
                .chain(groups.iter().map(|g| format!("group:{g}")))
                .collect(),
        ),
        InstallPlan::Poetry { groups, .. } => tables(
            std::iter::once("poetry".to_string())
                .chain(groups.iter().map(|g| format!("poetry-group:{g}")))
                .collect(),
        ),
        InstallPlan::Requirements { install, .. } => {
            let mut files: Vec<String> = Vec::new();
            for file in install {
                for found in crate::project::requirements::installing(&project.root, file) {
                    if !files.contains(&found) {
                        files.push(found);
                    }
                }
            }
            files
                .iter()
                .filter_map(|file| crate::project::read_regular(&project.root, file))
                .flat_map(|text| crate::project::requirements::requirement_lines(&text))
                .collect()
        }
        InstallPlan::Source { .. } | InstallPlan::Nothing => Vec::new(),
    };
    let own = crate::project::requirements::normalise(&project.name());
    found
        .into_iter()
        // A control character (a NUL cannot even be an argument) is no requirement.
        .filter(|text| !text.contains(char::is_control))
        .filter(|text| requirement_name(text).is_some_and(|name| name != own))
        .collect()
}

/// `--local` runs the tests in `python`'s environment: a test dependency the plan names that is
/// not installed there makes the tests skip or fail, and the verdict would be wrong. Checked
/// before anything runs, as pytest is.
fn check_test_dependencies(
    plan: &TestPlan,
    project: &Project,
    python: &Path,
    root: &Path,
) -> Result<()> {
    let requirements = test_requirements(plan, project);
    if requirements.is_empty() {
        return Ok(());
    }
    let output = Command::new(python)
        .args(["-I", "-c", MISSING_DISTRIBUTIONS])
        .args(&requirements)
        .current_dir(root)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    let Ok(output) = output else {
        return Ok(());
    };
    if !output.status.success() {
        return Ok(());
    }
    // Only names that were asked about count: the answer is another program's output.
    let asked: Vec<String> = requirements
        .iter()
        .filter_map(|r| requirement_name(r))
        .collect();
    let missing: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .filter(|name| asked.iter().any(|a| a == name))
        .map(|name| format!("`{name}`"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let (what, verb) = match missing.as_slice() {
        [one] => (format!("the test dependency {one}"), "is"),
        [rest @ .., last] => (
            format!("the test dependencies {} and {last}", rest.join(", ")),
            "are",
        ),
        [] => unreachable!("not empty"),
    };
    Err(Error::usage(format!(
        "{what} {verb} not installed for `{}`, so `run --local` cannot run the tests",
        python.display()
    ))
    .with_help(format!(
        "install the test dependencies: `{}`; then run `gpu-ci run --local` again",
        install_command(plan, python, root)
    )))
}

/// gpu-ci's exit status for how the child (`what`, for messages) ended: its own exit code, or
/// 128 + the signal that stopped it.
fn exit_status(end: ChildEnd, what: &str, local: bool) -> ExitStatus {
    match end {
        ChildEnd::Exited(code) => ExitStatus::Tests(u8::try_from(code).unwrap_or(1)),
        ChildEnd::Interrupted { signal, killed } => {
            if killed {
                let after = if local {
                    ", with every process it started"
                } else {
                    "; a Modal app it started may run on until its timeout (see `modal app list`)"
                };
                warning(&format!(
                    "{what} did not stop within {} s of {}, so it was killed{after}",
                    child::GRACE.as_secs(),
                    child::signal_name(signal)
                ));
            } else if signal != SIGINT {
                eprintln!("gpu-ci: stopped by {}", child::signal_name(signal));
            }
            ExitStatus::Signal(signal_code(signal))
        }
        ChildEnd::Killed(signal) => {
            ui::error(&format!(
                "{what} was killed by signal {signal} ({})",
                child::signal_name(signal)
            ));
            ExitStatus::Signal(signal_code(signal))
        }
    }
}

fn signal_code(signal: i32) -> u8 {
    u8::try_from(signal).unwrap_or(127).min(127)
}

/// Why a Modal run never reached the runner, from the client's last error, and what to do:
/// exit 2, since no test ran (1 means tests failed).
fn not_started(stderr: &str, code: i32) -> Error {
    let said = stderr.to_lowercase();
    let (what, help) = if said.contains("could not connect to the modal server") {
        (
            "the Modal client could not connect to the Modal server",
            "check the network (and MODAL_SERVER_URL, if it is set), then run `gpu-ci run` again",
        )
    } else if said.contains("token")
        || said.contains("unauthenticated")
        || said.contains("credentials")
    {
        (
            "Modal refused the token, so the run could not authenticate",
            "run `modal token new` (or set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET to a valid token; `modal profile current` shows which one is used)",
        )
    } else {
        (
            "the Modal client stopped before the runner started",
            "its message is above; `gpu-ci doctor` checks the client, the token and the runner",
        )
    };
    Error::usage(format!(
        "{what} (the client's exit code {code}); no test ran"
    ))
    .with_help(help)
}

/// One line from the run's `summary.md`, when this run wrote one.
fn summary_line(root: &Path, started: SystemTime) -> Option<String> {
    let path = root.join("test-outputs/summary.md");
    let fresh = path
        .metadata()
        .and_then(|m| m.modified())
        .is_ok_and(|modified| modified >= started);
    if !fresh {
        return None;
    }
    let text = crate::project::read_text(&path, "test-outputs/summary.md").ok()?;
    let lines: Vec<&str> = text.lines().collect();
    let header = lines.iter().position(|l| l.starts_with("| passed |"))?;
    let counts: Vec<&str> = lines
        .get(header + 2)?
        .split('|')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    let [passed, failed, skipped, errors] = counts[..] else {
        return None;
    };
    let details = lines
        .iter()
        .find(|l| l.starts_with("**GPU:**"))
        .map(|l| l.replace("**", ""))
        .unwrap_or_default();
    Some(format!(
        "{passed} passed, {failed} failed, {skipped} skipped, {errors} errors · {details}"
    ))
}

/// pytest options whose value is the next argument, so that `--ignore tests/slow` is not
/// read as a test to run.
const OPTIONS_WITH_VALUES: [&str; 22] = [
    "-k",
    "-m",
    "-p",
    "-c",
    "-o",
    "-W",
    "-r",
    "-n",
    "--deselect",
    "--ignore",
    "--ignore-glob",
    "--rootdir",
    "--confcutdir",
    "--basetemp",
    "--junitxml",
    "--junit-xml",
    "--log-file",
    "--maxfail",
    "--tb",
    "--durations",
    "--import-mode",
    "--override-ini",
];

/// The arguments after `--` split as pytest reads them: the tests they name (a path in the
/// project, or a node id `path::test`), and the options. Issue 21: `gpu-ci run --
/// tests/test_one.py` runs that file alone, not the configured test path as well.
fn split_targets(root: &Path, args: &[String]) -> (Vec<String>, Vec<String>) {
    let (mut targets, mut options) = (Vec::new(), Vec::new());
    let mut value_of_option = false;
    for arg in args {
        let path = arg.split("::").next().unwrap_or(arg);
        let is_target = !value_of_option
            && !arg.starts_with('-')
            && !path.is_empty()
            && !Path::new(path).is_absolute()
            && root.join(path).exists();
        value_of_option = OPTIONS_WITH_VALUES.contains(&arg.as_str());
        if is_target {
            targets.push(arg.clone());
        } else {
            options.push(arg.clone());
        }
    }
    (targets, options)
}

/// The folder `--tree` names, absolute, checked to be a folder. It is only handed to the
/// runner, which reads it as data (regular files inside it, no link followed).
fn tree_under_test(dir: &Path) -> Result<PathBuf> {
    let shown = dir.display();
    let meta = std::fs::metadata(dir).map_err(|err| {
        Error::usage(format!("--tree `{shown}`: {err}")).with_help(
            "name the folder of the checkout to test, e.g. `gpu-ci run --tree ../pr-1234`",
        )
    })?;
    if !meta.is_dir() {
        return Err(
            Error::usage(format!("--tree `{shown}` is not a folder")).with_help(
                "name the folder of the checkout to test, e.g. `gpu-ci run --tree ../pr-1234`",
            ),
        );
    }
    dir.canonicalize()
        .map_err(|err| Error::io(IoOp::Read, dir, err))
}

pub fn run(args: &RunArgs, root: &Path) -> Result<ExitStatus> {
    if args.local && args.tree.is_some() {
        return Err(Error::usage(
            "--tree cannot be used with --local: --local runs the tests, and so the tree's code, on this machine",
        )
        .with_help("drop --local to test the tree on Modal, where its code runs in a sandbox"));
    }
    let tree = args.tree.as_deref().map(tree_under_test).transpose()?;
    // Quoted so that the plan splits them back into these very arguments.
    let joined = |words: &[String]| -> String {
        let quoted: Vec<String> = words.iter().map(|a| quote(a)).collect();
        quoted.join(" ")
    };
    let (targets, options) = split_targets(tree.as_deref().unwrap_or(root), &args.pytest_args);
    if !targets.is_empty() && args.test_path.is_some() {
        return Err(Error::usage(format!(
            "`{}` after `--` names tests to run, and so does --test-path",
            targets.join(" ")
        ))
        .with_help("name the tests once: after `--`, or with --test-path"));
    }
    let flags = Choices {
        gpu: args.gpu.clone(),
        shards: args.shards,
        test_path: if targets.is_empty() {
            args.test_path.clone()
        } else {
            Some(joined(&targets))
        },
        pytest_args: (!args.pytest_args.is_empty()).then(|| joined(&options)),
        ..Choices::default()
    };
    let Setup {
        mut plan,
        notices,
        project,
        ..
    } = load(
        root,
        &flags,
        &Prompter::DEFAULTS,
        WhenNotSetUp::ProceedWithNote,
    )?;
    notices
        .iter()
        .filter(|n| n.applies_to_run())
        .for_each(|n| n.print());
    // The --gpu flag is already in the plan; without it MODAL_GPU beats the config, as in CI.
    if let Ok(env) = std::env::var("MODAL_GPU")
        && args.gpu.is_empty()
        && !env.trim().is_empty()
    {
        let variable = "MODAL_GPU".to_string();
        plan.gpu = Sourced::new(parse_gpu(&env)?, Source::Env { variable });
    }

    // Check what the run needs before rendering anything.
    let command = if args.local {
        let python = local_python(root)?;
        check_pytest(&plan, &python, root)?;
        check_test_dependencies(&plan, &project, &python, root)?;
        // The plan checked both lists; these splits are the ones the runner would make.
        let mut pytest_args = split_args("test-path", &plan.test_path.value)?;
        pytest_args.extend(split_args("pytest-args", &plan.pytest_args.value)?);
        let runner = Runner::find(root, &plan, LOCAL_RUN)?;
        if plan.gpu.value.is_matrix() {
            note(&format!(
                "--local runs the suite once, on this machine's GPU; the GPU matrix ({}) applies on Modal",
                plan.gpu.value
            ));
        }
        let mut command = Command::new(python);
        command
            .arg("-u")
            .arg(runner.path(LOCAL_RUN))
            .args(["--output-dir", "test-outputs", "--deadline"])
            .arg(plan.timeout.value.to_string());
        if plan.shards.value > 1 {
            // Shards are processes here, balanced by the recorded durations when there are any
            // (the path is relative to the project, where the command runs).
            command
                .arg("--shards")
                .arg(plan.shards.value.to_string())
                .arg("--durations")
                .arg(durations_file(root));
        }
        command
            .arg("--")
            .args(pytest_args)
            // `env`, as the image sets it for the tests on Modal.
            .envs(&plan.recipe.env.value)
            .env("PYTHONUNBUFFERED", "1");
        let recipe = &plan.recipe;
        if !recipe.modal_secrets.value.is_empty() {
            note(&format!(
                "--local attaches no Modal secret ({}); set what the tests read from them in this shell",
                recipe.modal_secrets.value.join(", ")
            ));
        }
        if !(recipe.packages.value.is_empty()
            && recipe.apt.value.is_empty()
            && recipe.setup.value.is_empty())
        {
            note(
                "--local runs in this machine's environment as it is: `packages`, `apt` and `setup` build the Modal image only",
            );
        }
        (command, runner)
    } else {
        let client = modal_client()?;
        // As the Modal client resolves them (and `doctor` reports them): each variable, else
        // the current profile of its config file.
        if !ModalSettings::read()?.has_token() {
            return Err(Error::usage("no Modal credentials found")
                .with_help("run `modal token new`, or set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET"));
        }
        let runner = Runner::find(root, &plan, RUNNER)?;
        let mut command = client.command();
        if let Some(tree) = &tree {
            // As CI passes tree-under-test/: this checkout's runner, the other tree as data.
            note(&format!(
                "testing {} as data, with this project's runner and settings",
                tree.display()
            ));
            command.env("GPU_CI_PROJECT_DIR", tree);
        } else {
            // This checkout is the tree under test, whatever the shell exported before.
            command.env_remove("GPU_CI_PROJECT_DIR");
        }
        // The runner writes the cache only when told (it fails closed): the maintainer's own
        // checkout, off CI. Another checkout's code (a pull request's, `--tree`) and any run
        // on a CI machine only read it; a value left in the shell decides nothing.
        let trusted = tree.is_none() && !on_ci_machine();
        command.env(
            "GPU_CI_CACHE_ACCESS",
            if trusted { "read-write" } else { "read-only" },
        );
        command
            .arg("run")
            .arg(runner.path(RUNNER))
            .arg(format!("--test-path={}", plan.test_path.value))
            .arg(format!("--pytest-args={}", plan.pytest_args.value))
            .env("MODAL_GPU", plan.gpu.value.env_value())
            .env("GPU_CI_SHARDS", plan.shards.value.to_string())
            .env("GPU_CI_DURATIONS", durations_file(root));
        (command, runner)
    };
    let (mut command, runner) = command;
    command.current_dir(root);
    let started = SystemTime::now();
    // Its own process group, every signal gpu-ci gets passed on (a terminal's Ctrl-C reaches
    // only gpu-ci's group), killed if still there after the grace period.
    // The client's stderr passes through gpu-ci, which keeps its end: when the runner never
    // started, the client's last words say why.
    // On a terminal, the Modal client's start (often several seconds, its image built or
    // pulled) shows a spinner with the time waited, until the client or the runner says anything.
    let spinner = (!args.local).then(|| ui::Waiting::start("starting the Modal client"));
    let (child::Ended { end, leftovers }, client_stderr) =
        child::supervise(command, !args.local, spinner)?;
    drop(runner);
    let what = if args.local {
        "the local test run"
    } else {
        "the Modal client"
    };
    let status = exit_status(end, what, args.local);
    if leftovers > 0 {
        note(&format!(
            "stopped {leftovers} process{} that {what} left running",
            if leftovers == 1 { "" } else { "es" }
        ));
    }
    let summary = summary_line(root, started);
    if let (ChildEnd::Exited(code @ 1..), None, false) = (end, &summary, args.local) {
        // The runner writes a summary whatever the tests do: without one, the run never started.
        return Err(not_started(&client_stderr, code));
    }
    match summary {
        // The counts come from the tests' own summary file: shown escaped.
        Some(line) => ui::plain(&format!("gpu-ci: {line}")),
        None if !matches!(end, ChildEnd::Interrupted { .. }) => eprintln!(
            "gpu-ci: no test summary was written (exit code {})",
            status.code()
        ),
        None => {}
    }
    Ok(status)
}

/// Whether gpu-ci runs on a CI machine: a variable that CI systems set (the generic `CI`, and
/// those of systems that do not set it).
fn on_ci_machine() -> bool {
    const CI_VARIABLES: [&str; 10] = [
        "CI",
        "GITHUB_ACTIONS",
        "GITLAB_CI",
        "BITBUCKET_BUILD_NUMBER",
        "JENKINS_URL",
        "TF_BUILD",
        "TEAMCITY_VERSION",
        "CODEBUILD_BUILD_ID",
        "BUILDKITE",
        "CIRCLECI",
    ];
    CI_VARIABLES
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
}
