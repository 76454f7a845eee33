// A knowledge base: documents (upload with live progress, pasted text, URL; the list with chunks and re-ingest),
// hit testing (of the head or a published version), versions (publish, labels, diff, restore), and settings
// (re-embed, Dify's external knowledge endpoint).
import { Alert, Badge, Group, Loader, Paper, Stack, Tabs, Text, Title } from "@mantine/core";
import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useReducer, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { documentsKey, useDocuments, useKnowledgeBase } from "../knowledge/api";
import { ChunkBrowser } from "../knowledge/Chunks";
import { AddText, AddUrl, DocumentList } from "../knowledge/Documents";
import { HitTestingPanel } from "../knowledge/HitTesting";
import { ReembedProgress, SettingsPanel } from "../knowledge/Settings";
import { isFinished, type DocumentProgressEvent, type KnowledgeDocument } from "../knowledge/types";
import { Uploader } from "../knowledge/Uploader";
import { uploadsReducer, withEvent } from "../knowledge/uploads";
import { VersionsPanel } from "../knowledge/Versions";
import { useDocumentEvents } from "../knowledge/useDocumentEvents";
import { useCan, useWorkspaceSlug } from "../session";

export default function KnowledgeDetail() {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  const slug = useParams().slug ?? "";
  const canEdit = useCan("editor");
  const client = useQueryClient();
  const kb = useKnowledgeBase(slug);
  const [uploads, dispatch] = useReducer(uploadsReducer, []);
  const [chunksOf, setChunksOf] = useState<KnowledgeDocument | null>(null);

  const onEvent = useCallback(
    (event: DocumentProgressEvent) => {
      dispatch({ type: "event", event });
      client.setQueryData<KnowledgeDocument[]>(documentsKey(ws, slug), (rows) => (rows ? withEvent(rows, event) : rows));
      if (isFinished(event.status)) void client.invalidateQueries({ queryKey: [ws, "knowledge-bases", slug] });
    },
    [client, ws, slug],
  );
  const live = useDocumentEvents(ws, slug, onEvent);
  const documents = useDocuments(slug, live);
  useEffect(() => {
    if (documents.data) dispatch({ type: "documents", documents: documents.data });
  }, [documents.data]);

  if (kb.error) return <Alert color="red">{(kb.error as Error).message}</Alert>;
  if (!kb.data) return <Loader />;
  const base = kb.data;
  const refreshDocuments = () => void client.invalidateQueries({ queryKey: documentsKey(ws, slug) });

  return (
    <Stack>
      <Group justify="space-between">
        <Group gap="xs">
          <Text component={Link} to={`/w/${ws}/knowledge`} c="dimmed">{t("knowledge.title")} /</Text>
          <Title order={2}>{base.name}</Title>
          <Badge variant="light">{base.embedding_model}{base.dims ? ` · ${base.dims}d` : ""}</Badge>
          <Badge variant="outline">{t(`knowledge.distances.${base.distance}`)}</Badge>
        </Group>
        <Badge color={live ? "green" : "gray"} variant="dot">{live ? t("knowledge.live") : t("knowledge.polling")}</Badge>
      </Group>
      {base.description && <Text c="dimmed">{base.description}</Text>}
      <ReembedProgress kb={base} documents={documents.data ?? []} />
      <Tabs defaultValue="documents" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="documents">{t("knowledge.documents")} ({documents.data?.length ?? 0})</Tabs.Tab>
          <Tabs.Tab value="hit-testing">{t("knowledge.hitTesting")}</Tabs.Tab>
          <Tabs.Tab value="versions">{t("knowledge.versions")}{base.latest_version_number ? ` (v${base.latest_version_number})` : ""}</Tabs.Tab>
          <Tabs.Tab value="settings">{t("knowledge.settings")}</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="documents" pt="md">
          <Stack>
            <Group grow align="flex-start">
              <Paper withBorder p="md">
                <Title order={4} mb="xs">{t("knowledge.upload")}</Title>
                <Uploader knowledgeBase={slug} limits={base.upload_limits} items={uploads} dispatch={dispatch} onCreated={refreshDocuments} disabled={!canEdit} />
              </Paper>
              <Paper withBorder p="md">
                <Title order={4} mb="xs">{t("knowledge.addOther")}</Title>
                <Stack>
                  <AddText knowledgeBase={slug} disabled={!canEdit} />
                  <AddUrl knowledgeBase={slug} disabled={!canEdit} />
                </Stack>
              </Paper>
            </Group>
            {documents.error && <Alert color="red">{(documents.error as Error).message}</Alert>}
            <DocumentList knowledgeBase={slug} documents={documents.data ?? []} canEdit={canEdit} onChunks={setChunksOf} />
          </Stack>
        </Tabs.Panel>
        <Tabs.Panel value="hit-testing" pt="md">
          <HitTestingPanel kb={base} />
        </Tabs.Panel>
        <Tabs.Panel value="versions" pt="md">
          <VersionsPanel kb={base} />
        </Tabs.Panel>
        <Tabs.Panel value="settings" pt="md">
          <SettingsPanel kb={base} canEdit={canEdit} />
        </Tabs.Panel>
      </Tabs>
      {chunksOf && <ChunkBrowser knowledgeBase={slug} document={chunksOf} canEdit={canEdit} onClose={() => setChunksOf(null)} />}
    </Stack>
  );
}
