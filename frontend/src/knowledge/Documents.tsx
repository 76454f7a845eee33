// Adding documents by pasted text or URL, and the document list: status with progress, the parser's reason for
// a failure, re-ingest, delete and the chunks.
import { Alert, Badge, Button, Group, Progress, Stack, Table, Text, TextInput, Textarea } from "@mantine/core";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError } from "../api/client";
import { useAddDocument, useDocumentAction } from "./api";
import { isFinished, type KnowledgeDocument } from "./types";
import { formatBytes } from "./uploads";
import { PHASE_COLOR } from "./Uploader";

export function AddText({ knowledgeBase, disabled }: { knowledgeBase: string; disabled: boolean }) {
  const { t } = useTranslation();
  const add = useAddDocument(knowledgeBase);
  const [title, setTitle] = useState("");
  const [text, setText] = useState("");
  const error = add.error instanceof ApiError ? add.error : null;
  return (
    <Stack gap="xs" component="form" onSubmit={(e) => { e.preventDefault(); add.mutate({ title, text }, { onSuccess: () => { setTitle(""); setText(""); } }); }}>
      <TextInput label={t("knowledge.docTitle")} value={title} onChange={(e) => setTitle(e.currentTarget.value)} error={error?.fieldMessages("title")[0]} />
      <Textarea label={t("knowledge.pasteText")} value={text} onChange={(e) => setText(e.currentTarget.value)} autosize minRows={4} maxRows={12} error={error?.fieldMessages("text")[0] ?? (error && !error.fieldMessages("title").length ? error.message : undefined)} />
      <Group justify="flex-end"><Button type="submit" loading={add.isPending} disabled={disabled || !text.trim()}>{t("knowledge.addText")}</Button></Group>
    </Stack>
  );
}

export function AddUrl({ knowledgeBase, disabled }: { knowledgeBase: string; disabled: boolean }) {
  const { t } = useTranslation();
  const add = useAddDocument(knowledgeBase);
  const [url, setUrl] = useState("");
  const error = add.error instanceof ApiError ? add.error : null;
  return (
    <Group component="form" align="flex-start" onSubmit={(e) => { e.preventDefault(); add.mutate({ url }, { onSuccess: () => setUrl("") }); }}>
      <TextInput style={{ flex: 1 }} label={t("knowledge.url")} placeholder="https://…" value={url} onChange={(e) => setUrl(e.currentTarget.value)} error={error?.fieldMessages("url")[0] ?? (error ? error.message : undefined)} />
      <Button mt={24} type="submit" loading={add.isPending} disabled={disabled || !url.trim()}>{t("knowledge.addUrl")}</Button>
    </Group>
  );
}

interface ListProps {
  knowledgeBase: string;
  documents: KnowledgeDocument[];
  canEdit: boolean;
  onChunks: (document: KnowledgeDocument) => void;
}

export function DocumentList({ knowledgeBase, documents, canEdit, onChunks }: ListProps) {
  const { t } = useTranslation();
  const act = useDocumentAction(knowledgeBase);
  if (!documents.length) return <Text c="dimmed">{t("knowledge.noDocuments")}</Text>;
  return (
    <Stack gap="xs">
      {act.error && <Alert color="red">{(act.error as Error).message}</Alert>}
      <Table striped>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{t("knowledge.docTitle")}</Table.Th>
            <Table.Th>{t("knowledge.source")}</Table.Th>
            <Table.Th>{t("common.status")}</Table.Th>
            <Table.Th>{t("knowledge.chunks")}</Table.Th>
            <Table.Th>{t("common.updated")}</Table.Th>
            <Table.Th>{t("common.actions")}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {documents.map((d) => (
            <Table.Tr key={d.id} data-testid="document" data-title={d.title}>
              <Table.Td>
                <Text size="sm">{d.title}</Text>
                {d.source === "url" && <Text size="xs" c="dimmed" truncate maw={320}>{d.source_url}</Text>}
                {d.status === "failed" && d.error && <Text size="xs" c="red" role="alert">{d.error}</Text>}
              </Table.Td>
              <Table.Td>{t(`knowledge.sources.${d.source}`)}{d.size ? <Text span size="xs" c="dimmed"> · {formatBytes(d.size)}</Text> : null}</Table.Td>
              <Table.Td miw={140}>
                <Badge color={PHASE_COLOR[d.status] ?? "gray"} variant="light">{t(`knowledge.phases.${d.status}`)}</Badge>
                {!isFinished(d.status) && <Progress mt={4} size="sm" value={d.progress} animated aria-label={d.title} />}
              </Table.Td>
              <Table.Td>{d.chunk_count}</Table.Td>
              <Table.Td>{new Date(d.updated_at).toLocaleString()}</Table.Td>
              <Table.Td>
                <Group gap={4} wrap="nowrap">
                  <Button size="xs" variant="light" onClick={() => onChunks(d)} disabled={!d.chunk_count}>{t("knowledge.chunks")}</Button>
                  <Button size="xs" variant="light" disabled={!canEdit || !isFinished(d.status)} onClick={() => act.mutate({ id: d.id, action: "reingest" })}>{t("knowledge.reingest")}</Button>
                  <Button size="xs" variant="subtle" color="red" disabled={!canEdit} onClick={() => { if (window.confirm(t("knowledge.confirmDelete", { title: d.title }))) act.mutate({ id: d.id, action: "delete" }); }}>{t("common.delete")}</Button>
                </Group>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}
