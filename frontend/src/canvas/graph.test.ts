import { describe, expect, it } from "vitest";
import type { DslWorkflow } from "../api/workflow";
import { BOX_HEADER, absolutePosition, addNode, boxSizes, connect, containerAt, duplicate, edgeId, moveNodes, newNodeId, problemsByNode, removeNodes, toCanvas } from "./graph";
import * as history from "./history";
import { autoLayout, needsLayout } from "./layout";

const base: DslWorkflow = {
  nodes: [
    { id: "start", type: "start", position: { x: 0, y: 0 } },
    { id: "end", type: "end", position: { x: 300, y: 0 } },
  ],
  edges: [{ source: "start", target: "end" }],
};

describe("graph editing", () => {
  it("gives new nodes unused ids", () => {
    const one = addNode(base, "llm", { stream: true }, { x: 1, y: 2 });
    const two = addNode(one, "llm", {}, { x: 1, y: 2 });
    expect(two.nodes.map((n) => n.id)).toEqual(["start", "end", "llm", "llm_2"]);
    expect(newNodeId(two, "start")).toBe("start_2");
  });

  it("removes a node with its edges and never connects a node to itself or twice", () => {
    expect(removeNodes(base, new Set(["end"]))).toEqual({ nodes: [base.nodes[0]], edges: [] });
    expect(connect(base, "start", "start")).toBe(base);
    expect(connect(base, "start", "end")).toBe(base);
    expect(connect(base, "start", "end", "yes").edges.at(-1)).toEqual({ source: "start", target: "end", source_handle: "yes" });
  });

  it("pastes copies with fresh ids, offset, keeping the edges among them", () => {
    const pasted = duplicate(base, base.nodes, base.edges);
    expect(pasted.nodes.map((n) => n.id)).toEqual(["start", "end", "start_2", "end_2"]);
    expect(pasted.nodes[2]?.position).toEqual({ x: 40, y: 40 });
    expect(pasted.edges.at(-1)).toEqual({ source: "start_2", target: "end_2" });
  });

  it("rounds moved positions", () => {
    const moved = moveNodes(base, new Map([["end", { x: 10.6, y: 3.2 }]]));
    expect(moved.nodes[1]?.position).toEqual({ x: 11, y: 3 });
  });

  it("pins problems on their nodes and builds canvas nodes with handles and status", () => {
    const problems = [
      { path: "nodes.1.config.outputs", message: "required", node_id: "end", code: "missing" },
      { path: "", message: "no start", node_id: null, code: "x" },
    ];
    expect(problemsByNode(problems).get("end")).toEqual(["nodes.1.config.outputs: required"]);
    const canvas = toCanvas(base, problems, (n) => (n.type === "end" ? [] : ["source"]), { start: "succeeded" });
    expect(canvas.nodes[1]?.data.problems).toHaveLength(1);
    expect(canvas.nodes[0]?.data.status).toBe("succeeded");
    expect(canvas.edges[0]?.id).toBe(edgeId(base.edges[0]!));
  });
});

describe("layout", () => {
  it("places nodes without positions left to right", () => {
    const bare: DslWorkflow = { nodes: base.nodes.map((n) => ({ ...n, position: null })), edges: base.edges };
    expect(needsLayout(bare)).toBe(true);
    const placed = autoLayout(bare);
    expect(needsLayout(placed)).toBe(false);
    expect(placed.nodes[1]!.position!.x).toBeGreaterThan(placed.nodes[0]!.position!.x);
  });
});

const loop: DslWorkflow = {
  nodes: [
    { id: "start", type: "start", position: null },
    { id: "body_b", type: "template", parent: "each", position: null },
    { id: "each", type: "iteration", position: null },
    { id: "body_a", type: "template", parent: "each", position: null },
    { id: "end", type: "end", position: null },
  ],
  edges: [{ source: "start", target: "each" }, { source: "body_a", target: "body_b" }, { source: "each", target: "end" }],
};

describe("containers drawn as boxes around their bodies", () => {
  it("lays out the body inside the box, left to right, and the box among the top-level nodes", () => {
    const placed = autoLayout(loop);
    const at = (id: string) => placed.nodes.find((n) => n.id === id)!.position!;
    expect(at("body_a").y).toBeGreaterThanOrEqual(BOX_HEADER); // relative to the box, below its header
    expect(at("body_b").x).toBeGreaterThan(at("body_a").x);
    const box = boxSizes(placed).get("each")!;
    expect(box.width).toBeGreaterThan(at("body_b").x + 200);
    expect(at("end").x).toBeGreaterThanOrEqual(at("each").x + box.width); // the box pushes the next node right
  });

  it("draws a container before its body, the body inside it", () => {
    const canvas = toCanvas(autoLayout(loop), [], () => ["source"]);
    const order = canvas.nodes.map((n) => n.id);
    expect(order.indexOf("each")).toBeLessThan(order.indexOf("body_b"));
    const body = canvas.nodes.find((n) => n.id === "body_b")!;
    expect(body.parentId).toBe("each");
    expect(body.extent).toBe("parent");
    expect(canvas.nodes.find((n) => n.id === "each")!.data.box).toBeDefined();
  });

  it("finds the box a point falls in, and a deleted box takes its body along", () => {
    const placed = autoLayout(loop);
    const origin = absolutePosition(placed, "each");
    const inside = { x: origin.x + 30, y: origin.y + BOX_HEADER + 10 };
    expect(containerAt(placed, inside, new Set(["iteration"]))).toBe("each");
    expect(containerAt(placed, { x: origin.x - 500, y: origin.y }, new Set(["iteration"]))).toBeNull();
    expect(absolutePosition(placed, "body_a").x).toBe(origin.x + placed.nodes.find((n) => n.id === "body_a")!.position!.x);
    expect(removeNodes(placed, new Set(["each"])).nodes.map((n) => n.id)).toEqual(["start", "end"]);
  });
});

describe("undo and redo", () => {
  it("steps back and forth and drops the future on a new change", () => {
    let h = history.start(1);
    h = history.push(h, 2);
    h = history.push(h, 3);
    h = history.undo(h);
    expect(h.present).toBe(2);
    h = history.redo(h);
    expect(h.present).toBe(3);
    h = history.push(history.undo(h), 9);
    expect(h.future).toEqual([]);
    expect(history.undo(history.start(1)).present).toBe(1);
  });
});
