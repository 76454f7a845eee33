// The results table of an evaluation run: only the rows in view are in the page (TanStack Virtual), so a run of
// thousands of items scrolls as smoothly as one of ten. Rows have one fixed height (the output clamped to two
// lines) and the columns fixed widths, so nothing is measured or reflowed while scrolling; stripes follow the
// row's index (CSS nth-child would flip with the spacer rows).
import { Checkbox, Table } from "@mantine/core";
import { useVirtualizer } from "@tanstack/react-virtual";
import { memo, useCallback, useRef } from "react";
import { useTranslation } from "react-i18next";
import { lockOf, type Shown } from "./results";
import css from "./ResultsTable.module.css";
import { shown } from "./types";

export const ROW_HEIGHT = 56;
const HEADER_HEIGHT = 48;
const OVERSCAN = 12;

interface Props {
  rows: Shown[];
  /** The selected items' ids, with the checkbox column; none when the reader may not assign. ``toggle`` and
   * ``toggleAll`` should keep their identity across renders (rows are memoised). */
  selection?: { selected: ReadonlySet<number>; toggle: (id: number) => void; toggleAll: () => void };
}

function time(date: Date): string {
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

interface RowProps {
  row: Shown;
  index: number;
  selected: boolean | null;
  toggle: ((id: number) => void) | undefined;
  /** The checkbox's label and the lock's text, worded by the table (no translation hook per row). */
  label: string;
  lock: string;
}

// One row, memoised, in plain markup with class names: while scrolling only the rows coming into view render,
// and cheaply (a profile of the scroll put Mantine's Box, per-row translation hooks and inline styles on top).
const ResultRow = memo(function ResultRow({ row, index, selected, toggle, label, lock }: RowProps) {
  const { item } = row;
  const tone = row.passed ? css.green : row.passed === false ? css.red : css.gray;
  return (
    <tr data-index={index} data-testid="result-row" data-item={item.item_id} className={index % 2 ? `${css.row} ${css.odd}` : css.row}>
      {selected !== null && (
        <td className={`${css.cell} ${css.checkCell}`}>
          <input type="checkbox" className={css.check} aria-label={label} checked={selected} onChange={() => toggle?.(item.id)} />
        </td>
      )}
      <td className={css.cell}>
        {item.item_id}
        {item.repetition ? ` #${item.repetition + 1}` : ""}
      </td>
      <td className={css.cell}>
        <div className={css.output}>{shown(item.output) || item.error}</div>
      </td>
      <td className={css.cell}>
        <span className={`${css.tag} ${tone}`}>{row.score ?? "—"}</span>
      </td>
      <td className={css.cell}>{item.verdict ? <span className={`${css.tag} ${item.verdict === "pass" ? css.pass : css.fail}`}>{item.verdict}</span> : ""}</td>
      <td className={css.cell} data-testid="assignee">
        {item.assigned_to ?? ""}
      </td>
      <td className={`${css.cell} ${css.lock}`} data-testid="lock">
        {lock}
      </td>
    </tr>
  );
});

export function ResultsTable({ rows, selection }: Props) {
  const { t } = useTranslation();
  const scroller = useRef<HTMLDivElement>(null);
  // The virtualiser re-renders this component on scroll itself; nothing here is memoised (no React Compiler).
  // oxlint-disable-next-line react/incompatible-library
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: OVERSCAN,
    // A new key function would make the virtualiser lay out every row again on each scrolled frame.
    getItemKey: useCallback((index: number) => rows[index]?.item.id ?? index, [rows]),
  });
  const drawn = virtualizer.getVirtualItems();
  // Spacer rows above and below the drawn ones keep the scroll height of the whole table.
  const above = drawn[0]?.start ?? 0;
  const below = virtualizer.getTotalSize() - (drawn.at(-1)?.end ?? 0);
  const now = Date.now();
  const allSelected = !!selection && rows.length > 0 && rows.every((r) => selection.selected.has(r.item.id));
  return (
    <div ref={scroller} data-testid="results-scroll" style={{ height: rows.length * ROW_HEIGHT + HEADER_HEIGHT, maxHeight: "min(70vh, 720px)", overflowY: "auto", contain: "strict" }}>
      <Table layout="fixed" stickyHeader data-testid="results-table" data-rows={rows.length}>
        <Table.Thead>
          <Table.Tr>
            {selection && (
              <Table.Th w={44}>
                <Checkbox aria-label={t("evaluations.selectAll")} checked={allSelected} indeterminate={!allSelected && selection.selected.size > 0} onChange={selection.toggleAll} />
              </Table.Th>
            )}
            <Table.Th w={120}>{t("evaluations.item")}</Table.Th>
            <Table.Th>{t("evaluations.output")}</Table.Th>
            <Table.Th w={90}>{t("evaluations.score")}</Table.Th>
            <Table.Th w={90}>{t("evaluations.verdict")}</Table.Th>
            <Table.Th w={130}>{t("evaluations.assignee")}</Table.Th>
            <Table.Th w={150}>{t("evaluations.lock")}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {above > 0 && <tr aria-hidden style={{ height: above }} />}
          {drawn.map((virtual) => {
            const row = rows[virtual.index];
            if (!row) return null;
            const lock = lockOf(row.item, now);
            return (
              <ResultRow
                key={virtual.key}
                row={row}
                index={virtual.index}
                selected={selection ? selection.selected.has(row.item.id) : null}
                toggle={selection?.toggle}
                label={t("evaluations.selectItem", { item: row.item.item_id })}
                lock={lock ? t("evaluations.lockedUntil", { user: lock.by, until: time(lock.until) }) : ""}
              />
            );
          })}
          {below > 0 && <tr aria-hidden style={{ height: below }} />}
        </Table.Tbody>
      </Table>
    </div>
  );
}
