//! The modules a project's test files import at their top level, read as text (never
//! imported), so that the pre-flight can name one no package of the image provides (issue 22:
//! tests that import `einops`, which nothing declares).

use std::collections::BTreeMap;
use std::path::Path;

use super::read_regular;

/// Python's standard library, top-level names (`sys.stdlib_module_names`, and a few removed
/// since that old tests still import): never a package to install.
const STDLIB: [&str; 218] = [
    "__future__",
    "abc",
    "aifc",
    "antigravity",
    "argparse",
    "array",
    "ast",
    "asynchat",
    "asyncio",
    "asyncore",
    "atexit",
    "audioop",
    "base64",
    "bdb",
    "binascii",
    "bisect",
    "builtins",
    "bz2",
    "cProfile",
    "calendar",
    "cgi",
    "cgitb",
    "chunk",
    "cmath",
    "cmd",
    "code",
    "codecs",
    "codeop",
    "collections",
    "colorsys",
    "compileall",
    "concurrent",
    "configparser",
    "contextlib",
    "contextvars",
    "copy",
    "copyreg",
    "crypt",
    "csv",
    "ctypes",
    "curses",
    "dataclasses",
    "datetime",
    "dbm",
    "decimal",
    "difflib",
    "dis",
    "distutils",
    "doctest",
    "email",
    "encodings",
    "ensurepip",
    "enum",
    "errno",
    "faulthandler",
    "fcntl",
    "filecmp",
    "fileinput",
    "fnmatch",
    "fractions",
    "ftplib",
    "functools",
    "gc",
    "genericpath",
    "getopt",
    "getpass",
    "gettext",
    "glob",
    "graphlib",
    "grp",
    "gzip",
    "hashlib",
    "heapq",
    "hmac",
    "html",
    "http",
    "idlelib",
    "imaplib",
    "imghdr",
    "imp",
    "importlib",
    "inspect",
    "io",
    "ipaddress",
    "itertools",
    "json",
    "keyword",
    "lib2to3",
    "linecache",
    "locale",
    "logging",
    "lzma",
    "mailbox",
    "mailcap",
    "marshal",
    "math",
    "mimetypes",
    "mmap",
    "modulefinder",
    "msilib",
    "msvcrt",
    "multiprocessing",
    "netrc",
    "nis",
    "nntplib",
    "nt",
    "ntpath",
    "nturl2path",
    "numbers",
    "opcode",
    "operator",
    "optparse",
    "os",
    "ossaudiodev",
    "pathlib",
    "pdb",
    "pickle",
    "pickletools",
    "pipes",
    "pkgutil",
    "platform",
    "plistlib",
    "poplib",
    "posix",
    "posixpath",
    "pprint",
    "profile",
    "pstats",
    "pty",
    "pwd",
    "py_compile",
    "pyclbr",
    "pydoc",
    "pydoc_data",
    "pyexpat",
    "queue",
    "quopri",
    "random",
    "re",
    "readline",
    "reprlib",
    "resource",
    "rlcompleter",
    "runpy",
    "sched",
    "secrets",
    "select",
    "selectors",
    "shelve",
    "shlex",
    "shutil",
    "signal",
    "site",
    "smtpd",
    "smtplib",
    "sndhdr",
    "socket",
    "socketserver",
    "spwd",
    "sqlite3",
    "sre_compile",
    "sre_constants",
    "sre_parse",
    "ssl",
    "stat",
    "statistics",
    "string",
    "stringprep",
    "struct",
    "subprocess",
    "sunau",
    "symtable",
    "sys",
    "sysconfig",
    "syslog",
    "tabnanny",
    "tarfile",
    "telnetlib",
    "tempfile",
    "termios",
    "textwrap",
    "this",
    "threading",
    "time",
    "timeit",
    "tkinter",
    "token",
    "tokenize",
    "tomllib",
    "trace",
    "traceback",
    "tracemalloc",
    "tty",
    "turtle",
    "turtledemo",
    "types",
    "typing",
    "unicodedata",
    "unittest",
    "urllib",
    "uu",
    "uuid",
    "venv",
    "warnings",
    "wave",
    "weakref",
    "webbrowser",
    "winreg",
    "winsound",
    "wsgiref",
    "xdrlib",
    "xml",
    "xmlrpc",
    "zipapp",
    "zipfile",
    "zipimport",
    "zlib",
    "zoneinfo",
];

/// Import names whose distribution is named otherwise, as `(module, distribution)`.
const ALIASES: [(&str, &str); 16] = [
    ("yaml", "pyyaml"),
    ("pil", "pillow"),
    ("sklearn", "scikit-learn"),
    ("skimage", "scikit-image"),
    ("cv2", "opencv-python"),
    ("attr", "attrs"),
    ("dateutil", "python-dateutil"),
    ("bs4", "beautifulsoup4"),
    ("jwt", "pyjwt"),
    ("google", "protobuf"),
    ("git", "gitpython"),
    ("zmq", "pyzmq"),
    ("serial", "pyserial"),
    ("_pytest", "pytest"),
    ("pkg_resources", "setuptools"),
    ("crypto", "pycryptodome"),
];

/// How many test files are read at most.
const MAX_FILES: usize = 5000;
/// How deep folders are walked.
const MAX_DEPTH: usize = 12;

/// The modules the test files under `paths` import at their top level that are neither the
/// standard library nor the project's own (a package or module anywhere in its tree: tests
/// and conftest.py put folders such as `scripts/` on the path): each with the first
/// `file:line` that imports it.
pub fn third_party_imports(root: &Path, paths: &[String]) -> BTreeMap<String, String> {
    let mut files: Vec<String> = Vec::new();
    let mut local: Vec<String> = Vec::new();
    for path in paths {
        let path = path.split("::").next().unwrap_or(path).trim_matches('/');
        walk(root, path, 0, &mut files, &mut local);
    }
    let mut found = BTreeMap::new();
    for rel in &files {
        let Some(text) = read_regular(root, rel) else {
            continue;
        };
        // Lines inside a triple-quoted string (a script of another language the test
        // writes out) are data, not imports.
        let mut in_string: Option<&str> = None;
        for (index, line) in text.lines().enumerate() {
            let starts_inside = in_string.is_some();
            in_string = after_triple_quotes(line, in_string);
            if starts_inside {
                continue;
            }
            for module in imported(line) {
                found
                    .entry(module)
                    .or_insert_with(|| format!("{rel}:{}", index + 1));
            }
        }
    }
    let mut budget = MAX_TREE;
    tree_names(root, 0, &mut budget, &mut local);
    found.retain(|name, _| !STDLIB.contains(&name.as_str()) && !local.contains(name));
    found
}

/// How many entries of the project's tree are looked at for its own module names.
const MAX_TREE: usize = 50_000;

/// Hidden folders that hold no module of the project's: version control, environments, caches.
/// Other hidden folders are walked: CI scripts (`.github/scripts/`) are modules tests put on
/// the path.
const HIDDEN_SKIPPED: [&str; 12] = [
    ".git",
    ".hg",
    ".svn",
    ".venv",
    ".tox",
    ".nox",
    ".eggs",
    ".cache",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".ipynb_checkpoints",
];

/// The names of the folders and `.py` modules anywhere in the project's tree (version control,
/// caches and environments skipped; links never followed).
fn tree_names(dir: &Path, depth: usize, budget: &mut usize, names: &mut Vec<String>) {
    if depth > MAX_DEPTH {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if HIDDEN_SKIPPED.contains(&name.as_str())
            || matches!(
                name.as_str(),
                "__pycache__" | "node_modules" | "site-packages"
            )
        {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {
            continue;
        };
        if meta.is_dir() {
            // A virtual environment under any name holds installed packages, not the project's.
            if entry.path().join("pyvenv.cfg").exists() {
                continue;
            }
            if !name.starts_with('.') {
                names.push(name);
            }
            tree_names(&entry.path(), depth + 1, budget, names);
        } else if meta.is_file()
            && !name.starts_with('.')
            && let Some(stem) = name.strip_suffix(".py")
        {
            names.push(stem.to_string());
        }
    }
}

/// Test files (`test_*.py`, `*_test.py`, `conftest.py`) under `rel`, and the module names
/// beside them; links are never followed.
fn walk(root: &Path, rel: &str, depth: usize, files: &mut Vec<String>, local: &mut Vec<String>) {
    if depth > MAX_DEPTH || files.len() >= MAX_FILES || rel.split('/').any(|p| p == "..") {
        return;
    }
    let path = if rel.is_empty() || rel == "." {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    let Ok(meta) = std::fs::symlink_metadata(&path) else {
        return;
    };
    if meta.is_file() {
        if rel.ends_with(".py") {
            files.push(rel.to_string());
        }
        return;
    }
    if !meta.is_dir() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(&path) else {
        return;
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.') && n != "__pycache__")
        .collect();
    names.sort();
    for name in names {
        let child = if rel.is_empty() || rel == "." {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let Ok(meta) = std::fs::symlink_metadata(root.join(&child)) else {
            continue;
        };
        if meta.is_dir() {
            local.push(name.clone());
            walk(root, &child, depth + 1, files, local);
        } else if meta.is_file()
            && let Some(stem) = name.strip_suffix(".py")
        {
            local.push(stem.to_string());
            if stem.starts_with("test_") || stem.ends_with("_test") || stem == "conftest" {
                files.push(child);
            }
        }
    }
}

/// Whether the text after `line` is inside a triple-quoted string (`Some` of its quotes),
/// given whether `line` starts inside one.
fn after_triple_quotes<'a>(line: &str, mut inside: Option<&'a str>) -> Option<&'a str> {
    let mut rest = line;
    loop {
        match inside {
            Some(quotes) => match rest.find(quotes) {
                Some(at) => {
                    rest = &rest[at + 3..];
                    inside = None;
                }
                None => return inside,
            },
            None => {
                let code = rest.split('#').next().unwrap_or_default();
                let next = ["\"\"\"", "'''"]
                    .into_iter()
                    .filter_map(|q| code.find(q).map(|at| (at, q)))
                    .min();
                let (at, quotes) = next?;
                rest = &rest[at + 3..];
                inside = Some(quotes);
            }
        }
    }
}

/// The top-level modules a line imports when it is an import at the module's top level
/// (`import a.b as c, d`, `from a.b import c`); relative imports name none.
fn imported(line: &str) -> Vec<String> {
    let line = line.split('#').next().unwrap_or_default().trim_end();
    let valid = |name: &str| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if let Some(rest) = line.strip_prefix("from ") {
        let module = rest.split_whitespace().next().unwrap_or_default();
        let top = module.split('.').next().unwrap_or_default();
        return if valid(top) && rest.contains(" import") {
            vec![top.to_string()]
        } else {
            Vec::new()
        };
    }
    let Some(rest) = line.strip_prefix("import ") else {
        return Vec::new();
    };
    // `import { a } from "./x"`, `import a from "b"`: another language's syntax.
    if rest.contains('{') || rest.contains(" from ") {
        return Vec::new();
    }
    rest.split(',')
        .filter_map(|part| {
            let module = part.split_whitespace().next()?;
            let top = module.split('.').next()?;
            valid(top).then(|| top.to_string())
        })
        .collect()
}

/// Whether a distribution of the set (normalised names) provides the module `name`: the same
/// name, a namespace family (`nvidia` for `nvidia-cublas`), or a known alias.
pub fn provided(name: &str, packages: &[String]) -> bool {
    let module = name.to_ascii_lowercase().replace('_', "-");
    let alias = ALIASES
        .iter()
        .find(|(m, _)| *m == name.to_ascii_lowercase())
        .map(|(_, d)| *d);
    packages.iter().any(|p| {
        *p == module
            || p.starts_with(&format!("{module}-"))
            || alias.is_some_and(|a| p == a || p.starts_with(&format!("{a}-")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_imports_are_read_and_the_projects_own_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let write = |rel: &str, text: &str| {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("kern/__init__.py", "");
        write("scripts/tool_helper.py", "");
        write("tests/helpers.py", "import outside_only_in_helpers\n");
        write(
            "tests/test_a.py",
            "import os, sys\nimport einops.layers as L\nfrom kern import f\nimport tool_helper\nfrom helpers import h\nfrom . import rel\ntry:\n    import optional\nexcept ImportError:\n    pass\nimport torch  # the framework\nfrom yaml import safe_load\n",
        );
        write(
            "tests/sub/conftest.py",
            "from tests.sub import x\nimport numpy as np\n",
        );
        // CI scripts a test puts on its path (`sys.path.insert(0, ".github/scripts/ci")`) are
        // the project's own; an environment or version control under any name is not.
        write(".github/scripts/ci/launch.py", "");
        write(
            "tests/test_ci.py",
            "import launch\nimport yaml\nimport requests\n",
        );
        write(
            ".venv/lib/python3.12/site-packages/requests/__init__.py",
            "",
        );
        write("env2/pyvenv.cfg", "home = /usr/bin\n");
        write("env2/lib/yaml/__init__.py", "");
        write(".git/hooks/torch.py", "");
        // A script of another language a test writes out is data, whatever it imports.
        write(
            "tests/test_js.py",
            "SCRIPT = \"\"\"\nimport { settle, syncTail } from \"./harness.ts\";\nimport jsdefault from \"lib\";\n\"\"\"\nONE = '''x''' # '''\nimport inline_after_one_line_string\nX = '''\nimport inside\n'''\nimport pandas\n",
        );
        std::os::unix::fs::symlink("/etc", dir.path().join("tests/etc")).unwrap();
        let found = third_party_imports(dir.path(), &["tests/".to_string()]);
        let names: Vec<&str> = found.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "einops",
                "inline_after_one_line_string",
                "numpy",
                "pandas",
                "requests",
                "torch",
                "yaml"
            ]
        );
        assert_eq!(
            imported("import jsdefault from \"lib\";"),
            Vec::<String>::new()
        );
        assert_eq!(found["einops"], "tests/test_a.py:2");
        assert_eq!(found["torch"], "tests/test_a.py:11");
        let set: Vec<String> = ["torch", "numpy", "pyyaml", "nvidia-cublas"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(provided("torch", &set) && provided("yaml", &set) && provided("nvidia", &set));
        assert!(!provided("einops", &set));
    }
}
