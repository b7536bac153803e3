//! Helpers both test binaries share: fixture projects in temporary folders and the binary,
//! started from an environment scrubbed of what would change its behaviour.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// Every fixture layout under `tests/fixtures/`.
pub const FIXTURES: [&str; 6] = [
    "uv-groups-src",
    "extras-flat",
    "setup-requirements",
    "poetry-groups",
    "jax-project",
    "no-pyproject",
];

pub const GENERATED: [&str; 7] = [
    ".github/workflows/_modal-gpu-tests.yml",
    ".github/workflows/label-gpu-tests.yml",
    ".github/workflows/run-gpu-tests.yml",
    ".modal/test_runner.py",
    ".modal/in_container.py",
    ".modal/gpu_ci_results.py",
    ".modal/local_run.py",
];

/// The option sets every fixture is generated with for the structural checks and the checkers.
pub const OPTION_SETS: [&[&str]; 9] = [
    &[],
    // Every image recipe key (issue 21), submodules in each CI target.
    &[
        "--submodules",
        "--package",
        "torchao>=0.10",
        "--extra-index-url",
        "https://download.pytorch.org/whl/cu128",
        "--env",
        "KERAS_BACKEND=it's \"jax\"",
        "--modal-secret",
        "huggingface",
        "--setup",
        "python build_lib.py",
        "--apt",
        "ninja-build",
        "--cuda",
        "12.8",
    ],
    &["--fork-prs"],
    &["--gpu", "A100-80GB"],
    &["--gpu", "H100:2"],
    // A GPU matrix with shards (issue 15).
    &["--gpu", "T4", "--gpu", "H100:2, A100-80GB", "--shards", "4"],
    &["--label", "run on gpu"],
    // A label that is not a YAML plain scalar (issue 12).
    &["--label", "ci: gpu"],
    &["--fork-prs", "--label", "it's \"gpu\" \\ ci"],
];

/// Option sets for settings that have no flag: `init` flags, and the lines they add to
/// `[tool.gpu-ci]` first.
pub const CONFIG_SETS: [(&[&str], &str); 2] = [
    (&[], "environment = \"gpu-ci\"\n"),
    // Fork mode with the cache (issue 26): the workflows' cache_write input and its callers.
    (
        &["--fork-prs"],
        "environment = \"GPU tests: Modal\"\ncache = [\"/root/.cache/torch_extensions\"]\n",
    ),
];

/// Adds `lines` to the project's `[tool.gpu-ci]`, which no fixture has yet.
pub fn add_config(project: &Project, lines: &str) {
    if project.path("pyproject.toml").is_file() {
        let text = project.read("pyproject.toml");
        project.write("pyproject.toml", &format!("{text}\n[tool.gpu-ci]\n{lines}"));
    } else {
        project.write("gpu-ci.toml", lines);
    }
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A fresh copy of a fixture project; the folder is removed when the value drops.
pub struct Project {
    _dir: TempDir,
    pub root: PathBuf,
}

impl Project {
    pub fn fixture(name: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join(name);
        copy_tree(&repo_root().join("tests/fixtures").join(name), &root);
        Project { _dir: dir, root }
    }

    /// A fixture project after `gpu-ci init --yes`, for tests of what comes after.
    pub fn initialised(name: &str) -> Project {
        let project = Project::fixture(name);
        project.gpu_ci(&["init", "--yes"]).success();
        project
    }

    pub fn empty() -> Project {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        fs::create_dir(&root).unwrap();
        Project { _dir: dir, root }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    /// `gpu-ci -C <root> ARGS…`, with stdin closed so it never prompts.
    pub fn gpu_ci(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        gpu_ci().arg("-C").arg(&self.root).args(args).assert()
    }

    /// Every file under the root, relative, with its contents: to prove nothing changed.
    pub fn snapshot_tree(&self) -> Vec<(String, Vec<u8>)> {
        let mut files = Vec::new();
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let rel = path.strip_prefix(&self.root).unwrap().display().to_string();
                    files.push((rel, fs::read(&path).unwrap()));
                }
            }
        }
        files.sort();
        files
    }

    /// The generated files, concatenated with a header each.
    pub fn generated(&self) -> String {
        GENERATED
            .iter()
            .map(|rel| format!("=== {rel} ===\n{}", self.read(rel)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn workflows(&self) -> Vec<PathBuf> {
        GENERATED[..3].iter().map(|rel| self.path(rel)).collect()
    }
}

/// Every fixture × option set (flags, and flags with config), initialised.
pub fn all_generated() -> Vec<(String, Project)> {
    generated_with(&[])
}

/// Every fixture × option set, initialised for GitHub, GitLab and Bitbucket at once (issue 17).
pub fn all_generated_for_every_ci() -> Vec<(String, Project)> {
    generated_with(&["--ci", "github,gitlab,bitbucket"])
}

/// Every fixture × option set, initialised with `init --yes` plus `extra` arguments.
fn generated_with(extra: &[&str]) -> Vec<(String, Project)> {
    let sets = OPTION_SETS
        .iter()
        .map(|options| (*options, ""))
        .chain(CONFIG_SETS);
    let mut projects = Vec::new();
    for fixture in FIXTURES {
        for (options, config) in sets.clone() {
            let project = Project::fixture(fixture);
            if !config.is_empty() {
                add_config(&project, config);
            }
            let mut args = vec!["init", "--yes"];
            args.extend_from_slice(extra);
            args.extend_from_slice(options);
            project.gpu_ci(&args).success();
            projects.push((format!("{fixture} {options:?} {config:?}"), project));
        }
    }
    projects
}

/// `git -C root ARGS…`, which must succeed; with an identity for commits.
pub fn git(root: &Path, args: &[&str]) {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        describe(&output)
    );
}

/// Variables whose name starts with one of these are removed from every gpu-ci the tests
/// start: a developer's shell or a CI runner may hold Modal's or GitHub's settings and tokens.
pub const SCRUBBED_ENV_PREFIXES: [&str; 2] = ["MODAL_", "GITHUB_"];

/// And these: GitHub CLI tokens, the colour switches, and gpu-ci's and its runner's own knobs.
pub const SCRUBBED_ENV_VARS: [&str; 21] = [
    "GH_TOKEN",
    "GH_HOST",
    "FORCE_COLOR",
    "NO_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "GPU_CI_RETRY_DELAY_MS",
    "GPU_CI_HTTP_DEADLINE_MS",
    "GPU_CI_PYTHON",
    "GPU_CI_PROJECT_DIR",
    // `gpu-ci run` tells the runner its cache access from these (a CI machine reads only).
    "GPU_CI_CACHE_ACCESS",
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

fn is_scrubbed(name: &str) -> bool {
    SCRUBBED_ENV_VARS.contains(&name) || SCRUBBED_ENV_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Removes every scrubbed variable from what `cmd` will run with, whether this process holds
/// it or `cmd` was already given it; everything else (PATH, HOME, …) is inherited as usual.
/// A test that wants one of them sets it on the command afterwards.
pub fn scrub_env(cmd: &mut Command) -> &mut Command {
    // Tests never touch the internet: a uv the pre-flight resolve finds stays offline (a test
    // of it against its own 127.0.0.1 index removes this).
    cmd.env("UV_OFFLINE", "1");
    let inherited = std::env::vars_os().map(|(name, _)| name);
    let given = cmd.get_envs().map(|(name, _)| name.to_owned());
    let names: Vec<OsString> = inherited
        .chain(given)
        .chain(SCRUBBED_ENV_VARS.map(OsString::from))
        .filter(|name| name.to_str().is_some_and(is_scrubbed))
        .collect();
    for name in names {
        cmd.env_remove(name);
    }
    cmd
}

/// The gpu-ci binary as a plain process, for tests that spawn it themselves; scrubbed.
pub fn gpu_ci_process() -> Command {
    let mut cmd = Command::new(gpu_ci_path());
    scrub_env(&mut cmd);
    cmd
}

/// The gpu-ci binary under assert_cmd, scrubbed, with stdin closed so it never prompts.
pub fn gpu_ci() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::from_std(gpu_ci_process());
    cmd.write_stdin("");
    cmd
}

/// Where the binary is, for a test that hands it to another program (`script`); that
/// program's own command must go through [`scrub_env`].
pub fn gpu_ci_path() -> &'static Path {
    assert_cmd::cargo::cargo_bin!("gpu-ci")
}

/// Output of a finished command, for assertion messages.
pub fn describe(output: &std::process::Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A JUnit XML that pytest never writes: the billion laughs in UTF-16 (with its byte-order
/// mark when `mark`), which a search for `<!DOCTYPE` in its bytes does not find. Its one
/// failing test's text is `lol` 10^`levels` times over, from a file of a few hundred bytes.
pub fn utf16_billion_laughs(levels: u32, mark: bool) -> Vec<u8> {
    let mut entities = String::from(r#"<!ENTITY l0 "lol">"#);
    for level in 1..=levels {
        let inner = format!("&l{};", level - 1).repeat(10);
        entities.push_str(&format!(r#"<!ENTITY l{level} "{inner}">"#));
    }
    let text = format!(
        r#"<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE testsuites [{entities}]><testsuites><testsuite name="pytest"><testcase classname="test.test_laughs" file="test/test_laughs.py" name="test_laughs" time="1.5"><failure message="m">&l{levels};</failure></testcase></testsuite></testsuites>"#
    );
    let mut bytes = if mark { vec![0xff, 0xfe] } else { Vec::new() };
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    bytes
}

/// Summary text as a reader sees it: character references resolved, the zero-width spaces
/// the runner puts after `@` and `#` taken out. For assertions on what a summary says.
pub fn shown(markdown: &str) -> String {
    let mut out = String::new();
    let mut rest = markdown;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest.find(';').filter(|&end| end <= 10);
        let decoded = end.and_then(|end| match &rest[1..end] {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            name => {
                let number = match name.strip_prefix("#x") {
                    Some(hex) => u32::from_str_radix(hex, 16).ok(),
                    None => name.strip_prefix('#')?.parse().ok(),
                };
                number.and_then(char::from_u32)
            }
        });
        match (decoded, end) {
            (Some(c), Some(end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out.replace('\u{200b}', "")
}

/// Every command a person can run, as its words after `gpu-ci` (`""` for gpu-ci itself): the
/// leaves of clap's tree, and gpu-ci; never clap's own `help`.
pub fn every_command() -> Vec<String> {
    fn walk(command: &clap::Command, prefix: &str, out: &mut Vec<String>) {
        for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
            let name = format!("{prefix}{}", sub.get_name());
            if sub.has_subcommands() {
                walk(sub, &format!("{name} "), out);
            } else {
                out.push(name);
            }
        }
    }
    let mut out = vec![String::new()];
    walk(
        &<gpu_ci::cli::Cli as clap::CommandFactory>::command(),
        "",
        &mut out,
    );
    out
}

/// The long options (`--force`) of a command (its words after `gpu-ci`), globals included, as
/// clap defines them: what a shell should complete after `gpu-ci COMMAND --`.
pub fn long_options(command: &str) -> Vec<String> {
    let mut cli = <gpu_ci::cli::Cli as clap::CommandFactory>::command();
    cli.build();
    let mut at = &cli;
    for word in command.split_whitespace() {
        at = at.find_subcommand(word).unwrap();
    }
    let mut options: Vec<String> = at
        .get_arguments()
        .filter(|a| !a.is_hide_set())
        .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
        .collect();
    options.sort();
    options
}
