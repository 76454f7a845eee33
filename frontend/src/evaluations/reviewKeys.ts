// The review view's keyboard: what a key press does (pure, so the flow is tested without a browser).
//   p  pass        f  fail          0-9  score 0.0-0.9 (the next p/f sends it), 1 after 0: none
//   c  comment     n / j / →  next   k / ←  previous   Esc leaves the comment box
export type ReviewAction =
  | { kind: "verdict"; verdict: "pass" | "fail" }
  | { kind: "score"; score: number }
  | { kind: "comment" }
  | { kind: "move"; by: 1 | -1 }
  | { kind: "none" };

/** The action of a key pressed outside a text box (inside one, only Escape is taken). */
export function reviewAction(key: string, inTextBox: boolean): ReviewAction {
  if (inTextBox) return { kind: "none" };
  switch (key) {
    case "p":
      return { kind: "verdict", verdict: "pass" };
    case "f":
      return { kind: "verdict", verdict: "fail" };
    case "c":
      return { kind: "comment" };
    case "n":
    case "j":
    case "ArrowRight":
      return { kind: "move", by: 1 };
    case "k":
    case "ArrowLeft":
      return { kind: "move", by: -1 };
    default:
      if (/^[0-9]$/.test(key)) return { kind: "score", score: Number(key) / 10 };
      return { kind: "none" };
  }
}

/** The index after moving ``by`` within ``count`` items (stays inside). */
export function moved(index: number, by: number, count: number): number {
  if (count === 0) return 0;
  return Math.min(count - 1, Math.max(0, index + by));
}

/** After a verdict on item ``index``: the next item still without a verdict that nobody else holds locked (
 * ``blocked``), else the next one, else the same. */
export function afterVerdict(verdicts: (string | null)[], index: number, blocked: readonly boolean[] = []): number {
  for (let i = index + 1; i < verdicts.length; i++) if (!verdicts[i] && !blocked[i]) return i;
  return moved(index, 1, verdicts.length);
}

/** The position of the item being reviewed, found by its id: the list refetches (a verdict, a filter, another
 * reviewer) and positions shift, the item does not. When it left the list, the item now at its last position. */
export function currentIndex(ids: readonly number[], currentId: number | null, lastIndex: number): number {
  const found = currentId === null ? -1 : ids.indexOf(currentId);
  if (found >= 0) return found;
  return Math.max(0, Math.min(lastIndex, ids.length - 1));
}
