"""``convert_dify``: a Dify DSL file (workflow or advanced-chat app) -> our workflow definition + report.

The conversion runs in passes: read the graph (dropping sticky notes and container start markers), give
every node an id here, convert each node with its type's converter, fold loop assigners into their loop,
rewire edges and handles, then let the engine validate the result. Every problem of every pass is
reported; the definition is returned only when there is none.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from llmops.studio.dify import agent_nodes, flow_nodes, http, model_nodes, nodes, tool_nodes
from llmops.studio.dify.context import DifyNode, Mapped, NodeMapper
from llmops.studio.dify.document import (
    MODES,
    conversation_variables,
    environment,
    feature_warnings,
    load_document,
)
from llmops.studio.dify.references import References, field_name
from llmops.studio.dify.report import ImportReport, ValidationProblem
from workflows import DocumentLimits, Workflow, WorkflowValidationError, validate_workflow

Converter = Callable[[NodeMapper], Mapped | None]

CONVERTERS: dict[str, Converter] = {
    "start": nodes.start,
    "end": nodes.end,
    "answer": nodes.answer,
    "template-transform": nodes.template_transform,
    "code": nodes.code,
    "variable-aggregator": nodes.variable_aggregator,
    "document-extractor": nodes.document_extractor,
    "list-operator": nodes.list_operator,
    "http-request": http.http_request,
    "llm": model_nodes.llm,
    "knowledge-retrieval": model_nodes.knowledge_retrieval,
    "question-classifier": model_nodes.question_classifier,
    "parameter-extractor": model_nodes.parameter_extractor,
    "if-else": flow_nodes.if_else,
    "iteration": flow_nodes.iteration,
    "loop": flow_nodes.loop,
    "assigner": flow_nodes.assigner,
    "tool": tool_nodes.tool,
    "agent": agent_nodes.agent,
}
UNSUPPORTED = {
    "loop-end": "breaking out of a loop from inside its body has no equivalent (use break conditions)",
}
_CONTAINER_STARTS = {"iteration-start", "loop-start"}
_HANDLES = {"source": "source", "fail-branch": "fail"}
_ERROR_STRATEGIES = {"fail-branch": "fail_branch", "default-value": "default_value"}


@dataclass(frozen=True, slots=True)
class DifyConversion:
    """The result: ``workflow`` (our DSL as a dict) is None unless the report is free of problems."""

    workflow: dict[str, Any] | None
    report: ImportReport

    @property
    def ok(self) -> bool:
        """True when the workflow can be created."""
        return self.workflow is not None


def convert_dify(
    document: str | bytes | Mapping[str, Any], *, limits: DocumentLimits | None = None
) -> DifyConversion:
    """Convert a Dify DSL file (YAML text or parsed); never raises for bad input, the report says why.

    ``limits`` caps the file (size, depth; aliases are always refused) and the converted graph (nodes, edges).
    """
    report = ImportReport()
    parsed = load_document(document, report, limits)
    if parsed is None:
        return DifyConversion(None, report)
    try:
        draft = _GraphConversion(parsed, report).run()
    except (AttributeError, TypeError, ValueError, KeyError) as exc:  # a hand-edited file of the wrong shape
        report.error(f"The Dify file is malformed: {type(exc).__name__}: {exc}")
        return DifyConversion(None, report)
    if report.errors or report.unsupported:
        return DifyConversion(None, report)  # validating a partial graph would only add noise
    return DifyConversion(_validated(draft, report, limits), report)


def _validated(
    draft: dict[str, Any], report: ImportReport, limits: DocumentLimits | None
) -> dict[str, Any] | None:
    dify_ids = {ours: theirs for theirs, ours in report.node_ids.items()}
    try:
        definition = Workflow.from_dict(draft, limits=limits)
    except WorkflowValidationError as exc:
        problems = exc.problems
    else:
        problems = validate_workflow(definition)
        draft = definition.to_dict()
    report.problems = [
        ValidationProblem(p.path, p.message, p.node_id, dify_ids.get(p.node_id or "")) for p in problems
    ]
    return None if problems else draft


class _GraphConversion:
    def __init__(self, parsed: Mapping[str, Any], report: ImportReport) -> None:
        self.app = parsed.get("app") or {}
        self.workflow = parsed.get("workflow") or {}
        self.report = report
        self.refs = References()
        self.nodes: list[DifyNode] = []
        self.mapped: dict[str, Mapped] = {}

    def run(self) -> dict[str, Any]:
        graph = self.workflow.get("graph") or {}
        self._read(graph.get("nodes") or [])
        env = environment(self.workflow.get("environment_variables"), self.refs, self.report)
        chat = conversation_variables(self.workflow.get("conversation_variables"), self.refs, self.report)
        for node in self.nodes:
            self.refs.register(
                node.id, node.type, node.title, node.data, node.type.replace("-", "_") or "node"
            )
        self.report.node_ids = {node.id: self.refs.nodes[node.id].our_id for node in self.nodes}
        converted = [self._convert(node) for node in self.nodes]
        self._fold_loop_updates()
        env += [e for m in self.mapped.values() for e in m.environment]
        feature_warnings(self.workflow.get("features"), self.report)
        return {
            "name": str(self.app.get("name") or ""),
            "description": str(self.app.get("description") or ""),
            "mode": MODES[str(self.app.get("mode"))],
            "inputs": [i for m in self.mapped.values() for i in m.inputs],
            "environment": env,
            "conversation_variables": chat,
            "nodes": [node for node in converted if node is not None],
            "edges": self._edges(graph.get("edges") or []),
            "outputs": self._outputs(),
        }

    def _read(self, raw_nodes: list[Any]) -> None:
        for raw in raw_nodes:
            if not isinstance(raw, Mapping) or not isinstance(raw.get("data") or {}, Mapping):
                self.report.error(f"A graph node is malformed: {str(raw)[:100]}")
                continue
            data = raw.get("data") or {}
            kind = str(data.get("type") or "")
            if raw.get("type") == "custom-note" or not kind or kind in _CONTAINER_STARTS:
                continue  # sticky notes and container entry markers have no equivalent and need none
            node_id = str(raw.get("id"))
            if any(n.id == node_id for n in self.nodes):
                self.report.error(f"Two graph nodes have the id {node_id!r}.")
                continue
            parent = raw.get("parentId") or data.get("iteration_id") or data.get("loop_id")
            title = str(data.get("title") or "")
            position = raw.get("position")
            self.nodes.append(DifyNode(node_id, kind, title, data, str(parent) if parent else None, position))

    def _convert(self, node: DifyNode) -> dict[str, Any] | None:
        mapper = NodeMapper(node, self.refs, self.report)
        converter = CONVERTERS.get(node.type)
        if node.type == "variable-assigner":  # Dify's legacy name of the variable aggregator
            legacy = "items" in node.data or "assigned_variable_selector" in node.data
            converter = flow_nodes.assigner if legacy else nodes.variable_aggregator
        if converter is None:
            mapper.fail(UNSUPPORTED.get(node.type, f"node type {node.type!r} has no equivalent"))
            return None
        try:
            mapped = converter(mapper)
        except (AttributeError, TypeError, ValueError, KeyError) as exc:
            mapper.fail(f"the node's settings are malformed ({type(exc).__name__}: {exc})")
            return None
        if mapped is None:
            return None
        self.mapped[node.id] = mapped
        if not mapped.type:  # folded into its container
            return None
        return {**self._common(node, mapper), "type": mapped.type, "config": mapped.config}

    def _common(self, node: DifyNode, mapper: NodeMapper) -> dict[str, Any]:
        fields: dict[str, Any] = {"id": mapper.info.our_id, "title": node.title}
        if node.parent in self.refs.nodes:
            fields["parent"] = self.refs.nodes[str(node.parent)].our_id
        position = node.position or {}
        if isinstance(position.get("x"), int | float) and isinstance(position.get("y"), int | float):
            fields["position"] = {"x": float(position["x"]), "y": float(position["y"])}
        return {**fields, **error_handling(mapper)}

    def _fold_loop_updates(self) -> None:
        loops = {n.id: n for n in self.nodes if n.type == "loop"}
        for node in self.nodes:
            updates = self.mapped[node.id].loop_updates if node.id in self.mapped else {}
            loop = self.mapped.get(str(node.parent)) if node.parent in loops else None
            if not updates or loop is None:
                continue
            variables = {v["name"]: v for v in loop.config["variables"]}
            for name, selector in updates.items():
                if name not in variables:
                    NodeMapper(node, self.refs, self.report).fail(f"the loop has no variable {name!r}")
                else:
                    variables[name]["update"] = selector

    def _edges(self, raw_edges: list[Any]) -> list[dict[str, Any]]:
        triples = [
            (str(e.get("source")), str(e.get("sourceHandle") or "source"), str(e.get("target")))
            for e in raw_edges
            if isinstance(e, Mapping)
            and str(e.get("source")) in self.mapped
            and str(e.get("target")) in self.mapped
        ]
        for folded in [i for i, m in self.mapped.items() if not m.type]:
            # A folded node disappears; whatever led into it now leads to what followed it.
            into = [t for t in triples if t[2] == folded]
            out = [t for t in triples if t[0] == folded]
            triples = [t for t in triples if folded not in (t[0], t[2])]
            triples += [(s, h, target) for s, h, _ in into for _, _, target in out]
        edges: list[dict[str, Any]] = []
        for source, handle, target in dict.fromkeys(triples):
            ours = self.mapped[source].handles.get(handle, _HANDLES.get(handle, handle))
            edges.append(
                {
                    "source": self.refs.nodes[source].our_id,
                    "target": self.refs.nodes[target].our_id,
                    "source_handle": ours,
                }
            )
        return edges

    def _outputs(self) -> list[dict[str, Any]]:
        # Every end node must set every declared output, so only names all top-level ends share are declared.
        ends = [
            self.mapped[n.id].config["outputs"] for n in self.nodes if n.type == "end" and n.id in self.mapped
        ]
        if not ends:
            return []
        shared = [name for name in ends[0] if all(name in other for other in ends[1:])]
        return [{"name": name} for name in shared]


def error_handling(m: NodeMapper) -> dict[str, Any]:
    """Dify's node-level retry and error strategy as ours."""
    fields: dict[str, Any] = {}
    retry = m.data.get("retry_config") or {}
    if retry.get("retry_enabled"):
        attempts = int(retry.get("max_retries") or 0) + 1
        if attempts > 20:
            m.warn(f"{attempts - 1} retries capped at 19")
        fields["retry"] = {
            "max_attempts": min(attempts, 20),
            "backoff_seconds": float(retry.get("retry_interval") or 0) / 1000,
            "backoff_multiplier": 1.0,  # Dify waits a fixed interval between attempts
        }
    strategy = m.data.get("error_strategy")
    if strategy in (None, "", "none"):
        return fields
    if strategy not in _ERROR_STRATEGIES:
        m.fail(f"error strategy {strategy!r} has no equivalent")
        return fields
    fields["error_strategy"] = _ERROR_STRATEGIES[strategy]
    if strategy == "default-value":
        fields["default_outputs"] = {
            field_name(m.output_name(str(d.get("key")))): _default(d)
            for d in m.data.get("default_value") or []
        }
    return fields


def _default(item: Mapping[str, Any]) -> Any:
    value = item.get("value")
    if isinstance(value, str) and str(item.get("type", "")).startswith(("object", "array")):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
