#!/usr/bin/env python3
"""Prints the Modal client's hashed closure for src/pins.rs (MODAL_CLIENT_CLOSURE).

Usage: scripts/modal-client-closure.py MODAL_VERSION

It resolves `modal==MODAL_VERSION` for CPython 3.12 on Linux x86_64 with uv (on PATH), then
keeps, for each pinned distribution, the sha256 of every wheel such a runner may install,
as PyPI's simple API lists them (sdists are left out: the CI job never builds one).
Needs network access to PyPI and the `packaging` module.
"""

import json
import re
import subprocess
import sys
import urllib.request

from packaging.tags import compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

PLATFORMS = (
    [f"manylinux_2_{minor}_x86_64" for minor in range(39, 4, -1)]
    + ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64"]
)
TAGS = set(cpython_tags((3, 12), platforms=PLATFORMS)) | set(
    compatible_tags((3, 12), "cp312", platforms=PLATFORMS)
)


def wheel_hashes(name: str, version: str) -> list[str]:
    request = urllib.request.Request(
        f"https://pypi.org/simple/{canonicalize_name(name)}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    with urllib.request.urlopen(request) as response:
        files = json.load(response)["files"]
    hashes = []
    for file in files:
        if not file["filename"].endswith(".whl") or file.get("yanked"):
            continue
        _, wheel_version, _, tags = parse_wheel_filename(file["filename"])
        if wheel_version == Version(version) and tags & TAGS:
            hashes.append(file["hashes"]["sha256"])
    if not hashes:
        sys.exit(f"no CPython 3.12 Linux x86_64 wheel for {name}=={version}")
    return sorted(hashes)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    compiled = subprocess.run(
        ["uv", "pip", "compile", "--no-config", "--no-header", "--no-annotate",
         "--python-version", "3.12", "--python-platform", "x86_64-manylinux_2_28", "-"],
        input=f"modal=={sys.argv[1]}\n", capture_output=True, text=True, check=True,
    ).stdout
    for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", compiled, re.M):
        hashes = ", ".join(f'"{h}"' for h in wheel_hashes(name, version))
        print(f'    hashed("{name}", "{version}", &[{hashes}]),')


if __name__ == "__main__":
    main()
