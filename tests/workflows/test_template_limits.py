"""Templates as an attacker writes them: CPU bombs, memory bombs and runaway recursion stop with a clear reason
within bounded time, and a template node's render leaves the event loop free (a worker's heartbeat beats)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.workflows._helpers import end, start, template, wf
from workflows import Executor, RunLimits, TemplateLimits
from workflows._variables import render

NESTED_RANGES = "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}"
SILENT_NESTED_RANGES = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
BOMBS = {
    "repeat": "{{ 'x' * 10**9 }}",
    "repeat-list": "{{ ([1] * 10**9)|length }}",
    "center": "{{ 'x'|center(10**9) }}",
    "method-padding": "{{ 'x'.ljust(10**9) }}",
    "printf-width": "{{ '%01000000000d' % 1 }}",
    "format-width": "{{ '{:>1000000000}'.format(1) }}",
    "format-argument-width": "{{ '{0:>{1}}'.format(1, 10**9) }}",
    "doubling-concat": "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}",
    "doubling-plus": "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}"
    "{% endfor %}",
    "block-set": "{% set s %}{% for i in range(100000) %}{{ 'y' * 100000 }}{% endfor %}{% endset %}"
    "{{ s|length }}",
    "join": "{{ range(100000)|join('x' * 100000) }}",
    "method-join": "{{ ('x' * 100000).join(range(100000)|map('string')) }}",
    "replace": "{{ ('x' * 100000)|replace('x', 'y' * 100000) }}",
    "method-replace": "{{ ('x' * 100000).replace('', 'y' * 100000) }}",
    "indent": "{{ ('\\n' * 100000)|indent('x' * 100000) }}",
    "wordwrap": "{{ ('x ' * 100000)|wordwrap(1, wrapstring='y' * 100000) }}",
    "power": "{{ ((9**999)**999)**999 }}",
    "squaring": "{% set ns = namespace(n=9**999) %}{% for i in range(64) %}{% set ns.n = ns.n * ns.n %}"
    "{% endfor %}",
    "lipsum": "{{ lipsum(10**6)|length }}",
    "exponential-macro": "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
    "{{ f(60) }}",
    "endless-recursion": "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "translate": "{{ 'x'.translate({120: 'y' * 100000}) }}",
    "shared-lists": "{{ [[1] * 2000000] * 2000000 }}",
    "shared-literals": "{% set a = [1] * 2000000 %}{% set b = [a, a, a, a] %}{% set c = (b, b, b, b) %}{{ c }}",
    "shared-dict": "{% set a = 'x' * 2000000 %}{% set b = {'x': a, 'y': a, 'z': a} %}{{ [b, b]|tojson }}",
    "shared-join": "{% set a = [1] * 2000000 %}{{ [a, a, a]|join(',') }}",
    "sum-of-lists": "{{ ([[1] * 1000] * 2000)|sum(start=[])|length }}",
    "sum-of-lists-positional": "{{ ([[1] * 1000] * 2000)|sum(none, [])|length }}",
    "nested-ranges": NESTED_RANGES,
    "silent-nested-ranges": SILENT_NESTED_RANGES,
}
FAST = TemplateLimits(max_seconds=2.0)


async def run_template(text: str, limits: TemplateLimits = FAST, **inputs: Any) -> Any:
    fields = [{"name": k, "type": "json"} for k in inputs]
    workflow = wf(
        [start(), template("t", text), end({"out": "{{ t.output }}"})], ["start->t", "t->end"], inputs=fields
    )
    executor = Executor(workflow, limits=RunLimits(templates=limits))
    return await executor.run_to_completion("run-1", inputs)


@pytest.mark.parametrize("text", BOMBS.values(), ids=BOMBS.keys())
async def test_template_bombs_fail_the_node_with_a_clear_reason_in_bounded_time(text: str) -> None:
    # when
    started = time.monotonic()
    result = await run_template(text)
    elapsed = time.monotonic() - started
    # then: the node failed, said why, and no more than its time budget (plus slack for a busy machine) passed
    assert result.status == "failed"
    error = result.nodes["t"].error
    assert error["type"] == "TemplateError"
    assert any(
        reason in error["message"]
        for reason in ("template stopped", "unsafe", "over the template limit", "too deeply", "numbers only")
    ), error
    assert elapsed < FAST.max_seconds + 3


async def test_a_template_node_render_leaves_the_event_loop_free() -> None:
    # given: a ticker standing in for the worker's heartbeat, which shares the event loop with the run
    gaps: list[float] = []

    async def heartbeat() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.05)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(heartbeat())
    # when: a template node spins for its whole time budget
    started = time.monotonic()
    result = await run_template(SILENT_NESTED_RANGES, TemplateLimits(max_seconds=1.5, max_iterations=10**9))
    elapsed = time.monotonic() - started
    ticker.cancel()
    # then: it stopped at its time limit, and the heartbeat kept beating all along
    assert result.status == "failed"
    assert "longer than 1.5s" in result.nodes["t"].error["message"]
    assert 1.4 < elapsed < 5
    assert len(gaps) > 10 and max(gaps) < 0.5, max(gaps)


@pytest.mark.parametrize(
    ("limits", "text", "reason"),
    [
        (TemplateLimits(max_output_chars=1000), "{{ 'x' * 2000 }}", "1000"),
        (TemplateLimits(max_output_chars=1000), "{% for i in range(2000) %}x{% endfor %}", "1000"),
        (
            TemplateLimits(max_iterations=1000),
            "{% for i in range(99) %}{% for j in range(99) %}{% endfor %}{% endfor %}",
            "1000 loop",
        ),
    ],
)
async def test_limits_come_from_the_run(limits: TemplateLimits, text: str, reason: str) -> None:
    result = await run_template(text, limits)
    assert reason in result.nodes["t"].error["message"]


async def test_ordinary_templates_are_unaffected() -> None:
    text = (
        "{% for row in start.rows %}{{ loop.index }}. {{ row.name|title }} ({{ '%.1f' % row.score }})"
        "{{ ', ' if not loop.last }}{% endfor %} | {{ start.rows|map(attribute='name')|join('/') }}"
        " | {{ '{:>5}'.format(7) }} | {{ 'a-b'.replace('-', '+') }} | {{ 2 ** 10 }} | {{ 'ab' * 3 }}"
    )
    text += (
        " | {{ [1, 2.5]|sum }} {{ start.rows|sum(attribute='score') }} {{ [[1, 2]] * 2 }}"
        "{% for a, b in [(1, 2)] %} {{ a + b }}{% endfor %} {{ {'k': [1, 2]}|tojson }}"
    )
    rows = [{"name": "ada", "score": 9.5}, {"name": "bob", "score": 7.25}]
    result = await run_template(text, rows=rows)
    assert result.status == "succeeded", result.error
    assert result.outputs["out"] == (
        "1. Ada (9.5), 2. Bob (7.2) | ada/bob |     7 | a+b | 1024 | ababab"
        ' | 3.5 16.75 [[1, 2], [1, 2]] 3 {"k": [1, 2]}'
    )


def test_every_templated_setting_is_bounded_too() -> None:
    # Settings of other nodes (prompts, URLs, bodies) render on the loop, within the same limits.
    with pytest.raises(Exception, match="template stopped"):
        render(NESTED_RANGES, {}, None, TemplateLimits(max_iterations=10_000))
