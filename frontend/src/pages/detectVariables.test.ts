import { describe, expect, it } from "vitest";
import { en } from "../locales/en";
import { zh } from "../locales/zh";
import { detectVariables } from "./PromptDetail";
import { fieldErrors, freeSpot } from "./WorkflowEditor";

describe("prompt variables", () => {
  it("finds the variables a template reads, not filters, loop variables or keywords", () => {
    expect(detectVariables("Hi {{ name }}! {% for item in items %}{{ item.title | upper }}{% endfor %} {% if vip %}★{% endif %}")).toEqual(["name", "items", "vip"]);
    expect(detectVariables("用一句话总结：{{ text }}")).toEqual(["text"]);
    expect(detectVariables("{{ 'literal' }}")).toEqual([]);
  });
});

describe("editor helpers", () => {
  it("maps engine problem paths to config fields of one node", () => {
    const problems = [
      { path: "nodes.2.config.model", message: "required", node_id: "llm", code: "x" },
      { path: "nodes.2.config.messages.0.content", message: "bad", node_id: "llm", code: "x" },
      { path: "nodes.1.config.model", message: "other node", node_id: "b", code: "x" },
    ];
    expect(fieldErrors(problems, 2)).toEqual({ model: ["required"], messages: ["bad"] });
  });

  it("puts a new node where no node is", () => {
    const workflow = { nodes: [{ id: "a", type: "start", position: { x: 0, y: 0 } }], edges: [] };
    expect(freeSpot(workflow, { x: 10, y: 10 })).toEqual({ x: 10, y: 110 });
    expect(freeSpot(workflow, { x: 500, y: 0 })).toEqual({ x: 500, y: 0 });
  });
});

describe("UI text", () => {
  it("has every English key in Chinese", () => {
    const keys = (o: object, prefix = ""): string[] =>
      Object.entries(o).flatMap(([k, v]) => (typeof v === "object" ? keys(v as object, `${prefix}${k}.`) : [`${prefix}${k}`]));
    expect(keys(zh).sort()).toEqual(keys(en).sort());
  });
});
