// Runs: a filterable list (status, workflow), newest first, refreshed while any is unfinished.
import { Badge, Group, Select, Stack, Table, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { listOf } from "../api/client";
import { useResources } from "../components/ResourceList";
import { useWorkspaceSlug } from "../session";

/** "v3", or for a debug run of the draft a "debug" badge (with the node it ran alone). */
export function RunVersion({ run }: { run: RunRow }) {
  const { t } = useTranslation();
  if (run.trigger !== "debug") return <>v{run.version}</>;
  return <Badge variant="light" color="grape" size="sm">{t("runs.debug")}{run.debug_node ? ` · ${run.debug_node}` : ""}</Badge>;
}

export interface RunRow {
  id: string;
  workflow: string;
  version: number;
  trigger: string;
  debug_node?: string;
  status: string;
  created_at: string;
  elapsed_ms: number | null;
  prompt_tokens: number;
  completion_tokens: number;
  cost: string;
}

export const STATUS_COLOR: Record<string, string> = { queued: "gray", running: "blue", succeeded: "green", partial: "yellow", failed: "red", cancelled: "gray" };
const STATUSES = ["queued", "running", "succeeded", "partial", "failed", "cancelled"];

export default function Runs() {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  const [status, setStatus] = useState<string | null>(null);
  const [workflow, setWorkflow] = useState<string | null>(null);
  const workflows = useResources("workflows");
  const runs = useQuery({
    queryKey: [ws, "runs", status, workflow],
    queryFn: async () => {
      const params = new URLSearchParams({ limit: "100" });
      if (status) params.set("status", status);
      if (workflow) params.set("workflow", workflow);
      return listOf<RunRow>(`/api/workspaces/${ws}/runs/?${params}`);
    },
    refetchInterval: (query) => (query.state.data?.some((r) => r.status === "queued" || r.status === "running") ? 2000 : false),
  });
  return (
    <Stack>
      <Title order={2}>{t("runs.title")}</Title>
      <Group>
        <Select aria-label={t("runs.status")} placeholder={t("runs.all")} data={STATUSES} value={status} onChange={setStatus} clearable />
        <Select aria-label={t("runs.workflow")} placeholder={t("runs.workflow")} data={(workflows.data ?? []).map((w) => w.slug)} value={workflow} onChange={setWorkflow} clearable searchable />
      </Group>
      {runs.data?.length === 0 && <Text c="dimmed">{t("runs.empty")}</Text>}
      {!!runs.data?.length && (
        <Table striped highlightOnHover>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>ID</Table.Th><Table.Th>{t("runs.workflow")}</Table.Th><Table.Th>{t("runs.status")}</Table.Th>
              <Table.Th>{t("runs.started")}</Table.Th><Table.Th>{t("runs.elapsed")}</Table.Th><Table.Th>{t("runs.tokens")}</Table.Th><Table.Th>{t("runs.cost")}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {runs.data.map((run) => (
              <Table.Tr key={run.id}>
                <Table.Td><Link to={`/w/${ws}/runs/${run.id}`}>{run.id.slice(0, 8)}</Link></Table.Td>
                <Table.Td>{run.workflow} <RunVersion run={run} /></Table.Td>
                <Table.Td><Badge color={STATUS_COLOR[run.status] ?? "gray"}>{run.status}</Badge></Table.Td>
                <Table.Td>{new Date(run.created_at).toLocaleString()}</Table.Td>
                <Table.Td>{run.elapsed_ms != null ? `${Math.round(run.elapsed_ms)} ms` : "—"}</Table.Td>
                <Table.Td>{run.prompt_tokens + run.completion_tokens}</Table.Td>
                <Table.Td>{run.cost}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
