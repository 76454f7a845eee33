"""``python -m devservices.embedded start|stop|status|urls [--only postgres|redis]``.

``start`` brings up the embedded PostgreSQL and Redis unless ``DATABASE_URL`` / ``REDIS_URL`` point elsewhere
(then it only checks that those servers are reachable); it is idempotent and leaves nothing half-started.
``stop`` stops whatever runs from the state folder. ``status`` exits 0 when every needed service runs, 3
otherwise. ``urls`` prints shell-sourceable ``DATABASE_URL=...`` and ``REDIS_URL=...`` lines.
Errors print one ``error: <cause>; <fix>`` line on stderr and exit 1.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from devservices.embedded import postgres, redis
from devservices.embedded.errors import ConfigError, EmbeddedError, PortInUseError
from devservices.embedded.folder import state_dir
from devservices.embedded.locking import locked
from devservices.embedded.ports import LOOPBACK, port_in_use
from devservices.embedded.status import ServiceStatus

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_NOT_RUNNING = 3
REACH_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Service:
    name: str
    env: str
    what: str
    schemes: tuple[str, ...]
    default_port: int
    example: str
    port: Callable[[], int]
    url: Callable[[Path], str]
    start: Callable[[Path], tuple[ServiceStatus, bool]]
    stop: Callable[[Path], bool]
    status: Callable[[Path], ServiceStatus]
    port_message: Callable[[int], str]


SERVICES: dict[str, Service] = {
    "postgres": Service(
        name="postgres",
        env="DATABASE_URL",
        what="database",
        schemes=("postgres", "postgresql"),
        default_port=5432,
        example="postgres://user:password@host:5432/name",
        port=postgres.port,
        url=postgres.database_url,
        start=postgres.start,
        stop=postgres.stop,
        status=postgres.status,
        port_message=postgres.port_message,
    ),
    "redis": Service(
        name="redis",
        env="REDIS_URL",
        what="Redis server",
        schemes=("redis", "rediss"),
        default_port=6379,
        example="redis://:password@host:6379/0",
        port=redis.port,
        url=redis.redis_url,
        start=redis.start,
        stop=redis.stop,
        status=redis.status,
        port_message=redis.port_message,
    ),
}


# --- external servers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class External:
    service: Service
    url: str
    host: str | None  # None: a local Unix socket
    port: int

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}" if self.host is not None else "a local socket"


def external_url(service: Service) -> str | None:
    """``$DATABASE_URL`` / ``$REDIS_URL`` (or the content of the file named by ``..._FILE``), if set."""
    value = os.environ.get(service.env)
    if value is None:
        file_path = os.environ.get(f"{service.env}_FILE")
        if file_path:
            try:
                value = Path(file_path).read_text()
            except OSError as exc:
                raise ConfigError(
                    f"{service.env}_FILE={file_path!r} cannot be read ({exc.strerror}); "
                    "fix the path or unset it"
                ) from exc
    if value is None or not value.strip():
        return None
    return value.strip()


def parse_external(service: Service, url: str) -> External:
    fix = f"use a URL like {service.example}, or unset {service.env} to use the embedded server"
    parts = urlsplit(url)
    if parts.scheme not in service.schemes:
        schemes = " or ".join(f"{scheme}://" for scheme in service.schemes)
        raise ConfigError(f"{service.env} does not start with {schemes}; {fix}")
    try:
        port = parts.port or service.default_port
    except ValueError:
        raise ConfigError(f"{service.env} has an invalid port; {fix}") from None
    host = unquote(parts.hostname or "") or None
    if service.name == "postgres" and host is None:
        host = next(iter(parse_qs(parts.query).get("host", [])), None)
    if host is not None and host.startswith("/"):
        return External(service, url, None, port)
    if host is None:
        if service.name == "postgres":
            return External(service, url, None, port)
        raise ConfigError(f"{service.env} names no host; {fix}")
    return External(service, url, host, port)


def unreachable(external: External) -> str | None:
    """``None`` when a TCP connection to the external server opens, else why not."""
    if external.host is None:
        return None
    try:
        with socket.create_connection((external.host, external.port), timeout=REACH_TIMEOUT_S):
            return None
    except socket.gaierror:
        return f"cannot resolve host {external.host!r}"
    except TimeoutError:
        return f"no answer within {REACH_TIMEOUT_S:.0f} s"
    except OSError as exc:
        return (exc.strerror or str(exc)).lower()


def require_reachable(external: External) -> None:
    problem = unreachable(external)
    if problem is not None:
        service = external.service
        raise EmbeddedError(
            f"cannot reach the {service.what} at {external.where} from {service.env} ({problem}); "
            f"start that server, fix {service.env}, or unset it to use the embedded one"
        )


# --- commands ---------------------------------------------------------------------------------------------


def _plan(names: Sequence[str], *, check_reachable: bool) -> dict[str, External | None]:
    """Validate every input before anything starts: external URLs (and reachability) and ports."""
    plan: dict[str, External | None] = {}
    ports: dict[int, str] = {}
    for name in names:
        service = SERVICES[name]
        url = external_url(service)
        if url is not None:
            external = parse_external(service, url)
            if check_reachable:
                require_reachable(external)
            plan[name] = external
            continue
        port = service.port()
        if port in ports:
            raise ConfigError(
                f"{SERVICES[ports[port]].name} and {name} are both set to port {port}; "
                f"set {postgres.PORT_ENV} and {redis.PORT_ENV} to different ports"
            )
        ports[port] = name
        plan[name] = None
    return plan


def _require_free_ports(state: Path, embedded: Sequence[Service]) -> None:
    """Fail before starting anything when the port of a server that is not running yet is taken."""
    for service in embedded:
        port = service.port()
        if not service.status(state).alive and port_in_use(port):
            raise PortInUseError(service.port_message(port))


def cmd_start(state: Path, names: Sequence[str]) -> int:
    plan = _plan(names, check_reachable=True)
    embedded = [SERVICES[name] for name in names if plan[name] is None]
    for name in names:
        external = plan[name]
        if external is not None:
            print(f"{name}: using {external.service.env} ({external.where})")
    if not embedded:
        return EXIT_OK
    started: list[Service] = []
    with locked(state):
        _require_free_ports(state, embedded)
        try:
            for service in embedded:
                began = time.monotonic()
                current, new = service.start(state)
                where = f"{LOOPBACK}:{current.port}"
                if new:
                    started.append(service)
                    elapsed = time.monotonic() - began
                    print(f"{service.name}: started on {where} (pid {current.pid}) in {elapsed:.1f} s")
                else:
                    print(f"{service.name}: already running on {where} (pid {current.pid})")
        except BaseException:
            for service in reversed(started):  # nothing half-started
                with contextlib.suppress(Exception):
                    service.stop(state)
                    print(f"{service.name}: stopped again, since the start failed")
            raise
    return EXIT_OK


def cmd_stop(state: Path, names: Sequence[str]) -> int:
    if not state.is_dir():
        for name in names:
            print(f"{name}: not running")
        return EXIT_OK
    with locked(state):
        for name in reversed(names):  # Redis first: clients of the database may still be draining
            print(f"{name}: stopped" if SERVICES[name].stop(state) else f"{name}: not running")
    return EXIT_OK


def cmd_status(state: Path, names: Sequence[str]) -> int:
    healthy = True
    for name in names:
        service = SERVICES[name]
        url = external_url(service)
        if url is not None:
            external = parse_external(service, url)
            problem = unreachable(external)
            reach = "reachable" if problem is None else f"unreachable: {problem}"
            print(f"{name}: external ({service.env}, {external.where}, {reach})")
            healthy = healthy and problem is None
            continue
        current = service.status(state)
        print(current.describe())
        healthy = healthy and current.running
    return EXIT_OK if healthy else EXIT_NOT_RUNNING


def cmd_urls(state: Path, names: Sequence[str]) -> int:
    plan = _plan(names, check_reachable=False)
    for name in names:
        service = SERVICES[name]
        external = plan[name]
        url = external.url if external is not None else service.url(state)
        print(f"{service.env}={shlex.quote(url)}")
    return EXIT_OK


COMMANDS: dict[str, Callable[[Path, Sequence[str]], int]] = {
    "start": cmd_start,
    "stop": cmd_stop,
    "status": cmd_status,
    "urls": cmd_urls,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devservices.embedded",
        description="Run the embedded PostgreSQL (pgvector) and Redis used when DATABASE_URL / REDIS_URL "
        "are unset. State lives in $LLMOPS_STATE_DIR or <checkout>/.llmops.",
    )
    parser.add_argument("command", choices=sorted(COMMANDS))
    parser.add_argument("--only", choices=sorted(SERVICES), help="act on one service only")
    args = parser.parse_args(argv)
    names = [args.only] if args.only else list(SERVICES)
    state = state_dir()
    try:
        return COMMANDS[args.command](state, names)
    except EmbeddedError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
    except KeyboardInterrupt:
        print("error: interrupted; nothing was left half-started", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"error: {exc}; check the state folder {state}", file=sys.stderr)
    return EXIT_ERROR
