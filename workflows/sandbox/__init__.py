"""The shipped CodeSandbox: user Python in a separate, resource-limited, unprivileged process.

Layers, from outside in:

- a fresh interpreter (``python -I -S``: no site-packages, no environment influence) in its own session, with
  a clean environment and a fresh temp dir as cwd (deleted afterwards);
- rlimits set before exec: CPU seconds, address space, file size, open files, no core dumps;
- wall-time limit: the whole process group is SIGKILLed when it runs out;
- inside the child, before user code: drop to ``nobody`` when started as root, RLIMIT_NPROC=0 (no new
  processes), and an audit hook refusing file access outside the temp dir (stdlib reads excepted), sockets,
  subprocesses, exec/fork/spawn, signals to other processes and ctypes (see ``_child.py``).

Audit hooks are not a security boundary on their own (CPython documents that); the uid drop, rlimits and the
process boundary are what contain hostile code. A network namespace (``unshare -n``) would add a kernel-level
network ban; it is not used because it needs privileges the worker should not have.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pwd
import resource
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from workflows._ports import SandboxLimits, SandboxResult

_CHILD = (Path(__file__).with_name("_child.py")).read_text()
_SIGNALS = {
    signal.SIGXCPU: ("CPUTimeLimitExceeded", "code exceeded its CPU time limit"),
    signal.SIGKILL: ("ResourceLimitExceeded", "code was killed (CPU or memory limit)"),
    signal.SIGXFSZ: ("FileSizeLimitExceeded", "code wrote a file larger than allowed"),
}


def _unprivileged_ids() -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam("nobody")
        return entry.pw_uid, entry.pw_gid
    except KeyError:
        return 65534, 65534


def _apply_limits(limits: SandboxLimits) -> Callable[[], None]:
    def apply() -> None:
        # Runs in the forked child before exec: only async-signal-safe-ish work (setrlimit) happens here.
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.max_file_bytes, limits.max_file_bytes))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.max_open_files, limits.max_open_files))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


class SubprocessSandbox:
    """A CodeSandbox running each call in a fresh limited subprocess (about 30-60 ms of start-up)."""

    def __init__(self, *, python: str | None = None) -> None:
        # The real interpreter, not a venv shim: the child needs no site-packages.
        self.python = python or os.path.realpath(sys.executable)
        self.ids = _unprivileged_ids()

    async def run(self, code: str, inputs: Mapping[str, Any], limits: SandboxLimits) -> SandboxResult:
        """Run ``main(**inputs)`` from ``code`` under ``limits``; failures come back as data."""
        started = time.perf_counter()
        tmp = tempfile.mkdtemp(prefix="wf-sandbox-")
        try:
            result = await self._run_in(tmp, code, inputs, limits)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return SandboxResult(
            result.ok,
            result.outputs,
            result.error_type,
            result.error,
            result.stdout,
            time.perf_counter() - started,
        )

    async def _run_in(
        self, tmp: str, code: str, inputs: Mapping[str, Any], limits: SandboxLimits
    ) -> SandboxResult:
        uid, gid = self.ids or (None, None)
        if self.ids:
            os.chown(tmp, *self.ids)
        os.chmod(tmp, 0o700)
        request = json.dumps(
            {"code": code, "inputs": dict(inputs), "tmp": tmp, "uid": uid, "gid": gid}
        ).encode()
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": tmp, "TMPDIR": tmp}
        process = await asyncio.create_subprocess_exec(
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
            preexec_fn=_apply_limits(limits),
        )
        try:
            async with asyncio.timeout(limits.wall_seconds):
                stdout, stderr = await _exchange(process, request, limits.max_output_bytes)
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


__all__ = ["SubprocessSandbox"]
