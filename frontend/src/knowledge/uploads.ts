// Uploads of a knowledge base page: the check before sending (format, size against the server's limits), and
// one reducer that follows each file from its XHR upload through the ingestion statuses, fed by the websocket's
// `knowledge.document` events and by polled document rows, whichever comes first.
import { isFinished, type DocumentProgressEvent, type DocumentStatus, type KnowledgeDocument, type UploadLimits } from "./types";

export type Refusal = { kind: "format"; extension: string; formats: string[] } | { kind: "size"; size: number; limit: number };

/** Why a file may not be sent (null when it may): its extension is not parsed, or it is over the limit. */
export function refusal(file: { name: string; size: number }, limits: UploadLimits): Refusal | null {
  const dot = file.name.lastIndexOf(".");
  const extension = dot > 0 ? file.name.slice(dot + 1).toLowerCase() : "";
  if (!limits.formats.includes(extension)) return { kind: "format", extension, formats: limits.formats };
  if (file.size > limits.max_bytes) return { kind: "size", size: file.size, limit: limits.max_bytes };
  return null;
}

/** 15728640 -> "15 MB", 1536 -> "1.5 KB" (binary units, as the limit is set in bytes). */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = unit === 0 ? String(value) : String(Number(value.toFixed(1)));
  return `${shown} ${units[unit]}`;
}

export type Phase = "refused" | "uploading" | "upload_failed" | DocumentStatus;

export interface UploadItem {
  key: string;
  name: string;
  size: number;
  phase: Phase;
  /** Fraction of the bytes sent (0..1). */
  sent: number;
  /** The server's ingestion progress (0..100). */
  progress: number;
  documentId: number | null;
  error: string;
  refusal: Refusal | null;
}

export type UploadAction =
  | { type: "add"; files: { key: string; name: string; size: number }[]; limits: UploadLimits }
  | { type: "sent"; key: string; loaded: number; total: number }
  | { type: "created"; key: string; document: KnowledgeDocument }
  | { type: "upload_failed"; key: string; message: string }
  | { type: "event"; event: DocumentProgressEvent }
  | { type: "documents"; documents: KnowledgeDocument[] }
  | { type: "clear" };

const UPLOAD_SHARE = 20; // the bar's first fifth is the upload, the rest the server's progress

/** The bar's value (0..100) for an item. */
export function percent(item: UploadItem): number {
  switch (item.phase) {
    case "refused":
    case "upload_failed":
      return 0;
    case "uploading":
      return Math.round(item.sent * UPLOAD_SHARE);
    case "ready":
    case "failed":
      return 100;
    default:
      return Math.round(UPLOAD_SHARE + (item.progress * (100 - UPLOAD_SHARE)) / 100);
  }
}

/** Whether the item still moves (uploading or being ingested). */
export function isActive(item: UploadItem): boolean {
  return item.phase === "uploading" || item.phase === "queued" || item.phase === "parsing" || item.phase === "chunking" || item.phase === "embedding";
}

function serverState(item: UploadItem, status: DocumentStatus, progress: number, error: string): UploadItem {
  if (item.phase === "refused" || item.phase === "upload_failed") return item;
  const current = item.phase as DocumentStatus | "uploading";
  // events and polls may arrive out of order: a finished state stays, an unfinished one never goes backwards
  if (current !== "uploading" && isFinished(current)) return item;
  if (!isFinished(status) && current !== "uploading" && progress < item.progress) return item;
  return { ...item, phase: status, progress, error, sent: 1 };
}

function update(items: UploadItem[], match: (item: UploadItem) => boolean, change: (item: UploadItem) => UploadItem): UploadItem[] {
  let changed = false;
  const next = items.map((item) => {
    if (!match(item)) return item;
    const updated = change(item);
    if (updated !== item) changed = true;
    return updated;
  });
  return changed ? next : items;
}

export function uploadsReducer(items: UploadItem[], action: UploadAction): UploadItem[] {
  switch (action.type) {
    case "add":
      return [
        ...items,
        ...action.files.map((file): UploadItem => {
          const refused = refusal(file, action.limits);
          return { ...file, phase: refused ? "refused" : "uploading", sent: 0, progress: 0, documentId: null, error: "", refusal: refused };
        }),
      ];
    case "sent":
      return update(items, (item) => item.key === action.key && item.phase === "uploading", (item) => ({ ...item, sent: action.total ? action.loaded / action.total : 0 }));
    case "created":
      return update(items, (item) => item.key === action.key, (item) => {
        const { document } = action;
        return serverState({ ...item, documentId: document.id, sent: 1 }, document.status, document.progress, document.error);
      });
    case "upload_failed":
      return update(items, (item) => item.key === action.key, (item) => ({ ...item, phase: "upload_failed", error: action.message }));
    case "event": {
      const { event } = action;
      return update(items, (item) => item.documentId === event.document, (item) => serverState(item, event.status, event.progress, event.error));
    }
    case "documents": {
      const rows = new Map(action.documents.map((d) => [d.id, d]));
      return update(items, (item) => item.documentId !== null && rows.has(item.documentId), (item) => {
        const row = rows.get(item.documentId as number) as KnowledgeDocument;
        return serverState(item, row.status, row.progress, row.error);
      });
    }
    case "clear":
      return items.filter(isActive);
  }
}

/** Apply a progress event to a cached document list (the rows the event names; others unchanged). */
export function withEvent(documents: KnowledgeDocument[], event: DocumentProgressEvent): KnowledgeDocument[] {
  return documents.map((d) => (d.id === event.document ? { ...d, status: event.status, progress: event.progress, error: event.error } : d));
}
