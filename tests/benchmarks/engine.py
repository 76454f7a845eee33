"""Engine overhead benchmark (not a timed test): ``python -m tests.benchmarks.engine [--quick]``.

Three shapes, all with template nodes and the in-memory RunStore (which JSON-encodes every checkpoint, as a
database adapter would): a 200-node chain, a 50-branch fan-out/fan-in, and an iteration over 1,000 items.
Events are consumed through the public async iterator, as the platform does. Prints a table and a final
``RESULT per_node_us=<p50> fanout_ms=<p50> iteration_items_per_s=<median>`` line. Target: per-node <= 300 us.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from tests.benchmarks._calibration import calibration_line, cpu_calibration_ms
from workflows import Executor, Workflow
from workflows.testing import InMemoryRunStore


def chain_workflow(length: int) -> Workflow:
    """start -> t1 -> ... -> t<length-2> -> end: ``length`` nodes in all."""
    ids = [f"t{i}" for i in range(1, length - 1)]
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "start"}]
    previous = "start"
    for node_id in ids:
        source = "{{ start.text }}" if previous == "start" else f"{{{{ {previous}.output }}}}"
        nodes.append({"id": node_id, "type": "template", "config": {"template": source}})
        previous = node_id
    nodes.append({"id": "end", "type": "end", "config": {"outputs": {"out": f"{previous}.output"}}})
    order = ["start", *ids, "end"]
    edges = [{"source": a, "target": b} for a, b in itertools.pairwise(order)]
    return Workflow.model_validate({"inputs": [{"name": "text"}], "nodes": nodes, "edges": edges})


def fanout_workflow(width: int) -> Workflow:
    """start -> <width> parallel templates -> aggregator -> end."""
    branches = [f"b{i}" for i in range(width)]
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "start"}]
    nodes += [
        {"id": b, "type": "template", "config": {"template": f"{b} {{{{ start.text }}}}"}} for b in branches
    ]
    nodes.append(
        {
            "id": "join",
            "type": "template",
            "config": {"template": " ".join(f"{{{{ {b}.output }}}}" for b in branches)},
        }
    )
    nodes.append({"id": "end", "type": "end", "config": {"outputs": {"out": "join.output"}}})
    edges = [{"source": "start", "target": b} for b in branches] + [
        {"source": b, "target": "join"} for b in branches
    ]
    edges.append({"source": "join", "target": "end"})
    return Workflow.model_validate({"inputs": [{"name": "text"}], "nodes": nodes, "edges": edges})


def iteration_workflow(parallel: bool) -> Workflow:
    """start -> iteration(body: one template per item) -> end."""
    config = {
        "items": "start.items",
        "output_selector": "body.output",
        "parallel": parallel,
        "max_parallel": 10,
    }
    nodes = [
        {"id": "start", "type": "start"},
        {"id": "each", "type": "iteration", "config": config},
        {"id": "body", "type": "template", "parent": "each", "config": {"template": "item {{ each.item }}"}},
        {"id": "end", "type": "end", "config": {"outputs": {"out": "each.output"}}},
    ]
    edges = [{"source": "start", "target": "each"}, {"source": "each", "target": "end"}]
    return Workflow.model_validate(
        {"inputs": [{"name": "items", "type": "json"}], "nodes": nodes, "edges": edges}
    )


async def timed_runs(workflow: Workflow, inputs: dict[str, Any], runs: int) -> list[float]:
    """Wall seconds of each run, consuming every event; one warm-up run first."""
    executor = Executor(workflow, store=InMemoryRunStore())
    durations = []
    for i in range(runs + 1):
        began = time.perf_counter()
        async for event in executor.run(f"bench-{i}", inputs):
            if event.type == "run_finished" and event.status != "succeeded":
                raise SystemExit(f"benchmark run failed: {event.error}")
        if i:
            durations.append(time.perf_counter() - began)
    return durations


def _row(name: str, value: str, detail: str) -> str:
    return f"| {name:<36} | {value:>14} | {detail:<40} |"


async def main(quick: bool) -> int:
    """Run the three shapes and print the table and the RESULT line."""
    runs = 5 if quick else 30
    calibration = cpu_calibration_ms()
    chain = await timed_runs(chain_workflow(200), {"text": "hello"}, runs)
    per_node_us = statistics.median(chain) / 200 * 1e6
    fanout = await timed_runs(fanout_workflow(50), {"text": "hello"}, runs)
    fanout_ms = statistics.median(fanout) * 1000
    items = list(range(1000))
    sequential = await timed_runs(iteration_workflow(False), {"items": items}, max(runs // 5, 2))
    parallel = await timed_runs(iteration_workflow(True), {"items": items}, max(runs // 5, 2))
    items_per_s = 1000 / statistics.median(sequential)
    parallel_per_s = 1000 / statistics.median(parallel)
    p90: Callable[[list[float]], float] = lambda xs: sorted(xs)[int(len(xs) * 0.9) - 1 if len(xs) > 1 else 0]  # noqa: E731
    print(_row("shape", "result", "detail"))
    print(_row("-" * 36, "-" * 14, "-" * 40))
    print(
        _row(
            "200-node template chain",
            f"{per_node_us:.0f} us/node",
            f"p50 run {statistics.median(chain) * 1000:.1f} ms, p90 {p90(chain) * 1000:.1f} ms",
        )
    )
    print(
        _row(
            "50-branch fan-out/fan-in (53 nodes)",
            f"{fanout_ms:.1f} ms",
            f"p50 run; p90 {p90(fanout) * 1000:.1f} ms",
        )
    )
    print(
        _row(
            "iteration, 1,000 items, sequential",
            f"{items_per_s:.0f} items/s",
            f"p50 run {statistics.median(sequential) * 1000:.0f} ms",
        )
    )
    print(
        _row(
            "iteration, 1,000 items, parallel 10",
            f"{parallel_per_s:.0f} items/s",
            f"p50 run {statistics.median(parallel) * 1000:.0f} ms",
        )
    )
    print(f"runs per shape: {runs} (+1 warm-up); python {sys.version.split()[0]}")
    print(calibration_line(calibration, cpu_calibration_ms()))
    print(
        f"RESULT per_node_us={per_node_us:.0f} fanout_ms={fanout_ms:.1f} "
        f"iteration_items_per_s={items_per_s:.0f} cpu_calibration_ms={calibration:.0f}"
    )
    # The 300 us/node target fails a full run only: --quick is the suite's smoke check that the benchmark runs
    # to its RESULT line, and a loaded host (CI measured 315 us at calibration 534 ms) must not fail it.
    return 0 if quick or per_node_us <= 300 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (for CI smoke checks)")
    raise SystemExit(asyncio.run(main(parser.parse_args().quick)))
