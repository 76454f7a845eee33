import { describe, expect, it } from "vitest";
import { allToggled, evenly, keptShown, toggled } from "./assignment";

describe("the row selection", () => {
  it("adds a row, and removes it on a second click", () => {
    const once = toggled(new Set([1]), 2);
    expect([...once]).toEqual([1, 2]);
    expect([...toggled(once, 1)]).toEqual([2]);
  });

  it("selects every shown row, and clears them when all are selected", () => {
    const some = allToggled(new Set([2]), [1, 2, 3]);
    expect([...some].sort()).toEqual([1, 2, 3]);
    expect([...allToggled(some, [1, 2, 3])]).toEqual([]);
    // rows selected under another filter stay selected when this filter's rows are cleared
    expect([...allToggled(new Set([1, 2, 3, 9]), [1, 2, 3])]).toEqual([9]);
  });

  it("keeps only rows still shown", () => {
    expect([...keptShown(new Set([1, 5, 7]), [5, 6, 7])]).toEqual([5, 7]);
  });
});

describe("sharing items evenly", () => {
  it("gives each member a run of neighbouring items, sizes differing by at most one", () => {
    expect(evenly([1, 2, 3, 4, 5, 6, 7], ["ann", "bob", "cy"])).toEqual([
      ["ann", [1, 2, 3]],
      ["bob", [4, 5]],
      ["cy", [6, 7]],
    ]);
  });

  it("leaves out members without items, and gives nothing without members", () => {
    expect(evenly([10], ["ann", "bob"])).toEqual([["ann", [10]]]);
    expect(evenly([1, 2], [])).toEqual([]);
  });

  it("shares 2,000 items among 3 members without losing or repeating one", () => {
    const ids = Array.from({ length: 2000 }, (_, i) => i + 1);
    const parts = evenly(ids, ["a", "b", "c"]);
    expect(parts.map(([, part]) => part.length)).toEqual([667, 667, 666]);
    expect(parts.flatMap(([, part]) => part)).toEqual(ids);
  });
});
