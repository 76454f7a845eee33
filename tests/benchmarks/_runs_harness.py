"""Shared harness of the runs and chaos benchmarks: isolated Redis queue, real worker processes, DSL.

The benchmarks use the development database (the embedded server, or ``DATABASE_URL``) with a throwaway
workspace, and Redis database 14 so a running ``make run`` worker never takes their tasks.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BENCH_ENV = {
    "LLMOPS_RUN_HEARTBEAT_SECONDS": "1",
    "LLMOPS_RUN_STALE_SECONDS": "3",
    "LLMOPS_RUN_REQUEUE_SECONDS": "30",
    "LLMOPS_LOG_LEVEL": "warning",
}


def setup_django() -> None:
    """Configure Django for the benchmark process (Redis db 14, short heartbeats)."""
    sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
    os.environ.update(BENCH_ENV)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmops.settings")
    from devservices.embedded import default_redis_url

    base = os.environ.get("REDIS_URL") or default_redis_url()
    os.environ["REDIS_URL"] = base.rsplit("/", 1)[0] + "/14"
    import django

    django.setup()


def chain_dsl(length: int) -> dict[str, Any]:
    """start -> template x (length - 2) -> end."""
    ids = [f"t{i}" for i in range(1, length - 1)]
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "start"}]
    previous = "start"
    for node_id in ids:
        source = "{{ start.text }}" if previous == "start" else f"{{{{ {previous}.output }}}}!"
        nodes.append({"id": node_id, "type": "template", "config": {"template": source}})
        previous = node_id
    nodes.append({"id": "end", "type": "end", "config": {"outputs": {"out": f"{{{{ {previous}.output }}}}"}}})
    edges = [{"source": a, "target": b} for a, b in itertools.pairwise(["start", *ids, "end"])]
    return {"inputs": [{"name": "text", "type": "text"}], "nodes": nodes, "edges": edges}


def start_worker(name: str, concurrency: int = 1) -> subprocess.Popen[bytes]:
    """A real Celery worker process group on the ``runs`` queue."""
    command = [
        sys.executable, "-m", "celery", "-A", "llmops", "worker", "-Q", "runs", "--concurrency", str(concurrency),
        "--loglevel", "ERROR", "--hostname", f"{name}@%h", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "platform")])}
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)


def wait_workers(count: int, timeout: float = 60.0) -> None:
    """Block until ``count`` workers answer a ping."""
    from llmops.celery import app

    deadline = time.monotonic() + timeout
    while len(app.control.ping(timeout=0.5) or []) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"error: {count} worker(s) did not start within {timeout:.0f} s")


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Signal the worker's whole process group and reap it."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def make_workspace(slug: str) -> Any:
    """A fresh benchmark workspace (an earlier one of the same slug is deleted)."""
    from llmops.accounts.models import Workspace

    Workspace.objects.filter(slug=slug).delete()
    return Workspace.objects.create(name=slug, slug=slug)


def published(workspace: Any, slug: str, dsl: dict[str, Any]) -> Any:
    """A workflow with ``dsl`` published as v1."""
    from llmops.core import versioning
    from llmops.studio.models import Workflow

    workflow = Workflow.objects.create(workspace=workspace, name=slug, slug=slug, draft=dsl)
    versioning.version_publish(resource=workflow, user=None)
    return workflow


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]
