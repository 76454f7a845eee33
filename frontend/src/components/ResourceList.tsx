// A versioned resource's list page: table, empty state and a create dialog (name, slug, initial draft).
import { Alert, Button, Group, Modal, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router";
import { ApiError, listOf, request } from "../api/client";
import { useCan, useWorkspaceSlug } from "../session";

export interface Resource {
  id: number;
  name: string;
  slug: string;
  description?: string;
  draft: unknown;
  latest_version_number: number | null;
  updated_at: string;
  [extra: string]: unknown;
}

export function listResources(ws: string, kind: string): Promise<Resource[]> {
  return listOf<Resource>(`/api/workspaces/${ws}/${kind}/?limit=500`);
}

export function useResources(kind: string) {
  const ws = useWorkspaceSlug();
  return useQuery({ queryKey: [ws, kind], queryFn: () => listResources(ws, kind), enabled: !!ws });
}

interface Props {
  kind: string; // URL segment: workflows, prompts, chains, model-endpoints
  title: string;
  empty: string;
  createLabel: string;
  initialDraft: () => unknown;
  extraCreateFields?: (set: (body: Record<string, unknown>) => void, error: ApiError | null) => ReactNode;
  toolbar?: ReactNode;
  columns?: { header: string; cell: (r: Resource) => ReactNode }[];
  linkTo?: (r: Resource) => string | null;
}

export function ResourceList({ kind, title, empty, createLabel, initialDraft, extraCreateFields, toolbar, columns = [], linkTo }: Props) {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  const canEdit = useCan("editor");
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const resources = useResources(kind);
  const [open, setOpen] = useState(false);
  const [name, setName] = useState("");
  const [slug, setSlug] = useState("");
  const [extra, setExtra] = useState<Record<string, unknown>>({});
  const create = useMutation({
    mutationFn: async () => {
      const body = { name, slug, draft: initialDraft(), ...extra };
      const response = await request(`/api/workspaces/${ws}/${kind}/`, { method: "POST", body: JSON.stringify(body) });
      return (await response.json()) as Resource;
    },
    onSuccess: async (resource) => {
      setOpen(false);
      setName("");
      setSlug("");
      setExtra({}); // a write-only secret typed in the form is not kept in the page
      await queryClient.invalidateQueries({ queryKey: [ws, kind] });
      const target = linkTo?.(resource);
      if (target) navigate(target);
    },
  });
  const error = create.error instanceof ApiError ? create.error : null;

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>{title}</Title>
        <Group>
          {toolbar}
          <Button onClick={() => setOpen(true)} disabled={!canEdit} title={canEdit ? undefined : t("common.readOnly")}>
            {createLabel}
          </Button>
        </Group>
      </Group>
      {resources.error && <Alert color="red">{(resources.error as Error).message}</Alert>}
      {resources.data?.length === 0 && <Text c="dimmed">{empty}</Text>}
      {!!resources.data?.length && (
        <Table striped highlightOnHover>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t("common.name")}</Table.Th>
              <Table.Th>{t("common.slug")}</Table.Th>
              <Table.Th>{t("common.version")}</Table.Th>
              {columns.map((c) => (
                <Table.Th key={c.header}>{c.header}</Table.Th>
              ))}
              <Table.Th>{t("common.updated")}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {resources.data.map((r) => {
              const to = linkTo?.(r);
              return (
                <Table.Tr key={r.id}>
                  <Table.Td>{to ? <Link to={to}>{r.name}</Link> : r.name}</Table.Td>
                  <Table.Td>
                    <code>{r.slug}</code>
                  </Table.Td>
                  <Table.Td>{r.latest_version_number ? `v${r.latest_version_number}` : t("common.draft")}</Table.Td>
                  {columns.map((c) => (
                    <Table.Td key={c.header}>{c.cell(r)}</Table.Td>
                  ))}
                  <Table.Td>{new Date(r.updated_at).toLocaleString()}</Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      )}
      {open && (
      <Modal opened onClose={() => setOpen(false)} title={createLabel}>
        <Stack component="form" onSubmit={(e) => { e.preventDefault(); create.mutate(); }}>
          {error && !error.fieldMessages("name").length && !error.fieldMessages("slug").length && (
            <Alert color="red" role="alert">{error.message}</Alert>
          )}
          <TextInput label={t("common.name")} value={name} onChange={(e) => setName(e.currentTarget.value)} error={error?.fieldMessages("name")[0]} required data-autofocus />
          <TextInput label={t("common.slug")} value={slug} onChange={(e) => setSlug(e.currentTarget.value)} error={error?.fieldMessages("slug")[0]} required />
          {extraCreateFields?.((body) => setExtra((prev) => ({ ...prev, ...body })), error)}
          <Group justify="flex-end">
            <Button type="submit" loading={create.isPending}>{t("common.create")}</Button>
          </Group>
        </Stack>
      </Modal>
      )}
    </Stack>
  );
}
