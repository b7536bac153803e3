#!/usr/bin/env python3
"""Times the GPU job's two install steps as the generated workflow writes them, from cold.

    cargo build && .venv/bin/python scripts/bench-client-install.py PYTHON3.12 [RUNS]

It renders the workflows for the bundled example, takes the steps "Install uv (pinned,
hash-checked)" and "Install the Modal client from its hashed closure" out of
`_modal-gpu-tests.yml`, and runs each script with `bash -e` (as GitHub does) in a fresh
RUNNER_TEMP, with empty pip and uv caches, PYTHON set to the given CPython 3.12. It needs
network access to PyPI and ruamel.yaml (scripts/test.sh's .venv has it). Target: the
Modal client installs in 2 s or less.
"""

import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from ruamel.yaml import YAML

ROOT = pathlib.Path(__file__).resolve().parent.parent
PASSED_THROUGH = {"SSL_CERT_FILE", "SSL_CERT_DIR", "PIP_CERT", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"}
UV_STEP = "Install uv (pinned, hash-checked)"
CLIENT_STEP = "Install the Modal client from its hashed closure"


def gpu_ci() -> pathlib.Path:
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    for profile in ("release", "debug"):
        if (target / profile / "gpu-ci").is_file():
            return target / profile / "gpu-ci"
    sys.exit("build gpu-ci first: cargo build")


def install_steps(work: pathlib.Path) -> dict:
    project = work / "project"
    shutil.copytree(ROOT / "examples" / "sample-project", project)
    subprocess.run([gpu_ci(), "-C", project, "init", "--yes"], check=True, capture_output=True)
    workflow = YAML(typ="safe").load((project / ".github/workflows/_modal-gpu-tests.yml").read_text())
    steps = {step.get("name"): step for step in workflow["jobs"]["gpu-tests"]["steps"]}
    return {name: steps[name] for name in (UV_STEP, CLIENT_STEP)}


def run_step(step: dict, env: dict, cwd: pathlib.Path) -> float:
    start = time.perf_counter()
    subprocess.run(["bash", "-e", "-c", step["run"]], env={**env, **step["env"], **env}, cwd=cwd, check=True)
    return time.perf_counter() - start


def main() -> None:
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    python = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) == 3 else 3
    timings = {UV_STEP: [], CLIENT_STEP: []}
    with tempfile.TemporaryDirectory() as tmp:
        steps = install_steps(pathlib.Path(tmp))
        for run in range(runs):
            runner_temp = pathlib.Path(tmp) / f"run-{run}"
            runner_temp.mkdir()
            env = {
                "PATH": "/usr/bin:/bin",
                "HOME": str(runner_temp),
                "RUNNER_TEMP": str(runner_temp),
                "PYTHON": python,
                "UV_CACHE_DIR": str(runner_temp / "uv-cache"),
                "PIP_NO_CACHE_DIR": "1",
                # This machine's way out (proxy, certificate authority), if it has one.
                **{k: v for k, v in os.environ.items() if k in PASSED_THROUGH},
            }
            for name, step in steps.items():
                timings[name].append(run_step(step, env, runner_temp))
            version = subprocess.run(
                [runner_temp / "modal-client/bin/modal", "--version"], capture_output=True, text=True, check=True
            ).stdout.strip()
            print(f"run {run + 1}: " + ", ".join(f"{n}: {t[-1]:.2f} s" for n, t in timings.items()) + f" ({version})")
    for name, values in timings.items():
        print(f"{name}: median {statistics.median(values):.2f} s, min {min(values):.2f} s, max {max(values):.2f} s")


if __name__ == "__main__":
    main()
