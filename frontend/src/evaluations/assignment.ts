// Assigning review work (pure, tested without a browser): the row selection and an even split of items among
// members. The server's assign action takes a list of items and one reviewer, so a split is one call each.

/** The selection with ``id`` added, or removed when it was in. */
export function toggled(selected: ReadonlySet<number>, id: number): Set<number> {
  const next = new Set(selected);
  if (next.has(id)) next.delete(id);
  else next.add(id);
  return next;
}

/** Select every shown row, or clear them all when every one is selected already. */
export function allToggled(selected: ReadonlySet<number>, shown: readonly number[]): Set<number> {
  const all = shown.length > 0 && shown.every((id) => selected.has(id));
  const next = new Set(selected);
  for (const id of shown) {
    if (all) next.delete(id);
    else next.add(id);
  }
  return next;
}

/** The selection kept to rows still shown (a filter changed or a refetch dropped some). */
export function keptShown(selected: ReadonlySet<number>, shown: readonly number[]): Set<number> {
  const visible = new Set(shown);
  return new Set([...selected].filter((id) => visible.has(id)));
}

/** ``ids`` split among ``members`` in runs of consecutive items (reviewers see neighbouring items together),
 * sizes differing by at most one, the first members taking the larger runs. Members without items are left out. */
export function evenly(ids: readonly number[], members: readonly string[]): [string, number[]][] {
  if (members.length === 0) return [];
  const size = Math.floor(ids.length / members.length);
  const extra = ids.length % members.length;
  const parts: [string, number[]][] = [];
  let start = 0;
  members.forEach((member, index) => {
    const count = size + (index < extra ? 1 : 0);
    if (count > 0) parts.push([member, ids.slice(start, start + count)]);
    start += count;
  });
  return parts;
}
