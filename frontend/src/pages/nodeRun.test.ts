import { describe, expect, it } from "vitest";
import { enteredValue, nodeRunValues } from "./WorkflowEditor";

describe("single-node run values", () => {
  it("reads JSON when it parses and text otherwise", () => {
    expect(enteredValue("[1, 2]")).toEqual([1, 2]);
    expect(enteredValue("42")).toBe(42);
    expect(enteredValue("你好，世界")).toBe("你好，世界");
    expect(enteredValue("")).toBe("");
  });

  it("groups the fields by upstream node and leaves the start node's to the inputs", () => {
    const reads = { start: ["query"], retrieve: ["result"], classify: null };
    const fields = { "start.query": "hi", "retrieve.result": '[{"content": "doc"}]', classify: '{"class_name": "billing"}' };
    expect(nodeRunValues(fields, reads, new Set(["start"]))).toEqual({
      retrieve: { result: [{ content: "doc" }] },
      classify: { class_name: "billing" },
    });
  });

  it("wraps a whole node given as a non-object, and leaves unfilled outputs empty", () => {
    expect(nodeRunValues({ code: "3" }, { code: null, llm: ["text"] }, new Set())).toEqual({ code: { value: 3 }, llm: { text: "" } });
  });
});
