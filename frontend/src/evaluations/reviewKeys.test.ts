import { describe, expect, it } from "vitest";
import { afterVerdict, moved, reviewAction } from "./reviewKeys";

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
});
