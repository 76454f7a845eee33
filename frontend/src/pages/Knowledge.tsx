// Knowledge bases: the list (embedding endpoint, documents, retrieval mode) and the create dialog.
import { Alert, Badge, Button, Group, Modal, Stack, Table, Text, Title } from "@mantine/core";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router";
import { ApiError } from "../api/client";
import { useKnowledgeBases, useSaveKnowledgeBase } from "../knowledge/api";
import { KnowledgeBaseForm } from "../knowledge/KnowledgeBaseForm";
import { useCan, useWorkspaceSlug } from "../session";

export default function Knowledge() {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  const canEdit = useCan("editor");
  const navigate = useNavigate();
  const bases = useKnowledgeBases();
  const create = useSaveKnowledgeBase();
  const [open, setOpen] = useState(false);
  const error = create.error instanceof ApiError ? create.error : null;
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>{t("knowledge.title")}</Title>
        <Button onClick={() => { create.reset(); setOpen(true); }} disabled={!canEdit} title={canEdit ? undefined : t("common.readOnly")}>
          {t("knowledge.create")}
        </Button>
      </Group>
      {bases.error && <Alert color="red">{(bases.error as Error).message}</Alert>}
      {bases.data?.length === 0 && <Text c="dimmed">{t("knowledge.empty")}</Text>}
      {!!bases.data?.length && (
        <Table striped highlightOnHover>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t("common.name")}</Table.Th>
              <Table.Th>{t("common.slug")}</Table.Th>
              <Table.Th>{t("knowledge.embeddingEndpoint")}</Table.Th>
              <Table.Th>{t("knowledge.documents")}</Table.Th>
              <Table.Th>{t("knowledge.mode")}</Table.Th>
              <Table.Th>{t("common.updated")}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {bases.data.map((kb) => (
              <Table.Tr key={kb.id}>
                <Table.Td><Link to={`/w/${ws}/knowledge/${kb.slug}`}>{kb.name}</Link></Table.Td>
                <Table.Td><code>{kb.slug}</code></Table.Td>
                <Table.Td>
                  {kb.embedding_model}
                  {kb.dims ? <Text span c="dimmed" size="xs"> · {kb.dims}d</Text> : null}
                  {kb.reembedding && <Badge ml="xs" size="xs" color="yellow">{t("knowledge.reembedding")}</Badge>}
                </Table.Td>
                <Table.Td>{kb.document_count ?? 0}</Table.Td>
                <Table.Td>{t(`knowledge.modes.${kb.retrieval.mode}`)}</Table.Td>
                <Table.Td>{new Date(kb.updated_at).toLocaleString()}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {open && (
        <Modal opened onClose={() => setOpen(false)} title={t("knowledge.create")} size="xl">
          <KnowledgeBaseForm
            error={error}
            pending={create.isPending}
            submitLabel={t("common.create")}
            onSubmit={(body) => create.mutate(body, { onSuccess: (kb) => { setOpen(false); navigate(`/w/${ws}/knowledge/${kb.slug}`); } })}
          />
        </Modal>
      )}
    </Stack>
  );
}
