// Versions of a knowledge base: publish the head (with the documents left out and why), the list with labels,
// set a label, restore into the head, delete, and the diff with the previous version.
import { Alert, Badge, Button, Group, List, Paper, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, listOf, request } from "../api/client";
import { useCan, useWorkspaceSlug } from "../session";
import { kbPath } from "./api";
import { diffIsEmpty } from "./versionDiff";
import type { DiffDocument, KnowledgeBase, KnowledgeDiff, KnowledgeVersion } from "./types";

export const versionsKey = (ws: string, kb: string) => [ws, "knowledge-bases", kb, "versions"];

/** The published versions of a knowledge base, newest first. */
export function useKnowledgeVersions(slug: string) {
  const ws = useWorkspaceSlug();
  return useQuery({ queryKey: versionsKey(ws, slug), queryFn: () => listOf<KnowledgeVersion>(`${kbPath(ws, slug)}versions/`) });
}

function DiffList({ title, items, detail }: { title: string; items: DiffDocument[]; detail?: (d: DiffDocument) => string }) {
  if (!items.length) return null;
  return (
    <div>
      <Text size="sm" fw={500}>{title} ({items.length})</Text>
      <List size="sm">
        {items.map((d) => <List.Item key={d.document}>{d.title}{detail ? ` · ${detail(d)}` : ""}</List.Item>)}
      </List>
    </div>
  );
}

function DiffPanel({ slug, number }: { slug: string; number: number }) {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  const diff = useQuery({
    queryKey: [...versionsKey(ws, slug), "diff", number],
    queryFn: async () => (await (await request(`${kbPath(ws, slug)}diff/?from=${number - 1}&to=${number}`)).json()) as KnowledgeDiff,
  });
  if (diff.error) return <Alert color="red">{(diff.error as Error).message}</Alert>;
  if (!diff.data) return null;
  const d = diff.data;
  const chunks = (doc: DiffDocument) => t("knowledge.chunksChanged", { count: doc.chunks_edited ?? 0 });
  const counts = (doc: DiffDocument) => `${doc.chunks_before ?? 0} → ${doc.chunks_after ?? 0}`;
  return (
    <Paper withBorder p="sm" data-testid="version-diff">
      <Title order={5} mb="xs">{t("knowledge.diffTitle", { old: d.old, new: d.new })}</Title>
      {diffIsEmpty(d) && <Text size="sm" c="dimmed">{t("knowledge.diffNothing")}</Text>}
      <Stack gap="xs">
        <DiffList title={t("knowledge.diffAdded")} items={d.added} />
        <DiffList title={t("knowledge.diffRemoved")} items={d.removed} />
        <DiffList title={t("knowledge.diffRechunked")} items={d.re_chunked} detail={counts} />
        <DiffList title={t("knowledge.diffEdited")} items={d.chunks_edited} detail={chunks} />
        <DiffList title={t("knowledge.diffReembedded")} items={d.re_embedded} />
        {!!d.settings.length && (
          <div>
            <Text size="sm" fw={500}>{t("knowledge.diffSettings")}</Text>
            <List size="sm">
              {d.settings.map((s) => <List.Item key={s.field}><code>{s.field}</code>: {JSON.stringify(s.old)} → {JSON.stringify(s.new)}</List.Item>)}
            </List>
          </div>
        )}
      </Stack>
    </Paper>
  );
}

export function VersionsPanel({ kb }: { kb: KnowledgeBase }) {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  const canEdit = useCan("editor");
  const client = useQueryClient();
  const versions = useKnowledgeVersions(kb.slug);
  const [message, setMessage] = useState("");
  const [labelFor, setLabelFor] = useState<Record<number, string>>({});
  const [comparing, setComparing] = useState<number | null>(null);
  const refresh = () => {
    void client.invalidateQueries({ queryKey: versionsKey(ws, kb.slug) });
    void client.invalidateQueries({ queryKey: [ws, "knowledge-bases", kb.slug] });
  };
  const publish = useMutation({
    mutationFn: async () => {
      const response = await request(`${kbPath(ws, kb.slug)}publish/`, { method: "POST", body: JSON.stringify({ message }) });
      return (await response.json()) as KnowledgeVersion;
    },
    onSuccess: () => {
      setMessage("");
      refresh();
    },
  });
  const act = useMutation({
    mutationFn: async ({ kind, number }: { kind: "label" | "restore" | "delete"; number: number }) => {
      if (kind === "label") {
        const body = JSON.stringify({ name: labelFor[number] ?? "", version: number });
        await request(`${kbPath(ws, kb.slug)}labels/`, { method: "PUT", body });
      } else if (kind === "restore") {
        await request(`${kbPath(ws, kb.slug)}restore/`, { method: "POST", body: JSON.stringify({ number }) });
        void client.invalidateQueries({ queryKey: [ws, "knowledge-bases", kb.slug, "documents"] });
      } else {
        await request(`${kbPath(ws, kb.slug)}versions/${number}/`, { method: "DELETE" });
      }
    },
    onSuccess: (_, { kind, number }) => {
      if (kind === "label") setLabelFor(({ [number]: _done, ...rest }) => rest);
      refresh();
    },
  });
  const publishError = publish.error instanceof ApiError ? publish.error : null;
  const actError = act.error instanceof ApiError ? act.error : null;
  return (
    <Stack>
      <Text size="sm" c="dimmed">{t("knowledge.versionsHelp", { slug: kb.slug })}</Text>
      {canEdit && (
        <Group align="flex-end" component="form" onSubmit={(e) => { e.preventDefault(); publish.mutate(); }}>
          <TextInput label={t("knowledge.publishMessage")} value={message} onChange={(e) => setMessage(e.currentTarget.value)} maxLength={500} w={360} error={publishError?.fieldMessages("message")[0]} />
          <Button type="submit" loading={publish.isPending}>{t("knowledge.publish")}</Button>
        </Group>
      )}
      {publishError && !publishError.fieldMessages("message").length && <Alert color="red">{publishError.message}</Alert>}
      {publish.data && (
        <Alert color="green" data-testid="published">
          {t("knowledge.published", { number: publish.data.number, documents: publish.data.document_count, chunks: publish.data.chunk_count })}
          {publish.data.excluded.map((e) => <Text key={e.document} size="sm">{t("knowledge.excluded", { title: e.title, reason: e.reason })}</Text>)}
        </Alert>
      )}
      {actError && <Alert color="red">{actError.fieldMessages("name")[0] ?? actError.message}</Alert>}
      {versions.data?.length === 0 && <Text c="dimmed">{t("knowledge.noVersions")}</Text>}
      {!!versions.data?.length && (
        <Table striped>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t("knowledge.version")}</Table.Th>
              <Table.Th>{t("knowledge.publishMessage")}</Table.Th>
              <Table.Th>{t("knowledge.documents")}</Table.Th>
              <Table.Th>{t("knowledge.chunks")}</Table.Th>
              <Table.Th>{t("knowledge.author")}</Table.Th>
              <Table.Th>{t("knowledge.created")}</Table.Th>
              <Table.Th>{t("knowledge.labels")}</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {versions.data.map((v) => (
              <Table.Tr key={v.number} data-testid="knowledge-version" data-number={v.number}>
                <Table.Td>v{v.number}</Table.Td>
                <Table.Td>{v.message}</Table.Td>
                <Table.Td>{v.document_count}</Table.Td>
                <Table.Td>{v.chunk_count}</Table.Td>
                <Table.Td>{v.author ?? "—"}</Table.Td>
                <Table.Td>{new Date(v.created_at).toLocaleString()}</Table.Td>
                <Table.Td miw={130}>
                  <Group gap={4}>{v.labels.map((name) => <Badge key={name} variant="light">{name}</Badge>)}</Group>
                </Table.Td>
                <Table.Td>
                  <Group gap="xs" wrap="nowrap">
                    {canEdit && (
                      <>
                        <TextInput size="xs" w={110} placeholder="production" aria-label={`${t("knowledge.label")} v${v.number}`} value={labelFor[v.number] ?? ""} onChange={(e) => setLabelFor({ ...labelFor, [v.number]: e.currentTarget.value })} />
                        <Button size="xs" variant="light" onClick={() => act.mutate({ kind: "label", number: v.number })} disabled={!labelFor[v.number]}>{t("knowledge.setLabel")}</Button>
                        <Button size="xs" variant="light" onClick={() => window.confirm(t("knowledge.confirmRestore", { number: v.number })) && act.mutate({ kind: "restore", number: v.number })}>{t("knowledge.restore")}</Button>
                        <Button size="xs" variant="subtle" color="red" onClick={() => window.confirm(t("knowledge.confirmDeleteVersion", { number: v.number })) && act.mutate({ kind: "delete", number: v.number })}>{t("knowledge.deleteVersion")}</Button>
                      </>
                    )}
                    {v.number > 1 && versions.data?.some((o) => o.number === v.number - 1) && (
                      <Button size="xs" variant="subtle" onClick={() => setComparing(comparing === v.number ? null : v.number)}>{t("knowledge.compare")}</Button>
                    )}
                  </Group>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {comparing !== null && <DiffPanel slug={kb.slug} number={comparing} />}
    </Stack>
  );
}
