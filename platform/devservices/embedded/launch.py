"""The start-up and shut-down sequence PostgreSQL and Redis share.

A start checks everything before it changes anything (stale pid file, free port, binary present, state folder
reachable by the account the server will run as), hands the server its own folder and log, and undoes
itself if anything (Ctrl-C included) interrupts it. A stop signals gently, then forcefully. Only what differs
(initdb, the configuration file, how readiness is seen) stays in ``postgres.py`` and ``redis.py``.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from devservices.embedded.accounts import (
    RunAs,
    ensure_owned_folder,
    prepare_log,
    require_reachable,
    service_user,
)
from devservices.embedded.errors import EmbeddedError, PortInUseError
from devservices.embedded.folder import ensure_state_dir
from devservices.embedded.ports import port_in_use
from devservices.embedded.processes import is_process, pid_alive, wait_until
from devservices.embedded.status import ServiceStatus


@dataclass(frozen=True)
class Server:
    """What the shared sequence needs to know about one embedded server."""

    name: str  # "postgres": status lines and the log's file name
    title: str  # "PostgreSQL": messages
    process: str  # the executable's name in /proc, to tell a stale pid file from a live one
    port_env: str
    distribution: str  # the Python package that ships the binaries, for the reinstall hint
    root: Path  # the server's own folder in the state folder
    pidfile: Path


@dataclass(frozen=True)
class Prepared:
    """The account a server is started as (``None``: the caller) and its log file."""

    who: RunAs | None
    log: Path


def port_message(port_env: str, port: int) -> str:
    """The one line that says ``port`` is taken and how to choose another (``port_env``)."""
    return f"port {port} is in use by another program; set {port_env} to a free port or stop that program"


# --- pid files --------------------------------------------------------------------------------------------


def read_pidfile(server: Server) -> list[str] | None:
    """The pid file's lines, or ``None`` when there is none."""
    try:
        return server.pidfile.read_text().splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except PermissionError as exc:
        raise EmbeddedError(
            f"cannot read {server.pidfile} (the server belongs to another user); run as that user or as root"
        ) from exc


def live_pid(server: Server, lines: list[str]) -> tuple[int | None, str]:
    """The pid on the file's first line if that process is the server, else ``None`` and why not."""
    try:
        pid = int(lines[0].strip())
    except (IndexError, ValueError):
        return None, f"unreadable {server.pidfile.name}"
    if not is_process(pid, server.process):
        return None, f"stale {server.pidfile.name}"
    return pid, ""


# --- start ------------------------------------------------------------------------------------------------


def refuse_other_port(server: Server, current: ServiceStatus, want_port: int) -> None:
    """A running server listens where it was started; asking for another port needs a stop first."""
    if current.port is not None and current.port != want_port:
        raise EmbeddedError(
            f"the embedded {server.title} already runs on port {current.port}, but {server.port_env} asks "
            f"for {want_port}; stop it first (make stop) or set {server.port_env}={current.port}"
        )


def prepare(state: Path, server: Server, want_port: int, binary: Path) -> Prepared:
    """Check, then set up, everything a fresh start needs; returns the account and the log to use.

    Run as root, the server runs as :func:`service_user` (the owner of its existing folder, else
    ``$LLMOPS_SERVICE_USER``), which must be able to reach the binary and the state folder.
    """
    if server.pidfile.exists():  # stale: the process is gone (or the pid now belongs to another program)
        server.pidfile.unlink()
    if port_in_use(want_port):
        raise PortInUseError(port_message(server.port_env, want_port))
    ensure_state_dir(state)
    who = service_user(owner_of=server.root)
    if not binary.is_file():
        raise EmbeddedError(f"{binary} is missing; reinstall {server.distribution} (pip install -e '.[dev]')")
    if who is not None:
        require_reachable(binary, who, executable=True)
        require_reachable(state, who)
    ensure_owned_folder(state, server.root, who)
    return Prepared(who, prepare_log(state, f"{server.name}.log", who))


@contextlib.contextmanager
def undone_on_failure(stop: Callable[[], None]) -> Iterator[None]:
    """Stop what a start began when anything (Ctrl-C included) interrupts it: nothing is left half-started."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(EmbeddedError):
            stop()
        raise


# --- stop -------------------------------------------------------------------------------------------------


def stop_process(
    title: str,
    pid: int | None,
    gentle: tuple[signal.Signals, float],
    forceful: tuple[signal.Signals, float],
) -> None:
    """Send the gentle signal, wait, then the forceful one; fail with the ``kill -9`` line if it still lives."""
    if pid is None or not pid_alive(pid):
        return
    try:
        os.kill(pid, gentle[0])
        if wait_until(lambda: not pid_alive(pid), gentle[1]):
            return
        os.kill(pid, forceful[0])
    except ProcessLookupError:
        return
    except PermissionError as exc:
        raise EmbeddedError(
            f"cannot stop the embedded {title} (pid {pid}): it belongs to another user; "
            "run as that user or as root"
        ) from exc
    if not wait_until(lambda: not pid_alive(pid), forceful[1]):
        raise EmbeddedError(f"the embedded {title} (pid {pid}) does not stop; kill it (kill -9 {pid})")


def stop(server: Server, current: ServiceStatus, halt: Callable[[ServiceStatus], None]) -> bool:
    """Stop the server ``current`` describes with ``halt``; returns whether it was running.

    A pid file left behind (by a crash, or by an immediate shutdown) is removed either way.
    """
    running = current.alive
    if running:
        halt(current)
    with contextlib.suppress(FileNotFoundError):
        server.pidfile.unlink()
    return running
