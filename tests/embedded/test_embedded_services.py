"""The embedded PostgreSQL and Redis: start/stop idempotence, clear errors, nothing left half-started.

Every test uses its own state folder and free ports, so the developer's running services are never touched.
No test needs Django or its database.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis as redis_client

from devservices.embedded import (
    ConfigError,
    EmbeddedError,
    PortInUseError,
    cli,
    default_database_url,
    default_redis_url,
    postgres,
    redis,
    state_dir,
)
from devservices.embedded.passwords import secret
from devservices.embedded.processes import pid_alive
from devservices.embedded.status import ServiceStatus

CHECKOUT = Path(__file__).resolve().parents[2]
EXTERNAL_VARS = ("DATABASE_URL", "DATABASE_URL_FILE", "REDIS_URL", "REDIS_URL_FILE")


def free_ports(count: int) -> list[int]:
    """Distinct loopback ports that are free now (all probes stay open until every port is chosen)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            probe = stack.enter_context(socket.socket())
            probe.bind(("127.0.0.1", 0))
            ports.append(int(probe.getsockname()[1]))
        return ports


@pytest.fixture
def base_dir() -> Iterator[Path]:
    """A scratch folder that an unprivileged server user can enter (pytest's tmp_path is 0700 when root)."""
    base = Path(tempfile.mkdtemp(prefix="llmops-embedded-test-"))
    os.chmod(base, 0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def state(base_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private state folder and free ports; whatever a test started is stopped afterwards."""
    folder = base_dir / "state"
    pg_port, redis_port = free_ports(2)
    monkeypatch.setenv("LLMOPS_STATE_DIR", str(folder))
    monkeypatch.setenv("LLMOPS_PG_PORT", str(pg_port))
    monkeypatch.setenv("LLMOPS_REDIS_PORT", str(redis_port))
    for name in EXTERNAL_VARS:
        monkeypatch.delenv(name, raising=False)
    yield folder
    with contextlib.suppress(EmbeddedError):
        redis.stop(folder)
    with contextlib.suppress(EmbeddedError):
        postgres.stop(folder)


def run_cli(*args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m devservices.embedded ...`` in a child process, with the test's environment."""
    env = {**os.environ, **(extra_env or {})}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(CHECKOUT / "platform"), str(CHECKOUT), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    return subprocess.run(
        [sys.executable, "-m", "devservices.embedded", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@contextlib.contextmanager
def listening_on(port: int) -> Iterator[socket.socket]:
    """Another program holding ``port``."""
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.bind(("127.0.0.1", port))
        other.listen()
        yield other


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_start_status_restart_stop_are_idempotent(state: Path) -> None:
    first = run_cli("start")
    assert first.returncode == 0, first.stderr
    assert "postgres: started" in first.stdout and "redis: started" in first.stdout
    pg_pid, redis_pid = postgres.status(state).pid, redis.status(state).pid
    assert pg_pid and redis_pid

    status = run_cli("status")
    assert status.returncode == 0, status.stdout
    assert re.search(r"postgres: running on 127\.0\.0\.1:\d+ \(pid \d+\)", status.stdout)

    again = run_cli("start")
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("already running") == 2
    assert (postgres.status(state).pid, redis.status(state).pid) == (pg_pid, redis_pid)

    with psycopg.connect(default_database_url(state)) as conn:
        row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
        assert row is not None
        assert tuple(int(part) for part in row[0].split(".")[:2]) >= (0, 8)
        conn.execute("CREATE TABLE kept (id int)")
    template1 = default_database_url(state).rsplit("/", 1)[0] + "/template1"
    with psycopg.connect(template1) as conn:
        extensions = {name for (name,) in conn.execute("SELECT extname FROM pg_extension").fetchall()}
        assert {"vector", "pg_trgm", "btree_gist"} <= extensions
    assert redis_client.Redis.from_url(default_redis_url(state)).ping() is True

    stopped = run_cli("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert "postgres: stopped" in stopped.stdout and "redis: stopped" in stopped.stdout
    assert not pid_alive(pg_pid) and not pid_alive(redis_pid)

    stopped_again = run_cli("stop")
    assert stopped_again.returncode == 0, stopped_again.stderr
    assert stopped_again.stdout.count("not running") == 2

    down = run_cli("status")
    assert down.returncode == 3
    assert "postgres: stopped" in down.stdout and "redis: stopped" in down.stdout

    restarted = run_cli("start")
    assert restarted.returncode == 0, restarted.stderr
    with psycopg.connect(default_database_url(state)) as conn:
        assert conn.execute("SELECT to_regclass('kept') IS NOT NULL").fetchone() == (True,)


def test_concurrent_starts_share_one_server_each(state: Path) -> None:
    results: list[subprocess.CompletedProcess[str]] = []
    threads = [threading.Thread(target=lambda: results.append(run_cli("start"))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [result.returncode for result in results] == [0, 0], [result.stderr for result in results]
    output = "".join(result.stdout for result in results)
    assert output.count("postgres: started") == 1 and output.count("postgres: already running") == 1
    assert output.count("redis: started") == 1 and output.count("redis: already running") == 1


def test_taken_port_fails_with_one_line_and_leaves_nothing_running(state: Path) -> None:
    redis_port = redis.port()
    with listening_on(redis_port):
        result = run_cli("start")
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert line == (
        f"error: port {redis_port} is in use by another program; "
        "set LLMOPS_REDIS_PORT to a free port or stop that program"
    )
    assert not postgres.status(state).alive
    assert not redis.status(state).alive


def test_taken_port_found_by_the_server_itself_is_reported(state: Path) -> None:
    with listening_on(postgres.port()), pytest.raises(PortInUseError, match="LLMOPS_PG_PORT"):
        postgres.start(state)
    assert not postgres.status(state).alive


def test_failed_redis_start_stops_the_postgres_this_command_started(
    state: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken_start(folder: Path) -> tuple[ServiceStatus, bool]:
        raise EmbeddedError("Redis did not start: simulated; see the log")

    broken = dataclasses.replace(cli.SERVICES["redis"], start=broken_start)
    monkeypatch.setitem(cli.SERVICES, "redis", broken)

    assert cli.main(["start"]) == 1
    captured = capsys.readouterr()
    assert one_error_line(captured.err) == "error: Redis did not start: simulated; see the log"
    assert "postgres: stopped again" in captured.out
    assert not postgres.status(state).alive

    # A PostgreSQL that was already running before the command is left alone.
    assert cli.main(["start", "--only", "postgres"]) == 0
    running = postgres.status(state)
    assert cli.main(["start"]) == 1
    assert postgres.status(state).pid == running.pid and postgres.status(state).running


@pytest.mark.parametrize("value", ["abc", "0", "70000", "5432x"])
def test_malformed_port_names_the_variable(state: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("LLMOPS_PG_PORT", value)
    with pytest.raises(ConfigError, match="LLMOPS_PG_PORT"):
        default_database_url(state)
    result = run_cli("start")
    assert result.returncode == 1
    assert "LLMOPS_PG_PORT" in one_error_line(result.stderr)
    assert not (state / "postgres").exists()


def test_same_port_for_both_servers_is_refused(state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMOPS_REDIS_PORT", str(postgres.port()))
    result = run_cli("start")
    assert result.returncode == 1
    assert "different ports" in one_error_line(result.stderr)


def test_default_urls_are_stable_private_and_start_nothing(state: Path) -> None:
    database_url = default_database_url(state)
    redis_url = default_redis_url(state)
    assert database_url == default_database_url(state)
    assert redis_url == default_redis_url(state)
    assert re.fullmatch(rf"postgres://llmops:[\w-]+@127\.0\.0\.1:{postgres.port()}/llmops", database_url)
    assert re.fullmatch(rf"redis://:[\w-]+@127\.0\.0\.1:{redis.port()}/0", redis_url)
    for name in ("postgres-password", "redis-password"):
        assert stat.S_IMODE((state / "secrets" / name).stat().st_mode) == 0o600
    assert not postgres.status(state).alive and not redis.status(state).alive
    assert not (state / "postgres").exists() and not (state / "redis").exists()


def test_state_dir_defaults_to_the_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLMOPS_STATE_DIR", raising=False)
    assert state_dir() == CHECKOUT / ".llmops"
    monkeypatch.setenv("LLMOPS_STATE_DIR", "relative/state")
    assert state_dir() == Path.cwd() / "relative" / "state"


def test_concurrent_secret_creation_agrees(state: Path) -> None:
    values: list[str] = []
    threads = [threading.Thread(target=lambda: values.append(secret(state, "shared"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(values) == 8 and len(set(values)) == 1
    assert [path.name for path in (state / "secrets").iterdir()] == ["shared"]


def test_urls_prints_sourceable_lines(state: Path) -> None:
    result = run_cli("urls")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"DATABASE_URL={default_database_url(state)}",
        f"REDIS_URL={default_redis_url(state)}",
    ]


def test_stale_pid_files_are_ignored_and_replaced(state: Path) -> None:
    assert run_cli("start").returncode == 0
    assert run_cli("stop").returncode == 0
    (state / "redis" / "redis.pid").write_text(f"{dead_pid()}\n")
    pidfile = state / "postgres" / "data" / "postmaster.pid"
    pidfile.write_text(f"{dead_pid()}\n{state}\n0\n{postgres.port()}\n\n127.0.0.1\n0 0\nready\n")
    assert not postgres.status(state).alive and not redis.status(state).alive

    status = run_cli("status")
    assert status.returncode == 3 and "stale" in status.stdout
    assert run_cli("stop").returncode == 0
    started = run_cli("start")
    assert started.returncode == 0, started.stderr
    assert postgres.status(state).running and redis.status(state).running


def test_external_urls_are_used_instead_of_embedded_servers(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with listening_on(free_ports(1)[0]) as fake_db, listening_on(free_ports(1)[0]) as fake_redis:
        db_port, redis_port = fake_db.getsockname()[1], fake_redis.getsockname()[1]
        monkeypatch.setenv("DATABASE_URL", f"postgres://u:secret@127.0.0.1:{db_port}/app")
        monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{redis_port}/0")
        result = run_cli("start")
        assert result.returncode == 0, result.stderr
        assert f"postgres: using DATABASE_URL (127.0.0.1:{db_port})" in result.stdout
        assert "secret" not in result.stdout
        assert run_cli("status").returncode == 0
        urls = run_cli("urls").stdout.splitlines()
        assert urls[0] == f"DATABASE_URL=postgres://u:secret@127.0.0.1:{db_port}/app"
    assert not state.exists()  # nothing embedded was set up

    unreachable = run_cli("start")
    assert unreachable.returncode == 1
    line = one_error_line(unreachable.stderr)
    assert f"cannot reach the database at 127.0.0.1:{db_port} from DATABASE_URL" in line
    assert run_cli("status").returncode == 3


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://u:p@db/app"),
        ("DATABASE_URL", "postgres://db:port/app"),
        ("REDIS_URL", "redis:"),
    ],
)
def test_malformed_external_url_names_the_variable(
    state: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    result = run_cli("start")
    assert result.returncode == 1
    assert name in one_error_line(result.stderr)
    assert not postgres.status(state).alive and not redis.status(state).alive


@pytest.mark.skipif(os.geteuid() != 0, reason="only root drops privileges")
def test_as_root_servers_run_unprivileged(state: Path, base_dir: Path) -> None:
    assert run_cli("start").returncode == 0
    for pid in (postgres.status(state).pid, redis.status(state).pid):
        uids = Path(f"/proc/{pid}/status").read_text().split("Uid:")[1].split()
        assert uids[0] != "0"
    assert stat.S_IMODE(base_dir.stat().st_mode) == 0o755  # nothing outside the state folder changed


@pytest.mark.skipif(os.geteuid() != 0, reason="only root drops privileges")
def test_as_root_an_unreachable_state_folder_fails_without_changing_it(state: Path, base_dir: Path) -> None:
    os.chmod(base_dir, 0o700)
    result = run_cli("start")
    assert result.returncode == 1
    assert f"cannot enter {base_dir}" in one_error_line(result.stderr)
    assert stat.S_IMODE(base_dir.stat().st_mode) == 0o700
    assert not postgres.status(state).alive and not redis.status(state).alive
