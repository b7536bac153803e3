#!/usr/bin/env python3
"""Benchmark: `gpu-ci run --local --shards N` against the same suite run serially (issue 15).

    python3 scripts/bench_shards.py [--gpu-ci PATH] [--python PATH] [--shards 4]

A synthetic suite of 40 tests that sleep for skewed durations (about 40 s serially; sleeping
keeps a two-core machine from being the limit), 3 of them failing and 2 skipped, in 5 files of
8 tests; the 8 longest tests share one file, so that files of equal test counts are far from
equal in time. Three runs, in order:

  1. serial:                  gpu-ci run --local
  2. sharded, no durations:   gpu-ci run --local --shards N   (balanced by test count per file)
  3. sharded, with durations: gpu-ci durations <run 1's JUnit XML>, then the same command

With --modal-harness (issue 26, item 5), three more runs go through the real Modal client
against the local Modal API of the tests (tests/tools/modal_api/server.py; --python must have
modal and grpclib, as the test tools' .venv has), in a second copy of the project set up with
`gpu-ci init --cache` and no durations file, in order:

  4. sharded, first run:      gpu-ci run --shards N   (no durations anywhere: by test count;
                                                       the run keeps its durations in the volume)
  5. sharded, second run:     the same command        (splits by the cache volume's durations)
  6. serial:                  gpu-ci run --shards 1   (the baseline of 4 and 5)

Each sharded run must give the same outcome for every test as the serial one, and the same
counts. The target (issue 15) is run 3's wall time at most 0.35 x the serial wall time. Exits
1 when a result differs or the target is missed. The project is made in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

REPO = pathlib.Path(__file__).resolve().parent.parent
TESTS = 40
FILES = 5
SERIAL_SECONDS = 40.0
FAILING = {3, 17, 29}
SKIPPED = {11, 38}
TARGET = 0.35


def durations() -> list[float]:
    """Skewed: each test 85 % of the one before, scaled to about SERIAL_SECONDS in all."""
    raw = [0.85**i for i in range(TESTS)]
    scale = SERIAL_SECONDS / sum(raw)
    return [round(r * scale, 3) for r in raw]


def make_project(root: pathlib.Path) -> None:
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "bench-shards"\nversion = "0"\n')
    per_file = TESTS // FILES
    for f in range(FILES):
        lines = ["import time", "", "import pytest", ""]
        for i in range(f * per_file, (f + 1) * per_file):
            seconds = 0.0 if i in SKIPPED else durations()[i]
            if i in SKIPPED:
                lines.append("@pytest.mark.skip(reason='benchmark skip')")
            lines += [
                f"def test_{i:02d}():",
                f"    time.sleep({seconds})",
                f"    assert {i not in FAILING}, 'benchmark failure'",
                "",
            ]
        (root / "tests" / f"test_part{f}.py").write_text("\n".join(lines) + "\n")


def outcomes(junit: pathlib.Path) -> dict[str, str]:
    """Each test's outcome, by name, from a run's JUnit XML."""
    found = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = child.tag
                break
        found[f"{case.get('file')}::{case.get('name')}"] = outcome
    return found


def counts(found: dict[str, str]) -> dict[str, int]:
    result = {"passed": 0, "failure": 0, "error": 0, "skipped": 0}
    for outcome in found.values():
        result[outcome] += 1
    return result


def run(command: list[str], project: pathlib.Path, env: dict[str, str]) -> tuple[float, int, str]:
    junit = project / "test-outputs/junit.xml"
    if junit.exists():
        junit.unlink()
    started = time.monotonic()
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    if not junit.is_file():
        sys.exit(f"error: `{' '.join(command)}` wrote no JUnit XML (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    return seconds, done.returncode, done.stdout + done.stderr


def modal_rows(gpu_ci: pathlib.Path, python: pathlib.Path, shards: int, work: pathlib.Path, env: dict[str, str]) -> list:
    """Runs 4 to 6 (see above), through the local Modal API; the server is stopped after."""
    state = work / "modal-api"
    state.mkdir()
    (work / "token-id").write_text("ak-benchTokenId")
    (work / "token-secret").write_text("as-benchTokenSecret")
    server = subprocess.Popen(
        [python, REPO / "tests/tools/modal_api/server.py", "--state", state,
         "--token-id", work / "token-id", "--token-secret", work / "token-secret"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        started = time.monotonic()
        while not (state / "port").exists():
            if server.poll() is not None or time.monotonic() - started > 60:
                sys.exit("error: the local Modal API did not start")
            time.sleep(0.05)
        modal_env = {k: v for k, v in env.items() if not k.startswith(("MODAL_", "GITHUB_", "GPU_CI_")) and k != "CI"}
        modal_env.update(
            MODAL_SERVER_URL=f"http://127.0.0.1:{(state / 'port').read_text().strip()}",
            MODAL_TOKEN_ID="ak-benchTokenId",
            MODAL_TOKEN_SECRET="as-benchTokenSecret",
            MODAL_CONFIG_PATH=str(work / "no-modal.toml"),
            PATH=f"{python.absolute().parent}{os.pathsep}{env['PATH']}",
        )
        project = work / "project-modal"
        make_project(project)
        subprocess.run([gpu_ci, "init", "--yes", "--cache"], cwd=project, env=modal_env, check=True, capture_output=True)
        sharded = [str(gpu_ci), "run", "--shards", str(shards)]
        rows = []
        for name in ("first run", "second run"):
            seconds, code, log = run(sharded, project, modal_env)
            found = outcomes(project / "test-outputs/junit.xml")
            rows.append((f"modal --shards {shards}, {name}", seconds, code, found, log))
        seconds, code, log = run([str(gpu_ci), "run", "--shards", "1"], project, modal_env)
        rows.append(("modal serial", seconds, code, outcomes(project / "test-outputs/junit.xml"), log))
        return rows
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_gpu_ci = REPO / "target/release/gpu-ci"
    if not default_gpu_ci.exists():
        default_gpu_ci = REPO / "target/debug/gpu-ci"
    parser.add_argument("--gpu-ci", type=pathlib.Path, default=default_gpu_ci)
    parser.add_argument(
        "--python",
        type=pathlib.Path,
        default=REPO / ".venv/bin/python",
        help="a Python with pytest, which --local runs (default: the test tools' .venv)",
    )
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="keep the project folder and print where it is")
    parser.add_argument(
        "--modal-harness",
        action="store_true",
        help="also run through the local Modal API with `cache` and no durations file (issue 26)",
    )
    args = parser.parse_args()
    gpu_ci = args.gpu_ci.resolve()
    if not gpu_ci.is_file():
        print(f"error: no gpu-ci at {gpu_ci}; build it (cargo build) or pass --gpu-ci", file=sys.stderr)
        return 2
    # --local runs python3 from PATH when the project has no .venv: the given Python, first.
    shim = pathlib.Path(tempfile.mkdtemp(prefix="bench-shards-bin-"))
    # A script, not a symlink: a venv's Python finds its venv only when started by its own path.
    (shim / "python3").write_text(f'#!/bin/sh\nexec "{args.python.absolute()}" "$@"\n')
    (shim / "python3").chmod(0o755)
    env = dict(os.environ, PATH=f"{shim}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("MODAL_GPU", None)

    work = pathlib.Path(tempfile.mkdtemp(prefix="bench-shards-"))
    project = work / "project"
    make_project(project)
    print(f"gpu-ci: {subprocess.run([gpu_ci, '--version'], capture_output=True, text=True).stdout.strip()}")
    print(f"python: {subprocess.run([args.python, '--version'], capture_output=True, text=True).stdout.strip()}")
    print(f"cores: {os.cpu_count()}; suite: {TESTS} tests in {FILES} files, {sum(durations()):.1f} s of sleep")
    subprocess.run([gpu_ci, "init", "--yes"], cwd=project, env=env, check=True, capture_output=True)

    rows = []
    serial_seconds, code, log = run([str(gpu_ci), "run", "--local"], project, env)
    serial = outcomes(project / "test-outputs/junit.xml")
    shutil.copy(project / "test-outputs/junit.xml", work / "serial-junit.xml")
    rows.append(("serial", serial_seconds, code, serial, ""))

    sharded = [str(gpu_ci), "run", "--local", "--shards", str(args.shards)]
    seconds, code, log = run(sharded, project, env)
    rows.append((f"--shards {args.shards}, no durations", seconds, code, outcomes(project / "test-outputs/junit.xml"), log))

    subprocess.run([gpu_ci, "durations", work / "serial-junit.xml"], cwd=project, env=env, check=True)
    seconds, code, log = run(sharded, project, env)
    rows.append((f"--shards {args.shards}, durations", seconds, code, outcomes(project / "test-outputs/junit.xml"), log))

    if args.modal_harness:
        rows += modal_rows(gpu_ci, args.python, args.shards, work, env)

    failed = False
    print(f"\n{'run':<28} {'wall s':>7} {'x serial':>8} {'exit':>4}  counts (passed/failed/errors/skipped)  same as serial")
    for name, seconds, code, found, log in rows:
        same = found == serial and counts(found) == counts(serial)
        c = counts(found)
        # The harness's rows are set against the harness's serial run.
        baseline = rows[-1][1] if name.startswith("modal") else serial_seconds
        print(
            f"{name:<28} {seconds:7.1f} {seconds / baseline:8.2f} {code:>4}  "
            f"{c['passed']}/{c['failure']}/{c['error']}/{c['skipped']:<30} {'yes' if same else 'NO'}"
        )
        split = next((line for line in log.splitlines() if "split into" in line), "")
        if split:
            print(f"{'':<28} {split.removeprefix('gpu-ci: ')}")
        failed |= not same or code != rows[0][2]
    ratio = rows[2][1] / serial_seconds
    if args.modal_harness:
        print(
            f"\nmodal harness: --shards {args.shards} without a committed durations file, second run:"
            f" {rows[4][1] / rows[5][1]:.2f} x serial (first run {rows[3][1] / rows[5][1]:.2f} x)"
        )
    print(f"\ntarget: --shards {args.shards} with durations at most {TARGET} x serial: {ratio:.2f} ", end="")
    print("(met)" if ratio <= TARGET else "(MISSED)")
    print(json.dumps({name: round(seconds, 2) for name, seconds, *_ in rows}))
    if args.keep:
        print(f"project: {project}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(shim, ignore_errors=True)
    return 1 if failed or ratio > TARGET else 0


if __name__ == "__main__":
    sys.exit(main())
