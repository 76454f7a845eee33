// Server state of a dataset: the dataset with its ETag (saves send it as If-Match, so two people editing one
// draft do not overwrite each other), saving its items to the draft, importing a file, publishing.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { request } from "../api/client";
import type { DatasetItem, DatasetRow } from "./items";

export function datasetBase(ws: string, slug: string): string {
  return `/api/workspaces/${ws}/datasets/${slug}/`;
}

export interface LoadedDataset {
  dataset: DatasetRow;
  etag: string | null;
}

async function loaded(response: Response): Promise<LoadedDataset> {
  return { dataset: (await response.json()) as DatasetRow, etag: response.headers.get("ETag") };
}

export function useDataset(ws: string, slug: string) {
  return useQuery({ queryKey: [ws, "datasets", slug], queryFn: async () => loaded(await request(datasetBase(ws, slug))) });
}

/** Saves the items as the draft (If-Match the state the page loaded); the page then holds what was saved. */
export function useSaveItems(ws: string, slug: string) {
  const queryClient = useQueryClient();
  const key = [ws, "datasets", slug];
  return useMutation({
    mutationFn: async (items: DatasetItem[]) => {
      const etag = queryClient.getQueryData<LoadedDataset>(key)?.etag;
      const headers: Record<string, string> = etag ? { "If-Match": etag } : {};
      const body = JSON.stringify({ draft: { items } });
      return loaded(await request(datasetBase(ws, slug), { method: "PATCH", body, headers }));
    },
    onSuccess: async (data) => {
      queryClient.setQueryData(key, data);
      await queryClient.invalidateQueries({ queryKey: [ws, "datasets"], exact: true });
    },
  });
}

/** Adds a CSV or JSONL file's items to the draft (or replaces them); all or nothing on the server. */
export async function importFile(ws: string, slug: string, file: File, mode: "append" | "replace"): Promise<DatasetRow> {
  const form = new FormData();
  form.append("file", file);
  form.append("mode", mode);
  const response = await request(`${datasetBase(ws, slug)}import/`, { method: "POST", body: form });
  return (await response.json()) as DatasetRow;
}

export function exportUrl(ws: string, slug: string, format: "csv" | "jsonl", version: string | null): string {
  const params = new URLSearchParams({ as: format });
  if (version) params.set("version", version);
  return `${datasetBase(ws, slug)}export/?${params.toString()}`;
}
