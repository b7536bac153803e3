#!/usr/bin/env python3
"""Whole-process timings of gpu-ci on the bundled example, as medians.

    cargo build --release && python3 scripts/bench.py [RUNS]

- `gpu-ci run` overhead: against calling the client directly. A fake `modal` that exits at
  once stands in for the client, so only gpu-ci's own work is timed (detection, config,
  finding the client and credentials, spawning). Target: under 50 ms.
- `gpu-ci update --check` on an up-to-date project (the pre-commit hook case). Target: under
  10 ms.
"""

import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
BINARY = ROOT / "target" / "release" / "gpu-ci"


def median_ms(cmd, cwd, env, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    if not BINARY.is_file():
        sys.exit("error: build the release binary first: cargo build --release")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        project = tmp / "sample-project"
        shutil.copytree(ROOT / "examples" / "sample-project", project)
        subprocess.run([BINARY, "-C", project, "init", "--yes"], check=True, stderr=subprocess.DEVNULL)
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        fake = bin_dir / "modal"
        fake.write_text("#!/bin/sh\nexit 0\n")
        fake.chmod(0o755)
        env = dict(os.environ, PATH=f"{bin_dir}:/usr/bin:/bin", MODAL_TOKEN_ID="a", MODAL_TOKEN_SECRET="b")
        direct = median_ms(
            [fake, "run", ".modal/test_runner.py", "--test-path=tests", "--pytest-args=-v"], project, env, runs
        )
        via = median_ms([BINARY, "run"], project, env, runs)
        check = median_ms([BINARY, "update", "--check"], project, env, runs)
    print(f"fake client alone:     {direct:6.1f} ms")
    print(f"through gpu-ci run:    {via:6.1f} ms")
    print(f"gpu-ci run overhead:   {via - direct:6.1f} ms")
    print(f"gpu-ci update --check: {check:6.1f} ms")
    print(f"(medians of {runs} runs each)")


if __name__ == "__main__":
    main()
