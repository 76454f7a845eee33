"""Running one node of a workflow on its own, with hand-entered values for what it reads upstream.

``node_debug_plan`` turns a workflow and a node id into a smaller, valid workflow: the node, the nodes
upstream of it (the executor restores them from checkpoints the caller writes with the entered values, so
they do not run), the node's container body when it is a container, and an end node that returns the node's
outputs. Nothing downstream of the node is kept, so nothing downstream runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workflows._dsl import Edge, Node, Workflow
from workflows._errors import Problem, WorkflowValidationError
from workflows._validation import _as_workflow, _Compiler, compile_workflow, node_reads, with_bodies


@dataclass(frozen=True, slots=True)
class NodeDebugPlan:
    """What it takes to run one node alone.

    ``workflow``: the smaller workflow to run. ``restore``: each upstream node (the start node excepted: it
    takes the run's inputs) with the branch handle to restore it on, the one leading to the node.
    ``references``: the upstream nodes the node reads, each with the output names it reads (None: the node
    reads the whole of that node), which is what a person has to enter; the start node's are the run's inputs.
    """

    workflow: Workflow
    restore: dict[str, str]
    references: dict[str, list[str] | None]


def node_debug_plan(source: Workflow | Mapping[str, Any] | str, node_id: str) -> NodeDebugPlan:
    """The plan to run node ``node_id`` of a valid workflow on its own.

    Raises ``WorkflowValidationError``: the workflow's own problems, or one on ``node`` when the node does
    not exist or sits inside a container (it runs with its container).
    """
    workflow = _as_workflow(source)
    compiler = _Compiler(workflow)
    graph = compiler.compile()
    if compiler.problems:
        raise WorkflowValidationError(compiler.problems)
    target = graph.nodes.get(node_id)
    if target is None:
        raise WorkflowValidationError([Problem("node", f"no node {node_id!r} in this workflow")])
    if target.node.parent is not None:
        message = f"node {node_id!r} is inside container {target.node.parent!r}: run the container instead"
        raise WorkflowValidationError([Problem("node", message, node_id)])
    upstream = compiler.ancestors.get(node_id, set())
    kept = with_bodies(workflow, upstream | {node_id})
    restore = {
        nid: next(e.handle for e in graph.nodes[nid].out_edges if e.target in upstream | {node_id})
        for nid in upstream
        if graph.nodes[nid].node.type != "start"
    }
    nodes = [n for n in workflow.nodes if n.id in kept]
    edges = [e for e in workflow.edges if e.source in kept and e.target in kept]
    if target.node.type not in ("end", "answer"):
        end_id = _free_id(kept, "debug_end")
        declared = graph.declared_outputs.get(node_id) or {}
        nodes.append(Node(id=end_id, type="end", config={"outputs": {n: f"{node_id}.{n}" for n in declared}}))
        edges += [
            Edge(source=node_id, target=end_id, source_handle=handle)
            for handle in target.kind.handles(target.config)
        ]
    inputs = [field.model_copy(update={"required": False}) for field in workflow.inputs]
    smaller = workflow.model_copy(update={"nodes": nodes, "edges": edges, "outputs": [], "inputs": inputs})
    compile_workflow(smaller)  # a plan that does not compile is an engine bug: raise it here, not in a run
    return NodeDebugPlan(smaller, restore, node_reads(graph.nodes, kept - upstream, upstream))


def _free_id(taken: set[str], wanted: str) -> str:
    candidate, n = wanted, 1
    while candidate in taken:
        n += 1
        candidate = f"{wanted}_{n}"
    return candidate
