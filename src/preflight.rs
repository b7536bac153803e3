//! The pre-flight resolve (issue 21): the image's dependency set, resolved by uv for the
//! image's Python on Linux x86_64 (manylinux), with the image's indexes, in resolve-only mode,
//! before any GPU second is billed. `doctor` reports it; `init` runs it when uv is at hand.
//!
//! uv runs isolated: in a temporary folder holding copies of what it reads (never the
//! project's folder; its `[tool.uv.sources]` keep only the entries that name an index, never
//! a path, which may lead out of the tree, a git repository or a URL), with `--no-config` and
//! `--no-build` (no code of the project or of its
//! dependencies is run), an environment holding only PATH, HOME and the uv variables that say
//! where PyPI is (`UV_DEFAULT_INDEX`, `UV_INDEX_URL`, for a mirror) or where the cache lives,
//! and never a uv from inside the project: uv is found, and runs with a PATH, without the
//! project's folders (`isolated::find`, `isolated::safe_path`; uv runs the interpreter it finds
//! on PATH).

use std::process::Command;

use crate::plan::TestPlan;
use crate::plan::install::{InstallPlan, ProjectInstall};
use crate::plan::pep508;
use crate::plan::recipe::Package;
use crate::project::pyproject::PyProject;
use crate::project::{Framework, Project, read_regular};

/// The platform the image's wheels must fit.
pub const PLATFORM: &str = "x86_64-manylinux_2_28";

/// What the pre-flight found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every input resolved; `packages` is the set, `(normalised name, version)`; `problems`
    /// what the set lacks or mismatches, each with the key that fixes it.
    Resolved {
        packages: Vec<(String, String)>,
        problems: Vec<Problem>,
        /// What the resolve left out (dependencies only a build knows), for the detail line.
        scope: String,
    },
    /// uv found no solution (or a package nowhere): its message and the key that fixes it.
    Conflict { message: String, fix: String },
    /// Not run, and why: never a silent pass.
    Skipped(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub what: String,
    pub fix: String,
}

/// The requirements the image adds to the project's own (framework builds, `packages`, what
/// the build needs, pytest), one per line.
fn added_requirements(plan: &TestPlan) -> Vec<String> {
    let mut lines: Vec<String> =
        crate::targets::modal::framework_packages(plan.framework.value, plan.framework_declared)
            .into_iter()
            .map(str::to_string)
            .collect();
    lines.extend(
        plan.recipe
            .packages
            .value
            .iter()
            .filter_map(Package::requirement)
            .map(ToString::to_string),
    );
    if plan.install_project.value != ProjectInstall::No {
        lines.extend(plan.build_requires.iter().cloned());
    }
    lines.push("pytest".into());
    lines
}

/// The dependencies of `packages`' subprojects of the tree (`./DIR[extras]`), read from their
/// pyproject.toml as data (never built: that would run their code), with the subprojects whose
/// pyproject.toml does not list them (`dynamic`, or only a setup.py), shown.
fn local_requirements(plan: &TestPlan, project: &Project) -> (Vec<String>, Vec<String>) {
    let (mut lines, mut unread) = (Vec::new(), Vec::new());
    for package in &plan.recipe.packages.value {
        let Package::Local { dir, extras } = package else {
            continue;
        };
        let parsed = read_regular(&project.root, &format!("{dir}/pyproject.toml"))
            .and_then(|text| PyProject::parse(&text).ok())
            .filter(|p| p.has_project_table && !p.dynamic.iter().any(|d| d == "dependencies"));
        let Some(pyproject) = parsed else {
            unread.push(format!("`{package}`"));
            continue;
        };
        let own = pyproject.name.as_deref().map(pep508::normalize);
        let tables: Vec<String> = std::iter::once("project".to_string())
            .chain(extras.iter().map(|extra| format!("extra:{extra}")))
            .collect();
        for (table, requirements) in &pyproject.requirements {
            if !tables.contains(table) {
                continue;
            }
            for text in requirements {
                // The subproject's own name (`pkg[cu13]` inside its extras) is not an index's.
                match pep508::parse(text) {
                    Ok(req) if Some(req.normalized_name()) != own => lines.push(req.to_string()),
                    _ => {}
                }
            }
        }
    }
    (lines, unread)
}

/// pyproject.toml with `[tool.uv.sources]` kept only where an entry names an index: a `path`
/// source may lead out of the tree (uv would read it), a `git` or `url` one fetches code.
fn index_sources_only(text: &str) -> String {
    let Ok(mut doc) = text.parse::<toml_edit::DocumentMut>() else {
        return text.to_string();
    };
    let Some(sources) = doc
        .get_mut("tool")
        .and_then(|t| t.get_mut("uv"))
        .and_then(|u| u.get_mut("sources"))
        .and_then(toml_edit::Item::as_table_like_mut)
    else {
        return text.to_string();
    };
    let names_an_index = |item: &toml_edit::Item| {
        let only_index = |entry: &dyn toml_edit::TableLike| {
            entry.get("index").is_some()
                && ["path", "git", "url", "workspace"]
                    .iter()
                    .all(|key| entry.get(key).is_none())
        };
        match item {
            toml_edit::Item::Value(toml_edit::Value::InlineTable(entry)) => only_index(entry),
            toml_edit::Item::Table(entry) => only_index(entry),
            toml_edit::Item::Value(toml_edit::Value::Array(entries)) => entries.iter().all(|e| {
                e.as_inline_table()
                    .is_some_and(|entry| only_index(entry as &dyn toml_edit::TableLike))
            }),
            toml_edit::Item::ArrayOfTables(entries) => entries.iter().all(|e| only_index(e)),
            _ => false,
        }
    };
    let dropped: Vec<String> = sources
        .iter()
        .filter(|(_, item)| !names_an_index(item))
        .map(|(name, _)| name.to_string())
        .collect();
    for name in dropped {
        sources.remove(&name);
    }
    doc.to_string()
}

/// `-e .` and `.` lines install the project itself; the image drops them, and so does this.
fn without_project_lines(text: &str) -> String {
    text.lines()
        .filter(|line| {
            let line = line.trim();
            let line = line.strip_prefix("-e").map_or(line, str::trim_start);
            !(line == "." || (line.starts_with(".[") && line.ends_with(']')))
        })
        .map(|line| format!("{line}\n"))
        .collect()
}

/// Resolves the image's dependency set; `uv` none: found on PATH.
pub fn resolve(plan: &TestPlan, project: &Project) -> Outcome {
    // Needs no uv and no network: the lock says which torch the image gets.
    if let Some(Problem { what, fix }) = locked_cuda_mismatch(plan, project) {
        return Outcome::Conflict { message: what, fix };
    }
    let Some(uv) = crate::isolated::find("uv", &project.root) else {
        return Outcome::Skipped(
            "uv is not installed here, so the image's dependencies were not resolved".into(),
        );
    };
    let dir = match tempfile::Builder::new()
        .prefix("gpu-ci-preflight-")
        .tempdir()
    {
        Ok(dir) => dir,
        Err(err) => return Outcome::Skipped(format!("no temporary folder: {err}")),
    };
    let mut sources: Vec<String> = Vec::new();
    let mut extra_args: Vec<String> = Vec::new();
    let mut scope = String::new();
    // Whether the set is everything the image installs: only then can a module the tests
    // import be missing from it (a project's own dependencies that setup.py, a lock or an
    // `-e .` line bring are not in it).
    let mut whole = true;
    match &plan.install {
        InstallPlan::Uv {
            groups,
            extras,
            locked: false,
        } => {
            let Some(text) = read_regular(&project.root, "pyproject.toml") else {
                return Outcome::Skipped("pyproject.toml is not a regular file here".into());
            };
            if std::fs::write(dir.path().join("pyproject.toml"), index_sources_only(&text)).is_err()
            {
                return Outcome::Skipped("cannot copy pyproject.toml".into());
            }
            sources.push("pyproject.toml".into());
            for extra in extras {
                extra_args.extend(["--extra".into(), extra.clone()]);
            }
            for group in groups {
                extra_args.extend(["--group".into(), format!("pyproject.toml:{group}")]);
            }
        }
        InstallPlan::Uv { locked: true, .. } => {
            scope = "; uv.lock pins the project's own dependencies (not resolved again)".into();
        }
        InstallPlan::Requirements { install, files } => {
            for file in files {
                let Some(text) = read_regular(&project.root, file) else {
                    return Outcome::Skipped(format!("{file} is not a regular file here"));
                };
                let copy = dir.path().join(file);
                let kept = without_project_lines(&text);
                whole &= kept.lines().count() == text.lines().count();
                let written = copy
                    .parent()
                    .is_some_and(|parent| std::fs::create_dir_all(parent).is_ok())
                    && std::fs::write(&copy, kept).is_ok();
                if !written {
                    return Outcome::Skipped(format!("cannot copy {file}"));
                }
            }
            // `uv pip compile` reads requirements files as its positional sources (it has no
            // `-r`); `./` keeps a name that starts with `-` a path.
            for file in install {
                sources.push(format!("./{file}"));
            }
        }
        InstallPlan::Poetry { .. } => {
            scope = "; Poetry resolves the project's own dependencies (not resolved here)".into();
        }
        InstallPlan::Source { .. } => {
            scope =
                "; only the project's build knows its own dependencies (setup.py), not resolved here"
                    .into();
        }
        InstallPlan::Nothing => {}
    }
    let (local, unread) = local_requirements(plan, project);
    if !unread.is_empty() {
        whole = false;
        scope.push_str(&format!(
            "; only the build of {} knows its dependencies (not resolved here)",
            unread.join(", ")
        ));
    }
    let added = added_requirements(plan)
        .into_iter()
        .chain(local)
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    if std::fs::write(dir.path().join("gpu-ci-image.in"), added).is_err() {
        return Outcome::Skipped("cannot write the image's requirements".into());
    }
    sources.push("gpu-ci-image.in".into());

    let toolkit = crate::targets::modal::toolkit(plan, image_builds_cuda(plan));
    let mut command = Command::new(&uv);
    command
        .current_dir(dir.path())
        .env_clear()
        .args(["pip", "compile", "--no-config", "--no-build", "--quiet"])
        .args(["--no-header", "--no-annotate", "--color", "never"])
        .args(["--python-version", &plan.python.value.to_string()])
        .args(["--python-platform", PLATFORM])
        .args(crate::targets::modal::index_args_of(plan))
        .args(&sources)
        .args(&extra_args)
        // uv looks for a Python interpreter on PATH and runs it: never one of the project's.
        .env(
            "PATH",
            crate::isolated::safe_path(&crate::isolated::project_tree(&project.root)),
        );
    for name in [
        "HOME",
        "UV_CACHE_DIR",
        "XDG_CACHE_HOME",
        "UV_DEFAULT_INDEX",
        "UV_INDEX_URL",
        "UV_OFFLINE",
        "SSL_CERT_FILE",
        "HTTPS_PROXY",
        "https_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    // A package that publishes only an sdist stops uv (`--no-build`): it is left out through an
    // override that never applies, and the rest resolved again. What still conflicts without
    // it conflicts with it too; a set that resolves says what it could not check.
    let mut source_only: Vec<String> = Vec::new();
    let output = loop {
        let mut attempt = Command::new(command.get_program());
        attempt
            .args(command.get_args())
            .current_dir(dir.path())
            .env_clear();
        for (name, value) in command.get_envs() {
            if let Some(value) = value {
                attempt.env(name, value);
            }
        }
        if !source_only.is_empty() {
            let overrides: String = source_only
                .iter()
                .map(|name| format!("{name} ; sys_platform == 'never'\n"))
                .collect();
            if std::fs::write(dir.path().join("gpu-ci-source-only.txt"), overrides).is_err() {
                return Outcome::Skipped("cannot write the pre-flight's overrides".into());
            }
            attempt.args(["--overrides", "gpu-ci-source-only.txt"]);
        }
        let output = match attempt.output() {
            Ok(output) => output,
            Err(err) => return Outcome::Skipped(format!("cannot run `{}`: {err}", uv.display())),
        };
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.success() || is_network_failure(&stderr) {
            break output;
        }
        match source_only_package(&stderr) {
            Some(name) if !source_only.contains(&name) && source_only.len() < MAX_SOURCE_ONLY => {
                source_only.push(name);
            }
            _ => break output,
        }
    };
    let without = (!source_only.is_empty()).then(|| {
        let names: Vec<String> = source_only.iter().map(|n| format!("`{n}`")).collect();
        format!(
            "without {} (only an sdist, which the pre-flight never builds: that would run its code), whose own dependencies are not checked",
            names.join(", ")
        )
    });
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        let message = shown(&stderr);
        if is_network_failure(&stderr) {
            return Outcome::Skipped(format!(
                "the package index could not be reached, so nothing was resolved: {message}"
            ));
        }
        if needs_a_build(&stderr) {
            return Outcome::Skipped(format!(
                "a dependency publishes no wheel for the image, and the pre-flight never builds one (that would run its code), so the set was not resolved: {message}"
            ));
        }
        return Outcome::Conflict {
            fix: fix_for(&message, plan, toolkit.map(|t| t.version)),
            message: match &without {
                Some(without) => format!("{message}\n(resolved {without})"),
                None => message,
            },
        };
    }
    if let Some(without) = &without {
        scope.push_str(&format!("; {without}"));
    }
    let packages = parse_compiled(&String::from_utf8_lossy(&output.stdout));
    let mut problems = Vec::new();
    problems.extend(missing_plugins(project, &packages));
    if whole && scope.is_empty() {
        problems.extend(missing_imports(plan, project, &packages));
    }
    if let Some(cuda) = toolkit
        && plan.framework.value == Framework::Torch
    {
        problems.extend(cuda_mismatch(cuda.version, &packages));
    }
    Outcome::Resolved {
        packages,
        problems,
        scope,
    }
}

/// A locked project whose uv.lock pins a torch wheel for another CUDA than the image's
/// toolkit: `uv sync --frozen` installs it as locked, and an extension built in the image
/// against the toolkit would not load with it.
fn locked_cuda_mismatch(plan: &TestPlan, project: &Project) -> Option<Problem> {
    if !matches!(plan.install, InstallPlan::Uv { locked: true, .. })
        || plan.framework.value != Framework::Torch
    {
        return None;
    }
    let toolkit = crate::targets::modal::toolkit(plan, image_builds_cuda(plan))?;
    let (version, cuda) =
        crate::plan::recipe::locked_torch(&read_regular(&project.root, "uv.lock")?)?;
    (cuda != toolkit).then(|| Problem {
        what: format!(
            "uv.lock pins torch {version}, built for CUDA {}, but the image's CUDA toolkit is {}: an extension built in the image would not load",
            cuda.version, toolkit.version
        ),
        fix: format!("set `cuda = \"{}\"` (--cuda {}), or lock a torch built for CUDA {}", cuda.version, cuda.version, toolkit.version),
    })
}

/// Whether the image compiles CUDA code (as the Modal target decides).
fn image_builds_cuda(plan: &TestPlan) -> bool {
    plan.builds_cuda && plan.install_project.value == ProjectInstall::InImage
}

/// uv's message, trimmed to what a screen holds, without control characters.
fn shown(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect();
    let lines: Vec<&str> = cleaned
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();
    let mut joined = lines
        .iter()
        .take(12)
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    if joined.len() > 2000 {
        let cut = (0..=2000)
            .rev()
            .find(|i| joined.is_char_boundary(*i))
            .unwrap_or(0);
        joined.truncate(cut);
        joined.push('…');
    }
    joined
}

/// uv stopped at a package it could only use by building it (`--no-build`): a source-only
/// dependency (`sqlitedict`), which the image would build. Not a conflict the pre-flight can
/// tell, so never reported as one.
fn needs_a_build(stderr: &str) -> bool {
    stderr.to_ascii_lowercase().contains("no usable wheels")
}

/// The most source-only packages the pre-flight leaves out before it gives up.
const MAX_SOURCE_ONLY: usize = 8;

/// The package uv's `--no-build` stop names (`all versions of sqlitedict have no usable
/// wheels`, `sqlitedict==2.1.0 has no usable wheels`), as a requirement name; `None` when the
/// message names none that can be read back whole.
fn source_only_package(stderr: &str) -> Option<String> {
    let at = stderr.find(" no usable wheels")?;
    let before = &stderr[..at];
    let before = before
        .strip_suffix(" have")
        .or_else(|| before.strip_suffix(" has"))?;
    let word = before
        .rsplit(|c: char| c.is_whitespace())
        .next()?
        .trim_matches(['`', '\'', '"']);
    // `pkg==1.0`, `pkg<=0.3.0`: the name is what comes before the first comparison.
    let name = word
        .split(['=', '<', '>', '!', '~'])
        .next()
        .unwrap_or_default()
        .to_string();
    let valid = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.is_empty()
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() <= 100;
    valid.then_some(name)
}

fn is_network_failure(stderr: &str) -> bool {
    let lower = stderr.to_ascii_lowercase();
    // Offline, uv reports "no solution" and says why in a hint.
    if lower.contains("because the network was disabled") {
        return true;
    }
    [
        "failed to fetch",
        "error sending request",
        "dns error",
        "connection refused",
        "network is unreachable",
        "could not connect",
        "timed out",
        "network connectivity is disabled",
        "offline",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
        && !lower.contains("no solution found")
}

/// The key that fixes what uv refused.
fn fix_for(message: &str, plan: &TestPlan, cuda: Option<&str>) -> String {
    let lower = message.to_ascii_lowercase();
    if lower.contains("torch") && cuda.is_some() {
        return format!(
            "the image's CUDA is {}: set `cuda` to one the project's torch constraint has wheels for (`--cuda`), or loosen the constraint",
            cuda.unwrap_or_default()
        );
    }
    if lower.contains("not found in the package registry") || lower.contains("was not found in") {
        return "a package no index has: add its index with `extra-index-urls` (or `index-url`), or correct its name in `packages`".into();
    }
    let source = match &plan.install {
        InstallPlan::Uv { .. } => "`extra` or `group`",
        InstallPlan::Requirements { .. } => "`requirements`",
        _ => "the install source",
    };
    format!(
        "the versions conflict: pin one that works in `packages`, or choose another {source}; `python` changes the Python they are resolved for"
    )
}

/// `name==version` lines of `uv pip compile`'s output.
fn parse_compiled(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter_map(|line| line.split_once("=="))
        .map(|(name, version)| {
            let name = name.split('[').next().unwrap_or(name).trim();
            let version = version.split([';', ' ']).next().unwrap_or(version).trim();
            (pep508::normalize(name), version.to_string())
        })
        .collect()
}

/// Plugins the project's pytest config loads (`-p NAME` in addopts, `required_plugins`) that no
/// package of the set provides.
fn missing_plugins(project: &Project, packages: &[(String, String)]) -> Vec<Problem> {
    let has = |name: &str| packages.iter().any(|(n, _)| n == name);
    let options = &project.pytest.options;
    let file = project.pytest.file.unwrap_or("the pytest config");
    let mut problems = Vec::new();
    for required in &options.required_plugins {
        let name = required
            .split(['<', '>', '=', '!', '~', '[', ';', ' '])
            .next()
            .unwrap_or(required);
        if !name.is_empty() && !has(&pep508::normalize(name)) {
            problems.push(Problem {
                what: format!("{file} requires the pytest plugin `{name}` (required_plugins), which the image does not install"),
                fix: format!("add it to `packages` (--package {name})"),
            });
        }
    }
    let words = crate::args::split(&options.addopts).unwrap_or_default();
    let mut iter = words.iter();
    while let Some(word) = iter.next() {
        let module = if word == "-p" {
            iter.next().cloned()
        } else {
            word.strip_prefix("-p")
                .filter(|m| !m.is_empty())
                .map(str::to_string)
        };
        let Some(module) = module else { continue };
        if module.starts_with("no:") {
            continue;
        }
        let top = module.split('.').next().unwrap_or(&module);
        // A plugin module of the tree itself (`-p tests.plugin`) needs no package.
        let local = project.root.join(top).is_dir()
            || project.root.join(format!("{top}.py")).is_file()
            || project.root.join("src").join(top).is_dir();
        let name = pep508::normalize(top);
        let dashed = name.strip_prefix("pytest-").unwrap_or(&name);
        if local || has(&name) || has(&format!("pytest-{dashed}")) {
            continue;
        }
        problems.push(Problem {
            what: format!("{file}'s addopts load the pytest plugin `-p {module}`, which no package of the image provides"),
            fix: format!("add its package to `packages` (as --package pytest-{dashed})"),
        });
    }
    problems
}

/// Modules the test files import at their top level that no package of the set provides:
/// collection would stop at the import. At most a few are named, each with its line.
fn missing_imports(
    plan: &TestPlan,
    project: &Project,
    packages: &[(String, String)],
) -> Vec<Problem> {
    const SHOWN: usize = 5;
    let names: Vec<String> = packages.iter().map(|(n, _)| n.clone()).collect();
    let paths = crate::args::split(&plan.test_path.value).unwrap_or_default();
    let missing: Vec<(String, String)> =
        crate::project::imports::third_party_imports(&project.root, &paths)
            .into_iter()
            .filter(|(module, _)| !crate::project::imports::provided(module, &names))
            .collect();
    let package = |module: &str| module.replace('_', "-").to_ascii_lowercase();
    let mut problems: Vec<Problem> = missing
        .iter()
        .take(SHOWN)
        .map(|(module, at)| {
            let package = package(module);
            Problem {
                what: format!(
                    "the tests import `{module}` ({at}), which no package of the image provides"
                ),
                fix: format!(
                    "add its distribution to `packages` (packages = [\"{package}\"], --package {package}) if that is its name"
                ),
            }
        })
        .collect();
    // The rest in one problem, and every name in one line: the next try is one config line,
    // not one per run.
    if missing.len() > SHOWN {
        let more: Vec<String> = missing[SHOWN..]
            .iter()
            .map(|(module, _)| format!("`{module}`"))
            .collect();
        let all: Vec<String> = missing
            .iter()
            .map(|(module, _)| format!("\"{}\"", package(module)))
            .collect();
        problems.push(Problem {
            what: format!(
                "the tests import {} more module{} no package of the image provides: {}",
                more.len(),
                if more.len() == 1 { "" } else { "s" },
                more.join(", ")
            ),
            fix: format!(
                "add them all to `packages` at once, where these are their distributions' names: {}",
                all.join(", ")
            ),
        });
    }
    problems
}

/// torch in the set must be a build for the image's CUDA (`+cu128` for 12.8).
fn cuda_mismatch(cuda: &str, packages: &[(String, String)]) -> Option<Problem> {
    let (_, version) = packages.iter().find(|(name, _)| name == "torch")?;
    let wanted = format!("cu{}", cuda.replace('.', ""));
    let local = version.split_once('+').map(|(_, tag)| tag);
    if local == Some(wanted.as_str()) {
        return None;
    }
    Some(Problem {
        what: format!(
            "torch {version} is {}, but the image's CUDA toolkit is {cuda}: an extension built in the image would not load",
            match local {
                Some(tag) => format!("built for {tag}"),
                None => "not a build tagged for a CUDA version".into(),
            }
        ),
        fix: format!(
            "set `cuda` to the CUDA of the torch the constraints allow, or relax the torch constraint so that PyTorch's {wanted} index serves it"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_output_is_read() {
        let text = "numpy==2.1.0\n    # via torch\ntorch==2.7.0+cu128 ; sys_platform == 'linux'\nPyTest_XDist==3.6\n";
        assert_eq!(
            parse_compiled(text),
            vec![
                ("numpy".to_string(), "2.1.0".to_string()),
                ("torch".into(), "2.7.0+cu128".into()),
                ("pytest-xdist".into(), "3.6".into()),
            ]
        );
    }

    #[test]
    fn a_source_only_dependency_is_not_a_conflict() {
        // uv 0.13's words for lm-eval's sdist-only dependency under --no-build.
        let stderr = "error: No solution found when resolving dependencies:\n  Because all versions of sqlitedict have no usable wheels and lm-eval==0.4.8 depends on sqlitedict, we can conclude that lm-eval==0.4.8 cannot be used.\n";
        assert!(needs_a_build(stderr));
        assert!(!needs_a_build(
            "error: No solution found when resolving dependencies:\n  Because a==1 depends on b<2 and c==1 depends on b>=2, we can conclude that a==1 and c==1 are incompatible.\n"
        ));
    }

    #[test]
    fn the_source_only_package_is_read_from_uvs_message() {
        for (stderr, name) in [
            (
                "  Because all versions of sqlitedict have no usable wheels and lm-eval==0.4.8 depends on sqlitedict, we can conclude",
                Some("sqlitedict"),
            ),
            (
                "  Because deepspeed==0.16.0 has no usable wheels and xcodec2 depends on it",
                Some("deepspeed"),
            ),
            (
                "  Because pytorch-memlab<=0.3.0 has no usable wheels and only the following versions",
                Some("pytorch-memlab"),
            ),
            (
                "  Because all versions of `odd;name` have no usable wheels",
                None,
            ),
            ("no solution", None),
        ] {
            assert_eq!(source_only_package(stderr).as_deref(), name, "{stderr}");
        }
    }

    #[test]
    fn torch_must_match_the_toolkit() {
        let set = |v: &str| vec![("torch".to_string(), v.to_string())];
        assert!(cuda_mismatch("12.8", &set("2.7.0+cu128")).is_none());
        let problem = cuda_mismatch("12.8", &set("2.4.0+cu121")).unwrap();
        assert!(problem.what.contains("built for cu121"), "{problem:?}");
        assert!(cuda_mismatch("12.8", &set("2.15.0")).is_some());
        assert!(cuda_mismatch("12.8", &[]).is_none());
    }

    #[test]
    fn only_index_sources_are_kept() {
        let text = "[project]\nname = \"p\"\n\n[tool.uv.sources]\ntorch = { index = \"cu128\" }\nout = { path = \"/elsewhere\" }\nsub = { path = \"sub\", editable = true }\ngitdep = { git = \"https://example.org/x\" }\nboth = [{ index = \"a\", marker = \"sys_platform == 'linux'\" }, { path = \"/x\" }]\nmany = [{ index = \"a\" }, { index = \"b\" }]\n";
        let kept = index_sources_only(text);
        assert!(kept.contains("torch = { index = \"cu128\" }"), "{kept}");
        assert!(kept.contains("many = "), "{kept}");
        for gone in ["elsewhere", "sub =", "gitdep", "both ="] {
            assert!(!kept.contains(gone), "{gone}: {kept}");
        }
        assert_eq!(index_sources_only("no toml ["), "no toml [");
    }

    #[test]
    fn project_lines_are_dropped() {
        assert_eq!(
            without_project_lines("-e .\n.[test]\nnumpy\n-e  .\n"),
            "numpy\n"
        );
    }
}
