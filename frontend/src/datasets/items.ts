// A dataset's items as the table shows and edits them: cell text, a row's editing state and its parse back
// into an item, paging, and the server's errors (import problems by line, draft problems by item).
import type { ApiError } from "../api/client";

/** One dataset item, as the server keeps it (`llmops.evaluations.datasets`). */
export interface DatasetItem {
  id: string;
  inputs: Record<string, unknown>;
  expected?: unknown;
  metadata?: Record<string, unknown>;
  tags?: string[];
  source_run_id?: string;
}

export interface DatasetRow {
  id: number;
  name: string;
  slug: string;
  description: string;
  draft: { items?: DatasetItem[] };
  latest_version_number: number | null;
  updated_at: string;
}

/** A value as a table cell shows it: text as it is, anything else as compact JSON, nothing as "". */
export function cellText(value: unknown): string {
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The text fields of a row being edited. */
export interface RowDraft {
  id: string;
  inputs: string;
  expected: string;
  metadata: string;
  tags: string;
}

export type RowField = keyof RowDraft;
/** A problem with one field of a row being edited: a message key of the locale (and its values). */
export type RowProblems = Partial<Record<RowField, string>>;

export function emptyRow(): RowDraft {
  return { id: "", inputs: "{\n  \"input\": \"\"\n}", expected: "", metadata: "", tags: "" };
}

export function rowOf(item: DatasetItem): RowDraft {
  const metadata = item.metadata && Object.keys(item.metadata).length ? JSON.stringify(item.metadata, null, 2) : "";
  return {
    id: item.id,
    inputs: JSON.stringify(item.inputs, null, 2),
    expected: cellText(item.expected),
    metadata,
    tags: (item.tags ?? []).join(", "),
  };
}

function jsonObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** `expected` as the CSV import reads a cell: a JSON object or array is parsed, anything else stays text,
 * and an empty cell is no expected output. */
export function expectedOf(text: string): unknown {
  const trimmed = text.trim();
  if (!trimmed) return null;
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return JSON.parse(trimmed) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

/** The item a row's text makes, or the problems that keep it from being one (checked here so a typo in the
 * JSON is shown on its field at once; the server checks the rest). */
export function itemOf(row: RowDraft, original?: DatasetItem): { item: DatasetItem } | { problems: RowProblems } {
  const problems: RowProblems = {};
  const inputs = jsonObject(row.inputs);
  if (!inputs) problems.inputs = "datasets.inputsObject";
  const metadata = row.metadata.trim() ? jsonObject(row.metadata) : {};
  if (!metadata) problems.metadata = "datasets.metadataObject";
  if (!inputs || !metadata) return { problems };
  const item: DatasetItem = {
    id: row.id.trim(),
    inputs,
    expected: expectedOf(row.expected),
    metadata,
    tags: row.tags.split(/[,;]/).map((t) => t.trim()).filter(Boolean),
  };
  if (original?.source_run_id) item.source_run_id = original.source_run_id;
  return { item };
}

/** The items after a row is added (`index` null), replaced or removed (`item` null). */
export function withRow(items: readonly DatasetItem[], index: number | null, item: DatasetItem | null): DatasetItem[] {
  if (index === null) return item ? [...items, item] : [...items];
  return items.flatMap((current, i) => (i !== index ? [current] : item ? [item] : []));
}

/** The input names across the items, in first-seen order (the table's input columns). */
export function inputNames(items: readonly DatasetItem[], limit = 4): string[] {
  const names: string[] = [];
  for (const item of items) {
    for (const name of Object.keys(item.inputs)) {
      if (!names.includes(name)) names.push(name);
      if (names.length >= limit) return names;
    }
  }
  return names;
}

export const PAGE_SIZE = 50;

export function pageCount(total: number, size = PAGE_SIZE): number {
  return Math.max(1, Math.ceil(total / size));
}

/** The items of page `page` (from 1) with their index in the whole list. */
export function pageOf<T>(items: readonly T[], page: number, size = PAGE_SIZE): { item: T; index: number }[] {
  const start = (Math.min(Math.max(page, 1), pageCount(items.length, size)) - 1) * size;
  return items.slice(start, start + size).map((item, offset) => ({ item, index: start + offset }));
}

/** One problem of an import: its line in the file (when the server named one) and the message. */
export interface ImportProblem {
  line: number | null;
  message: string;
}

/** The problems of a refused import, one per line, from the server's `file` messages (`"line 7: ..."`) or,
 * for a problem not about the file's rows (format, size), its message. */
export function importProblems(error: ApiError): ImportProblem[] {
  const messages = error.fieldMessages("file");
  const other = Object.entries(error.fields).filter(([path]) => path !== "file").flatMap(([, m]) => m);
  const all = messages.length || other.length ? [...messages, ...other] : [error.message];
  return all.map((message) => {
    const match = /^line (\d+): (.*)$/s.exec(message);
    return match ? { line: Number(match[1]), message: match[2] ?? "" } : { line: null, message };
  });
}

/** The server's problems with a saved draft by item index (`draft.items.3` -> 3); the rest under -1. */
export function draftProblems(error: ApiError): Map<number, string[]> {
  const byItem = new Map<number, string[]>();
  for (const [path, messages] of Object.entries(error.fields)) {
    for (const message of messages) {
      // "draft.items.3", or "draft.items" with a message naming the item ("item 3: the id 'a' is used twice")
      const match = /^draft\.items\.(\d+)/.exec(path) ?? (path === "draft.items" ? /^item (\d+):/.exec(message) : null);
      const index = match ? Number(match[1]) : -1;
      byItem.set(index, [...(byItem.get(index) ?? []), message]);
    }
  }
  if (!byItem.size) byItem.set(-1, [error.message]);
  return byItem;
}
