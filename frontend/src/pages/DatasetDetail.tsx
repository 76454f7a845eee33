// A dataset: its items as an editable table (each change saved to the draft), CSV/JSONL import with the bad
// rows listed by line, export of the draft or a version, publishing the draft as a version, and the versions.
import { Alert, Anchor, Badge, Button, Card, Group, Select, Stack, Text, TextInput, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { ApiError, request } from "../api/client";
import { useVersions, Versions } from "../components/Versions";
import { datasetBase, exportUrl, useDataset, useSaveItems } from "../datasets/api";
import { ImportPanel } from "../datasets/ImportPanel";
import { ItemsTable } from "../datasets/ItemsTable";
import type { DatasetItem } from "../datasets/items";
import { useCan, useWorkspaceSlug } from "../session";

type Content = { items?: DatasetItem[] };

/** A version as the diff compares it: one JSON item per line. */
function textOf(content: Content): string {
  return (content.items ?? []).map((item) => JSON.stringify(item)).join("\n");
}

function ExportButtons({ ws, slug, queryKey }: { ws: string; slug: string; queryKey: readonly unknown[] }) {
  const { t } = useTranslation();
  const versions = useVersions<Content>(datasetBase(ws, slug), queryKey);
  const [version, setVersion] = useState<string | null>(null);
  const options = [{ value: "", label: t("common.draft") }, ...(versions.data ?? []).map((v) => ({ value: String(v.number), label: `v${v.number}` }))];
  return (
    <Group gap="xs">
      <Select aria-label={t("datasets.exportVersion")} size="xs" w={110} data={options} value={version ?? ""} onChange={(v) => setVersion(v || null)} allowDeselect={false} />
      <Button size="xs" variant="default" component="a" href={exportUrl(ws, slug, "csv", version)} download>{t("datasets.exportCsv")}</Button>
      <Button size="xs" variant="default" component="a" href={exportUrl(ws, slug, "jsonl", version)} download>{t("datasets.exportJsonl")}</Button>
    </Group>
  );
}

export default function DatasetDetail() {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  const { slug = "" } = useParams();
  const canEdit = useCan("editor");
  const queryClient = useQueryClient();
  const queryKey = [ws, "datasets", slug] as const;
  const base = datasetBase(ws, slug);
  const loaded = useDataset(ws, slug);
  const saveItems = useSaveItems(ws, slug);
  const [message, setMessage] = useState("");
  const refresh = () => queryClient.invalidateQueries({ queryKey });

  const publish = useMutation({
    mutationFn: async () => (await (await request(`${base}publish/`, { method: "POST", body: JSON.stringify({ message }) })).json()) as { number: number },
    onSuccess: async (version) => {
      setMessage("");
      notifications.show({ color: "green", message: t("datasets.published", { number: version.number }) });
      await refresh();
    },
  });
  const save = async (items: DatasetItem[]) => {
    await saveItems.mutateAsync(items);
    notifications.show({ color: "green", message: t("datasets.savedToDraft") });
  };

  if (loaded.error) return <Alert color="red">{loaded.error.message}</Alert>;
  if (!loaded.data) return <Text>{t("app.loading")}</Text>;
  const { dataset } = loaded.data;
  const items = dataset.draft.items ?? [];
  const conflict = saveItems.error instanceof ApiError && saveItems.error.status === 412;
  const publishError = publish.error instanceof ApiError ? publish.error : null;

  return (
    <Stack>
      <Group justify="space-between" align="flex-start">
        <Stack gap={2}>
          <Anchor component={Link} to={`/w/${ws}/datasets`} size="sm">{t("datasets.title")}</Anchor>
          <Title order={2}>{dataset.name} <Text span c="dimmed" size="sm">{dataset.slug}</Text></Title>
          {dataset.description && <Text c="dimmed" size="sm">{dataset.description}</Text>}
        </Stack>
        <Group align="flex-end">
          <Badge variant="light">{dataset.latest_version_number ? `v${dataset.latest_version_number}` : t("common.draft")}</Badge>
          <TextInput aria-label={t("common.message")} placeholder={t("common.message")} value={message} onChange={(e) => setMessage(e.currentTarget.value)} disabled={!canEdit} />
          <Button onClick={() => publish.mutate()} loading={publish.isPending} disabled={!canEdit}>{t("common.publish")}</Button>
        </Group>
      </Group>
      {!canEdit && <Alert color="gray">{t("common.readOnly")}</Alert>}
      {conflict && (
        <Alert color="orange" role="alert">
          <Group justify="space-between">
            <Text size="sm">{t("datasets.conflict")}</Text>
            <Button size="xs" variant="light" onClick={() => { saveItems.reset(); void refresh(); }}>{t("datasets.reload")}</Button>
          </Group>
        </Alert>
      )}
      {publishError && <Alert color="red" role="alert">{publishError.message}{Object.entries(publishError.fields).map(([k, v]) => <div key={k}><code>{k}</code>: {v.join(" ")}</div>)}</Alert>}
      <Card withBorder>
        <Stack gap="xs">
          <Group justify="space-between">
            <Title order={4}>{t("datasets.importTitle")}</Title>
            <ExportButtons ws={ws} slug={slug} queryKey={queryKey} />
          </Group>
          <ImportPanel ws={ws} slug={slug} disabled={!canEdit} onImported={() => void refresh()} />
        </Stack>
      </Card>
      <ItemsTable items={items} canEdit={canEdit && !conflict} save={save} />
      <Versions<Content> base={base} queryKey={queryKey} canEdit={canEdit} textOf={textOf} onRestored={() => void refresh()} />
    </Stack>
  );
}
