"""Representative Dify DSL files (as Dify 0.1.x exports them) and builders for small variants.

The five samples are YAML files under ``tests/data/dify/`` (read with ``sample``); the node ids they use are
the constants below, so tests can point at their nodes. Node ids are Dify-style timestamps, nodes sit in
``type: custom`` wrappers with positions, and edges carry Dify's handles, as in a real export:

- ``branching-workflow``: start -> llm -> template -> if-else (2 cases + else) -> code | http | (else) -> join -> end
- ``chat-app``: an advanced-chat app answering through an llm node
- ``containers-workflow``: iteration and loop containers with their start nodes
- ``knowledge-workflow``: knowledge retrieval -> question classifier -> parameter extractor | llm
- ``unsupported-nodes-workflow``: a tool node, an agent node and a conversation variable assigner
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

START, LLM, TEMPLATE, IF_ELSE, CODE, HTTP, JOIN, END = (f"17180000000{i:02d}" for i in range(1, 9))
ANSWER, KNOWLEDGE, CLASSIFIER, EXTRACTOR = (f"17180000001{i:02d}" for i in range(1, 5))
SPLIT, ITERATION, ITER_START, SHOUT, LOOP, LOOP_START, ADD, ASSIGN = (
    f"17180000002{i:02d}" for i in range(1, 9)
)
DATA = Path(__file__).resolve().parents[1] / "data" / "dify"
SECOND_CASE = "b7c3f0d2-4a1e-4f6b-9d2a-0c5e8f1a2b3c"
FEATURES = {
    "file_upload": {"image": {"enabled": False, "number_limits": 3}},
    "opening_statement": "",
    "retriever_resource": {"enabled": True},
    "sensitive_word_avoidance": {"enabled": False},
    "speech_to_text": {"enabled": False},
    "suggested_questions": [],
    "suggested_questions_after_answer": {"enabled": False},
    "text_to_speech": {"enabled": False, "language": "", "voice": ""},
}


def dify_file(
    mode: str,
    nodes: list[dict[str, Any]],
    edges: list[dict[str, Any]],
    *,
    name: str = "Imported app",
    environment: list[dict[str, Any]] | None = None,
    conversation: list[dict[str, Any]] | None = None,
    features: dict[str, Any] | None = None,
) -> str:
    """A complete Dify export as YAML text."""
    document = {
        "app": {"description": f"{name} (from Dify)", "icon": "🤖", "mode": mode, "name": name},
        "kind": "app",
        "version": "0.1.5",
        "workflow": {
            "conversation_variables": conversation or [],
            "environment_variables": environment or [],
            "features": {**FEATURES, **(features or {})},
            "graph": {"edges": edges, "nodes": nodes, "viewport": {"x": 0, "y": 0, "zoom": 1}},
        },
    }
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def node(node_id: str, kind: str, title: str, parent: str | None = None, **data: Any) -> dict[str, Any]:
    """A node as Dify exports it (``data.type`` is the node type; children carry ``parentId``)."""
    wrapper: dict[str, Any] = {
        "id": node_id,
        "type": "custom-iteration-start" if kind == "iteration-start" else "custom",
        "position": {"x": 100.0 * (int(node_id[-2:]) % 10), "y": 200.0},
        "data": {"type": kind, "title": title, "desc": "", "selected": False, **data},
    }
    if parent is not None:
        wrapper["parentId"] = parent
        wrapper["data"]["isInIteration"] = True
    return wrapper


def edge(source: str, target: str, handle: str = "source") -> dict[str, Any]:
    """An edge with Dify's id and handle fields."""
    return {
        "id": f"{source}-{handle}-{target}-target",
        "source": source,
        "sourceHandle": handle,
        "target": target,
        "targetHandle": "target",
        "type": "custom",
        "data": {"sourceType": "", "targetType": ""},
    }


def sample(name: str) -> str:
    """The text of the sample ``tests/data/dify/<name>.yml``."""
    return (DATA / f"{name}.yml").read_text(encoding="utf-8")
