//! `gpu-ci run`: run the GPU tests now, on Modal through its client or here with `--local`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use crate::cli::{ChoiceArgs, RunArgs};
use crate::error::{Error, ExitStatus, IoOp, Result};
use crate::plan::build::{Prompter, Setup, WhenNotSetUp, load};
use crate::plan::values::parse_gpu;
use crate::plan::{Source, Sourced, TestPlan};
use crate::targets::{self, modal::RUNNER};
use crate::ui::{self, note, warning};
use child::ChildEnd;
use signal_hook::consts::SIGINT;

mod child;

/// Calls the runner's function in-process, as `gpu-ci run --local` promises; argv: runner,
/// test path, pytest args.
const LOCAL_HARNESS: &str = "import runpy, sys
ns = runpy.run_path(sys.argv[1])
result = ns['run_tests'].local(sys.argv[2], sys.argv[3])
ns['save_outputs'](result)
sys.exit(ns['exit_code'](result))
";

/// An executable named `name` on PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

fn succeeds(program: &Path, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The Modal client: `modal` on PATH, else `uvx modal`, else `python3 -m modal`.
fn modal_client() -> Result<Vec<PathBuf>> {
    if let Some(modal) = on_path("modal") {
        return Ok(vec![modal]);
    }
    if let Some(uvx) = on_path("uvx")
        && succeeds(&uvx, &["modal", "--version"])
    {
        return Ok(vec![uvx, "modal".into()]);
    }
    if let Some(python) = on_path("python3")
        && succeeds(&python, &["-m", "modal", "--version"])
    {
        return Ok(vec![python, "-m".into(), "modal".into()]);
    }
    Err(
        Error::usage("the Modal client `modal` is not installed").with_help(
            "install it with `pip install modal` (or `uv tool install modal`), then run `modal token new`; or run the tests here with `gpu-ci run --local`",
        ),
    )
}

/// Modal's credentials: both token variables, or a config file holding a token.
fn has_credentials() -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    if set("MODAL_TOKEN_ID") && set("MODAL_TOKEN_SECRET") {
        return true;
    }
    let config = std::env::var_os("MODAL_CONFIG_PATH")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".modal.toml")));
    config
        .and_then(|path| std::fs::read_to_string(path).ok())
        .is_some_and(|text| text.contains("token_id"))
}

/// The project's own runner, or the bundled one rendered into a temporary folder that is
/// removed when this value drops, so the repository is left as it was.
enum Runner {
    Project(PathBuf),
    Bundled(tempfile::TempDir),
}

impl Runner {
    fn find(root: &Path, plan: &TestPlan) -> Result<Runner> {
        let own = root.join(RUNNER.path);
        if own.is_file() {
            return Ok(Runner::Project(own));
        }
        note(
            "no .modal/test_runner.py here; running the bundled runner (`gpu-ci init` writes it into the project)",
        );
        let contents = targets::render_one(plan, RUNNER.path)?;
        let dir = tempfile::Builder::new()
            .prefix("gpu-ci-runner-")
            .tempdir()
            .map_err(|err| Error::io(IoOp::CreateFolderIn, std::env::temp_dir(), err))?;
        let path = dir.path().join("test_runner.py");
        std::fs::write(&path, contents).map_err(|err| Error::io(IoOp::Write, &path, err))?;
        Ok(Runner::Bundled(dir))
    }

    fn path(&self) -> PathBuf {
        match self {
            Runner::Project(path) => path.clone(),
            Runner::Bundled(dir) => dir.path().join("test_runner.py"),
        }
    }
}

/// Runs `command` with the terminal's stdio, in a process group of its own that every SIGINT,
/// SIGTERM and SIGHUP gpu-ci receives is passed on to (a terminal's Ctrl-C reaches only
/// gpu-ci's group); a group still there 10 s later is killed.
fn run_child(command: Command) -> Result<ChildEnd> {
    child::supervise(command)
}

/// gpu-ci's exit status for how the child (`what`, for messages) ended: its own exit code, or
/// 128 + the signal that stopped it.
fn exit_status(end: ChildEnd, what: &str) -> ExitStatus {
    match end {
        ChildEnd::Exited(code) => ExitStatus::Tests(u8::try_from(code).unwrap_or(1)),
        ChildEnd::Interrupted { signal, killed } => {
            if killed {
                warning(&format!(
                    "{what} did not stop within {} s of {}, so it was killed; a Modal app it started may run on until its timeout (see `modal app list`)",
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
    let text = std::fs::read_to_string(path).ok()?;
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

pub fn run(args: &RunArgs, root: &Path) -> Result<ExitStatus> {
    let flags = ChoiceArgs {
        gpu: args.gpu.clone(),
        test_path: args.test_path.clone(),
        pytest_args: (!args.pytest_args.is_empty()).then(|| {
            shlex::try_join(args.pytest_args.iter().map(String::as_str))
                .unwrap_or_else(|_| args.pytest_args.join(" "))
        }),
        ..ChoiceArgs::default()
    };
    let Setup {
        mut plan, notices, ..
    } = load(
        root,
        &flags,
        &Prompter::DEFAULTS,
        WhenNotSetUp::ProceedWithNote,
    )?;
    notices.iter().for_each(|n| n.print());
    // The --gpu flag is already in the plan; without it MODAL_GPU beats the config, as in CI.
    if let Ok(env) = std::env::var("MODAL_GPU")
        && args.gpu.is_none()
        && !env.trim().is_empty()
    {
        let variable = "MODAL_GPU".to_string();
        plan.gpu = Sourced::new(parse_gpu(&env)?, Source::Env { variable });
    }

    // Check what the run needs before rendering anything.
    let mut launcher: Vec<PathBuf> = if args.local {
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
        if !succeeds(&python, &["-c", "import modal"]) {
            return Err(Error::usage(format!(
                "the Modal client is not installed for `{}`",
                python.display()
            ))
            .with_help(format!(
                "install it there with `{} -m pip install modal`",
                python.display()
            )));
        }
        vec![python, "-c".into(), LOCAL_HARNESS.into()]
    } else {
        let client = modal_client()?;
        if !has_credentials() {
            return Err(Error::usage("no Modal credentials found")
                .with_help("run `modal token new`, or set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET"));
        }
        client
    };
    let runner = Runner::find(root, &plan)?;
    let mut command = Command::new(launcher.remove(0));
    command.args(&launcher);
    if args.local {
        command
            .arg(runner.path())
            .args([&plan.test_path.value, &plan.pytest_args.value]);
    } else {
        command
            .arg("run")
            .arg(runner.path())
            .arg(format!("--test-path={}", plan.test_path.value))
            .arg(format!("--pytest-args={}", plan.pytest_args.value));
    }
    command
        .current_dir(root)
        .env("MODAL_GPU", plan.gpu.value.env_value());
    let started = SystemTime::now();
    let end = run_child(command)?;
    drop(runner);
    let what = if args.local {
        "the local test run"
    } else {
        "the Modal client"
    };
    let status = exit_status(end, what);
    match summary_line(root, started) {
        Some(line) => eprintln!("gpu-ci: {line}"),
        None if !matches!(end, ChildEnd::Interrupted { .. }) => eprintln!(
            "gpu-ci: no test summary was written (exit code {})",
            status.code()
        ),
        None => {}
    }
    Ok(status)
}
