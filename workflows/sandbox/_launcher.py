"""The sandbox launcher (``SubprocessSandbox``); the layers are described in ``workflows.sandbox``."""

from __future__ import annotations

import ast
import asyncio
import base64
import contextlib
import functools
import importlib.util
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

from workflows._ports import HttpClient, HttpRequest, SandboxLimits, SandboxResult
from workflows.sandbox._isolation import Isolation, isolation_for

_CHILD = (Path(__file__).with_name("_child.py")).read_text()
_SIGNALS = {
    signal.SIGXCPU: ("CPUTimeLimitExceeded", "code exceeded its CPU time limit"),
    signal.SIGKILL: ("ResourceLimitExceeded", "code was killed (CPU or memory limit)"),
    signal.SIGXFSZ: ("FileSizeLimitExceeded", "code wrote a file larger than allowed"),
}


MiB = 1024 * 1024
DEFAULT_UID = 61000
UNISOLATED_HINT = (
    "packages are offered to code only where the sandbox runs it as its own user in private namespaces "
    "(a root worker on a kernel that allows them); here code gets the standard library only"
)
# One call's HTTP exchanges through the parent: how many, and how large one response body may be.
MAX_HTTP_CALLS = 100
MAX_HTTP_RESPONSE_BYTES = 10 * MiB
# Where a module the package environment lacks is offered; a platform names its own setting.
DEFAULT_PACKAGES_HINT = "the sandbox's package environment does not include it"


def _apply_limits(limits: SandboxLimits, enter: Callable[[], None] | None) -> Callable[[], None]:
    def apply() -> None:
        # Runs in the forked child before exec: setrlimit, then the namespaces (syscalls only).
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.max_file_bytes, limits.max_file_bytes))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.max_open_files, limits.max_open_files))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if enter is not None:
            enter()

    return apply


class SubprocessSandbox:
    """A CodeSandbox running each call in a fresh limited subprocess (about 50-100 ms of start-up).

    ``uid``/``gid``: the ids the child drops to when the worker is root (they should own nothing).
    ``max_memory_bytes``: per-call address-space cap, whatever a node's limits ask for.
    ``run_memory_bytes``: total address space of the calls running at once through this instance (the
    platform builds one instance per run); a call waits until its share fits.
    ``tmp_bytes``/``tmp_files``: what one call may keep in its temp dir (a tmpfs cap where namespaces are
    available, the audit hook's check otherwise; RLIMIT_FSIZE caps each file in both cases).
    ``namespaces``: "auto" (use them where the kernel allows, log once otherwise), "required" (calls fail
    where they are unavailable) or "off".
    ``packages_dir``: a read-only directory of packages code may import (a ``pip install --target``), never
    the worker's own environment; ``packages_hint`` ends the error for a module it lacks.
    ``http``: the client that ``requests`` and ``httpx`` calls in code go through (the child has no network
    of its own; without a client they fail). With namespaces off the audit hook still refuses sockets, so
    the client's guard is the only way out in every mode.
    """

    def __init__(
        self,
        *,
        python: str | None = None,
        uid: int = DEFAULT_UID,
        gid: int | None = None,
        max_memory_bytes: int = 1024 * MiB,
        run_memory_bytes: int | None = None,
        tmp_bytes: int = 64 * MiB,
        tmp_files: int = 256,
        namespaces: str = "auto",
        packages_dir: str | None = None,
        packages_hint: str = DEFAULT_PACKAGES_HINT,
        http: HttpClient | None = None,
    ) -> None:
        if namespaces not in ("auto", "required", "off"):
            raise ValueError(f"namespaces must be auto, required or off, not {namespaces!r}")
        # The real interpreter, not a venv shim: the child needs no site-packages.
        self.python = python or os.path.realpath(sys.executable)
        self.ids = (uid, uid if gid is None else gid) if os.geteuid() == 0 else None
        self.max_memory_bytes = max_memory_bytes
        self.run_memory_bytes = run_memory_bytes
        self.tmp_bytes, self.tmp_files = tmp_bytes, tmp_files
        self.namespaces = namespaces
        self.packages_dir = os.path.realpath(packages_dir) if packages_dir else None
        self.packages_hint = packages_hint
        self.http = http
        self._isolation: Isolation | None = None
        self._reserved = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def run(self, code: str, inputs: Mapping[str, Any], limits: SandboxLimits) -> SandboxResult:
        """Run ``main(**inputs)`` from ``code`` under ``limits``; failures come back as data."""
        started = time.perf_counter()
        memory = min(limits.memory_bytes, self.max_memory_bytes, self.run_memory_bytes or limits.memory_bytes)
        limits = _with_memory(limits, memory)
        isolation = await self._isolation_now()
        if self.namespaces == "required" and not isolation.namespaces:
            return SandboxResult(
                False,
                error_type="SandboxUnavailable",
                error=f"the code sandbox requires kernel namespaces, which this platform refuses: {isolation.reason}",
            )
        async with self._reserve(memory):
            tmp = tempfile.mkdtemp(prefix="wf-sandbox-")
            try:
                result = await self._run_in(tmp, code, inputs, limits, isolation)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        if result.error_type == "MemoryError":
            result = SandboxResult(
                False,
                error_type="MemoryError",
                error=f"code ran out of memory (limit {memory // MiB} MiB per call) {result.error}".strip(),
                stdout=result.stdout,
            )
        return SandboxResult(
            result.ok,
            result.outputs,
            result.error_type,
            result.error,
            result.stdout,
            time.perf_counter() - started,
        )

    async def _isolation_now(self) -> Isolation:
        if self._isolation is None:
            owner = self.ids or (os.geteuid(), os.getegid())
            self._isolation = await asyncio.to_thread(
                isolation_for,
                uid=owner[0],
                gid=owner[1],
                tmp_bytes=self.tmp_bytes,
                tmp_files=self.tmp_files,
                enabled=self.namespaces != "off",
                python=self.python,
            )
        return self._isolation

    @contextlib.asynccontextmanager
    async def _reserve(self, memory: int) -> AsyncIterator[None]:
        """Hold ``memory`` of the run's budget while a call runs (no budget: no waiting)."""
        budget = self.run_memory_bytes
        while budget is not None and self._reserved + memory > budget:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
        self._reserved += memory
        try:
            yield
        finally:
            self._reserved -= memory
            for waiter in self._waiters:
                if not waiter.done():
                    waiter.set_result(None)

    async def _run_in(
        self, tmp: str, code: str, inputs: Mapping[str, Any], limits: SandboxLimits, isolation: Isolation
    ) -> SandboxResult:
        uid, gid = self.ids or (None, None)
        if self.ids:
            os.chown(tmp, *self.ids)
        os.chmod(tmp, 0o700)
        # Native packages (numpy can write anywhere in the child's memory) can switch the audit hook off, so
        # they are offered only where the kernel isolates the child on its own: its own uid (the package
        # environment stays read-only to it) in private namespaces (no network, its own mounts).
        offered = self.packages_dir if (self.ids and isolation.namespaces) else None
        hint = self.packages_hint if offered or not self.packages_dir else UNISOLATED_HINT
        request = {
            "code": code,
            "inputs": dict(inputs),
            "tmp": tmp,
            "uid": uid,
            "gid": gid,
            "max_files": self.tmp_files,
            "max_bytes": self.tmp_bytes,
            "packages": offered,
            "preload": _preload(code, offered),
            "index": package_index(offered) if offered else {},
            "hint": hint,
        }
        # Nothing of the worker's environment: only what the interpreter, tempfile and the offered packages
        # need (one BLAS thread: threads are forbidden after start-up; matplotlib without a display).
        env = {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": tmp,
            "TMPDIR": tmp,
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": tmp,
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        try:
            process = await self._start(tmp, env, limits, isolation)
        except (OSError, subprocess.SubprocessError) as exc:
            # A namespace or rlimit the probe allowed failed for this child (the kernel may run out of
            # namespaces): the call fails with a reason and the worker carries on.
            return SandboxResult(
                False, error_type="SandboxUnavailable", error=f"could not start the sandbox: {exc}"
            )
        try:
            async with asyncio.timeout(limits.wall_seconds):
                stdout, stderr = await _exchange(
                    process, json.dumps(request).encode(), limits.max_output_bytes, self._http_answer
                )
        except TimeoutError:
            return SandboxResult(
                False,
                error_type="TimeoutError",
                error=f"code exceeded the wall-time limit of {limits.wall_seconds:g}s",
            )
        except _OutputTooLarge:
            return SandboxResult(
                False,
                error_type="OutputLimitExceeded",
                error=f"code wrote more than {limits.max_output_bytes} bytes",
            )
        finally:
            await _kill(process)
        return _result(process.returncode, stdout, stderr)

    async def _http_answer(self, line: bytes) -> dict[str, Any]:
        """Perform one HTTP call of the child through the guarded client; failures are answered as data."""
        if self.http is None:
            return {"error": "code nodes have no outbound HTTP here (no HTTP client is configured)"}
        try:
            message = json.loads(line)["http"]
            headers: dict[str, str] = {}
            for name, value in message["headers"]:
                headers[str(name)] = str(value)
            response = await self.http.request(
                HttpRequest(
                    str(message["method"]),
                    str(message["url"]),
                    headers=headers,
                    content=base64.b64decode(message["body"]) or None,
                    timeout_seconds=min(float(message.get("timeout") or 30.0), 60.0),
                    max_response_bytes=MAX_HTTP_RESPONSE_BYTES,
                )
            )
        except Exception as exc:  # the guard's refusal, a timeout, a malformed line: the child's exception
            return {"error": str(exc) or type(exc).__name__}
        return {
            "status": response.status_code,
            "headers": list(response.headers.items()),
            "body": base64.b64encode(response.content).decode(),
            "url": response.url,
        }

    async def _start(
        self, tmp: str, env: dict[str, str], limits: SandboxLimits, isolation: Isolation
    ) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            self.python,
            "-I",
            "-S",
            "-X",
            "utf8",
            "-c",
            _CHILD,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=tmp,
            env=env,
            start_new_session=True,
            preexec_fn=_apply_limits(limits, isolation.preexec(tmp)),
        )


def _preload(code: str, packages_dir: str | None) -> list[str]:
    """The offered and standard modules ``code`` imports (dotted, as written): the child imports them before
    its lockdown (less those it never preloads)."""
    offered = _offered_modules(packages_dir) if packages_dir else frozenset()
    return sorted(
        name
        for name in imported_modules(code)
        if name.split(".")[0] in offered or name.split(".")[0] in sys.stdlib_module_names
    )


INDEX_FILE = ".sandbox-index.json"


@functools.cache
def package_index(packages_dir: str) -> dict[str, list[str]]:
    """For each top-level module of a package environment, the standard-library modules its sources import.

    The child imports them with the packages it preloads (lazy imports too: after the uid drop the
    interpreter's files may be unreadable, and no extension module can be loaded). Read from ``INDEX_FILE``
    in the environment (written by :func:`package_index_write` when it is built), else computed; once per
    process either way (the environment is read-only while workers run)."""
    try:
        with open(os.path.join(packages_dir, INDEX_FILE)) as handle:
            return dict(json.load(handle))
    except (OSError, ValueError):
        return _computed_index(packages_dir)


def package_index_write(packages_dir: str) -> None:
    """Write the environment's :func:`package_index` into it (once, after installing)."""
    index = _computed_index(packages_dir)
    with open(os.path.join(packages_dir, INDEX_FILE), "w") as handle:
        json.dump(index, handle)


# Import statements, found by a pattern rather than parsed: an environment holds thousands of files, and a
# name that is not a module is only a cheap failed import in the child.
_IMPORTS = re.compile(
    r"^[ \t]*(?:from[ \t]+([\w.]+)[ \t]+import[ \t]+\(?([\w ,\t]+)|import[ \t]+([\w., \t]+))", re.M
)


@functools.cache
def _computed_index(packages_dir: str) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for top in _offered_modules(packages_dir):
        root = Path(packages_dir, top)
        files = list(root.rglob("*.py")) if root.is_dir() else [root.with_suffix(".py")]
        names: set[str] = set()
        for file in files:
            with contextlib.suppress(OSError):
                names |= _statement_imports(file.read_text(encoding="utf-8", errors="replace"))
        index[top] = sorted(n for n in names if _is_standard_module(n))
    return index


def _statement_imports(source: str) -> set[str]:
    names: set[str] = set()
    for module, members, modules in _IMPORTS.findall(source):
        if module:
            names.add(module)
            names.update(f"{module}.{m.strip()}" for m in members.split(",") if m.strip().isidentifier())
        else:
            names.update(m.split(" as ")[0].strip() for m in modules.split(","))
    return names


def _is_standard_module(name: str) -> bool:
    top, _, rest = name.partition(".")
    if top not in sys.stdlib_module_names:
        return False
    if not rest:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def imported_modules(code: str, *, strings: bool = True) -> set[str]:
    """Modules ``code`` imports: ``import``/``from`` statements (``from a import b`` gives ``a`` and ``a.b``,
    which may be a module) and, with ``strings``, string constants naming a module (``__import__("x")``,
    ``importlib.import_module("x")``); empty for code that does not parse."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*")
        elif (
            strings
            and isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and _is_dotted(node.value)
        ):
            names.add(node.value)
    return names


def _is_dotted(text: str) -> bool:
    return 0 < len(text) <= 200 and all(part.isidentifier() for part in text.split("."))


@functools.cache
def _offered_modules(packages_dir: str) -> frozenset[str]:
    """Top-level module names in a package environment (it is read-only: listed once per process)."""
    try:
        entries = os.listdir(packages_dir)
    except OSError:
        return frozenset()
    return frozenset(
        entry.split(".")[0]
        for entry in entries
        if not entry.endswith((".dist-info", ".libs", ".pth")) and entry.split(".")[0].isidentifier()
    )


def _with_memory(limits: SandboxLimits, memory: int) -> SandboxLimits:
    return SandboxLimits(
        limits.wall_seconds,
        limits.cpu_seconds,
        memory,
        limits.max_output_bytes,
        limits.max_file_bytes,
        limits.max_open_files,
    )


class _OutputTooLarge(Exception):
    pass


async def _exchange(
    process: asyncio.subprocess.Process,
    request: bytes,
    cap: int,
    http: Callable[[bytes], Any],
) -> tuple[bytes, bytes]:
    """Send the request line; answer the child's HTTP lines until its result line (or its end)."""
    assert process.stdin and process.stdout and process.stderr
    process.stdin.write(request + b"\n")
    await process.stdin.drain()
    errors = asyncio.ensure_future(_read(process.stderr, 64 * 1024))
    try:
        calls, lines = 0, _lines(process.stdout, cap + MAX_HTTP_RESPONSE_BYTES)
        async for line in lines:
            if not line.startswith(b'{"http":'):
                if len(line) > cap:
                    raise _OutputTooLarge
                process.stdin.close()
                await process.wait()
                return line, await errors
            calls += 1
            answer = (
                await http(line)
                if calls <= MAX_HTTP_CALLS
                else {"error": f"more than {MAX_HTTP_CALLS} HTTP calls"}
            )
            process.stdin.write(json.dumps(answer).encode() + b"\n")
            await process.stdin.drain()
        await process.wait()
        return b"", await errors
    finally:
        errors.cancel()
        process.stdin.close()


async def _lines(stream: asyncio.StreamReader, cap: int) -> AsyncIterator[bytes]:
    data = bytearray()
    while chunk := await stream.read(65536):
        data += chunk
        while (end := data.find(b"\n")) >= 0:
            yield bytes(data[:end])
            del data[: end + 1]
        if len(data) > cap:
            raise _OutputTooLarge
    if data:
        yield bytes(data)


async def _read(stream: asyncio.StreamReader, cap: int) -> bytes:
    data = bytearray()
    while chunk := await stream.read(65536):
        data += chunk
        if len(data) > cap:
            raise _OutputTooLarge
    return bytes(data)


async def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


def _result(returncode: int | None, stdout: bytes, stderr: bytes) -> SandboxResult:
    if returncode and returncode < 0 and -returncode in _SIGNALS:
        error_type, message = _SIGNALS[signal.Signals(-returncode)]
        return SandboxResult(False, error_type=error_type, error=message)
    try:
        payload = json.loads(stdout)
    except json.JSONDecodeError:
        detail = stderr.decode(errors="replace").strip().splitlines()[-1:] or [f"exit status {returncode}"]
        return SandboxResult(False, error_type="SandboxCrashed", error=detail[0][:2000])
    if payload.get("ok"):
        return SandboxResult(True, payload.get("outputs") or {}, stdout=payload.get("stdout", ""))
    return SandboxResult(
        False,
        error_type=payload.get("error_type", "Error"),
        error=payload.get("error", ""),
        stdout=payload.get("stdout", ""),
    )
