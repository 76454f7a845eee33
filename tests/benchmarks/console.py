"""Benchmark: the console in headless Chromium: how fast a 200-node workflow opens on the canvas, how smooth
panning it is, and how much JavaScript the first page loads.

Run with ``python -m tests.benchmarks.console`` after ``make console`` (the production build) and ``make
services``; it needs the system Chromium (``apt-get install chromium`` or ``$LLMOPS_CHROMIUM``). It creates a
workspace ``bench-console`` with a user and a 200-node workflow without positions (start, 10 branches of 19
template nodes, end: laid out by dagre in the browser), starts uvicorn as ``make run`` does, signs in and:

1. ``canvas_ready_ms``: from navigation start of the editor's URL (a cold page load, as after a reload) until
   every node of the visible graph is drawn and the first engine check has answered (problems pinned), median
   of 5 loads;
2. panning: drags the canvas for about 2 seconds and records every animation frame's duration (p50 / p95 / max);
3. ``initial_js_kb``: the gzipped size of the JavaScript the sign-in page loads (the first page);
4. ``usage_chart_ms``: the usage page over 90 days, daily, grouped by model with 20 models (ledger rows every day
   of the range, rolled up): from navigation start (a cold page load) until the first chart (cost) has drawn its
   20 series' lines, median of 5 loads; ``usage_all_charts_ms``: until all seven (cost, tokens, requests,
   errors, error rate, latency, TTFT) have (they are drawn one after another);
5. the results table of a 2,000-item evaluation run (items made in the database, two evaluators' scores and a
   200-character output each): ``results_table_ms`` from navigation start (a cold page load) until the table
   holds every item and its first rows are drawn, median of 5 loads (the items come in one request: its JSON
   size is printed); then scrolling it top to bottom, a fixed step each animation frame, recording every frame's
   duration (``results_scroll_p95_ms``, ``results_frames_over_50ms``) and the most rows ever in the page (the
   virtualiser keeps it to those in view).

Targets (issue 15): interactive in under 1.5 s, panning frames under 33 ms, initial JS at most 300 KB gzipped;
(issue 16): the usage page's 90-day chart of 20 series drawn in under 1 s; the 2,000-item results table scrolls
smoothly (virtualised rows).
``--quick``: 20 nodes, 1 load, a short pan, usage rows on 7 of the 90 days, a 100-item evaluation run. Last line
``RESULT canvas_ready_ms=<..> pan_p95_ms=<..> initial_js_kb=<..> usage_chart_ms=<..> results_table_ms=<..> ...``.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import os
import statistics
from pathlib import Path
from typing import Any

from tests.benchmarks._calibration import calibration_line, cpu_calibration_ms
from tests.benchmarks._runs_harness import ROOT, make_workspace, percentile, setup_django, stop
from tests.benchmarks.api import _free_port, start_web
from tests.support.chromium import FLAGS, INSTALL_HINT, chromium_path

PASSWORD = "bench-console-Pa55"


def wide_dsl(branches: int, total: int) -> dict[str, Any]:
    """start -> ``branches`` chains of template nodes -> end, ``total`` nodes in all (no positions)."""
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "start"}]
    edges: list[dict[str, str]] = []
    per, extra = divmod(total - 2, branches)
    for b in range(branches):
        ids = [f"b{b}_{i}" for i in range(per + (1 if b < extra else 0))]
        for index, node_id in enumerate(ids):
            source = "{{ start.text }}" if index == 0 else f"{{{{ {ids[index - 1]}.output }}}}!"
            nodes.append({"id": node_id, "type": "template", "config": {"template": source}})
        edges += [{"source": a, "target": c} for a, c in itertools.pairwise(["start", *ids, "end"])]
    last = f"b0_{per - (0 if extra else 1)}"  # the first branch's last node
    nodes.append({"id": "end", "type": "end", "config": {"outputs": {"out": f"{{{{ {last}.output }}}}"}}})
    return {"inputs": [{"name": "text", "type": "text"}], "nodes": nodes, "edges": edges}


def _teardown() -> None:
    """Delete the benchmark's workspace and user (the suite runs it against the test database)."""
    from llmops.accounts.models import User, Workspace
    from llmops.evaluations.models import EvaluationRun

    EvaluationRun.objects.filter(workspace__slug="bench-console").delete()  # its targets are RESTRICTed
    Workspace.objects.filter(slug="bench-console").delete()
    User.objects.filter(username="bench-console").delete()


def _setup(nodes: int) -> int:
    from llmops.accounts.models import Membership, Role, User
    from llmops.studio.models import Workflow

    workspace = make_workspace("bench-console")
    User.objects.filter(username="bench-console").delete()
    user = User.objects.create_user("bench-console", password=PASSWORD)
    Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)
    branches = 10 if nodes >= 100 else 2
    dsl = wide_dsl(branches, nodes)
    Workflow.objects.create(workspace=workspace, name="Wide", slug="wide", draft=dsl)
    return len(dsl["nodes"])


USAGE_SERIES = 20


def _setup_usage(days: int) -> None:
    """One ledger row per model (``USAGE_SERIES`` of them) and day over the last ``days`` days, rolled up."""
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from llmops.accounts.models import Workspace
    from llmops.usage.models import UsageRecord, UsageSource
    from llmops.usage.rollups import usage_rollup

    workspace = Workspace.objects.get(slug="bench-console")
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    for day in range(days):
        created = UsageRecord.objects.bulk_create(
            UsageRecord(
                workspace=workspace, endpoint_slug="gpt", model_name=f"model-{s:02d}", provider_kind="openai",
                source=UsageSource.API, prompt_tokens=100 + s * day, completion_tokens=20 + s,
                latency_ms=200 + 15 * s + day, ttft_ms=80 + s, cost=Decimal(s + 1) / 1000, currency="USD",
            )
            for s in range(USAGE_SERIES)
        )  # fmt: skip
        # created_at is set on insert (auto_now_add): moved to its day after.
        UsageRecord.objects.filter(pk__in=[r.pk for r in created]).update(
            created_at=today - timedelta(days=day * 90 // days)
        )
    usage_rollup()


def _setup_results(count: int) -> int:
    """A completed evaluation run of ``count`` scored items (made in the database, no model run); its id."""
    from llmops.accounts.models import Workspace
    from llmops.evaluations.models import EvaluationItem, EvaluationRun, ItemStatus, RunStatus
    from tests.evaluations.factories import published_dataset
    from tests.studio.factories import published_workflow

    workspace = Workspace.objects.get(slug="bench-console")
    dataset = published_dataset(workspace=workspace, slug="bench-results")
    flow = published_workflow(workspace=workspace, slug="bench-results")
    evaluators = [
        {"name": "exact", "kind": "equals", "config": {}},
        {"name": "judge", "kind": "llm_judge", "config": {}},
    ]
    run = EvaluationRun.objects.create(
        workspace=workspace, name="bench results", dataset=dataset, dataset_version=dataset.versions.get(),
        workflow=flow, workflow_version=flow.versions.get(), status=RunStatus.COMPLETED, total=count,
        evaluators=evaluators,
    )  # fmt: skip

    def scores(n: int) -> list[dict[str, Any]]:
        judged = (n * 37 % 100) / 100
        return [
            {"evaluator": "exact", "kind": "equals", "score": float(n % 3 > 0), "passed": n % 3 > 0, "error": None},
            {"evaluator": "judge", "kind": "llm_judge", "score": judged, "passed": judged >= 0.5,
             "reason": "The answer addresses the question. " * 3, "error": None},
        ]  # fmt: skip

    EvaluationItem.objects.bulk_create(
        (
            EvaluationItem(
                run=run, item_id=f"case-{n}", position=n, inputs={"question": f"Question {n}: " + "lorem ipsum " * 8},
                expected=f"Answer {n}", output=f"Answer {n}. " + "The model's longer explanation. " * 6,
                status=ItemStatus.SCORED, scores=scores(n), score=(float(n % 3 > 0) + (n * 37 % 100) / 100) / 2,
                passed=n % 3 > 0, latency_ms=300 + n % 200,
            )
            for n in range(1, count + 1)
        ),
        batch_size=500,
    )  # fmt: skip
    return int(run.pk)


USAGE_FIRST = """(series) =>
  document.querySelectorAll('[data-testid=chart-cost] path.recharts-line-curve').length >= series"""
USAGE_READY = """(series) => {
  const charts = document.querySelectorAll('[data-testid^=chart-]');
  return charts.length >= 7 && [...charts].every(
    (chart) => chart.querySelectorAll('path.recharts-line-curve').length >= series);
}"""


RESULTS_READY = """(count) => {
  const table = document.querySelector('[data-testid=results-table]');
  return table !== null && table.dataset.rows === String(count)
    && table.querySelector('[data-testid=result-row]') !== null;
}"""
# Scroll the results table top to bottom by ``step`` pixels each animation frame; every frame's duration, the most
# rows the page held at once, and whether the last item was drawn at the bottom.
RESULTS_SCROLL = """(step) => new Promise((resolve) => {
  const box = document.querySelector('[data-testid=results-scroll]');
  const frames = []; let last = performance.now(); let most = 0;
  const tick = (now) => {
    frames.push(now - last); last = now;
    most = Math.max(most, box.querySelectorAll('[data-testid=result-row]').length);
    if (box.scrollTop + box.clientHeight >= box.scrollHeight - 1) {
      const rows = box.querySelectorAll('[data-testid=result-row]');
      resolve({ frames: frames.slice(1), most, last: rows[rows.length - 1]?.dataset.item ?? null });
      return;
    }
    box.scrollTop += step;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})"""
RESULTS_STEP_PX = 300
# The same page's frames while nothing happens: the floor the scrolled frames are read against on a loaded host.
IDLE_FRAMES = """(count) => new Promise((resolve) => {
  const frames = []; let last = performance.now();
  const tick = (now) => { frames.push(now - last); last = now;
    if (frames.length <= count) requestAnimationFrame(tick); else resolve(frames.slice(1)); };
  requestAnimationFrame(tick);
})"""


def _chromium() -> str:
    path = chromium_path()
    if not path:
        raise SystemExit(f"error: {INSTALL_HINT}")
    return path


READY = """(count) => document.querySelectorAll('.react-flow__node').length > 0
  && document.querySelector('[data-testid=save-state]') !== null
  && window.__checked === true"""


def _keep_script(scripts: dict[str, bytes], response: Any) -> None:
    if response.status == 200 and response.url.split("?")[0].endswith(".js"):
        scripts[response.url] = response.body()


def _keep_items_size(sizes: list[int], response: Any) -> None:
    if response.status == 200 and "/items/" in response.url:
        sizes.append(len(response.body()))


def _measure_results(page: Any, base: str, loads: int, run_id: int, count: int) -> dict[str, Any]:
    """The results table: cold loads until drawn, then a scroll top to bottom frame by frame."""
    sizes: list[int] = []
    page.on("response", lambda r: _keep_items_size(sizes, r))
    loaded: list[float] = []
    for _ in range(loads):
        page.goto(f"{base}/w/bench-console/evaluations/{run_id}")
        page.wait_for_function(RESULTS_READY, arg=count, timeout=60_000, polling="raf")
        loaded.append(page.evaluate("performance.now()"))
    drawn = page.locator("[data-testid=result-row]").count()
    idle = page.evaluate(IDLE_FRAMES, 120)
    scroll = page.evaluate(RESULTS_SCROLL, RESULTS_STEP_PX)
    assert scroll["last"] == f"case-{count}", f"the last row drawn at the bottom is {scroll['last']}"
    return {"loaded": loaded, "drawn": drawn, "json_kb": max(sizes, default=0) / 1024, "idle": idle, **scroll}


def _measure(
    base: str, loads: int, pan_ms: int, results: tuple[int, int]
) -> tuple[list[float], list[float], float, list[float], list[float], dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
        page = context.new_page()
        scripts: dict[str, bytes] = {}
        page.on("response", lambda r: _keep_script(scripts, r))
        page.goto(f"{base}/sign-in")
        page.get_by_label("Username").wait_for()
        initial_kb = sum(len(gzip.compress(body)) for body in scripts.values()) / 1024
        page.get_by_label("Username").fill("bench-console")
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/sign-in" not in url)
        ready: list[float] = []
        for _ in range(loads):
            page.goto(f"{base}/w/bench-console/workflows/wide")
            page.wait_for_function(READY, timeout=60_000, polling="raf")
            ready.append(page.evaluate("performance.now()"))
        # Panning: drag the pane while recording every animation frame's duration.
        page.evaluate("""() => { window.__frames = []; let last = performance.now();
          const tick = (now) => { window.__frames.push(now - last); last = now;
            if (!window.__stopFrames) requestAnimationFrame(tick); };
          requestAnimationFrame(tick); }""")
        box = page.locator(".react-flow__pane").bounding_box()
        assert box is not None, "the canvas is not on the page"
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        steps = max(10, pan_ms // 16)
        for i in range(steps):
            page.mouse.move(x + 300 * ((i % 40) / 40 - 0.5), y + 150 * ((i % 20) / 20 - 0.5))
        page.mouse.up()
        frames = page.evaluate("() => { window.__stopFrames = true; return window.__frames.slice(2); }")
        usage: list[float] = []
        usage_all: list[float] = []
        for _ in range(loads):
            page.goto(f"{base}/w/bench-console/usage?range=90d&group_by=model")
            page.wait_for_function(USAGE_FIRST, arg=USAGE_SERIES, timeout=60_000, polling="raf")
            usage.append(page.evaluate("performance.now()"))
            page.wait_for_function(USAGE_READY, arg=USAGE_SERIES, timeout=60_000, polling="raf")
            usage_all.append(page.evaluate("performance.now()"))
        table = _measure_results(page, base, loads, *results)
        browser.close()
    return ready, frames, initial_kb, usage, usage_all, table


def main() -> None:
    """Set up, measure and print the table and the RESULT line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="20 nodes, one load, a short pan (a smoke check)"
    )
    args = parser.parse_args()
    # The build the server will serve, as the settings read it.
    dist = Path(os.environ.get("LLMOPS_CONSOLE_DIST") or ROOT / "frontend" / "dist")
    if not (dist / "index.html").exists():
        raise SystemExit("error: the console is not built: run make console")
    setup_django()
    count = _setup(20 if args.quick else 200)
    _setup_usage(7 if args.quick else 90)
    items = 100 if args.quick else 2000
    run_id = _setup_results(items)
    calibration = cpu_calibration_ms()
    port = _free_port()
    web = start_web(port)
    try:
        ready, frames, initial_kb, usage, usage_all, table = _measure(
            f"http://127.0.0.1:{port}", 1 if args.quick else 5, 300 if args.quick else 2000, (run_id, items)
        )
    finally:
        stop(web)
        _teardown()
    print("| measurement | value |")
    print("| --- | --- |")
    print(f"| canvas ready, {count}-node workflow (cold load to drawn and checked), median of {len(ready)} | "
          f"{statistics.median(ready):.0f} ms (all: {', '.join(f'{r:.0f}' for r in ready)}) |")  # fmt: skip
    print(f"| panning frames ({len(frames)}) p50 / p95 / max | {percentile(frames, 0.5):.1f} / "
          f"{percentile(frames, 0.95):.1f} / {max(frames):.1f} ms |")  # fmt: skip
    print(f"| initial JavaScript of the first page (gzipped) | {initial_kb:.0f} KB |")
    print(f"| usage page: 90-day daily chart with {USAGE_SERIES} series rendered (cold load to the first chart "
          f"drawn), median of {len(usage)} | {statistics.median(usage):.0f} ms (all: "
          f"{', '.join(f'{u:.0f}' for u in usage)}) |")  # fmt: skip
    print(f"| usage page: all seven charts drawn, median of {len(usage_all)} | "
          f"{statistics.median(usage_all):.0f} ms |")  # fmt: skip
    loaded, scrolled = table["loaded"], table["frames"]
    slow = sum(1 for f in scrolled if f > 50)
    print(f"| results table, {items}-item run: cold load to the table drawn (one items request of "
          f"{table['json_kb']:.0f} KB), median of {len(loaded)} | {statistics.median(loaded):.0f} ms (all: "
          f"{', '.join(f'{v:.0f}' for v in loaded)}) |")  # fmt: skip
    print(f"| results table scrolled top to bottom ({RESULTS_STEP_PX} px a frame, {len(scrolled)} frames) "
          f"p50 / p95 / max | {percentile(scrolled, 0.5):.1f} / {percentile(scrolled, 0.95):.1f} / "
          f"{max(scrolled):.1f} ms, {slow} frames over 50 ms |")  # fmt: skip
    idle = table["idle"]
    print(f"| the same page idle ({len(idle)} frames, the floor on this host now) p50 / p95 / max | "
          f"{percentile(idle, 0.5):.1f} / {percentile(idle, 0.95):.1f} / {max(idle):.1f} ms |")  # fmt: skip
    print(f"| results table rows in the page (of {items}): after load / most while scrolling | "
          f"{table['drawn']} / {table['most']} |")  # fmt: skip
    print(calibration_line(calibration, cpu_calibration_ms()))
    print(
        f"RESULT canvas_ready_ms={statistics.median(ready):.0f} pan_p95_ms={percentile(frames, 0.95):.1f} "
        f"initial_js_kb={initial_kb:.0f} usage_chart_ms={statistics.median(usage):.0f} "
        f"usage_all_charts_ms={statistics.median(usage_all):.0f} "
        f"results_table_ms={statistics.median(loaded):.0f} results_scroll_p95_ms={percentile(scrolled, 0.95):.1f} "
        f"results_frames_over_50ms={slow} results_rows_drawn={table['most']} "
        f"cpu_calibration_ms={calibration:.0f}"
    )


if __name__ == "__main__":
    main()
