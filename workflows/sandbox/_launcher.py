"""The sandbox launcher (``SubprocessSandbox``); the layers are described in ``workflows.sandbox``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
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

from workflows._ports import SandboxLimits, SandboxResult
from workflows.sandbox._isolation import Isolation, isolation_for

_CHILD = (Path(__file__).with_name("_child.py")).read_text()
_SIGNALS = {
    signal.SIGXCPU: ("CPUTimeLimitExceeded", "code exceeded its CPU time limit"),
    signal.SIGKILL: ("ResourceLimitExceeded", "code was killed (CPU or memory limit)"),
    signal.SIGXFSZ: ("FileSizeLimitExceeded", "code wrote a file larger than allowed"),
}


MiB = 1024 * 1024
DEFAULT_UID = 61000


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
        request = {
            "code": code,
            "inputs": dict(inputs),
            "tmp": tmp,
            "uid": uid,
            "gid": gid,
            "max_files": self.tmp_files,
            "max_bytes": self.tmp_bytes,
        }
        # Nothing of the worker's environment: only what the interpreter and tempfile need.
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": tmp, "TMPDIR": tmp}
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
                    process, json.dumps(request).encode(), limits.max_output_bytes
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


async def _exchange(process: asyncio.subprocess.Process, request: bytes, cap: int) -> tuple[bytes, bytes]:
    assert process.stdin and process.stdout and process.stderr
    process.stdin.write(request)
    await process.stdin.drain()
    process.stdin.close()
    stdout, stderr = await asyncio.gather(_read(process.stdout, cap), _read(process.stderr, 64 * 1024))
    await process.wait()
    return stdout, stderr


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
