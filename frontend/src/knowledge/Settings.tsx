// The settings tab: the same form as creation (a new embedding endpoint or distance re-embeds every document,
// searches keep the previous vectors until all are done), the re-embed's progress, and Dify's external
// knowledge connection (endpoint, knowledge id, and a workspace API key that can only search, shown once).
import { Alert, Button, Code, CopyButton, Group, Paper, Progress, Stack, Text, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useMutation } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { ApiError, request } from "../api/client";
import { useCan, useWorkspaceSlug } from "../session";
import { useSaveKnowledgeBase } from "./api";
import { KnowledgeBaseForm } from "./KnowledgeBaseForm";
import type { KnowledgeBase, KnowledgeDocument } from "./types";

export function ReembedProgress({ kb, documents }: { kb: KnowledgeBase; documents: KnowledgeDocument[] }) {
  const { t } = useTranslation();
  if (!kb.reembedding) return null;
  const done = documents.filter((d) => d.status === "ready").length;
  const failed = documents.filter((d) => d.status === "failed").length;
  const value = documents.length ? (100 * done) / documents.length : 0;
  return (
    <Alert color="yellow" title={t("knowledge.reembedTitle", { from: kb.active_embedding_model, to: kb.embedding_model })}>
      <Text size="sm">{t("knowledge.reembedBody", { done, total: documents.length })}</Text>
      {failed > 0 && <Text size="sm" c="red">{t("knowledge.reembedHeld", { count: failed })}</Text>}
      <Progress mt="xs" value={value} animated aria-label={t("knowledge.reembedding")} />
    </Alert>
  );
}

function Copyable({ label, value, testId }: { label: string; value: string; testId: string }) {
  const { t } = useTranslation();
  return (
    <Group gap="xs" wrap="nowrap">
      <Text size="sm" w={160}>{label}</Text>
      <Code style={{ flex: 1, overflowWrap: "anywhere" }} data-testid={testId}>{value}</Code>
      <CopyButton value={value}>{({ copied, copy }) => <Button size="xs" variant="light" onClick={copy}>{copied ? t("knowledge.copied") : t("knowledge.copy")}</Button>}</CopyButton>
    </Group>
  );
}

export function ExternalKnowledge({ kb }: { kb: KnowledgeBase }) {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  const canEdit = useCan("editor");
  // a workspace API key with the "knowledge" scope only: it searches through this endpoint and opens nothing
  // else (no login, no deployment); listed and revoked with the other keys under Deployments
  const mint = useMutation({
    mutationFn: async () => {
      const body = JSON.stringify({ name: `Dify: ${kb.slug}`, scopes: ["knowledge"] });
      const response = await request(`/api/workspaces/${ws}/api-keys/`, { method: "POST", body });
      return (await response.json()) as { token: string; expires_at: string | null };
    },
  });
  const error = mint.error instanceof ApiError ? mint.error : null;
  const endpoint = `${location.origin}/api/workspaces/${ws}/external-knowledge`;
  return (
    <Paper withBorder p="md">
      <Stack gap="xs">
        <Title order={4}>{t("knowledge.externalTitle")}</Title>
        <Text size="sm" c="dimmed">{t("knowledge.externalHelp")}</Text>
        <Copyable label={t("knowledge.externalEndpoint")} value={endpoint} testId="external-endpoint" />
        <Copyable label={t("knowledge.externalId")} value={kb.slug} testId="external-id" />
        <Text size="xs" c="dimmed">{t("knowledge.externalRetrieval", { url: `${endpoint}/retrieval` })}</Text>
        {mint.data ? (
          <Stack gap={4}>
            <Copyable label={t("knowledge.apiKey")} value={mint.data.token} testId="api-key" />
            <Text size="xs" c="orange">{t("knowledge.keyOnce")}</Text>
          </Stack>
        ) : (
          <Group>
            <Button onClick={() => mint.mutate()} loading={mint.isPending} disabled={!canEdit}>{t("knowledge.createKey")}</Button>
            <Text size="xs" c="dimmed" style={{ flex: 1 }}>{t("knowledge.keyScope")}</Text>
          </Group>
        )}
        {error && <Alert color="red">{error.message}</Alert>}
      </Stack>
    </Paper>
  );
}

export function SettingsPanel({ kb, canEdit }: { kb: KnowledgeBase; canEdit: boolean }) {
  const { t } = useTranslation();
  const save = useSaveKnowledgeBase(kb.slug);
  const error = save.error instanceof ApiError ? save.error : null;
  return (
    <Stack>
      <Paper withBorder p="md">
        <KnowledgeBaseForm
          key={kb.updated_at}
          initial={kb}
          error={error}
          pending={save.isPending}
          submitLabel={t("common.save")}
          onSubmit={(body) => {
            if (!canEdit) return;
            save.mutate(body, { onSuccess: () => notifications.show({ color: "green", message: t("common.saved") }) });
          }}
        />
      </Paper>
      <ExternalKnowledge kb={kb} />
    </Stack>
  );
}
