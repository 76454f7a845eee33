import { describe, expect, it } from "vitest";
import { CATEGORIES, CODE_TEMPLATE, configOf, formOf, KINDS, kindSpec } from "./evaluatorKinds";

describe("evaluator kinds", () => {
  it("offers each kind once, in a known category", () => {
    const names = KINDS.map((k) => k.kind);
    expect(new Set(names).size).toBe(names.length);
    expect(KINDS.every((k) => (CATEGORIES as readonly string[]).includes(k.category))).toBe(true);
    expect(kindSpec("llm_judge")?.fields.map((f) => f.name)).toEqual(["model", "rubric", "scale", "threshold", "prompt"]);
  });

  it("leaves empty fields out so the server's defaults apply, and sends numbers as numbers", () => {
    expect(configOf("llm_judge", { model: "qwen", rubric: "Same meaning", scale: "", threshold: "0.7", prompt: "" })).toEqual({
      config: { model: "qwen", rubric: "Same meaning", threshold: 0.7 },
    });
    expect(configOf("retrieval", { knowledge_base: "docs", top_k: "20", hit_at: "" })).toEqual({ config: { knowledge_base: "docs", top_k: 20 } });
  });

  it("sends text that is not a number as it is, for the server to name the field", () => {
    expect(configOf("latency_ms_max", { max: "fast" })).toEqual({ config: { max: "fast" } });
  });

  it("turns lines into a list, switches into true only when on", () => {
    expect(configOf("contains_any", { values: "Paris\n\n 巴黎 \n", case_sensitive: true, negate: false })).toEqual({
      config: { values: ["Paris", "巴黎"], case_sensitive: true },
    });
  });

  it("names a JSON field that does not parse", () => {
    expect(configOf("json_schema", { schema: "{type: object}" })).toEqual({ problems: { schema: "datasets.invalidJson" } });
    expect(configOf("json_schema", { schema: '{"type": "object"}' })).toEqual({ config: { schema: { type: "object" } } });
  });

  it("shows a saved config in the form and back", () => {
    const config = { pattern: "\\[\\d+\\]", case_sensitive: true, negate: false };
    const values = formOf("regex", config);
    expect(values).toEqual({ pattern: "\\[\\d+\\]", case_sensitive: true, negate: false });
    expect(configOf("regex", values)).toEqual({ config: { pattern: "\\[\\d+\\]", case_sensitive: true } });
    expect(formOf("json_schema", { schema: { type: "object" } }).schema).toBe('{\n  "type": "object"\n}');
    expect(formOf("contains_all", { values: ["a", "b"] }).values).toBe("a\nb");
    expect(formOf("code", {}).code).toBe(CODE_TEMPLATE);
  });
});
