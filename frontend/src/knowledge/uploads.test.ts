import { describe, expect, it } from "vitest";
import type { DocumentProgressEvent, KnowledgeDocument, UploadLimits } from "./types";
import { formatBytes, isActive, percent, refusal, uploadsReducer, withEvent, type UploadItem } from "./uploads";

const LIMITS: UploadLimits = { max_bytes: 15 * 1024 * 1024, formats: ["csv", "docx", "md", "pdf", "txt"] };

function document(id: number, patch: Partial<KnowledgeDocument> = {}): KnowledgeDocument {
  return {
    id, title: `doc ${id}`, source: "upload", source_url: "", file_name: "a.txt", mime_type: "text/plain", size: 10,
    status: "queued", error: "", progress: 0, chunk_count: 0, created_at: "", updated_at: "", ...patch,
  };
}

function event(documentId: number, status: DocumentProgressEvent["status"], progress: number, error = ""): DocumentProgressEvent {
  return { type: "knowledge.document", knowledge_base: "docs", document: documentId, status, progress, error };
}

function added(...files: [string, number][]): UploadItem[] {
  return uploadsReducer([], { type: "add", files: files.map(([name, size], i) => ({ key: `k${i}`, name, size })), limits: LIMITS });
}

describe("refusal before upload", () => {
  it("accepts a supported file within the limit, whatever the extension's case", () => {
    expect(refusal({ name: "notes.TXT", size: 100 }, LIMITS)).toBeNull();
    expect(refusal({ name: "exactly.pdf", size: LIMITS.max_bytes }, LIMITS)).toBeNull();
  });

  it("refuses a file over the server's limit, naming the limit", () => {
    expect(refusal({ name: "big.pdf", size: LIMITS.max_bytes + 1 }, LIMITS)).toEqual({ kind: "size", size: LIMITS.max_bytes + 1, limit: 15728640 });
    expect(formatBytes(15728640)).toBe("15 MB");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(12)).toBe("12 B");
  });

  it("refuses an unsupported format or a name without an extension, listing the supported ones", () => {
    expect(refusal({ name: "slides.pptx", size: 10 }, LIMITS)).toEqual({ kind: "format", extension: "pptx", formats: LIMITS.formats });
    expect(refusal({ name: "README", size: 10 }, LIMITS)).toMatchObject({ kind: "format", extension: "" });
    expect(refusal({ name: ".txt", size: 10 }, LIMITS)).toMatchObject({ kind: "format" });
  });

  it("adds refused files as refused, never uploading, next to the accepted ones", () => {
    const items = added(["a.txt", 10], ["b.exe", 10], ["c.md", LIMITS.max_bytes * 2]);
    expect(items.map((i) => i.phase)).toEqual(["uploading", "refused", "refused"]);
    expect(items.map(isActive)).toEqual([true, false, false]);
    expect(percent(items[1] as UploadItem)).toBe(0);
  });
});

describe("progress from upload to done", () => {
  it("fills the first fifth with the upload, then follows the server's progress to 100", () => {
    let items = added(["a.txt", 1000]);
    items = uploadsReducer(items, { type: "sent", key: "k0", loaded: 500, total: 1000 });
    expect(percent(items[0] as UploadItem)).toBe(10);
    items = uploadsReducer(items, { type: "created", key: "k0", document: document(7) });
    expect(items[0]).toMatchObject({ phase: "queued", documentId: 7 });
    expect(percent(items[0] as UploadItem)).toBe(20);
    items = uploadsReducer(items, { type: "event", event: event(7, "embedding", 55) });
    expect(items[0]?.phase).toBe("embedding");
    expect(percent(items[0] as UploadItem)).toBe(64);
    items = uploadsReducer(items, { type: "event", event: event(7, "ready", 100) });
    expect(items[0]?.phase).toBe("ready");
    expect(percent(items[0] as UploadItem)).toBe(100);
    expect(isActive(items[0] as UploadItem)).toBe(false);
  });

  it("follows two files independently, by document id", () => {
    let items = added(["zh.md", 10], ["en.md", 10]);
    items = uploadsReducer(items, { type: "created", key: "k0", document: document(1) });
    items = uploadsReducer(items, { type: "created", key: "k1", document: document(2) });
    items = uploadsReducer(items, { type: "event", event: event(2, "parsing", 5) });
    expect(items.map((i) => i.phase)).toEqual(["queued", "parsing"]);
    items = uploadsReducer(items, { type: "event", event: event(99, "ready", 100) }); // another knowledge base's doc
    expect(items.map((i) => i.phase)).toEqual(["queued", "parsing"]);
  });

  it("falls back to polled rows, and never goes backwards when a poll is older than an event", () => {
    let items = added(["a.txt", 10]);
    items = uploadsReducer(items, { type: "created", key: "k0", document: document(3) });
    items = uploadsReducer(items, { type: "documents", documents: [document(3, { status: "embedding", progress: 60 })] });
    expect(items[0]).toMatchObject({ phase: "embedding", progress: 60 });
    items = uploadsReducer(items, { type: "documents", documents: [document(3, { status: "parsing", progress: 5 })] });
    expect(items[0]).toMatchObject({ phase: "embedding", progress: 60 });
    items = uploadsReducer(items, { type: "event", event: event(3, "ready", 100) });
    const done = items;
    items = uploadsReducer(items, { type: "event", event: event(3, "embedding", 90) });
    expect(items).toBe(done); // unchanged state keeps its identity (no re-render)
    expect(items[0]?.phase).toBe("ready");
  });

  it("keeps a document that was already done when the upload's answer arrives", () => {
    let items = added(["a.txt", 10]);
    items = uploadsReducer(items, { type: "created", key: "k0", document: document(4, { status: "ready", progress: 100, chunk_count: 2 }) });
    expect(items[0]?.phase).toBe("ready");
  });

  it("shows the parser's reason when ingestion fails, and the server's when the upload is refused", () => {
    let items = added(["a.txt", 10], ["b.txt", 10]);
    items = uploadsReducer(items, { type: "created", key: "k0", document: document(5) });
    items = uploadsReducer(items, { type: "event", event: event(5, "failed", 100, "Could not decode the text.") });
    items = uploadsReducer(items, { type: "upload_failed", key: "k1", message: "A document with the same content exists already." });
    expect(items.map((i) => [i.phase, i.error])).toEqual([
      ["failed", "Could not decode the text."],
      ["upload_failed", "A document with the same content exists already."],
    ]);
  });

  it("clears finished and refused items, keeping the moving ones", () => {
    let items = added(["a.txt", 10], ["b.exe", 10], ["c.txt", 10]);
    items = uploadsReducer(items, { type: "created", key: "k0", document: document(6, { status: "ready", progress: 100 }) });
    items = uploadsReducer(items, { type: "clear" });
    expect(items.map((i) => i.name)).toEqual(["c.txt"]);
  });
});

describe("the document list", () => {
  it("applies an event to its row only", () => {
    const rows = [document(1), document(2)];
    const next = withEvent(rows, event(2, "failed", 100, "bad pdf"));
    expect(next[0]).toBe(rows[0]);
    expect(next[1]).toMatchObject({ status: "failed", progress: 100, error: "bad pdf" });
  });
});
