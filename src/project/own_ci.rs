//! The project's own GPU CI as a source: its GitHub workflows (and a plain `.gitlab-ci.yml`)
//! parsed as data, the jobs that run on a GPU found, and what their steps install, set and run
//! read from their text, following `make`, `nox` and `tox` into the files they name. Nothing is
//! run; every file is read through `read_regular`; every value keeps the line it came from.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::requirements::normalise;
use super::{ini, is_plain_path, is_subproject, read_regular, regular_file, regular_folder};

/// Files larger than this are not read as CI configuration.
const MAX_CI_FILE: usize = 1 << 20;
/// How deep `make`, `nox`, `tox`, scripts and reusable workflows are followed.
const MAX_DEPTH: u32 = 3;
/// The shell variable a script line's unresolved `${{ … }}` becomes (see `expand_line`).
const UNRESOLVED: &str = "__GPUCI_UNRESOLVED_";

/// One value the project's CI gives, and where: `.github/workflows/gpu.yml:42`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub value: String,
    pub at: String,
}

/// What a GPU job sets up that gpu-ci's recipe keys (`packages`, `index-url`, `env`, ...) would
/// carry: kept typed here, reported as notes until those keys exist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CiRecipe {
    /// Requirements the install steps add, as written (`torchao`, `lm-eval==0.4.5`).
    pub packages: Vec<Found>,
    pub index_url: Option<Found>,
    pub extra_index_urls: Vec<Found>,
    /// Environment the job sets, by name.
    pub env: Vec<(String, Found)>,
    /// `submodules:` of the checkout, or a `git submodule update`: `true` or `recursive`.
    pub submodules: Option<Found>,
    /// Native build commands the job runs (`python build_lib.py`).
    pub setup: Vec<Found>,
    /// What of its native build could not be taken, for notes (a build in a container of its
    /// own): they go with `setup` to a job that needs this one.
    pub setup_notes: Vec<String>,
    /// Debian packages its `apt-get install` / `apt install` lines add, as written.
    pub apt: Vec<Found>,
}

/// The pytest command a job runs, split: paths, and the options worth keeping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PytestRun {
    pub paths: Vec<String>,
    /// Options with their values, one group per option (`["-m", "gpu"]`).
    pub options: Vec<Vec<String>>,
    pub at: String,
}

/// One job of the project's CI and what it says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CiJob {
    pub file: String,
    /// The line the job starts on in `file`.
    pub line: usize,
    pub name: String,
    /// Why it runs on a GPU (`runner label `…``); `None`: a CPU job.
    pub gpu: Option<String>,
    /// The Modal GPU its runner label (or GPU input) names: `b200`, `linux.aws.h100`, AWS's
    /// `g6` family (an L4).
    pub gpu_model: Option<Found>,
    /// Its runner says Arm (`linux-arm64-…`, `aarch64`): the GPU image is x86_64, so an
    /// x86_64 job as sure is followed first.
    pub arm: bool,
    /// Project extras it installs (`.[dev,test]`, `uv sync --extra`).
    pub extras: Vec<Found>,
    /// Dependency groups it installs (`uv sync --group`).
    pub groups: Vec<Found>,
    /// Requirements files it installs (`-r requirements/test.txt`), inside the project.
    pub requirements: Vec<Found>,
    pub recipe: CiRecipe,
    /// The Pythons the job sets up, as written (`3.11`): setup-python's or setup-miniconda's
    /// `python-version` (every value of the matrix name it reads), or a `python:3.11` container.
    pub python: Vec<Found>,
    pub pytest: Option<PytestRun>,
    /// The file a `modal run` of the job names: its tests run on Modal, read from that file
    /// as text (never imported).
    pub modal: Option<Found>,
    /// Python scripts of the project's own the job runs that gpu-ci does not read (a CI
    /// driver such as `tools/ci/run_tests.py`): they may run its tests.
    pub drivers: Vec<Found>,
    /// The arguments the job passes each of `drivers`, shell-quoted, as far as they resolve
    /// (a `--test-filter` the note shows, for `pytest-args`).
    pub driver_args: Vec<String>,
    /// What those scripts name, read as text (never run): test files and folders of the tree
    /// (`tests/cute/test_attn.py`), and its subprojects (a folder with its own pyproject.toml
    /// or setup.py), for the note that says how to test as the job does.
    pub driver_tests: Vec<Found>,
    pub driver_subprojects: Vec<Found>,
    /// The job passes a driver a filter option (`--test-filter X`, `--keyword X`, `-k X`)
    /// and the script passes pytest a `-k`: the option's name and value.
    pub driver_keyword: Option<(String, String)>,
    /// What could not be read or resolved, for notes.
    pub notes: Vec<String>,
}

impl CiJob {
    /// `file` and the job's name, for notes.
    pub fn describe(&self) -> String {
        format!("`{}` in {}", self.name, self.file)
    }

    /// The job's name and its line (`gpu` (.github/workflows/gpu.yml:12)), for notes.
    pub fn describe_at(&self) -> String {
        format!("`{}` ({}:{})", self.name, self.file, self.line)
    }

    /// How many of its values could not be read: what gpu-ci could not reproduce of it. A
    /// value that only names this CI run (`github.run_id`, `runner.temp`) would mean nothing on
    /// Modal anyway, and notes that only inform (a matrix leg taken) lose nothing.
    pub fn values_left_out(&self) -> usize {
        self.notes
            .iter()
            .filter(|n| {
                n.ends_with("; left out")
                    && !["github.run_", "runner.", "github.sha", "github.workspace"]
                        .iter()
                        .any(|own| n.contains(own))
            })
            .count()
    }

    /// The pytest options to keep: a CPU job's selections that leave GPU tests out never are.
    pub fn pytest_options(&self) -> Vec<Vec<String>> {
        let Some(run) = &self.pytest else {
            return Vec::new();
        };
        run.options
            .iter()
            .filter(|group| self.gpu.is_some() || !deselects_gpu(group))
            .cloned()
            .collect()
    }
}

/// Whether an option group is a selection that leaves GPU tests out (`-m "not gpu"`).
fn deselects_gpu(group: &[String]) -> bool {
    let [option, value] = group else {
        return false;
    };
    if option != "-m" && option != "-k" {
        return false;
    }
    let words: Vec<String> = value
        .to_ascii_lowercase()
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    words
        .windows(2)
        .any(|pair| pair[0] == "not" && is_gpu_word(&pair[1]))
}

fn is_gpu_word(word: &str) -> bool {
    word.contains("gpu") || word.contains("cuda")
}

/// The job whose settings the GPU run should follow: the best GPU job (one that runs pytest
/// first), else a CPU job that runs pytest; `None` when the project's CI says nothing.
#[cfg(test)]
pub fn detect(root: &Path) -> Option<CiJob> {
    detect_with_notes(root).0
}

/// `detect`'s job, and what init should say of the project's CI besides it: GPU jobs whose
/// tests gpu-ci cannot read (a Python driver, no pytest), when no GPU job's can be.
/// Also the GPU the project's GPU tests run on, where a runner label names one: the followed
/// GPU job's, else (no GPU job's tests can be read) the first GPU job's that tests.
pub fn detect_with_notes(root: &Path) -> (Option<CiJob>, Vec<String>, Option<Found>) {
    DRIVER_SCANS.with(|scans| scans.borrow_mut().clear());
    let mut jobs = Vec::new();
    let workflows = workflow_files(root);
    for (file, text) in &workflows {
        // A reusable workflow the project's own jobs call is read through them, with the
        // inputs they give.
        let called = format!("./{file}");
        if workflows.iter().any(|(_, t)| t.contains(&called)) {
            continue;
        }
        jobs.extend(github_jobs(root, file, text, None));
    }
    if let Some(text) = read_ci_file(root, ".gitlab-ci.yml") {
        jobs.extend(gitlab_jobs(root, &text));
    }
    // A GPU job that runs no tests (a wheel build, a benchmark) says nothing about them; of
    // two as sure, the one with fewer values left out is the one gpu-ci can reproduce.
    let best = jobs
        .iter()
        .enumerate()
        .filter(|(_, j)| j.0.gpu.is_some() && j.0.pytest.is_some())
        .max_by_key(|(index, j)| {
            (
                j.1,
                !j.0.arm,
                std::cmp::Reverse(j.0.values_left_out()),
                std::cmp::Reverse(*index),
            )
        })
        .map(|(index, _)| index);
    let best_gpu = best
        .map(|chosen| {
            let mut job = jobs[chosen].0.clone();
            if let Some(note) = passed_over_note(&jobs, chosen) {
                job.notes.push(note);
            }
            job
        })
        .or_else(|| through_its_driver(&jobs));
    let notes = if best_gpu.is_none() {
        unread_gpu_jobs_note(&jobs).into_iter().collect()
    } else {
        Vec::new()
    };
    let gpu = match &best_gpu {
        Some(job) => job.gpu_model.clone(),
        None => jobs
            .iter()
            .map(|(job, _)| job)
            .filter(|job| tests_unread(job))
            .find_map(|job| job.gpu_model.clone()),
    };
    let job = best_gpu.or_else(|| local_gpu_target(root)).or_else(|| {
        jobs.into_iter()
            .map(|j| j.0)
            .find(|j| j.gpu.is_none() && j.pytest.is_some())
    });
    (job, notes, gpu)
}

/// The most test paths and subprojects a driver's note names.
const MAX_DRIVER_PATHS: usize = 3;
/// The most distinct words of a driver's literals looked up as paths, and the most folders
/// deep one may be: a hostile script cannot make detection slow.
const MAX_DRIVER_WORDS: usize = 512;
const MAX_DRIVER_DEPTH: usize = 12;

/// What a driver script's text says: the paths it names ([`paths_a_driver_names`]), and
/// whether it passes pytest a `-k`.
#[derive(Clone)]
struct DriverScan {
    tests: Vec<Found>,
    subprojects: Vec<Found>,
    passes_k: bool,
}

thread_local! {
    /// Each driver scanned once per detection, however many steps and jobs run it
    /// (`detect_with_notes` empties it).
    static DRIVER_SCANS: std::cell::RefCell<BTreeMap<String, Option<DriverScan>>> =
        const { std::cell::RefCell::new(BTreeMap::new()) };
}

/// [`DriverScan`] of `rel`, from the detection's cache after the first time.
fn scan_driver(root: &Path, rel: &str) -> Option<DriverScan> {
    if let Some(known) = DRIVER_SCANS.with(|scans| scans.borrow().get(rel).cloned()) {
        return known;
    }
    let scan = read_ci_file(root, rel).map(|text| {
        let (tests, subprojects) = paths_a_driver_names(root, rel, &text);
        DriverScan {
            tests,
            subprojects,
            passes_k: text
                .lines()
                .any(|line| string_literals(line).contains(&"-k")),
        }
    });
    DRIVER_SCANS.with(|scans| scans.borrow_mut().insert(rel.to_string(), scan.clone()));
    scan
}

/// The paths of the tree a driver script names in its string literals (read as text, never
/// run): test files (`test_*.py`, `*_test.py`) and folders below the top whose name starts
/// with `test`, and, on a line that says `install`,
/// subprojects (a folder other than the root holding a pyproject.toml or setup.py); each a
/// plain relative path reached without a symlink, at most [`MAX_DRIVER_PATHS`] of each.
fn paths_a_driver_names(root: &Path, file: &str, text: &str) -> (Vec<Found>, Vec<Found>) {
    let (mut tests, mut subprojects): (Vec<Found>, Vec<Found>) = (Vec::new(), Vec::new());
    // Each distinct word is looked at once, and only so many: the file system is asked about
    // at most MAX_DRIVER_WORDS paths of at most MAX_DRIVER_DEPTH folders, whatever the script.
    let mut seen: std::collections::BTreeSet<(&str, bool)> = std::collections::BTreeSet::new();
    for (number, line) in text.lines().enumerate() {
        let at = format!("{file}:{}", number + 1);
        let installs = line.contains("install");
        // A literal may hold a whole command (`'pip install ./sub'`): each word is a candidate.
        for literal in string_literals(line)
            .into_iter()
            .flat_map(str::split_whitespace)
        {
            let path = literal.trim_start_matches("./").trim_end_matches('/');
            if path.len() > 255
                || path.split('/').count() > MAX_DRIVER_DEPTH
                || seen.contains(&(path, installs))
            {
                continue;
            }
            if seen.len() >= MAX_DRIVER_WORDS {
                break;
            }
            seen.insert((path, installs));
            // A part that starts with `-` would reach pytest as an option.
            if !is_plain_path(path) {
                continue;
            }
            let name = path.rsplit('/').next().unwrap_or(path);
            let test_file = regular_file(root, path).is_some()
                && name.ends_with(".py")
                && (name.starts_with("test_") || name.ends_with("_test.py"));
            let folder = regular_folder(root, path).is_some();
            // A top-level tests folder is what detection finds by its name anyway.
            let test_folder = folder && name.starts_with("test") && path.contains('/');
            let (list, found) = if test_file || test_folder {
                (&mut tests, true)
            } else if folder && !name.starts_with("test") && installs && is_subproject(root, path) {
                (&mut subprojects, true)
            } else {
                (&mut tests, false)
            };
            if found && list.len() < MAX_DRIVER_PATHS && !list.iter().any(|f| f.value == path) {
                list.push(Found {
                    value: path.to_string(),
                    at: at.clone(),
                });
            }
        }
    }
    // A folder that holds another named path is the general case of it (a driver's
    // `startswith("tests/")`): the narrower one says what runs.
    let named: Vec<String> = tests.iter().map(|f| f.value.clone()).collect();
    tests.retain(|f| {
        !named
            .iter()
            .any(|other| other.starts_with(&format!("{}/", f.value)))
    });
    (tests, subprojects)
}

/// The filter option among a driver's arguments: `-k X`, `--keyword X`, or one whose name
/// says filter (`--test-filter X`, `--filter=X`), with a value that is not empty.
fn keyword_option(args: &[String]) -> Option<(String, String)> {
    // Only names that say "select by": `--exclude-filter` selects the opposite.
    let is_filter = |name: &str| {
        matches!(
            name,
            "-k" | "--keyword"
                | "--filter"
                | "--test-filter"
                | "--tests-filter"
                | "--test_filter"
                | "--pytest-filter"
                | "--test-keyword"
        )
    };
    args.iter().enumerate().find_map(|(at, word)| {
        let (name, value) = match word.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, value.to_string()),
            _ => (word.as_str(), args.get(at + 1)?.clone()),
        };
        // A control character would fail `pytest-args`' own check, leaving the note untrue.
        (is_filter(name)
            && !value.trim().is_empty()
            && !value.starts_with('-')
            && !value.chars().any(char::is_control))
        .then(|| (name.to_string(), value))
    })
}

/// What a line's quotes enclose, `"…"` and `'…'` each read on their own, so that a literal
/// inside an f-string's braces (`f"-e {root / 'sub/dir'}"`) is found too; what is not a path
/// of the tree is dropped by the caller.
fn string_literals(line: &str) -> Vec<&str> {
    ['"', '\'']
        .iter()
        .flat_map(|quote| {
            let parts: Vec<&str> = line.split(*quote).collect();
            let closed = parts.len() - 1 - (parts.len() - 1) % 2;
            parts
                .into_iter()
                .take(closed + 1)
                .skip(1)
                .step_by(2)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// When no GPU job runs a pytest gpu-ci reads: the first GPU job whose driver script names its
/// test files or folders (as text, [`paths_a_driver_names`]), followed through them: pytest on
/// those paths, the subprojects the script installs as `packages` (`./DIR`), and a note with
/// the arguments the job passes the script, for the options gpu-ci cannot read from it.
fn through_its_driver(jobs: &[(CiJob, u8)]) -> Option<CiJob> {
    let (job, _) = jobs
        .iter()
        .find(|(job, _)| tests_unread(job) && !job.driver_tests.is_empty())?;
    let mut job = job.clone();
    // The driver whose text named the tests, of those the job runs.
    let named_by = job.driver_tests[0]
        .at
        .rsplit_once(':')
        .map(|(file, _)| file);
    let index = job
        .drivers
        .iter()
        .position(|d| Some(d.value.as_str()) == named_by)
        .unwrap_or(0);
    let driver = job.drivers.get(index)?.clone();
    let args = job.driver_args.get(index).cloned().unwrap_or_default();
    let keyword = job.driver_keyword.clone();
    job.pytest = Some(PytestRun {
        paths: job.driver_tests.iter().map(|f| f.value.clone()).collect(),
        options: keyword
            .iter()
            .map(|(_, value)| vec!["-k".to_string(), value.clone()])
            .collect(),
        at: job.driver_tests[0].at.clone(),
    });
    for sub in &job.driver_subprojects {
        job.recipe.packages.push(Found {
            value: format!("./{}", sub.value),
            at: sub.at.clone(),
        });
    }
    let installs = if job.driver_subprojects.is_empty() {
        String::new()
    } else {
        format!(
            " and installs the subprojects it installs ({})",
            job.driver_subprojects
                .iter()
                .map(|f| format!("`./{}`", f.value))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let options = match &keyword {
        Some((name, _)) => format!(
            ", with the job's `{name}` as pytest's `-k` (the script passes pytest a `-k`); its other options are not read: `pytest-args` (--pytest-args) passes them"
        ),
        None => "; which of the script's options select tests is not read: set `pytest-args` (--pytest-args) to pass the same (a `-k` expression for a filter)".into(),
    };
    job.notes.push(format!(
        "{} tests through `{}` ({}), a script gpu-ci reads only as text: the GPU run tests the paths it names{installs}{options}",
        job.describe_at(),
        shown_call(&driver.value, &args),
        driver.at,
    ));
    Some(job)
}

/// The most characters of a driver's arguments a note shows.
const MAX_SHOWN_ARGS: usize = 800;

/// `script ARGS` for a note: the arguments as far as they fit, cut at a character.
fn shown_call(script: &str, args: &str) -> String {
    if args.is_empty() {
        return script.to_string();
    }
    let mut shown: String = args.chars().take(MAX_SHOWN_ARGS).collect();
    if shown.len() < args.len() {
        shown.push('…');
    }
    format!("{script} {shown}")
}

/// A GPU job that tests through something gpu-ci does not read: a driver script, or no pytest.
fn tests_unread(job: &CiJob) -> bool {
    job.gpu.is_some()
        && job.pytest.is_none()
        && (!job.drivers.is_empty() || job.name.to_ascii_lowercase().contains("test"))
}

/// The note for GPU jobs that test through something gpu-ci does not read (a Python driver
/// script, or no pytest at all), when no GPU job runs a pytest it can: what the GPU run
/// follows instead is the detected setup, and the keys that would make it test the same.
fn unread_gpu_jobs_note(jobs: &[(CiJob, u8)]) -> Option<String> {
    let testing: Vec<&CiJob> = jobs
        .iter()
        .map(|(job, _)| job)
        .filter(|job| tests_unread(job))
        .collect();
    let shown: Vec<String> = testing
        .iter()
        .take(3)
        .map(|job| match job.drivers.first() {
            Some(driver) => format!(
                "{} runs `{}` ({}), a script gpu-ci does not read",
                job.describe_at(),
                shown_call(
                    &driver.value,
                    job.driver_args.first().map_or("", String::as_str)
                ),
                driver.at
            ),
            None => format!("{} runs no pytest gpu-ci can read", job.describe_at()),
        })
        .collect();
    if shown.is_empty() {
        return None;
    }
    let more = if testing.len() > shown.len() {
        format!("; and {} more", testing.len() - shown.len())
    } else {
        String::new()
    };
    // A job whose scripts named test paths is followed through them; one whose scripts only
    // install subprojects gets the line for those.
    let installs = testing
        .iter()
        .find(|job| !job.driver_subprojects.is_empty());
    let how = match installs {
        Some(job) => format!(
            ": set `test-path` and `pytest-args` (--test-path, --pytest-args) as that job runs its tests, and `packages = [{}]` ({}) for the subprojects its scripts install",
            job.driver_subprojects
                .iter()
                .map(|f| format!("\"./{}\"", f.value))
                .collect::<Vec<_>>()
                .join(", "),
            job.driver_subprojects[0].at
        ),
        None => ": set `test-path` and `pytest-args` (--test-path, --pytest-args) as that job runs its tests".into(),
    };
    Some(format!(
        "the project's GPU tests run where gpu-ci cannot follow them: {}{more}; the GPU run uses what gpu-ci detects instead{how}",
        shown.join("; ")
    ))
}

/// The note that names the other GPU jobs (`jobs[chosen]` is the one followed), each with its
/// line and why the chosen one won over it; `None` when there are none.
fn passed_over_note(jobs: &[(CiJob, u8)], chosen: usize) -> Option<String> {
    const SHOWN: usize = 5;
    let (best, best_rank) = &jobs[chosen];
    let evidence = |rank: u8| rank / 2;
    // The jobs that test, surest first, before those that run no pytest; a reusable workflow
    // two callers share is one job.
    let mut others: Vec<(usize, &(CiJob, u8))> = jobs
        .iter()
        .enumerate()
        .filter(|(index, (job, _))| *index != chosen && job.gpu.is_some())
        .collect();
    others.sort_by_key(|(index, (job, rank))| {
        (job.pytest.is_none(), std::cmp::Reverse(*rank), *index)
    });
    let mut seen = vec![best.describe_at()];
    others.retain(|(_, (job, _))| {
        let at = job.describe_at();
        let new = !seen.contains(&at);
        seen.push(at);
        new
    });
    let reasons: Vec<String> = others
        .into_iter()
        .map(|(index, (job, rank))| {
            let why = if job.pytest.is_none() {
                "runs no pytest".to_string()
            } else if evidence(*rank) < evidence(*best_rank) {
                format!(
                    "is a GPU job only by {}, the chosen one by {}",
                    job.gpu.as_deref().unwrap_or_default(),
                    best.gpu.as_deref().unwrap_or_default()
                )
            } else if rank < best_rank {
                "does not run on pushes or pull requests (the chosen one does)".to_string()
            } else if job.arm && !best.arm {
                "runs on Arm (the image is x86_64, as the chosen one)".to_string()
            } else if job.values_left_out() > best.values_left_out() {
                format!(
                    "leaves out {} value{} it could not read (the chosen one {})",
                    job.values_left_out(),
                    if job.values_left_out() == 1 { "" } else { "s" },
                    best.values_left_out()
                )
            } else if index > chosen {
                "comes after the chosen one, which is as sure a GPU job".to_string()
            } else {
                "is as sure a GPU job".to_string()
            };
            format!("{} {why}", job.describe_at())
        })
        .collect();
    if reasons.is_empty() {
        return None;
    }
    let more = if reasons.len() > SHOWN {
        format!("; and {} more", reasons.len() - SHOWN)
    } else {
        String::new()
    };
    let shown: Vec<&str> = reasons.iter().take(SHOWN).map(String::as_str).collect();
    Some(format!(
        "the project has {} other GPU job{}, passed over for {}: {}{more}; if the GPU run should follow one of them, set `test-path` and `pytest-args` (--test-path, --pytest-args) as it runs them",
        reasons.len(),
        if reasons.len() == 1 { "" } else { "s" },
        best.describe_at(),
        shown.join("; ")
    ))
}

/// A GPU target of the project's Makefile, noxfile or tox.ini (`make test-gpu`, a `tests_gpu`
/// session, `[testenv:gpu]`) that runs pytest: the GPU job when the CI has none of its own.
fn local_gpu_target(root: &Path) -> Option<CiJob> {
    let mut candidates: Vec<(&str, Vec<String>, String)> = Vec::new();
    let name_ok = |name: &str| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && is_gpu_word(&name.to_ascii_lowercase())
    };
    if let Some(text) = read_ci_file(root, "Makefile") {
        for line in text.lines() {
            if let Some((name, rest)) = line.split_once(':')
                && !rest.starts_with('=')
                && name_ok(name)
            {
                candidates.push(("Makefile", vec!["make".into(), name.into()], name.into()));
            }
        }
    }
    if let Some(text) = read_ci_file(root, "noxfile.py") {
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("def ")
                && let Some((name, _)) = rest.split_once('(')
                && name_ok(name)
            {
                candidates.push((
                    "noxfile.py",
                    vec!["nox".into(), "-s".into(), name.into()],
                    name.into(),
                ));
            }
        }
    }
    if let Some(text) = read_ci_file(root, "tox.ini") {
        for line in text.lines() {
            if let Some(name) = line
                .trim()
                .strip_prefix("[testenv:")
                .and_then(|r| r.strip_suffix(']'))
                && name_ok(name)
            {
                candidates.push((
                    "tox.ini",
                    vec!["tox".into(), "-e".into(), name.into()],
                    name.into(),
                ));
            }
        }
    }
    for (file, words, name) in candidates {
        let text = read_ci_file(root, file).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let mut reader = Reader {
            root,
            job: CiJob {
                file: file.to_string(),
                line: locate(&lines, &name, 1),
                name: name.clone(),
                gpu: Some(format!("its name `{name}`, no CI job runs it")),
                ..CiJob::default()
            },
            vars: BTreeMap::new(),
            expressions: BTreeMap::new(),
            pending: Vec::new(),
            unresolved: Vec::new(),
            more_runs: Vec::new(),
            assigned: BTreeMap::new(),
            reading: None,
        };
        let origin = Origin {
            file,
            text: &lines,
            line: locate(&lines, &name, 1),
        };
        reader.command(words, origin, 0);
        if reader.job.pytest.is_some() {
            return Some(reader.job);
        }
    }
    None
}

fn read_ci_file(root: &Path, rel: &str) -> Option<String> {
    let path = regular_file(root, rel)?;
    if std::fs::metadata(&path).ok()?.len() > MAX_CI_FILE as u64 {
        return None;
    }
    read_regular(root, rel)
}

/// `.github/workflows/*.yml|yaml`, sorted by name, as text.
pub fn workflow_files(root: &Path) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(root.join(".github/workflows")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yml") || n.ends_with(".yaml"))
        .collect();
    names.sort();
    names
        .into_iter()
        .filter_map(|name| {
            let file = format!(".github/workflows/{name}");
            read_ci_file(root, &file).map(|text| (file, text))
        })
        .collect()
}

/// A CI file parsed as YAML 1.2 core, as GitHub and GitLab read it: `yes`, `on` and `no` are
/// strings there, never the booleans YAML 1.1 made of them.
fn parse_yaml(text: &str) -> Option<Value> {
    let options = serde_saphyr::options! { strict_booleans: true };
    serde_saphyr::from_str_with_options::<Value>(text, options).ok()
}

/// The strings of a scalar, a list of scalars, or a mapping's values (one level).
fn strings_of(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Number(n) => vec![n.to_string()],
        Value::Bool(b) => vec![b.to_string()],
        Value::Array(items) => items.iter().flat_map(strings_of).collect(),
        Value::Object(map) => map.values().flat_map(strings_of).collect(),
        Value::Null => Vec::new(),
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Words of a runner label, image or name that say GPU.
fn gpu_label(text: &str) -> bool {
    const MODELS: [&str; 16] = [
        "a100", "h100", "h200", "b200", "a10g", "a10", "l4", "l40", "l40s", "t4", "v100", "a6000",
        "g4dn", "g5", "g6", "p4d",
    ];
    text.to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| is_gpu_word(w) || w.contains("nvidia") || MODELS.contains(&w))
}

/// The Modal GPU type a runner label, tag or GPU input names: a model word (`b200`,
/// `h100-runner`, `a100` with `80gb`) or an AWS instance family whose GPU is fixed (`g4dn`:
/// T4, `g5`: A10G, `g6`: L4, `g6e`: L40S, `p4d`: A100, `p4de`: A100-80GB, `p5`: H100).
pub fn gpu_model(label: &str) -> Option<&'static str> {
    let lower = label.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.iter().find_map(|word| {
        Some(match *word {
            "a100" if words.contains(&"80gb") => "A100-80GB",
            "a100" | "p4d" => "A100",
            "p4de" => "A100-80GB",
            "h100" | "p5" => "H100",
            "h200" | "p5e" | "p5en" => "H200",
            "b200" | "p6" => "B200",
            "a10g" | "g5" => "A10G",
            "l4" | "g6" => "L4",
            "l40s" | "g6e" => "L40S",
            "t4" | "g4dn" => "T4",
            _ => return None,
        })
    })
}

/// Words of a runner label, image or name that say AMD (ROCm, Instinct `mi250`/`mi300x`): such
/// a job's settings never serve an NVIDIA image. `amd64` is an architecture, not AMD's GPUs.
/// A runner label, tag or job name that says Arm: a word `arm`, `arm64` or `aarch64`.
fn arm_label(text: &str) -> bool {
    text.to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| matches!(word, "arm" | "arm64" | "aarch64"))
}

fn other_vendor_label(text: &str) -> bool {
    text.to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| {
            w == "amd"
                || w == "hip"
                || w == "radeon"
                || w.starts_with("rocm")
                || (w.len() >= 5
                    && w.starts_with("mi")
                    && w[2..5].chars().all(|c| c.is_ascii_digit()))
                // Other vendors' accelerators: Intel (XPU, Gaudi), Ascend NPUs, TPUs, Apple's.
                || matches!(
                    w,
                    "xpu" | "gaudi" | "gaudi2" | "gaudi3" | "hpu" | "habana" | "npu" | "ascend"
                        | "tpu" | "mps"
                )
        })
}

/// The values an expression can give (`a && 'x' || 'y'`): its quoted literals that follow
/// `&&` or `||`, not those compared (`inputs.os == 'linux'`).
fn expression_choices(expression: &str) -> Vec<&str> {
    let parts: Vec<&str> = expression.split('\'').collect();
    (1..parts.len().saturating_sub(1))
        .step_by(2)
        .filter(|at| {
            let before = parts[at - 1].trim_end();
            before.ends_with("&&") || before.ends_with("||")
        })
        .map(|at| parts[at])
        .collect()
}

/// Whether the job's own `git clone URL [DIR]` makes `folder`, as a clone of the project
/// itself: the job checks the tested commit out in it (`git checkout ${{ github.sha }}`), or
/// the repository's name is the project's (`…/accelerate` for the distribution `accelerate`).
fn clone_of_the_project(root: &Path, steps: &[Value], folder: &str) -> bool {
    let scripts: Vec<&str> = steps
        .iter()
        .filter_map(|step| step.get("run").and_then(Value::as_str))
        .collect();
    let url = scripts
        .iter()
        .flat_map(|s| s.split(['\n', ';']))
        .flat_map(|c| c.split("&&"))
        .find_map(|command| {
            let words: Vec<&str> = command.split_whitespace().collect();
            let at = words.windows(2).position(|w| w == ["git", "clone"])?;
            let rest: Vec<&str> = words[at + 2..]
                .iter()
                .copied()
                .filter(|w| !w.starts_with('-'))
                .collect();
            let url = *rest.first()?;
            let named = url.trim_end_matches('/').rsplit('/').next()?;
            let dir = rest
                .get(1)
                .copied()
                .unwrap_or_else(|| named.trim_end_matches(".git"));
            (dir.trim_end_matches('/') == folder)
                .then(|| named.trim_end_matches(".git").to_string())
        });
    let Some(repository) = url else {
        return false;
    };
    // `cd DIR; git checkout ${{ github.sha }}` in one script: the tested commit, in it.
    let checks_out_the_commit = scripts.iter().any(|script| {
        let mut inside = false;
        script.split(['\n', ';']).any(|command| {
            let command = command.trim();
            if let Some(dir) = command.strip_prefix("cd ") {
                inside = dir.trim().trim_end_matches('/') == folder;
            }
            inside
                && command.starts_with("git checkout")
                && ["github.sha", "pull_request.head.sha", "github.head_ref"]
                    .iter()
                    .any(|commit| command.contains(commit))
        })
    });
    let same_name = read_regular(root, "pyproject.toml")
        .and_then(|text| crate::project::pyproject::PyProject::parse(&text).ok())
        .and_then(|p| p.name)
        .is_some_and(|name| normalise(&name) == normalise(&repository));
    checks_out_the_commit || same_name
}

/// A GitHub-hosted runner's label (`ubuntu-22.04`, `windows-2025`, `macos-15`): no GPU.
fn hosted_runner(label: &str) -> bool {
    let label = label.to_ascii_lowercase();
    ["ubuntu-", "windows-", "macos-"]
        .iter()
        .any(|prefix| label.starts_with(prefix))
}

/// Why a job runs on a GPU, and how sure that is (3: its runner or container, 2: its name,
/// 1: the workflow's name).
fn gpu_evidence(
    runner: &[String],
    image: Option<&str>,
    options: Option<&str>,
    names: &[&str],
    workflow: &str,
) -> Option<(String, u8)> {
    if let Some(label) = runner.iter().find(|l| gpu_label(l)) {
        return Some((format!("its runner `{label}`"), 3));
    }
    if options.is_some_and(|o| o.contains("--gpus")) {
        return Some(("its container's `--gpus`".into(), 3));
    }
    // GitHub's hosted runners have no GPU, whatever the job's name or its container says (a
    // CUDA devel image there builds; "… under CUDA spoof").
    if !runner.is_empty() && runner.iter().all(|l| hosted_runner(l)) {
        return None;
    }
    if let Some(image) = image.filter(|i| {
        let lower = i.to_ascii_lowercase();
        lower.contains("cuda") || lower.contains("nvidia") || lower.contains("gpu")
    }) {
        return Some((format!("its container `{image}`"), 3));
    }
    if let Some(name) = names.iter().find(|n| is_gpu_word(&n.to_ascii_lowercase())) {
        return Some((format!("its name `{name}`"), 2));
    }
    is_gpu_word(&workflow.to_ascii_lowercase())
        .then(|| (format!("the workflow's name `{workflow}`"), 1))
}

/// 1-based line of the first line at or after `from` holding `needle`, else of any line holding
/// it, else `from`.
fn locate(lines: &[&str], needle: &str, from: usize) -> usize {
    let needle = needle.trim();
    if needle.is_empty() {
        return from;
    }
    locate_forward(lines, needle, from, lines.len())
        .or_else(|| locate_forward(lines, needle, 1, lines.len()))
        .unwrap_or(from)
}

/// 1-based line of the first of the `within` lines from `from` on holding `needle`.
fn locate_forward(lines: &[&str], needle: &str, from: usize, within: usize) -> Option<usize> {
    let start = from.saturating_sub(1).min(lines.len());
    lines[start..]
        .iter()
        .take(within)
        .position(|line| line.contains(needle))
        .map(|i| start + i + 1)
}

/// Where a script's values are searched: its file's text, from a line on.
#[derive(Clone, Copy)]
struct Origin<'a> {
    file: &'a str,
    /// The file's lines, split once.
    text: &'a [&'a str],
    line: usize,
}

impl Origin<'_> {
    /// `file:line` of `needle` in the command that starts on this line (its continuation
    /// lines included); the command's own line when the value is not written there (a matrix
    /// value, a variable): never a line of another job that happens to hold the same text.
    fn at(&self, needle: &str) -> String {
        let needle = needle.trim();
        let line = if needle.is_empty() {
            self.line
        } else {
            locate_forward(self.text, needle, self.line, 20).unwrap_or(self.line)
        };
        format!("{}:{line}", self.file)
    }
}

/// Reads one job's scripts into a `CiJob`.
struct Reader<'a> {
    root: &'a Path,
    job: CiJob,
    /// Variables the workflow or the script gives (env, matrix, inputs, assignments).
    vars: BTreeMap<String, String>,
    /// `${{ … }}` expressions that resolve (`matrix.python`, `env.X`, `inputs.y`).
    expressions: BTreeMap<String, String>,
    /// What could not be resolved, said only when the command or step it was in installs or
    /// tests (an `echo ${{ github.sha }}` is no news).
    pending: Vec<String>,
    /// The expressions of script lines that resolve to nothing, by number (see `expand_line`).
    unresolved: Vec<String>,
    /// Where the job runs pytest after the run it follows: one note says them all.
    more_runs: Vec<String>,
    /// What the step's script assigns its shell variables; a name it gives two values (the
    /// branches of an `if`) is `None`: no value can be told.
    assigned: BTreeMap<String, Option<String>>,
    /// The file whose commands are being read (a composite action's, a script's), for notes;
    /// `None`: the job's own workflow.
    reading: Option<String>,
}

impl Reader<'_> {
    /// The file a note about the value being read names.
    fn file_read(&self) -> String {
        self.reading
            .clone()
            .unwrap_or_else(|| self.job.file.clone())
    }

    fn note(&mut self, text: String) {
        if !self.job.notes.contains(&text) {
            self.job.notes.push(text);
        }
    }

    /// The pending notes from `from` on: said when `keep`, else dropped.
    fn commit_pending(&mut self, from: usize, keep: bool) {
        let from = from.min(self.pending.len());
        for text in self.pending.drain(from..).collect::<Vec<_>>() {
            if keep {
                self.note(text);
            }
        }
    }

    /// The note that names the pytest runs after the one followed (`first`).
    fn more_runs_note(&self, first: &str) -> String {
        let shown: Vec<&str> = self.more_runs.iter().take(4).map(String::as_str).collect();
        let more = if self.more_runs.len() > 4 {
            ", …"
        } else {
            ""
        };
        format!(
            "the job runs pytest {} more time{} ({}{more}); gpu-ci follows the first run ({first}) only: widen `test-path` or change `pytest-args` if the GPU run should cover them",
            self.more_runs.len(),
            if self.more_runs.len() == 1 { "" } else { "s" },
            shown.join(", ")
        )
    }

    /// `${{ expr }}` replaced by its value, or `None` (with a note) when the workflow does not
    /// give one.
    fn expand_expressions(&mut self, text: &str) -> Option<String> {
        self.expand_with(text, |walk, expr| {
            walk.pending.push(format!(
                "`${{{{ {expr} }}}}` in {} has no value the workflow gives; left out",
                walk.file_read()
            ));
            None
        })
    }

    /// `text` with each `${{ expr }}` replaced by the workflow's value, else by what `missing`
    /// gives (`None` ends it); `None` for an unclosed `${{`.
    fn expand_with(
        &mut self,
        text: &str,
        mut missing: impl FnMut(&mut Self, &str) -> Option<String>,
    ) -> Option<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 3..];
            let end = after.find("}}")?;
            let expr = after[..end].trim();
            match self.expressions.get(expr) {
                Some(value) => out.push_str(value),
                None => out.push_str(&missing(self, expr)?),
            }
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Some(out)
    }

    /// An env value: `${{ secrets.NAME }}` says which Modal secret key would give it.
    fn env_value(&mut self, name: &str, value: &str) -> Option<String> {
        let expr = value
            .trim()
            .strip_prefix("${{")
            .and_then(|v| v.strip_suffix("}}"))
            .map(str::trim);
        if let Some(secret) = expr.and_then(|e| e.strip_prefix("secrets.")) {
            self.pending.push(format!(
                "`{name}` is the secret `{secret}` in {}: gpu-ci never copies secrets; if the GPU run needs it, create a Modal secret holding `{name}` and name it in `modal-secrets` (--modal-secret NAME)",
                self.job.file
            ));
            return None;
        }
        self.expand_expressions(value)
    }

    /// A script line with each `${{ expr }}` replaced by its value, or by a shell variable
    /// nothing sets (`${__GPUCI_UNRESOLVED_0}`), so that only a command that installs or tests
    /// says what was left out; `None` for an unclosed `${{`.
    fn expand_line(&mut self, text: &str) -> Option<String> {
        self.expand_with(text, |walk, expr| {
            let variable = format!("${{{UNRESOLVED}{}}}", walk.unresolved.len());
            walk.unresolved.push(expr.to_string());
            Some(variable)
        })
    }

    /// `$NAME` and `${NAME}` replaced from the known variables, or `None` (with a pending
    /// note).
    fn expand_shell(&mut self, word: &str) -> Option<String> {
        if !word.contains('$') {
            return Some(word.to_string());
        }
        let mut out = String::new();
        let chars: Vec<char> = word.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] != '$' {
                out.push(chars[i]);
                i += 1;
                continue;
            }
            let braced = chars.get(i + 1) == Some(&'{');
            let start = if braced { i + 2 } else { i + 1 };
            let mut end = start;
            while end < chars.len() && (chars[end].is_ascii_alphanumeric() || chars[end] == '_') {
                end += 1;
            }
            let name: String = chars[start..end].iter().collect();
            if name.is_empty() || (braced && chars.get(end) != Some(&'}')) {
                self.pending.push(format!(
                    "`{word}` in {} is computed by the shell; left out",
                    self.file_read()
                ));
                return None;
            }
            match self.vars.get(&name) {
                Some(value) => out.push_str(value),
                None if self.assigned.get(&name).is_some_and(Option::is_none) => {
                    self.pending.push(format!(
                        "`${name}` in {} takes several values in its script (its branches); left out",
                        self.file_read()
                    ));
                    return None;
                }
                None => {
                    let what = match name
                        .strip_prefix(UNRESOLVED)
                        .and_then(|n| n.parse::<usize>().ok())
                        .and_then(|n| self.unresolved.get(n))
                    {
                        Some(expr) => format!("`${{{{ {expr} }}}}`"),
                        None => format!("`${name}`"),
                    };
                    self.pending.push(format!(
                        "{what} in {} has no value the workflow gives; left out",
                        self.file_read()
                    ));
                    return None;
                }
            }
            i = if braced { end + 1 } else { end };
        }
        Some(out)
    }

    /// A script: lines (continuations joined), commands split at `&&`, `||`, `;` and `|`.
    fn script(&mut self, script: &str, origin: Origin, depth: u32) {
        let outer = self.reading.replace(origin.file.to_string());
        self.script_lines(script, origin, depth);
        self.reading = outer;
    }

    fn script_lines(&mut self, script: &str, origin: Origin, depth: u32) {
        // Logical lines (continuations joined), each with its first physical line.
        let mut logical: Vec<(String, String)> = Vec::new();
        let mut pending: Option<(String, String)> = None;
        for physical in script.lines() {
            let (text, continued) = match physical.strip_suffix('\\') {
                Some(text) => (text, true),
                None => (physical, false),
            };
            let entry = pending.get_or_insert_with(|| (String::new(), physical.to_string()));
            entry.0.push_str(text);
            entry.0.push(' ');
            if !continued {
                logical.extend(pending.take());
            }
        }
        logical.extend(pending.take());
        // A here-document's body is data for its command (`python - <<EOF`), not commands.
        let mut heredoc_end: Option<String> = None;
        let mut cursor = origin.line;
        for (line, first) in &logical {
            let line = line.trim_end();
            if let Some(end) = &heredoc_end {
                if line.trim() == end {
                    heredoc_end = None;
                }
                continue;
            }
            if let Some(at) = line.find("<<") {
                let word: String = line[at + 2..]
                    .trim_start_matches(['-', '~'])
                    .trim_start()
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != ';' && *c != ')')
                    .collect();
                let word = word.trim_matches(['\'', '"']).to_string();
                if !word.is_empty() && !word.starts_with('<') {
                    heredoc_end = Some(word);
                }
            }
            // Each logical line after the one before: a scan of the step, not of the file.
            let first = first.trim();
            if let Some(found) = (!first.is_empty())
                .then(|| locate_forward(origin.text, first, cursor, 400))
                .flatten()
            {
                cursor = found;
            }
            let origin = Origin {
                line: cursor,
                ..origin
            };
            let Some(line) = self.expand_line(line) else {
                continue;
            };
            let Ok(words) = crate::args::split(&line) else {
                continue;
            };
            let words: Vec<String> = words
                .into_iter()
                .take_while(|w| !w.starts_with('#'))
                .collect();
            let mut command: Vec<String> = Vec::new();
            for word in words {
                if matches!(word.as_str(), "&&" | "||" | ";" | "|") {
                    self.command(std::mem::take(&mut command), origin, depth);
                } else if let Some(stripped) = word.strip_suffix(';') {
                    if !stripped.is_empty() {
                        command.push(stripped.to_string());
                    }
                    self.command(std::mem::take(&mut command), origin, depth);
                } else {
                    command.push(word);
                }
            }
            self.command(command, origin, depth);
        }
    }

    /// One command; what it could not resolve is said only when it installs, tests, sets the
    /// environment or runs a tool that does (`pip`, `pytest`, `make`, `export`, ...).
    fn command(&mut self, words: Vec<String>, origin: Origin, depth: u32) {
        let relevant = words.iter().any(|w| {
            let program = w.rsplit('/').next().unwrap_or("");
            matches!(
                program,
                "pip"
                    | "pip3"
                    | "uv"
                    | "install"
                    | "pytest"
                    | "py.test"
                    | "coverage"
                    | "make"
                    | "nox"
                    | "tox"
                    | "modal"
                    | "export"
                    | "apt-get"
                    | "apt"
            )
        });
        let from = self.pending.len();
        self.run_command(words, origin, depth);
        self.commit_pending(from, relevant);
    }

    fn run_command(&mut self, mut words: Vec<String>, origin: Origin, depth: u32) {
        while words
            .first()
            .is_some_and(|w| matches!(w.as_str(), "then" | "else" | "do" | "time" | "sudo" | "-E"))
        {
            words.remove(0);
        }
        let Some(first) = words.first().cloned() else {
            return;
        };
        if matches!(
            first.as_str(),
            "if" | "elif" | "while" | "for" | "fi" | "done" | "["
        ) {
            return;
        }
        // `export X=Y` and `X=Y command`.
        let mut prefix_env: Vec<(String, String)> = Vec::new();
        let exported = first == "export";
        if exported {
            words.remove(0);
        }
        while let Some((name, value)) = words.first().and_then(|w| assignment(w)) {
            words.remove(0);
            let Some(value) = self.expand_shell(&value) else {
                continue;
            };
            let again = self.assigned.get(&name).cloned();
            if again.is_some_and(|old| old.as_deref() != Some(value.as_str())) {
                // Two values (an `if` and its `else`): which one runs cannot be told.
                self.assigned.insert(name.clone(), None);
                self.vars.remove(&name);
                continue;
            }
            self.assigned.insert(name.clone(), Some(value.clone()));
            self.vars.insert(name.clone(), value.clone());
            prefix_env.push((name, value));
        }
        // `export X=1` is the environment of what follows; a bare `X=1` is the shell's only.
        if exported || words.is_empty() {
            if exported {
                for (name, value) in prefix_env {
                    self.set_env(&name, &value, origin);
                }
            }
            return;
        }
        // A program the shell computes cannot be told.
        if self.expand_shell(&words[0]).is_none() {
            return;
        }
        let mut expanded = Vec::new();
        for word in &words {
            match self.expand_shell(word) {
                Some(w) => expanded.push(w),
                // An option's value that cannot be known: drop the option too.
                None => {
                    if expanded.len() > 1
                        && expanded.last().is_some_and(|w: &String| w.starts_with('-'))
                    {
                        expanded.pop();
                    }
                }
            }
        }
        let words = expanded;
        if words.is_empty() {
            return;
        }
        let program = words[0].rsplit('/').next().unwrap_or("").to_string();
        let rest = &words[1..];
        let is_python = program == "python"
            || program == "python3"
            || program
                .strip_prefix("python3.")
                .is_some_and(|v| v.parse::<u32>().is_ok());
        if is_python {
            if rest.first().map(String::as_str) == Some("-m") && rest.len() > 1 {
                if let Some(folder) = self.test_runner_module(&rest[1], &rest[2..]) {
                    self.test_runner(&words, folder, origin);
                    if self.job.pytest.is_some() {
                        for (name, value) in prefix_env {
                            self.set_env(&name, &value, origin);
                        }
                    }
                    return;
                }
                let mut again = vec![rest[1].clone()];
                again.extend_from_slice(&rest[2..]);
                // `X=1 python -m pytest`: X is the tests' environment.
                let had_pytest = self.job.pytest.is_some();
                self.command(again, origin, depth);
                if !had_pytest && self.job.pytest.is_some() {
                    for (name, value) in prefix_env {
                        self.set_env(&name, &value, origin);
                    }
                }
            } else if let Some(script) = rest.first().filter(|s| s.ends_with(".py")) {
                self.script_file(script, &words, origin, depth);
            }
            return;
        }
        match program.as_str() {
            "pip" | "pip3" if rest.first().map(String::as_str) == Some("install") => {
                self.pip_install(&rest[1..], origin);
            }
            "uv" => match rest.first().map(String::as_str) {
                Some("pip") if rest.get(1).map(String::as_str) == Some("install") => {
                    self.pip_install(&rest[2..], origin);
                }
                Some("sync") => self.uv_sync(&rest[1..], origin),
                Some("run") => {
                    let mut i = 1;
                    while i < rest.len() && rest[i].starts_with('-') && rest[i] != "-m" {
                        match rest[i].as_str() {
                            "--extra" | "--group" => {
                                if let Some(name) = rest.get(i + 1) {
                                    self.uv_sync(&[rest[i].clone(), name.clone()], origin);
                                }
                                i += 2;
                            }
                            // What the run adds for itself is installed like `pip install`.
                            "--with" => {
                                if let Some(package) = rest.get(i + 1) {
                                    self.pip_install(std::slice::from_ref(package), origin);
                                }
                                i += 2;
                            }
                            "--python"
                            | "-p"
                            | "--index"
                            | "--env-file"
                            | "--with-requirements"
                            | "--package" => i += 2,
                            _ => i += 1,
                        }
                    }
                    let mut command = rest[i.min(rest.len())..].to_vec();
                    // `uv run -m X` and `uv run script.py` run Python, as `python` would.
                    if command
                        .first()
                        .is_some_and(|w| w == "-m" || w.ends_with(".py"))
                    {
                        command.insert(0, "python".into());
                    }
                    self.command(command, origin, depth);
                }
                _ => {}
            },
            "pytest" | "py.test" => {
                let env = prefix_env.clone();
                self.pytest(rest, origin);
                for (name, value) in env {
                    self.set_env(&name, &value, origin);
                }
            }
            "coverage" if rest.first().map(String::as_str) == Some("run") => {
                if let Some(at) = rest.iter().position(|w| w == "-m") {
                    self.command(rest[at + 1..].to_vec(), origin, depth);
                }
            }
            "apt-get" | "apt" => self.apt_install(rest, origin),
            "modal" if rest.first().map(String::as_str) == Some("run") => {
                self.modal_run(&rest[1..], origin, depth);
            }
            "git" if rest.first().map(String::as_str) == Some("submodule") => {
                let value = if rest.iter().any(|w| w == "--recursive") {
                    "recursive"
                } else {
                    "true"
                };
                self.job.recipe.submodules = Some(Found {
                    value: value.into(),
                    at: origin.at("submodule"),
                });
            }
            "make" if depth < MAX_DEPTH => {
                let targets: Vec<String> = rest
                    .iter()
                    .filter(|w| !w.starts_with('-') && !w.contains('='))
                    .cloned()
                    .collect();
                for target in targets {
                    self.make(&target, depth + 1);
                }
            }
            "nox" if depth < MAX_DEPTH => {
                let mut sessions = Vec::new();
                let mut i = 0;
                while i < rest.len() {
                    match rest[i].as_str() {
                        "-s" | "--session" | "--sessions" | "-e" => {
                            sessions.extend(rest.get(i + 1).cloned());
                            i += 2;
                        }
                        other => {
                            if let Some(name) = other.strip_prefix("--session=") {
                                sessions.push(name.to_string());
                            }
                            i += 1;
                        }
                    }
                }
                for session in sessions {
                    self.nox(&session, depth + 1);
                }
            }
            "tox" if depth < MAX_DEPTH => {
                let envs: Vec<String> = rest
                    .iter()
                    .position(|w| w == "-e")
                    .and_then(|at| rest.get(at + 1))
                    .map(|list| list.split(',').map(str::to_string).collect())
                    .unwrap_or_default();
                self.tox(&envs, depth + 1);
            }
            "bash" | "sh" => {
                if let Some(script) = rest.iter().find(|w| !w.starts_with('-')) {
                    self.script_file(script, &words, origin, depth);
                }
            }
            _ if words[0].ends_with(".sh") || words[0].ends_with(".py") => {
                let script = words[0].clone();
                self.script_file(&script, &words, origin, depth);
            }
            _ => {}
        }
    }

    /// `modal run FILE[::FUNCTION]` or `modal run -m MODULE[::FUNCTION]`: the tests run on
    /// Modal. The file is read as text, never imported: the shell commands its function passes
    /// to `subprocess` (string literals only) are read like a step.
    fn modal_run(&mut self, args: &[String], origin: Origin, depth: u32) {
        let mut module = false;
        let mut target = None;
        let mut i = 0;
        while i < args.len() {
            match args[i].as_str() {
                "-m" => module = true,
                "-e" | "--env" | "--name" => i += 1,
                other if other.starts_with('-') => {}
                other => {
                    target = Some(other.to_string());
                    break;
                }
            }
            i += 1;
        }
        let Some(target) = target else {
            return;
        };
        let (path, function) = match target.split_once("::") {
            Some((path, function)) => (path.to_string(), Some(function.to_string())),
            None => (target.clone(), None),
        };
        let rel = if module {
            format!("{}.py", path.replace('.', "/"))
        } else {
            path.trim_start_matches("./").to_string()
        };
        if !rel.ends_with(".py") || !inside(self.root, &rel) {
            return;
        }
        let Some(text) = read_ci_file(self.root, &rel) else {
            return;
        };
        if self.job.modal.is_none() {
            self.job.modal = Some(Found {
                value: rel.clone(),
                at: origin.at("modal"),
            });
            self.modal_settings(&rel, &text);
        }
        if depth >= MAX_DEPTH {
            return;
        }
        let lines: Vec<&str> = text.lines().collect();
        let (from, to) = match &function {
            Some(name) => match python_function(&lines, name) {
                Some(range) => range,
                None => return,
            },
            None => (0, lines.len()),
        };
        let body = lines[from..to].join("\n");
        for call in [
            "subprocess.run(",
            "subprocess.check_call(",
            "subprocess.call(",
            "os.system(",
        ] {
            for (offset, _) in body.match_indices(call) {
                let Some(script) = shell_of_call(&body[offset + call.len()..]) else {
                    continue;
                };
                let line = from + 1 + body[..offset].matches('\n').count();
                let origin = Origin {
                    file: &rel,
                    text: &lines,
                    line,
                };
                self.script(&script, origin, depth + 1);
            }
        }
    }

    /// What a `modal run` file says of the tests' machine, read as text: the GPU a line that
    /// names `gpu` gives (`gpu="H100!"`), and the Python a line that names `python` gives
    /// (`add_python="3.12"`, `PYTHON_VERSION = "3.12"`); the Python the job sets up is the
    /// Modal client's, never the tests'.
    fn modal_settings(&mut self, rel: &str, text: &str) {
        let mut pythons = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let lower = line.to_ascii_lowercase();
            let at = format!("{rel}:{}", number + 1);
            if lower.contains("gpu")
                && self.job.gpu_model.is_none()
                && let Some(model) = string_literals(line).into_iter().find_map(gpu_model)
            {
                self.job.gpu_model = Some(Found {
                    value: model.to_string(),
                    at: format!("`{}` ({at})", self.job.name),
                });
            }
            if lower.contains("python")
                && let Some(version) = string_literals(line).into_iter().find(|literal| {
                    let rest = literal.strip_prefix("3.").unwrap_or_default();
                    !rest.is_empty() && rest.len() <= 2 && rest.chars().all(|c| c.is_ascii_digit())
                })
            {
                pythons.push(Found {
                    value: version.to_string(),
                    at,
                });
            }
        }
        self.job.python = pythons;
    }

    /// A script the job runs: a native build (its name says build) becomes `setup`; a shell
    /// script inside the project is read like a step.
    fn script_file(&mut self, script: &str, words: &[String], origin: Origin, depth: u32) {
        let rel = script.trim_start_matches("./");
        let name = rel.rsplit('/').next().unwrap_or(rel).to_ascii_lowercase();
        if regular_file(self.root, rel).is_none() {
            return;
        }
        if name.contains("build") || name.contains("compile") {
            // A build in a container of its own (`docker run … image bash -c "cmake …"`) cannot
            // run in an image build: said, not taken.
            if let Some(text) = read_ci_file(self.root, rel)
                && let Some(number) = text.lines().position(|line| {
                    let line = line.trim_start();
                    ["docker ", "podman ", "sudo docker "]
                        .iter()
                        .any(|tool| line.starts_with(tool))
                })
            {
                let note = format!(
                    "`{rel}` ({}) builds in a container of its own (`{rel}:{}` runs docker), which an image build cannot run: left out; set `setup` (--setup) to the build commands it runs there, and `apt`, `cuda` for what they need",
                    origin.at(script),
                    number + 1
                );
                if !self.job.recipe.setup_notes.contains(&note) {
                    self.job.recipe.setup_notes.push(note.clone());
                }
                self.note(note);
                return;
            }
            let command = words
                .iter()
                .map(|w| crate::args::quote(w))
                .collect::<Vec<_>>()
                .join(" ");
            if !self.job.recipe.setup.iter().any(|f| f.value == command) {
                self.job.recipe.setup.push(Found {
                    value: command,
                    at: origin.at(script),
                });
            }
            return;
        }
        if name.ends_with(".py") {
            let at = origin.at(script);
            if !self.job.drivers.iter().any(|d| d.value == rel) {
                self.job.drivers.push(Found {
                    value: rel.to_string(),
                    at,
                });
                let after = words
                    .iter()
                    .position(|w| w == script)
                    .map_or(&words[..0], |at| &words[at + 1..]);
                self.job.driver_args.push(
                    after
                        .iter()
                        .map(|w| crate::args::quote(w))
                        .collect::<Vec<_>>()
                        .join(" "),
                );
                if let Some(scan) = scan_driver(self.root, rel) {
                    self.job.driver_tests.extend(scan.tests);
                    self.job.driver_subprojects.extend(scan.subprojects);
                    if scan.passes_k && self.job.driver_keyword.is_none() {
                        self.job.driver_keyword = keyword_option(after);
                    }
                }
            }
            return;
        }
        if name.ends_with(".sh")
            && depth < MAX_DEPTH
            && let Some(text) = read_ci_file(self.root, rel)
        {
            let file = rel.to_string();
            let lines: Vec<&str> = text.lines().collect();
            self.script(
                &text,
                Origin {
                    file: &file,
                    text: &lines,
                    line: 1,
                },
                depth + 1,
            );
        }
    }

    fn set_env(&mut self, name: &str, value: &str, origin: Origin) {
        if self.job.recipe.env.iter().any(|(n, _)| n == name) {
            return;
        }
        self.job.recipe.env.push((
            name.to_string(),
            Found {
                value: value.to_string(),
                at: origin.at(name),
            },
        ));
    }

    fn pip_install(&mut self, args: &[String], origin: Origin) {
        // An `--index-url` on a line that names its packages (`pip install --pre torch
        // --index-url …/nightly/cu130`) serves those packages; as the image's only index it
        // would have to serve every other one too. It becomes an extra index, searched before
        // PyPI, which serves what the line meant. A line that installs requirements files or
        // the project keeps it as the index.
        let names_its_packages = !args.iter().any(|a| {
            matches!(
                a.as_str(),
                "-r" | "--requirement" | "-e" | "--editable" | "." | "./"
            ) || a.starts_with("-r")
                || a.starts_with(".[")
                || a.starts_with("--requirement=")
        });
        // Packages from a find-links page (`--no-index -f https://…/torch-2.5.html`) come from
        // where no key of gpu-ci's points: PyPI's build of them may not exist, or be an sdist
        // that needs the page's exact torch. Said, not installed from PyPI instead.
        if let Some(at) = args.iter().position(|a| {
            matches!(a.as_str(), "-f" | "--find-links") || a.starts_with("--find-links=")
        }) {
            let page = args[at]
                .strip_prefix("--find-links=")
                .or_else(|| args.get(at + 1).map(String::as_str))
                .unwrap_or_default()
                .to_string();
            let packages: Vec<&String> = args
                .iter()
                .enumerate()
                .filter(|(i, a)| {
                    !a.starts_with('-')
                        && *i != at + 1
                        && (*i == 0
                            || !args[i - 1].starts_with('-')
                            || is_install_flag(&args[i - 1]))
                })
                .map(|(_, a)| a)
                .collect();
            if !packages.is_empty() {
                let names: Vec<String> = packages.iter().map(|p| format!("`{p}`")).collect();
                self.note(format!(
                    "{} installs {} from the find-links page `{page}` ({}), which no gpu-ci key can point to; left out: add them to `packages` if PyPI's builds serve",
                    self.job.file,
                    names.join(", "),
                    origin.at(packages[0])
                ));
            }
            return;
        }
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            let (option, inline) = match arg.split_once('=') {
                Some((o, v)) if o.starts_with("--") => (o, Some(v.to_string())),
                _ => (arg.as_str(), None),
            };
            let value = |i: usize| inline.clone().or_else(|| args.get(i + 1).cloned());
            let step = if inline.is_some() { 1 } else { 2 };
            match option {
                "-r" | "--requirement" => {
                    if let Some(file) = value(i) {
                        self.requirement_file(&file, origin);
                    }
                    i += step;
                }
                "-e" | "--editable" => {
                    if let Some(target) = value(i) {
                        self.install_target(&target, origin);
                    }
                    i += step;
                }
                "-i" | "--index-url" | "--default-index" => {
                    if let Some(url) = value(i) {
                        self.index(&url, !names_its_packages, origin);
                    }
                    i += step;
                }
                "--extra-index-url" | "--index" => {
                    if let Some(url) = value(i) {
                        self.index(&url, false, origin);
                    }
                    i += step;
                }
                "-c" | "--constraint" | "-f" | "--find-links" | "--python" | "-p"
                | "--prerelease" | "--target" | "--prefix" | "--root" | "--no-binary"
                | "--only-binary" | "--upgrade-strategy" | "--index-strategy"
                | "--torch-backend" | "--config-settings" | "-C" | "--extra" | "--group"
                | "--resolution" => i += step,
                _ if arg.starts_with("-r") && arg.len() > 2 => {
                    self.requirement_file(&arg[2..], origin);
                    i += 1;
                }
                // Any other option: a flag only when pip or uv says so; otherwise its value is
                // the next word, never a package (`--progress-bar off` must not install `off`).
                _ if arg.starts_with('-') => {
                    i += if inline.is_some() || is_install_flag(option) {
                        1
                    } else {
                        2
                    }
                }
                _ => {
                    self.install_target(arg, origin);
                    i += 1;
                }
            }
        }
    }

    /// `apt-get install [-y] [--no-install-recommends] PKG...`: the packages as written (the
    /// plan checks each as the `apt` key does); options and their values are not packages.
    fn apt_install(&mut self, args: &[String], origin: Origin) {
        // The options apt-get gives a value as the next word.
        let takes_value = |arg: &str| {
            matches!(
                arg,
                "-o" | "--option"
                    | "-t"
                    | "--target-release"
                    | "--default-release"
                    | "-c"
                    | "--config-file"
            )
        };
        // Options may come before the command too (`apt-get -y install`).
        let mut i = 0;
        while i < args.len() && args[i].starts_with('-') {
            i += if takes_value(&args[i]) { 2 } else { 1 };
        }
        if args.get(i).map(String::as_str) != Some("install") {
            return;
        }
        i += 1;
        while i < args.len() {
            let arg = &args[i];
            if takes_value(arg) {
                i += 2;
                continue;
            }
            i += 1;
            if arg.starts_with('-') || arg.is_empty() {
                continue;
            }
            if !self.job.recipe.apt.iter().any(|f| f.value == *arg) {
                self.job.recipe.apt.push(Found {
                    value: arg.clone(),
                    at: origin.at(arg),
                });
            }
        }
    }

    fn requirement_file(&mut self, file: &str, origin: Origin) {
        let rel = file.trim_start_matches("./").to_string();
        if regular_file(self.root, &rel).is_some() {
            if !self.job.requirements.iter().any(|f| f.value == rel) {
                self.job.requirements.push(Found {
                    at: origin.at(file),
                    value: rel,
                });
            }
        } else {
            self.note(format!(
                "{} installs `{file}`, which is not a file in the project; left out",
                self.job.file
            ));
        }
    }

    fn index(&mut self, url: &str, main: bool, origin: Origin) {
        // A CPU-only or ROCm wheel index serves a CPU or AMD job, never a run on Modal's
        // NVIDIA GPUs.
        let last = url.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        if last == "cpu" || last.starts_with("rocm") {
            let kind = if last == "cpu" {
                "CPU-only"
            } else {
                "ROCm (AMD)"
            };
            self.note(format!(
                "{} installs from the {kind} index `{url}`; left out",
                self.job.file
            ));
            return;
        }
        // PyPI is every resolver's default: naming it again adds no index.
        if !main && url.trim_end_matches('/') == "https://pypi.org/simple" {
            return;
        }

        let found = Found {
            value: url.to_string(),
            at: origin.at(url),
        };
        if main {
            if self.job.recipe.index_url.is_none() {
                self.job.recipe.index_url = Some(found);
            }
        } else if !self.job.recipe.extra_index_urls.contains(&found) {
            self.job.recipe.extra_index_urls.push(found);
        }
    }

    /// `.`, `.[dev,test]`, a local path, or a requirement.
    fn install_target(&mut self, target: &str, origin: Origin) {
        let local = target.trim_start_matches("./");
        if local.is_empty() || local == "." || local.starts_with('[') || local.starts_with(".[") {
            let extras = local
                .find('[')
                .and_then(|at| local[at + 1..].strip_suffix(']'))
                .unwrap_or("");
            for extra in extras.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                if !self.job.extras.iter().any(|f| f.value == extra) {
                    self.job.extras.push(Found {
                        value: extra.to_string(),
                        at: origin.at(target),
                    });
                }
            }
            return;
        }
        let name_end = target
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(target.len());
        let name = normalise(&target[..name_end]);
        let is_path = target[..name_end].is_empty()
            || (target.contains('/') && !target.contains('@'))
            || target.ends_with(".whl")
            || target.ends_with(".tar.gz");
        if is_path {
            self.note(format!(
                "{} installs `{target}`, a path or file, not a package; left out",
                self.job.file
            ));
            return;
        }
        if matches!(name.as_str(), "pip" | "setuptools" | "wheel" | "uv") || target.contains("+cpu")
        {
            return;
        }
        let known = self
            .job
            .recipe
            .packages
            .iter()
            .any(|f| crate::project::requirements::package_names(&f.value) == [name.clone()]);
        if !known {
            self.job.recipe.packages.push(Found {
                value: target.to_string(),
                at: origin.at(target),
            });
        }
    }

    fn uv_sync(&mut self, args: &[String], origin: Origin) {
        let mut i = 0;
        while i < args.len() {
            let (list, name) = match args[i].as_str() {
                "--extra" => (&mut self.job.extras, args.get(i + 1)),
                "--group" => (&mut self.job.groups, args.get(i + 1)),
                _ => {
                    i += 1;
                    continue;
                }
            };
            if let Some(name) = name
                && !list.iter().any(|f| &f.value == name)
            {
                list.push(Found {
                    value: name.clone(),
                    at: origin.at(name),
                });
            }
            i += 2;
        }
    }

    fn pytest(&mut self, args: &[String], origin: Origin) {
        // Reporting, parallelism and coverage: the runner has its own. Stopping early
        // (`-x`, `--maxfail`) is the project's choice for its GPU minutes: kept.
        const DROP_VALUED: [&str; 21] = [
            "-n",
            "--numprocesses",
            "--dist",
            "--max-worker-restart",
            "--cov-report",
            "--cov-config",
            "--cov-fail-under",
            "--junitxml",
            "--junit-xml",
            "--durations",
            "--durations-min",
            "--make-reports",
            "--color",
            "--tb",
            "--timeout",
            "--basetemp",
            "--rootdir",
            "-c",
            "--html",
            "--log-level",
            "-o",
        ];
        const KEEP_VALUED: [&str; 7] = [
            "-m",
            "-k",
            "-p",
            "--ignore",
            "--ignore-glob",
            "--deselect",
            "--maxfail",
        ];
        // Listing or debugging runs test nothing.
        if args.iter().any(|a| {
            matches!(
                a.as_str(),
                "--collect-only"
                    | "--co"
                    | "--setup-only"
                    | "--setup-plan"
                    | "--fixtures"
                    | "--markers"
                    | "--help"
                    | "-h"
                    | "--version"
                    | "-V"
            )
        }) {
            return;
        }
        let mut run = PytestRun {
            at: origin.at("pytest"),
            ..PytestRun::default()
        };
        let exists = |p: &str| {
            let path = p.split("::").next().unwrap_or(p);
            inside(self.root, path)
        };
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            let name = arg.split_once('=').map_or(arg.as_str(), |(n, _)| n);
            let inline = arg.contains('=') && arg.starts_with("--");
            if DROP_VALUED.contains(&name) {
                i += if inline { 1 } else { 2 };
            } else if KEEP_VALUED.contains(&name) {
                if inline {
                    run.options.push(vec![arg.clone()]);
                    i += 1;
                } else {
                    if let Some(value) = args.get(i + 1) {
                        run.options.push(vec![arg.clone(), value.clone()]);
                    }
                    i += 2;
                }
            } else if (arg.starts_with("-m") || arg.starts_with("-k")) && arg.len() > 2 {
                run.options
                    .push(vec![arg[..2].to_string(), arg[2..].to_string()]);
                i += 1;
            } else if arg.starts_with("--") {
                let dropped = name.starts_with("--cov")
                    || name.starts_with("--log")
                    || name.starts_with("--report")
                    || name.starts_with("--junit")
                    || name.starts_with("--json-report")
                    || name.starts_with("--html")
                    || name.starts_with("--benchmark-json")
                    || name.starts_with("--alluredir")
                    || matches!(
                        name,
                        "--showlocals"
                            | "--verbose"
                            | "--quiet"
                            | "--capture"
                            | "--no-header"
                            | "--forked"
                            | "--strict-markers"
                            | "--lf"
                            | "--last-failed"
                            | "--ff"
                            | "--failed-first"
                            | "--sw"
                            | "--stepwise"
                            | "--pdb"
                            | "--trace"
                    );
                let mut group = vec![arg.clone()];
                // A long option of the project's or a plugin's: its value is the next word
                // unless that is a path.
                if !inline
                    && let Some(next) = args.get(i + 1)
                    && !next.starts_with('-')
                    && !exists(next)
                {
                    group.push(next.clone());
                }
                i += group.len();
                if !dropped {
                    run.options.push(group);
                }
            } else if let Some(cluster) = arg.strip_prefix('-') {
                // Short flags (`-xvs`): `-x` is kept; the rest is the runner's own (`-v`,
                // `-s`) or, from a flag that takes one (`-rA`), a value.
                let exit_first = cluster
                    .chars()
                    .take_while(|c| !"rkmpnco".contains(*c))
                    .any(|c| c == 'x');
                if exit_first && !run.options.contains(&vec!["-x".to_string()]) {
                    run.options.push(vec!["-x".to_string()]);
                }
                i += 1;
            } else {
                if exists(arg) {
                    run.paths.push(arg.clone());
                } else {
                    self.note(format!(
                        "{} runs pytest on `{arg}`, which is not in the project; left out",
                        self.job.file
                    ));
                }
                i += 1;
            }
        }
        if let Some(first) = self.job.pytest.as_mut() {
            // A later run with the same options on other paths is the same selection, wider:
            // one run covers both.
            let sorted = |options: &[Vec<String>]| {
                let mut options = options.to_vec();
                options.sort();
                options
            };
            if sorted(&first.options) == sorted(&run.options)
                && !first.paths.is_empty()
                && !run.paths.is_empty()
            {
                for path in run.paths {
                    if !first.paths.contains(&path) {
                        first.paths.push(path);
                    }
                }
                return;
            }
        }
        if let Some(first) = &self.job.pytest {
            // One run is what gpu-ci reproduces; the others are said (in one note), not
            // dropped silently.
            let first = first.at.clone();
            let old = self.more_runs_note(&first);
            let at = origin.at("pytest");
            if at != first && !self.more_runs.contains(&at) {
                self.more_runs.push(at);
            }
            let new = self.more_runs_note(&first);
            match self.job.notes.iter().position(|n| *n == old) {
                Some(index) => self.job.notes[index] = new,
                None => self.note(new),
            }
            return;
        }
        self.job.pytest = Some(run);
    }

    /// A composite action of the project's own (`uses: ./.github/actions/gpu-test`): its `run`
    /// steps read like the job's, `${{ inputs.X }}` as the step's `with:` gives it, else the
    /// input's default. Nested ones are followed to `MAX_DEPTH`.
    fn composite(&mut self, folder: &str, with: Option<&Value>, depth: u32) {
        let folder = folder.trim_end_matches('/');
        let Some((file, text)) = ["action.yml", "action.yaml"].iter().find_map(|name| {
            let file = format!("{folder}/{name}");
            read_ci_file(self.root, &file).map(|text| (file, text))
        }) else {
            return;
        };
        let Some(action) = parse_yaml(&text) else {
            return;
        };
        let runs = action.get("runs");
        if runs.and_then(|r| r.get("using")).and_then(Value::as_str) != Some("composite") {
            return;
        }
        let mut inputs: BTreeMap<String, String> = BTreeMap::new();
        if let Some(Value::Object(declared)) = action.get("inputs") {
            for (name, input) in declared {
                let given = with
                    .and_then(|w| w.get(name))
                    .and_then(scalar)
                    .and_then(|v| self.expand_expressions(&v));
                if let Some(value) = given.or_else(|| input.get("default").and_then(scalar)) {
                    inputs.insert(format!("inputs.{name}"), value);
                }
            }
        }
        let saved = self.expressions.clone();
        self.expressions.extend(inputs);
        let lines: Vec<&str> = text.lines().collect();
        let steps = match runs.and_then(|r| r.get("steps")) {
            Some(Value::Array(steps)) => steps.clone(),
            _ => Vec::new(),
        };
        for step in &steps {
            if let Some(condition) = step.get("if").and_then(scalar)
                && !self.condition_holds(&condition)
            {
                continue;
            }
            if let Some(local) = step
                .get("uses")
                .and_then(Value::as_str)
                .and_then(|u| u.strip_prefix("./"))
            {
                if depth < MAX_DEPTH {
                    self.composite(local, step.get("with"), depth + 1);
                }
                continue;
            }
            let Some(run) = step.get("run").and_then(Value::as_str) else {
                continue;
            };
            let first_line = run.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            let origin = Origin {
                file: &file,
                text: &lines,
                line: locate(&lines, first_line, 1),
            };
            let saved_vars = self.vars.clone();
            for (name, value) in env_of(step.get("env")) {
                if let Some(value) = self.env_value(&name, &value) {
                    self.vars.insert(name, value);
                }
            }
            self.script(run, origin, depth);
            self.vars = saved_vars;
            self.assigned.clear();
        }
        self.expressions = saved;
    }

    /// `python -m MODULE ARGS` as a test runner other than pytest: `unittest` (its start folder,
    /// if it names one) or a test package of the project's own that runs as a module
    /// (`warp.tests`, with a `__main__.py`). `Some(folder)`: it is one, and pytest, which
    /// collects unittest tests too, runs `folder` (`None`: the configured test path).
    fn test_runner_module(&self, module: &str, args: &[String]) -> Option<Option<String>> {
        if module == "unittest" {
            if args.first().map(String::as_str) != Some("discover") {
                return None;
            }
            let mut i = 1;
            while i < args.len() {
                match args[i].as_str() {
                    "-s" | "--start-directory" => {
                        return Some(args.get(i + 1).filter(|d| inside(self.root, d)).cloned());
                    }
                    "-p" | "--pattern" | "-t" | "--top-level-directory" | "-k" => i += 2,
                    other if other.starts_with('-') => i += 1,
                    other => return Some(inside(self.root, other).then(|| other.to_string())),
                }
            }
            return Some(None);
        }
        let parts: Vec<&str> = module.split('.').collect();
        let valid = parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        let last = parts.last().copied().unwrap_or("");
        if !valid || !last.starts_with("test") {
            return None;
        }
        let folder = parts.join("/");
        regular_file(self.root, &format!("{folder}/__main__.py"))?;
        Some(Some(format!("{folder}/")))
    }

    /// A test runner other than pytest (see `test_runner_module`), read as a pytest run of its
    /// folder, with a note saying so and what of its own options is left out.
    fn test_runner(&mut self, words: &[String], folder: Option<String>, origin: Origin) {
        let module = words.get(2).cloned().unwrap_or_default();
        let first = self.job.pytest.is_none();
        self.pytest(&folder.iter().cloned().collect::<Vec<_>>(), origin);
        if let Some(run) = self.job.pytest.as_mut().filter(|_| first) {
            run.at = origin.at(&module);
            let own: Vec<String> = words
                .iter()
                .skip(3)
                .filter(|w| w.starts_with('-'))
                .cloned()
                .collect();
            let left_out = if own.is_empty() {
                String::new()
            } else {
                format!("; its options ({}) are its own, left out", own.join(" "))
            };
            let at = run.at.clone();
            self.note(format!(
                "{} runs its tests with `python -m {module}` ({at}), not pytest: the GPU run runs pytest on {}, which collects the same unittest and pytest tests{left_out}",
                self.job.describe(),
                folder.map_or_else(|| "the test path".to_string(), |f| format!("`{f}`")),
            ));
        }
    }

    /// `make TARGET`: its prerequisites, then its recipe lines, with the Makefile's variables.
    fn make(&mut self, target: &str, depth: u32) {
        let Some(text) = read_ci_file(self.root, "Makefile") else {
            return;
        };
        let mut make_vars = BTreeMap::new();
        for line in text.lines() {
            if line.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && let Some((name, value)) =
                    [":=", "?=", "="].iter().find_map(|op| line.split_once(op))
                && name
                    .trim()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                // `PYTEST ?= pytest  # Pytest command`: the comment is no part of the value.
                let value = value.split('#').next().unwrap_or_default();
                make_vars.insert(name.trim().to_string(), value.trim().to_string());
            }
        }
        let lines: Vec<&str> = text.lines().collect();
        let Some(at) = lines.iter().position(|l| {
            l.strip_prefix(target)
                .is_some_and(|rest| rest.starts_with(':') && !rest.starts_with(":="))
        }) else {
            return;
        };
        let prerequisites: Vec<String> = lines[at][target.len() + 1..]
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if depth < MAX_DEPTH {
            for prerequisite in prerequisites {
                self.make(&prerequisite, depth + 1);
            }
        }
        // The file's lines with this target's recipe as the shell sees it (variables
        // substituted), so that each value found keeps its line.
        let mut expanded: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        let mut recipe = String::new();
        for (offset, line) in lines[at + 1..].iter().enumerate() {
            let Some(command) = line.strip_prefix('\t') else {
                break;
            };
            let mut command = command.trim_start_matches(['@', '-', '+']).to_string();
            for (name, value) in &make_vars {
                command = command
                    .replace(&format!("$({name})"), value)
                    .replace(&format!("${{{name}}}"), value);
            }
            let (command, left_out) = without_make_references(&command);
            // Said where the line tests or installs (an `echo $(X)` is no news).
            let matters = command
                .split_whitespace()
                .any(|w| w.contains("pytest") || w == "install" || w == "sync");
            for reference in left_out.into_iter().filter(|_| matters) {
                self.note(format!(
                    "`{reference}` in the Makefile is a make function or a variable it does not set; left out"
                ));
            }
            recipe.push_str(&command);
            recipe.push('\n');
            expanded[at + 1 + offset] = command;
        }
        let file_lines: Vec<&str> = expanded.iter().map(String::as_str).collect();
        let origin = Origin {
            file: "Makefile",
            text: &file_lines,
            line: at + 1,
        };
        self.script(&recipe, origin, depth);
    }

    /// `nox -s NAME`: the string literals of `session.install(…)` and `session.run(…)` in the
    /// function that defines the session.
    fn nox(&mut self, session: &str, depth: u32) {
        let Some(text) = read_ci_file(self.root, "noxfile.py") else {
            return;
        };
        let lines: Vec<&str> = text.lines().collect();
        let Some(at) = lines.iter().enumerate().position(|(i, l)| {
            let named = format!("name=\"{session}\"");
            let named_single = format!("name='{session}'");
            l.trim_start().starts_with(&format!("def {session}("))
                || (l.trim_start().starts_with("def ")
                    && i > 0
                    && (lines[i - 1].contains(&named) || lines[i - 1].contains(&named_single)))
        }) else {
            return;
        };
        let indent = lines[at].len() - lines[at].trim_start().len();
        let end = lines[at + 1..]
            .iter()
            .position(|l| !l.trim().is_empty() && l.len() - l.trim_start().len() <= indent)
            .map_or(lines.len(), |p| at + 1 + p);
        let body = lines[at + 1..end].join("\n");
        for (call, install) in [("session.install(", true), ("session.run(", false)] {
            for (offset, _) in body.match_indices(call) {
                let args = call_strings(&body[offset + call.len()..]);
                if args.is_empty() {
                    continue;
                }
                let line = at + 2 + body[..offset].matches('\n').count();
                let origin = Origin {
                    file: "noxfile.py",
                    text: &lines,
                    line,
                };
                if install {
                    self.pip_install(&args, origin);
                } else {
                    self.command(args, origin, depth);
                }
            }
        }
    }

    /// `tox -e NAME`: the env's deps, extras, setenv and commands from tox.ini.
    fn tox(&mut self, envs: &[String], depth: u32) {
        let Some(text) = read_ci_file(self.root, "tox.ini") else {
            return;
        };
        let mut names: Vec<String> = envs.iter().map(|e| format!("testenv:{e}")).collect();
        names.push("testenv".into());
        for name in names {
            let Some(section) = ini::section(&text, &name) else {
                continue;
            };
            let lines: Vec<&str> = text.lines().collect();
            let line = locate(&lines, &format!("[{name}]"), 1);
            let origin = Origin {
                file: "tox.ini",
                text: &lines,
                line,
            };
            for dep in section.lines("deps") {
                if let Ok(words) = crate::args::split(&dep) {
                    self.pip_install(&words, origin);
                }
            }
            for extra in section.list("extras") {
                self.install_target(&format!(".[{extra}]"), origin);
            }
            for entry in section.lines("setenv") {
                if let Some((key, value)) = entry.split_once('=') {
                    self.set_env(key.trim(), value.trim(), origin);
                }
            }
            let commands: Vec<String> = section
                .lines("commands")
                .iter()
                .map(|c| c.replace("{posargs}", "").replace("{toxinidir}", "."))
                .collect();
            self.script(&commands.join("\n"), origin, depth);
            if section.get("commands").is_some() {
                break;
            }
        }
    }
}

/// Whether `rel` names a file or folder inside `root`: relative, no `..`, no link at any depth.
/// A make recipe line as the shell gets it: `$$` is a `$`, and each `$(…)` or `${…}` left after
/// the Makefile's own variables (a function such as `$(if …,…,)`, a variable it does not set)
/// removed, shown short (`$(if …)`) in the second value.
fn without_make_references(line: &str) -> (String, Vec<String>) {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut left_out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '$' && chars.get(i + 1) == Some(&'$') {
            out.push('$');
            i += 2;
            continue;
        }
        let close = match chars.get(i + 1) {
            Some('(') if chars[i] == '$' => ')',
            Some('{') if chars[i] == '$' => '}',
            _ => {
                out.push(chars[i]);
                i += 1;
                continue;
            }
        };
        let open = chars[i + 1];
        let mut depth = 0;
        let mut end = i + 1;
        while end < chars.len() {
            if chars[end] == open {
                depth += 1;
            } else if chars[end] == close {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            end += 1;
        }
        let inner: String = chars[i + 2..end.min(chars.len())].iter().collect();
        let shown = match inner.split_once(char::is_whitespace) {
            Some((head, _)) => format!("${open}{head} …{close}"),
            None => format!("${open}{inner}{close}"),
        };
        left_out.push(shown);
        i = end + 1;
    }
    (out, left_out)
}

fn inside(root: &Path, rel: &str) -> bool {
    let parts: Vec<&str> = rel
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if rel.starts_with('/') || parts.is_empty() || parts.contains(&"..") {
        return false;
    }
    let mut path = root.to_path_buf();
    for (index, part) in parts.iter().enumerate() {
        path.push(part);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            return false;
        };
        let last = index == parts.len() - 1;
        if !(meta.is_dir() || (last && meta.is_file())) {
            return false;
        }
    }
    true
}

/// The lines `[from, to)` of the body of `def NAME(` in a Python file's lines.
fn python_function(lines: &[&str], name: &str) -> Option<(usize, usize)> {
    let at = lines.iter().position(|l| {
        let l = l.trim_start();
        l.strip_prefix("async ")
            .unwrap_or(l)
            .starts_with(&format!("def {name}("))
    })?;
    let indent = lines[at].len() - lines[at].trim_start().len();
    let end = lines[at + 1..]
        .iter()
        .position(|l| !l.trim().is_empty() && l.len() - l.trim_start().len() <= indent)
        .map_or(lines.len(), |p| at + 1 + p);
    Some((at + 1, end))
}

/// The shell command a `subprocess.run(…)` call passes, from its first argument: a string
/// literal (a shell line), or a list of them (one: a shell line; several: the words).
/// `None` when any part is computed (an f-string with `{…}`, a name).
fn shell_of_call(text: &str) -> Option<String> {
    let text = text.trim_start();
    let (list, inner) = match text.strip_prefix('[') {
        Some(inner) => (true, inner),
        None => (false, text),
    };
    let mut words = Vec::new();
    let mut rest = inner.trim_start();
    loop {
        let prefix_len = rest
            .find(['"', '\''])
            .filter(|&p| rest[..p].chars().all(|c| matches!(c, 'r' | 'R')))?;
        let quote = rest[prefix_len..].chars().next()?;
        let after = &rest[prefix_len + 1..];
        let end = after.find(quote)?;
        let word = &after[..end];
        if word.contains('\\') {
            return None;
        }
        words.push(word.to_string());
        rest = after[end + 1..].trim_start();
        if !list {
            break;
        }
        match rest.chars().next() {
            Some(',') => {
                rest = rest[1..].trim_start();
                if rest.starts_with(']') {
                    break;
                }
            }
            Some(']') => break,
            _ => return None,
        }
    }
    if words.len() == 1 {
        return words.pop();
    }
    Some(
        words
            .iter()
            .map(|w| crate::args::quote(w))
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// `NAME=value` as a shell assignment.
fn assignment(word: &str) -> Option<(String, String)> {
    let (name, value) = word.split_once('=')?;
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then(|| (name.to_string(), value.to_string()))
}

/// The string literals passed positionally to a Python call, up to its closing parenthesis.
fn call_strings(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 1;
    let mut chars = text.char_indices().peekable();
    let mut after_equals = false;
    while let Some((_, c)) = chars.next() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            '=' => after_equals = true,
            ',' => after_equals = false,
            '"' | '\'' => {
                let mut value = String::new();
                for (_, d) in chars.by_ref() {
                    if d == c {
                        break;
                    }
                    value.push(d);
                }
                if depth == 1 && !after_equals {
                    out.push(value);
                }
            }
            _ => {}
        }
    }
    out
}

/// `text` with each `${{ … }}` replaced by its value in `known`, or removed.
fn without_expressions(text: &str, known: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 3..];
        let Some(end) = after.find("}}") else {
            return out;
        };
        if let Some(value) = known.get(after[..end].trim()) {
            out.push_str(value);
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The env of a mapping, scalars only.
fn env_of(value: Option<&Value>) -> Vec<(String, String)> {
    match value {
        Some(Value::Object(map)) => map
            .iter()
            .filter_map(|(k, v)| scalar(v).map(|v| (k.clone(), v)))
            .collect(),
        _ => Vec::new(),
    }
}

/// Who calls a reusable workflow (`uses: ./.github/workflows/x.yml`): the inputs its `with:`
/// gives, how deep the calls go, and whether the calling workflow tests changes.
struct Call {
    given: BTreeMap<String, String>,
    depth: u32,
    on_changes: u8,
    /// Why the calling job runs on a GPU (its name, a GPU-naming input), for a called job
    /// whose runner is chosen at run time; and the GPU its inputs name.
    evidence: Option<(String, u8)>,
    gpu_model: Option<String>,
}

/// One matrix value into `matrix.NAME`, a mapping's keys into `matrix.NAME.KEY` (nested
/// matrices: `${{ matrix.gpu.sm }}`); an expression (`fromJson`) gives nothing.
fn put_matrix_value(into: &mut BTreeMap<String, String>, name: &str, value: &Value) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                put_matrix_value(into, &format!("{name}.{key}"), inner);
            }
        }
        other => {
            if let Some(text) = scalar(other).filter(|v| !v.contains("${{")) {
                into.insert(format!("matrix.{name}"), text);
            }
        }
    }
}

/// A matrix value as a note shows it.
fn shown(value: &Value) -> String {
    scalar(value).unwrap_or_else(|| serde_json::to_string(value).unwrap_or_default())
}

/// The first combination of a job's matrix, as the expressions that read it, and for each name
/// the matrix gives several values, that name and the first value (for a note).
fn matrix_first(job: &Value) -> (BTreeMap<String, String>, Vec<(String, String)>) {
    let mut first = BTreeMap::new();
    let mut several = Vec::new();
    let Some(Value::Object(matrix)) = job.get("strategy").and_then(|s| s.get("matrix")) else {
        return (first, several);
    };
    let named = |key: &String| key != "include" && key != "exclude";
    for (name, values) in matrix.iter().filter(|(k, _)| named(k)) {
        let value = match values {
            Value::Array(items) => {
                let leg = linux_x86_leg(items);
                let Some(value) = items.get(leg) else {
                    continue;
                };
                if items.len() > 1 {
                    several.push((name.clone(), which_leg(leg, value)));
                }
                value
            }
            other => other,
        };
        put_matrix_value(&mut first, name, value);
    }
    // `include:` alone lists the combinations; beside other names, an entry that agrees with
    // the first combination adds its other names to it.
    if let Some(Value::Array(entries)) = matrix.get("include") {
        let base = matrix.keys().any(named);
        let leg = linux_x86_leg(entries);
        for (index, entry) in entries.iter().enumerate() {
            let Value::Object(entry) = entry else {
                continue;
            };
            if !base {
                if index == leg {
                    if entries.len() > 1 {
                        several.push((
                            "include".into(),
                            which_leg(leg, &Value::Object(entry.clone())),
                        ));
                    }
                    for (key, value) in entry {
                        put_matrix_value(&mut first, key, value);
                    }
                }
                continue;
            }
            let agrees = entry.iter().all(|(key, value)| {
                !matrix.contains_key(key)
                    || scalar(value)
                        .is_some_and(|v| first.get(&format!("matrix.{key}")) == Some(&v))
            });
            if agrees {
                for (key, value) in entry.iter().filter(|(k, _)| !matrix.contains_key(*k)) {
                    put_matrix_value(&mut first, key, value);
                }
            }
        }
    }
    (first, several)
}

/// The matrix value taken, as a note says it: `the first, `3.11`` or the Linux x86_64 leg.
fn which_leg(leg: usize, value: &Value) -> String {
    let which = if leg == 0 {
        "the first"
    } else {
        "the Linux x86_64 one"
    };
    format!("{which}, `{}`", shown(value))
}

/// Which of a matrix's values (or `include:` entries) to follow: the first that names a Linux
/// x86_64 runner (`ubuntu-24.04`), the only kind the GPU image is, when some leg names an
/// operating system; else the first.
fn linux_x86_leg(items: &[Value]) -> usize {
    let words = |item: &Value| -> Vec<String> {
        match item {
            Value::Object(map) => map.values().filter_map(scalar).collect::<Vec<_>>(),
            other => scalar(other).into_iter().collect(),
        }
        .into_iter()
        .map(|w| w.to_ascii_lowercase())
        .collect()
    };
    let names_os = |w: &String| {
        ["ubuntu", "linux", "windows", "macos"]
            .iter()
            .any(|os| w.contains(os))
    };
    let linux_x86 = |item: &Value| {
        let words = words(item);
        words
            .iter()
            .any(|w| w.contains("ubuntu") || w.contains("linux"))
            && !words.iter().any(|w| {
                ["arm", "aarch64", "sbsa", "windows", "macos"]
                    .iter()
                    .any(|other| w.contains(other))
            })
    };
    if !items.iter().any(|item| words(item).iter().any(names_os)) {
        return 0;
    }
    items.iter().position(linux_x86).unwrap_or(0)
}

/// Every value a job's matrix gives `name`: its list (or single value), then what `include:`
/// entries give it; scalars only, as text.
fn matrix_values(job: &Value, name: &str) -> Vec<String> {
    let Some(Value::Object(matrix)) = job.get("strategy").and_then(|s| s.get("matrix")) else {
        return Vec::new();
    };
    let mut values: Vec<String> = match matrix.get(name) {
        Some(Value::Array(items)) => items.iter().filter_map(scalar).collect(),
        Some(other) => scalar(other).into_iter().collect(),
        None => Vec::new(),
    };
    if let Some(Value::Array(entries)) = matrix.get("include") {
        values.extend(
            entries
                .iter()
                .filter_map(|entry| entry.get(name).and_then(scalar)),
        );
    }
    values.retain(|v| !v.contains("${{"));
    let mut unique = Vec::new();
    for value in values {
        if !unique.contains(&value) {
            unique.push(value);
        }
    }
    unique
}

/// The Pythons a job's steps set up with `actions/setup-python` or
/// `conda-incubator/setup-miniconda` (`python-version`, each line of it), each with its line;
/// a `${{ matrix.NAME }}` gives every value of the matrix's NAME (whose names come second).
/// A value with an expression the workflow does not give is left out.
fn setup_pythons(
    job: &Value,
    known: &BTreeMap<String, String>,
    lines: &[&str],
    file: &str,
    job_line: usize,
) -> (Vec<Found>, Vec<String>) {
    let mut found = Vec::new();
    let mut names = Vec::new();
    let Some(Value::Array(steps)) = job.get("steps") else {
        return (found, names);
    };
    // Steps are searched in order: two that use the same action have lines of their own.
    let mut cursor = job_line;
    for step in steps {
        let Some(uses) = step.get("uses").and_then(Value::as_str) else {
            continue;
        };
        let step_line = locate(lines, uses, cursor);
        cursor = step_line + 1;
        if !(uses.starts_with("actions/setup-python@")
            || uses.starts_with("conda-incubator/setup-miniconda@"))
        {
            continue;
        }
        let Some(text) = step
            .get("with")
            .and_then(|w| w.get("python-version"))
            .and_then(scalar)
        else {
            continue;
        };
        let matrix_name = text
            .trim()
            .strip_prefix("${{")
            .and_then(|t| t.strip_suffix("}}"))
            .and_then(|t| t.trim().strip_prefix("matrix."))
            .filter(|n| !n.is_empty() && !n.contains(|c: char| c.is_whitespace() || c == '.'));
        if let Some(name) = matrix_name {
            let values = matrix_values(job, name);
            if values.is_empty() {
                continue;
            }
            let matrix_line = locate(lines, &format!("{name}:"), job_line);
            for value in values {
                let at = format!("{file}:{}", locate(lines, &value, matrix_line));
                found.push(Found { value, at });
            }
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
            continue;
        }
        let at = format!("{file}:{}", locate(lines, "python-version", step_line));
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if !expressions_known(line, known) {
                continue;
            }
            found.push(Found {
                value: without_expressions(line, known).trim().to_string(),
                at: at.clone(),
            });
        }
    }
    (found, names)
}

/// Whether every `${{ … }}` of `text` has a value in `known`.
fn expressions_known(text: &str, known: &BTreeMap<String, String>) -> bool {
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        let after = &rest[start + 3..];
        let Some(end) = after.find("}}") else {
            return false;
        };
        if !known.contains_key(after[..end].trim()) {
            return false;
        }
        rest = &after[end + 2..];
    }
    true
}

/// The Python of an official Python image (`python:3.11-slim`, `docker.io/library/python:3.12`):
/// `3.11`; `None` for any other image.
fn image_python(image: &str) -> Option<String> {
    let last = image.trim().rsplit('/').next()?;
    let (repository, tag) = last.split_once(':')?;
    if repository != "python" {
        return None;
    }
    let version: String = tag
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let version = version.trim_end_matches('.');
    (version.starts_with("3.") && version.len() > 2).then(|| version.to_string())
}

/// The inputs of a reusable workflow an external job calls that carry its runner, container,
/// shell and submodules (`pytorch/test-infra`'s `linux_job_v2.yml`: `runner`, `docker-image`,
/// `script`, `submodules`).
const CALL_RUNNER: [&str; 4] = ["runner", "runs-on", "runner-label", "runner_label"];
const CALL_IMAGE: [&str; 4] = ["docker-image", "docker_image", "container-image", "image"];
const CALL_SCRIPT: [&str; 3] = ["script", "run", "command"];

/// The jobs of one GitHub workflow file, each read, with its GPU rank; `call`: the file is a
/// reusable workflow another job calls.
fn github_jobs(root: &Path, file: &str, text: &str, call: Option<&Call>) -> Vec<(CiJob, u8)> {
    let lines: Vec<&str> = text.lines().collect();
    let Some(workflow) = parse_yaml(text) else {
        return Vec::new();
    };
    let workflow_name = workflow
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut inputs: BTreeMap<String, String> = BTreeMap::new();
    if let Some(Value::Object(map)) = workflow
        .get("on")
        .and_then(|on| on.get("workflow_call"))
        .and_then(|call| call.get("inputs"))
    {
        for (name, input) in map {
            if let Some(default) = input.get("default").and_then(scalar) {
                inputs.insert(name.clone(), default);
            }
        }
        // What the caller's `with:` gives beats the defaults; only declared inputs exist.
        if let Some(call) = call {
            for (name, value) in &call.given {
                if map.contains_key(name) {
                    inputs.insert(name.clone(), value.clone());
                }
            }
        }
    }
    let workflow_env = env_of(workflow.get("env"));
    // Jobs that test pull requests or pushes come before nightly and manual ones.
    let triggers: Vec<String> = match workflow.get("on") {
        Some(Value::Object(map)) => map.keys().cloned().collect(),
        Some(other) => strings_of(other),
        None => Vec::new(),
    };
    let on_changes = call.map_or_else(
        || {
            u8::from(triggers.iter().any(|t| {
                matches!(
                    t.as_str(),
                    "push" | "pull_request" | "pull_request_target" | "merge_group"
                )
            }))
        },
        |call| call.on_changes,
    );
    let depth = call.map_or(0, |c| c.depth);
    let Some(Value::Object(jobs)) = workflow.get("jobs") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    // Each job's recipe by its key, and the jobs each one needs (see `with_build_steps`).
    let mut built: BTreeMap<String, CiRecipe> = BTreeMap::new();
    let mut needing: Vec<(usize, Vec<String>)> = Vec::new();
    for (key, job) in jobs {
        let job_line = line_of_key(text, key, locate(&lines, "jobs:", 1));
        // Names and labels with `${{ matrix.x }}` read as their first value; any other
        // expression says nothing (`${{ inputs.cuda-version }}` names no GPU).
        let (matrix, several) = matrix_first(job);
        let mut known = matrix.clone();
        for (name, value) in &inputs {
            known.insert(format!("inputs.{name}"), value.clone());
        }
        let plain = |text: &str| without_expressions(text, &known);
        let name = job.get("name").and_then(Value::as_str).unwrap_or(key);
        let plain_name = plain(name);
        let mut reader = Reader {
            root,
            job: CiJob {
                file: file.to_string(),
                line: job_line,
                name: plain_name.clone(),
                ..CiJob::default()
            },
            // The checkout is the project: a script named from it is the project's.
            vars: BTreeMap::from([("GITHUB_WORKSPACE".to_string(), ".".to_string())]),
            expressions: known.clone(),
            pending: Vec::new(),
            unresolved: Vec::new(),
            more_runs: Vec::new(),
            assigned: BTreeMap::new(),
            reading: None,
        };
        let (pythons, python_names) = setup_pythons(job, &known, &lines, file, job_line);
        reader.job.python = pythons;
        for (name, value) in several {
            let text = if python_names.contains(&name) {
                format!(
                    "the matrix of {} gives `{name}` several values: the GPU run's Python is the newest of them that Modal's image builder offers (see `python`); anything else that reads it takes {value}",
                    reader.job.describe()
                )
            } else {
                format!(
                    "the matrix of {} gives `{name}` several values; using {value}",
                    reader.job.describe()
                )
            };
            reader.note(text);
        }
        let origin = Origin {
            file,
            text: &lines,
            line: job_line,
        };
        // A job that calls a reusable workflow: its `with:` values, as far as they resolve.
        let uses = job.get("uses").and_then(Value::as_str);
        let mut with: BTreeMap<String, String> = BTreeMap::new();
        if uses.is_some()
            && let Some(Value::Object(map)) = job.get("with")
        {
            for (name, value) in map {
                if let Some(value) = scalar(value).and_then(|v| reader.expand_expressions(&v)) {
                    with.insert(name.clone(), value);
                }
            }
            reader.pending.clear();
        }
        if let Some(called) = uses.and_then(|u| u.strip_prefix("./")) {
            // A reusable workflow of the project's own: its jobs, with these inputs.
            if depth < MAX_DEPTH
                && called.starts_with(".github/workflows/")
                && let Some(called_text) = read_ci_file(root, called)
            {
                // A GPU-naming input (`gpu_type: T4`) or a backend input that says CUDA, else the
                // caller's name, says the called jobs run on a GPU when their runner cannot.
                let named_gpu = with
                    .iter()
                    .filter(|(name, _)| name.contains("gpu"))
                    .find_map(|(_, value)| gpu_model(value))
                    .map(str::to_string);
                let evidence = with
                    .iter()
                    .find(|(name, value)| {
                        (name.contains("gpu") && gpu_model(value).is_some())
                            || matches!(value.to_ascii_lowercase().as_str(), "cuda" | "gpu")
                    })
                    .map(|(name, value)| (format!("its caller's input `{name}: {value}`"), 3))
                    .or_else(|| {
                        is_gpu_word(&plain_name.to_ascii_lowercase())
                            .then(|| (format!("its caller's name `{plain_name}`"), 2))
                    });
                let call = Call {
                    given: with,
                    depth: depth + 1,
                    on_changes,
                    evidence,
                    gpu_model: named_gpu,
                };
                found.extend(
                    github_jobs(root, called, &called_text, Some(&call))
                        .into_iter()
                        .map(|(job, rank)| (job_line, job, rank)),
                );
            }
            continue;
        }
        let pick = |names: &[&str]| names.iter().find_map(|n| with.get(*n).cloned());
        let external = uses.is_some_and(|u| u.contains("/.github/workflows/"));
        let runner: Vec<String> = match (external, pick(&CALL_RUNNER)) {
            (true, Some(label)) => vec![label],
            _ => job
                .get("runs-on")
                .map(strings_of)
                .unwrap_or_default()
                .iter()
                .map(|l| plain(l))
                .collect(),
        };
        let (image, options) = match job.get("container") {
            _ if external => (pick(&CALL_IMAGE), None),
            Some(Value::String(image)) => (Some(plain(image)), None),
            Some(container) => (
                container.get("image").and_then(scalar).map(|i| plain(&i)),
                container.get("options").and_then(scalar),
            ),
            None => (None, None),
        };
        if let Some(image) = &image
            && let Some(version) = image_python(image)
        {
            reader.job.python.push(Found {
                value: version,
                at: origin.at(image),
            });
        }
        // Another vendor's job (AMD ROCm, Intel XPU, an Ascend NPU, ...) is never the GPU job of an
        // NVIDIA image, nor a CPU job.
        let gpu_inputs: Vec<&String> = with
            .iter()
            .filter(|(name, _)| name.contains("gpu"))
            .map(|(_, value)| value)
            .collect();
        if runner.iter().any(|l| other_vendor_label(l))
            || image.as_deref().is_some_and(other_vendor_label)
            || other_vendor_label(key)
            || other_vendor_label(&plain_name)
            || other_vendor_label(file.rsplit('/').next().unwrap_or(file))
            || other_vendor_label(&workflow_name)
            || gpu_inputs.iter().any(|v| other_vendor_label(v))
        {
            continue;
        }
        let mut evidence = gpu_evidence(
            &runner,
            image.as_deref(),
            options.as_deref(),
            &[key.as_str(), &plain_name],
            &plain(&format!("{workflow_name} {file}")),
        );
        if evidence.as_ref().is_none_or(|e| e.1 < 3)
            && let Some((name, value)) = with.iter().find(|(name, value)| {
                name.contains("gpu") && is_gpu_word(&value.to_ascii_lowercase())
            })
        {
            evidence = Some((format!("its input `{name}: {value}`"), 3));
        }
        // A runner chosen by an expression among hosted runners only (`x && 'ubuntu-22.04' ||
        // 'windows-2025'`) has no GPU either.
        let hosted_choice = job.get("runs-on").map(strings_of).is_some_and(|labels| {
            labels.iter().any(|label| {
                let choices = expression_choices(label);
                label.contains("${{")
                    && !choices.is_empty()
                    && choices.iter().all(|l| hosted_runner(l))
            })
        });
        if let Some(called) = call.and_then(|c| c.evidence.clone())
            && evidence.as_ref().is_none_or(|e| e.1 < called.1)
            && !runner.iter().any(|l| hosted_runner(l))
            && !hosted_choice
        {
            evidence = Some(called);
        }
        reader.job.gpu = evidence.as_ref().map(|e| e.0.clone());
        reader.job.gpu_model = runner
            .iter()
            .chain(
                with.iter()
                    .filter(|(n, _)| n.contains("gpu"))
                    .map(|(_, v)| v),
            )
            .find_map(|label| gpu_model(label))
            .or_else(|| {
                evidence
                    .is_some()
                    .then(|| call.and_then(|c| c.gpu_model.as_deref()))
                    .flatten()
            })
            .map(|model| Found {
                value: model.to_string(),
                at: reader.job.describe_at(),
            });
        reader.job.arm = runner.iter().any(|l| arm_label(l));
        let job_env = env_of(job.get("env"));
        for (name, value) in workflow_env.iter().chain(job_env.iter()) {
            if let Some(value) = reader.env_value(name, value) {
                reader
                    .expressions
                    .insert(format!("env.{name}"), value.clone());
                reader.vars.insert(name.clone(), value.clone());
                let at = if job_env.iter().any(|(n, _)| n == name) {
                    origin
                } else {
                    // The workflow's own `env:`, above its jobs.
                    Origin {
                        line: locate(&lines, &format!("{name}:"), 1),
                        ..origin
                    }
                };
                reader.set_env(name, &value, at);
            }
        }
        reader.commit_pending(0, true);
        if external {
            // The called workflow is not in the project: the inputs that carry its shell and
            // its submodules are read as this job's, as data.
            if let Some(sub) = with.get("submodules").filter(|s| *s != "false") {
                reader.job.recipe.submodules = Some(Found {
                    at: origin.at("submodules:"),
                    value: if sub == "recursive" {
                        "recursive"
                    } else {
                        "true"
                    }
                    .into(),
                });
            }
            if let Some((input, script)) = CALL_SCRIPT.iter().find_map(|n| {
                job.get("with")
                    .and_then(|w| w.get(*n))
                    .and_then(Value::as_str)
                    .map(|s| (*n, s.to_string()))
            }) {
                let line = locate(&lines, &format!("{input}:"), job_line);
                reader.script(&script, Origin { line, ..origin }, depth);
            }
        }
        let steps = match job.get("steps") {
            Some(Value::Array(steps)) => steps.clone(),
            _ => Vec::new(),
        };
        for step in &steps {
            if let Some(condition) = step.get("if").and_then(Value::as_str)
                && !reader.condition_holds(condition)
            {
                continue;
            }
            if let Some(uses) = step.get("uses").and_then(Value::as_str) {
                if let Some(local) = uses.strip_prefix("./")
                    && !local.starts_with(".github/workflows/")
                    && depth < MAX_DEPTH
                {
                    let had_pytest = reader.job.pytest.is_some();
                    reader.composite(local, step.get("with"), depth + 1);
                    if !had_pytest && reader.job.pytest.is_some() {
                        for (name, value) in env_of(step.get("env")) {
                            if let Some(value) = reader.env_value(&name, &value) {
                                reader.set_env(&name, &value, origin);
                            }
                        }
                    }
                    continue;
                }
                if uses.starts_with("actions/checkout")
                    && let Some(sub) = step
                        .get("with")
                        .and_then(|w| w.get("submodules"))
                        .and_then(scalar)
                    && sub != "false"
                {
                    reader.job.recipe.submodules = Some(Found {
                        at: origin.at("submodules:"),
                        value: sub,
                    });
                }
                continue;
            }
            let Some(run) = step.get("run").and_then(Value::as_str) else {
                continue;
            };
            let first_line = run.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            let line = locate(&lines, first_line, job_line);
            let step_origin = Origin { line, ..origin };
            // A step that runs in a folder the tree does not have runs in something the job
            // made (another repository it cloned): its tests are not the project's, unless
            // the clone is of the project itself (see `clone_of_the_project`).
            if let Some(folder) = step.get("working-directory").and_then(scalar) {
                let folder = plain(&folder);
                let rel = folder.trim_start_matches("./").trim_end_matches('/');
                if !rel.is_empty()
                    && rel != "."
                    && regular_folder(root, rel).is_none()
                    && !clone_of_the_project(root, &steps, rel)
                {
                    if run.contains("pytest") {
                        reader.note(format!(
                            "{} runs pytest in `{folder}` ({}), which is not a folder of the project (the job makes it, as a clone of another repository): not its tests",
                            reader.job.describe(),
                            step_origin.at("")
                        ));
                    }
                    continue;
                }
            }
            let step_env = env_of(step.get("env"));
            let saved = reader.vars.clone();
            let pending = reader.pending.len();
            for (name, value) in &step_env {
                if let Some(value) = reader.env_value(name, value) {
                    reader.vars.insert(name.clone(), value);
                }
            }
            let had_pytest = reader.job.pytest.is_some();
            reader.script(run, step_origin, depth);
            // A step's env belongs to the job's tests when that step runs them; what it
            // could not resolve is said only then.
            let runs_tests = !had_pytest && reader.job.pytest.is_some();
            reader.commit_pending(pending, runs_tests);
            if runs_tests {
                for (name, _) in &step_env {
                    if let Some(value) = reader.vars.get(name).cloned() {
                        let at = Origin {
                            line: locate(&lines, &format!("{name}:"), job_line),
                            ..origin
                        };
                        reader.set_env(name, &value, at);
                    }
                }
            }
            reader.vars = saved;
            reader.assigned.clear();
        }
        // Tests run on Modal (`modal run FILE`) from a job without a GPU of its own.
        if evidence.as_ref().is_none_or(|e| e.1 < 3)
            && let Some(modal) = &reader.job.modal
        {
            evidence = Some((format!("its `modal run {}`", modal.value), 3));
            reader.job.gpu = evidence.as_ref().map(|e| e.0.clone());
        }
        // The Modal client such a job installs runs it; the tests' image never needs it.
        if reader.job.modal.is_some() {
            reader.job.recipe.packages.retain(|p| {
                crate::project::requirements::package_names(&p.value) != ["modal".to_string()]
            });
        }
        built.insert(key.clone(), reader.job.recipe.clone());
        needing.push((found.len(), needs_of(job)));
        found.push((
            job_line,
            reader.job,
            evidence.map_or(0, |e| e.1 * 2 + on_changes),
        ));
    }
    for (index, needs) in needing {
        with_build_steps(&mut found[index].1, &needs, &built);
    }
    // The parser keeps mappings sorted by key: put the jobs back in the file's order.
    found.sort_by_key(|(line, _, _)| *line);
    found
        .into_iter()
        .map(|(_, job, rank)| (job, rank))
        .collect()
}

/// The jobs a job `needs:` (GitHub: a name or a list; GitLab: names or `{job: NAME}`).
fn needs_of(job: &Value) -> Vec<String> {
    match job.get("needs") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| scalar(item).or_else(|| item.get("job").and_then(scalar)))
            .collect(),
        Some(other) => scalar(other).into_iter().collect(),
        None => Vec::new(),
    }
}

/// A test job that needs a build job tests what that job builds (`needs: build` and its
/// artifact): the build's native build commands, system packages and submodules are the test
/// job's too, first, each with the line it came from.
fn with_build_steps(job: &mut CiJob, needs: &[String], built: &BTreeMap<String, CiRecipe>) {
    for need in needs {
        let Some(build) = built.get(need) else {
            continue;
        };
        let mut setup: Vec<Found> = build
            .setup
            .iter()
            .filter(|f| !job.recipe.setup.iter().any(|g| g.value == f.value))
            .cloned()
            .collect();
        setup.append(&mut job.recipe.setup);
        job.recipe.setup = setup;
        for apt in &build.apt {
            if !job.recipe.apt.iter().any(|a| a.value == apt.value) {
                job.recipe.apt.push(apt.clone());
            }
        }
        if job.recipe.submodules.is_none() {
            job.recipe.submodules.clone_from(&build.submodules);
        }
        for note in &build.setup_notes {
            if !job.notes.contains(note) {
                job.notes.push(note.clone());
            }
        }
    }
}

/// The line of the mapping key `key:` at or after line `from` (a job under `jobs:`).
fn line_of_key(text: &str, key: &str, from: usize) -> usize {
    let wanted = [
        format!("{key}:"),
        format!("\"{key}\":"),
        format!("'{key}':"),
    ];
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, line)| {
            wanted
                .iter()
                .any(|w| line.trim_start().starts_with(w.as_str()))
        })
        .map_or(from, |(i, _)| i + 1)
}

impl Reader<'_> {
    /// A step's `if:` as far as the matrix decides it (`matrix.torch == 'stable'`); anything
    /// else holds.
    fn condition_holds(&self, condition: &str) -> bool {
        let condition = condition
            .trim()
            .trim_start_matches("${{")
            .trim_end_matches("}}")
            .trim();
        // `a && b`: false when a part the matrix or the inputs decide is false. Anything
        // else (an `||`, a function, the runner's OS) holds: the step is read.
        if condition.contains("||") || condition.contains('(') {
            return true;
        }
        condition.split("&&").all(|term| {
            for (op, equal) in [("==", true), ("!=", false)] {
                if let Some((left, right)) = term.split_once(op) {
                    let left = left.trim();
                    let right = right.trim();
                    let quoted = right.len() >= 2
                        && (right.starts_with('\'') && right.ends_with('\'')
                            || right.starts_with('"') && right.ends_with('"'));
                    let right = if quoted {
                        &right[1..right.len() - 1]
                    } else {
                        right
                    };
                    if (left.starts_with("matrix.") || left.starts_with("inputs."))
                        && let Some(value) = self.expressions.get(left)
                        && (quoted || !right.contains(' '))
                    {
                        return (value == right) == equal;
                    }
                    return true;
                }
            }
            true
        })
    }
}

/// The jobs of a plain `.gitlab-ci.yml`: top-level mappings with a `script:`.
fn gitlab_jobs(root: &Path, text: &str) -> Vec<(CiJob, u8)> {
    let lines: Vec<&str> = text.lines().collect();
    let file = ".gitlab-ci.yml";
    let Some(config) = parse_yaml(text) else {
        return Vec::new();
    };
    let Value::Object(map) = &config else {
        return Vec::new();
    };
    let global_env = env_of(map.get("variables"));
    let mut found = Vec::new();
    let mut built: BTreeMap<String, CiRecipe> = BTreeMap::new();
    let mut needing: Vec<(usize, Vec<String>)> = Vec::new();
    for (key, job) in map {
        if key.starts_with('.') || job.get("script").is_none() || job.get("extends").is_some() {
            continue;
        }
        let tags = job.get("tags").map(strings_of).unwrap_or_default();
        let image = job.get("image").and_then(|i| match i {
            Value::String(s) => Some(s.clone()),
            other => other.get("name").and_then(scalar),
        });
        if tags.iter().any(|t| other_vendor_label(t))
            || image.as_deref().is_some_and(other_vendor_label)
            || other_vendor_label(key)
        {
            continue;
        }
        let evidence = gpu_evidence(&tags, image.as_deref(), None, &[key.as_str()], "");
        let arm = tags.iter().any(|t| arm_label(t)) || arm_label(key);
        let job_line = line_of_key(text, key, 1);
        let origin = Origin {
            file,
            text: &lines,
            line: job_line,
        };
        let mut reader = Reader {
            root,
            job: CiJob {
                file: file.to_string(),
                line: job_line,
                name: key.clone(),
                gpu: evidence.as_ref().map(|e| e.0.clone()),
                gpu_model: tags
                    .iter()
                    .find_map(|tag| gpu_model(tag))
                    .map(|model| Found {
                        value: model.to_string(),
                        at: format!("`{key}` ({file}:{job_line})"),
                    }),
                arm,
                ..CiJob::default()
            },
            vars: BTreeMap::from([("CI_PROJECT_DIR".to_string(), ".".to_string())]),
            expressions: BTreeMap::new(),
            pending: Vec::new(),
            unresolved: Vec::new(),
            more_runs: Vec::new(),
            assigned: BTreeMap::new(),
            reading: None,
        };
        if let Some(image) = &image
            && let Some(version) = image_python(image)
        {
            reader.job.python.push(Found {
                value: version,
                at: origin.at(image),
            });
        }
        for (name, value) in global_env.iter().chain(env_of(job.get("variables")).iter()) {
            if name == "GIT_SUBMODULE_STRATEGY" {
                if value != "none" {
                    reader.job.recipe.submodules = Some(Found {
                        value: if value == "recursive" {
                            "recursive"
                        } else {
                            "true"
                        }
                        .into(),
                        at: origin.at(name),
                    });
                }
                continue;
            }
            reader.vars.insert(name.clone(), value.clone());
            reader.set_env(name, value, origin);
        }
        for part in ["before_script", "script"] {
            for line in job.get(part).map(strings_of).unwrap_or_default() {
                let at = Origin {
                    line: locate(&lines, line.lines().next().unwrap_or(""), job_line),
                    ..origin
                };
                reader.script(&line, at, 0);
            }
        }
        built.insert(key.clone(), reader.job.recipe.clone());
        needing.push((found.len(), needs_of(job)));
        found.push((job_line, reader.job, evidence.map_or(0, |e| e.1 * 2 + 1)));
    }
    for (index, needs) in needing {
        with_build_steps(&mut found[index].1, &needs, &built);
    }
    found.sort_by_key(|(line, _, _)| *line);
    found
        .into_iter()
        .map(|(_, job, rank)| (job, rank))
        .collect()
}

/// The options of `pip install` and `uv pip install` that take no value; a short cluster of
/// them (`-qU`) too. Every other option is read as taking the next word as its value.
fn is_install_flag(option: &str) -> bool {
    const FLAGS: &[&str] = &[
        "--upgrade",
        "--pre",
        "--no-deps",
        "--no-build-isolation",
        "--quiet",
        "--verbose",
        "--user",
        "--force-reinstall",
        "--ignore-installed",
        "--no-cache-dir",
        "--no-cache",
        "--system",
        "--break-system-packages",
        "--require-hashes",
        "--no-index",
        "--isolated",
        "--no-warn-script-location",
        "--no-warn-conflicts",
        "--disable-pip-version-check",
        "--no-color",
        "--compile",
        "--no-compile",
        "--dry-run",
        "--prefer-binary",
        "--no-clean",
        "--use-pep517",
        "--no-use-pep517",
        "--check-build-dependencies",
        "--ignore-requires-python",
        "--no-build",
        "--strict",
        "--reinstall",
        "--refresh",
        "--all-extras",
        "--no-sources",
        "--exact",
        "--offline",
        "--no-progress",
        "--native-tls",
        "--no-input",
        "--force",
        "--no-python-downloads",
        "--verify-hashes",
        "--no-verify-hashes",
        "--help",
    ];
    const SHORT_FLAGS: &str = "qvUIh";
    if FLAGS.contains(&option) {
        return true;
    }
    match option.strip_prefix('-') {
        Some(cluster) if !cluster.starts_with('-') && !cluster.is_empty() => {
            cluster.chars().all(|c| SHORT_FLAGS.contains(c))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A driver's words are bounded: a part that starts with `-` (it would reach pytest as an
    /// option) is no path, and past MAX_DRIVER_WORDS distinct words nothing more is looked up.
    #[test]
    fn a_drivers_paths_are_bounded_and_never_options() {
        let dir = project(&[("tests/gpu/-pfoo_test.py", ""), ("tests/gpu/test_a.py", "")]);
        let text = "A = './tests/gpu/-pfoo_test.py'\nB = 'tests/gpu/test_a.py'\n";
        let (tests, _) = paths_a_driver_names(dir.path(), "d.py", text);
        let found: Vec<&str> = tests.iter().map(|f| f.value.as_str()).collect();
        assert_eq!(found, ["tests/gpu/test_a.py"]);
        let many: String = (0..MAX_DRIVER_WORDS)
            .map(|n| format!("'w{n}' "))
            .collect::<String>()
            + "\nB = 'tests/gpu/test_a.py'\n";
        let (tests, _) = paths_a_driver_names(dir.path(), "d.py", &many);
        assert!(tests.is_empty(), "{tests:?}");
    }

    /// Of two drivers a job runs, the note shows the one whose text named the tests, with its
    /// arguments.
    #[test]
    fn the_note_shows_the_driver_that_named_the_tests() {
        let workflow = "jobs:\n  gpu:\n    runs-on: [self-hosted, h100]\n    steps:\n      - run: python tools/prepare.py --fast\n      - run: python tools/run_gpu.py --test-filter cuda\n";
        let dir = project(&[
            (".github/workflows/w.yml", workflow),
            ("tools/prepare.py", "print('nothing')\n"),
            (
                "tools/run_gpu.py",
                "argv = ['pytest', 'tests/gpu/test_k.py', '-k', f]\n",
            ),
            ("tests/gpu/test_k.py", ""),
        ]);
        let job = detect(dir.path()).expect("a job");
        let run = job.pytest.as_ref().expect("followed through its driver");
        assert_eq!(run.paths, ["tests/gpu/test_k.py"]);
        assert_eq!(run.options, [vec!["-k".to_string(), "cuda".to_string()]]);
        assert!(
            job.notes.iter().any(|n| n.contains(
                "tests through `tools/run_gpu.py --test-filter cuda` (.github/workflows/w.yml:6)"
            )),
            "{job:?}"
        );
    }

    #[test]
    fn a_drivers_filter_option_is_its_keyword() {
        let args = |text: &str| text.split(' ').map(str::to_string).collect::<Vec<_>>();
        for (given, found) in [
            (
                "--repo-root . --test-filter a_or_b --workers 4",
                Some(("--test-filter", "a_or_b")),
            ),
            ("--filter=gpu", Some(("--filter", "gpu"))),
            ("-k fast", Some(("-k", "fast"))),
            ("--keyword x", Some(("--keyword", "x"))),
            // No value, an empty one, or another option in its place; a name that selects
            // the opposite; a control character.
            ("--test-filter", None),
            ("--exclude-filter slow", None),
            ("--test-filter a\x1b[2J", None),
            ("--filter= --x", None),
            ("--test-filter --workers 4", None),
            ("--workers 4 --filtered-out", None),
        ] {
            let expected = found.map(|(n, v)| (n.to_string(), v.to_string()));
            assert_eq!(keyword_option(&args(given)), expected, "{given}");
        }
    }

    #[test]
    fn runner_labels_name_modal_gpus() {
        for (label, model) in [
            ("b200", Some("B200")),
            ("mt-l-x86iamx-22-225-h100", Some("H100")),
            ("linux.g5.12xlarge.nvidia.gpu", Some("A10G")),
            ("aws-g6-4xlarge-plus", Some("L4")),
            ("gpu-a100-80gb", Some("A100-80GB")),
            ("a100", Some("A100")),
            ("self-hosted", None),
            ("linux.4xlarge.nvidia.gpu", None),
            // A word, not a part of one: `l40` and `t4g` are neither L40S nor T4.
            ("l40-runner", None),
            ("t4g.large", None),
        ] {
            assert_eq!(gpu_model(label), model, "{label}");
        }
    }

    #[test]
    fn quotes_enclose_literals_also_inside_f_strings() {
        assert_eq!(
            string_literals(r#"cmd = f"-e {root / 'sub/dir'}" + 'x' + "it's""#),
            vec!["-e {root / 'sub/dir'}", "it's", "sub/dir", "x"]
        );
        assert!(string_literals("no quotes, one ' alone").is_empty());
    }

    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    const GPU_WORKFLOW: &str = "name: GPU tests
on: [push]
env:
  HF_HUB_OFFLINE: 1
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - run: pip install ruff && ruff check
  gpu_test:
    runs-on: linux.g5.12xlarge.nvidia.gpu
    strategy:
      matrix:
        python-version: ['3.11', '3.12']
        torch-version: [stable, nightly]
    env:
      RUN_ONLY_CUDA_TESTS: \"1\"
    steps:
      - uses: actions/checkout@v4
        with:
          submodules: recursive
      - name: nightly
        if: ${{ matrix.torch-version == 'nightly' }}
        run: python -m pip install --pre torch --index-url https://download.pytorch.org/whl/nightly/cu128
      - name: stable
        if: ${{ matrix.torch-version == 'stable' }}
        run: python -m pip install torch torchvision torchao
      - run: |
          python -m pip install -e \".[dev,test]\"
          python -m pip install lm-eval==0.4.5 --extra-index-url https://download.pytorch.org/whl/cu128
      - env:
          SECRET: ${{ secrets.TOKEN }}
        run: |
          pytest tests --ignore tests/export --with-integration --cov=. --cov-report=xml -n 4 \\
            -k \"not slow and $PATTERN\" --durations=20 -vv
";

    /// An option's value is never a package: `--progress-bar off` must not install PyPI's `off`.
    #[test]
    fn option_values_never_become_packages() {
        let workflow = "jobs:\n  gpu:\n    runs-on: [self-hosted, gpu]\n    steps:\n      - run: pip install -qU einops --progress-bar off --timeout 60 -c constraints.txt --retries 3 --log pip.log --cache-dir /tmp/c \"triton>=3.0\" --no-deps\n      - run: pytest tests\n";
        let dir = project(&[
            (".github/workflows/gpu.yml", workflow),
            ("tests/test_x.py", ""),
        ]);
        let job = detect(dir.path()).expect("a job");
        let packages: Vec<&str> = job
            .recipe
            .packages
            .iter()
            .map(|p| p.value.as_str())
            .collect();
        assert_eq!(packages, ["einops", "triton>=3.0"], "{job:?}");
        assert!(is_install_flag("-qU") && is_install_flag("--no-deps"));
        // An AMD job's ROCm wheels are never an NVIDIA image's index.
        let amd = "jobs:\n  gpu:\n    runs-on: [self-hosted, gpu]\n    steps:\n      - run: pip install torch --index-url https://download.pytorch.org/whl/rocm7.1\n      - run: pytest tests\n";
        let dir = project(&[(".github/workflows/gpu.yml", amd), ("tests/test_x.py", "")]);
        let job = detect(dir.path()).expect("a job");
        assert!(job.recipe.index_url.is_none(), "{job:?}");
        assert!(!is_install_flag("--progress-bar") && !is_install_flag("-x"));
        // PyPI named as an extra index is the default one, no index to add.
        let pypi = "jobs:\n  gpu:\n    runs-on: gpu\n    steps:\n      - run: pip install torch --extra-index-url https://pypi.org/simple/ --extra-index-url https://download.pytorch.org/whl/cu128\n      - run: pytest tests\n";
        let dir = project(&[(".github/workflows/gpu.yml", pypi), ("tests/t.py", "")]);
        let job = detect(dir.path()).expect("a job");
        let extra: Vec<&str> = job
            .recipe
            .extra_index_urls
            .iter()
            .map(|f| f.value.as_str())
            .collect();
        assert_eq!(extra, ["https://download.pytorch.org/whl/cu128"]);
    }

    #[test]
    fn a_gpu_job_gives_packages_extras_env_submodules_and_pytest() {
        let dir = project(&[
            (".github/workflows/gpu_test.yaml", GPU_WORKFLOW),
            ("tests/export/test_x.py", ""),
        ]);
        let job = detect(dir.path()).expect("a job");
        assert_eq!(job.name, "gpu_test");
        assert!(
            job.gpu.as_deref().unwrap().contains("nvidia.gpu"),
            "{job:?}"
        );
        let values = |list: &[Found]| list.iter().map(|f| f.value.clone()).collect::<Vec<_>>();
        assert_eq!(
            values(&job.recipe.packages),
            ["torch", "torchvision", "torchao", "lm-eval==0.4.5"]
        );
        assert_eq!(
            job.recipe.index_url, None,
            "the nightly step is not the matrix's first"
        );
        assert_eq!(
            job.recipe.extra_index_urls[0].value,
            "https://download.pytorch.org/whl/cu128"
        );
        assert_eq!(values(&job.extras), ["dev", "test"]);
        assert_eq!(job.extras[0].at, ".github/workflows/gpu_test.yaml:29");
        assert_eq!(
            job.recipe.packages[2].at,
            ".github/workflows/gpu_test.yaml:27"
        );
        let env: Vec<(String, String)> = job
            .recipe
            .env
            .iter()
            .map(|(n, f)| (n.clone(), f.value.clone()))
            .collect();
        assert_eq!(
            env,
            [
                ("HF_HUB_OFFLINE".to_string(), "1".to_string()),
                ("RUN_ONLY_CUDA_TESTS".to_string(), "1".to_string())
            ]
        );
        assert_eq!(job.recipe.env[1].1.at, ".github/workflows/gpu_test.yaml:17");
        assert_eq!(job.recipe.submodules.as_ref().unwrap().value, "recursive");
        let run = job.pytest.as_ref().unwrap();
        assert_eq!(run.paths, ["tests"]);
        assert_eq!(
            run.options,
            [
                vec!["--ignore".to_string(), "tests/export".to_string()],
                vec!["--with-integration".to_string()]
            ]
        );
        assert_eq!(run.at, ".github/workflows/gpu_test.yaml:34");
        assert!(
            job.notes.iter().any(|n| n.contains("`$PATTERN`")),
            "{:?}",
            job.notes
        );
        assert!(
            job.notes
                .iter()
                .any(|n| n.contains("using the first, `3.11`"))
        );
    }

    #[test]
    fn a_cpu_job_counts_only_without_a_gpu_job_and_never_its_cpu_selection() {
        let cpu = "jobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pip install torch --index-url https://download.pytorch.org/whl/cpu\n      - run: pytest -m \"not gpu\" tests\n";
        let dir = project(&[(".github/workflows/ci.yml", cpu), ("tests/a.py", "")]);
        let job = detect(dir.path()).unwrap();
        assert_eq!(job.gpu, None);
        assert_eq!(job.recipe.index_url, None);
        assert!(job.pytest_options().is_empty(), "{job:?}");
        assert_eq!(job.pytest.as_ref().unwrap().paths, ["tests"]);
        let gpu = "jobs:\n  cuda:\n    runs-on: [self-hosted, a100]\n    steps:\n      - run: make test-gpu\n";
        let makefile = "PYTEST_ARGS := -m gpu\ntest-gpu: deps\n\t@RUN_CUDA=1 pytest $(PYTEST_ARGS) tests\ndeps:\n\tpip install -r requirements/test.txt\n";
        let dir = project(&[
            (".github/workflows/ci.yml", cpu),
            (".github/workflows/gpu.yml", gpu),
            ("Makefile", makefile),
            ("requirements/test.txt", "pytest\n"),
            ("tests/a.py", ""),
        ]);
        let job = detect(dir.path()).unwrap();
        assert_eq!(job.name, "cuda");
        assert_eq!(
            job.pytest_options(),
            [vec!["-m".to_string(), "gpu".to_string()]]
        );
        assert_eq!(job.pytest.as_ref().unwrap().at, "Makefile:3");
        assert_eq!(job.requirements[0].value, "requirements/test.txt");
        assert_eq!(job.requirements[0].at, "Makefile:5");
        assert_eq!(job.recipe.env[0].0, "RUN_CUDA");
    }

    #[test]
    fn nox_tox_and_gitlab_are_followed() {
        let noxfile = "import nox\n\n@nox.session(python=\"3.12\")\ndef tests_gpu(session):\n    session.install(\"-e\", \".[test]\", \"cupy-cuda12x\")\n    session.run(\"pytest\", \"tests\", \"-m\", \"cuda\", *session.posargs)\n\ndef other(session):\n    session.install(\"nope\")\n";
        let gitlab = "variables:\n  GIT_SUBMODULE_STRATEGY: recursive\ngpu-tests:\n  tags: [gpu]\n  script:\n    - nox -s tests_gpu\ncpu:\n  script:\n    - tox -e py312\n";
        let dir = project(&[
            (".gitlab-ci.yml", gitlab),
            ("noxfile.py", noxfile),
            ("tests/t.py", ""),
        ]);
        let job = detect(dir.path()).unwrap();
        assert_eq!(job.file, ".gitlab-ci.yml");
        assert_eq!(job.extras[0].value, "test");
        assert_eq!(job.recipe.packages[0].value, "cupy-cuda12x");
        assert_eq!(job.recipe.packages[0].at, "noxfile.py:5");
        assert_eq!(job.recipe.submodules.as_ref().unwrap().value, "recursive");
        assert_eq!(
            job.pytest_options(),
            [vec!["-m".to_string(), "cuda".to_string()]]
        );
        let tox = "[testenv]\ndeps =\n    pytest\n    jax[cuda12]\nsetenv =\n    XLA_PYTHON_CLIENT_PREALLOCATE = false\ncommands = pytest {posargs} tests\n";
        let dir = project(&[
            (
                ".github/workflows/t.yml",
                "jobs:\n  gpu:\n    runs-on: gpu-runner\n    steps:\n      - run: tox -e py312\n",
            ),
            ("tox.ini", tox),
            ("tests/t.py", ""),
        ]);
        let job = detect(dir.path()).unwrap();
        assert_eq!(job.recipe.packages[1].value, "jax[cuda12]");
        assert_eq!(job.recipe.env[0].0, "XLA_PYTHON_CLIENT_PREALLOCATE");
        assert_eq!(job.pytest.as_ref().unwrap().paths, ["tests"]);
    }

    #[test]
    fn build_scripts_become_setup_and_links_are_not_followed() {
        let workflow = "jobs:\n  gpu:\n    runs-on: [nvidia-gpu]\n    steps:\n      - run: python build_lib.py --cuda\n      - run: bash ci/test.sh\n      - run: pytest\n";
        let dir = project(&[
            (".github/workflows/t.yml", workflow),
            ("build_lib.py", ""),
            ("outside.sh", "pip install evil\n"),
        ]);
        std::fs::create_dir(dir.path().join("ci")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside.sh"), dir.path().join("ci/test.sh"))
            .unwrap();
        std::os::unix::fs::symlink("/etc", dir.path().join("etc-link")).unwrap();
        assert!(inside(dir.path(), "ci"));
        for refused in [
            "/etc",
            "etc-link",
            "etc-link/hostname",
            "ci/../ci",
            "ci/test.sh",
        ] {
            assert!(!inside(dir.path(), refused), "{refused}");
        }
        let job = detect(dir.path()).unwrap();
        assert_eq!(job.recipe.setup[0].value, "python build_lib.py --cuda");
        assert!(job.recipe.packages.is_empty(), "{job:?}");
    }

    /// mamba's and diffusers' scripts start commands with a variable (`$PIP install`): detection
    /// panicked on them.
    #[test]
    fn odd_scripts_never_panic() {
        for script in [
            "$PIP install torch",
            "${CMD}",
            "$(nproc)",
            "\"$X\" && ; | || pytest",
            "X=1",
            "export",
            "then",
            "python -m",
            "uv run --extra",
            "pip install -r",
            "pytest -m",
            "make",
            "nox -s",
            "tox -e",
            "git submodule",
            "coverage run -m",
            "bash",
            "'unclosed",
            "${{ matrix.x }} install",
            "${{",
            "-x $Y",
            "--flag $A $B",
        ] {
            let workflow = format!(
                "jobs:\n  gpu:\n    runs-on: gpu\n    steps:\n      - run: {}\n",
                serde_json::to_string(script).unwrap()
            );
            let dir = project(&[(".github/workflows/w.yml", &workflow)]);
            // A GPU job that runs no pytest is no test job; none of these panics.
            let job = detect(dir.path());
            assert!(job.is_none() || script.contains("pytest"), "{script}");
        }
    }

    /// mamba's wheel build job was taken for its GPU tests: `cuda` was in
    /// `${{ inputs.cuda-version }}`, and it runs no pytest.
    #[test]
    fn only_gpu_jobs_that_run_tests_count_and_expressions_name_nothing() {
        let build = "jobs:\n  build:\n    name: Build wheel (${{ inputs.cuda-version }})\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest tests\n  wheel:\n    runs-on: [gpu]\n    steps:\n      - run: python -m build\n  gpu:\n    strategy:\n      matrix:\n        gpu: [h100-runner, b200-runner]\n    runs-on: ${{ matrix.gpu }}\n    steps:\n      - run: pytest tests/gpu\n";
        let dir = project(&[(".github/workflows/w.yml", build), ("tests/gpu/t.py", "")]);
        let job = detect(dir.path()).unwrap();
        assert_eq!(job.name, "gpu");
        assert_eq!(job.gpu.as_deref(), Some("its runner `h100-runner`"));
        let dir = project(&[(
            ".github/workflows/w.yml",
            &build[..build.find("  wheel:").unwrap()],
        )]);
        let job = detect(dir.path()).unwrap();
        assert_eq!(job.gpu, None, "{job:?}");
        assert_eq!(job.name, "Build wheel ()");
        // A hosted runner has no GPU, whatever the name says.
        let spoof = "jobs:\n  imports_under_cuda_spoof:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest tests\n";
        let dir = project(&[(".github/workflows/w.yml", spoof), ("tests/t.py", "")]);
        assert_eq!(detect(dir.path()).unwrap().gpu, None);
    }

    /// unsloth's scripts overflowed the stack: a script that runs itself, a make target that
    /// needs itself, are followed only so deep.
    #[test]
    fn scripts_and_targets_that_call_themselves_end() {
        let dir = project(&[
            (
                ".github/workflows/w.yml",
                "jobs:\n  gpu:\n    runs-on: gpu\n    steps:\n      - run: bash run.sh && make loop && nox -s again\n",
            ),
            ("run.sh", "bash run.sh\n./run.sh\npytest tests\n"),
            ("Makefile", "loop: loop\n\tmake loop\n"),
            (
                "noxfile.py",
                "def again(session):\n    session.run(\"nox\", \"-s\", \"again\")\n",
            ),
            ("tests/t.py", ""),
        ]);
        let job = detect(dir.path()).unwrap();
        assert_eq!(job.pytest.unwrap().at, "run.sh:3");
    }

    #[test]
    fn here_documents_are_data_and_collect_only_runs_no_tests() {
        let workflow = "jobs:\n  gpu:\n    runs-on: gpu\n    steps:\n      - run: |\n          python - <<'EOF'\n          pip install evil\n          X=1 pytest nowhere\n          EOF\n          pytest --collect-only tests\n          pytest tests -x\n";
        let dir = project(&[(".github/workflows/w.yml", workflow), ("tests/t.py", "")]);
        let job = detect(dir.path()).unwrap();
        assert!(
            job.recipe.packages.is_empty() && job.recipe.env.is_empty(),
            "{job:?}"
        );
        assert_eq!(job.pytest.unwrap().at, ".github/workflows/w.yml:11");
    }

    #[test]
    fn jobs_keep_the_files_order() {
        let workflow = "jobs:\n  zeta_gpu:\n    runs-on: gpu\n    steps:\n      - run: pytest tests/z\n  alpha_gpu:\n    runs-on: gpu\n    steps:\n      - run: pytest tests/a\n";
        let dir = project(&[(".github/workflows/w.yml", workflow)]);
        assert_eq!(detect(dir.path()).unwrap().name, "zeta_gpu");
        // Of two GPU jobs as sure, the one whose pytest command resolves whole.
        let workflow = "jobs:\n  zeta_gpu:\n    runs-on: gpu\n    strategy:\n      matrix:\n        module: ${{ fromJson(needs.x.outputs.m) }}\n    steps:\n      - run: pytest tests/${{ matrix.module }}\n  alpha_gpu:\n    runs-on: gpu\n    steps:\n      - run: pytest tests/a\n";
        let dir = project(&[(".github/workflows/w.yml", workflow), ("tests/a/t.py", "")]);
        assert_eq!(detect(dir.path()).unwrap().name, "alpha_gpu");
    }

    /// A job calling the project's own reusable workflow: its inputs come from `with:` (the
    /// caller's matrix resolved); an external reusable workflow's `runner` and `script` inputs
    /// are the job's label and shell, read as data.
    #[test]
    fn reusable_workflows_are_followed_with_their_inputs() {
        let caller = "on: [pull_request]\njobs:\n  cuda:\n    strategy:\n      matrix:\n        torch: ['2.8.0', '2.7.1']\n    uses: ./.github/workflows/runner.yml\n    with:\n      runner: linux-gpu-l4\n      torch: ${{ matrix.torch }}\n";
        let called = "on:\n  workflow_call:\n    inputs:\n      runner:\n        type: string\n      torch:\n        type: string\n        default: '2.0'\n      marks:\n        type: string\n        default: cuda\njobs:\n  test:\n    runs-on: ${{ inputs.runner }}\n    steps:\n      - run: pip install torch==${{ inputs.torch }}\n      - run: pytest tests -m ${{ inputs.marks }}\n";
        let dir = project(&[
            (".github/workflows/pr.yml", caller),
            (".github/workflows/runner.yml", called),
            ("tests/t.py", ""),
        ]);
        let job = detect(dir.path()).expect("a job");
        assert_eq!(job.file, ".github/workflows/runner.yml");
        assert_eq!(job.gpu.as_deref(), Some("its runner `linux-gpu-l4`"));
        assert_eq!(job.recipe.packages[0].value, "torch==2.8.0", "{job:?}");
        assert_eq!(
            job.pytest_options(),
            [vec!["-m".to_string(), "cuda".to_string()]]
        );
        let external = "on: [push]\njobs:\n  tests:\n    uses: org/infra/.github/workflows/linux_job.yml@main\n    with:\n      runner: linux.g5.4xlarge.nvidia.gpu\n      gpu-arch-type: cuda\n      submodules: recursive\n      script: |\n        pip install -e '.[dev]' einops\n        pytest tests -k 'not slow'\n";
        let dir = project(&[(".github/workflows/gpu.yml", external), ("tests/t.py", "")]);
        let job = detect(dir.path()).expect("a job");
        assert_eq!(
            job.gpu.as_deref(),
            Some("its runner `linux.g5.4xlarge.nvidia.gpu`")
        );
        assert_eq!(job.extras[0].value, "dev");
        assert_eq!(job.recipe.packages[0].value, "einops");
        assert_eq!(job.recipe.packages[0].at, ".github/workflows/gpu.yml:10");
        assert_eq!(job.recipe.submodules.as_ref().unwrap().value, "recursive");
        assert_eq!(
            job.pytest.as_ref().unwrap().at,
            ".github/workflows/gpu.yml:11"
        );
        // The label alone says nothing; the `gpu-arch-type` input does.
        let dir = project(&[
            (
                ".github/workflows/gpu.yml",
                &external.replace("linux.g5.4xlarge.nvidia.gpu", "linux.large"),
            ),
            ("tests/t.py", ""),
        ]);
        let job = detect(dir.path()).expect("a job");
        assert_eq!(job.gpu.as_deref(), Some("its input `gpu-arch-type: cuda`"));
    }

    /// An AMD job (ROCm labels, containers and inputs, Instinct boards) is never the job an
    /// NVIDIA image follows, even listed first; `amd64` is no AMD GPU.
    #[test]
    fn amd_jobs_are_never_the_gpu_job() {
        for amd in [
            "    runs-on: [self-hosted, mi300x]\n",
            "    runs-on: linux.rocm.gpu.2\n",
            "    runs-on: gpu\n    container: rocm/pytorch:latest\n",
            "    runs-on: [self-hosted, amd, gpu]\n",
        ] {
            let workflow = format!(
                "jobs:\n  first:\n{amd}    steps:\n      - run: pytest tests/amd\n  second:\n    runs-on: [self-hosted, linux-amd64, a100]\n    steps:\n      - run: pytest tests/cuda\n"
            );
            let dir = project(&[
                (".github/workflows/w.yml", &workflow),
                ("tests/amd/t.py", ""),
                ("tests/cuda/t.py", ""),
            ]);
            let job = detect(dir.path()).expect("a job");
            assert_eq!(job.name, "second", "{amd}");
            assert_eq!(job.pytest.unwrap().paths, ["tests/cuda"]);
        }
        let external = "jobs:\n  rocm:\n    uses: org/infra/.github/workflows/job.yml@main\n    with:\n      runner: linux.gpu\n      gpu-arch-type: rocm\n      script: pytest tests\n";
        let dir = project(&[(".github/workflows/w.yml", external), ("tests/t.py", "")]);
        assert_eq!(detect(dir.path()), None);
        assert!(
            !other_vendor_label("ubuntu-24.04-amd64")
                && other_vendor_label("MI250")
                && !other_vendor_label("mixed")
        );
        assert!(
            other_vendor_label("Test A2 NPU (PyTorch 2.7.1)")
                && other_vendor_label("intel-xpu-runner")
        );
        assert!(
            other_vendor_label("ascend-a2-ci.yml")
                && !other_vendor_label("input")
                && !other_vendor_label("setup")
        );
    }

    /// A job on a hosted runner that runs `modal run FILE` runs its tests on a GPU: the file is
    /// read as text, its `subprocess` shell lines like a step; never imported.
    #[test]
    fn a_modal_run_is_a_gpu_job_read_from_the_file_text() {
        let workflow = "on: [pull_request]\njobs:\n  lint:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest tests/cpu\n  gpu:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/setup-python@v5\n        with:\n          python-version: '3.10'\n      - run: pip install modal\n      - run: modal run -m dev.modal.tests::gpu_tests\n";
        let modal = "import modal\nimport subprocess\nPYTHON_VERSION = \"3.12\"\n@app.function(gpu=\"H100!\")\ndef other():\n    subprocess.run([\"pip install evil\"], shell=True)\n\n@app.function(gpu=\"H100\")\ndef gpu_tests():\n    subprocess.run(\n        [\"uv pip install -e '.[dev]' --system\"],\n        check=True,\n        shell=True,\n    )\n    subprocess.run([f\"pip install 'x=={X}'\"], shell=True)\n    subprocess.run([\"pytest\", \"tests/gpu\", \"-x\"], check=True)\n";
        let dir = project(&[
            (".github/workflows/w.yml", workflow),
            ("dev/modal/tests.py", modal),
            ("tests/cpu/t.py", ""),
            ("tests/gpu/t.py", ""),
        ]);
        let job = detect(dir.path()).expect("a job");
        assert_eq!(job.name, "gpu");
        assert_eq!(
            job.gpu.as_deref(),
            Some("its `modal run dev/modal/tests.py`")
        );
        assert_eq!(job.extras[0].value, "dev");
        assert!(job.recipe.packages.is_empty(), "{job:?}");
        let run = job.pytest.as_ref().unwrap();
        assert_eq!(run.paths, ["tests/gpu"]);
        assert_eq!(run.options, [vec!["-x".to_string()]]);
        assert_eq!(run.at, "dev/modal/tests.py:16");
        // The file's GPU and Python are the tests'; the job's Python is the Modal client's.
        assert_eq!(
            job.gpu_model,
            Some(Found {
                value: "H100".into(),
                at: "`gpu` (dev/modal/tests.py:4)".into()
            })
        );
        let pythons: Vec<&str> = job.python.iter().map(|f| f.value.as_str()).collect();
        assert_eq!(pythons, ["3.12"], "{job:?}");
        assert_eq!(shell_of_call("[\"a b\", 'c']"), Some("'a b' c".to_string()));
        assert_eq!(shell_of_call("cmd, shell=True)"), None);
    }

    /// A CUDA container on a GitHub-hosted runner builds (no GPU is attached), unless it asks
    /// for one with `--gpus`; a step that runs in a folder the tree does not have (another
    /// repository the job clones) runs none of the project's tests.
    #[test]
    fn hosted_cuda_containers_and_cloned_repositories_are_not_the_gpu_tests() {
        let workflow = "jobs:\n  build:\n    runs-on: ubuntu-latest\n    container: nvidia/cuda:12.8.1-devel-ubuntu24.04\n    steps:\n      - run: pytest tests/test_import.py\n  other:\n    runs-on: [self-hosted, l4]\n    steps:\n      - run: git clone https://github.com/o/other other\n      - run: pytest -k TestOurs\n        working-directory: other/\n      - run: pytest tests -m gpu\n        working-directory: ./\n";
        let dir = project(&[
            (".github/workflows/w.yml", workflow),
            ("tests/test_import.py", ""),
        ]);
        let job = detect(dir.path()).expect("a job");
        assert_eq!(job.name, "other", "{job:?}");
        let run = job.pytest.as_ref().unwrap();
        assert_eq!(run.paths, ["tests"], "{job:?}");
        assert_eq!(run.options, [vec!["-m".to_string(), "gpu".to_string()]]);
        assert!(
            job.notes.iter().any(|n| n.contains(
                "runs pytest in `other/` (.github/workflows/w.yml:11), which is not a folder of the project"
            )),
            "{job:?}"
        );
        // A clone of the project itself (the tested commit checked out in it, or the
        // project's name) is the project: its tests are read.
        for setup in [
            "git clone https://github.com/o/anything; cd anything; git checkout ${{ github.sha }}",
            "git clone https://github.com/o/Demo_Pkg.git anything",
        ] {
            let workflow = format!(
                "jobs:\n  gpu:\n    runs-on: [self-hosted, l4]\n    steps:\n      - run: {setup}\n      - run: pytest tests -m gpu\n        working-directory: anything\n"
            );
            let dir = project(&[
                (".github/workflows/w.yml", &workflow),
                ("pyproject.toml", "[project]\nname = \"demo-pkg\"\n"),
                ("tests/test_import.py", ""),
            ]);
            let job = detect(dir.path()).expect("a job");
            let run = job.pytest.as_ref().expect("its pytest");
            assert_eq!(run.paths, ["tests"], "{setup}: {job:?}");
        }
        // With the GPU asked for, the container is a GPU job's.
        let workflow = "jobs:\n  build:\n    runs-on: ubuntu-latest\n    container:\n      image: nvidia/cuda:12.8.1-devel-ubuntu24.04\n      options: --gpus all\n    steps:\n      - run: pytest tests/test_import.py\n";
        let dir = project(&[
            (".github/workflows/w.yml", workflow),
            ("tests/test_import.py", ""),
        ]);
        let job = detect(dir.path()).expect("a job");
        assert_eq!(job.gpu.as_deref(), Some("its container's `--gpus`"));
    }

    /// A reusable workflow that a CPU caller and a CUDA caller both call, whose runner is
    /// chosen at run time: the CUDA caller's inputs (`backend: cuda`, `gpu_type: T4`) make its
    /// test job the GPU job, with its GPU, env and the build of the job it needs; a build
    /// script that builds in a docker container is said, not taken as `setup`.
    #[test]
    fn a_callers_inputs_say_the_called_job_runs_on_a_gpu() {
        let callers = "on: [pull_request]\njobs:\n  cpu:\n    uses: ./.github/workflows/runner.yml\n    with:\n      backend: cpu\n  cuda:\n    name: CUDA ${{ matrix.cuda }}\n    strategy:\n      matrix:\n        gpu_type: [T4, L40S]\n        cuda: ['12.6']\n    uses: ./.github/workflows/runner.yml\n    with:\n      backend: cuda\n      gpu_type: ${{ matrix.gpu_type }}\n";
        let runner = "on:\n  workflow_call:\n    inputs:\n      backend:\n        type: string\n      gpu_type:\n        type: string\n        default: ''\nenv:\n  SKIP_CMAKE: 1\njobs:\n  build:\n    runs-on: ${{ inputs.backend == 'cpu' && 'ubuntu-22.04' || 'ubuntu-24.04' }}\n    steps:\n      - if: inputs.backend == 'cuda'\n        run: bash scripts/build-cuda.sh\n      - if: inputs.backend == 'cuda'\n        run: bash scripts/build-native.sh\n  test:\n    needs: build\n    runs-on: ${{ needs.build.outputs.runner }}\n    env:\n      TEST_DEVICE: ${{ inputs.backend }}\n    steps:\n      - run: pytest tests\n";
        let dir = project(&[
            (".github/workflows/callers.yml", callers),
            (".github/workflows/runner.yml", runner),
            (
                "scripts/build-cuda.sh",
                "set -e\n  docker run -v \"$PWD:/src\" nvidia/cuda bash -c 'cmake . && cmake --build .'\n",
            ),
            ("scripts/build-native.sh", "cmake . && cmake --build .\n"),
            ("tests/t.py", ""),
        ]);
        let (job, _, gpu) = detect_with_notes(dir.path());
        let job = job.expect("a job");
        assert_eq!(
            job.gpu.as_deref(),
            Some("its caller's input `backend: cuda`"),
            "{job:?}"
        );
        assert_eq!(gpu.map(|g| g.value).as_deref(), Some("T4"));
        let env: Vec<(&str, &str, &str)> = job
            .recipe
            .env
            .iter()
            .map(|(n, f)| (n.as_str(), f.value.as_str(), f.at.as_str()))
            .collect();
        assert_eq!(
            env,
            [
                ("SKIP_CMAKE", "1", ".github/workflows/runner.yml:10"),
                ("TEST_DEVICE", "cuda", ".github/workflows/runner.yml:23")
            ],
            "{job:?}"
        );
        let setup: Vec<&str> = job.recipe.setup.iter().map(|f| f.value.as_str()).collect();
        assert_eq!(setup, ["bash scripts/build-native.sh"], "{job:?}");
        // Its build job runs on hosted runners whichever the expression picks: not a GPU job.
        assert!(
            !job.notes.iter().any(|n| n.contains("passed over")),
            "{job:?}"
        );
        assert_eq!(
            expression_choices("${{ a == 'cpu' && 'ubuntu-22.04' || 'windows-2025' }}"),
            ["ubuntu-22.04", "windows-2025"]
        );
        assert!(
            job.notes.iter().any(|n| n.starts_with(
                "`scripts/build-cuda.sh` (.github/workflows/runner.yml:16) builds in a container of its own (`scripts/build-cuda.sh:2` runs docker)"
            )),
            "{job:?}"
        );
    }

    /// `${{ matrix.gpu.sm }}` reads the first entry's key; `include:` alone gives the first
    /// combination; several values are said with the one taken.
    #[test]
    fn nested_and_included_matrix_values_resolve() {
        let workflow = "jobs:\n  gpu:\n    strategy:\n      matrix:\n        gpu: [{sm: 89, runner: l4-runner}, {sm: 90, runner: h100-runner}]\n    runs-on: ${{ matrix.gpu.runner }}\n    steps:\n      - run: TORCH_CUDA_ARCH_LIST=${{ matrix.gpu.sm }} pytest tests\n";
        let dir = project(&[(".github/workflows/w.yml", workflow), ("tests/t.py", "")]);
        let job = detect(dir.path()).expect("a job");
        assert_eq!(job.gpu.as_deref(), Some("its runner `l4-runner`"));
        assert_eq!(job.recipe.env[0].1.value, "89", "{job:?}");
        assert!(
            job.notes
                .iter()
                .any(|n| n.contains("gives `gpu` several values; using the first, `{\"runner\":\"l4-runner\",\"sm\":89}`")),
            "{:?}",
            job.notes
        );
        let include = "jobs:\n  gpu:\n    strategy:\n      matrix:\n        python: ['3.11']\n        include:\n          - python: '3.12'\n            runner: wrong\n          - python: '3.11'\n            runner: a100-box\n            marks: cuda\n    runs-on: ${{ matrix.runner }}\n    steps:\n      - run: pytest tests -m ${{ matrix.marks }}\n";
        let dir = project(&[(".github/workflows/w.yml", include), ("tests/t.py", "")]);
        let job = detect(dir.path()).expect("a job");
        assert_eq!(job.gpu.as_deref(), Some("its runner `a100-box`"));
        assert_eq!(
            job.pytest_options(),
            [vec!["-m".to_string(), "cuda".to_string()]]
        );
        assert!(
            job.notes.iter().all(|n| !n.contains("several")),
            "{:?}",
            job.notes
        );
    }

    /// `-x`, `--exitfirst` and `--maxfail` are the project's choice: kept; `-rx` is a report.
    #[test]
    fn stopping_early_is_kept() {
        for (command, kept) in [
            ("pytest tests -xvs", vec![vec!["-x"]]),
            ("pytest tests --exitfirst", vec![vec!["--exitfirst"]]),
            ("pytest tests --maxfail 3", vec![vec!["--maxfail", "3"]]),
            ("pytest tests --maxfail=3", vec![vec!["--maxfail=3"]]),
            ("pytest tests -rx -v", vec![]),
        ] {
            let workflow =
                format!("jobs:\n  gpu:\n    runs-on: gpu\n    steps:\n      - run: {command}\n");
            let dir = project(&[(".github/workflows/w.yml", &workflow), ("tests/t.py", "")]);
            let job = detect(dir.path()).expect("a job");
            assert_eq!(job.pytest_options(), kept, "{command}");
        }
    }

    /// Steps and commands that neither install nor test say nothing of what they leave out;
    /// YAML 1.1 `yes`/`no`/`on` are strings, as GitHub reads them.
    #[test]
    fn quiet_steps_and_yaml_core_strings() {
        let workflow = "env:\n  FLAG: yes\n  OTHER: on\njobs:\n  gpu:\n    runs-on: gpu\n    env:\n      OFF: no\n    steps:\n      - env:\n          TOKEN: ${{ secrets.X }}\n        run: echo ${{ github.sha }} && X=$(nproc)\n      - run: |\n          echo $UNSET\n          pip install ${{ inputs.extra }} torch\n          pytest tests\n";
        let dir = project(&[(".github/workflows/w.yml", workflow), ("tests/t.py", "")]);
        let job = detect(dir.path()).expect("a job");
        let env: Vec<(&str, &str)> = job
            .recipe
            .env
            .iter()
            .map(|(n, f)| (n.as_str(), f.value.as_str()))
            .collect();
        assert_eq!(env, [("FLAG", "yes"), ("OTHER", "on"), ("OFF", "no")]);
        assert_eq!(
            job.notes,
            [
                "`${{ inputs.extra }}` in .github/workflows/w.yml has no value the workflow gives; left out"
            ],
            "{job:?}"
        );
        assert_eq!(job.recipe.packages[0].value, "torch");
        // A secret the tests' step reads is named with the key that gives it.
        let workflow = "jobs:\n  gpu:\n    runs-on: gpu\n    steps:\n      - env:\n          HF_TOKEN: ${{ secrets.HUB_READ }}\n        run: pytest tests\n";
        let dir = project(&[(".github/workflows/w.yml", workflow), ("tests/t.py", "")]);
        let job = detect(dir.path()).expect("a job");
        assert!(
            job.notes[0]
                .starts_with("`HF_TOKEN` is the secret `HUB_READ` in .github/workflows/w.yml")
                && job.notes[0].contains("`modal-secrets`"),
            "{:?}",
            job.notes
        );
    }

    /// A Makefile GPU target no CI job calls is the GPU job (before any CPU job), its
    /// variables' comments no part of their values.
    #[test]
    fn a_local_gpu_target_counts_when_no_ci_job_calls_it() {
        let makefile = "PYTHON ?= python3  # Python command\nPYTEST ?= pytest  # Pytest command\nEXTRA ?=  # more\n\ntest:\n\t$(PYTHON) -m $(PYTEST) $(EXTRA)\n\ntest-gpu:\n\tWORLD_SIZE=1 $(PYTHON) -m $(PYTEST) -m gpu $(EXTRA)\n";
        let cpu =
            "jobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make test\n";
        let dir = project(&[
            ("Makefile", makefile),
            (".github/workflows/ci.yml", cpu),
            ("tests/t.py", ""),
        ]);
        let job = detect(dir.path()).expect("a job");
        assert_eq!(job.describe(), "`test-gpu` in Makefile");
        assert_eq!(
            job.pytest_options(),
            [vec!["-m".to_string(), "gpu".to_string()]]
        );
        assert_eq!(job.recipe.env[0].0, "WORLD_SIZE");
        assert_eq!(job.pytest.unwrap().at, "Makefile:9");
        // Make functions and variables the Makefile does not set are left out whole, with a
        // note; a second pytest run is said, never merged.
        let makefile = "tests_gpu:\n\tpython -m pytest tests/a.py -k \"not slow\" $(if $(IS_CI),--report-log \"a.log\",)\n\tpython -m pytest -m single tests/b.py $(EXTRA)\n\tpytest tests/b.py $(if $(IS_CI),x,)\n\techo $$HOME $(NOTHING)\n";
        let dir = project(&[
            ("Makefile", makefile),
            ("tests/a.py", ""),
            ("tests/b.py", ""),
        ]);
        let job = detect(dir.path()).expect("a job");
        let run = job.pytest.clone().unwrap();
        assert_eq!(run.paths, ["tests/a.py"]);
        assert_eq!(
            run.options,
            [vec!["-k".to_string(), "not slow".to_string()]]
        );
        assert_eq!(
            job.notes,
            [
                "`$(if …)` in the Makefile is a make function or a variable it does not set; left out",
                "`$(EXTRA)` in the Makefile is a make function or a variable it does not set; left out",
                "the job runs pytest 2 more times (Makefile:3, Makefile:4); gpu-ci follows the first run (Makefile:2) only: widen `test-path` or change `pytest-args` if the GPU run should cover them",
            ]
        );
        assert_eq!(
            without_make_references("a $$(date) ${X} $(call f,$(Y)) b"),
            (
                "a $(date)   b".to_string(),
                vec!["${X}".to_string(), "$(call …)".to_string()]
            )
        );
        let dir = project(&[("Makefile", "test:\n\tpytest\n"), ("tests/t.py", "")]);
        assert_eq!(detect(dir.path()), None);
    }

    #[test]
    fn pythons_from_setup_steps_matrices_and_images() {
        assert_eq!(image_python("python:3.11-slim").as_deref(), Some("3.11"));
        assert_eq!(
            image_python("docker.io/library/python:3.12.4-bookworm").as_deref(),
            Some("3.12.4")
        );
        assert_eq!(image_python("nvidia/cuda:12.4.1-devel"), None);
        assert_eq!(image_python("python:latest"), None);
        assert_eq!(image_python("mypython:3.11"), None);
        let workflow = "jobs:\n  gpu:\n    runs-on: [self-hosted, gpu]\n    strategy:\n      matrix:\n        py: ['3.10', '3.11']\n        include:\n          - py: '3.12'\n    env:\n      PY: '3.9'\n    steps:\n      - uses: actions/setup-python@v5\n        with:\n          python-version: ${{ matrix.py }}\n      - uses: conda-incubator/setup-miniconda@v3\n        with:\n          python-version: ${{ env.PY }}\n      - uses: actions/setup-python@v5\n        with:\n          python-version: |\n            3.8\n            3.13\n      - run: pytest tests\n";
        let dir = project(&[(".github/workflows/gpu.yml", workflow), ("tests/t.py", "")]);
        let job = detect(dir.path()).expect("a job");
        let pythons: Vec<(&str, &str)> = job
            .python
            .iter()
            .map(|f| (f.value.as_str(), f.at.as_str()))
            .collect();
        // `env.PY` is no expression the job's matrix or inputs give: left out.
        assert_eq!(
            pythons,
            [
                ("3.10", ".github/workflows/gpu.yml:6"),
                ("3.11", ".github/workflows/gpu.yml:6"),
                ("3.12", ".github/workflows/gpu.yml:8"),
                ("3.8", ".github/workflows/gpu.yml:20"),
                ("3.13", ".github/workflows/gpu.yml:20"),
            ],
            "{job:?}"
        );
        assert!(
            job.notes.iter().any(|n| n.contains("the GPU run's Python")),
            "{job:?}"
        );
    }

    #[test]
    fn gpu_words() {
        assert!(gpu_label("linux.g5.12xlarge.nvidia.gpu"));
        assert!(gpu_label("4-gpu-h100"));
        assert!(!gpu_label("ubuntu-latest"));
        assert!(deselects_gpu(&["-m".into(), "not gpu and not slow".into()]));
        assert!(!deselects_gpu(&["-m".into(), "gpu".into()]));
    }

    /// Runs of one job with the same options on other paths are one wider selection; a run
    /// with other options is said in the note, never merged.
    #[test]
    fn runs_with_the_same_options_are_one_selection() {
        let workflow = "jobs:\n  gpu:\n    runs-on: gpu\n    steps:\n      - run: pytest tests/a -x -m cuda\n      - run: pytest tests/b -m cuda -x\n      - run: pytest tests/a -m cuda -x\n      - run: pytest tests/c -m slow\n";
        let dir = project(&[
            (".github/workflows/w.yml", workflow),
            ("tests/a/t.py", ""),
            ("tests/b/t.py", ""),
            ("tests/c/t.py", ""),
        ]);
        let job = detect(dir.path()).expect("a job");
        let run = job.pytest.clone().unwrap();
        // `-x -m cuda` and `-m cuda -x` are the same options.
        assert_eq!(run.paths, ["tests/a", "tests/b"], "{job:?}");
        assert_eq!(job.notes.len(), 1, "{job:?}");
        assert!(
            job.notes[0].starts_with("the job runs pytest 1 more time (.github/workflows/w.yml:8)"),
            "{job:?}"
        );
        let workflow = "jobs:\n  gpu:\n    runs-on: gpu\n    steps:\n      - run: pytest tests/a -m cuda\n      - run: pytest tests/b -m cuda\n      - run: pytest tests/a -m cuda\n";
        let dir = project(&[
            (".github/workflows/w.yml", workflow),
            ("tests/a/t.py", ""),
            ("tests/b/t.py", ""),
        ]);
        let job = detect(dir.path()).expect("a job");
        assert_eq!(job.pytest.clone().unwrap().paths, ["tests/a", "tests/b"]);
        assert!(job.notes.is_empty(), "{job:?}");
    }
}
