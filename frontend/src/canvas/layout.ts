// Automatic layout (dagre, left to right) for graphs without positions, such as imported ones: each
// container's body is laid out inside its box first, then the top level with the boxes' sizes.
import dagre from "@dagrejs/dagre";
import type { DslNode, DslWorkflow } from "../api/workflow";
import { BOX_HEADER, BOX_MARGIN, NODE_HEIGHT, NODE_WIDTH, bodies } from "./graph";

export { NODE_HEIGHT, NODE_WIDTH };

export function needsLayout(workflow: DslWorkflow): boolean {
  return workflow.nodes.some((n) => !n.position);
}

/** Place `nodes` (one level: the top, or one body) with dagre; positions start at `origin`. */
function place(nodes: DslNode[], workflow: DslWorkflow, sizes: Map<string, { width: number; height: number }>, origin: { x: number; y: number }): Map<string, { x: number; y: number }> {
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: "LR", nodesep: 40, ranksep: 80, marginx: 0, marginy: 0 });
  graph.setDefaultEdgeLabel(() => ({}));
  const here = new Set(nodes.map((n) => n.id));
  for (const node of nodes) graph.setNode(node.id, sizes.get(node.id) ?? { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const edge of workflow.edges) if (here.has(edge.source) && here.has(edge.target)) graph.setEdge(edge.source, edge.target);
  dagre.layout(graph);
  const out = new Map<string, { x: number; y: number }>();
  let minX = Infinity;
  let minY = Infinity;
  for (const node of nodes) {
    const placed = graph.node(node.id);
    const size = sizes.get(node.id) ?? { width: NODE_WIDTH, height: NODE_HEIGHT };
    const at = { x: placed.x - size.width / 2, y: placed.y - size.height / 2 };
    minX = Math.min(minX, at.x);
    minY = Math.min(minY, at.y);
    out.set(node.id, at);
  }
  for (const [id, at] of out) out.set(id, { x: Math.round(at.x - minX + origin.x), y: Math.round(at.y - minY + origin.y) });
  return out;
}

/** The workflow with every node placed: bodies inside their boxes (relative positions), then the top level. */
export function autoLayout(workflow: DslWorkflow): DslWorkflow {
  const inside = bodies(workflow);
  const inBody = new Set([...inside.values()].flat().map((n) => n.id));
  const sizes = new Map<string, { width: number; height: number }>();
  const positions = new Map<string, { x: number; y: number }>();
  const layBody = (id: string, seen: Set<string>): void => {
    const body = inside.get(id) ?? [];
    for (const child of body) if (inside.has(child.id) && !seen.has(child.id)) layBody(child.id, new Set([...seen, child.id]));
    const placed = place(body, workflow, sizes, { x: BOX_MARGIN, y: BOX_HEADER });
    let width = 320;
    let height = 160;
    for (const child of body) {
      const at = placed.get(child.id) ?? { x: BOX_MARGIN, y: BOX_HEADER };
      const size = sizes.get(child.id) ?? { width: NODE_WIDTH, height: NODE_HEIGHT };
      positions.set(child.id, at);
      width = Math.max(width, at.x + size.width + BOX_MARGIN);
      height = Math.max(height, at.y + size.height + BOX_MARGIN);
    }
    sizes.set(id, { width, height });
  };
  for (const id of inside.keys()) if (!inBody.has(id)) layBody(id, new Set([id]));
  for (const [id, at] of place(workflow.nodes.filter((n) => !inBody.has(n.id)), workflow, sizes, { x: 0, y: 0 })) positions.set(id, at);
  return { ...workflow, nodes: workflow.nodes.map((node) => ({ ...node, position: positions.get(node.id) ?? node.position ?? null })) };
}
