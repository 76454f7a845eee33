"""Dify conversation variables and variable assigners (v1 and v2) import onto ``variable_assigner``; legacy
``<start id>.sys.query`` selectors resolve to ``sys.query``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from llmops.studio.dify import convert_dify
from workflows import Executor, validate_workflow

DATA = Path(__file__).resolve().parents[1] / "data" / "dify"


def converted(name: str) -> dict[str, Any]:
    conversion = convert_dify((DATA / f"{name}.yml").read_text())
    assert conversion.report.ok, conversion.report
    assert conversion.workflow is not None
    return conversion.workflow


def nodes(draft: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["id"]: n for n in draft["nodes"]}


def test_conversation_variables_keep_their_types_and_defaults() -> None:
    draft = converted("conversation-chatflow")

    assert [(v["name"], v.get("type", "string"), v["default"]) for v in draft["conversation_variables"]] == [
        ("last_question", "string", ""),
        ("turns", "number", 0),
        ("topics", "array[string]", ["welcome"]),
        ("scores", "array[number]", []),
        ("notes", "array[object]", []),
        ("budget", "number", 100),
    ]


def test_assigner_v2_operations_and_v1_overwrite_become_variable_assigner_nodes() -> None:
    draft = converted("conversation-chatflow")
    by_id = nodes(draft)

    assert by_id["remember"]["type"] == "variable_assigner"
    assert by_id["remember"]["config"]["items"] == [
        {"variable": "conversation.topics", "operation": "append", "value": "{{ sys.query }}"},
        {"variable": "conversation.turns", "operation": "add", "constant": 1},
        {"variable": "conversation.budget", "operation": "subtract", "value": "{{ start.cost }}"},
        {"variable": "conversation.scores", "operation": "extend", "constant": [1, 2]},
        {"variable": "conversation.scores", "operation": "remove_first"},
        {"variable": "conversation.notes", "operation": "set", "constant": [{"kind": "greeting"}]},
        {"variable": "conversation.budget", "operation": "multiply", "constant": 2},
    ]
    assert by_id["last_question"]["config"]["items"] == [
        {"variable": "conversation.last_question", "operation": "overwrite", "value": "{{ sys.query }}"}
    ]
    assert validate_workflow(draft) == []


def test_the_imported_chatflow_carries_its_variables_from_turn_to_turn() -> None:
    draft = converted("conversation-chatflow")
    executor = Executor(draft)

    first = asyncio.run(executor.run_to_completion("t1", {"cost": 5}, query="pricing"))
    second = asyncio.run(
        executor.run_to_completion(
            "t2", {"cost": 10}, query="refunds", conversation=first.conversation, dialogue_count=1
        )
    )

    assert first.outputs["answer"] == (
        'Turn 0: 1 turns, topics ["welcome", "pricing"], budget 190, last pricing'
    )
    assert second.outputs["answer"] == (
        'Turn 1: 2 turns, topics ["welcome", "pricing", "refunds"], budget 360, last refunds'
    )
    assert second.conversation == {
        "last_question": "refunds",
        "turns": 2,
        "topics": ["welcome", "pricing", "refunds"],
        "scores": [1, 2],  # [2] + [1, 2], first removed
        "notes": [{"kind": "greeting"}],
        "budget": 360,
    }


def test_legacy_start_node_system_selectors_resolve_to_system_variables() -> None:
    draft = converted("legacy-selector-chatflow")
    by_id = nodes(draft)

    assert by_id["knowledge_retrieval"]["config"]["query"] == "{{ sys.query }}"
    assert by_id["answer"]["config"]["answer"] == (
        "You asked {{ sys.query }} (turn {{ sys.dialogue_count }}): {{ knowledge_retrieval.result }}"
    )


def test_assigning_a_variable_the_file_does_not_declare_is_reported() -> None:
    text = (DATA / "conversation-chatflow.yml").read_text().replace("- last_question\n", "- nowhere\n", 1)

    conversion = convert_dify(text)

    assert conversion.workflow is None
    reasons = [u.reason for u in conversion.report.unsupported]
    assert any("no conversation variable 'nowhere'" in r for r in reasons), reasons


def test_arithmetic_on_a_loop_variable_inside_the_loop_becomes_the_loops_update() -> None:
    draft = converted("corpus/dify-increment-loop-with-break-condition-workflow")
    by_id = nodes(draft)

    assert by_id["variable_assigner"]["config"]["items"] == [
        {"variable": "loop_1.num", "operation": "add", "constant": 1}
    ]
    assert by_id["loop_1"]["config"]["variables"][0]["update"] == "variable_assigner.loop_values.num"
    result = asyncio.run(Executor(draft).run_to_completion("r", {}))
    assert (result.status, result.outputs) == ("succeeded", {"num": 5})
