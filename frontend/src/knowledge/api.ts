// Server state of knowledge bases through TanStack Query (one hook per resource), and the file upload by XHR
// (fetch cannot report upload progress).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ApiError, csrfToken, listOf, request, type ErrorBody } from "../api/client";
import { useWorkspaceSlug } from "../session";
import { isFinished, type Chunk, type HitTesting, type KnowledgeBase, type KnowledgeDocument } from "./types";

export const kbPath = (ws: string, kb?: string) => `/api/workspaces/${ws}/knowledge-bases/${kb ? `${kb}/` : ""}`;
const docsPath = (ws: string, kb: string) => `${kbPath(ws, kb)}documents/`;

export function useKnowledgeBases() {
  const ws = useWorkspaceSlug();
  return useQuery({ queryKey: [ws, "knowledge-bases"], queryFn: () => listOf<KnowledgeBase>(`${kbPath(ws)}?limit=500`), enabled: !!ws });
}

export function useKnowledgeBase(slug: string) {
  const ws = useWorkspaceSlug();
  return useQuery({
    queryKey: [ws, "knowledge-bases", slug],
    queryFn: async () => (await (await request(kbPath(ws, slug))).json()) as KnowledgeBase,
    // while re-embedding, the switch's progress is the documents'; the base flips when the last one is done
    refetchInterval: (query) => (query.state.data?.reembedding ? 3000 : false),
  });
}

export const documentsKey = (ws: string, kb: string) => [ws, "knowledge-bases", kb, "documents"];

/** The documents of a knowledge base; polled while some are unfinished and the websocket is not open. */
export function useDocuments(slug: string, live: boolean) {
  const ws = useWorkspaceSlug();
  return useQuery({
    queryKey: documentsKey(ws, slug),
    queryFn: () => listOf<KnowledgeDocument>(`${docsPath(ws, slug)}?limit=500`),
    refetchInterval: (query) => {
      const unfinished = query.state.data?.some((d) => !isFinished(d.status));
      if (!unfinished) return false;
      return live ? 15000 : 2000; // with live events a slow poll only catches an event lost on a reconnect
    },
  });
}

export function useSaveKnowledgeBase(slug?: string) {
  const ws = useWorkspaceSlug();
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (body: Record<string, unknown>) => {
      const response = await request(kbPath(ws, slug), { method: slug ? "PATCH" : "POST", body: JSON.stringify(body) });
      return (await response.json()) as KnowledgeBase;
    },
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: [ws, "knowledge-bases"] });
    },
  });
}

export function useAddDocument(slug: string) {
  const ws = useWorkspaceSlug();
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (body: { text?: string; url?: string; title?: string }) => {
      const response = await request(docsPath(ws, slug), { method: "POST", body: JSON.stringify(body) });
      return (await response.json()) as KnowledgeDocument;
    },
    onSuccess: async () => client.invalidateQueries({ queryKey: documentsKey(ws, slug) }),
  });
}

export function useDocumentAction(slug: string) {
  const ws = useWorkspaceSlug();
  const client = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, action }: { id: number; action: "reingest" | "delete" }) => {
      const path = `${docsPath(ws, slug)}${id}/${action === "reingest" ? "reingest/" : ""}`;
      await request(path, { method: action === "reingest" ? "POST" : "DELETE" });
    },
    onSuccess: async () => client.invalidateQueries({ queryKey: [ws, "knowledge-bases", slug] }),
  });
}

export function useChunks(slug: string, document: number | null) {
  const ws = useWorkspaceSlug();
  return useQuery({
    queryKey: [...documentsKey(ws, slug), document, "chunks"],
    queryFn: () => listOf<Chunk>(`${docsPath(ws, slug)}${document}/chunks/?limit=500`),
    enabled: document !== null,
  });
}

export function useEditChunk(slug: string, document: number) {
  const ws = useWorkspaceSlug();
  const client = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, ...body }: { id: number; text?: string; enabled?: boolean }) => {
      const response = await request(`${docsPath(ws, slug)}${document}/chunks/${id}/`, { method: "PATCH", body: JSON.stringify(body) });
      return (await response.json()) as Chunk;
    },
    onSuccess: async () => client.invalidateQueries({ queryKey: [...documentsKey(ws, slug), document, "chunks"] }),
  });
}

export function useHitTesting(slug: string) {
  const ws = useWorkspaceSlug();
  return useMutation({
    mutationFn: async (body: { query: string; mode: string; top_k: number; score_threshold: number | null; version: string }) => {
      const response = await request(`${kbPath(ws, slug)}hit-testing/`, { method: "POST", body: JSON.stringify(body) });
      return (await response.json()) as HitTesting;
    },
  });
}

/** POST a file as multipart with upload progress; resolves with the created document or rejects with ApiError. */
export function uploadFile(ws: string, slug: string, file: File, onProgress: (loaded: number, total: number) => void): Promise<KnowledgeDocument> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", docsPath(ws, slug));
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.withCredentials = true;
    xhr.upload.onprogress = (event) => onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON */
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body as KnowledgeDocument);
      else {
        const error = (body as { error?: ErrorBody } | null)?.error ?? { code: "http_error", message: xhr.statusText || String(xhr.status) };
        reject(new ApiError(xhr.status, error, body));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, { code: "network", message: "Network error" }));
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("title", file.name);
    xhr.send(form);
  });
}
