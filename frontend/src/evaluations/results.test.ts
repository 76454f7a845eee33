import { describe, expect, it } from "vitest";
import { lockedByOther, lockOf, resultRows } from "./results";
import type { ItemRow } from "./types";

function item(id: number, score: number | null, scores: ItemRow["scores"] = [], lock: Partial<ItemRow> = {}): ItemRow {
  return {
    id, item_id: `case-${id}`, repetition: 0, inputs: {}, expected: null, status: "scored", output: "", error: "", scores, score,
    passed: score === null ? null : score >= 0.5, verdict: null, human_score: null, comment: "", reviewed_by: null, assigned_to: null,
    locked_by: null, locked_until: null, ...lock,
  };
}

const exact = (score: number) => ({ evaluator: "exact", score, passed: score >= 1 });

describe("resultRows", () => {
  const items = [item(1, 0.9, [exact(0)]), item(2, null), item(3, 0.2, [exact(1)])];

  it("keeps the server's order, or sorts by score with unscored items last", () => {
    expect(resultRows(items, { evaluator: null, byScore: false }).map((r) => r.item.id)).toEqual([1, 2, 3]);
    expect(resultRows(items, { evaluator: null, byScore: true }).map((r) => r.item.id)).toEqual([3, 1, 2]);
  });

  it("narrows to one evaluator's items and shows and sorts by its score", () => {
    const rows = resultRows(items, { evaluator: "exact", byScore: true });
    expect(rows.map((r) => [r.item.id, r.score, r.passed])).toEqual([
      [1, 0, false],
      [3, 1, true],
    ]);
  });
});

describe("review locks", () => {
  const now = Date.parse("2026-12-04T16:00:00Z");
  const held = item(1, 1, [], { locked_by: "ann", locked_until: "2026-12-04T16:10:00Z" });
  const expired = item(2, 1, [], { locked_by: "ann", locked_until: "2026-12-04T15:59:00Z" });

  it("holds until its time, then holds nothing", () => {
    expect(lockOf(held, now)?.by).toBe("ann");
    expect(lockOf(expired, now)).toBeNull();
    expect(lockOf(item(3, 1), now)).toBeNull();
  });

  it("blocks reviewers other than its holder", () => {
    expect(lockedByOther(held, "bob", now)).toBe(true);
    expect(lockedByOther(held, "ann", now)).toBe(false);
    expect(lockedByOther(expired, "bob", now)).toBe(false);
  });
});
