"""Shared fixtures: the three personas, API clients, and real worker / ASGI server processes.

Personas (after healthchecks' alice/bob/charlie): ``owner`` owns ``workspace``, ``member`` is an editor in
it, ``outsider`` belongs to another workspace.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from knox.models import AuthToken
from rest_framework.test import APIClient

from llmops.accounts.models import Role, User, Workspace
from tests.accounts.factories import MembershipFactory, UserFactory, WorkspaceFactory

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def workspace(db: Any) -> Workspace:
    return WorkspaceFactory(slug="acme", name="Acme")


@pytest.fixture
def owner(workspace: Workspace) -> User:
    return MembershipFactory(workspace=workspace, user=UserFactory(username="alice"), role=Role.OWNER).user


@pytest.fixture
def member(workspace: Workspace) -> User:
    return MembershipFactory(workspace=workspace, user=UserFactory(username="bob"), role=Role.EDITOR).user


@pytest.fixture
def outsider(db: Any) -> User:
    other = WorkspaceFactory(slug="other", name="Other")
    return MembershipFactory(workspace=other, user=UserFactory(username="charlie"), role=Role.OWNER).user


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def client_for(user: User) -> APIClient:
    """An API client authenticated with a fresh token of ``user`` (as a script would be)."""
    _, token = AuthToken.objects.create(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def _test_database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _child_env() -> dict[str, str]:
    """Environment for a child process that must use the test database and test settings."""
    return {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "platform")]),
        # Short heartbeats so takeover tests run in seconds.
        "LLMOPS_RUN_HEARTBEAT_SECONDS": "1",
        "LLMOPS_RUN_STALE_SECONDS": "3",
    }


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup: Any, django_db_blocker: Any) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker process (prefork) on every queue, connected to the test database."""
    from llmops.celery import app

    with django_db_blocker.unblock():
        env = _child_env()
    app.control.purge()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "llmops",
            "worker",
            "-Q",
            "runs,ingest,evals,default",
            "--concurrency",
            "1",
            "--loglevel",
            "WARNING",
            "--hostname",
            f"test-{os.getpid()}@%h",
        ],
        env=env,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5, destination=[f"test-{os.getpid()}@{socket.gethostname()}"]):
        if process.poll() is not None or time.monotonic() > deadline:
            _stop(process)
            pytest.fail("the Celery worker did not start")
    yield process
    _stop(process)


@pytest.fixture(scope="session")
def asgi_server(django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    """A real uvicorn ASGI server (Django + Channels) on a free port; yields its base URL."""
    with django_db_blocker.unblock():
        env = _child_env()
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "llmops.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--ws",
            "websockets-sansio",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                _stop(process)
                pytest.fail("the ASGI server did not start")
            time.sleep(0.1)
    yield f"127.0.0.1:{port}"
    _stop(process)
