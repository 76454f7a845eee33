// The results table's rows (pure, tested without a browser): narrowed to one evaluator, sorted by score, and
// whose review lock holds an item now.
import type { ItemRow } from "./types";

/** The score and pass of an item as the table shows it: one evaluator's, or the weighted whole. */
export interface Shown {
  item: ItemRow;
  score: number | null;
  passed: boolean | null;
}

/** Rows to show: with ``evaluator`` only the items it scored (its score shown); ``byScore``: lowest first,
 * unscored at the end; otherwise the server's order (dataset position, repetition). */
export function resultRows(items: ItemRow[], { evaluator, byScore }: { evaluator: string | null; byScore: boolean }): Shown[] {
  const rows: Shown[] = [];
  for (const item of items) {
    if (!evaluator) {
      rows.push({ item, score: item.score, passed: item.passed });
      continue;
    }
    const own = item.scores.find((s) => s.evaluator === evaluator);
    if (own) rows.push({ item, score: own.score, passed: own.passed });
  }
  if (byScore) rows.sort((a, b) => (a.score ?? Number.POSITIVE_INFINITY) - (b.score ?? Number.POSITIVE_INFINITY));
  return rows;
}

/** Who holds an item's review lock now and until when (null: nobody; an expired lock holds nothing). */
export function lockOf(item: Pick<ItemRow, "locked_by" | "locked_until">, now: number = Date.now()): { by: string; until: Date } | null {
  if (!item.locked_by || !item.locked_until) return null;
  const until = new Date(item.locked_until);
  return until.getTime() > now ? { by: item.locked_by, until } : null;
}

/** Whether someone other than ``me`` holds the item's lock now. */
export function lockedByOther(item: Pick<ItemRow, "locked_by" | "locked_until">, me: string | undefined, now: number = Date.now()): boolean {
  const lock = lockOf(item, now);
  return lock !== null && lock.by !== me;
}
