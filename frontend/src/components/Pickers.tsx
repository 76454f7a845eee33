// Pickers of workspace resources by slug (model endpoints, prompts, knowledge bases), from the API.
import { Select, type SelectProps } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { request } from "../api/client";
import { useWorkspaceSlug } from "../session";
import { listResources } from "./ResourceList";

type Kind = "model-endpoints" | "prompts" | "knowledge-bases" | "chains";

interface Props extends Omit<SelectProps, "data"> {
  kind: Kind;
  modelType?: "chat" | "embedding" | "rerank";
}

export function ResourcePicker({ kind, modelType, ...props }: Props) {
  const ws = useWorkspaceSlug();
  const items = useQuery({
    queryKey: [ws, kind],
    queryFn: async () => {
      if (kind === "knowledge-bases") {
        const body = (await (await request(`/api/workspaces/${ws}/knowledge-bases/?limit=500`)).json()) as
          | { slug: string; name: string }[]
          | { results: { slug: string; name: string }[] };
        return (Array.isArray(body) ? body : body.results).map((kb) => ({ ...kb, draft: {} }));
      }
      return listResources(ws, kind);
    },
    enabled: !!ws,
  });
  const data = (items.data ?? [])
    .filter((r) => !modelType || ((r.draft ?? {}) as { model_type?: string }).model_type === modelType)
    .map((r) => ({ value: r.slug, label: `${r.name} (${r.slug})` }));
  return <Select searchable clearable data={data} {...props} />;
}
