"""A local Modal API for the tests: the pinned Modal client, unmodified, talks to this server.

It answers the protobuf messages of `modal_proto` (from the pinned wheel) over gRPC (grpclib, on
127.0.0.1), for what `modal run .modal/test_runner.py` does: the client's hello, an ephemeral
app, image layers, mounts, secrets, volumes and GPU sandboxes (V1), and the task command router through
which the client execs in a sandbox. An image layer is not built: its Dockerfile commands,
context files and base image are recorded and it "succeeds" at once. A sandbox is a folder on
this machine holding the files of its image's mounts; a command exec'd in it runs as a local
process there, with the sandbox's paths mapped into that folder and `python` the Python that
runs this server (the test venv, with pytest). A volume is a folder, DIR/volumes/NAME, that
outlives the sandboxes: a read-write mount is that folder itself, a read-only one a throwaway
copy of it (Modal refuses the writes; here they never reach the volume).

    python server.py --state DIR --token-id FILE --token-secret FILE [--faults FILE]

It writes the port it listens on to DIR/port once it serves, and appends one JSON object a line
to DIR/requests.jsonl: each request's RPC and its message (bytes fields as latin-1 text), and
events (uploaded files, sandbox starts, ends, faults). An RPC it does not know is recorded as
`unknown-rpc` and answered UNIMPLEMENTED, so that a client that changed an RPC fails a test.

Faults, from the JSON file named by --faults, read at each sandbox start:
    start_failures    the first N sandboxes fail to start (RESOURCE_EXHAUSTED)
    starts_limit      every sandbox after the first N fails to start
    fail_gpu          a sandbox on this GPU type fails to start
    build_failure     every image layer fails to build, with this message
    sandbox_lifetime  a sandbox ends at this many seconds (its timeout, status TIMEOUT)
    lose_on_output    the container is lost when an exec's output holds this text
    output_delay      seconds to wait before passing on each output chunk

The client must send the token given by --token-id/--token-secret (read from the files they
name): a request without it is refused as Modal refuses it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import pathlib
import shutil
import signal
import sys
import time
import uuid

import grpclib.server
import modal_version
from google.protobuf import empty_pb2, json_format
from google.protobuf.message import Message
from grpclib import GRPCError, Status
from modal_proto import api_grpc, api_pb2, task_command_router_grpc
from modal_proto import task_command_router_pb2 as sr_pb2

# The Modal client this harness speaks, checked against src/pins.rs by the tests: a bump of the
# pin must come with a look at what the new client asks of the server.
CLIENT_VERSION = "1.6.4"

# The remote folders a sandbox's paths live under; each maps into the sandbox's own folder.
SANDBOX_PREFIXES = ("/root", "/gpu-ci", "/tmp", "/deps", "/gpu-ci-cache")
TIMEOUT_EXIT = 124


def now() -> float:
    return time.time()


class Recorder:
    def __init__(self, path: pathlib.Path) -> None:
        self.file = path.open("a", encoding="utf-8")

    def write(self, kind: str, **fields) -> None:
        self.file.write(json.dumps({"kind": kind, "time": now(), **fields}, ensure_ascii=False) + "\n")
        self.file.flush()

    def request(self, service: str, rpc: str, message) -> None:
        body = None
        if message is not None:
            body = json_format.MessageToDict(message, preserving_proto_field_name=True)
            body = bytes_as_text(message, body)
        self.write("request", service=service, rpc=rpc, body=body)


def bytes_as_text(message, body):
    """MessageToDict writes bytes as base64; the record wants them readable (latin-1), so that a
    test can look for a secret in them."""

    def walk(msg, data):
        for field, value in msg.ListFields():
            key = field.name
            if key not in data:
                continue
            if field.type == field.TYPE_BYTES:
                if isinstance(value, bytes):
                    data[key] = value.decode("latin-1")
                else:
                    data[key] = [v.decode("latin-1") for v in value]
            elif field.type == field.TYPE_MESSAGE and not field.message_type.GetOptions().map_entry:
                if isinstance(value, Message):
                    walk(value, data[key])
                else:
                    for sub, subdata in zip(value, data[key]):
                        walk(sub, subdata)
        return data

    return walk(message, body)


class Exec:
    """One command exec'd in a sandbox: a local process and its output, kept to be read from any
    offset, as the command router keeps it."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.output = {1: bytearray(), 2: bytearray()}
        self.closed = {1: False, 2: False}
        self.changed = asyncio.Condition()
        self.code: int | None = None
        self.signal: int | None = None
        self.lost = False
        self.stdin_offset = 0


class SandboxState:
    def __init__(self, sandbox_id: str, task_id: str, root: pathlib.Path, definition, gpu: str) -> None:
        self.id, self.task_id, self.root, self.definition, self.gpu = sandbox_id, task_id, root, definition, gpu
        self.result: api_pb2.GenericResult | None = None
        self.ended = asyncio.Event()
        self.execs: dict[str, Exec] = {}
        self.timer: asyncio.Task | None = None

    def local(self, path: str) -> str:
        """A path of the sandbox, in its folder here."""
        if path.startswith(SANDBOX_PREFIXES) and any(path == p or path.startswith(p + "/") for p in SANDBOX_PREFIXES):
            return str(self.root) + path
        return path


class Harness:
    def __init__(self, args) -> None:
        self.state = pathlib.Path(args.state).absolute()
        self.record = Recorder(self.state / "requests.jsonl")
        self.client_version = CLIENT_VERSION
        self.built: dict[bytes, str] = {}
        self.token_id = pathlib.Path(args.token_id).read_text().strip()
        self.token_secret = pathlib.Path(args.token_secret).read_text().strip()
        self.faults_path = pathlib.Path(args.faults) if args.faults else None
        self.apps: dict[str, asyncio.Event] = {}
        self.blobs: dict[str, bytes] = {}
        self.mounts: dict[str, list[tuple[str, str, int]]] = {}
        self.images: dict[str, api_pb2.Image] = {}
        self.secrets: dict[str, dict[str, str]] = {}
        self.sandboxes: dict[str, SandboxState] = {}
        self.tasks: dict[str, SandboxState] = {}
        # Volumes by id: their names.
        self.volumes: dict[str, str] = {}
        self.starts = 0
        self.port = 0

    def faults(self) -> dict:
        if self.faults_path is None or not self.faults_path.exists():
            return {}
        return json.loads(self.faults_path.read_text())

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:20]}"

    # --- the control plane ----------------------------------------------------------------

    def check_token(self, stream) -> None:
        metadata = stream.metadata
        if (
            metadata.get("x-modal-token-id") != self.token_id
            or metadata.get("x-modal-token-secret") != self.token_secret
        ):
            self.record.write("unauthenticated")
            raise GRPCError(Status.UNAUTHENTICATED, "Token missing or invalid")
        version = metadata.get("x-modal-client-version")
        if version != self.client_version:
            self.record.write("wrong-client-version", version=version)
            raise GRPCError(
                Status.FAILED_PRECONDITION, f"this harness speaks client {self.client_version}, not {version}"
            )

    async def ClientHello(self, stream, request):
        return api_pb2.ClientHelloResponse()

    async def EnvironmentGetOrCreate(self, stream, request):
        return api_pb2.EnvironmentGetOrCreateResponse(
            environment_id="en-harness",
            metadata=api_pb2.EnvironmentMetadata(
                name="main",
                settings=api_pb2.EnvironmentSettings(image_builder_version="2025.06"),
            ),
        )

    async def AppCreate(self, stream, request):
        app_id = self.new_id("ap")
        self.apps[app_id] = asyncio.Event()
        return api_pb2.AppCreateResponse(app_id=app_id)

    async def AppGetLogs(self, stream, request):
        # No logs: the runner reads a sandbox's output through exec. The stream says the app is
        # done once its client has disconnected.
        done = self.apps.get(request.app_id)
        if done is None:
            raise GRPCError(Status.NOT_FOUND, f"no app {request.app_id}")
        try:
            await asyncio.wait_for(done.wait(), request.timeout)
        except TimeoutError:
            return
        await stream.send_message(api_pb2.TaskLogsBatch(app_done=True))
        return

    async def AppGetLayout(self, stream, request):
        return api_pb2.AppGetLayoutResponse()

    async def AppHeartbeat(self, stream, request):
        return empty_pb2.Empty()

    async def AppPublish(self, stream, request):
        return api_pb2.AppPublishResponse()

    async def AppClientDisconnect(self, stream, request):
        if request.app_id in self.apps:
            self.apps[request.app_id].set()
        return empty_pb2.Empty()

    async def AppStop(self, stream, request):
        return empty_pb2.Empty()

    async def MountBatchedCheckExistence(self, stream, request):
        missing = [h for h in request.sha256_hex_hashes if h not in self.blobs]
        return api_pb2.MountBatchedCheckExistenceResponse(missing_sha256_hex_hashes=missing)

    async def MountPutFile(self, stream, request):
        if request.WhichOneof("data_oneof") == "data":
            if hashlib.sha256(request.data).hexdigest() != request.sha256_hex:
                raise GRPCError(Status.INVALID_ARGUMENT, "sha256 does not match the data")
            self.blobs[request.sha256_hex] = request.data
        return api_pb2.MountPutFileResponse(exists=request.sha256_hex in self.blobs)

    async def MountGetOrCreate(self, stream, request):
        files = []
        for file in request.files:
            if file.sha256_hex not in self.blobs:
                raise GRPCError(Status.FAILED_PRECONDITION, f"{file.filename}: not uploaded")
            files.append((file.filename, file.sha256_hex, file.mode))
        # The same files are the same mount, so that an image layer built on one is a cache hit.
        mount_id = "mo-" + hashlib.sha256(json.dumps(sorted(files)).encode()).hexdigest()[:20]
        self.mounts[mount_id] = files
        self.record.write(
            "mount",
            mount_id=mount_id,
            files={name: self.blobs[sha].decode("latin-1") for name, sha, _ in files},
        )
        return api_pb2.MountGetOrCreateResponse(
            mount_id=mount_id, handle_metadata=api_pb2.MountHandleMetadata(content_checksum_sha256_hex=mount_id)
        )

    async def SecretGetOrCreate(self, stream, request):
        secret_id = self.new_id("st")
        self.secrets[secret_id] = dict(request.env_dict)
        return api_pb2.SecretGetOrCreateResponse(secret_id=secret_id)

    async def ImageGetOrCreate(self, stream, request):
        """A layer seen before is a cache hit, answered at once; a new one is "built": the client
        joins its build stream (ImageJoinStreaming), as it does on Modal."""
        # As Modal: the same definition (its base layer's id included) is the same image.
        key = request.image.SerializeToString(deterministic=True)
        cached = key in self.built
        if not cached:
            self.built[key] = self.new_id("im")
        image_id = self.built[key]
        self.images[image_id] = request.image
        self.record.write("image", image_id=image_id, cached=cached)
        result = self.build_result() if cached else None
        return api_pb2.ImageGetOrCreateResponse(
            image_id=image_id, result=result, metadata=api_pb2.ImageMetadata(image_builder_version="2025.06")
        )

    def build_result(self) -> api_pb2.GenericResult:
        failure = self.faults().get("build_failure")
        if failure:
            return api_pb2.GenericResult(status=api_pb2.GenericResult.GENERIC_STATUS_FAILURE, exception=failure)
        return api_pb2.GenericResult(status=api_pb2.GenericResult.GENERIC_STATUS_SUCCESS)

    async def ImageJoinStreaming(self, stream, request):
        if request.image_id not in self.images:
            raise GRPCError(Status.NOT_FOUND, f"no image {request.image_id}")
        log = api_pb2.TaskLogs(data="harness: layer built\n", file_descriptor=api_pb2.FILE_DESCRIPTOR_INFO)
        await stream.send_message(api_pb2.ImageJoinStreamingResponse(task_logs=[log], entry_id="1"))
        result = self.build_result()
        self.record.write(
            "image-built",
            image_id=request.image_id,
            failed=result.status != api_pb2.GenericResult.GENERIC_STATUS_SUCCESS,
        )
        await stream.send_message(api_pb2.ImageJoinStreamingResponse(result=result, entry_id="2", eof=True))

    def image_chain(self, image_id: str) -> list[api_pb2.Image]:
        chain = []
        while image_id:
            image = self.images[image_id]
            chain.append(image)
            image_id = image.base_images[0].image_id if image.base_images else ""
        return list(reversed(chain))

    async def VolumeGetOrCreate(self, stream, request):
        name = request.deployment_name
        found = next((vid for vid, known in self.volumes.items() if known == name), None)
        create = request.object_creation_type == api_pb2.OBJECT_CREATION_TYPE_CREATE_IF_MISSING
        self.record.write("volume", name=name, create_if_missing=create, existed=found is not None)
        if found is None:
            if not create:
                raise GRPCError(Status.NOT_FOUND, f"Volume '{name}' not found")
            found = self.new_id("vo")
            self.volumes[found] = name
            (self.state / "volumes" / name).mkdir(parents=True, exist_ok=True)
        return api_pb2.VolumeGetOrCreateResponse(
            volume_id=found, metadata=api_pb2.VolumeMetadata(name=name)
        )

    def volume_folder(self, volume_id: str) -> pathlib.Path:
        if volume_id not in self.volumes:
            raise GRPCError(Status.NOT_FOUND, f"no volume {volume_id}")
        return self.state / "volumes" / self.volumes[volume_id]

    def file_entries(self, request) -> list:
        """A volume's listing under a path, as Modal gives it: files, folders and links."""
        folder = self.volume_folder(request.volume_id)
        start = folder / request.path.strip("/") if request.path.strip("/") else folder
        entries = []
        for path in sorted(start.rglob("*") if request.recursive else start.iterdir()):
            kind = (
                api_pb2.FileEntry.FileType.SYMLINK
                if path.is_symlink()
                else api_pb2.FileEntry.FileType.DIRECTORY
                if path.is_dir()
                else api_pb2.FileEntry.FileType.FILE
            )
            info = path.lstat()
            entries.append(
                api_pb2.FileEntry(
                    path=str(path.relative_to(folder)), type=kind, mtime=int(info.st_mtime), size=info.st_size
                )
            )
        return entries

    async def VolumeListFiles(self, stream, request):
        entries = self.file_entries(request)
        self.record.write("volume-list", volume=self.volumes[request.volume_id], entries=len(entries))
        for at in range(0, max(len(entries), 1), 100):
            await stream.send_message(api_pb2.VolumeListFilesResponse(entries=entries[at : at + 100]))

    async def VolumeListFiles2(self, stream, request):
        entries = self.file_entries(request)
        self.record.write("volume-list", volume=self.volumes[request.volume_id], entries=len(entries))
        for at in range(0, max(len(entries), 1), 100):
            await stream.send_message(api_pb2.VolumeListFiles2Response(entries=entries[at : at + 100]))

    async def VolumeDelete(self, stream, request):
        folder = self.volume_folder(request.volume_id)
        self.record.write("volume-delete", volume=self.volumes.pop(request.volume_id))
        shutil.rmtree(folder)
        return empty_pb2.Empty()

    async def SandboxCreate(self, stream, request):
        definition = request.definition
        gpu = definition.resources.gpu_config.gpu_type
        if definition.resources.gpu_config.count > 1:
            gpu += f":{definition.resources.gpu_config.count}"
        self.starts += 1
        faults = self.faults()
        refused = (
            self.starts <= faults.get("start_failures", 0)
            or self.starts > faults.get("starts_limit", 1 << 30)
            or (gpu and gpu == faults.get("fail_gpu"))
        )
        self.record.write("sandbox-create", gpu=gpu, refused=bool(refused))
        if refused:
            raise GRPCError(Status.RESOURCE_EXHAUSTED, "Insufficient capacity to create sandbox. (harness)")
        sandbox_id, task_id = self.new_id("sb"), self.new_id("ta")
        root = self.state / "sandboxes" / sandbox_id
        root.mkdir(parents=True)
        sandbox = SandboxState(sandbox_id, task_id, root, definition, gpu)
        self.materialise(sandbox)
        self.sandboxes[sandbox_id] = sandbox
        self.tasks[task_id] = sandbox
        lifetime = faults.get("sandbox_lifetime") or definition.timeout_secs
        sandbox.timer = asyncio.get_running_loop().create_task(self.expire(sandbox, lifetime))
        return api_pb2.SandboxCreateResponse(sandbox_id=sandbox_id)

    def materialise(self, sandbox: SandboxState) -> None:
        """The sandbox's folder: its image's copied context files, then the mounts."""
        files: dict[str, bytes] = {}
        for image in self.image_chain(sandbox.definition.image_id):
            for context in image.context_files:
                files[context.filename] = context.data
            if image.context_mount_id:
                for name, sha, _ in self.mounts.get(image.context_mount_id, []):
                    files[name] = self.blobs[sha]
        for mount_id in sandbox.definition.mount_ids:
            for name, sha, _ in self.mounts[mount_id]:
                files[name] = self.blobs[sha]
        for name, data in files.items():
            path = pathlib.Path(str(sandbox.root) + name) if name.startswith("/") else sandbox.root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        (sandbox.root / "tmp").mkdir(exist_ok=True)
        for mount in sandbox.definition.volume_mounts:
            if mount.volume_id not in self.volumes:
                raise GRPCError(Status.NOT_FOUND, f"no volume {mount.volume_id}")
            volume = self.state / "volumes" / self.volumes[mount.volume_id]
            at = pathlib.Path(sandbox.local(mount.mount_path))
            at.parent.mkdir(parents=True, exist_ok=True)
            if mount.read_only:
                shutil.copytree(volume, at, symlinks=True)
            else:
                at.symlink_to(volume, target_is_directory=True)
            self.record.write(
                "volume-mount", sandbox_id=sandbox.id, volume=self.volumes[mount.volume_id],
                path=mount.mount_path, read_only=mount.read_only,
            )

    async def expire(self, sandbox: SandboxState, lifetime: float) -> None:
        await asyncio.sleep(lifetime)
        self.record.write("sandbox-timeout", sandbox_id=sandbox.id)
        await self.end(sandbox, api_pb2.GenericResult(status=api_pb2.GenericResult.GENERIC_STATUS_TIMEOUT))

    async def end(self, sandbox: SandboxState, result: api_pb2.GenericResult, lost: bool = False) -> None:
        if sandbox.result is not None:
            return
        sandbox.result = result
        for execution in sandbox.execs.values():
            execution.lost = lost
            if execution.process.returncode is None:
                try:
                    os.killpg(execution.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        sandbox.ended.set()
        if sandbox.timer is not None and sandbox.timer is not asyncio.current_task():
            sandbox.timer.cancel()
        self.record.write("sandbox-end", sandbox_id=sandbox.id, status=result.status, lost=lost)

    def sandbox(self, sandbox_id: str) -> SandboxState:
        if sandbox_id not in self.sandboxes:
            raise GRPCError(Status.NOT_FOUND, f"no sandbox {sandbox_id}")
        return self.sandboxes[sandbox_id]

    async def SandboxGetTaskId(self, stream, request):
        sandbox = self.sandbox(request.sandbox_id)
        if sandbox.result is not None:
            return api_pb2.SandboxGetTaskIdResponse(task_result=sandbox.result)
        return api_pb2.SandboxGetTaskIdResponse(task_id=sandbox.task_id)

    async def SandboxWait(self, stream, request):
        sandbox = self.sandbox(request.sandbox_id)
        if request.timeout > 0 and sandbox.result is None:
            try:
                await asyncio.wait_for(sandbox.ended.wait(), request.timeout)
            except TimeoutError:
                pass
        return api_pb2.SandboxWaitResponse(result=sandbox.result or api_pb2.GenericResult())

    async def SandboxTerminate(self, stream, request):
        sandbox = self.sandbox(request.sandbox_id)
        self.record.write("sandbox-terminate", sandbox_id=sandbox.id, running=sandbox.result is None)
        await self.end(sandbox, api_pb2.GenericResult(status=api_pb2.GenericResult.GENERIC_STATUS_TERMINATED))
        return api_pb2.SandboxTerminateResponse()

    async def TaskGetCommandRouterAccess(self, stream, request):
        if request.task_id not in self.tasks:
            raise GRPCError(Status.NOT_FOUND, f"no task {request.task_id}")
        return api_pb2.TaskGetCommandRouterAccessResponse(
            url=f"http://127.0.0.1:{self.port}", jwt=router_jwt(request.task_id)
        )

    # --- the task command router ----------------------------------------------------------

    def check_jwt(self, stream, task_id: str) -> SandboxState:
        if stream.metadata.get("authorization") != f"Bearer {router_jwt(task_id)}":
            raise GRPCError(Status.UNAUTHENTICATED, "bad router token")
        sandbox = self.tasks.get(task_id)
        if sandbox is None:
            raise GRPCError(Status.NOT_FOUND, f"no task {task_id}")
        return sandbox

    def execution(self, stream, request) -> Exec:
        sandbox = self.check_jwt(stream, request.task_id)
        if request.exec_id not in sandbox.execs:
            raise GRPCError(Status.NOT_FOUND, f"no exec {request.exec_id}")
        return sandbox.execs[request.exec_id]

    async def TaskExecStart(self, stream, request):
        sandbox = self.check_jwt(stream, request.task_id)
        if request.exec_id in sandbox.execs:
            return sr_pb2.TaskExecStartResponse()
        if sandbox.result is not None:
            raise GRPCError(Status.NOT_FOUND, "Task has finished")
        env = self.sandbox_env(sandbox, request)
        argv = list(request.command_args)
        argv = [sys.executable if argv[0] == "python" else argv[0], *map(sandbox.local, argv[1:])]
        workdir = sandbox.local(request.workdir or sandbox.definition.workdir or "/root")
        os.makedirs(workdir, exist_ok=True)
        pipe = sr_pb2.TaskExecStdoutConfig.TASK_EXEC_STDOUT_CONFIG_PIPE
        pipe_err = sr_pb2.TaskExecStderrConfig.TASK_EXEC_STDERR_CONFIG_PIPE
        self.record.write(
            "exec",
            sandbox_id=sandbox.id,
            exec_id=request.exec_id,
            command=list(request.command_args),
            env=env,
        )
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=workdir,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE if request.stdout_config == pipe else asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE if request.stderr_config == pipe_err else asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
        execution = Exec(process)
        sandbox.execs[request.exec_id] = execution
        loop = asyncio.get_running_loop()
        readers = []
        for fd, pipe_of in ((1, process.stdout), (2, process.stderr)):
            if pipe_of is None:
                execution.closed[fd] = True
            else:
                readers.append(loop.create_task(self.pump(sandbox, execution, fd, pipe_of)))
        loop.create_task(self.reap(execution, readers))
        return sr_pb2.TaskExecStartResponse()

    def sandbox_env(self, sandbox: SandboxState, request) -> dict[str, str]:
        """What a container's environment holds: a PATH, a home, the sandbox's secrets and the
        exec's; nothing of this machine's (its Modal token least of all)."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(sandbox.root / "root"),
            "LANG": "C.UTF-8",
        }
        for secret_id in sandbox.definition.secret_ids:
            env.update(self.secrets.get(secret_id, {}))
        for secret_id in request.secret_ids:
            env.update(self.secrets.get(secret_id, {}))
        for source in request.secret_sources:
            if source.secret_id:
                env.update(self.secrets.get(source.secret_id, {}))
        for entry in request.env:
            env[entry.key] = entry.value
        return env

    async def pump(self, sandbox: SandboxState, execution: Exec, fd: int, pipe) -> None:
        faults = self.faults()
        marker = faults.get("lose_on_output", "").encode()
        delay = faults.get("output_delay", 0)
        while True:
            chunk = await pipe.read(65536)
            if delay and chunk:
                await asyncio.sleep(delay)
            async with execution.changed:
                if chunk:
                    execution.output[fd] += chunk
                else:
                    execution.closed[fd] = True
                execution.changed.notify_all()
            if not chunk:
                return
            if marker and marker in execution.output[fd]:
                self.record.write("container-lost", sandbox_id=sandbox.id)
                await self.end(
                    sandbox,
                    api_pb2.GenericResult(
                        status=api_pb2.GenericResult.GENERIC_STATUS_FAILURE,
                        exception="The container was lost (harness)",
                    ),
                    lost=True,
                )

    async def reap(self, execution: Exec, readers: list) -> None:
        returncode = await execution.process.wait()
        await asyncio.gather(*readers)
        async with execution.changed:
            if returncode < 0:
                execution.signal = -returncode
            else:
                execution.code = returncode
            execution.changed.notify_all()

    async def TaskExecStdioRead(self, stream, request):
        execution = self.execution(stream, request)
        fd = 1 if request.file_descriptor == sr_pb2.TASK_EXEC_STDIO_FILE_DESCRIPTOR_STDOUT else 2
        offset = request.offset
        while True:
            async with execution.changed:
                await execution.changed.wait_for(
                    lambda offset=offset: len(execution.output[fd]) > offset or execution.closed[fd] or execution.lost
                )
                data = bytes(execution.output[fd][offset:])
                done = execution.closed[fd] or execution.lost
            if data:
                offset += len(data)
                await stream.send_message(sr_pb2.TaskExecStdioReadResponse(data=data))
            elif done:
                if execution.lost:
                    raise GRPCError(Status.NOT_FOUND, "Task has finished: the container was lost")
                return

    async def TaskExecStdinWrite(self, stream, request):
        execution = self.execution(stream, request)
        writer = execution.process.stdin
        if request.offset + len(request.data) > execution.stdin_offset:
            data = request.data[max(0, execution.stdin_offset - request.offset) :]
            execution.stdin_offset += len(data)
            if data and not writer.is_closing():
                writer.write(data)
                try:
                    await writer.drain()
                except (BrokenPipeError, ConnectionResetError):
                    pass
        if request.eof and not writer.is_closing():
            writer.close()
        return sr_pb2.TaskExecStdinWriteResponse()

    async def exit_status(self, execution: Exec, wait: bool):
        async with execution.changed:
            if wait:
                await execution.changed.wait_for(
                    lambda: execution.code is not None or execution.signal is not None or execution.lost
                )
            if execution.lost:
                raise GRPCError(Status.NOT_FOUND, "Task has finished: the container was lost")
            return execution.code, execution.signal

    async def TaskExecWait(self, stream, request):
        code, sig = await self.exit_status(self.execution(stream, request), wait=True)
        return sr_pb2.TaskExecWaitResponse(code=code) if code is not None else sr_pb2.TaskExecWaitResponse(signal=sig)

    async def TaskExecPoll(self, stream, request):
        code, sig = await self.exit_status(self.execution(stream, request), wait=False)
        if code is not None:
            return sr_pb2.TaskExecPollResponse(code=code)
        if sig is not None:
            return sr_pb2.TaskExecPollResponse(signal=sig)
        return sr_pb2.TaskExecPollResponse()


ROUTER_JWTS: dict[str, str] = {}


def router_jwt(task_id: str) -> str:
    """A JWT-shaped token for a task's command router (the client reads its `exp`)."""
    if task_id in ROUTER_JWTS:
        return ROUTER_JWTS[task_id]

    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    token = f"{part({'alg': 'none'})}.{part({'task': task_id, 'exp': int(now()) + 3600})}.harness"
    ROUTER_JWTS[task_id] = token
    return token


def service(base, harness: Harness, name: str, control_plane: bool):
    """An instance of the generated service `base` whose every RPC is recorded; those the
    harness implements are answered, the others refused loudly."""

    def rpc(method: str):
        implemented = getattr(harness, method, None)

        async def handle(self, stream) -> None:
            request = await stream.recv_message()
            harness.record.request(name, method, request)
            if implemented is None:
                harness.record.write("unknown-rpc", service=name, rpc=method)
                raise GRPCError(Status.UNIMPLEMENTED, f"the Modal API harness does not know {name}/{method}")
            if control_plane:
                harness.check_token(stream)
            reply = await implemented(stream, request)
            if reply is not None:
                await stream.send_message(reply)

        return handle

    methods = {method: rpc(method) for method in base.__abstractmethods__}
    return type(f"Harness{name}", (base,), methods)()


async def serve(args) -> None:
    harness = Harness(args)
    harness.record.write("hello", client_version=harness.client_version, modal=modal_version.__version__)
    if modal_version.__version__ != CLIENT_VERSION:
        raise SystemExit(
            f"the harness speaks client {CLIENT_VERSION}, the installed client is {modal_version.__version__}"
        )
    server = grpclib.server.Server(
        [
            service(api_grpc.ModalClientBase, harness, "ModalClient", True),
            service(task_command_router_grpc.TaskCommandRouterBase, harness, "TaskCommandRouter", False),
        ]
    )
    await server.start("127.0.0.1", 0)
    harness.port = server._server.sockets[0].getsockname()[1]
    ready = harness.state / "port"
    (harness.state / "port.tmp").write_text(str(harness.port))
    os.replace(harness.state / "port.tmp", ready)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for sandbox in list(harness.sandboxes.values()):
        await harness.end(sandbox, api_pb2.GenericResult(status=api_pb2.GenericResult.GENERIC_STATUS_TERMINATED))
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--state", required=True)
    parser.add_argument("--token-id", required=True)
    parser.add_argument("--token-secret", required=True)
    parser.add_argument("--faults")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
