#!/usr/bin/env python3
"""SIGKILL `gpu-ci init` at random moments on a large pyproject.toml, run the next gpu-ci
command, and count what is left (issue 14, finding 6).

    scripts/kill_loop.py [--kills 500] [--size-mb 5] [--binary target/release/gpu-ci] [--seed 14]

Each run starts from a fresh copy of tests/fixtures/extras-flat whose pyproject.toml is padded
to --size-mb. Half the kills fall at a uniformly random moment of a whole `init` run; the other
half at a uniformly random moment of its write (from the moment its journal appears to its end),
where a kill can tear a set. After each kill the state on disk is classified, then
`gpu-ci config` runs (every command settles an interrupted write first) and it is classified
again:

    undone     every file and folder as before the run
    completed  every file as a complete `init` writes it
    mixed      some files as before, some new
    torn       a file that is neither as before nor new
    leftovers  staged `.tmp` files, a journal, or a folder that is not in either state

Exits 1 when any run is mixed, torn or has leftovers after the next command. Bounded: --kills
runs, each process given at most 120 s.
"""

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "extras-flat"
JOURNAL = ".gpu-ci.journal"
# gpu-ci reads these; the caller's must not change a result.
SCRUB = ("MODAL_", "GITHUB_", "GH_TOKEN", "GH_HOST", "FORCE_COLOR", "NO_COLOR", "CLICOLOR", "GPU_CI_")


def environment():
    return {k: v for k, v in os.environ.items() if not k.startswith(SCRUB)}


def snapshot(root):
    """Every path under root: files with their bytes, folders (with a trailing /) as None."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for name in dirnames:
            found[os.path.normpath(os.path.join(rel, name)) + "/"] = None
        for name in filenames:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                found[os.path.normpath(os.path.join(rel, name))] = f.read()
    return found


def classify(now, pristine, complete):
    """undone / completed / mixed / torn, and the leftovers (paths in neither state)."""
    if now == pristine:
        return "undone", []
    if now == complete:
        return "completed", []
    leftovers = sorted(p for p in now if p not in pristine and p not in complete)
    old = new = torn = 0
    for path in set(pristine) | set(complete):
        value = now.get(path, "missing")
        was = pristine.get(path, "missing")
        will = complete.get(path, "missing")
        if was == will:
            continue
        if value == will:
            new += 1
        elif value == was:
            old += 1
        else:
            torn += 1
    if torn:
        return "torn", leftovers
    if old and new:
        return "mixed", leftovers
    return ("completed" if new else "undone"), leftovers


def padded_project(dest, size):
    shutil.copytree(FIXTURE, dest)
    pyproject = dest / "pyproject.toml"
    text = pyproject.read_text()
    lines = [text, "", "[tool.padding]"]
    total = len(text)
    n = 0
    while total < size:
        line = f'key_{n:06} = "{"x" * 80}"'
        lines.append(line)
        total += len(line) + 1
        n += 1
    pyproject.write_text("\n".join(lines) + "\n")


def run(binary, project, *args):
    return subprocess.run(
        [binary, "-C", str(project), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=environment(),
        timeout=120,
    )


def start_init(binary, project):
    return subprocess.Popen(
        [binary, "-C", str(project), "init", "--yes"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=environment(),
    )


def wait_for_write(proc, project):
    """Polls until the journal appears (or the process ends); returns when it did."""
    journal = project / JOURNAL
    deadline = time.monotonic() + 120
    while not journal.exists() and proc.poll() is None:
        if time.monotonic() > deadline:
            raise SystemExit("init never began to write")
    return time.monotonic()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=500)
    parser.add_argument("--size-mb", type=float, default=5.0)
    parser.add_argument("--binary", default=str(ROOT / "target" / "release" / "gpu-ci"))
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    binary = os.path.abspath(args.binary)
    size = int(args.size_mb * 1024 * 1024)

    with tempfile.TemporaryDirectory(prefix="gpu-ci-kill-loop-") as tmp:
        tmp = Path(tmp)
        base = tmp / "base"
        padded_project(base, size)
        pristine = snapshot(base)

        # A complete init, timed: the whole run and its write.
        runs, windows = [], []
        for i in range(3):
            project = tmp / f"reference-{i}"
            shutil.copytree(base, project)
            started = time.monotonic()
            proc = start_init(binary, project)
            began = wait_for_write(proc, project)
            code = proc.wait(timeout=120)
            if code != 0:
                raise SystemExit(f"init failed on the reference project (exit {code})")
            ended = time.monotonic()
            runs.append(ended - started)
            windows.append(ended - began)
            complete = snapshot(project)
        full_run = sorted(runs)[1]
        window = sorted(windows)[1]
        print(
            f"gpu-ci {binary}\npyproject.toml {size / 2**20:.1f} MiB; init takes {full_run * 1000:.0f} ms, "
            f"its write {window * 1000:.1f} ms (medians of 3)",
            flush=True,
        )

        before, after = Counter(), Counter()
        journals_before = temps_before = leftovers_before = 0
        failures = []
        started_all = time.monotonic()
        for kill in range(args.kills):
            project = tmp / "work"
            if project.exists():
                shutil.rmtree(project)
            shutil.copytree(base, project)
            targeted = kill % 2 == 1
            proc = start_init(binary, project)
            if targeted:
                began = wait_for_write(proc, project)
                delay = rng.uniform(0, window)
                while time.monotonic() - began < delay:
                    pass
            else:
                time.sleep(rng.uniform(0, full_run))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=120)
            now = snapshot(project)
            state, leftovers = classify(now, pristine, complete)
            before[state] += 1
            journals_before += JOURNAL in now
            temps_before += sum(p.endswith(".tmp") for p in now)
            leftovers_before += bool(leftovers)

            result = run(binary, project, "config")
            now = snapshot(project)
            state, leftovers = classify(now, pristine, complete)
            after[state] += 1
            if result.returncode != 0 or state in ("mixed", "torn") or leftovers:
                after["leftovers"] += bool(leftovers)
                failures.append((kill, targeted, state, leftovers, result.returncode, result.stderr.decode()[-500:]))
            if (kill + 1) % 50 == 0:
                print(f"  {kill + 1} kills, {time.monotonic() - started_all:.0f} s", flush=True)

    def line(counts):
        return ", ".join(f"{counts[k]} {k}" for k in ("undone", "completed", "mixed", "torn"))

    print(f"\n{args.kills} SIGKILLs ({args.kills - args.kills // 2} at a random moment of the run, {args.kills // 2} in its write)")
    print(
        f"  on disk right after the kill:     {line(before)}; {leftovers_before} with leftovers "
        f"({journals_before} with a journal, {temps_before} staged .tmp files in all)"
    )
    print(f"  after the next command (config):  {line(after)}; {after['leftovers']} with leftovers")
    for failure in failures[:10]:
        print("  FAILED:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
