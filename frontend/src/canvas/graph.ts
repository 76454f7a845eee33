// Converting between the workflow DSL and the canvas's nodes and edges, and editing operations on the DSL.
import type { Edge, Node } from "@xyflow/react";
import type { DslEdge, DslNode, DslWorkflow, Problem } from "../api/workflow";

export interface CanvasNodeData extends Record<string, unknown> {
  dsl: DslNode;
  problems: string[];
  status?: "running" | "succeeded" | "failed" | "skipped";
  handles: string[];
  /** A container (iteration, loop) drawn as a box around its body: its size. */
  box?: { width: number; height: number };
}

// A node's size on the canvas (the layout and the container boxes use them too).
export const NODE_WIDTH = 220;
export const NODE_HEIGHT = 72;
/** Space inside a container box: a header above its body, a margin around it. */
export const BOX_HEADER = 50;
export const BOX_MARGIN = 20;

/** The nodes whose `parent` names an existing node (the bodies of containers), by container id. */
export function bodies(workflow: DslWorkflow): Map<string, DslNode[]> {
  const ids = new Set(workflow.nodes.map((n) => n.id));
  const out = new Map<string, DslNode[]>();
  for (const node of workflow.nodes) {
    if (node.parent && ids.has(node.parent) && node.parent !== node.id) out.set(node.parent, [...(out.get(node.parent) ?? []), node]);
  }
  return out;
}

/** Each container's box, from its body's positions (relative to the box), inner containers first. */
export function boxSizes(workflow: DslWorkflow): Map<string, { width: number; height: number }> {
  const inside = bodies(workflow);
  const sizes = new Map<string, { width: number; height: number }>();
  const sizeOf = (id: string, seen: Set<string>): { width: number; height: number } => {
    const known = sizes.get(id);
    if (known) return known;
    let width = 320;
    let height = 160;
    for (const child of inside.get(id) ?? []) {
      const own = inside.has(child.id) && !seen.has(child.id) ? sizeOf(child.id, new Set([...seen, child.id])) : { width: NODE_WIDTH, height: NODE_HEIGHT };
      const at = child.position ?? { x: BOX_MARGIN, y: BOX_HEADER };
      width = Math.max(width, at.x + own.width + BOX_MARGIN);
      height = Math.max(height, at.y + own.height + BOX_MARGIN);
    }
    const size = { width, height };
    sizes.set(id, size);
    return size;
  };
  for (const id of inside.keys()) sizeOf(id, new Set([id]));
  return sizes;
}

/** Nodes ordered so that every container comes before its body (the canvas needs parents first). */
function parentsFirst(workflow: DslWorkflow): DslNode[] {
  const byId = new Map(workflow.nodes.map((n) => [n.id, n]));
  const depth = (node: DslNode): number => {
    let d = 0;
    for (let at = node; at.parent && byId.has(at.parent) && d < 20; at = byId.get(at.parent) as DslNode) d += 1;
    return d;
  };
  return [...workflow.nodes].map((n, i) => ({ n, i, d: depth(n) })).sort((a, b) => a.d - b.d || a.i - b.i).map((x) => x.n);
}

/** A node's position on the whole canvas (body positions are relative to their container). */
export function absolutePosition(workflow: DslWorkflow, id: string): { x: number; y: number } {
  const byId = new Map(workflow.nodes.map((n) => [n.id, n]));
  let x = 0;
  let y = 0;
  for (let at = byId.get(id), hops = 0; at && hops < 20; at = at.parent ? byId.get(at.parent) : undefined, hops += 1) {
    x += at.position?.x ?? 0;
    y += at.position?.y ?? 0;
  }
  return { x, y };
}

/** The innermost container whose box holds the canvas point `at` (a node dropped there joins its body). */
export function containerAt(workflow: DslWorkflow, at: { x: number; y: number }, containers: Set<string>): string | null {
  const sizes = boxSizes(workflow);
  let found: string | null = null;
  let smallest = Infinity;
  for (const node of workflow.nodes) {
    if (!containers.has(node.type)) continue;
    const origin = absolutePosition(workflow, node.id);
    const size = sizes.get(node.id) ?? { width: 320, height: 160 };
    const inside = at.x >= origin.x && at.y >= origin.y + BOX_HEADER && at.x <= origin.x + size.width && at.y <= origin.y + size.height;
    if (inside && size.width * size.height < smallest) {
      found = node.id;
      smallest = size.width * size.height;
    }
  }
  return found;
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
  const ids = new Set(workflow.nodes.map((n) => n.id));
  const sizes = boxSizes(workflow);
  const nodes: CanvasNode[] = parentsFirst(workflow).map((node, index) => {
    const box = sizes.get(node.id);
    const inBox = node.parent && ids.has(node.parent) && node.parent !== node.id ? node.parent : undefined;
    return {
      id: node.id,
      type: "dsl",
      position: node.position ?? { x: inBox ? BOX_MARGIN : 0, y: inBox ? BOX_HEADER : index * 120 },
      ...(inBox ? { parentId: inBox, extent: "parent" as const } : {}),
      ...(box ? { style: { width: box.width, height: box.height }, zIndex: -1 } : {}),
      data: { dsl: node, problems: byNode.get(node.id) ?? [], status: status[node.id], handles: handlesOf(node), ...(box ? { box } : {}) },
    };
  });
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
  parent: string | null = null,
): DslWorkflow {
  const id = newNodeId(workflow, type);
  const node: DslNode = { id, type, config: structuredClone(config), position, ...(parent ? { parent } : {}) };
  return { ...workflow, nodes: [...workflow.nodes, node] };
}

export function removeNodes(workflow: DslWorkflow, removed: Set<string>): DslWorkflow {
  // A container goes with its body (at any depth).
  const ids = new Set(removed);
  for (let grew = true; grew; ) {
    grew = false;
    for (const n of workflow.nodes) if (n.parent && ids.has(n.parent) && !ids.has(n.id)) { ids.add(n.id); grew = true; }
  }
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
