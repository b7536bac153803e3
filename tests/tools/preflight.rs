//! The pre-flight resolve of issue 21, with the uv scripts/test.sh installs, against a local
//! index of small wheels this test builds and serves on 127.0.0.1 (never the internet): a
//! conflict between the chosen extra and the project's dependencies, a pytest plugin the
//! project's config loads that the image lacks, and a set that resolves.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::common::{Project, gpu_ci};
use crate::installed::{python, tool};

/// Writes `name-version-py3-none-any.whl` files (METADATA with `Requires-Dist`) and a PEP 503
/// simple index of them under `root/simple/`.
const MAKE_INDEX: &str = r#"
import hashlib, pathlib, sys, zipfile
root = pathlib.Path(sys.argv[1])
wheels = root / "files"
wheels.mkdir(parents=True)
projects = {}
for spec in sys.argv[2:]:
    sdist = spec.startswith("sdist:")
    name, version, *requires = spec.removeprefix("sdist:").split("|")
    dist = name.replace("-", "_")
    if sdist:
        # Only a source archive: uv would have to build it to read its dependencies.
        import io, tarfile
        path = wheels / f"{dist}-{version}.tar.gz"
        with tarfile.open(path, "w:gz") as archive:
            for member, text in {
                "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
                "setup.py": "raise SystemExit('the pre-flight must never build this')\n",
            }.items():
                data = text.encode()
                info = tarfile.TarInfo(f"{dist}-{version}/{member}")
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        projects.setdefault(name, []).append(f'<a href="../../files/{path.name}#sha256={digest}">{path.name}</a>')
        continue
    path = wheels / f"{dist}-{version}-py3-none-any.whl"
    info = f"{dist}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires
    )
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"{dist}/__init__.py", "")
        wheel.writestr(f"{info}/METADATA", metadata)
        wheel.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        wheel.writestr(f"{info}/RECORD", "")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    projects.setdefault(name, []).append(f'<a href="../../files/{path.name}#sha256={digest}">{path.name}</a>')
simple = root / "simple"
simple.mkdir()
links = []
for name, files in projects.items():
    (simple / name).mkdir()
    (simple / name / "index.html").write_text("<html><body>" + "\n".join(files) + "</body></html>")
    links.append(f'<a href="{name}/">{name}</a>')
(simple / "index.html").write_text("<html><body>" + "\n".join(links) + "</body></html>")
"#;

/// A static file server on 127.0.0.1 (a free port), stopped by pid when dropped.
struct Index {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Index {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SERVE: &str = r#"
import functools, http.server, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
handler = functools.partial(Quiet, directory=sys.argv[1])
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

fn index(wheels: &[&str]) -> Index {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(python())
        .arg("-c")
        .arg(MAKE_INDEX)
        .arg(dir.path())
        .args(wheels)
        .status()
        .unwrap();
    assert!(status.success());
    let mut child = Command::new(python())
        .arg("-c")
        .arg(SERVE)
        .arg(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = format!("http://127.0.0.1:{}/simple", line.trim());
    Index {
        child,
        url,
        _dir: dir,
    }
}

/// A PATH whose only uv is the one scripts/test.sh installs.
fn path_with_uv() -> String {
    let uv: PathBuf = tool("uv");
    let dir = uv.parent().unwrap().to_path_buf();
    let git = Path::new("/usr/bin");
    std::env::join_paths([dir.as_path(), git])
        .unwrap()
        .into_string()
        .unwrap()
}

fn project(pyproject: &str) -> Project {
    let project = Project::empty();
    project.write("pyproject.toml", pyproject);
    project.write("tests/test_x.py", "def test_x():\n    pass\n");
    project
}

/// gpu-ci with `args` in `project`, with uv on PATH resolving from `index` only.
fn with_index(project: &Project, index: &Index, args: &[&str]) -> std::process::Output {
    gpu_ci()
        .arg("-C")
        .arg(&project.root)
        .args(args)
        .env("PATH", path_with_uv())
        .env_remove("UV_OFFLINE")
        .env("UV_DEFAULT_INDEX", &index.url)
        .env("UV_CACHE_DIR", project.path(".uv-cache"))
        .output()
        .unwrap()
}

fn doctor_json(project: &Project, index: &Index) -> serde_json::Value {
    let output = with_index(project, index, &["doctor", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "preflight")
        .cloned()
        .unwrap_or_else(|| panic!("no preflight check: {json:#}"))
}

const PROJECT: &str = r#"[project]
name = "demo"
version = "0.1"
requires-python = ">=3.10"
dependencies = ["numlib>=2"]

[project.optional-dependencies]
test = ["oldtool"]

[tool.gpu-ci]
python = "3.12"
extra = "test"
"#;

const WHEELS: [&str; 5] = [
    "numlib|1.0",
    "numlib|2.0",
    // oldtool needs numlib<2: the `test` extra cannot go with the project's numlib>=2.
    "oldtool|1.0|numlib<2",
    "pytest|8.0",
    "pytest-timeout|2.0|pytest",
];

#[test]
fn conflicting_extras_are_reported_with_uvs_message_and_the_key_that_fixes_them() {
    let index = index(&WHEELS);
    let project = project(PROJECT);
    let check = doctor_json(&project, &index);
    assert_eq!(check["status"], "fail", "{check:#}");
    let detail = check["detail"].as_str().unwrap();
    assert!(detail.contains("Python 3.12 on Linux x86_64"), "{detail}");
    assert!(detail.contains("oldtool"), "{detail}");
    assert!(detail.contains("numlib"), "{detail}");
    assert!(
        check["fix"].as_str().unwrap().contains("`packages`"),
        "{check:#}"
    );
    // On the screen, uv's message keeps its lines: indented under the row, each escaped,
    // never one line of `\u{a}`.
    let screen = with_index(&project, &index, &["doctor"]);
    let screen = String::from_utf8(screen.stdout).unwrap();
    assert!(!screen.contains("\\u{a}"), "{screen}");
    let row = screen
        .lines()
        .position(|l| l.contains("dependencies resolve"))
        .unwrap_or_else(|| panic!("{screen}"));
    let rest: Vec<&str> = screen.lines().skip(row + 1).collect();
    assert!(
        rest[0].starts_with("    ")
            && rest
                .iter()
                .take_while(|l| l.starts_with("    "))
                .any(|l| l.contains("oldtool")),
        "{screen}"
    );
    // init says the same, uv's lines indented under its warning.
    let init = with_index(&project, &index, &["init", "--yes", "--force"]);
    let stderr = String::from_utf8(init.stderr).unwrap();
    assert!(!stderr.contains("\\u{a}"), "{stderr}");
    assert!(
        stderr.contains("so its build would fail:\n  ") && stderr.contains("help: "),
        "{stderr}"
    );
}

#[test]
fn a_set_that_resolves_passes_and_a_missing_plugin_fails() {
    let index = index(&WHEELS);
    let resolving = PROJECT.replace("test = [\"oldtool\"]", "test = []");
    let project = project(&resolving);
    let check = doctor_json(&project, &index);
    assert_eq!(check["status"], "pass", "{check:#}");
    // numlib and pytest.
    assert!(
        check["detail"]
            .as_str()
            .unwrap()
            .starts_with("2 packages for Python 3.12 on Linux x86_64"),
        "{check:#}"
    );

    // The project's pytest config loads plugins the image does not install.
    let with_plugins = format!(
        "{resolving}\n[tool.pytest.ini_options]\naddopts = \"-p timeout -p no:cacheprovider\"\nrequired_plugins = [\"pytest-timeout>=2\"]\n"
    );
    let project = self::project(&with_plugins);
    let check = doctor_json(&project, &index);
    assert_eq!(check["status"], "fail", "{check:#}");
    let detail = check["detail"].as_str().unwrap();
    assert!(
        detail.contains("`pytest-timeout` (required_plugins)"),
        "{detail}"
    );
    assert!(detail.contains("`-p timeout`"), "{detail}");
    assert!(!detail.contains("cacheprovider"), "{detail}");
    // `packages` is the key that fixes it.
    let fixed = with_plugins.replace(
        "extra = \"test\"\n",
        "extra = \"test\"\npackages = [\"pytest-timeout\"]\n",
    );
    let project = self::project(&fixed);
    assert_eq!(doctor_json(&project, &index)["status"], "pass");
}

/// A subproject of the tree in `packages` (`./DIR[extra]`) is never built by the pre-flight:
/// its pyproject.toml's dependencies and the extra's are resolved as data, and a conflict in
/// them is one; a subproject whose dependencies only its build knows is named, not resolved.
#[test]
fn a_subprojects_dependencies_are_resolved_as_data() {
    let index = index(&WHEELS);
    let resolving = PROJECT.replace("test = [\"oldtool\"]", "test = []");
    let with_subproject = resolving.replace(
        "extra = \"test\"\n",
        "extra = \"test\"\npackages = [\"./kernels[old]\"]\n",
    );
    let project = self::project(&with_subproject);
    project.write(
        "kernels/pyproject.toml",
        "[project]\nname = \"kernels\"\nversion = \"0.1\"\ndependencies = [\"pytest-timeout\"]\n\n[project.optional-dependencies]\nold = [\"oldtool\", \"kernels[other]\"]\nother = []\n",
    );
    // Its build would fail the test if it ran.
    project.write(
        "kernels/setup.py",
        "raise SystemExit('the pre-flight must never build this')\n",
    );
    // `old` brings oldtool, which needs numlib<2: the project's numlib>=2 conflicts.
    let check = doctor_json(&project, &index);
    assert_eq!(check["status"], "fail", "{check:#}");
    assert!(
        check["detail"].as_str().unwrap().contains("oldtool"),
        "{check:#}"
    );
    // Without the extra: numlib, pytest and pytest-timeout (the subproject's own).
    project.write(
        "pyproject.toml",
        &with_subproject.replace("./kernels[old]", "./kernels"),
    );
    let check = doctor_json(&project, &index);
    assert_eq!(check["status"], "pass", "{check:#}");
    assert!(
        check["detail"]
            .as_str()
            .unwrap()
            .starts_with("3 packages for Python 3.12 on Linux x86_64"),
        "{check:#}"
    );
    // Dependencies only its build knows: named, the rest resolved.
    project.write(
        "kernels/pyproject.toml",
        "[project]\nname = \"kernels\"\nversion = \"0.1\"\ndynamic = [\"dependencies\"]\n",
    );
    let check = doctor_json(&project, &index);
    assert_eq!(check["status"], "pass", "{check:#}");
    let detail = check["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("2 packages") && detail.contains("only the build of `./kernels` knows"),
        "{detail}"
    );
}

/// `[tool.uv.sources]` that lead out of the tree (an absolute path) are never followed: the
/// outside project is not resolved, nor its dependencies; an index source is kept.
#[test]
fn a_path_source_outside_the_tree_is_never_followed() {
    let index = index(&WHEELS);
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("pyproject.toml"),
        "[project]\nname = \"outsider\"\nversion = \"1.0\"\ndependencies = [\"oldtool\"]\n",
    )
    .unwrap();
    let pyproject = PROJECT
        .replace("test = [\"oldtool\"]", "test = []")
        .replace(
            "dependencies = [\"numlib>=2\"]",
            "dependencies = [\"numlib>=2\", \"outsider\"]",
        )
        + &format!(
            "\n[tool.uv.sources]\noutsider = {{ path = \"{}\" }}\n",
            outside.path().display()
        );
    let project = project(&pyproject);
    let check = doctor_json(&project, &index);
    let text = check.to_string();
    assert_ne!(check["status"], "pass", "{check:#}");
    assert!(text.contains("outsider"), "{check:#}");
    assert!(
        !text.contains("oldtool"),
        "the outside project was read: {check:#}"
    );
}

/// A dependency that publishes only an sdist is never built: it is left out, the rest is
/// resolved, and the result says what was not checked; a conflict in the rest is still one.
#[test]
fn a_source_only_dependency_is_left_out_and_the_rest_resolved() {
    let wheels = [
        "numlib|1.0",
        "numlib|2.0",
        "oldtool|1.0|numlib<2",
        "pytest|8.0",
        "sdist:srconly|1.0",
    ];
    let index = index(&wheels);
    let resolving = PROJECT
        .replace("test = [\"oldtool\"]", "test = []")
        .replace("[\"numlib>=2\"]", "[\"numlib>=2\", \"srconly\"]");
    let project = project(&resolving);
    let check = doctor_json(&project, &index);
    assert_eq!(check["status"], "pass", "{check:#}");
    let detail = check["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("2 packages for Python 3.12 on Linux x86_64")
            && detail.contains("without `srconly` (only an sdist, which the pre-flight never builds: that would run its code), whose own dependencies are not checked"),
        "{detail}"
    );
    // init says the same, with what it could not check.
    let init = with_index(&project, &index, &["init", "--yes", "--force"]);
    let stderr = String::from_utf8(init.stderr).unwrap();
    assert!(
        stderr.contains("note: pre-flight: the image's dependencies resolve (2 packages for Python 3.12 on Linux x86_64; without `srconly` (only an sdist"),
        "{stderr}"
    );
    // With the conflicting extra too, the conflict is found past the source-only package.
    let conflicting = PROJECT.replace("[\"numlib>=2\"]", "[\"numlib>=2\", \"srconly\"]");
    let project = self::project(&conflicting);
    let check = doctor_json(&project, &index);
    assert_eq!(check["status"], "fail", "{check:#}");
    let detail = check["detail"].as_str().unwrap();
    assert!(
        detail.contains("oldtool") && detail.contains("(resolved without `srconly`"),
        "{detail}"
    );
}

/// Issue 22: the tests import a module nothing declares (`einops`); collection would stop at
/// the import. The pre-flight names it and the `packages` line that adds it; the standard
/// library, the project's own package and modules beside the tests are no finding.
#[test]
fn a_module_the_tests_import_that_nothing_installs_is_named() {
    let index = index(&[
        "numlib|2.0",
        "pytest|8.0",
        "einops|0.8",
        "setuptools|70.0",
        "wheel|0.44",
    ]);
    let resolving = PROJECT.replace("test = [\"oldtool\"]", "test = []");
    let project = project(&resolving);
    project.write("demo/__init__.py", "");
    project.write("tests/helpers.py", "");
    project.write(
        "tests/test_x.py",
        "import os\nimport numlib\nimport einops\nfrom demo import x\nfrom helpers import h\n\ndef test_x():\n    pass\n",
    );
    let check = doctor_json(&project, &index);
    assert_eq!(check["status"], "fail", "{check:#}");
    assert_eq!(
        check["detail"],
        "the tests import `einops` (tests/test_x.py:3), which no package of the image provides",
        "{check:#}"
    );
    assert!(
        check["fix"]
            .as_str()
            .unwrap()
            .contains("packages = [\"einops\"]"),
        "{check:#}"
    );
    let fixed = resolving.replace(
        "extra = \"test\"\n",
        "extra = \"test\"\npackages = [\"einops\"]\n",
    );
    project.write("pyproject.toml", &fixed);
    assert_eq!(doctor_json(&project, &index)["status"], "pass");
    // More than five: five named with their lines, the rest in one finding, and one
    // `packages` line for all of them (the next try is one line, not one per run).
    project.write(
        "tests/test_many.py",
        "import mod_a\nimport mod_b\nimport mod_c\nimport mod_d\nimport mod_e\nimport mod_f\nimport mod_g\n",
    );
    let check = doctor_json(&project, &index);
    assert_eq!(check["status"], "fail", "{check:#}");
    let detail = check["detail"].as_str().unwrap();
    assert_eq!(detail.lines().count(), 6, "{detail}");
    assert!(
        detail.contains("`mod_e` (tests/test_many.py:5)"),
        "{detail}"
    );
    assert!(
        detail.ends_with(
            "the tests import 2 more modules no package of the image provides: `mod_f`, `mod_g`"
        ),
        "{detail}"
    );
    assert!(
        check["fix"].as_str().unwrap().ends_with(
            "add them all to `packages` at once, where these are their distributions' names: \"mod-a\", \"mod-b\", \"mod-c\", \"mod-d\", \"mod-e\", \"mod-f\", \"mod-g\""
        ),
        "{check:#}"
    );
    // Dependencies only setup.py knows are not in the set: no import is called missing.
    let project = Project::empty();
    project.write(
        "setup.py",
        "from setuptools import setup\nsetup(name='demo', install_requires=['einops'])\n",
    );
    project.write("gpu-ci.toml", "python = \"3.12\"\n");
    project.write(
        "tests/test_x.py",
        "import einops\n\ndef test_x():\n    pass\n",
    );
    let check = doctor_json(&project, &index);
    assert_eq!(check["status"], "pass", "{check:#}");
}

/// A project whose test dependencies are requirements files: they are uv's sources, and a
/// conflict among them is a conflict, not a refused command line.
#[test]
fn requirements_files_are_resolved() {
    let index = index(&WHEELS);
    let project = Project::empty();
    project.write(
        "pyproject.toml",
        "[project]\nname = \"demo\"\nversion = \"0.1\"\n\n[tool.gpu-ci]\npython = \"3.12\"\nrequirements = \"requirements-test.txt\"\n",
    );
    project.write("requirements-test.txt", "-r requirements.txt\npytest\n");
    project.write("requirements.txt", "numlib>=2\n");
    project.write("tests/test_x.py", "def test_x():\n    pass\n");
    let check = doctor_json(&project, &index);
    assert_eq!(check["status"], "pass", "{check:#}");
    project.write("requirements.txt", "numlib>=2\noldtool\n");
    let check = doctor_json(&project, &index);
    assert_eq!(check["status"], "fail", "{check:#}");
    let detail = check["detail"].as_str().unwrap();
    assert!(!detail.contains("unexpected argument"), "{detail}");
    assert!(detail.contains("oldtool"), "{detail}");
}

/// Without uv, or without a network, the check says it was skipped; it never passes.
#[test]
fn without_uv_or_an_index_the_check_is_skipped() {
    let project = project(PROJECT);
    let json: serde_json::Value = serde_json::from_slice(
        &gpu_ci()
            .arg("-C")
            .arg(&project.root)
            .args(["doctor", "--json"])
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let check = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "preflight")
        .unwrap();
    assert_eq!(check["status"], "skip", "{check:#}");
    assert!(
        check["detail"]
            .as_str()
            .unwrap()
            .contains("uv is not installed")
    );

    // uv, offline (as every other test runs it).
    let output = gpu_ci()
        .arg("-C")
        .arg(&project.root)
        .args(["doctor", "--json"])
        .env("PATH", path_with_uv())
        .env("UV_CACHE_DIR", project.path(".uv-cache"))
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let check = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "preflight")
        .unwrap();
    assert_eq!(check["status"], "skip", "{check:#}");
}
