// The workspace's evaluation datasets: name, slug, description, item count and version; create one (errors on
// its fields) and open it to edit its items.
import { Textarea } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { ResourceList } from "../components/ResourceList";
import type { DatasetItem } from "../datasets/items";
import { useWorkspaceSlug } from "../session";

export default function Datasets() {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  return (
    <ResourceList
      kind="datasets"
      title={t("datasets.title")}
      empty={t("datasets.empty")}
      createLabel={t("datasets.create")}
      initialDraft={() => ({ items: [] })}
      linkTo={(r) => `/w/${ws}/datasets/${r.slug}`}
      extraCreateFields={(set, error) => (
        <Textarea label={t("common.description")} autosize minRows={2} onChange={(e) => set({ description: e.currentTarget.value })} error={error?.fieldMessages("description")[0]} />
      )}
      columns={[
        { header: t("datasets.items"), cell: (r) => ((r.draft as { items?: DatasetItem[] } | null)?.items ?? []).length },
        { header: t("common.description"), cell: (r) => r.description ?? "" },
      ]}
    />
  );
}
