"""Processes of the embedded servers: liveness by pid, waiting, running a server tool, reading its log."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from importlib.util import find_spec
from pathlib import Path

from devservices.embedded.accounts import RunAs
from devservices.embedded.errors import EmbeddedError


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process, whoever owns it."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    fields = text.rsplit(")", 1)[-1].split()
    return not fields or fields[0] not in ("Z", "X")


def process_name(pid: int) -> str | None:
    """The executable name of ``pid`` (``/proc/<pid>/comm``), or ``None`` where /proc is unavailable."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def is_process(pid: int, name: str) -> bool:
    """Whether ``pid`` is alive and runs ``name`` (trusting the pid where /proc cannot tell)."""
    if not pid_alive(pid):
        return False
    actual = process_name(pid)
    return actual is None or actual == name


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Poll ``condition`` (backing off to 0.2 s) until it holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
        interval = min(interval * 1.5, 0.2)


def service_env() -> dict[str, str]:
    """A small, predictable environment for server processes (English messages, UTC)."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C", "TZ": "UTC"}


def run_tool(
    args: Sequence[str | Path], who: RunAs | None, cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run a server tool as ``who``; output goes through a file (a daemon child may keep pipes open)."""
    with tempfile.TemporaryFile("w+") as output:
        try:
            completed = subprocess.run(
                [str(arg) for arg in args],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=service_env(),
                start_new_session=True,
                umask=0o077,
                timeout=timeout,
                check=False,
                **(who.popen_kwargs() if who is not None else {}),
            )
        except subprocess.TimeoutExpired as exc:
            raise EmbeddedError(
                f"{Path(str(args[0])).name} did not finish within {timeout:.0f} s; "
                f"see the logs in {cwd.parent}"
            ) from exc
        except OSError as exc:
            raise EmbeddedError(
                f"cannot run {args[0]}: {exc.strerror}; reinstall the project (pip install -e '.[dev]')"
            ) from exc
        output.seek(0)
        return subprocess.CompletedProcess(completed.args, completed.returncode, output.read(), "")


def package_dir(module: str, distribution: str) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = find_spec(module)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise EmbeddedError(
            f"the Python package {distribution!r} is not installed; run pip install -e '.[dev]' "
            "or set the service URL to use an external server"
        )
    return Path(locations[0])


def log_size(path: Path) -> int:
    """The log's size in bytes now (0 when it does not exist): where this start's lines will begin."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def log_since(path: Path, offset: int) -> list[str]:
    """The log lines written after byte ``offset``."""
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except OSError:
        return []
    return [line for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
