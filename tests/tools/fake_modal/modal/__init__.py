"""A stand-in for the Modal client: the runner's local side, tested without Modal or a network.

It implements only what `.modal/test_runner.py` calls. It appends what the runner asks for to
$FAKE_MODAL_LOG (one JSON object a line) and runs a sandbox's commands on this machine, with
the sandbox's paths mapped to local folders; each sandbox has a /tmp of its own. Knobs:
FAKE_MODAL_START_FAILURES (how many Sandbox.create calls fail first), FAKE_MODAL_STARTS_LIMIT
(every Sandbox.create after this many fails), FAKE_MODAL_FAIL_GPU (every Sandbox.create on this
GPU fails), FAKE_MODAL_BUILD_FAIL (the image build fails). Sandboxes may be created and used
from several threads at once, as the runner's shards do.
"""

from __future__ import annotations

import fnmatch
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import threading

from . import exception
from .stream_type import StreamType

__all__ = ["App", "FilePatternMatcher", "Image", "Sandbox", "StreamType", "exception"]


def record(event: str, **fields) -> None:
    path = os.environ.get("FAKE_MODAL_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps({"event": event, **fields}) + "\n")


class FilePatternMatcher:
    """dockerignore patterns, enough of them for the runner's list: `**/x`, `x`, `!x`."""

    def __init__(self, *patterns: str) -> None:
        self.patterns = list(patterns)

    def can_prune_directories(self) -> bool:
        return not any(p.startswith("!") for p in self.patterns)

    def __call__(self, path: pathlib.Path) -> bool:
        text = pathlib.PurePath(path).as_posix()
        ignored = False
        for pattern in self.patterns:
            negate = pattern.startswith("!")
            body = pattern.lstrip("!")
            prefixes = [text] + [str(p.as_posix()) for p in pathlib.PurePosixPath(text).parents if str(p) != "."]
            hit = any(
                fnmatch.fnmatchcase(candidate, body)
                or (body.startswith("**/") and (fnmatch.fnmatchcase(candidate, body[3:])))
                for candidate in prefixes
            )
            if hit:
                ignored = not negate
        return ignored


class Secret:
    def __init__(self, name: str) -> None:
        self.name = name

    @staticmethod
    def from_name(name: str, **_: object) -> Secret:
        return Secret(name)


class App:
    def __init__(self, name: str, **_: object) -> None:
        self.name = name
        record("app", name=name)

    def local_entrypoint(self):
        return lambda function: function


class Image:
    def __init__(self, steps: list, mounts: list) -> None:
        self.steps, self.mounts = steps, mounts

    def _with(self, step: str, **fields) -> Image:
        return Image([*self.steps, {"step": step, **fields}], self.mounts)

    @staticmethod
    def debian_slim(python_version: str | None = None) -> Image:
        return Image([{"step": "debian_slim", "python": python_version}], [])

    @staticmethod
    def from_registry(name: str, add_python: str | None = None) -> Image:
        return Image([{"step": "from_registry", "name": name, "python": add_python}], [])

    def env(self, variables: dict) -> Image:
        return self._with("env", variables=dict(variables))

    def apt_install(self, *packages: str) -> Image:
        return self._with("apt_install", packages=list(packages))

    def uv_pip_install(self, *packages: str, extra_options: str = "", **_: object) -> Image:
        if extra_options:
            return self._with("uv_pip_install", packages=list(packages), extra_options=extra_options)
        return self._with("uv_pip_install", packages=list(packages))

    def uv_sync(self, folder: str, **options: object) -> Image:
        files = {p.name: p.read_text() for p in pathlib.Path(folder).iterdir()}
        return self._with("uv_sync", files=files, options={k: v for k, v in options.items()})

    def run_commands(self, *commands: str) -> Image:
        return self._with("run_commands", commands=list(commands))

    def add_local_file(self, local, remote: str, copy: bool = False) -> Image:
        local = pathlib.Path(local)
        if copy:
            return self._with("add_local_file", remote=remote, text=local.read_text())
        return Image(self.steps, [*self.mounts, (remote, local, None)])

    def add_local_dir(self, local, remote: str, copy: bool = False, ignore=()) -> Image:
        matcher = ignore if callable(ignore) else FilePatternMatcher(*ignore)
        return Image(self.steps, [*self.mounts, (remote, pathlib.Path(local), matcher)])

    def build(self, app: App) -> Image:
        uploaded = []
        for remote, local, matcher in self.mounts:
            if matcher is None:
                uploaded.append(remote)
                continue
            # As Modal's walker: linked folders are not entered, linked files are read through.
            for folder, dirs, files in os.walk(local):
                dirs[:] = [d for d in dirs if not matcher(pathlib.Path(folder, d).relative_to(local))]
                for name in files:
                    rel = pathlib.Path(folder, name).relative_to(local)
                    if not matcher(rel):
                        uploaded.append(f"{remote}/{rel.as_posix()}")
        record("build", steps=self.steps, uploaded=sorted(uploaded))
        if os.environ.get("FAKE_MODAL_BUILD_FAIL"):
            raise exception.RemoteError("Image build failed (fake)")
        return self


class _Writer:
    """The process's stdin, as Modal's StreamWriter: write() buffers, drain() sends."""

    def __init__(self, pipe) -> None:
        self.pipe, self.buffer, self.eof = pipe, b"", False

    def write(self, data) -> None:
        self.buffer += data.encode() if isinstance(data, str) else bytes(data)

    def write_eof(self) -> None:
        self.eof = True

    def drain(self) -> None:
        if self.buffer:
            self.pipe.write(self.buffer)
            self.pipe.flush()
            self.buffer = b""
        if self.eof:
            self.pipe.close()


class _Process:
    def __init__(self, popen: subprocess.Popen) -> None:
        self.popen = popen
        self.stdout = self._chunks()
        self.stdin = _Writer(popen.stdin)

    def _chunks(self):
        fd = self.popen.stdout.fileno()
        while True:
            chunk = os.read(fd, 4096)
            if not chunk:
                return
            yield chunk

    def wait(self) -> int:
        return self.popen.wait()


class Sandbox:
    _starts = 0
    _lock = threading.Lock()

    def __init__(self, image: Image, timeout: int, workdir: str) -> None:
        self.paths = {remote: str(local) for remote, local, _ in image.mounts}
        self.scratch = tempfile.mkdtemp(prefix="fake-sandbox-")
        self.paths["/tmp"] = self.scratch
        self.workdir = self.paths.get(workdir, workdir)
        self.timeout = timeout
        self.ended = threading.Event()
        self.returncode: int | None = None
        self.processes: list[subprocess.Popen] = []
        threading.Thread(target=self._expire, daemon=True).start()

    @staticmethod
    def create(
        *command: str, app: App, image: Image, gpu: str, timeout: int, workdir: str, secrets: list | None = None
    ) -> Sandbox:
        with Sandbox._lock:
            Sandbox._starts += 1
            start = Sandbox._starts
        failures = int(os.environ.get("FAKE_MODAL_START_FAILURES", "0"))
        limit = int(os.environ.get("FAKE_MODAL_STARTS_LIMIT", "1000000"))
        fields = {"secrets": [secret.name for secret in secrets]} if secrets else {}
        record("create", command=list(command), gpu=gpu, timeout=timeout, workdir=workdir, **fields)
        if start <= failures or start > limit or gpu == os.environ.get("FAKE_MODAL_FAIL_GPU"):
            raise exception.ResourceExhaustedError("Insufficient capacity to create sandbox. (fake)")
        return Sandbox(image, timeout, workdir)

    def _local(self, arg: str) -> str:
        for remote, local in sorted(self.paths.items(), key=lambda item: -len(item[0])):
            if arg == remote or arg.startswith(remote + "/"):
                return local + arg[len(remote) :]
        return arg

    def exec(self, *command: str, text: bool = True, stderr=None, **_: object) -> _Process:
        record("exec", command=list(command))
        argv = [sys.executable if command[0] == "python" else command[0], *map(self._local, command[1:])]
        # What the container's environment would hold: nothing of Modal's.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MODAL_", "FAKE_MODAL_"))}
        popen = subprocess.Popen(
            argv,
            cwd=self.workdir,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL if stderr == StreamType.DEVNULL else None,
            start_new_session=True,
        )
        self.processes.append(popen)
        return _Process(popen)

    def _expire(self) -> None:
        # Modal ends a sandbox at its timeout, whatever runs in it.
        if not self.ended.wait(self.timeout):
            record("sandbox-timeout")
            self.returncode = 124
            self.ended.set()
            self._kill()

    def poll(self) -> int | None:
        return self.returncode

    def _kill(self) -> None:
        """Kills every process started in this sandbox, pytest's own process group included."""
        children: dict[int, list[int]] = {}
        for entry in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry))
        doomed = [popen.pid for popen in self.processes]
        for pid in doomed:
            doomed.extend(children.get(pid, []))
        for pid in doomed:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        record("terminate")
        if self.returncode is None:
            self.returncode = 137
        self.ended.set()
        self._kill()
