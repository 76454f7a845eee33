import { describe, expect, it } from "vitest";
import { gateFor, gatedResource, type LabelGateRow } from "./gates";

const gate = (over: Partial<LabelGateRow>): LabelGateRow => ({ kind: "workflow", workflow: null, prompt: null, chain: null, label: "production", min_pass_rate: 0.8, min_score: null, ...over });

describe("gates", () => {
  it("reads the resource from a versions base", () => {
    expect(gatedResource("/api/workspaces/team/workflows/greet/")).toEqual({ kind: "workflow", slug: "greet" });
    expect(gatedResource("/api/workspaces/team/model-endpoints/gpt/")).toBeNull();
  });

  it("prefers the resource's own gate over the workspace's", () => {
    const gates = [gate({ min_pass_rate: 0.5 }), gate({ workflow: "greet", min_pass_rate: 0.9 }), gate({ kind: "prompt", min_pass_rate: 0.1 })];
    expect(gateFor(gates, { kind: "workflow", slug: "greet" }, "production")?.min_pass_rate).toBe(0.9);
    expect(gateFor(gates, { kind: "workflow", slug: "other" }, "production")?.min_pass_rate).toBe(0.5);
    expect(gateFor(gates, { kind: "workflow", slug: "greet" }, "staging")).toBeNull();
  });
});
