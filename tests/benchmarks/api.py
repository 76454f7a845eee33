"""Public API benchmark: ``python -m tests.benchmarks.api [--seconds 30] [--concurrency 8] [--quick]``.

Publishes a start -> template -> end workflow as a deployment with an API key, starts the processes
``make run`` starts (uvicorn with the ASGI app, one Celery worker; dev settings, Redis db 14) and drives
``POST /v1/workflows/{slug}/run`` for ``--seconds`` with ``--concurrency`` clients, first in blocking and then in
streaming mode, with a compiled load generator (``hey``, else ``wrk``; a Python generator would steal the CPU
it measures). Every call is a real run stored in PostgreSQL: this workflow is made of fast nodes only, so it
runs instantly (``llmops.runs.execution.instant``): executed by the engine in memory, then its final ``Run``, three
``NodeRun`` rows and its numbered events are written in one transaction before the answer is sent.

Time to first event (TTFE: request sent -> first ``event:`` line) is measured by one extra Python client that
sends sequential streaming calls: alone (the latency of an idle server) and during the streaming load.
Then the blocking load again, alternating between a monthly budget on the API key (checked before every call
is admitted) and none, in segments of half ``--seconds`` (A B A B, so the host's drift cancels).
Last line: ``RESULT blocking_rps=<..> p95_ms=<..> ttfe_p50_ms=<..> budget_rps_ratio=<..> cpu_calibration_ms=<..>``
(blocking pass; idle TTFE; req/s with the budget over req/s without; how fast the VM was).
Targets: >= 150 req/s blocking on 2 cores, TTFE p50 <= 15 ms, budget_rps_ratio >= 0.95. ``--quick`` (a smoke check for the test suite):
2 s per mode with 2 clients, driven by a small Python generator where neither ``hey`` nor ``wrk`` is
installed (its figures are not comparable).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

import httpx

from tests.benchmarks._calibration import calibration_line, cpu_calibration_ms
from tests.benchmarks._runs_harness import (
    ROOT,
    chain_dsl,
    make_workspace,
    percentile,
    published,
    setup_django,
    start_worker,
    stop,
    wait_workers,
)

SLUG = "bench-api"


def _generator(quick: bool) -> str:
    for tool in ("hey", "wrk"):
        if shutil.which(tool):
            return tool
    if quick:
        return "python"
    raise SystemExit(
        "error: neither `hey` nor `wrk` is installed; install one (Debian: apt-get install -y hey) and rerun"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_web(port: int) -> subprocess.Popen[bytes]:
    """uvicorn as ``deploy/Procfile.dev`` starts it (``LLMOPS_WEB_WORKERS`` processes), on ``port``."""
    command = [
        sys.executable, "-m", "uvicorn", "llmops.asgi:application", "--app-dir", "platform", "--host", "127.0.0.1",
        "--port", str(port), "--ws", "websockets-sansio", "--log-level", "warning", "--no-access-log",
        "--workers", os.environ.get("LLMOPS_WEB_WORKERS", "2"),
    ]  # fmt: skip
    paths = [str(ROOT), str(ROOT / "platform"), *filter(None, [os.environ.get("PYTHONPATH")])]
    # As deploy/Procfile.dev starts it: the web process uses a connection pool.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "LLMOPS_DB_POOL": "true"}
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("error: the ASGI server did not start") from None
            time.sleep(0.1)


def _setup() -> tuple[Any, str]:
    from llmops.deployments import services
    from llmops.deployments.models import Deployment

    workspace = make_workspace("bench-api")
    workflow = published(workspace, "greet", chain_dsl(3))
    Deployment.objects.create(
        workspace=workspace, slug=SLUG, name=SLUG, workflow=workflow, max_concurrent_runs=0
    )
    created = services.api_key_create(
        workspace=workspace, user=None, name="bench", requests_per_minute=10_000_000
    )
    return workspace, created.token


def _budget_on_key(workspace: Any) -> Any:
    """A monthly budget on the benchmark's API key, far above what the run spends (every call is checked
    against it before it is admitted); inactive until :func:`_budget_switch` turns it on."""
    from llmops.deployments.models import ApiKey
    from llmops.usage.models import Budget

    key = ApiKey.objects.get(workspace=workspace)
    return Budget.objects.create(
        workspace=workspace, name="bench key cap", scope="api_key", scope_key=str(key.pk), period="month",
        cap=1_000_000_000, is_active=False,
    )  # fmt: skip


def _budget_switch(budget: Any, active: bool) -> None:
    """Turn the key's budget on or off and wait until every web process has reloaded its budgets."""
    from llmops.usage.budgets import CACHE_SECONDS

    budget.is_active = active
    budget.save(update_fields=["is_active"])
    time.sleep(CACHE_SECONDS + 0.5)


def _vacuum_runs() -> None:
    """Vacuum the run tables, so a previous run's thousands of deleted rows are not vacuumed by autovacuum
    during this run's measurement (it was: back-to-back runs differed by up to 40%)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) runs_run, runs_noderun, runs_runevent")


def _load(tool: str, url: str, token: str, body: str, seconds: int, concurrency: int) -> dict[str, float]:
    """Drive ``url`` and parse the generator's summary: req/s, p50/p95 ms, non-2xx count."""
    if tool == "python":
        return _python_load(url, token, body, seconds, concurrency)
    if tool == "hey":
        command = ["hey", "-z", f"{seconds}s", "-c", str(concurrency), "-m", "POST", "-T", "application/json",
                   "-H", f"Authorization: Bearer {token}", "-d", body, url]  # fmt: skip
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        rps = _number(r"Requests/sec:\s+([\d.]+)", out)
        p50 = _number(r"50%+ in ([\d.]+) secs", out) * 1000
        p95 = _number(r"95%+ in ([\d.]+) secs", out) * 1000
        codes = dict(re.findall(r"\[(\d+)\]\s+(\d+) responses", out))
        bad = sum(int(n) for code, n in codes.items() if not code.startswith("2"))
        bad += (
            len(re.findall(r"^\s+\[\d+\]\s+Get|error", out.split("Error distribution:")[-1]))
            if "Error distribution:" in out
            else 0
        )
        return {"rps": rps, "p50_ms": p50, "p95_ms": p95, "bad": bad}
    script = ROOT / ".llmops" / "bench-api.lua"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(
        f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n'
        f'wrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Bearer {token}"\n'
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("P50 %f\\nP95 %f\\n", latency:percentile(50), latency:percentile(95)))\nend\n'
    )
    command = ["wrk", "-t", "2", "-c", str(concurrency), "-d", f"{seconds}s", "-s", str(script), url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = _number(r"Requests/sec:\s+([\d.]+)", out)
    p50 = _number(r"P50 ([\d.]+)", out) / 1000
    p95 = _number(r"P95 ([\d.]+)", out) / 1000
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_ms": p50, "p95_ms": p95, "bad": float(non_2xx.group(1)) if non_2xx else 0.0}


def _number(pattern: str, text: str) -> float:
    """The number ``pattern``'s first group captures in a load generator's summary."""
    match = re.search(pattern, text)
    if match is None:
        raise RuntimeError(f"The load generator's summary has no {pattern!r}:\n{text}")
    return float(match.group(1))


def _python_load(url: str, token: str, body: str, seconds: int, concurrency: int) -> dict[str, float]:
    """``concurrency`` threads of sequential calls for ``seconds`` (quick mode only: it shares the CPU)."""
    latencies: list[float] = []
    bad = [0]
    stop_at = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def client() -> None:
        with httpx.Client(timeout=30) as http:
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                status = http.post(url, content=body, headers=headers).status_code
                latencies.append((time.perf_counter() - started) * 1000)
                bad[0] += status >= 300

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"rps": len(latencies) / seconds, "p50_ms": percentile(latencies, 0.5),
            "p95_ms": percentile(latencies, 0.95), "bad": float(bad[0])}  # fmt: skip


def _ttfe_probe(url: str, token: str, stop_at: float, samples: list[float]) -> None:
    """Sequential streaming calls; records ms from sending the request to the first ``event:`` line."""
    body = {"inputs": {"text": "x"}, "response_mode": "streaming"}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=30) as client:
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            with client.stream("POST", url, json=body, headers=headers) as response:
                first = None
                for line in response.iter_lines():
                    if first is None and line.startswith("event:"):
                        first = (time.perf_counter() - started) * 1000
                    if line == "event: run_finished":
                        break
            if first is not None:
                samples.append(first)
            time.sleep(0.01)


def _streaming_is_ordered(url: str, token: str) -> bool:
    body = {"inputs": {"text": "x"}, "response_mode": "streaming"}
    with httpx.Client(timeout=30) as client:
        text = client.post(url, json=body, headers={"Authorization": f"Bearer {token}"}).text
    types = re.findall(r"^event: (\w+)$", text, re.M)
    return types[0] == "run_started" and types[-1] == "run_finished" and types.count("node_finished") == 3


def main() -> None:
    """Both passes and the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="2 s per mode, 2 clients (a smoke check)")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.concurrency = 2, 2
    tool = _generator(args.quick)
    setup_django()
    from llmops.celery import app
    from llmops.runs.models import Run

    workspace, token = _setup()
    _vacuum_runs()
    app.control.purge()
    port = _free_port()
    url = f"http://127.0.0.1:{port}/v1/workflows/{SLUG}/run"
    web = start_web(port)
    worker = start_worker("bench-api")
    try:
        wait_workers(1)
        calibration = cpu_calibration_ms()
        assert _streaming_is_ordered(url, token), "streaming events out of order"
        # Warm up (first requests import and compile templates), then the idle TTFE probe.
        _load(tool, url, token, json.dumps({"inputs": {"text": "x"}}), 2, args.concurrency)
        idle: list[float] = []
        _ttfe_probe(url, token, time.monotonic() + min(5, args.seconds), idle)
        blocking = _load(
            tool, url, token, json.dumps({"inputs": {"text": "x"}}), args.seconds, args.concurrency
        )
        # The same blocking load with a budget on the key, alternated with none (A B A B: drift cancels).
        budget = _budget_on_key(workspace)
        segment = max(1, args.seconds // 2)
        plain_body = json.dumps({"inputs": {"text": "x"}})
        budgeted: list[dict[str, float]] = []
        unbudgeted: list[dict[str, float]] = []
        for _round in range(1 if args.quick else 2):
            unbudgeted.append(_load(tool, url, token, plain_body, segment, args.concurrency))
            _budget_switch(budget, True)
            budgeted.append(_load(tool, url, token, plain_body, segment, args.concurrency))
            _budget_switch(budget, False)
        budget_off_rps = statistics.fmean(r["rps"] for r in unbudgeted)
        budget_on_rps = statistics.fmean(r["rps"] for r in budgeted)
        loaded: list[float] = []
        probe = threading.Thread(
            target=_ttfe_probe, args=(url, token, time.monotonic() + args.seconds, loaded)
        )
        probe.start()
        body = json.dumps({"inputs": {"text": "x"}, "response_mode": "streaming"})
        streaming = _load(tool, url, token, body, args.seconds, args.concurrency)
        probe.join()
        calibration_after = cpu_calibration_ms()
        runs = Run.objects.filter(workspace=workspace)
        total, succeeded = runs.count(), runs.filter(status="succeeded").count()
    finally:
        stop(web)
        stop(worker)
        workspace.delete()
        _vacuum_runs()
    print(
        f"load generator: {tool}, {args.concurrency} clients, {args.seconds} s per mode, "
        f"{os.environ.get('LLMOPS_WEB_WORKERS', '2')} uvicorn process(es) + 1 Celery worker"
    )
    print(f"runs created: {total}, succeeded: {succeeded}")
    print(
        f"{'mode':<10} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'non-2xx':>8} {'TTFE p50':>9} {'TTFE p95':>9}"
    )
    print(f"{'blocking':<10} {blocking['rps']:>8.1f} {blocking['p50_ms']:>8.1f} {blocking['p95_ms']:>8.1f} "
          f"{blocking['bad']:>8.0f} {'-':>9} {'-':>9}")  # fmt: skip
    print(f"{'streaming':<10} {streaming['rps']:>8.1f} {streaming['p50_ms']:>8.1f} {streaming['p95_ms']:>8.1f} "
          f"{streaming['bad']:>8.0f} {percentile(loaded, 0.5):>9.1f} {percentile(loaded, 0.95):>9.1f}")  # fmt: skip
    print(f"{'idle TTFE':<10} {'':>8} {'':>8} {'':>8} {'':>8} {percentile(idle, 0.5):>9.1f} "
          f"{percentile(idle, 0.95):>9.1f}   ({len(idle)} sequential calls)")  # fmt: skip
    print(f"budget on the key, blocking (A/B alternated, {segment} s each): {budget_on_rps:.1f} req/s with, "
          f"{budget_off_rps:.1f} without ({budget_on_rps / budget_off_rps:.3f}x; "
          f"non-2xx {sum(r['bad'] for r in budgeted):.0f})")  # fmt: skip
    print(calibration_line(calibration, calibration_after))
    print(f"RESULT blocking_rps={blocking['rps']:.1f} p95_ms={blocking['p95_ms']:.1f} "
          f"ttfe_p50_ms={percentile(idle, 0.5):.1f} budget_rps_ratio={budget_on_rps / budget_off_rps:.3f} "
          f"cpu_calibration_ms={calibration:.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
