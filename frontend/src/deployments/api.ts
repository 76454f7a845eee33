// Server state of deployments, their API keys, counters and calls (TanStack Query hooks, one per resource).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { listOf, request } from "../api/client";
import type { components } from "../api/schema";
import type { DslWorkflow } from "../api/workflow";
import type { Version } from "../components/Versions";
import type { RunRow } from "../pages/Runs";
import { useWorkspaceSlug } from "../session";

export type Deployment = components["schemas"]["Deployment"];
export type DeploymentBody = components["schemas"]["DeploymentRequest"];
export type ApiKey = components["schemas"]["ApiKey"];
export type ApiKeyCreated = components["schemas"]["ApiKeyCreated"];
export type ApiKeyBody = components["schemas"]["ApiKeyCreateRequest"];
export type Counters = components["schemas"]["Counters"];
export type Call = RunRow & { end_user: string };

const base = (ws: string) => `/api/workspaces/${ws}/deployments/`;

async function json<T>(path: string, init?: RequestInit): Promise<T> {
  return (await (await request(path, init)).json()) as T;
}

export function useDeployments() {
  const ws = useWorkspaceSlug();
  return useQuery({ queryKey: [ws, "deployments"], queryFn: () => listOf<Deployment>(`${base(ws)}?limit=500`), enabled: !!ws });
}

export function useDeployment(slug: string) {
  const ws = useWorkspaceSlug();
  return useQuery({ queryKey: [ws, "deployments", slug], queryFn: () => json<Deployment>(`${base(ws)}${slug}/`), enabled: !!ws, retry: false });
}

export function useCounters(slug: string) {
  const ws = useWorkspaceSlug();
  return useQuery({ queryKey: [ws, "deployments", slug, "counters"], queryFn: () => json<Counters>(`${base(ws)}${slug}/counters/`) });
}

/** The deployment's recent calls (the runs API filtered by deployment id), refreshed while any is unfinished. */
export function useCalls(deployment: Deployment | undefined) {
  const ws = useWorkspaceSlug();
  return useQuery({
    queryKey: [ws, "deployments", deployment?.slug, "calls"],
    queryFn: () => listOf<Call>(`/api/workspaces/${ws}/runs/?deployment=${deployment!.id}&limit=50`),
    enabled: !!deployment,
    refetchInterval: (query) => (query.state.data?.some((r) => r.status === "queued" || r.status === "running") ? 2000 : false),
  });
}

/** The version the deployment's target resolves to now (for its declared inputs), or null. */
export function useTargetVersion(deployment: Deployment | undefined) {
  const ws = useWorkspaceSlug();
  const kind = deployment?.workflow ? "workflows" : "chains";
  const slug = deployment?.workflow ?? deployment?.chain;
  return useQuery({
    queryKey: [ws, kind, slug, "versions"],
    queryFn: () => listOf<Version<DslWorkflow>>(`/api/workspaces/${ws}/${kind}/${slug}/versions/?limit=200`),
    enabled: !!slug,
    select: (versions) => resolveVersion(versions, deployment?.version ?? "latest"),
  });
}

/** `latest`, a number or a label, resolved like the platform does at call time. */
export function resolveVersion<C>(versions: Version<C>[], ref: string): Version<C> | null {
  if (!versions.length) return null;
  if (ref === "latest" || ref === "") return versions.reduce((a, b) => (b.number > a.number ? b : a));
  if (/^\d+$/.test(ref)) return versions.find((v) => v.number === Number(ref)) ?? null;
  return versions.find((v) => v.labels.includes(ref)) ?? null;
}

export function useSaveDeployment(slug?: string) {
  const ws = useWorkspaceSlug();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: Partial<DeploymentBody>) =>
      json<Deployment>(slug ? `${base(ws)}${slug}/` : base(ws), { method: slug ? "PATCH" : "POST", body: JSON.stringify(body) }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: [ws, "deployments"] }),
  });
}

export function useSetStatus(slug: string) {
  const ws = useWorkspaceSlug();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (action: "pause" | "resume") => json<Deployment>(`${base(ws)}${slug}/${action}/`, { method: "POST", body: "{}" }),
    onSuccess: (deployment) => {
      queryClient.setQueryData([ws, "deployments", slug], deployment);
      return queryClient.invalidateQueries({ queryKey: [ws, "deployments"] });
    },
  });
}

export function useApiKeys() {
  const ws = useWorkspaceSlug();
  return useQuery({ queryKey: [ws, "api-keys"], queryFn: () => listOf<ApiKey>(`/api/workspaces/${ws}/api-keys/?limit=500`) });
}

export function useCreateKey() {
  const ws = useWorkspaceSlug();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: Partial<ApiKeyBody>) => json<ApiKeyCreated>(`/api/workspaces/${ws}/api-keys/`, { method: "POST", body: JSON.stringify(body) }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: [ws, "api-keys"] }),
  });
}

export function useRevokeKey() {
  const ws = useWorkspaceSlug();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => json<ApiKey>(`/api/workspaces/${ws}/api-keys/${id}/revoke/`, { method: "POST", body: "{}" }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: [ws, "api-keys"] }),
  });
}

/** Keys that can call this deployment: those for all deployments (none listed) and those naming it. */
export function keysFor(keys: ApiKey[], slug: string): ApiKey[] {
  return keys.filter((k) => k.deployments.length === 0 || k.deployments.includes(slug));
}
