// A deployment's recent calls: status, latency, tokens, cost and end user, each linking to its run page.
import { Badge, Table, Text } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { STATUS_COLOR } from "../pages/Runs";
import { useWorkspaceSlug } from "../session";
import { useCalls, type Deployment } from "./api";

export function CallLog({ deployment }: { deployment: Deployment }) {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  const calls = useCalls(deployment);
  if (calls.data?.length === 0) return <Text c="dimmed">{t("deployments.callLogEmpty")}</Text>;
  return (
    <Table striped highlightOnHover data-testid="call-log">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>{t("deployments.run")}</Table.Th><Table.Th>{t("deployments.status")}</Table.Th><Table.Th>{t("deployments.started")}</Table.Th>
          <Table.Th>{t("deployments.latency")}</Table.Th><Table.Th>{t("deployments.tokens")}</Table.Th><Table.Th>{t("deployments.cost")}</Table.Th>
          <Table.Th>{t("deployments.endUser")}</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {(calls.data ?? []).map((run) => (
          <Table.Tr key={run.id}>
            <Table.Td><Link to={`/w/${ws}/runs/${run.id}`}>{run.id.slice(0, 8)}</Link> <Text span size="xs" c="dimmed">v{run.version}</Text></Table.Td>
            <Table.Td><Badge color={STATUS_COLOR[run.status] ?? "gray"}>{run.status}</Badge></Table.Td>
            <Table.Td>{new Date(run.created_at).toLocaleString()}</Table.Td>
            <Table.Td>{run.elapsed_ms != null ? `${Math.round(run.elapsed_ms)} ms` : "—"}</Table.Td>
            <Table.Td>{run.prompt_tokens + run.completion_tokens}</Table.Td>
            <Table.Td>{run.cost}</Table.Td>
            <Table.Td>{run.end_user || "—"}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}
