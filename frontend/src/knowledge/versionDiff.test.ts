import { describe, expect, it } from "vitest";
import type { KnowledgeDiff } from "./types";
import { diffIsEmpty, searchTargets } from "./versionDiff";

const empty: KnowledgeDiff = { old: 1, new: 2, settings: [], added: [], removed: [], re_chunked: [], chunks_edited: [], re_embedded: [] };

describe("diffIsEmpty", () => {
  it("is true only when no part has an entry", () => {
    expect(diffIsEmpty(empty)).toBe(true);
    expect(diffIsEmpty({ ...empty, chunks_edited: [{ document: 1, title: "Policy", chunks_edited: 1 }] })).toBe(false);
    expect(diffIsEmpty({ ...empty, settings: [{ field: "chunking.chunk_size", old: 300, new: 60 }] })).toBe(false);
  });
});

describe("searchTargets", () => {
  it("offers the head first, then labels with their version, then every version newest first", () => {
    const targets = searchTargets([{ number: 2, labels: ["staging"] }, { number: 1, labels: ["production"] }], "Head");
    expect(targets.map((t) => t.value)).toEqual(["draft", "production", "staging", "2", "1"]);
    expect(targets[1]?.label).toBe("@production (v1)");
  });
});
