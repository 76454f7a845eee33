// A document's chunks: browse, switch one off, or edit its text (the server embeds the new text again).
import { Alert, Badge, Button, Group, Modal, Paper, Stack, Switch, Text, Textarea } from "@mantine/core";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError } from "../api/client";
import { useChunks, useEditChunk } from "./api";
import type { Chunk, KnowledgeDocument } from "./types";

function ChunkCard({ knowledgeBase, document, chunk, canEdit }: { knowledgeBase: string; document: number; chunk: Chunk; canEdit: boolean }) {
  const { t } = useTranslation();
  const edit = useEditChunk(knowledgeBase, document);
  const [text, setText] = useState<string | null>(null);
  const error = edit.error instanceof ApiError ? edit.error : null;
  return (
    <Paper withBorder p="xs" data-testid="chunk" opacity={chunk.enabled ? 1 : 0.6}>
      <Group justify="space-between" mb={4}>
        <Group gap="xs">
          <Badge variant="light">#{chunk.position}</Badge>
          {chunk.is_parent && <Badge variant="outline" size="xs">{t("knowledge.parent")}</Badge>}
          <Text size="xs" c="dimmed">{chunk.text.length} {t("knowledge.characters")}{chunk.dims ? ` · ${chunk.dims}d` : ""}</Text>
        </Group>
        <Group gap="xs">
          <Switch size="xs" label={t("knowledge.enabled")} checked={chunk.enabled} disabled={!canEdit || edit.isPending} onChange={(e) => edit.mutate({ id: chunk.id, enabled: e.currentTarget.checked })} />
          {text === null && <Button size="xs" variant="light" disabled={!canEdit} onClick={() => setText(chunk.text)}>{t("knowledge.edit")}</Button>}
        </Group>
      </Group>
      {text === null ? (
        <Text size="sm" style={{ whiteSpace: "pre-wrap" }}>{chunk.text}</Text>
      ) : (
        <Stack gap="xs">
          <Textarea aria-label={t("knowledge.chunkText")} value={text} onChange={(e) => setText(e.currentTarget.value)} autosize minRows={3} error={error?.fieldMessages("text")[0] ?? error?.message} />
          <Group justify="flex-end">
            <Button size="xs" variant="subtle" onClick={() => { setText(null); edit.reset(); }}>{t("common.cancel")}</Button>
            <Button size="xs" loading={edit.isPending} onClick={() => edit.mutate({ id: chunk.id, text }, { onSuccess: () => setText(null) })}>{t("knowledge.saveReembed")}</Button>
          </Group>
        </Stack>
      )}
    </Paper>
  );
}

export function ChunkBrowser({ knowledgeBase, document, canEdit, onClose }: { knowledgeBase: string; document: KnowledgeDocument; canEdit: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const chunks = useChunks(knowledgeBase, document.id);
  return (
    <Modal opened onClose={onClose} title={`${t("knowledge.chunks")}: ${document.title}`} size="xl">
      <Stack gap="xs">
        {chunks.error && <Alert color="red">{(chunks.error as Error).message}</Alert>}
        {chunks.data?.length === 0 && <Text c="dimmed">{t("knowledge.noChunks")}</Text>}
        {chunks.data?.map((chunk) => <ChunkCard key={chunk.id} knowledgeBase={knowledgeBase} document={document.id} chunk={chunk} canEdit={canEdit} />)}
      </Stack>
    </Modal>
  );
}
