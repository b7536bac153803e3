#!/usr/bin/env python3
"""Benchmark: what a compiler cache saves when an image rebuild recompiles a C extension after a
one-file change (issue 26, the measurement behind a ccache in the image's build step).

    python3 scripts/bench_ccache.py [--files 16] [--functions 400]

A synthetic C extension of FILES source files, each of FUNCTIONS small functions compiled with
-O2, built with `setup.py build_ext` from a fresh copy of the tree at one fixed path, as a Modal
image build does (a source change rebuilds the layer from a clean copy: nothing of the last
build is left). Four builds:

  1. no cache, cold
  2. no cache, after one file changed        (what every rebuild costs today)
  3. ccache, cold (empty cache)
  4. ccache, after one file changed          (the rebuild with a cache kept between builds)

Prints each build's wall time and ccache's hit count. Needs gcc and ccache on PATH. The tree,
its build and the cache are made in a temporary folder and removed.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time


def source(index: int, functions: int, variant: int) -> str:
    body = [f"/* file {index}, variant {variant} */", "#include <math.h>"]
    for n in range(functions):
        body.append(
            f"double f{index}_{n}(double x) {{ double s = {variant}.0; "
            f"for (int i = 0; i < {n % 7 + 3}; i++) s += sin(x * i + {n}) / (1.0 + cos(s)); return s; }}"
        )
    body.append(f"double total{index}(double x) {{ return " + " + ".join(f"f{index}_{n}(x)" for n in range(functions)) + "; }")
    return "\n".join(body) + "\n"


MODULE = """#define PY_SSIZE_T_CLEAN
#include <Python.h>
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "benchext", NULL, -1, NULL};
PyMODINIT_FUNC PyInit_benchext(void) { return PyModule_Create(&mod); }
"""


def write_tree(root: pathlib.Path, files: int, functions: int, changed: int | None) -> None:
    shutil.rmtree(root, ignore_errors=True)
    (root / "src").mkdir(parents=True)
    (root / "src" / "module.c").write_text(MODULE)
    for index in range(files):
        variant = 1 if index == changed else 0
        (root / "src" / f"part{index}.c").write_text(source(index, functions, variant))
    sources = ["src/module.c"] + [f"src/part{index}.c" for index in range(files)]
    (root / "setup.py").write_text(
        "from setuptools import Extension, setup\n"
        f"setup(name='benchext', ext_modules=[Extension('benchext', {sources!r}, extra_compile_args=['-O2'])])\n"
    )


def build(root: pathlib.Path, env: dict[str, str]) -> float:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
        cwd=root,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--functions", type=int, default=400)
    args = parser.parse_args()
    for tool in ("gcc", "ccache"):
        if shutil.which(tool) is None:
            print(f"error: {tool} is not on PATH", file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory() as temp:
        temp = pathlib.Path(temp)
        root = temp / "project"
        plain = dict(os.environ, CC="gcc")
        cached = dict(plain, CC="ccache gcc", CCACHE_DIR=str(temp / "ccache"))
        times = {}
        for label, env in (("no cache", plain), ("ccache", cached)):
            write_tree(root, args.files, args.functions, None)
            times[f"{label}, cold"] = build(root, env)
            write_tree(root, args.files, args.functions, 0)
            times[f"{label}, one file changed"] = build(root, env)
        for label, seconds in times.items():
            print(f"{label:28} {seconds:6.1f} s")
        stats = subprocess.run(
            ["ccache", "--print-stats"], env=cached, capture_output=True, text=True, check=False
        ).stdout
        hits = [line for line in stats.splitlines() if line.startswith(("direct_cache_hit", "preprocessed_cache_hit", "cache_miss"))]
        print("ccache: " + ", ".join(line.replace("\t", " ") for line in hits))
        saved = times["no cache, one file changed"] / max(times["ccache, one file changed"], 0.01)
        print(f"rebuild after a one-file change: {saved:.1f}x faster with ccache")
    return 0


if __name__ == "__main__":
    sys.exit(main())
