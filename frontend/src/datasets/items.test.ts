import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { cellText, draftProblems, emptyRow, expectedOf, importProblems, inputNames, itemOf, pageCount, pageOf, rowOf, withRow, type DatasetItem } from "./items";

const ITEMS: DatasetItem[] = [
  { id: "q1", inputs: { question: "首都？" }, expected: "巴黎", metadata: { source: "manual" }, tags: ["geo"] },
  { id: "q2", inputs: { question: "2+2", lang: "en" }, expected: { answer: 4 }, metadata: {}, tags: [] },
  { id: "q3", inputs: { q: 1 }, expected: null, metadata: {}, tags: [], source_run_id: "run-1" },
];

function invalid(fields: Record<string, string[]>, message = "bad"): ApiError {
  return new ApiError(400, { code: "invalid", message, fields });
}

describe("import problems", () => {
  it("lists each bad row by its line, in the server's order", () => {
    const error = invalid({ file: ["line 3: expected 4 cells, found 5", "line 5: 'inputs' must be an object"] }, "2 bad rows; nothing was imported.");
    expect(importProblems(error)).toEqual([
      { line: 3, message: "expected 4 cells, found 5" },
      { line: 5, message: "'inputs' must be an object" },
    ]);
  });

  it("keeps problems that name no line (size, format) and falls back to the message", () => {
    expect(importProblems(invalid({ file: ["At most 5 items."] }))).toEqual([{ line: null, message: "At most 5 items." }]);
    expect(importProblems(invalid({ format: ["One of csv, jsonl."] }))).toEqual([{ line: null, message: "One of csv, jsonl." }]);
    expect(importProblems(new ApiError(413, { code: "too_large", message: "Too large" }))).toEqual([{ line: null, message: "Too large" }]);
  });

  it("keeps a multi-line message whole", () => {
    expect(importProblems(invalid({ file: ["line 2: broken CSV (unexpected end of data)\nsee row"] }))[0]).toEqual({ line: 2, message: "broken CSV (unexpected end of data)\nsee row" });
  });
});

describe("draft problems", () => {
  it("are grouped by item index, from the field path or the message", () => {
    const error = invalid({ "draft.items.2": ["item 2: 'inputs' must be an object"], "draft.items": ["item 1: the id 'a' is used twice"], draft: ["Expected {items: [...]}."] });
    const byItem = draftProblems(error);
    expect(byItem.get(2)).toEqual(["item 2: 'inputs' must be an object"]);
    expect(byItem.get(1)).toEqual(["item 1: the id 'a' is used twice"]);
    expect(byItem.get(-1)).toEqual(["Expected {items: [...]}."]);
  });

  it("fall back to the error's message", () => {
    expect(draftProblems(new ApiError(412, { code: "precondition_failed", message: "saved by someone else" })).get(-1)).toEqual(["saved by someone else"]);
  });
});

describe("cell editing", () => {
  it("shows text as it is and anything else as JSON", () => {
    expect(cellText("巴黎")).toBe("巴黎");
    expect(cellText({ answer: 4 })).toBe('{"answer":4}');
    expect(cellText(0)).toBe("0");
    expect(cellText(null)).toBe("");
  });

  it("round-trips an item through its row", () => {
    for (const item of ITEMS) {
      const result = itemOf(rowOf(item), item);
      expect(result).toEqual({ item: { ...item, expected: item.expected ?? null } });
    }
  });

  it("reads expected as the CSV import does: JSON objects and lists parsed, text kept, empty is none", () => {
    expect(expectedOf(" [1, 2] ")).toEqual([1, 2]);
    expect(expectedOf("{not json")).toBe("{not json");
    expect(expectedOf("42")).toBe("42");
    expect(expectedOf("  ")).toBeNull();
  });

  it("names the fields that are not JSON objects before anything is sent", () => {
    const row = { ...emptyRow(), inputs: "[1]", metadata: "not json" };
    expect(itemOf(row)).toEqual({ problems: { inputs: "datasets.inputsObject", metadata: "datasets.metadataObject" } });
    expect(itemOf({ ...emptyRow(), inputs: '{"q": "x"}', tags: "a, b; c ,," })).toEqual({
      item: { id: "", inputs: { q: "x" }, expected: null, metadata: {}, tags: ["a", "b", "c"] },
    });
  });

  it("adds, replaces and removes rows without touching the others", () => {
    const added: DatasetItem = { id: "", inputs: { q: 9 } };
    expect(withRow(ITEMS, null, added).map((i) => i.id)).toEqual(["q1", "q2", "q3", ""]);
    expect(withRow(ITEMS, 1, { ...ITEMS[1]!, expected: "four" })[1]?.expected).toBe("four");
    expect(withRow(ITEMS, 0, null).map((i) => i.id)).toEqual(["q2", "q3"]);
    expect(ITEMS).toHaveLength(3);
  });
});

describe("table shape", () => {
  it("has one column per input name in first-seen order, up to a limit", () => {
    expect(inputNames(ITEMS)).toEqual(["question", "lang", "q"]);
    expect(inputNames(ITEMS, 2)).toEqual(["question", "lang"]);
  });

  it("pages keep each item's index in the whole list", () => {
    const many = Array.from({ length: 120 }, (_, i) => i);
    expect(pageCount(0)).toBe(1);
    expect(pageCount(120)).toBe(3);
    expect(pageOf(many, 3).map((r) => r.index)).toEqual(Array.from({ length: 20 }, (_, i) => 100 + i));
    expect(pageOf(many, 9)[0]?.index).toBe(100); // past the end: the last page
  });
});
