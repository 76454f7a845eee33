import { describe, expect, it } from "vitest";
import { afterVerdict, currentIndex, moved, reviewAction } from "./reviewKeys";

describe("reviewAction", () => {
  it("maps the review keys", () => {
    expect(reviewAction("p", false)).toEqual({ kind: "verdict", verdict: "pass" });
    expect(reviewAction("f", false)).toEqual({ kind: "verdict", verdict: "fail" });
    expect(reviewAction("7", false)).toEqual({ kind: "score", score: 0.7 });
    expect(reviewAction("c", false)).toEqual({ kind: "comment" });
    expect(reviewAction("j", false)).toEqual({ kind: "move", by: 1 });
    expect(reviewAction("ArrowLeft", false)).toEqual({ kind: "move", by: -1 });
    expect(reviewAction("x", false)).toEqual({ kind: "none" });
  });

  it("leaves keys typed in a text box alone", () => {
    expect(reviewAction("p", true)).toEqual({ kind: "none" });
  });
});

describe("moving through the queue", () => {
  it("stays inside the list", () => {
    expect(moved(0, -1, 3)).toBe(0);
    expect(moved(2, 1, 3)).toBe(2);
    expect(moved(1, 1, 0)).toBe(0);
  });

  it("goes to the next unreviewed item after a verdict", () => {
    expect(afterVerdict(["pass", null, "fail", null], 0)).toBe(1);
    expect(afterVerdict(["pass", "pass", "fail", null], 1)).toBe(3);
    expect(afterVerdict(["pass", "pass", "fail"], 2)).toBe(2);
  });

  it("skips items another reviewer holds locked", () => {
    expect(afterVerdict(["pass", null, null], 0, [false, true, false])).toBe(2);
  });
});

describe("the current item, kept by id", () => {
  it("follows its item when the list refetches in another order or shorter", () => {
    // reviewing item 30 (third); a refetch under "not reviewed" drops item 10, reviewed meanwhile
    expect(currentIndex([20, 30, 40], 30, 2)).toBe(1);
  });

  it("falls back to the last position (kept inside) when its item left the list", () => {
    expect(currentIndex([10, 20, 40], 30, 2)).toBe(2);
    expect(currentIndex([10], 30, 2)).toBe(0);
    expect(currentIndex([], null, 0)).toBe(0);
  });
});
