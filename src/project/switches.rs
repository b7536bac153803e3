//! Build and test switches read from the project's text, never run: the environment variables
//! setup.py reads to decide its CUDA build, the GPU-test selectors a conftest.py reads or
//! `pytest_addoption` registers, and a native build script kept apart from the package build.

use std::path::Path;

use super::read_regular;

/// An environment variable a file reads, and the value it compares it with, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvRead {
    pub name: String,
    /// `"TRUE"` in `os.getenv("X", "FALSE") == "TRUE"`.
    pub compared_with: Option<String>,
    /// `"80;90"` in `os.getenv("X", "80;90")`: the value it has when unset, as written.
    pub default: Option<String>,
    pub file: String,
}

impl EnvRead {
    /// An architecture list the build reads beyond `TORCH_CUDA_ARCH_LIST`: not one whose
    /// default names no CUDA architecture (`native`, ROCm's `gfx942`), which is another
    /// toolchain's.
    pub fn is_arch_list(&self) -> bool {
        self.name.contains("ARCH")
            && self.name != "TORCH_CUDA_ARCH_LIST"
            && self
                .default
                .as_deref()
                .is_none_or(|d| arch_entries(d).is_some())
    }

    /// The value this arch list needs for GPUs of these compute capabilities (`(8, 9)`),
    /// written as its default writes them: for each GPU, the highest entry of the default's
    /// own list that it runs (same major, no higher minor: a cubin runs on later minors of its
    /// major), so the value only ever names architectures the build knows. `None` without a
    /// default, or when a GPU has no such entry.
    pub fn arch_value(&self, capabilities: &[(u32, u32)]) -> Option<String> {
        let default = self.default.as_deref()?;
        let (separator, entries) = arch_entries(default)?;
        let mut chosen: Vec<&str> = Vec::new();
        for &(major, minor) in capabilities {
            let best = entries
                .iter()
                .filter(|(_, (m, n), exact)| *m == major && (*n == minor || (*n < minor && !exact)))
                .max_by_key(|(_, (_, n), exact)| (*n, !exact))?;
            if !chosen.contains(&best.0) {
                chosen.push(best.0);
            }
        }
        // In the default's order, as the build lists them.
        let ordered: Vec<&str> = entries
            .iter()
            .map(|(text, _, _)| *text)
            .filter(|text| chosen.contains(text))
            .collect();
        Some(ordered.join(&separator.to_string()))
    }

    /// Whether the variable turns on or shapes a CUDA build: an arch list (not ROCm's, not the
    /// TORCH_CUDA_ARCH_LIST gpu-ci sets), a `…BUILD…` switch, or a CUDA switch compared with a
    /// value.
    fn steers_cuda_build(&self) -> bool {
        let name = self.name.as_str();
        if name == "TORCH_CUDA_ARCH_LIST"
            || named(name, &["HIP", "ROCM"])
            || named(name, &OFF_WORDS)
        {
            return false;
        }
        self.is_arch_list()
            || name.contains("BUILD")
            || (name.contains("CUDA") && self.compared_with.is_some())
    }
}

/// One entry of an arch list: as written, its compute capability, and whether it is that
/// architecture's only (`90a`).
type ArchEntry<'a> = (&'a str, (u32, u32), bool);

/// An arch list's entries (`80;90a;100` or `8.0,9.0`): each as written, its compute capability,
/// and whether it is architecture-specific (`90a`: that GPU only); with the separator. `None`
/// when an entry is no CUDA architecture.
fn arch_entries(list: &str) -> Option<(char, Vec<ArchEntry<'_>>)> {
    let separator = [';', ',', ' ']
        .into_iter()
        .find(|c| list.contains(*c))
        .unwrap_or(';');
    let mut entries = Vec::new();
    for entry in list
        .split(separator)
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        let bare = entry
            .trim_start_matches("sm_")
            .trim_start_matches("compute_")
            .trim_end_matches("+PTX");
        let exact = bare.ends_with(['a', 'f']);
        let digits = bare.trim_end_matches(['a', 'f']);
        let capability = match digits.split_once('.') {
            Some((major, minor)) => (major.parse().ok()?, minor.parse().ok()?),
            None if digits.len() >= 2 && digits.chars().all(|c| c.is_ascii_digit()) => {
                let (major, minor) = digits.split_at(digits.len() - 1);
                (major.parse().ok()?, minor.parse().ok()?)
            }
            None => return None,
        };
        if !(3..=20).contains(&capability.0) {
            return None;
        }
        entries.push((entry, capability, exact));
    }
    (!entries.is_empty()).then_some((separator, entries))
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Switches {
    /// Variables setup.py reads that decide or shape its native build.
    pub build_env: Vec<EnvRead>,
    /// Variables a conftest.py reads that select GPU tests or a backend.
    pub test_env: Vec<EnvRead>,
    /// Options a conftest.py registers that select GPU tests (`--run-gpu`), with the file.
    pub test_options: Vec<(String, String)>,
    /// A native build script at the root (`build_lib.py`, `build.sh`), kept apart from setup.py.
    pub build_script: Option<String>,
    /// Whether that script looks for the CUDA toolkit (`nvcc`, `CUDA_HOME`), which only a CUDA
    /// devel image has.
    pub build_script_needs_nvcc: bool,
    /// The paths `.gitmodules` declares: vendored code (CUTLASS and the like) a checkout without
    /// submodules lacks.
    pub submodules: Vec<String>,
    /// The values the project's docs give its switches (`MAMBA_KEEP_CUDA_BUILD=TRUE`).
    pub documented: Vec<Documented>,
}

/// A value the project's docs give one of its switches, and the line that gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Documented {
    pub name: String,
    pub value: String,
    /// `README.md:36`.
    pub at: String,
}

/// The docs read for switch values: the root's, where a reader of the repository looks first.
const DOC_FILES: [&str; 4] = ["README.md", "README.rst", "README.txt", "CONTRIBUTING.md"];

/// Every `NAME=VALUE` for `name` in `text` (`MAMBA_KEEP_CUDA_BUILD=TRUE pip install .`,
/// `export X="1"`), with its line number.
fn assignments<'t>(text: &'t str, name: &str) -> Vec<(&'t str, usize)> {
    let mut found = Vec::new();
    let pattern = format!("{name}=");
    for (number, line) in text.lines().enumerate() {
        for (at, _) in line.match_indices(&pattern) {
            let before = line[..at].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let rest = &line[at + pattern.len()..];
            let value = match rest.chars().next() {
                Some(quote @ ('"' | '\'')) => rest[1..].split(quote).next().unwrap_or_default(),
                _ => rest
                    .split(|c: char| c.is_whitespace() || "`'\"|;,)".contains(c))
                    .next()
                    .unwrap_or_default(),
            };
            if !value.is_empty() && value.len() <= 100 {
                found.push((value, number + 1));
            }
        }
    }
    found
}

/// The values the docs at `root` give the switches: a switch that its reader compares with a
/// value (`== "TRUE"`) takes that value where the docs write it (the code and the docs agree);
/// another takes the docs' value when they give it exactly one. Arch lists never: gpu-ci
/// derives them from the configured GPUs.
fn documented(root: &Path, reads: &[&EnvRead]) -> Vec<Documented> {
    let docs: Vec<(&str, String)> = DOC_FILES
        .iter()
        .filter_map(|file| Some((*file, read_regular(root, file)?)))
        .collect();
    let mut found = Vec::new();
    for read in reads {
        if read.is_arch_list() {
            continue;
        }
        let given: Vec<(String, String)> = docs
            .iter()
            .flat_map(|(file, text)| {
                assignments(text, &read.name)
                    .into_iter()
                    .map(move |(value, line)| (value.to_string(), format!("{file}:{line}")))
            })
            .collect();
        let chosen = match &read.compared_with {
            Some(wanted) => given.iter().find(|(value, _)| value == wanted),
            None => given
                .first()
                .filter(|(first, _)| given.iter().all(|(value, _)| value == first)),
        };
        if let Some((value, at)) = chosen {
            found.push(Documented {
                name: read.name.clone(),
                value: value.clone(),
                at: at.clone(),
            });
        }
    }
    found
}

/// Words of a variable's name that say it steers a native build.
/// Words that say setting the variable turns the build off: unset, the build runs.
const OFF_WORDS: [&str; 3] = ["SKIP", "DISABLE", "NO_"];
/// Words of a variable's or option's name that say it selects GPU tests or a backend.
const TEST_WORDS: [&str; 5] = ["CUDA", "GPU", "BACKEND", "DEVICE", "ACCELERATOR"];
/// Words of a variable's name that say another vendor's accelerator (`ASCEND_RT_VISIBLE_DEVICES`,
/// `HIP_VISIBLE_DEVICES`): nothing an NVIDIA run sets.
const OTHER_VENDOR_WORDS: [&str; 8] = [
    "ASCEND", "NPU", "HIP", "ROCM", "ROCR", "XPU", "HABANA", "TPU",
];

fn named(name: &str, words: &[&str]) -> bool {
    let upper = name.to_ascii_uppercase();
    words.iter().any(|w| upper.contains(w))
}

/// Every `os.environ.get("X")`, `os.getenv("X")`, `os.environ["X"]` in `text`.
pub fn env_reads(text: &str, file: &str) -> Vec<EnvRead> {
    let mut found: Vec<EnvRead> = Vec::new();
    for call in ["os.environ.get(", "os.getenv(", "os.environ["] {
        for (at, _) in text.match_indices(call) {
            let rest = &text[at + call.len()..];
            let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
                continue;
            };
            let Some(end) = rest[1..].find(quote) else {
                continue;
            };
            let name = &rest[1..1 + end];
            let valid = !name.is_empty()
                && name.len() <= 64
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid || found.iter().any(|f| f.name == name) {
                continue;
            }
            // The closing of the call, then `== "VALUE"` on the same line.
            let line_end = rest.find('\n').unwrap_or(rest.len());
            let line = &rest[1 + end..line_end];
            let default = line.strip_prefix(quote).and_then(|after| {
                let value = after.trim_start().strip_prefix(',')?.trim_start();
                let open = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
                let close = value[1..].find(open)?;
                Some(value[1..1 + close].to_string())
            });
            let compared_with = line.find("==").and_then(|eq| {
                let value = line[eq + 2..].trim_start();
                let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
                let close = value[1..].find(quote)?;
                Some(value[1..1 + close].to_string())
            });
            found.push(EnvRead {
                name: name.to_string(),
                compared_with,
                default,
                file: file.to_string(),
            });
        }
    }
    found
}

/// `parser.addoption("--run-gpu", …)` in a conftest.py: the options it registers.
fn registered_options(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices("addoption(") {
        let rest = text[at + "addoption(".len()..].trim_start();
        let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue;
        };
        if let Some(end) = rest[1..].find(quote) {
            let option = &rest[1..1 + end];
            if option.starts_with("--")
                && option[2..]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                found.push(option.to_string());
            }
        }
    }
    found
}

/// The switches of the project at `root`; `setup_py` is setup.py's text.
pub fn detect(root: &Path, setup_py: Option<&str>, tests: &[String]) -> Switches {
    let mut switches = Switches::default();
    if let Some(text) = setup_py {
        switches.build_env = env_reads(text, "setup.py")
            .into_iter()
            .filter(EnvRead::steers_cuda_build)
            .collect();
    }
    let mut conftests = vec!["conftest.py".to_string()];
    for dir in tests {
        let dir = dir.trim_start_matches("./").trim_end_matches('/');
        if !dir.is_empty() {
            conftests.push(format!("{dir}/conftest.py"));
        }
    }
    for file in conftests {
        let Some(text) = read_regular(root, &file) else {
            continue;
        };
        for read in env_reads(&text, &file) {
            if named(&read.name, &TEST_WORDS)
                && !named(&read.name, &OTHER_VENDOR_WORDS)
                && !switches.test_env.iter().any(|r| r.name == read.name)
            {
                switches.test_env.push(read);
            }
        }
        for option in registered_options(&text) {
            if named(&option, &TEST_WORDS) && !switches.test_options.iter().any(|o| o.0 == option) {
                switches.test_options.push((option, file.clone()));
            }
        }
    }
    let mut scripts: Vec<String> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| is_native_build_script(name))
        .collect();
    scripts.sort();
    for script in scripts {
        let text = read_regular(root, &script).unwrap_or_default();
        let (native, nvcc) = native_build_evidence(&text);
        // A bare `build.sh` builds anything (a frontend, a release); its text must show a
        // native build.
        if is_bare_build_name(&script) && !native {
            continue;
        }
        switches.build_script = Some(script);
        switches.build_script_needs_nvcc = nvcc;
        break;
    }
    switches.submodules = read_regular(root, ".gitmodules")
        .map(|text| submodule_paths(&text))
        .unwrap_or_default();
    let reads: Vec<&EnvRead> = switches
        .build_env
        .iter()
        .chain(&switches.test_env)
        .collect();
    switches.documented = documented(root, &reads);
    switches
}

/// `path = csrc/cutlass` lines of `.gitmodules`.
fn submodule_paths(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let (key, value) = line.split_once('=')?;
            (key.trim() == "path").then(|| value.trim().to_string())
        })
        .filter(|path| !path.is_empty())
        .collect()
}

/// `build.sh` or `build.py`: a name that says nothing of what is built.
fn is_bare_build_name(name: &str) -> bool {
    matches!(name, "build.sh" | "build.py")
}

/// What a build script's text shows, as words: `(native, nvcc)`: it runs a compiler or a
/// native build tool (nvcc, CMake, gcc, `build_ext`, ...); it looks for the CUDA toolkit
/// (`nvcc`, `CUDA_HOME`, `CUDA_PATH`, `/usr/local/cuda`).
fn native_build_evidence(text: &str) -> (bool, bool) {
    const NATIVE: [&str; 14] = [
        "nvcc",
        "cmake",
        "build_ext",
        "gcc",
        "g++",
        "clang",
        "clang++",
        "ninja",
        "make",
        "meson",
        "bazel",
        "hipcc",
        "nvrtc",
        "cc",
    ];
    let mut native = false;
    let mut nvcc = false;
    for word in text
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '/' | '.')))
        .map(|w| w.trim_matches(['.', '/']).to_ascii_lowercase())
    {
        let word = word.as_str();
        nvcc |= word == "nvcc"
            || word.ends_with("cuda_home")
            || word.ends_with("cuda_path")
            || word.starts_with("usr/local/cuda");
        native |= NATIVE.contains(&word) || word.contains("cuda") || word.ends_with(".cu");
    }
    (native || nvcc, nvcc)
}

/// `build.sh`, `build_lib.py`, `build-native.sh`, `build_ext.py`: a build of native code, not
/// of docs, wheels or releases.
fn is_native_build_script(name: &str) -> bool {
    let Some(stem) = name
        .strip_suffix(".py")
        .or_else(|| name.strip_suffix(".sh"))
    else {
        return false;
    };
    let words: Vec<&str> = stem.split(['_', '-']).collect();
    words.first() == Some(&"build")
        && (words.len() == 1
            || words[1..].iter().any(|w| {
                matches!(
                    *w,
                    "lib"
                        | "libs"
                        | "native"
                        | "ext"
                        | "extension"
                        | "extensions"
                        | "cuda"
                        | "kernels"
                        | "cpp"
                )
            }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn documented_assignments_are_read() {
        let text = "| opt-in | `MAMBA_KEEP_CUDA_BUILD=TRUE pip install .` |\nexport X_GPU=\"1\"\nNOT_X_GPU=2\n";
        assert_eq!(
            super::assignments(text, "MAMBA_KEEP_CUDA_BUILD"),
            vec![("TRUE", 1)]
        );
        assert_eq!(super::assignments(text, "X_GPU"), vec![("1", 2)]);
    }

    use super::*;

    #[test]
    fn env_reads_with_the_value_they_are_compared_with() {
        let text = "if os.getenv(\"MAMBA_KEEP_CUDA_BUILD\", \"FALSE\") == \"TRUE\":\n    pass\narchs = os.environ.get('FLASH_ATTN_CUDA_ARCHS', '80;90')\nx = os.environ[\"HOME\"]\nbad = os.getenv(name)\n";
        let reads = env_reads(text, "setup.py");
        let names: Vec<&str> = reads.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["FLASH_ATTN_CUDA_ARCHS", "MAMBA_KEEP_CUDA_BUILD", "HOME"]
        );
        assert_eq!(reads[1].compared_with.as_deref(), Some("TRUE"));
        assert_eq!(reads[0].compared_with, None);
        assert!(reads[0].is_arch_list());
    }

    #[test]
    fn native_build_scripts_by_name() {
        for yes in [
            "build.sh",
            "build_lib.py",
            "build-native.sh",
            "build_ext.py",
        ] {
            assert!(is_native_build_script(yes), "{yes}");
        }
        for no in [
            "build_docs.py",
            "build_wheel.sh",
            "rebuild.py",
            "build.txt",
            "builder.py",
        ] {
            assert!(!is_native_build_script(no), "{no}");
        }
    }

    #[test]
    fn a_bare_build_script_counts_only_when_its_text_builds_native_code() {
        let dir = tempfile::tempdir().unwrap();
        // A frontend and release script: no compiler, no toolkit.
        std::fs::write(
            dir.path().join("build.sh"),
            "#!/usr/bin/env bash\ncd studio/frontend\nnpm ci && npm run build\npython -m build\ntwine upload dist/*\n",
        )
        .unwrap();
        let found = detect(dir.path(), None, &[]);
        assert_eq!(found.build_script, None);
        // The same name running CMake builds native code; no toolkit is looked for.
        std::fs::write(
            dir.path().join("build.sh"),
            "mkdir -p build && cd build && cmake .. && make -j\n",
        )
        .unwrap();
        let found = detect(dir.path(), None, &[]);
        assert_eq!(found.build_script.as_deref(), Some("build.sh"));
        assert!(!found.build_script_needs_nvcc);
        // A name that says native counts as before; its text says it looks for nvcc.
        std::fs::write(
            dir.path().join("build_lib.py"),
            "for env in ['WARP_CUDA_PATH', 'CUDA_HOME']:\n    pass\nnvcc = shutil.which('nvcc')\n",
        )
        .unwrap();
        std::fs::remove_file(dir.path().join("build.sh")).unwrap();
        let found = detect(dir.path(), None, &[]);
        assert_eq!(found.build_script.as_deref(), Some("build_lib.py"));
        assert!(found.build_script_needs_nvcc);
        assert_eq!(
            native_build_evidence("path = '/usr/local/cuda'\n"),
            (true, true)
        );
        assert_eq!(
            native_build_evidence("echo cudagraph docs\n"),
            (true, false)
        );
        assert_eq!(
            native_build_evidence("vite build && cp -r dist out\n"),
            (false, false)
        );
    }

    #[test]
    fn submodule_paths_from_gitmodules() {
        let text = "[submodule \"csrc/cutlass\"]\n\tpath = csrc/cutlass\n\turl = https://github.com/NVIDIA/cutlass.git\n";
        assert_eq!(submodule_paths(text), ["csrc/cutlass"]);
    }

    #[test]
    fn options_a_conftest_registers() {
        let text = "def pytest_addoption(parser):\n    parser.addoption(\"--run-gpu\", action=\"store_true\")\n    parser.addoption('--slow')\n    parser.addoption(OPTION)\n";
        assert_eq!(registered_options(text), ["--run-gpu", "--slow"]);
    }

    /// A project's own arch list takes, per GPU, the nearest entry of its default's list that
    /// the GPU runs, written as the default writes it; a list that is not CUDA's is none.
    #[test]
    fn arch_lists_take_their_defaults_form() {
        let text = "archs = os.getenv(\"FLASH_ATTN_CUDA_ARCHS\", \"80;90;100;110;120\").split(\";\")\nrocm = os.getenv('GPU_ARCHS', 'native')\nother = os.environ.get(\"KERN_ARCHS\", \"8.0, 9.0a\")\nbare = os.getenv(\"BARE_ARCH_LIST\")\n";
        let reads = env_reads(text, "setup.py");
        let read = |name: &str| reads.iter().find(|r| r.name == name).unwrap();
        let flash = read("FLASH_ATTN_CUDA_ARCHS");
        assert_eq!(flash.default.as_deref(), Some("80;90;100;110;120"));
        assert_eq!(flash.arch_value(&[(8, 9)]).as_deref(), Some("80"));
        assert_eq!(
            flash.arch_value(&[(9, 0), (8, 0)]).as_deref(),
            Some("80;90")
        );
        assert_eq!(flash.arch_value(&[(10, 0)]).as_deref(), Some("100"));
        assert_eq!(flash.arch_value(&[(7, 5)]), None);
        // ROCm's list (`native`, `gfx942`) is another toolchain's: no CUDA arch list.
        assert!(!read("GPU_ARCHS").is_arch_list());
        // `9.0a` runs on 9.0 only; the separator and spelling are the default's.
        let kern = read("KERN_ARCHS");
        assert_eq!(kern.arch_value(&[(9, 0)]).as_deref(), Some("9.0a"));
        assert_eq!(
            kern.arch_value(&[(8, 9), (9, 0)]).as_deref(),
            Some("8.0,9.0a")
        );
        // Without a default there is no form to follow: still an arch list, for a note.
        let bare = read("BARE_ARCH_LIST");
        assert!(bare.is_arch_list());
        assert_eq!(bare.arch_value(&[(8, 9)]), None);
        assert_eq!(
            arch_entries("sm_80;compute_90+PTX").map(|e| e.1.len()),
            Some(2)
        );
        assert_eq!(arch_entries("gfx942;gfx950"), None);
    }
}
