"""Model-backed nodes: llm, knowledge-retrieval, question-classifier and parameter-extractor.

Dify names models by provider and model name; here a node names a model endpoint. The converter writes
``<provider>/<name>`` and lists it as a binding, as it does with dataset ids (knowledge base references).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from llmops.studio.dify.context import Mapped, NodeMapper
from llmops.studio.dify.references import jinja_selector, unique, valid_name

_ROLES = {"system", "user", "assistant"}
_PARAMETER_TYPES = {
    "string": "string",
    "select": "string",
    "number": "number",
    "bool": "boolean",
    "boolean": "boolean",
    "object": "object",
}
_DEFAULT_WINDOW = 50
_SYS_FILES = re.compile(r"\{\{#sys\.files#\}\}")


def llm(m: NodeMapper) -> Mapped:
    """Messages, memory, context and structured output of a Dify LLM node."""
    model, parameters = m.model()
    memory = m.data.get("memory")
    messages = _messages(m, _context(m), memory_query=bool(memory))
    config: dict[str, Any] = {"model": model, "parameters": parameters, "messages": messages}
    if memory:
        config["memory"] = {"window": _window(m, memory)}
        _append_query(m, memory, config["messages"])
    schema = (m.data.get("structured_output") or {}).get("schema")
    if m.data.get("structured_output_enabled") and schema:
        config["response_schema"] = schema
    if (m.data.get("vision") or {}).get("enabled"):
        m.warn("vision (image inputs) was not imported: this llm node sends text only")
    return Mapped("llm", config)


def _context(m: NodeMapper) -> str | None:
    context = m.data.get("context") or {}
    selector = context.get("variable_selector")
    if not context.get("enabled") or not selector:
        return None
    source = m.refs.nodes.get(str(selector[0]))
    if source is not None and source.dify_type == "knowledge-retrieval" and list(selector[1:]) == ["result"]:
        # Dify joins the retrieved chunks' text into the context; our retrieval node outputs exactly that.
        return "{{ " + source.our_id + ".context }}"
    return m.placeholder(selector, "context")


def _messages(m: NodeMapper, context: str | None, *, memory_query: bool = False) -> list[dict[str, str]]:
    template = m.data.get("prompt_template")
    if isinstance(template, Mapping):  # completion model: one prompt
        m.warn("the completion-style prompt is sent as one user message")
        template = [{"role": "user", **template}]
    prefix = _jinja_prefix(m)
    messages = []
    for index, item in enumerate(template or [], 1):
        role = str(item.get("role") or "user")
        if role not in _ROLES:
            m.fail(f"message {index} has role {role!r}, which has no equivalent")
            continue
        if item.get("edition_type") == "jinja2":
            content = prefix + str(item.get("jinja2_text") or "")
        else:
            content = m.template(item.get("text"), f"message {index}", context=context)
        if content.strip():
            messages.append({"role": role, "content": content})
    if not messages and not memory_query:  # with memory, the user's query is a message of its own
        m.fail("the prompt has no message")
    return messages


def _jinja_prefix(m: NodeMapper) -> str:
    # Dify's Jinja2 prompts read local names bound to selectors; `{% set %}` binds them the same way here.
    variables = (m.data.get("prompt_config") or {}).get("jinja2_variables") or []
    lines = [
        "{% set "
        + str(v.get("variable"))
        + " = "
        + jinja_selector(m.selector(v.get("value_selector"), "jinja2 variable"))
        + " %}"
        for v in variables
    ]
    return "".join(lines)


def _window(m: NodeMapper, memory: Mapping[str, Any]) -> int:
    window = memory.get("window") or {}
    if window.get("enabled") and window.get("size"):
        return max(1, min(int(window["size"]), 200))
    m.warn(f"unlimited conversation memory is capped at the last {_DEFAULT_WINDOW} messages")
    return _DEFAULT_WINDOW


def _append_query(m: NodeMapper, memory: Mapping[str, Any], messages: list[dict[str, str]]) -> None:
    # With memory, Dify appends the user's query after the history; ours inserts history after the system
    # messages, so a template with user/assistant messages of its own is ordered differently.
    if isinstance(m.data.get("prompt_template"), Mapping):
        return
    query = str(memory.get("query_prompt_template") or "{{#sys.query#}}")
    if _SYS_FILES.search(
        query
    ):  # Dify's default template ends with the turn's files, which have no equivalent
        query = _SYS_FILES.sub("", query).rstrip() or "{{#sys.query#}}"
        m.warn("the memory query's sys.files (the turn's uploaded files) was left out: files are not sent")
    messages.append({"role": "user", "content": m.template(query, "memory query")})
    if any(message["role"] != "system" for message in messages[:-1]):
        m.warn("conversation history now comes before the prompt's own user/assistant messages")


def knowledge_retrieval(m: NodeMapper) -> Mapped:
    """Dataset ids become knowledge base references to bind; the search settings map where they can."""
    dataset_ids = [str(i) for i in m.data.get("dataset_ids") or []]
    if not dataset_ids:
        m.fail("no dataset is selected")
    for dataset_id in dataset_ids:
        m.bind("knowledge_base", dataset_id, {"dify_dataset_id": dataset_id})
    config: dict[str, Any] = {
        "query": m.placeholder(m.data.get("query_variable_selector"), "query"),
        "knowledge_base_ids": dataset_ids,
        "mode": "hybrid",
    }
    if m.data.get("retrieval_mode") == "single":
        m.warn("N-to-1 retrieval (a model picks one dataset) became a search of every knowledge base")
    settings = m.data.get("multiple_retrieval_config") or {}
    if settings.get("top_k"):
        config["top_k"] = max(1, min(int(settings["top_k"]), 100))
    if settings.get("score_threshold") is not None and settings.get("score_threshold_enabled", True):
        config["score_threshold"] = float(settings["score_threshold"])
    if settings.get("reranking_enable") or settings.get("reranking_model"):
        m.warn("reranking settings were not imported: the knowledge bases' own search settings apply")
    if m.data.get("metadata_filtering_mode") not in (None, "disabled"):
        m.fail("metadata filtering has no equivalent")
    return Mapped("knowledge_retrieval", config)


def question_classifier(m: NodeMapper) -> Mapped:
    """Classes keep their order; each Dify class id becomes a valid handle (``1`` -> ``class_1``)."""
    model, parameters = m.model()
    handles: dict[str, str] = {}
    classes = []
    taken: set[str] = set()
    for index, item in enumerate(m.data.get("classes") or [], 1):
        dify_id = str(item.get("id"))
        candidate = dify_id if valid_name(dify_id) else f"class_{dify_id if dify_id.isdigit() else index}"
        handles[dify_id] = unique(candidate, taken, reserved=frozenset())
        classes.append({"id": handles[dify_id], "name": str(item.get("name") or f"Class {index}")})
    config: dict[str, Any] = {
        "model": model,
        "parameters": parameters,
        "query": m.placeholder(m.data.get("query_variable_selector"), "query"),
        "classes": classes,
    }
    if m.data.get("instruction"):
        config["instruction"] = m.template(m.data.get("instruction"), "instruction")
    _unused_memory(m)
    return Mapped("question_classifier", config, handles=handles)


def parameter_extractor(m: NodeMapper) -> Mapped:
    """Parameters keep names and types (array item types are not enforced here)."""
    model, parameters = m.model()
    query = m.data.get("query")
    config: dict[str, Any] = {
        "model": model,
        "completion_params": parameters,
        "query": m.template(query, "query") if isinstance(query, str) else m.placeholder(query, "query"),
        "parameters": [_parameter(m, p) for p in m.data.get("parameters") or []],
    }
    if m.data.get("instruction"):
        config["instruction"] = m.template(m.data.get("instruction"), "instruction")
    _unused_memory(m)
    return Mapped("parameter_extractor", config)


def _parameter(m: NodeMapper, item: Mapping[str, Any]) -> dict[str, Any]:
    name = m.output_name(str(item.get("name", "")))
    kind = str(item.get("type") or "string")
    ours = "array" if kind.startswith("array") else _PARAMETER_TYPES.get(kind)
    if ours is None:
        m.fail(f"parameter {name!r} has type {kind!r}, which has no equivalent")
        ours = "string"
    if kind.startswith("array["):
        m.warn(f"parameter {name!r}: the item type of {kind} is not enforced")
    parameter: dict[str, Any] = {
        "name": name,
        "type": ours,
        "description": str(item.get("description") or ""),
        "required": bool(item.get("required", False)),
    }
    if kind == "select" and item.get("options"):
        parameter["enum"] = [str(option) for option in item["options"]]
    return parameter


def _unused_memory(m: NodeMapper) -> None:
    if m.data.get("memory"):
        m.warn("conversation memory is not used by this node type here")
