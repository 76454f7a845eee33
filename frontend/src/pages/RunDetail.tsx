// A run: status, inputs and outputs, the node timeline with each node's inputs/outputs, error, tokens; live
// over the websocket while it runs (resuming from its last event after a lost connection); cancel and rerun.
import { Alert, Badge, Button, Card, Group, Stack, Table, Text, Title } from "@mantine/core";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate, useParams } from "react-router";
import { AddToDataset } from "../evaluations/AddToDataset";
import { request } from "../api/client";
import { followRun, type RunEvent } from "../canvas/liveRun";
import { useCan, useWorkspaceSlug } from "../session";
import { RunVersion, STATUS_COLOR, type RunRow } from "./Runs";

interface NodeRun {
  node_id: string;
  node_type: string;
  status: string;
  outputs: unknown;
  error: { message?: string } | null;
  attempts: number;
  started_at: string | null;
  finished_at: string | null;
  prompt_tokens: number;
  completion_tokens: number;
}

interface RunDetailBody extends RunRow {
  inputs: unknown;
  outputs: unknown;
  error: { message?: string; type?: string } | null;
  nodes: NodeRun[];
  /** Knowledge-base references its retrievals searched -> what they resolved to ("kb@production" -> "kb:3"). */
  knowledge_versions?: Record<string, string>;
}

function Json({ value }: { value: unknown }) {
  return <Text component="pre" size="xs" style={{ whiteSpace: "pre-wrap", margin: 0 }}>{JSON.stringify(value, null, 2)}</Text>;
}

export default function RunDetail() {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  const { id = "" } = useParams();
  const canEdit = useCan("editor");
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const base = `/api/workspaces/${ws}/runs/${id}/`;
  const run = useQuery({ queryKey: [ws, "run", id], queryFn: async () => (await (await request(base)).json()) as RunDetailBody });
  const [connection, setConnection] = useState<"open" | "lost" | "done" | null>(null);
  const [chunks, setChunks] = useState("");
  const finished = run.data && !["queued", "running"].includes(run.data.status);

  useEffect(() => {
    if (!run.data || finished) return;
    return followRun(id, (event: RunEvent) => {
      if (event.type === "text_chunk") setChunks((prev) => prev + String(event.text ?? ""));
      if (event.type === "node_finished" || event.type === "run_finished" || event.type === "node_started") {
        void queryClient.invalidateQueries({ queryKey: [ws, "run", id] });
      }
    }, setConnection);
  }, [id, ws, finished, run.data, queryClient]);

  if (!run.data) return <Text>{t("app.loading")}</Text>;
  const data = run.data;
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={3}>{data.workflow} <RunVersion run={data} /> · <code>{data.id.slice(0, 8)}</code></Title>
        <Group>
          <Badge size="lg" color={STATUS_COLOR[data.status] ?? "gray"} data-testid="run-status">{data.status}</Badge>
          {!finished && connection && <Badge variant="dot" color={connection === "lost" ? "orange" : "blue"}>{t("runs.live")}</Badge>}
          <Button size="xs" variant="light" color="red" disabled={!!finished || !canEdit} onClick={async () => { await request(`${base}cancel/`, { method: "POST" }); void run.refetch(); }}>{t("runs.cancel")}</Button>
          <Button size="xs" variant="light" disabled={!canEdit} onClick={async () => { const r = (await (await request(`${base}rerun/`, { method: "POST" })).json()) as { id: string }; navigate(`/w/${ws}/runs/${r.id}`); }}>{t("runs.rerun")}</Button>
          <AddToDataset ws={ws} runId={id} disabled={!finished || !canEdit} />
        </Group>
      </Group>
      {connection === "lost" && <Alert color="orange">{t("app.offline")}</Alert>}
      {data.error && <Alert color="red" title={data.error.type ?? t("runs.error")}>{data.error.message}</Alert>}
      <Group grow align="flex-start">
        <Card withBorder><Text fw={500}>{t("runs.inputs")}</Text><Json value={data.inputs} /></Card>
        <Card withBorder><Text fw={500}>{t("runs.outputs")}</Text>{finished ? <Json value={data.outputs} /> : <Text size="sm" style={{ whiteSpace: "pre-wrap" }}>{chunks}</Text>}</Card>
      </Group>
      <Group gap="xs">
        <Badge variant="light">{t("runs.elapsed")}: {data.elapsed_ms != null ? `${Math.round(data.elapsed_ms)} ms` : "—"}</Badge>
        <Badge variant="light">{t("runs.tokens")}: {data.prompt_tokens + data.completion_tokens}</Badge>
        <Badge variant="light">{t("runs.cost")}: {data.cost}</Badge>
        {Object.entries(data.knowledge_versions ?? {}).map(([ref, resolved]) => (
          <Badge key={ref} variant="outline" color="teal" tt="none" data-testid="knowledge-version">
            {t("runs.knowledge")}: {ref === resolved ? ref : `${ref} → ${resolved}`}
          </Badge>
        ))}
      </Group>
      <Title order={4}>{t("runs.timeline")}</Title>
      <Table>
        <Table.Thead>
          <Table.Tr><Table.Th>Node</Table.Th><Table.Th>{t("runs.status")}</Table.Th><Table.Th>{t("runs.elapsed")}</Table.Th><Table.Th>{t("runs.tokens")}</Table.Th><Table.Th>{t("runs.outputs")}</Table.Th></Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {data.nodes.map((node, i) => (
            <Table.Tr key={`${node.node_id}-${i}`} data-testid={`timeline-${node.node_id}`}>
              <Table.Td>{node.node_id} <Text span c="dimmed" size="xs">{node.node_type}</Text></Table.Td>
              <Table.Td><Badge color={STATUS_COLOR[node.status] ?? "gray"}>{node.status}</Badge>{node.attempts > 1 ? ` ×${node.attempts}` : ""}</Table.Td>
              <Table.Td>{node.started_at && node.finished_at ? `${new Date(node.finished_at).getTime() - new Date(node.started_at).getTime()} ms` : "—"}</Table.Td>
              <Table.Td>{node.prompt_tokens + node.completion_tokens || ""}</Table.Td>
              <Table.Td>{node.error ? <Text c="red" size="xs">{node.error.message}</Text> : <Json value={node.outputs} />}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}
