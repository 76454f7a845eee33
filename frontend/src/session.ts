// The signed-in user and the workspaces they belong to (with their role in each).
import { useQuery } from "@tanstack/react-query";
import { useParams } from "react-router";
import { api, listOf, unwrap } from "./api/client";
import type { components } from "./api/schema";

export type Workspace = components["schemas"]["Workspace"];
export type Role = "viewer" | "editor" | "admin" | "owner";

const RANK: Record<Role, number> = { viewer: 0, editor: 1, admin: 2, owner: 3 };

export function useMe() {
  return useQuery({ queryKey: ["me"], queryFn: async () => unwrap(await api.GET("/api/auth/me/")), retry: false });
}

export function useWorkspaces() {
  return useQuery({
    queryKey: ["workspaces"],
    queryFn: () => listOf<Workspace>("/api/workspaces/"),
  });
}

/** The workspace slug of the current route. */
export function useWorkspaceSlug(): string {
  return useParams().ws ?? "";
}

/** Whether the caller's role in the current workspace is at least `role` (editors write, admins manage). */
export function useCan(role: Role): boolean {
  const slug = useWorkspaceSlug();
  const workspaces = useWorkspaces();
  const mine = workspaces.data?.find((w) => w.slug === slug)?.role as Role | undefined;
  return mine !== undefined && RANK[mine] >= RANK[role];
}

/** Whether the caller reviews evaluations in the current workspace (admins and owners, or members granted it). */
export function useCanReview(): boolean {
  const slug = useWorkspaceSlug();
  const workspaces = useWorkspaces();
  return workspaces.data?.find((w) => w.slug === slug)?.can_review === true;
}
