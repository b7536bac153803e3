//! The PyPI wheel: maturin (from .venv) builds it from pyproject.toml, a fresh venv installs
//! it offline, and the `gpu-ci` it puts on the venv's PATH works on the bundled example.
//!
//! On Linux x86_64 it is the wheel the release ships there: manylinux2014 (glibc 2.17), linked
//! by zig (`maturin build --zig`, ziglang from .venv), and `auditwheel show` must find it
//! consistent with `manylinux_2_17_x86_64`, from the versioned glibc symbols its binary uses
//! (built on this machine without zig, it needs glibc 2.34). Elsewhere (macOS) it is the
//! host's own wheel.
//!
//! The wheel is built with the dev profile in a target folder of its own (under the one cargo
//! test uses): its first build compiles the dependencies once more, later ones only what
//! changed; what it proves (the metadata, the binary in the wheel's scripts, the install, the
//! symbol versions the linker picked) does not depend on the profile. It is rebuilt whenever a
//! file the build reads is newer than it; the test never skips, and says which it did.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Instant, SystemTime};

use crate::common::{Project, describe, repo_root, scrub_env};
use crate::installed::{python, tool};

/// What the wheel is built from, relative to the repository root.
const INPUTS: [&str; 7] = [
    "src",
    "templates",
    "build.rs",
    "Cargo.toml",
    "Cargo.lock",
    "pyproject.toml",
    "README.md",
];

fn newest(path: &Path) -> SystemTime {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if !meta.is_dir() {
        return meta.modified().unwrap();
    }
    std::fs::read_dir(path)
        .unwrap()
        .flatten()
        .map(|entry| newest(&entry.path()))
        .fold(meta.modified().unwrap(), SystemTime::max)
}

fn run(cmd: &mut Command) -> String {
    let output = scrub_env(cmd).output().unwrap();
    assert!(output.status.success(), "{cmd:?}\n{}", describe(&output));
    String::from_utf8(output.stdout).unwrap()
}

/// The wheel for this version, found or built once for both tests (each of which would
/// otherwise remove the other's wheel folder while it builds).
fn wheel() -> PathBuf {
    static WHEEL: OnceLock<PathBuf> = OnceLock::new();
    WHEEL.get_or_init(find_or_build_wheel).clone()
}

/// The wheel for this version: reused when newer than every input, else built.
fn find_or_build_wheel() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wheel");
    // The distribution `gpu-ci-cli`, normalised as wheel file names spell it.
    let prefix = format!("gpu_ci_cli-{}-", env!("CARGO_PKG_VERSION"));
    let existing = std::fs::read_dir(&dir).ok().and_then(|entries| {
        entries.flatten().map(|e| e.path()).find(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            // A wheel built before the manylinux2014 build is not reused for it.
            name.starts_with(&prefix)
                && (!cfg!(all(target_os = "linux", target_arch = "x86_64"))
                    || name.contains("manylinux2014_x86_64"))
        })
    });
    let sources = INPUTS
        .iter()
        .map(|rel| newest(&repo_root().join(rel)))
        .max()
        .unwrap();
    if let Some(wheel) = existing
        && std::fs::metadata(&wheel).unwrap().modified().unwrap() > sources
    {
        eprintln!("reusing {} (newer than every source file)", wheel.display());
        return wheel;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let started = Instant::now();
    // A target folder of its own: maturin's build would otherwise replace target/debug/gpu-ci
    // while the other tests of this binary run it. Under the target folder in use (which
    // CARGO_TARGET_DIR may move), not the checkout's.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wheel-build");
    let mut build = Command::new(tool("maturin"));
    build.args(["build", "--profile", "dev", "--quiet"]);
    if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        // zig is found as `python3 -m ziglang`: the venv's, first on PATH.
        let venv_bin = tool("python").parent().unwrap().to_path_buf();
        let path = std::env::join_paths(
            std::iter::once(venv_bin)
                .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
        )
        .unwrap();
        build
            .args(["--zig", "--compatibility", "manylinux2014"])
            .args(["--target", "x86_64-unknown-linux-gnu"])
            .env("PATH", path);
    }
    run(build
        .arg("--out")
        .arg(&dir)
        .env("CARGO_TARGET_DIR", target)
        .current_dir(repo_root()));
    let wheel = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .expect("maturin wrote a wheel");
    eprintln!(
        "built {} in {:.1} s",
        wheel.display(),
        started.elapsed().as_secs_f64()
    );
    wheel
}

#[test]
fn a_fresh_venv_gets_a_working_gpu_ci_from_the_wheel() {
    let wheel = wheel();
    let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
    // A binary wheel for any Python 3: no ABI tag.
    assert!(name.contains("-py3-none-"), "{name}");

    let venv = tempfile::tempdir().unwrap();
    run(Command::new(python()).args(["-m", "venv"]).arg(venv.path()));
    run(Command::new(venv.path().join("bin/python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-index",
            "--disable-pip-version-check",
        ])
        .arg(&wheel));
    // The distribution is `gpu-ci-cli` (the name `uvx --from`, `uv tool install` and `pipx
    // install` take), its command `gpu-ci`.
    let show = run(Command::new(venv.path().join("bin/python")).args([
        "-m",
        "pip",
        "show",
        "--disable-pip-version-check",
        "gpu-ci-cli",
    ]));
    assert!(show.contains("Name: gpu-ci-cli\n"), "{show}");
    let gpu_ci = venv.path().join("bin/gpu-ci");
    assert!(
        gpu_ci.is_file(),
        "the wheel put no gpu-ci in the venv's bin/"
    );

    let version = run(Command::new(&gpu_ci).arg("--version"));
    let want = format!("gpu-ci {} (templates ", env!("CARGO_PKG_VERSION"));
    assert!(version.starts_with(&want), "{version}");

    let example = Project::empty();
    copy(&repo_root().join("examples/sample-project"), &example.root);
    let before = example.snapshot_tree();
    let diff = run(Command::new(&gpu_ci)
        .arg("-C")
        .arg(&example.root)
        .args(["init", "--dry-run"]));
    for file in [
        ".github/workflows/label-gpu-tests.yml",
        ".modal/test_runner.py",
        ".gpu-ci.lock",
    ] {
        assert!(
            diff.contains(&format!("would create {file}")),
            "{file}\n{diff}"
        );
    }
    assert_eq!(before, example.snapshot_tree(), "--dry-run wrote something");
}

/// Issue 25: the Linux x86_64 wheel installs on glibc 2.17 (Ubuntu 20.04, Debian 11, RHEL 8 and
/// older), as its tag claims: auditwheel reads the glibc symbol versions the binary needs.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn the_linux_wheel_is_manylinux2014_by_auditwheel() {
    let wheel = wheel();
    let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.ends_with("-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"),
        "{name}"
    );
    let show = run(Command::new(tool("auditwheel")).arg("show").arg(&wheel));
    let text = show.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("is consistent with the following platform tag: \"manylinux_2_17_x86_64\""),
        "{show}"
    );
    // The newest glibc symbol version the binary references: 2.17 at most.
    let newest = text
        .split("GLIBC_2.")
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u32>().ok()
        })
        .max()
        .unwrap_or_else(|| panic!("no GLIBC_2.N symbol versions in:\n{show}"));
    assert!(newest <= 17, "needs GLIBC_2.{newest}:\n{show}");
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
