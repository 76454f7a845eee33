// Converting between the workflow DSL and the canvas's nodes and edges, and editing operations on the DSL.
import type { Edge, Node } from "@xyflow/react";
import type { DslEdge, DslNode, DslWorkflow, Problem } from "../api/workflow";

export interface CanvasNodeData extends Record<string, unknown> {
  dsl: DslNode;
  problems: string[];
  status?: "running" | "succeeded" | "failed" | "skipped";
  handles: string[];
}

export type CanvasNode = Node<CanvasNodeData, "dsl">;

export function edgeId(edge: DslEdge): string {
  return edge.id ?? `${edge.source}:${edge.source_handle ?? "source"}->${edge.target}`;
}

/** The problems of each node (by id); problems with no node go under "". */
export function problemsByNode(problems: Problem[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const problem of problems) {
    const key = problem.node_id ?? "";
    const list = out.get(key) ?? [];
    list.push(problem.path ? `${problem.path}: ${problem.message}` : problem.message);
    out.set(key, list);
  }
  return out;
}

export function toCanvas(
  workflow: DslWorkflow,
  problems: Problem[],
  handlesOf: (node: DslNode) => string[],
  status: Record<string, CanvasNodeData["status"]> = {},
): { nodes: CanvasNode[]; edges: Edge[] } {
  const byNode = problemsByNode(problems);
  const nodes: CanvasNode[] = workflow.nodes.map((node, index) => ({
    id: node.id,
    type: "dsl",
    position: node.position ?? { x: 0, y: index * 120 },
    data: { dsl: node, problems: byNode.get(node.id) ?? [], status: status[node.id], handles: handlesOf(node) },
  }));
  const edges: Edge[] = workflow.edges.map((edge) => ({
    id: edgeId(edge),
    source: edge.source,
    target: edge.target,
    sourceHandle: edge.source_handle ?? "source",
  }));
  return { nodes, edges };
}

/** A fresh node id for `type` that no node of `workflow` has (`llm`, `llm_2`, ...). */
export function newNodeId(workflow: DslWorkflow, type: string): string {
  const taken = new Set(workflow.nodes.map((n) => n.id));
  if (!taken.has(type)) return type;
  for (let i = 2; ; i += 1) {
    const id = `${type}_${i}`;
    if (!taken.has(id)) return id;
  }
}

export function addNode(
  workflow: DslWorkflow,
  type: string,
  config: Record<string, unknown>,
  position: { x: number; y: number },
): DslWorkflow {
  const id = newNodeId(workflow, type);
  return { ...workflow, nodes: [...workflow.nodes, { id, type, config: structuredClone(config), position }] };
}

export function removeNodes(workflow: DslWorkflow, ids: Set<string>): DslWorkflow {
  return {
    ...workflow,
    nodes: workflow.nodes.filter((n) => !ids.has(n.id)),
    edges: workflow.edges.filter((e) => !ids.has(e.source) && !ids.has(e.target)),
  };
}

export function removeEdges(workflow: DslWorkflow, ids: Set<string>): DslWorkflow {
  return { ...workflow, edges: workflow.edges.filter((e) => !ids.has(edgeId(e))) };
}

export function connect(workflow: DslWorkflow, source: string, target: string, handle = "source"): DslWorkflow {
  if (source === target) return workflow;
  const exists = workflow.edges.some(
    (e) => e.source === source && e.target === target && (e.source_handle ?? "source") === handle,
  );
  if (exists) return workflow;
  const edge: DslEdge = handle === "source" ? { source, target } : { source, target, source_handle: handle };
  return { ...workflow, edges: [...workflow.edges, edge] };
}

export function updateNode(workflow: DslWorkflow, id: string, patch: Partial<DslNode>): DslWorkflow {
  return { ...workflow, nodes: workflow.nodes.map((n) => (n.id === id ? { ...n, ...patch } : n)) };
}

export function moveNodes(workflow: DslWorkflow, positions: Map<string, { x: number; y: number }>): DslWorkflow {
  return {
    ...workflow,
    nodes: workflow.nodes.map((n) => {
      const p = positions.get(n.id);
      return p ? { ...n, position: { x: Math.round(p.x), y: Math.round(p.y) } } : n;
    }),
  };
}

/** Copies of `ids` with fresh ids, offset, and the edges among them (paste). */
export function duplicate(workflow: DslWorkflow, nodes: DslNode[], edges: DslEdge[]): DslWorkflow {
  let next = workflow;
  const renamed = new Map<string, string>();
  for (const node of nodes) {
    const id = newNodeId(next, node.type);
    renamed.set(node.id, id);
    const position = node.position ? { x: node.position.x + 40, y: node.position.y + 40 } : null;
    next = { ...next, nodes: [...next.nodes, { ...structuredClone(node), id, position }] };
  }
  for (const edge of edges) {
    const source = renamed.get(edge.source);
    const target = renamed.get(edge.target);
    if (source && target) next = connect(next, source, target, edge.source_handle ?? "source");
  }
  return next;
}
