"""How long the runner takes to decide what to upload, on hostile and deep trees.

    .venv/bin/python scripts/bench-upload.py RUNNER [--old]

RUNNER is a rendered .modal/test_runner.py (e.g. from `gpu-ci init` in any project). Each case
builds a tree in a temporary folder and times upload_set() plus the real Modal client's walk of
the mount with that predicate (as `modal run` does before uploading), outside git and in a git
checkout (untracked files). With --old it also times the previous approach (the .gitignore lines
as dockerignore patterns for Modal's FilePatternMatcher) on one hostile name, and on the deep
trees: on the flat trees it would take hours. Nothing here is a test: it prints figures.
"""

from __future__ import annotations

import os
import pathlib
import runpy
import subprocess
import sys
import tempfile
import time

from modal import FilePatternMatcher
from modal.mount import _MountDir

HOSTILE = "**/*a*a*a*a*b\n*a*a*a*a*a*a*c\n**/x*x*x*x*x*x*y/**\n[a-z]*[a-z]*[a-z]*[a-z]*q\n"


def flat(root: pathlib.Path, count: int) -> None:
    (root / ".gitignore").write_text(HOSTILE)
    for i in range(count):
        folder = root / f"d{i // 1000}"
        folder.mkdir(exist_ok=True)
        (folder / ("a" * 190 + f"{i:06d}")).write_bytes(b"")


def deep(root: pathlib.Path, depth: int) -> None:
    (root / ".gitignore").write_text(HOSTILE)
    folder = root
    for i in range(depth):
        folder = folder / "d"
        folder.mkdir()
        (folder / f"f{i}.py").write_bytes(b"")


def walk(root: pathlib.Path, matcher) -> int | str:
    entry = _MountDir(local_dir=root, remote_path=pathlib.PurePosixPath("/p"), ignore=matcher, recursive=True)
    try:
        return sum(1 for _ in entry.get_files_to_upload())
    except RecursionError:
        # Python 3.11's os.walk recurses: Modal's client cannot walk a tree this deep.
        return "RecursionError in Modal's walk"


def timed(function):
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def main() -> None:
    runner = runpy.run_path(sys.argv[1])
    old = "--old" in sys.argv
    cases = [("flat", 10_000), ("flat", 100_000)] + [("deep", d) for d in (125, 250, 500, 1000)]
    print("case           mode    upload_set  Modal's walk  files")
    for kind, size in cases:
        folder = tempfile.mkdtemp()
        try:
            root = pathlib.Path(folder, "tree")
            root.mkdir()
            (flat if kind == "flat" else deep)(root, size)
            label = f"{kind} {size:>7}"
            if old and kind == "flat":
                # The pattern alone: the others here take far longer with the old matcher.
                name = pathlib.Path("d0", "a" * 196)
                seconds, _ = timed(lambda: FilePatternMatcher("**/*a*a*a*a*b")(name))
                print(f"{label}  old     **/*a*a*a*a*b, one 196-character name: {seconds:.2f} s", flush=True)
            elif old:
                patterns = old_patterns(root)
                seconds, count = timed(lambda: walk(root, FilePatternMatcher(*patterns)))
                print(f"{label}  old     {'':>10}  {seconds:10.2f} s  {count}", flush=True)
            for mode in ("no git", "git"):
                if mode == "git":
                    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
                    subprocess.run(["git", "init", "-q", str(root)], check=True, env=env)
                listing, upload = timed(lambda: runner["upload_set"](root))
                seconds, count = timed(lambda: walk(root, upload))
                print(f"{label}  {mode:<6}  {listing:8.2f} s  {seconds:10.2f} s  {count}", flush=True)
        finally:
            # rm, not shutil.rmtree: the deep trees are deeper than Python's recursion limit.
            subprocess.run(["rm", "-rf", folder], check=True)


def old_patterns(root: pathlib.Path) -> list[str]:
    """The previous runner's translation of the root .gitignore (plus its defaults)."""
    patterns = []
    for line in (root / ".gitignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        line = line.lstrip("!")
        anchored = "/" in line.rstrip("/")
        line = line.strip("/")
        patterns.append(("!" if negate else "") + (line if anchored else f"**/{line}"))
    return [*patterns, ".git", "**/.venv", "**/__pycache__", "test-outputs"]


if __name__ == "__main__":
    main()
