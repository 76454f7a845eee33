"""Benchmark: what the platform's model gateway adds on top of calling LangChain directly.

Run with ``python -m tests.benchmarks.gateway`` (after ``make services`` and ``python -m devservices.localmodels
ensure``). It starts a private llama.cpp server (Gemma 3 270M), creates a throw-away workspace and endpoint
in the development database, and alternates 20 streamed calls made directly with ``ChatOpenAI`` and 20
made through ``PlatformModelGateway`` (endpoint resolution, context-window check, limits, usage row). Same
prompt, temperature 0 and ``max_tokens`` on both, so both generate the same tokens. Each gateway call uses a
fresh gateway, so each pays the endpoint resolution (the worst case; ``LLMOPS_BENCH_REUSE_GATEWAY=1`` reuses
one gateway for all calls, as a run does, which resolves and pins the endpoint once).

Measured per call: TTFT (first text chunk) and total (until the last chunk, the one carrying usage, is in
the caller's hands). The gateway writes its usage row after handing over that chunk, so the row's INSERT is
not in "total"; it is reported on its own line (``ledger write``, p50 of the time from the last chunk to the
end of the stream). A sample whose call fails (llama-server drops idle keep-alive connections after 5 s,
which a loaded machine can hit) is measured again and counted. The last line is::

    RESULT gateway_ttft_overhead_ms=<p50 of paired differences> gateway_total_overhead_ms=<same>

Environment: ``LLMOPS_BENCH_CHAT_URL`` uses an already running server instead of starting one;
``LLMOPS_BENCH_CALLS`` (default 20) changes the number of calls per side; ``--quick`` makes it 3 (a smoke
check for the test suite).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from tests.benchmarks._calibration import calibration_line, cpu_calibration_ms

ROOT = Path(__file__).resolve().parents[2]
MAX_TOKENS = 4
PROMPT = "List three colours of the rainbow:"


def _setup_django() -> None:
    for path in (str(ROOT / "platform"), str(ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmops.settings")
    import django

    django.setup()


async def _timed(stream: AsyncIterator[Any], text_of: Callable[[Any], str]) -> tuple[float, float, float]:
    """(ttft, last chunk, end of stream) in ms of one stream, timed from before the request is sent."""
    started = time.perf_counter()
    ttft = last = 0.0
    async for chunk in stream:
        now = (time.perf_counter() - started) * 1000
        if text_of(chunk) and not ttft:
            ttft = now
        last = now
    return ttft, last, (time.perf_counter() - started) * 1000


async def _sample(call: Callable[[], Awaitable[tuple[float, float, float]]], failures: list[str]) -> Any:
    for _ in range(3):
        try:
            return await call()
        except Exception as exc:
            failures.append(type(exc).__name__)
    raise RuntimeError(f"three calls in a row failed: {failures[-3:]}")


def _p50(values: list[float]) -> float:
    return statistics.median(values)


async def _bench(url: str, calls: int, reuse: bool) -> dict[str, list[float]]:
    from asgiref.sync import sync_to_async
    from langchain_openai import ChatOpenAI

    from devservices.localmodels import CHAT_MODEL
    from llmops.accounts.models import Workspace
    from llmops.providers.gateway import PlatformModelGateway
    from llmops.providers.models import ModelEndpoint
    from llmops.usage.models import UsageRecord
    from workflows import CallContext, ChatMessage, ChatRequest

    slug = f"bench-gateway-{uuid.uuid4().hex[:8]}"
    workspace = await Workspace.objects.acreate(slug=slug, name="Gateway benchmark (temporary)")
    try:
        draft = {
            "provider_kind": "llamacpp",
            "model": CHAT_MODEL,
            "base_url": url,
            "context_window": 4096,
            "prices": {"input": 0.1, "output": 0.2},
            "max_retries": 0,
        }
        await ModelEndpoint.objects.acreate(workspace=workspace, slug="gemma", name="Gemma", draft=draft)
        direct = ChatOpenAI(
            model=CHAT_MODEL, base_url=url, api_key="not-needed", max_retries=0, stream_usage=True
        )
        messages = (ChatMessage(role="user", content=PROMPT),)
        request = ChatRequest(
            model="gemma",
            messages=messages,
            context=CallContext(run_id="benchmark", node_id="llm"),
            parameters={"max_tokens": MAX_TOKENS, "temperature": 0},
        )

        def direct_call() -> Awaitable[tuple[float, float, float]]:
            stream = direct.astream(PROMPT, max_tokens=MAX_TOKENS, temperature=0)
            return _timed(stream, lambda chunk: str(chunk.content))

        run_gateway = PlatformModelGateway(workspace=workspace, source="run", run_id="benchmark")

        def gateway_call() -> Awaitable[tuple[float, float, float]]:
            # By default a fresh gateway per call (as one API request gets), so every call resolves the
            # endpoint; with LLMOPS_BENCH_REUSE_GATEWAY=1 one gateway serves all calls, as in a run.
            gateway = run_gateway if reuse else PlatformModelGateway(workspace=workspace, source="playground")
            return _timed(gateway.stream(request), lambda chunk: chunk.text)

        failures: list[str] = []
        for _ in range(3):  # warm-up: connection pools, client caches, llama.cpp's prompt cache
            await _sample(direct_call, failures)
            await _sample(gateway_call, failures)
        keys = ("d_ttft", "g_ttft", "d_total", "g_total", "g_write")
        results: dict[str, list[float]] = {key: [] for key in keys}
        order = [(direct_call, "d"), (gateway_call, "g")]
        for index in range(calls):
            for call, side in order if index % 2 == 0 else order[::-1]:
                ttft, last, end = await _sample(call, failures)
                results[f"{side}_ttft"].append(ttft)
                results[f"{side}_total"].append(last)
                if side == "g":
                    results["g_write"].append(end - last)
        rows = await UsageRecord.objects.filter(workspace=workspace, status="ok").acount()
        results["usage_rows"] = [float(rows)]
        results["failures"] = [float(len(failures))]
        return results
    finally:
        await sync_to_async(_cleanup)(workspace.pk)


def _cleanup(workspace_id: int) -> None:
    from llmops.accounts.models import Workspace
    from llmops.usage.models import UsageRecord

    UsageRecord.objects.filter(workspace_id=workspace_id).delete()
    Workspace.objects.filter(pk=workspace_id).delete()  # cascades to the endpoint


def _report(results: dict[str, list[float]], calls: int, calibration: float) -> None:
    print(
        f"{'call':>4}  {'direct ttft':>11}  {'gateway ttft':>12}  {'direct total':>12}  {'gateway total':>13}"
    )
    for i in range(calls):
        print(
            f"{i + 1:>4}  {results['d_ttft'][i]:>11.1f}  {results['g_ttft'][i]:>12.1f}  "
            f"{results['d_total'][i]:>12.1f}  {results['g_total'][i]:>13.1f}"
        )
    print(
        f"{'p50':>4}  {_p50(results['d_ttft']):>11.1f}  {_p50(results['g_ttft']):>12.1f}  "
        f"{_p50(results['d_total']):>12.1f}  {_p50(results['g_total']):>13.1f}"
    )
    ttft = _p50([g - d for g, d in zip(results["g_ttft"], results["d_ttft"], strict=True)])
    total = _p50([g - d for g, d in zip(results["g_total"], results["d_total"], strict=True)])
    print(
        f"usage rows written by the gateway: {int(results['usage_rows'][0])} (3 warm-up + {calls} measured)"
    )
    print(f"ledger write after the last chunk (gateway, p50): {_p50(results['g_write']):.2f} ms")
    print(f"failed calls measured again: {int(results['failures'][0])}")
    print(calibration_line(calibration, cpu_calibration_ms()))
    print(
        f"RESULT gateway_ttft_overhead_ms={ttft:.2f} gateway_total_overhead_ms={total:.2f} "
        f"cpu_calibration_ms={calibration:.0f}"
    )


def main() -> None:
    """Start the model server (unless given), run the benchmark, print the table and the RESULT line."""
    _setup_django()
    import logging

    from devservices.localmodels import start_chat_server

    for name in ("httpx", "httpx2"):  # one INFO line per request would only add noise to both sides
        logging.getLogger(name).setLevel(logging.WARNING)

    calls = 3 if "--quick" in sys.argv[1:] else int(os.environ.get("LLMOPS_BENCH_CALLS", "20"))
    url = os.environ.get("LLMOPS_BENCH_CHAT_URL", "")
    server = None if url else start_chat_server()
    calibration = cpu_calibration_ms()
    try:
        reuse = os.environ.get("LLMOPS_BENCH_REUSE_GATEWAY", "") == "1"
        results = asyncio.run(_bench(url or server.url, calls, reuse))  # type: ignore[union-attr]
    finally:
        if server is not None:
            server.stop()
    _report(results, calls, calibration)


if __name__ == "__main__":
    main()
