// Shapes of the knowledge API (platform/llmops/knowledge/api/serializers.py) and its websocket event.
export interface UploadLimits {
  max_bytes: number;
  formats: string[];
}

export interface Chunking {
  splitter: string;
  chunk_size: number;
  chunk_overlap: number;
  parent_child: boolean;
  parent_chunk_size: number;
  collapse_whitespace: boolean;
  remove_urls_emails: boolean;
}

export interface Retrieval {
  mode: RetrievalMode;
  top_k: number;
  score_threshold: number | null;
  fusion: string;
  vector_weight: number;
  rerank_model: string;
}

export type RetrievalMode = "vector" | "full_text" | "hybrid";

export interface KnowledgeBase {
  id: number;
  slug: string;
  name: string;
  description: string;
  embedding_model: string;
  dims: number | null;
  distance: string;
  active_embedding_model: string;
  active_distance: string;
  reembedding: boolean;
  chunking: Chunking;
  retrieval: Retrieval;
  document_count?: number;
  upload_limits: UploadLimits;
  latest_version_number: number;
  created_at: string;
  updated_at: string;
}

export type DocumentStatus = "queued" | "parsing" | "chunking" | "embedding" | "ready" | "failed";

export interface KnowledgeDocument {
  id: number;
  title: string;
  source: "upload" | "text" | "url";
  source_url: string;
  file_name: string;
  mime_type: string;
  size: number;
  status: DocumentStatus;
  error: string;
  progress: number;
  chunk_count: number;
  created_at: string;
  updated_at: string;
}

export interface Chunk {
  id: number;
  position: number;
  text: string;
  is_parent: boolean;
  parent_position: number | null;
  metadata: Record<string, unknown>;
  enabled: boolean;
  dims: number | null;
}

export interface Hit {
  chunk_id: number;
  document_id: number;
  document_title: string;
  position: number;
  text: string;
  score: number;
  scores: Record<string, number>;
  metadata: Record<string, unknown>;
}

export interface HitTesting {
  query: string;
  searched: string;
  records: Hit[];
  notices: string[];
}

/** `knowledge.document` on the workspace websocket (platform/llmops/knowledge/events.py). */
export interface DocumentProgressEvent {
  type: "knowledge.document";
  knowledge_base: string;
  document: number;
  status: DocumentStatus;
  progress: number;
  error: string;
}

export const DISTANCES = ["cosine", "l2", "inner_product", "l1"] as const;
export const MODES: RetrievalMode[] = ["hybrid", "vector", "full_text"];
export const SPLITTERS = ["token", "recursive", "markdown"] as const;
export const FUSIONS = ["zscore", "weighted", "rrf"] as const;

export function isFinished(status: DocumentStatus): boolean {
  return status === "ready" || status === "failed";
}

/** A published knowledge-base version (``KnowledgeVersionSerializer``). */
export interface KnowledgeVersion {
  number: number;
  content_hash: string;
  message: string;
  author: string | null;
  created_at: string;
  settings: { embedding_model: string; distance: string; dims: number | null; chunking: Chunking; retrieval: Retrieval };
  document_count: number;
  chunk_count: number;
  excluded: { document: number; title: string; reason: string }[];
  labels: string[];
}

export interface DiffDocument {
  document: number;
  title: string;
  chunks_before?: number;
  chunks_after?: number;
  chunks_edited?: number;
}

/** What changed between two versions (``knowledge_version_diff``). */
export interface KnowledgeDiff {
  old: number;
  new: number;
  settings: { field: string; old: unknown; new: unknown }[];
  added: DiffDocument[];
  removed: DiffDocument[];
  re_chunked: DiffDocument[];
  chunks_edited: DiffDocument[];
  re_embedded: DiffDocument[];
}
