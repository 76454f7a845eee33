"""Validation: every problem of a workflow at once, each with its node id and path.

Rules: unique ids; known node types with valid configs; edges between existing nodes of the same scope on
handles their source has; exactly one start; an end or answer reachable from it; every node reachable; no
cycles (repetition lives in iteration/loop containers); every variable reference resolving to an upstream
output, a system, environment or conversation variable.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from workflows._dsl import RESERVED_NAMESPACES, ErrorStrategy, Workflow
from workflows._errors import Problem, WorkflowValidationError, problems_from_pydantic
from workflows._graph import SYS_VARIABLES, CompiledEdge, CompiledGraph, CompiledNode, Scope
from workflows._variables import Reference
from workflows.nodes import get_node_kind

ERROR_OUTPUTS = {"error_type": "string", "error_message": "string"}


def compile_workflow(source: Workflow | Mapping[str, Any] | str) -> CompiledGraph:
    """Validate a workflow (model, mapping, or YAML/JSON text) and compile it for execution.

    Raises ``WorkflowValidationError`` listing every problem.
    """
    workflow = _as_workflow(source)
    compiler = _Compiler(workflow)
    graph = compiler.compile()
    if compiler.problems:
        raise WorkflowValidationError(compiler.problems)
    return graph


def validate_workflow(source: Workflow | Mapping[str, Any] | str) -> list[Problem]:
    """Every problem of a workflow (empty when valid); never raises for invalid definitions."""
    try:
        compile_workflow(source)
    except WorkflowValidationError as exc:
        return exc.problems
    return []


@dataclass(frozen=True, slots=True)
class Inspection:
    """What an editor needs of a draft, from one compile: its problems, each node's branch handles (an
    if/else node's cases and ``else``, a classifier's classes ...; nodes whose config is valid) and, when
    asked for a node, the variables its templates may reference (``{root: {name: json type} | None}``:
    upstream nodes and enclosing containers' body names with their declared outputs, None when they depend on
    run time data, plus ``sys``, ``env`` and ``conversation``) and the upstream nodes it (with its body)
    reads, each with the output names read (None: the whole node): what a single-node run asks for."""

    problems: list[Problem]
    handles: dict[str, list[str]]
    variables: dict[str, dict[str, str] | None] | None
    reads: dict[str, list[str] | None] | None = None


def inspect_workflow(source: Workflow | Mapping[str, Any] | str, node_id: str | None = None) -> Inspection:
    """Compile once and report problems, handles and (for ``node_id``) variables; never raises for an invalid
    draft (it answers as far as its graph is known; an unknown node id gets only the namespaces)."""
    workflow = _as_workflow(source)
    compiler = _Compiler(workflow)
    graph = compiler.compile()
    handles = {nid: list(node.kind.handles(node.config)) for nid, node in graph.nodes.items()}
    variables: dict[str, dict[str, str] | None] | None = None
    if node_id is not None:
        variables = {
            "sys": {name: "any" for name in SYS_VARIABLES},
            "env": {v.name: v.type.value for v in workflow.environment},
            "conversation": {v.name: v.type for v in workflow.conversation_variables},
        }
        if node_id in graph.nodes:
            for root, outputs in compiler.visible_nodes(node_id).items():
                variables[root] = dict(outputs) if outputs is not None else None
            upstream = compiler.ancestors.get(node_id, set())
            reads = node_reads(graph.nodes, with_bodies(workflow, {node_id}), upstream)
            return Inspection(compiler.problems, handles, variables, reads)
    return Inspection(compiler.problems, handles, variables)


def with_bodies(workflow: Workflow, ids: set[str]) -> set[str]:
    """``ids`` plus every node inside a container among them (at any depth)."""
    kept = set(ids)
    grew = True
    while grew:
        inside = {n.id for n in workflow.nodes if n.parent in kept} - kept
        kept |= inside
        grew = bool(inside)
    return kept


def node_reads(
    nodes: Mapping[str, CompiledNode], readers: set[str], upstream: set[str]
) -> dict[str, list[str] | None]:
    """The upstream nodes the readers (a node and its body) reference, with the outputs they read (nodes
    whose config did not compile are skipped)."""
    found: dict[str, list[str] | None] = {}
    for reader in sorted(readers):
        node = nodes.get(reader)
        if node is None:
            continue
        for _path, ref, _body in node.kind.references(node.config):
            names = found.get(ref.root, [])
            if ref.root not in upstream or names is None:
                continue
            if ref.output is None:
                found[ref.root] = None
            elif ref.output not in names:
                found[ref.root] = [*names, ref.output]
    return found


def _as_workflow(source: Workflow | Mapping[str, Any] | str) -> Workflow:
    if isinstance(source, Workflow):
        return source
    if isinstance(source, str):
        return Workflow.from_yaml(source)  # YAML is a superset of JSON
    return Workflow.from_dict(source)


class _Compiler:
    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self.graph = CompiledGraph(workflow=workflow)
        self.problems: list[Problem] = []
        self.position: dict[str, int] = {}
        self.ancestors: dict[str, set[str]] = {}
        self.raw_out: dict[str, list[str]] = defaultdict(list)

    def add(self, path: str, message: str, node_id: str | None = None, code: str = "invalid") -> None:
        self.problems.append(Problem(path, message, node_id, code))

    def compile(self) -> CompiledGraph:
        self._nodes()
        self._parents()
        self._edges()
        self._scopes()
        self._start_and_ends()
        acyclic = self._order_scopes()
        self._reachability()
        self._node_checks()
        if acyclic:
            self._references()
            self._stream_sources()
        self._replayable_bodies()
        return self.graph

    # --- nodes and configs -------------------------------------------------------------------------------

    def _nodes(self) -> None:
        for i, node in enumerate(self.workflow.nodes):
            path = f"nodes.{i}"
            if node.id in self.position:
                self.add(f"{path}.id", f"duplicate node id {node.id!r}", node.id, "duplicate_id")
                continue
            self.position[node.id] = i
            if node.id in RESERVED_NAMESPACES:
                self.add(f"{path}.id", f"{node.id!r} is a reserved name", node.id, "reserved_id")
            self._compile_node(node, path)

    def _compile_node(self, node: Any, path: str) -> None:
        kind = get_node_kind(node.type)
        if kind is None:
            self.add(f"{path}.type", f"unknown node type {node.type!r}", node.id, "unknown_type")
            return
        try:
            config = kind.parse_config(node.config)
        except ValidationError as exc:
            self.problems += problems_from_pydantic(exc, prefix=f"{path}.config", node_id=node.id)
            return
        stream = kind.stream_template(config)
        self.graph.nodes[node.id] = CompiledNode(node=node, kind=kind, config=config, stream_template=stream)
        outputs = kind.outputs(config)
        if outputs is not None and node.error_strategy != ErrorStrategy.FAIL:
            outputs = {**outputs, **ERROR_OUTPUTS}
        self.graph.declared_outputs[node.id] = outputs

    def _parents(self) -> None:
        for node in self.workflow.nodes:
            if node.parent is None:
                continue
            path = f"nodes.{self.position[node.id]}.parent"
            parent = self.graph.nodes.get(node.parent)
            if node.parent not in self.position:
                self.add(path, f"parent {node.parent!r} does not exist", node.id, "unknown_parent")
            elif parent is not None and not parent.kind.container:
                self.add(path, f"parent {node.parent!r} is not a container node", node.id, "invalid_parent")
            elif self._container_chain_loops(node.id):
                self.add(path, "containers are nested in a cycle", node.id, "parent_cycle")

    def _container_chain_loops(self, node_id: str) -> bool:
        seen = {node_id}
        current = self._parent(node_id)
        while current is not None:
            if current in seen:
                return True
            seen.add(current)
            current = self._parent(current)
        return False

    def _parent(self, node_id: str) -> str | None:
        index = self.position.get(node_id)
        return None if index is None else self.workflow.nodes[index].parent

    # --- edges, scopes, start/end ------------------------------------------------------------------------

    def _edges(self) -> None:
        seen: set[tuple[str, str, str]] = set()
        for i, edge in enumerate(self.workflow.edges):
            path = f"edges.{i}"
            if edge.source in self.position and edge.target in self.position:
                # Kept even for nodes with broken configs, so one bad config does not also make the
                # rest of the graph "unreachable".
                self.raw_out[edge.source].append(edge.target)
            if not self._edge_endpoints_ok(edge.source, edge.target, path):
                continue
            key = (edge.source, edge.source_handle, edge.target)
            if key in seen:
                self.add(path, "duplicate edge", edge.source, "duplicate_edge")
                continue
            seen.add(key)
            if self._edge_handle_ok(edge.source, edge.source_handle, f"{path}.source_handle"):
                compiled = CompiledEdge(edge.source, edge.target, edge.source_handle)
                self.graph.nodes[edge.source].out_edges.append(compiled)
                self.graph.nodes[edge.target].in_edges.append(compiled)

    def _edge_endpoints_ok(self, source: str, target: str, path: str) -> bool:
        ok = True
        for end, node_id in (("source", source), ("target", target)):
            if node_id not in self.position:
                self.add(f"{path}.{end}", f"edge {end} {node_id!r} does not exist", None, "unknown_node")
                ok = False
        if not ok:
            return False
        if source == target:
            self.add(path, "an edge cannot connect a node to itself", source, "self_loop")
        elif self._parent(source) != self._parent(target):
            self.add(path, "an edge cannot cross a container boundary", source, "cross_scope_edge")
        else:
            return source in self.graph.nodes and target in self.graph.nodes
        return False

    def _edge_handle_ok(self, source: str, handle: str, path: str) -> bool:
        compiled = self.graph.nodes[source]
        handles = compiled.kind.handles(compiled.config)
        if compiled.node.error_strategy == ErrorStrategy.FAIL_BRANCH:
            handles = (*handles, "fail")
        if handle not in handles:
            known = ", ".join(handles) or "none: it has no outgoing edges"
            self.add(path, f"node has no handle {handle!r} (handles: {known})", source, "unknown_handle")
            return False
        return True

    def _scopes(self) -> None:
        self.graph.scopes[None] = Scope(None)
        for node in self.workflow.nodes:
            compiled = self.graph.nodes.get(node.id)
            if compiled is not None and compiled.kind.container:
                self.graph.scopes[node.id] = Scope(node.id)
        for compiled in self.graph.nodes.values():
            scope = self.graph.scopes.get(compiled.node.parent)
            if scope is not None:
                scope.node_ids.append(compiled.id)

    def _start_and_ends(self) -> None:
        starts = [n for n in self.workflow.nodes if n.type == "start" and n.parent is None]
        if len(starts) != 1:
            self.add(
                "nodes", f"a workflow needs exactly one start node (found {len(starts)})", None, "start_count"
            )
        for scope in self.graph.scopes.values():
            if scope.id is not None and not scope.node_ids:
                self.add("nodes", "container has no body nodes", scope.id, "empty_container")
        fail_nodes = {e.source for n in self.graph.nodes.values() for e in n.out_edges if e.handle == "fail"}
        for node in self.graph.nodes.values():
            if node.node.error_strategy == ErrorStrategy.FAIL_BRANCH and node.id not in fail_nodes:
                path = f"nodes.{self.position[node.id]}.error_strategy"
                self.add(
                    path, "fail_branch needs an edge from the 'fail' handle", node.id, "missing_fail_edge"
                )

    # --- order, cycles, reachability ---------------------------------------------------------------------

    def _order_scopes(self) -> bool:
        acyclic = True
        for scope in self.graph.scopes.values():
            acyclic = self._order_scope(scope) and acyclic
        return acyclic

    def _order_scope(self, scope: Scope) -> bool:
        nodes = self.graph.nodes
        indegree = {n: len(nodes[n].in_edges) for n in scope.node_ids}
        queue = deque(n for n in scope.node_ids if indegree[n] == 0)
        scope.entries = list(queue)
        order: list[str] = []
        while queue:
            current = queue.popleft()
            order.append(current)
            self.ancestors.setdefault(current, set())
            for edge in nodes[current].out_edges:
                self.ancestors.setdefault(edge.target, set()).update(self.ancestors[current], {current})
                indegree[edge.target] -= 1
                if indegree[edge.target] == 0:
                    queue.append(edge.target)
        cyclic = [n for n in scope.node_ids if indegree[n] > 0]
        if cyclic:
            where = "inside container" if scope.id else "in the graph"
            message = (
                f"cycle {where} through {', '.join(cyclic)}; use a loop or iteration node to repeat steps"
            )
            self.add("edges", message, cyclic[0], "cycle")
            return False
        scope.node_ids = order
        return True

    def _reachability(self) -> None:
        top_level = [n.id for n in self.workflow.nodes if n.parent is None]
        starts = [n for n in top_level if self._type(n) == "start"]
        reached = self._reach(starts)
        for node_id in dict.fromkeys(top_level):
            if node_id not in reached:
                path = f"nodes.{self.position[node_id]}"
                self.add(path, "node is not reachable from the start node", node_id, "unreachable")
        if starts and not any(self._type(n) in ("end", "answer") for n in reached):
            self.add("nodes", "no end or answer node is reachable from the start node", None, "no_end")

    def _type(self, node_id: str) -> str:
        return self.workflow.nodes[self.position[node_id]].type

    def _reach(self, roots: list[str]) -> set[str]:
        seen = set(roots)
        stack = list(roots)
        while stack:
            for target in self.raw_out[stack.pop()]:
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        return seen

    def _node_checks(self) -> None:
        for node in list(self.graph.nodes.values()):
            for problem in node.kind.check(node.config, node.node, self.graph):
                prefix = f"nodes.{self.position[node.id]}"
                path = f"{prefix}.{problem.path}" if problem.path else prefix
                self.problems.append(Problem(path, problem.message, problem.node_id or node.id, problem.code))

    # --- variable references -----------------------------------------------------------------------------

    def _references(self) -> None:
        env = {v.name for v in self.workflow.environment}
        conversation = {v.name for v in self.workflow.conversation_variables}
        namespaces = {"sys": set(SYS_VARIABLES), "env": env, "conversation": conversation}
        for node in self.graph.nodes.values():
            prefix = f"nodes.{self.position[node.id]}"
            for path, ref, body in node.kind.references(node.config):
                message = self._reference_problem(node, ref, body, namespaces)
                if message:
                    self.add(f"{prefix}.{path}", message, node.id, "unresolved_reference")

    def _reference_problem(
        self, node: CompiledNode, ref: Reference, body: bool, namespaces: dict[str, set[str]]
    ) -> str | None:
        if ref.root in namespaces:
            if ref.output is not None and ref.output not in namespaces[ref.root]:
                return f"{{{{ {ref} }}}}: no {ref.root} variable {ref.output!r}"
            return None
        visible = self._body_nodes(node.id) if body else self.visible_nodes(node.id)
        if ref.root not in visible:
            where = "in this container's body" if body else "upstream"
            return f"{{{{ {ref} }}}}: no node {ref.root!r} {where}"
        outputs = visible[ref.root]
        if ref.output is not None and outputs is not None and ref.output not in outputs:
            names = ", ".join(outputs) or "none"
            return f"{{{{ {ref} }}}}: node {ref.root!r} has no output {ref.output!r} (outputs: {names})"
        return None

    def visible_nodes(self, node_id: str) -> dict[str, Mapping[str, str] | None]:
        visible: dict[str, Mapping[str, str] | None] = {}
        current: str | None = node_id
        while current is not None:
            for ancestor in self.ancestors.get(current, ()):
                visible[ancestor] = self.graph.declared_outputs.get(ancestor)
            parent = self._parent(current)
            if parent is not None and parent in self.graph.nodes:
                container = self.graph.nodes[parent]
                visible[parent] = container.kind.body_names(container.config)
            current = parent
        return visible

    def _body_nodes(self, container_id: str) -> dict[str, Mapping[str, str] | None]:
        scope = self.graph.scopes.get(container_id)
        visible = {n: self.graph.declared_outputs.get(n) for n in (scope.node_ids if scope else [])}
        container = self.graph.nodes[container_id]
        visible[container_id] = container.kind.body_names(container.config)  # its item, index, variables
        return visible

    # --- resume ------------------------------------------------------------------------------------------

    def _replayable_bodies(self) -> None:
        nodes = self.graph.nodes
        replayable: dict[str, bool] = {}

        def check(container_id: str) -> bool:
            if container_id not in replayable:
                replayable[container_id] = False  # a nesting cycle (reported elsewhere) ends here
                scope = self.graph.scopes.get(container_id)
                replayable[container_id] = scope is not None and all(
                    (node := nodes.get(n)) is not None
                    and (node.kind.pure or (node.kind.container and check(n)))
                    for n in scope.node_ids
                )
            return replayable[container_id]

        self.graph.replayable_bodies = frozenset(n for n, c in nodes.items() if c.kind.container and check(n))

    # --- streaming ---------------------------------------------------------------------------------------

    def _stream_sources(self) -> None:
        for node in self.graph.nodes.values():
            if node.stream_template is not None:
                self.graph.stream_sources[node.id] = frozenset(self._unconditional_sources(node.id))
        if not self.graph.stream_sources:
            self.graph.reply_sources = frozenset(self._reply_sources())

    def _reply_sources(self) -> set[str]:
        sources: set[str] = set()
        for node in self.graph.nodes.values():
            outputs = getattr(node.config, "outputs", None)
            if node.node.type != "end" or node.node.parent is not None or not isinstance(outputs, dict):
                continue
            selector = outputs.get("answer") or (next(iter(outputs.values())) if len(outputs) == 1 else None)
            source, _, field_name = str(selector or "").partition(".")
            if field_name == "text" and source in self._unconditional_sources(node.id):
                sources.add(source)
        return sources

    def _unconditional_sources(self, answer_id: str) -> set[str]:
        # A source "guarantees" the answer when a chain of plain "source" edges through nodes that cannot
        # branch leads from it to the answer: once the source succeeds, the answer will run.
        sources: set[str] = set()
        stack = [answer_id]
        preds: dict[str, list[CompiledEdge]] = defaultdict(list)
        for n in self.graph.nodes.values():
            for e in n.in_edges:
                preds[e.target].append(e)
        while stack:
            for edge in preds[stack.pop()]:
                source = self.graph.nodes[edge.source]
                if edge.handle != "source" or source.node.error_strategy == ErrorStrategy.FAIL_BRANCH:
                    continue
                if edge.source not in sources:
                    sources.add(edge.source)
                    if source.kind.handles(source.config) == ("source",):
                        stack.append(edge.source)
        return sources
