import { describe, expect, it } from "vitest";
import { comparedRows } from "./CompareView";
import type { ItemRow } from "./types";

function item(item_id: string, passed: boolean, repetition = 0): ItemRow {
  return { id: 0, item_id, repetition, inputs: {}, expected: null, status: "scored", output: item_id, error: "", scores: [], score: passed ? 1 : 0, passed, verdict: null, human_score: null, comment: "", reviewed_by: null, assigned_to: null, locked_by: null, locked_until: null };
}

describe("comparedRows", () => {
  it("pairs common items, regressions first, then improvements", () => {
    const base = [item("a", true), item("b", false), item("c", true), item("only-base", true)];
    const other = [item("a", true), item("b", true), item("c", false), item("only-other", false)];
    const rows = comparedRows(base, other, ["c#0"], ["b#0"]);
    expect(rows.map((r) => [r.key, r.change])).toEqual([
      ["c#0", "regression"],
      ["b#0", "improvement"],
      ["a#0", "same"],
    ]);
  });
});
