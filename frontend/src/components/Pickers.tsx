// Pickers of workspace resources by slug (model endpoints, prompts, knowledge bases), from the API.
import { Select, type SelectProps } from "@mantine/core";
import { useResources } from "./ResourceList";

type Kind = "model-endpoints" | "prompts" | "knowledge-bases" | "chains";

interface Props extends Omit<SelectProps, "data"> {
  kind: Kind;
  modelType?: "chat" | "embedding" | "rerank";
}

export function ResourcePicker({ kind, modelType, ...props }: Props) {
  const items = useResources(kind);
  const data = (items.data ?? [])
    .filter((r) => !modelType || ((r.draft ?? {}) as { model_type?: string }).model_type === modelType)
    .map((r) => ({ value: r.slug, label: `${r.name} (${r.slug})` }));
  return <Select searchable clearable data={data} {...props} />;
}
