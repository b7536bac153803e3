//! Building the plan: each setting from a flag, else the config, else detection, else a
//! question, else a default; each value validated here, once, and tagged with its source.

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::{self, ConfigFile, RawConfig};
use crate::error::{Error, Result};
use crate::generate::lock::{LEGACY_LOCK, LOCK};
use crate::pins::{self, ActionPin, PINNED_ACTIONS};
use crate::plan::choices::Choices;
use crate::plan::ci::{self, CiSystem};
use crate::plan::install::{InstallPlan, ProjectInstall};
use crate::plan::pep508;
use crate::plan::python::ImageBuilder;
use crate::plan::recipe::{self, Cuda, Package, Recipe};
use crate::plan::values::PythonVersion;
use crate::plan::values::{self, check_text};
use crate::plan::{CI_JOB, INSTALL, Source, Sourced, TestPlan, budget, gpu};
use crate::project::own_ci::Found;
use crate::project::python::PythonSpec;
use crate::project::{self, Framework, InstallSource, Project, PythonSource};
use crate::project::{read_regular, requirements};
use crate::ui;

/// A project read and its plan built: where every command starts.
pub struct Setup {
    pub project: Project,
    pub config: ConfigFile,
    pub plan: TestPlan,
    /// What detection decided, for the user to hear (commands print them or not).
    pub notices: Vec<Notice>,
}

/// A line for the user about a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A decision `init` reports about one setting (a key of [`TestPlan::settings`]), naming
    /// the flag of init's that changes it.
    Note {
        setting: &'static str,
        text: String,
    },
    /// A note for every command, `run` included; about one setting, or none.
    Always {
        setting: Option<&'static str>,
        text: String,
    },
    Warning(String),
}

impl Notice {
    /// Whether `run` should say it: init's flags mean nothing there.
    pub fn applies_to_run(&self) -> bool {
        !matches!(self, Notice::Note { .. })
    }

    /// The setting it is about: init shows it only when that setting is new or changed.
    pub fn setting(&self) -> Option<&'static str> {
        match self {
            Notice::Note { setting, .. } => Some(setting),
            Notice::Always { setting, .. } => *setting,
            Notice::Warning(_) => None,
        }
    }

    pub fn print(&self) {
        match self {
            Notice::Note { text, .. } | Notice::Always { text, .. } => ui::note(text),
            Notice::Warning(text) => ui::warning(text),
        }
    }
}

/// What a command does in a project where `gpu-ci init` has not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenNotSetUp {
    /// Go on silently (`init`, `config`).
    Proceed,
    /// Go on from detection, saying so (`run`).
    ProceedWithNote,
    /// Stop, pointing to `init` (`update`, `pin`).
    Refuse,
}

/// `load` for a command that changes an initialised project and never asks (`update`, `pin`).
pub fn load_set_up(root: &Path) -> Result<Setup> {
    load(
        root,
        &Choices::default(),
        &Prompter::DEFAULTS,
        WhenNotSetUp::Refuse,
    )
}

/// Reads the project and its config, then builds the plan from flags, config, detection, `ask`.
pub fn load(
    root: &Path,
    flags: &Choices,
    ask: &Prompter,
    not_set_up: WhenNotSetUp,
) -> Result<Setup> {
    let project = Project::detect(root)?;
    let config = ConfigFile::open(root)?;
    let existing = config.read()?;
    let mut notices = Vec::new();
    let initialised =
        config.is_initialised() || root.join(LOCK).is_file() || root.join(LEGACY_LOCK).is_file();
    if !initialised {
        match not_set_up {
            WhenNotSetUp::Proceed => {}
            WhenNotSetUp::ProceedWithNote => notices.push(Notice::Always {
                setting: None,
                text:
                    "no gpu-ci settings here; using what detection finds (`gpu-ci init` keeps them)"
                        .into(),
            }),
            WhenNotSetUp::Refuse => {
                return Err(Error::usage(
                    "gpu-ci is not set up here: no gpu-ci settings and no lock",
                )
                .with_help("run `gpu-ci init` first"));
            }
        }
    }
    let mut builder = Builder {
        flags,
        config: &existing,
        section: config.section_name(),
        project: &project,
        ask,
        notices,
        initialised,
    };
    let plan = builder.build()?;
    let notices = builder.notices;
    Ok(Setup {
        project,
        config,
        plan,
        notices,
    })
}

/// The note for a GPU taken from the project's own GPU job: which job, and what an hour of it
/// costs beside the default's, since a run's price follows it.
fn gpu_from_ci_note(found: &Found) -> String {
    let hourly = |kind: &str| gpu::type_price_per_second(kind) * 3600.0;
    let beside = if found.value == config::DEFAULT_GPU {
        String::new()
    } else {
        format!(
            "; gpu-ci's default, {}, costs ${:.2}",
            config::DEFAULT_GPU,
            hourly(config::DEFAULT_GPU)
        )
    };
    format!(
        "GPU {}, which the project's GPU job {} runs on: ${:.2} an hour{beside}; change it with --gpu",
        found.value,
        found.at,
        hourly(&found.value),
    )
}

/// Asks questions, or answers them with defaults when nobody is there to ask.
pub struct Prompter {
    pub interactive: bool,
}

impl Prompter {
    /// Takes every default: for commands that never ask.
    pub const DEFAULTS: Prompter = Prompter { interactive: false };

    /// The answer and its source: a prompt, or the default when nobody is asked.
    fn text(&self, question: &str, default: &str) -> Result<(String, Source)> {
        if !self.interactive {
            return Ok((default.to_string(), Source::Default));
        }
        dialoguer::Input::<String>::new()
            .with_prompt(question)
            .default(default.to_string())
            .interact_text()
            .map(|answer| (answer, Source::Prompt))
            .map_err(prompt_error)
    }

    fn select(&self, question: &str, items: &[String]) -> Result<Option<usize>> {
        if !self.interactive {
            return Ok(None);
        }
        dialoguer::Select::new()
            .with_prompt(question)
            .items(items)
            .default(0)
            .interact()
            .map(Some)
            .map_err(prompt_error)
    }
}

fn prompt_error(err: dialoguer::Error) -> Error {
    let dialoguer::Error::IO(io) = err;
    // A Ctrl-C can leave the cursor hidden by a selection prompt.
    let _ = dialoguer::console::Term::stderr().show_cursor();
    if io.kind() == std::io::ErrorKind::Interrupted {
        // End the prompt's line, so the shell's prompt starts on a fresh one.
        eprintln!();
        Error::Interrupted
    } else {
        Error::usage(format!("cannot read the answer: {io}"))
    }
}

struct Builder<'a> {
    flags: &'a Choices,
    config: &'a RawConfig,
    section: String,
    project: &'a Project,
    ask: &'a Prompter,
    notices: Vec<Notice>,
    /// Whether the project has gpu-ci settings or a lock: then a missing `ci` key means GitHub,
    /// and detection is not asked (a new `.gitlab-ci.yml` adds no target by itself).
    initialised: bool,
}

impl Builder<'_> {
    fn flag(name: &str) -> Source {
        Source::Flag {
            flag: format!("--{name}"),
        }
    }

    fn config_key(&self, key: &str) -> Source {
        Source::Config {
            key: key.to_string(),
            file: self.section.clone(),
        }
    }

    /// The flag's value, else the config's, with its source.
    fn given(
        &self,
        key: &str,
        flag: &Option<String>,
        config: &Option<String>,
    ) -> Option<(String, Source)> {
        match (flag, config) {
            (Some(value), _) => Some((value.clone(), Self::flag(key))),
            (None, Some(value)) => Some((value.clone(), self.config_key(key))),
            (None, None) => None,
        }
    }

    /// A note about `setting` (a key of [`TestPlan::settings`]).
    fn note(&mut self, setting: &'static str, text: String) {
        self.notices.push(Notice::Note { setting, text });
    }

    fn build(&mut self) -> Result<TestPlan> {
        let flags = self.flags;
        let config = self.config;
        if let Some(job) = &self.project.ci_job {
            for text in ci_job_notes(job) {
                self.note(CI_JOB, printable(&text));
            }
        }
        for text in &self.project.ci_notes {
            self.note(CI_JOB, printable(text));
        }

        let gpu = if !flags.gpu.is_empty() {
            Sourced::new(values::parse_gpu_list(&flags.gpu)?, Self::flag("gpu"))
        } else if let Some(entries) = &config.gpu_list {
            Sourced::new(values::parse_gpu_list(entries)?, self.config_key("gpu"))
        } else {
            let (gpu, gpu_source) = match self.given("gpu", &None, &config.gpu) {
                Some(given) => given,
                None => {
                    let question = format!("GPU to test on ({})", gpu::valid_names());
                    // The GPU the project's own GPU job runs on, where its runner names one.
                    match &self.project.ci_gpu {
                        Some(found) => {
                            let (answer, source) = self.ask.text(&question, &found.value)?;
                            if source == Source::Default {
                                self.note("gpu", gpu_from_ci_note(found));
                                let from = found.at.clone();
                                (answer, Source::Detected { from })
                            } else {
                                (answer, source)
                            }
                        }
                        None => self.ask.text(&question, config::DEFAULT_GPU)?,
                    }
                }
            };
            Sourced::new(values::parse_gpu(&gpu)?, gpu_source)
        };
        let shards = match (flags.shards, config.shards) {
            (Some(n), _) => Sourced::new(n, Self::flag("shards")),
            (None, Some(n)) => Sourced::new(n, self.config_key("shards")),
            (None, None) => Sourced::default(config::DEFAULT_SHARDS),
        };
        values::check_runs(&gpu.value, shards.value)?;
        let timeout = self.configured_or("timeout", config.timeout, config::DEFAULT_TIMEOUT);
        let max_cost = match (flags.max_cost, config.max_cost) {
            (Some(dollars), _) => Sourced::new(Some(dollars), Self::flag("max-cost")),
            (None, Some(dollars)) => Sourced::new(Some(dollars), self.config_key("max-cost")),
            (None, None) => Sourced::default(None),
        };
        let deadline = budget::deadline(timeout.value, max_cost.value, &gpu.value, shards.value)
            .map_err(|msg| {
                Error::usage(msg).with_help(
                    "`max-cost` in [tool.gpu-ci] (or --max-cost) is the most one run may cost, in USD",
                )
            })?;
        if let Some(dollars) = max_cost.value {
            self.note(
                "max-cost",
                budget::describe(&deadline, dollars, timeout.value),
            );
        }

        let cache = match (&flags.cache_paths[..], flags.cache, &config.cache) {
            ([_, ..], _, _) => Sourced::new(
                config::CacheSetting {
                    enabled: true,
                    paths: flags.cache_paths.clone(),
                },
                Self::flag("cache-path"),
            ),
            ([], Some(on), configured) => Sourced::new(
                config::CacheSetting {
                    enabled: on,
                    paths: configured
                        .as_ref()
                        .filter(|_| on)
                        .map(|c| c.paths.clone())
                        .unwrap_or_default(),
                },
                Self::flag(if on { "cache" } else { "no-cache" }),
            ),
            ([], None, Some(configured)) => {
                Sourced::new(configured.clone(), self.config_key("cache"))
            }
            ([], None, None) => Sourced::default(config::CacheSetting::default()),
        };
        config::check_cache_paths(&cache.value.paths)
            .map_err(|msg| Error::usage(format!("--cache-path: {msg}")))?;
        if cache.value.enabled {
            self.note(
                "cache",
                format!(
                    "cache: the download caches live on the Modal Volume `{}`, which trusted runs (pushes, dispatches of the branch, this repository's pull requests, `gpu-ci run`) read and write, and a fork's pull request (or `gpu-ci run --tree`) only reads",
                    crate::plan::cache::volume_name(&self.project.name())
                ),
            );
        }

        let image_builder = match &config.image_builder {
            Some(version) => Sourced::new(
                ImageBuilder::parse(version)?,
                self.config_key("image-builder"),
            ),
            None => Sourced::default(ImageBuilder::current()),
        };
        let python = self.python(&image_builder.value)?;

        let (test_path, test_source) = match self.given(
            "test-path",
            &flags.test_path,
            &config.test_path,
        ) {
            Some(given) => given,
            None => match &self.project.tests {
                _ if let Some((paths, job, at)) = self.ci_test_paths() => {
                    self.note("test-path", printable(&format!(
                        "running the tests in `{paths}`, as the project's CI job {job} does; change it with --test-path"
                    )));
                    (paths, Source::Detected { from: at })
                }
                Some(tests)
                    if !flags.keep_selection
                        && let Some(folder) = &self.project.tests_beyond_testpaths =>
                {
                    self.note("test-path", format!(
                            "pytest's testpaths (`{}`) leave part of `{folder}` out, as projects do with GPU-heavy folders; the GPU run tests all of `{folder}`; keep the project's selection with --keep-selection, or change it with --test-path",
                            tests.paths.join(" ")
                        ));
                    (
                        crate::args::quote(folder),
                        Source::Detected {
                            from: "the folder around pytest's testpaths".into(),
                        },
                    )
                }
                Some(tests) => {
                    // A config value is an argument list: `my tests` is one path.
                    let paths: Vec<String> =
                        tests.paths.iter().map(|p| crate::args::quote(p)).collect();
                    let path = paths.join(" ");
                    self.note("test-path", format!(
                        "running the tests in `{path}`, found by {}; change it with --test-path",
                        tests.source
                    ));
                    (
                        path,
                        Source::Detected {
                            from: tests.source.clone(),
                        },
                    )
                }
                None => self.ask.text("Tests to run", config::DEFAULT_TEST_PATH)?,
            },
        };

        let install_source = self.install_source()?;

        let ci_args = self.ci_pytest_args();
        let pytest_args = match self.given("pytest-args", &flags.pytest_args, &config.pytest_args) {
            Some(given) => given,
            // A GPU job's pytest command is the project's own GPU selection.
            None if let Some((args, at)) = ci_args.clone().filter(|(args, _)| {
                self.project
                    .ci_job
                    .as_ref()
                    .is_some_and(|j| j.gpu.is_some())
                    || args.contains(" -m ")
                    || flags.keep_selection
                    || self.project.gpu_selection().is_none()
            }) =>
            {
                (args, Source::Detected { from: at })
            }
            None => match self
                .project
                .gpu_selection()
                .filter(|_| !flags.keep_selection)
            {
                Some(selection) => {
                    let marker = crate::args::quote(&selection.expression);
                    // The CI job's own options, then the GPU selection it leaves to addopts.
                    let (base, from_ci) = match &ci_args {
                        Some((args, at)) => (args.clone(), Some(at.clone())),
                        None => (config::DEFAULT_PYTEST_ARGS.to_string(), None),
                    };
                    let args = format!("{base} -m {marker}");
                    self.note("pytest-args", format!(
                        "{}; the GPU run selects them with `-m {marker}`; keep the project's selection with --keep-selection, or change it with --pytest-args",
                        selection.reason
                    ));
                    let markers = format!(
                        "pytest's markers in {}",
                        self.project.pytest.file.unwrap_or("a conftest.py")
                    );
                    let from = match from_ci {
                        Some(at) => format!("{at} and {markers}"),
                        None => markers,
                    };
                    (args, Source::Detected { from })
                }
                None => (config::DEFAULT_PYTEST_ARGS.into(), Source::Default),
            },
        };
        let label = self
            .given("label", &flags.label, &config.label)
            .unwrap_or_else(|| (config::DEFAULT_LABEL.into(), Source::Default));
        let branch = self
            .given("branch", &None, &config.branch)
            .unwrap_or_else(|| (config::DEFAULT_BRANCH.into(), Source::Default));
        check_text("test-path", &test_path)?;
        values::check_test_path(&test_path)?;
        check_text("pytest-args", &pytest_args.0)?;
        // Both are argument lists, split here as the runner splits them.
        let test_args = values::split_args("test-path", &test_path)?;
        values::split_args("pytest-args", &pytest_args.0)?;
        let Some(first) = test_args.first() else {
            return Err(Error::usage("`test-path` may not be empty")
                .with_help("name the tests to run, as --test-path tests/"));
        };
        if !first.starts_with('-') && !self.project.root.join(first).exists() {
            self.notices.push(Notice::Warning(format!(
                "the tests folder `{first}` does not exist; keeping it, change it with --test-path"
            )));
        }
        values::check_label(&label.0)?;
        let ci = self.ci()?;
        if ci.value.contains(&CiSystem::Gitlab) && label.0.contains(',') {
            return Err(Error::usage(format!(
                "label `{}` holds a comma: GitLab lists a merge request's labels separated by commas, so the label could not be told apart",
                label.0
            ))
            .with_help("choose a label without a comma (--label)"));
        }
        values::check_branch(&branch.0)?;
        if let Some(image) = &config.base_image {
            check_text("base-image", image)?;
        }

        let fork_prs = if flags.fork_prs {
            Sourced::new(true, Self::flag("fork-prs"))
        } else {
            self.configured_or("fork-prs", config.fork_prs, false)
        };
        let framework = match self.given("framework", &flags.framework, &config.framework) {
            Some((name, source)) => Sourced::new(values::parse_framework(&name)?, source),
            None => match &self.project.framework_source {
                Some(file) => {
                    let name = self.project.framework.name();
                    self.note("framework", format!(
                        "GPU framework: {name}, named by `{file}`; it picks the GPU report and CUDA packages; change it with --framework"
                    ));
                    let named = &self.project.frameworks_named;
                    let from_gpu_job = self
                        .project
                        .ci_job
                        .as_ref()
                        .is_some_and(|job| job.gpu.is_some() && file.starts_with(&job.file));
                    if named.len() > 1 && !from_gpu_job {
                        let names: Vec<&str> = named.iter().map(|f| f.name()).collect();
                        self.note("framework", format!(
                            "the project names several GPU frameworks ({}), and no GPU job says which one it tests: set `framework` (--framework) to the backend the GPU run should use",
                            names.join(", ")
                        ));
                    }
                    Sourced::new(
                        self.project.framework,
                        Source::Detected { from: file.clone() },
                    )
                }
                None => Sourced::default(Framework::None),
            },
        };
        let environment = match &config.environment {
            Some(name) => {
                values::check_environment(name)?;
                Sourced::new(Some(name.clone()), self.config_key("environment"))
            }
            None => Sourced::default(None),
        };
        let base_image = match &config.base_image {
            Some(image) => Sourced::new(Some(image.clone()), self.config_key("base-image")),
            None => Sourced::default(None),
        };
        let mut recipe = self.recipe(fork_prs.value)?;
        let install = InstallPlan::new(&install_source.value, self.project);
        let install_project = self.project_install(&install)?;
        let builds_cuda = self
            .project
            .compiled
            .as_ref()
            .is_some_and(project::Compiled::builds_cuda);
        let indexes_set =
            recipe.index_url.value.is_some() || !recipe.extra_index_urls.value.is_empty();
        let own_resolver = match &install {
            InstallPlan::Uv { locked: true, .. } => Some("uv.lock"),
            InstallPlan::Poetry { .. } => Some("Poetry"),
            _ => None,
        };
        if let (true, Some(resolver)) = (indexes_set, own_resolver) {
            self.notices.push(Notice::Always {
                setting: Some("index-url"),
                text: format!(
                    "{resolver} decides where the project's own dependencies come from; `index-url` and `extra-index-urls` serve what the image adds (`packages`, the framework's build, the build requirements, pytest)"
                ),
            });
        }
        let image_builds_cuda = builds_cuda && install_project.value == ProjectInstall::InImage;
        let mut cuda_why = None;
        // A build script that `setup` runs and that looks for nvcc needs the devel image.
        let switches = &self.project.switches;
        if recipe.cuda.value.is_none()
            && base_image.value.is_none()
            && switches.build_script_needs_nvcc
            && let Some(script) = &switches.build_script
            && recipe
                .setup
                .value
                .iter()
                .any(|c| c.contains(script.as_str()))
        {
            let cuda = recipe::Cuda::parse(recipe::DEFAULT_CUDA).expect("a known CUDA version");
            recipe.cuda = Sourced::new(
                Some(cuda),
                Source::Detected {
                    from: script.clone(),
                },
            );
            cuda_why = Some(format!("`{script}`, which `setup` runs, looks for nvcc"));
        }
        if image_builds_cuda && framework.value == Framework::Torch && base_image.value.is_none() {
            match (recipe.cuda.value, self.torch_cuda(&install, &recipe)) {
                (None, Some((cuda, from, why))) => {
                    recipe.cuda = Sourced::new(Some(cuda), Source::Detected { from });
                    cuda_why = Some(why);
                }
                (Some(chosen), Some((cuda, _, why)))
                    if chosen != cuda && why.contains("uv.lock") =>
                {
                    self.notices.push(Notice::Warning(format!(
                        "the image's CUDA toolkit is {} (`cuda`), but {why}: an extension built in the image would not load with it; set `cuda = \"{}\"` (--cuda {})",
                        chosen.version, cuda.version, cuda.version
                    )));
                }
                _ => {}
            }
        }
        self.cuda_note(
            &recipe,
            image_builds_cuda,
            framework.value,
            base_image.value.is_some(),
            matches!(install, InstallPlan::Uv { locked: true, .. }),
            cuda_why,
        );
        let framework_declared = self
            .project
            .framework_declared(&install_source.value, framework.value);
        let arch_lists: Vec<(String, String)> = if image_builds_cuda {
            let capabilities = gpu.value.capabilities();
            self.project
                .switches
                .build_env
                .iter()
                .filter(|read| read.is_arch_list() && !recipe.env.value.contains_key(&read.name))
                .filter_map(|read| Some((read.name.clone(), read.arch_value(&capabilities)?)))
                .collect()
        } else {
            Vec::new()
        };
        for (setting, text) in switch_notes(
            self.project,
            install_project.value,
            &pytest_args.0,
            &recipe,
            &arch_lists,
        ) {
            self.note(setting, printable(&text));
        }
        Ok(TestPlan {
            project_name: self.project.name(),
            config_section: self.section.clone(),
            gpu,
            shards,
            python,
            image_builder,
            test_path: Sourced::new(test_path, test_source),
            pytest_args: Sourced::new(pytest_args.0, pytest_args.1),
            label: Sourced::new(label.0, label.1),
            branch: Sourced::new(branch.0, branch.1),
            environment,
            fork_prs,
            timeout,
            max_cost,
            deadline,
            cache,
            allow_no_tests: self.configured_or("allow-no-tests", config.allow_no_tests, false),
            base_image,
            framework,
            install_source,
            install,
            install_project,
            framework_declared,
            build_requires: self.project.build_requires(),
            builds_cuda,
            arch_lists,
            layout: self.project.layout,
            actions: self.action_pins()?,
            ci,
            recipe,
        })
    }

    /// Which CUDA the image gets and why (issue 21): a build image's default, or the `cuda`
    /// key's; torch from the matching PyTorch index.
    fn cuda_note(
        &mut self,
        recipe: &Recipe,
        builds_cuda: bool,
        framework: Framework,
        own_image: bool,
        locked: bool,
        detected: Option<String>,
    ) {
        let (version, why) = match (&recipe.cuda.value, builds_cuda) {
            (Some(cuda), _) => (
                cuda.version,
                detected.unwrap_or_else(|| "as `cuda` says".to_string()),
            ),
            (None, true) if own_image => {
                self.note(
                    "cuda",
                    "the project compiles CUDA code in your base-image, whose CUDA gpu-ci cannot know: torch comes from the indexes as they are; say the image's CUDA with --cuda so torch matches it".into(),
                );
                return;
            }
            (None, true) => (
                recipe::DEFAULT_CUDA,
                "the project compiles CUDA code, which needs nvcc".to_string(),
            ),
            (None, false) => return,
        };
        let cuda = Cuda::parse(version).expect("a known CUDA version");
        let torch = if framework == Framework::Torch && locked {
            // `uv sync --frozen` installs the lock's torch; the index serves `packages` only.
            ", and torch as uv.lock pins it".to_string()
        } else if framework == Framework::Torch && (!own_image || recipe.cuda.value.is_some()) {
            format!(
                ", and torch from {} so that what is built in the image matches it",
                cuda.torch_index()
            )
        } else {
            String::new()
        };
        let image = if own_image {
            "your base-image".to_string()
        } else {
            format!("`{}`", cuda.devel_image())
        };
        self.note(
            "cuda",
            format!("CUDA {version} ({why}): the image is {image}{torch}; change it with --cuda"),
        );
    }

    /// The CUDA the torch the image installs is built for, where it is not the default
    /// toolkit's (issue 21): the lock's torch wheel, else the newest CUDA PyTorch built the
    /// highest torch the constraints allow for ([`recipe::TORCH_CUDA`]). With the file it came
    /// from and the reason, for init's note.
    fn torch_cuda(&self, install: &InstallPlan, recipe: &Recipe) -> Option<(Cuda, String, String)> {
        let root = &self.project.root;
        // A PyTorch CUDA index the recipe names (`index-url = ".../whl/nightly/cu130"`) is
        // where torch comes from: its CUDA is the one to build against.
        let indexes = recipe
            .index_url
            .value
            .iter()
            .map(|url| (url, &recipe.index_url.source))
            .chain(
                recipe
                    .extra_index_urls
                    .value
                    .iter()
                    .map(|url| (url, &recipe.extra_index_urls.source)),
            );
        for (url, source) in indexes {
            if let Some(cuda) = recipe::index_cuda(url) {
                let from = match source {
                    Source::Detected { from } => from.clone(),
                    _ => "index-url".to_string(),
                };
                return (cuda.version != recipe::DEFAULT_CUDA).then(|| {
                    (
                        cuda,
                        from,
                        format!("torch comes from {url}, built for CUDA {}", cuda.version),
                    )
                });
            }
        }
        if let InstallPlan::Uv { locked: true, .. } = install {
            let (version, cuda) = recipe::locked_torch(&read_regular(root, "uv.lock")?)?;
            return (cuda.version != recipe::DEFAULT_CUDA).then(|| {
                (
                    cuda,
                    "uv.lock".to_string(),
                    format!(
                        "uv.lock pins torch {version}, built for CUDA {}",
                        cuda.version
                    ),
                )
            });
        }
        let mut found: Vec<(String, String)> = Vec::new();
        let mut take = |text: &str, file: &str| {
            if let Ok(req) = pep508::parse(text.trim())
                && req.normalized_name() == "torch"
                && !req.specifiers.is_empty()
            {
                found.push((req.specifiers, file.to_string()));
            }
        };
        let (extras, groups, files): (&[String], &[String], &[String]) = match install {
            InstallPlan::Uv { groups, extras, .. } => (extras, groups, &[]),
            InstallPlan::Source { extras } => (extras, &[], &[]),
            InstallPlan::Requirements { files, .. } => (&[], &[], files),
            _ => (&[], &[], &[]),
        };
        if files.is_empty()
            && let Some(text) = read_regular(root, "pyproject.toml")
            && let Ok(doc) = text.parse::<toml_edit::DocumentMut>()
        {
            let strings = |item: Option<&toml_edit::Item>| -> Vec<String> {
                item.and_then(toml_edit::Item::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let project = doc.get("project");
            let mut lists = vec![strings(project.and_then(|p| p.get("dependencies")))];
            for extra in extras {
                lists.push(strings(
                    project
                        .and_then(|p| p.get("optional-dependencies"))
                        .and_then(|t| t.get(extra)),
                ));
            }
            for group in groups {
                lists.push(strings(
                    doc.get("dependency-groups").and_then(|t| t.get(group)),
                ));
            }
            for entry in lists.concat() {
                take(&entry, "pyproject.toml");
            }
        }
        // setup.py's literal `install_requires` caps torch as much as pyproject's list.
        if files.is_empty()
            && let Some(text) = read_regular(root, "setup.py")
        {
            for entry in crate::project::setup_cfg::setup_py_install_requires(&text) {
                take(&entry, "setup.py");
            }
        }
        for file in files {
            for name in requirements::with_includes(root, file) {
                for line in read_regular(root, &name).unwrap_or_default().lines() {
                    take(line.split(" #").next().unwrap_or_default(), &name);
                }
            }
        }
        for package in recipe
            .packages
            .value
            .iter()
            .filter_map(Package::requirement)
        {
            take(&package.to_string(), "`packages`");
        }
        let (minor, (specifiers, file)) = found
            .iter()
            .filter_map(|(spec, file)| Some((recipe::torch_minor_cap(spec)?, (spec, file))))
            .min_by_key(|(minor, _)| *minor)?;
        let cuda = recipe::cuda_for_torch(minor)?;
        Some((
            cuda,
            file.trim_matches('`').to_string(),
            format!(
                "the project's `torch{specifiers}` ({file}) allows torch 2.{minor} at most, whose newest CUDA build is {}",
                cuda.version
            ),
        ))
    }

    /// The image recipe's keys: each flag, else its config key, else its default; each checked.
    fn recipe(&mut self, fork_prs: bool) -> Result<Recipe> {
        let (flags, config) = (self.flags, self.config);
        let list = |this: &Self,
                    flag: &[String],
                    flag_name: &str,
                    key: &str,
                    value: &Option<Vec<String>>| {
            recipe::pick_list(flag, Self::flag(flag_name), value, this.config_key(key))
        };
        let packages = list(
            self,
            &flags.packages,
            "package",
            "packages",
            &config.packages,
        );
        // Below the flags and the config, what the project's own CI job sets up (issue 22),
        // each value checked as the key's would be; one that fails is left out with a note.
        let found = self.project.ci_job.as_ref().map(|job| &job.recipe);
        let no_found = Vec::new();
        let packages = if packages.source == Source::Default {
            self.detected_list(
                "packages",
                found.map_or(&no_found, |r| &r.packages),
                |text| {
                    let parsed = recipe::check_packages(&[text.to_string()])?;
                    recipe::check_local_packages(&self.project.root, &parsed)?;
                    Ok(parsed.into_iter().next().expect("one entry, one package"))
                },
            )
        } else {
            let parsed = recipe::check_packages(&packages.value)?;
            recipe::check_local_packages(&self.project.root, &parsed)?;
            Sourced::new(parsed, packages.source)
        };
        let index_url = match self.given("index-url", &flags.index_url, &config.index_url) {
            Some((url, source)) => {
                recipe::check_index_url("index-url", &url)?;
                Sourced::new(Some(url), source)
            }
            None => {
                let one = found
                    .and_then(|r| r.index_url.clone())
                    .into_iter()
                    .collect::<Vec<_>>();
                let url = self.detected_list("index-url", &one, |url| {
                    recipe::check_index_url("index-url", url).map(|()| url.to_string())
                });
                Sourced::new(url.value.into_iter().next(), url.source)
            }
        };
        let extra_index_urls = list(
            self,
            &flags.extra_index_urls,
            "extra-index-url",
            "extra-index-urls",
            &config.extra_index_urls,
        );
        let extra_index_urls = if extra_index_urls.source == Source::Default {
            self.detected_list(
                "extra-index-urls",
                found.map_or(&no_found, |r| &r.extra_index_urls),
                |url| recipe::check_index_url("extra-index-urls", url).map(|()| url.to_string()),
            )
        } else {
            for url in &extra_index_urls.value {
                recipe::check_index_url("extra-index-urls", url)?;
            }
            extra_index_urls
        };
        let env = if !flags.env.is_empty() {
            let mut env = BTreeMap::new();
            for pair in &flags.env {
                let Some((name, value)) = pair.split_once('=') else {
                    return Err(Error::usage(format!("--env `{pair}` is not NAME=VALUE"))
                        .with_help("write --env MAMBA_KEEP_CUDA_BUILD=TRUE"));
                };
                env.insert(name.to_string(), value.to_string());
            }
            Sourced::new(env, Self::flag("env"))
        } else if let Some(env) = &config.env {
            Sourced::new(env.clone(), self.config_key("env"))
        } else {
            self.detected_env()
        };
        recipe::check_env(&env.value)?;
        let modal_secrets = list(
            self,
            &flags.modal_secrets,
            "modal-secret",
            "modal-secrets",
            &config.modal_secrets,
        );
        recipe::check_modal_secrets(&modal_secrets.value, fork_prs)?;
        let setup = list(self, &flags.setup, "setup", "setup", &config.setup);
        let setup = if setup.source == Source::Default {
            self.detected_list("setup", found.map_or(&no_found, |r| &r.setup), |command| {
                recipe::check_setup(&[command.to_string()]).map(|()| command.to_string())
            })
        } else {
            recipe::check_setup(&setup.value)?;
            setup
        };
        let apt = list(self, &flags.apt, "apt", "apt", &config.apt);
        let apt = if apt.source == Source::Default {
            self.detected_list("apt", found.map_or(&no_found, |r| &r.apt), |name| {
                recipe::check_apt(&[name.to_string()]).map(|()| name.to_string())
            })
        } else {
            recipe::check_apt(&apt.value)?;
            apt
        };
        let submodules = match (flags.submodules, config.submodules) {
            (Some(on), _) => Sourced::new(
                on,
                Self::flag(if on { "submodules" } else { "no-submodules" }),
            ),
            (None, Some(on)) => Sourced::new(on, self.config_key("submodules")),
            (None, None) if let Some(at) = found.and_then(|r| r.submodules.as_ref()) => {
                Sourced::new(
                    true,
                    Source::Detected {
                        from: at.at.clone(),
                    },
                )
            }
            (None, None) => {
                let gitmodules = self.project.root.join(".gitmodules");
                if std::fs::symlink_metadata(&gitmodules).is_ok_and(|m| m.is_file()) {
                    self.note(
                        "submodules",
                        "the project has git submodules (.gitmodules): every CI target checks the tree under test out with them, recursively, persisting no credentials; turn it off with --no-submodules".into(),
                    );
                    Sourced::new(
                        true,
                        Source::Detected {
                            from: ".gitmodules".into(),
                        },
                    )
                } else {
                    Sourced::default(false)
                }
            }
        };
        let cuda = match self.given("cuda", &flags.cuda, &config.cuda) {
            Some((text, source)) => {
                check_text("cuda", &text)?;
                Sourced::new(Some(Cuda::parse(&text)?), source)
            }
            None => Sourced::default(None),
        };
        let recipe = Recipe {
            packages,
            index_url,
            extra_index_urls,
            env,
            modal_secrets,
            setup,
            apt,
            submodules,
            cuda,
        };
        self.taken_notes(&recipe);
        Ok(recipe)
    }

    /// The values of a list key the project's CI job gives, each checked by `check` (the key's
    /// own check); one that fails is left out with a note, never an error. The source names
    /// every line a kept value came from.
    fn detected_list<T: PartialEq>(
        &mut self,
        key: &'static str,
        found: &[Found],
        check: impl Fn(&str) -> Result<T>,
    ) -> Sourced<Vec<T>> {
        let mut kept = Vec::new();
        let mut lines: Vec<&str> = Vec::new();
        for item in found {
            match check(&item.value) {
                Ok(value) => {
                    if !kept.contains(&value) {
                        kept.push(value);
                    }
                    if !lines.contains(&item.at.as_str()) {
                        lines.push(&item.at);
                    }
                }
                Err(why) => self.note(
                    key,
                    printable(&format!(
                        "`{}` ({}) is left out of `{key}`: {why}",
                        item.value, item.at
                    )),
                ),
            }
        }
        if kept.is_empty() {
            return Sourced::default(kept);
        }
        Sourced::new(
            kept,
            Source::Detected {
                from: lines.join(", "),
            },
        )
    }

    /// The environment the project's CI job sets, less what describes the CI machine
    /// ([`recipe::ci_only_env`]) and what `env` refuses, each left out with a note.
    ///
    /// Then each build or test switch the project reads ([`project::switches`]) that the docs
    /// give a value: a setup.py switch only when the project compiles (as its note would say).
    fn detected_env(&mut self) -> Sourced<BTreeMap<String, String>> {
        let project = self.project;
        let mut given: Vec<(&String, &Found)> = Vec::new();
        let in_ci = project.ci_job.iter().flat_map(|job| &job.recipe.env);
        given.extend(in_ci.map(|(name, item)| (name, item)));
        let switches = &project.switches;
        let documented: Vec<(String, Found)> = switches
            .documented
            .iter()
            .filter(|doc| {
                let build = switches.build_env.iter().any(|r| r.name == doc.name);
                !build || project.compiled.is_some() || doc.name.contains("CUDA")
            })
            .map(|doc| {
                let found = Found {
                    value: doc.value.clone(),
                    at: doc.at.clone(),
                };
                (doc.name.clone(), found)
            })
            .collect();
        given.extend(documented.iter().map(|(name, found)| (name, found)));
        let mut env = BTreeMap::new();
        let mut lines: Vec<&str> = Vec::new();
        for (name, item) in given {
            if env.contains_key(name) {
                continue;
            }
            let one = BTreeMap::from([(name.clone(), item.value.clone())]);
            let why = match recipe::ci_only_env(name, &item.value) {
                Some(why) => Some(why.to_string()),
                None => recipe::check_env(&one).err().map(|e| e.to_string()),
            };
            if let Some(why) = why {
                self.note("env", printable(&format!(
                    "`{name}` ({}) is left out of `env`: {why}; set it with --env {name}=… if the GPU run needs it",
                    item.at
                )));
                continue;
            }
            env.insert(name.clone(), item.value.clone());
            if !lines.contains(&item.at.as_str()) {
                lines.push(&item.at);
            }
        }
        if env.is_empty() {
            return Sourced::default(env);
        }
        for (name, found) in &documented {
            if env.get(name) == Some(&found.value) {
                self.note("env", printable(&format!(
                    "the project reads `{name}`, and {} gives it `{}`: set in `env`; change it with --env",
                    found.at, found.value
                )));
            }
        }
        let from = lines.join(", ");
        Sourced::new(env, Source::Detected { from })
    }

    /// One note per recipe key taken from the project's CI job, with its value and lines, and
    /// the flag that changes it.
    fn taken_notes(&mut self, recipe: &Recipe) {
        let Some(job) = &self.project.ci_job else {
            return;
        };
        let kind = if job.gpu.is_some() { "GPU" } else { "CPU" };
        let toml = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let list = |values: Vec<String>| format!("[{}]", values.join(", "));
        let mut rows: Vec<(&'static str, String, &Source, &str)> = Vec::new();
        rows.push((
            "packages",
            list(
                recipe
                    .packages
                    .value
                    .iter()
                    .map(|r| toml(&r.to_string()))
                    .collect(),
            ),
            &recipe.packages.source,
            "--package",
        ));
        rows.push((
            "index-url",
            recipe
                .index_url
                .value
                .as_deref()
                .map(toml)
                .unwrap_or_default(),
            &recipe.index_url.source,
            "--index-url",
        ));
        rows.push((
            "extra-index-urls",
            list(
                recipe
                    .extra_index_urls
                    .value
                    .iter()
                    .map(|u| toml(u))
                    .collect(),
            ),
            &recipe.extra_index_urls.source,
            "--extra-index-url",
        ));
        // The docs' values have a note of their own.
        let env: Vec<String> = recipe
            .env
            .value
            .iter()
            .filter(|(name, _)| job.recipe.env.iter().any(|(n, _)| n == *name))
            .map(|(name, value)| format!("{name} = {}", toml(value)))
            .collect();
        let env_source = if env.is_empty() {
            Source::Default
        } else {
            recipe.env.source.clone()
        };
        rows.push((
            "env",
            format!("{{ {} }}", env.join(", ")),
            &env_source,
            "--env",
        ));
        rows.push((
            "submodules",
            "true".into(),
            &recipe.submodules.source,
            "--no-submodules",
        ));
        rows.push((
            "setup",
            list(recipe.setup.value.iter().map(|c| toml(c)).collect()),
            &recipe.setup.source,
            "--setup",
        ));
        rows.push((
            "apt",
            list(recipe.apt.value.iter().map(|n| toml(n)).collect()),
            &recipe.apt.source,
            "--apt",
        ));
        for (key, value, source, flag) in rows {
            // `.gitmodules` is the one source of these keys that is not the CI job.
            if let Source::Detected { from } = source
                && from != ".gitmodules"
            {
                self.note(key, printable(&format!(
                    "`{key} = {value}` from the {kind} job (detected: {from}); change it with {flag}"
                )));
            }
        }
    }

    /// `--ci`, else the `ci` key, else (in a project gpu-ci has not set up) the CI systems whose
    /// files are there, else GitHub.
    fn ci(&mut self) -> Result<Sourced<Vec<CiSystem>>> {
        if !self.flags.ci.is_empty() {
            return Ok(Sourced::new(
                ci::parse_list(&self.flags.ci)?,
                Self::flag("ci"),
            ));
        }
        if let Some(names) = &self.config.ci {
            return Ok(Sourced::new(ci::parse_list(names)?, self.config_key("ci")));
        }
        if !self.initialised {
            let found = project::ci::detect(&self.project.root);
            let systems = found
                .iter()
                .map(|f| CiSystem::parse(f.name))
                .collect::<Result<Vec<_>>>()?;
            let gpu_job_on = self
                .project
                .ci_job
                .as_ref()
                .filter(|job| job.gpu.is_some())
                .map(|job| {
                    if job.file == ".gitlab-ci.yml" {
                        CiSystem::Gitlab
                    } else {
                        CiSystem::Github
                    }
                });
            if let Some(chosen) = ci::pick_detected(&systems, gpu_job_on) {
                let at = systems.iter().position(|s| *s == chosen).unwrap_or(0);
                let picked = &found[at];
                self.note(
                    "ci",
                    format!(
                        "writing CI files for {} (from {}); change it with --ci",
                        picked.name, picked.from
                    ),
                );
                for (system, other) in systems.iter().zip(&found) {
                    if *system != chosen {
                        self.note("ci", format!(
                            "the project also uses {} ({}): gpu-ci writes nothing for it and leaves its files as they are; add it with --ci {},{}",
                            system.title(),
                            other.from,
                            chosen.name(),
                            system.name()
                        ));
                    }
                }
                return Ok(Sourced::new(
                    vec![chosen],
                    Source::Detected {
                        from: picked.from.to_string(),
                    },
                ));
            }
        }
        Ok(Sourced::default(vec![CiSystem::Github]))
    }

    /// A flag or the config, else the newest Python the project's GPU job sets up that the
    /// builder offers (and the project's constraint allows), else `.python-version` when the
    /// builder offers it, else what the project's constraint allows (3.12 first), else a
    /// question.
    fn python(&mut self, builder: &ImageBuilder) -> Result<Sourced<PythonVersion>> {
        if let Some((text, source)) = self.given("python", &self.flags.python, &self.config.python)
        {
            return Ok(Sourced::new(builder.parse_python(&text)?, source));
        }
        if let Some(version) = self.gpu_job_python(builder) {
            return Ok(version);
        }
        if let Some(minor) = self.project.python_version_file_minor() {
            if builder.supports(minor) {
                self.note(
                    "python",
                    format!(
                        "testing on Python 3.{minor}, from .python-version; change it with --python"
                    ),
                );
                let from = PythonSource::PythonVersionFile.location();
                return Ok(Sourced::new(
                    PythonVersion { minor },
                    Source::Detected { from },
                ));
            }
            self.note("python", format!(
                ".python-version names 3.{minor}, which Modal's image builder {} does not offer ({})",
                builder.version,
                builder.range()
            ));
        }
        if let Some((text, from)) = self.project.python_constraint()
            && let Some(spec) = PythonSpec::parse(text)
        {
            let version = builder.pick(&spec, text)?;
            self.note("python", format!(
                "testing on Python {version}, which {} `{text}` allows; change it with --python",
                from.name()
            ));
            let from = from.location();
            return Ok(Sourced::new(version, Source::Detected { from }));
        }
        let (answer, source) = self
            .ask
            .text("Python version to test on", config::DEFAULT_PYTHON)?;
        self.note(
            "python",
            format!(
                "no Python version found in the project; using {answer}, change it with --python"
            ),
        );
        Ok(Sourced::new(builder.parse_python(&answer)?, source))
    }

    /// The newest Python the project's GPU job sets up (a matrix gives several) that Modal's
    /// image builder offers and the project's own constraint allows, with the line it is
    /// written on; `None`, with a note when the job names some, when there is none.
    fn gpu_job_python(&mut self, builder: &ImageBuilder) -> Option<Sourced<PythonVersion>> {
        let project = self.project;
        let job = project.ci_job.as_ref().filter(|job| job.gpu.is_some())?;
        if job.python.is_empty() {
            return None;
        }
        let spec = project
            .python_constraint()
            .and_then(|(text, from)| PythonSpec::parse(text).map(|spec| (spec, text, from)));
        let mut written: Vec<String> = Vec::new();
        let mut best: Option<(u32, &Found)> = None;
        for found in &job.python {
            let Some(minor) = python_minor(&found.value) else {
                continue;
            };
            let shown = format!("3.{minor}");
            if !written.contains(&shown) {
                written.push(shown);
            }
            let allowed = spec.as_ref().is_none_or(|(spec, _, _)| spec.allows(minor));
            if builder.supports(minor) && allowed && best.is_none_or(|(b, _)| minor > b) {
                best = Some((minor, found));
            }
        }
        if written.is_empty() {
            return None;
        }
        let Some((minor, found)) = best else {
            let constraint = spec.as_ref().map_or(String::new(), |(_, text, from)| {
                format!(" or {} `{text}` does not allow", from.name())
            });
            self.note("python", printable(&format!(
                "the project's GPU job {} sets up Python {}, which Modal's image builder {} does not offer ({}){constraint}; choosing the Python another way; change it with --python",
                job.describe(),
                written.join(", "),
                builder.version,
                builder.range()
            )));
            return None;
        };
        let of = if written.len() > 1 {
            format!(
                ", the newest of the Pythons it sets up ({}) that Modal's image builder {} offers",
                written.join(", "),
                builder.version
            )
        } else {
            String::new()
        };
        self.note("python", printable(&format!(
            "testing on Python 3.{minor}, as the project's GPU job {} sets up{of} (detected: {}); change it with --python",
            job.describe(),
            found.at
        )));
        Some(Sourced::new(
            PythonVersion { minor },
            Source::Detected {
                from: found.at.clone(),
            },
        ))
    }

    /// How the project itself gets installed: the config, else by what its build needs.
    fn project_install(&mut self, install: &InstallPlan) -> Result<Sourced<ProjectInstall>> {
        let dependencies_in_build = matches!(install, InstallPlan::Source { .. });
        if let Some(name) = &self.config.install_project {
            let value = ProjectInstall::from_name(name).ok_or_else(|| {
                Error::usage(format!(
                    "unknown install-project `{name}`; valid values are {}",
                    ProjectInstall::NAMES.join(", ")
                ))
            })?;
            if dependencies_in_build && value != ProjectInstall::InImage {
                return Err(Error::usage(format!(
                    "install-project = \"{name}\" leaves out the dependencies only setup.py or setup.cfg declares"
                ))
                .with_help("remove `install-project`, or list the test dependencies in a requirements file and pass --requirements"));
            }
            return Ok(Sourced::new(value, self.config_key("install-project")));
        }
        let detected = |from: &str| Source::Detected { from: from.into() };
        if dependencies_in_build {
            self.note(
                "install-project",
                "the dependencies live in setup.py or setup.cfg, which only the project's build can read: the image installs the project from a copy of the tree, so a source change rebuilds that layer; declare them in pyproject.toml or a requirements file to avoid it".into(),
            );
            return Ok(Sourced::new(
                ProjectInstall::InImage,
                detected("setup.py or setup.cfg"),
            ));
        }
        if !self.project.has_build_system() {
            return Ok(Sourced::default(ProjectInstall::No));
        }
        if let Some(why) = self
            .project
            .compiled
            .as_ref()
            .map(project::Compiled::reason)
        {
            self.note("install-project", format!(
                "{why}: the project is built in the image after its dependencies, so a source change rebuilds that layer (minutes for CUDA code); set install-project = \"no\" in the config to skip it"
            ));
            return Ok(Sourced::new(ProjectInstall::InImage, detected(&why)));
        }
        self.note(
            "install-project",
            "the project is installed (editable, without its dependencies) when the container starts, so its metadata and entry points work and a source change rebuilds nothing".into(),
        );
        Ok(Sourced::new(
            ProjectInstall::AtStart,
            detected("its build system"),
        ))
    }

    fn configured_or<T>(&self, key: &str, configured: Option<T>, default: T) -> Sourced<T> {
        match configured {
            Some(value) => Sourced::new(value, self.config_key(key)),
            None => Sourced::default(default),
        }
    }

    /// A flag, else the config, else the best candidate detection finds (asked when several).
    fn install_source(&mut self) -> Result<Sourced<InstallSource>> {
        let (flags, config) = (self.flags, self.config);
        let from_flags = [
            ("group", &flags.group),
            ("extra", &flags.extra),
            ("requirements", &flags.requirements),
        ];
        let from_config = [
            ("group", &config.group),
            ("extra", &config.extra),
            ("requirements", &config.requirements),
        ];
        let given: Vec<(&str, &String)> = from_flags
            .iter()
            .filter_map(|(key, value)| value.as_ref().map(|v| (*key, v)))
            .collect();
        let (chosen, source) = if given.is_empty() {
            let configured: Vec<(&str, &String)> = from_config
                .iter()
                .filter_map(|(key, value)| value.as_ref().map(|v| (*key, v)))
                .collect();
            if configured.len() > 1 {
                return Err(Error::usage(
                    "choose one install source: `group`, `extra` or `requirements`, not several",
                ));
            }
            match configured.first() {
                Some((key, _)) => (configured.clone(), self.config_key(key)),
                None => return self.detect_install_source(),
            }
        } else {
            let key = given[0].0;
            (given.clone(), Self::flag(key))
        };
        // README: no text value holds a newline or a control character, these included.
        for (key, value) in &chosen {
            check_text(key, value)?;
        }
        let pick = |key: &str| {
            chosen
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.as_str())
        };
        let resolved = self
            .project
            .resolve_install(pick("group"), pick("extra"), pick("requirements"))?
            .expect("one install source was given");
        Ok(Sourced::new(resolved, source))
    }

    fn detect_install_source(&mut self) -> Result<Sourced<InstallSource>> {
        if let Some((source, at, job)) = self.ci_install_source() {
            self.note(INSTALL, printable(&format!(
                "installing test dependencies from {}, as the project's CI job {job} does; change it with --group, --extra or --requirements",
                source.describe()
            )));
            return Ok(Sourced::new(source, Source::Detected { from: at }));
        }
        let candidates = self.project.install_candidates();
        let (index, source) = if candidates.len() > 1 {
            let items: Vec<String> = candidates.iter().map(InstallSource::describe).collect();
            match self
                .ask
                .select("Install the test dependencies from", &items)?
            {
                Some(index) => (index, Source::Prompt),
                None => {
                    let from = match &candidates[0] {
                        InstallSource::Requirements(_) => "the file's name",
                        _ if self.project.dependencies_outside_pyproject() => {
                            "setup.py or setup.cfg"
                        }
                        _ => "pyproject.toml",
                    };
                    (0, Source::Detected { from: from.into() })
                }
            }
        } else {
            (0, Source::Default)
        };
        let picked = candidates[index].clone();
        if InstallPlan::new(&picked, self.project) == InstallPlan::Nothing {
            self.note(
                INSTALL,
                "the project declares no dependencies gpu-ci can read, so the image gets pytest only; name them with --requirements, --extra or --group".into(),
            );
        } else {
            self.note(INSTALL, format!(
                "installing test dependencies from {}; change it with --group, --extra or --requirements",
                picked.describe()
            ));
        }
        Ok(Sourced::new(picked, source))
    }

    /// The paths the project's CI job runs pytest on, quoted as one argument list, with the
    /// job and the line.
    fn ci_test_paths(&self) -> Option<(String, String, String)> {
        let job = self.project.ci_job.as_ref()?;
        let run = job.pytest.as_ref()?;
        // Files a CPU job picks one by one are its CPU-safe selection; its folders are not.
        let picked_files = run
            .paths
            .iter()
            .any(|p| p.contains("::") || p.ends_with(".py"));
        if run.paths.is_empty() || (job.gpu.is_none() && picked_files) {
            return None;
        }
        let paths: Vec<String> = run.paths.iter().map(|p| crate::args::quote(p)).collect();
        let paths = paths.join(" ");
        // Only what can be quoted and split back whole reaches the plan.
        check_text("test-path", &paths).ok()?;
        values::check_test_path(&paths).ok()?;
        Some((paths, job.describe(), run.at.clone()))
    }

    /// `-v` and the selections and project options of the CI job's pytest command (never a CPU
    /// job's CPU-only selection), with the line; `None` without a pytest command, or when a CPU
    /// job's passes none.
    fn ci_pytest_args(&self) -> Option<(String, String)> {
        let job = self.project.ci_job.as_ref()?;
        let options = job.pytest_options();
        if options.is_empty() && job.gpu.is_none() {
            return None;
        }
        let mut args = vec![config::DEFAULT_PYTEST_ARGS.to_string()];
        args.extend(options.iter().flatten().map(|w| crate::args::quote(w)));
        let args = args.join(" ");
        // Only what can be quoted and split back whole reaches the plan.
        if check_text("pytest-args", &args).is_err() {
            return None;
        }
        Some((args, job.pytest.as_ref()?.at.clone()))
    }

    /// What the CI job installs of the project's own: an extra, a group, or a requirements file
    /// the project has, with the line and the job.
    fn ci_install_source(&self) -> Option<(InstallSource, String, String)> {
        let job = self.project.ci_job.as_ref()?;
        let extras = self.project.extras();
        let groups: Vec<String> = self
            .project
            .pyproject
            .iter()
            .flat_map(|p| p.dependency_groups.clone())
            .collect();
        // A test extra first; one named for tooling (`quality`, `docs`) never.
        let mut installable: Vec<&project::own_ci::Found> = job
            .extras
            .iter()
            .filter(|e| !project::requirements::is_tooling_name(&e.value))
            .filter(|e| extras.contains(&e.value) || self.project.setup_py_names_extra(&e.value))
            .collect();
        installable
            .sort_by_key(|e| !["test", "tests", "testing", "dev"].contains(&e.value.as_str()));
        // Every extra the job installs, the test one first (`.[dev]` and `--extra torch`).
        if let Some(found) = installable.first() {
            let names: Vec<&str> = installable.iter().map(|e| e.value.as_str()).collect();
            return Some((
                InstallSource::Extra(names.join(",")),
                found.at.clone(),
                job.describe(),
            ));
        }
        if let Some(found) = job.groups.iter().find(|g| groups.contains(&g.value)) {
            return Some((
                InstallSource::Group(found.value.clone()),
                found.at.clone(),
                job.describe(),
            ));
        }
        let file = job.requirements.iter().find(|r| {
            self.project.requirements.contains(&r.value)
                && project::requirements::role(&r.value) != project::requirements::Role::Tooling
        })?;
        Some((
            InstallSource::Requirements(file.value.clone()),
            file.at.clone(),
            job.describe(),
        ))
    }

    /// The config's pins over the embedded ones, each checked.
    fn action_pins(&self) -> Result<BTreeMap<&'static str, Sourced<ActionPin>>> {
        for (repo, text) in &self.config.actions {
            if pins::known(repo).is_none() {
                let names: Vec<&str> = PINNED_ACTIONS.iter().map(|a| a.repo).collect();
                let repo = repo.escape_debug();
                return Err(Error::usage(format!(
                    "`actions.\"{repo}\"`: the generated workflows use no action `{repo}`"
                ))
                .with_help(format!("they use {}", names.join(", "))));
            }
            if ActionPin::parse(text).is_none() {
                return Err(Error::usage(format!(
                    "`actions.\"{repo}\"` = `{}` is not a pin: write \"<40 lowercase hex digits of a commit> # vX.Y.Z\"",
                    text.escape_debug()
                ))
                .with_help("`gpu-ci pin` resolves and writes them for you"));
            }
        }
        Ok(PINNED_ACTIONS
            .iter()
            .map(|action| {
                let pin = match self.config.actions.get(action.repo) {
                    Some(text) => Sourced::new(
                        ActionPin::parse(text).expect("checked above"),
                        self.config_key(&format!("actions.\"{}\"", action.repo)),
                    ),
                    None => Sourced::default(ActionPin::from(action)),
                };
                (action.repo, pin)
            })
            .collect())
    }
}

/// Which job of the project's CI the plan follows, then what could not be read from it. The
/// values it gives reach the recipe keys (see `Builder::taken_notes`), not notes.
pub fn ci_job_notes(job: &project::own_ci::CiJob) -> Vec<String> {
    let by = match &job.gpu {
        Some(why) => format!("the project's GPU job {} (GPU by {why})", job.describe()),
        None => format!(
            "the project's CPU job {} (no GPU job found)",
            job.describe()
        ),
    };
    let mut notes = vec![format!("following {by}")];
    notes.extend(job.notes.iter().cloned());
    notes
}

/// The minor of a Python version a CI job writes (`3.11`, `3.11.4`, `3.12-dev`); `None` for
/// anything else (`3.x`, `pypy3.10`). YAML reads an unquoted `3.10` as `3.1`, as GitHub does.
fn python_minor(text: &str) -> Option<u32> {
    let rest = text.trim().strip_prefix("3.")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let after = rest[digits.len()..].chars().next();
    if digits.is_empty() || after.is_some_and(|c| c != '.' && c != '-') {
        return None;
    }
    digits.parse().ok()
}

/// Text from the project's files, shown on a terminal: control characters escaped, so that a
/// workflow cannot write terminal escapes into a note.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The build and test switches the project reads that nothing sets: each a note naming the key
/// that would set it (`env`, `setup`, `pytest-args`, `submodules`), with that key.
pub fn switch_notes(
    project: &Project,
    install: ProjectInstall,
    pytest_args: &str,
    recipe: &Recipe,
    arch_lists: &[(String, String)],
) -> Vec<(&'static str, String)> {
    let switches = &project.switches;
    // Set by `env` (a flag, the config, or the project's CI job through it): no note.
    let set_by_ci = |name: &str| recipe.env.value.contains_key(name);
    let toml = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let mut notes = Vec::new();
    for read in &switches.build_env {
        if set_by_ci(&read.name) || (project.compiled.is_none() && !read.name.contains("CUDA")) {
            continue;
        }
        let name = &read.name;
        if let Some((_, value)) = arch_lists.iter().find(|(n, _)| n == name) {
            notes.push(("env", format!(
                "{} reads `{name}` for the CUDA architectures it compiles: the image build sets it to `{value}` for the configured GPUs, from its default's list `{}`; change it with --env",
                read.file,
                read.default.as_deref().unwrap_or_default()
            )));
        } else if read.is_arch_list() {
            notes.push(("env", format!(
                "{} reads `{name}` for the CUDA architectures it compiles; gpu-ci sets TORCH_CUDA_ARCH_LIST, not `{name}`: set `env = {{ {name} = \"…\" }}` to the configured GPUs' architectures",
                read.file
            )));
        } else {
            let value = read
                .compared_with
                .as_deref()
                .map_or("\"…\"".to_string(), toml);
            notes.push(("env", format!(
                "{} reads `{name}` to decide its native build: set `env = {{ {name} = {value} }}` if the GPU run should build it",
                read.file
            )));
        }
    }
    for read in &switches.test_env {
        if set_by_ci(&read.name) {
            continue;
        }
        notes.push(("env", format!(
            "{} reads `{}`, a GPU-test or backend selector: set `env = {{ {} = \"…\" }}` if the GPU run needs it",
            read.file, read.name, read.name
        )));
    }
    for (option, file) in &switches.test_options {
        if pytest_args.split_whitespace().any(|w| w == option) {
            continue;
        }
        notes.push(("pytest-args", format!(
            "{file} registers `{option}`, which selects GPU tests: add it to `pytest-args` (--pytest-args \"{} {option}\") if the GPU run should pass it",
            pytest_args
        )));
    }
    if !switches.submodules.is_empty() && !recipe.submodules.value {
        let paths: Vec<String> = switches
            .submodules
            .iter()
            .take(3)
            .map(|p| format!("`{p}`"))
            .collect();
        notes.push(("submodules", format!(
            "the project has git submodules ({}): the tree under test is checked out without them; if the build or the tests need them, set `submodules = \"recursive\"`",
            paths.join(", ")
        )));
    }
    // The toolkit a build script looks for: only a CUDA devel image (`cuda`) has nvcc.
    let toolkit = (switches.build_script_needs_nvcc && recipe.cuda.value.is_none())
        .then(|| format!("cuda = \"{}\"", super::recipe::DEFAULT_CUDA));
    if let Some(script) = &switches.build_script
        && install == ProjectInstall::AtStart
    {
        let run = if script.ends_with(".py") {
            "python"
        } else {
            "bash"
        };
        if recipe.setup.value.is_empty() {
            let cuda = toolkit.as_ref().map_or(String::new(), |line| {
                format!(", with `{line}`: it looks for nvcc, which only a CUDA devel image has")
            });
            notes.push(("setup", format!(
                "`{script}` looks like a native build apart from the package's: install-project = \"start\" installs the package without running it; if the tests need what it builds, set `setup = [\"{run} {script}\"]`{cuda}"
            )));
        } else if let Some(line) = &toolkit
            && recipe
                .setup
                .value
                .iter()
                .any(|c| c.contains(script.as_str()))
        {
            notes.push(("cuda", format!(
                "`{script}`, which `setup` runs, looks for nvcc, which only a CUDA devel image has: set `{line}` (--cuda), or it builds without CUDA"
            )));
        }
    }
    notes
}
