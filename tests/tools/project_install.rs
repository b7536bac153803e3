//! Issue 13: the project itself is installed before its tests run, so what only an installed
//! project has works: its metadata, its entry points, a namespace package under src/.

use std::process::Command;

use crate::common::{Project, describe, scrub_env};
use crate::installed::python;

/// A src-layout project with a namespace package, a version and an entry point, whose tests
/// check all three; `gpu-ci init` writes its runner.
fn installable_project() -> Project {
    let project = Project::empty();
    project.write(
        "pyproject.toml",
        "[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[project]\nname = \"acme-vecops\"\nversion = \"1.2.3\"\n\n[project.entry-points.\"acme.plugins\"]\nnorm = \"acme.vecops:norm\"\n\n[tool.setuptools.packages.find]\nwhere = [\"src\"]\n",
    );
    project.write(
        "src/acme/vecops/__init__.py",
        "def norm(xs):\n    return sum(x * x for x in xs) ** 0.5\n",
    );
    project.write(
        "tests/test_installed.py",
        "from importlib.metadata import entry_points, version\n\nimport acme.vecops\n\n\ndef test_metadata():\n    assert version('acme-vecops') == '1.2.3'\n\n\ndef test_entry_point():\n    (plugin,) = entry_points(group='acme.plugins')\n    assert plugin.load()([3, 4]) == 5\n\n\ndef test_namespace_package():\n    assert acme.vecops.norm([6, 8]) == 10\n",
    );
    project.gpu_ci(&["init", "--yes"]).success();
    project
}

/// What the sandbox runs, with `--install-project`, in a fresh virtual environment that has
/// setuptools (for the build without isolation) and sees the test venv's pytest.
#[test]
fn the_project_is_installed_so_metadata_entry_points_and_namespaces_work() {
    let project = installable_project();
    let runner = project.read(".modal/test_runner.py");
    assert!(
        runner.contains("INSTALL_ARGS = [\"--install-project\"]"),
        "init must ask for the install"
    );
    let venv = tempfile::tempdir().unwrap();
    let made = Command::new(python())
        .args(["-m", "venv"])
        .arg(venv.path())
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", describe(&made));
    let venv_python = venv.path().join("bin/python");
    let site = Command::new(python())
        .args([
            "-c",
            "import pytest, os; print(os.path.dirname(os.path.dirname(pytest.__file__)))",
        ])
        .output()
        .unwrap();
    let pytest_site = String::from_utf8(site.stdout).unwrap().trim().to_string();
    let run = |install: bool| {
        let mut cmd = Command::new(&venv_python);
        scrub_env(&mut cmd);
        cmd.current_dir(&project.root)
            .env("PYTHONPATH", &pytest_site)
            // No uv here: the script falls back to pip.
            .env("PATH", venv.path().join("bin"))
            .arg(".modal/in_container.py");
        if install {
            cmd.arg("--install-project");
        }
        cmd.args(["--", "tests", "-p", "no:cacheprovider"]);
        cmd.output().unwrap()
    };
    // Without the install, metadata and the entry point are missing: the test can fail.
    let bare = run(false);
    assert_eq!(bare.status.code(), Some(1), "{}", describe(&bare));
    let installed = run(true);
    assert!(installed.status.success(), "{}", describe(&installed));
    let out = String::from_utf8_lossy(&installed.stdout);
    assert!(out.contains("gpu-ci: installed the project in"), "{out}");
    assert!(out.contains("3 passed"), "{out}");
}
