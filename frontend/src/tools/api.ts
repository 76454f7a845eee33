// Server state of the Tools area through TanStack Query: providers, the workspace's tools, the built-in
// catalogue, a test call and the metered calls (platform/llmops/tools/api/).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { listOf, request } from "../api/client";
import type { components } from "../api/schema";
import { useWorkspaceSlug } from "../session";

export type ToolProvider = components["schemas"]["ToolProvider"];
export type WorkspaceTool = components["schemas"]["WorkspaceTool"];
export type ToolSpec = components["schemas"]["ToolSpec"];
export type BuiltinProvider = components["schemas"]["BuiltinProvider"];
export type ToolCall = components["schemas"]["ToolCall"];
export type ToolTestResult = components["schemas"]["ToolTestResult"];

const base = (ws: string) => `/api/workspaces/${ws}/`;
const providersPath = (ws: string, slug?: string) => `${base(ws)}tool-providers/${slug ? `${slug}/` : ""}`;

async function json<T>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

export function useProviders() {
  const ws = useWorkspaceSlug();
  return useQuery({ queryKey: [ws, "tool-providers"], queryFn: () => listOf<ToolProvider>(providersPath(ws)), enabled: !!ws });
}

export function useWorkspaceTools() {
  const ws = useWorkspaceSlug();
  return useQuery({ queryKey: [ws, "tools"], queryFn: () => listOf<WorkspaceTool>(`${base(ws)}tools/`), enabled: !!ws });
}

export function useBuiltinCatalogue() {
  const ws = useWorkspaceSlug();
  return useQuery({
    queryKey: [ws, "builtin-tool-providers"],
    queryFn: () => listOf<BuiltinProvider>(`${base(ws)}builtin-tool-providers/`),
    enabled: !!ws,
    staleTime: 5 * 60_000,
  });
}

export function useToolCalls(tool: string) {
  const ws = useWorkspaceSlug();
  const query = new URLSearchParams({ limit: "100", ...(tool ? { tool } : {}) });
  return useQuery({
    queryKey: [ws, "tool-calls", tool],
    queryFn: () => listOf<ToolCall>(`${base(ws)}tool-calls/?${query.toString()}`),
    enabled: !!ws,
  });
}

function useInvalidateTools() {
  const ws = useWorkspaceSlug();
  const client = useQueryClient();
  return async () => {
    await client.invalidateQueries({ queryKey: [ws, "tool-providers"] });
    await client.invalidateQueries({ queryKey: [ws, "tools"] });
  };
}

/** Create (no slug) or update (slug) a provider through the generic resource. */
export function useSaveProvider(slug?: string) {
  const ws = useWorkspaceSlug();
  const invalidate = useInvalidateTools();
  return useMutation({
    mutationFn: async (body: Record<string, unknown>) =>
      json<ToolProvider>(await request(providersPath(ws, slug), { method: slug ? "PATCH" : "POST", body: JSON.stringify(body) })),
    onSuccess: invalidate,
  });
}

export function useImportOpenapi() {
  const ws = useWorkspaceSlug();
  const invalidate = useInvalidateTools();
  return useMutation({
    mutationFn: async (body: Record<string, unknown>) =>
      json<ToolProvider>(await request(`${providersPath(ws)}import-openapi/`, { method: "POST", body: JSON.stringify(body) })),
    onSuccess: invalidate,
  });
}

export function useProviderAction() {
  const ws = useWorkspaceSlug();
  const invalidate = useInvalidateTools();
  return useMutation({
    mutationFn: async ({ slug, action, enabled }: { slug: string; action: "enable" | "refresh" | "delete"; enabled?: boolean }) => {
      if (action === "delete") await request(providersPath(ws, slug), { method: "DELETE" });
      else if (action === "refresh") await request(`${providersPath(ws, slug)}refresh/`, { method: "POST" });
      else await request(providersPath(ws, slug), { method: "PATCH", body: JSON.stringify({ enabled }) });
    },
    onSuccess: invalidate,
  });
}

export function useTestTool(name: string) {
  const ws = useWorkspaceSlug();
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (args: Record<string, unknown>) =>
      json<ToolTestResult>(await request(`${base(ws)}tools/${name}/test/`, { method: "POST", body: JSON.stringify({ arguments: args }) })),
    onSettled: async () => client.invalidateQueries({ queryKey: [ws, "tool-calls"] }),
  });
}
