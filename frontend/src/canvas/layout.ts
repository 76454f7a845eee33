// Automatic layout (dagre, left to right) for graphs without positions, such as imported ones.
import dagre from "@dagrejs/dagre";
import type { DslWorkflow } from "../api/workflow";

export const NODE_WIDTH = 220;
export const NODE_HEIGHT = 72;

export function needsLayout(workflow: DslWorkflow): boolean {
  return workflow.nodes.some((n) => !n.position);
}

/** The workflow with every top-level node placed by dagre (container bodies are placed inside later). */
export function autoLayout(workflow: DslWorkflow): DslWorkflow {
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: "LR", nodesep: 40, ranksep: 80 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of workflow.nodes) graph.setNode(node.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const edge of workflow.edges) graph.setEdge(edge.source, edge.target);
  dagre.layout(graph);
  return {
    ...workflow,
    nodes: workflow.nodes.map((node) => {
      const placed = graph.node(node.id);
      return placed
        ? { ...node, position: { x: Math.round(placed.x - NODE_WIDTH / 2), y: Math.round(placed.y - NODE_HEIGHT / 2) } }
        : node;
    }),
  };
}
