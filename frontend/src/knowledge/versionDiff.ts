// Shaping of a knowledge-base version diff for display.
import type { KnowledgeDiff } from "./types";

/** Whether two versions differ in nothing the diff reports. */
export function diffIsEmpty(diff: KnowledgeDiff): boolean {
  return [diff.added, diff.removed, diff.re_chunked, diff.chunks_edited, diff.re_embedded, diff.settings].every((part) => part.length === 0);
}

/** The options of "what to search" in hit testing: the head, each label, each version (newest first). */
export function searchTargets(versions: { number: number; labels: string[] }[], head: string): { value: string; label: string }[] {
  const labels = versions.flatMap((v) => v.labels.map((name) => ({ value: name, label: `@${name} (v${v.number})` })));
  return [{ value: "draft", label: head }, ...labels.sort((a, b) => a.value.localeCompare(b.value)), ...versions.map((v) => ({ value: String(v.number), label: `v${v.number}` }))];
}
