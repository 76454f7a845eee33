// The workspace's recent tool calls (runs and console tests), filterable by tool.
import { Badge, Select, Stack, Table, Text } from "@mantine/core";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { useWorkspaceSlug } from "../session";
import { useToolCalls, useWorkspaceTools } from "./api";

const STATUS_COLOR: Record<string, string> = { ok: "green", success: "green", succeeded: "green", error: "red", failed: "red" };

export function CallLog() {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  const [tool, setTool] = useState<string | null>(null);
  const calls = useToolCalls(tool ?? "");
  const tools = useWorkspaceTools();
  const names = [...new Set([...(tools.data ?? []).map((x) => x.name), ...(calls.data ?? []).map((c) => c.tool)])].sort();
  return (
    <Stack>
      <Select label={t("tools.calls.filter")} placeholder={t("tools.calls.all")} data={names} value={tool} onChange={setTool}
        clearable searchable w={320} />
      {calls.error && <Text c="red">{calls.error.message}</Text>}
      {calls.data?.length === 0 && <Text c="dimmed">{t("tools.calls.empty")}</Text>}
      {!!calls.data?.length && (
        <Table striped data-testid="tool-calls">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t("tools.calls.when")}</Table.Th><Table.Th>{t("tools.tool")}</Table.Th><Table.Th>{t("tools.calls.source")}</Table.Th>
              <Table.Th>{t("tools.calls.status")}</Table.Th><Table.Th>{t("tools.calls.duration")}</Table.Th>
              <Table.Th>{t("tools.calls.output")}</Table.Th><Table.Th>{t("tools.calls.error")}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {calls.data.map((call) => (
              <Table.Tr key={call.id}>
                <Table.Td>{new Date(call.created_at).toLocaleString()}</Table.Td>
                <Table.Td><code>{call.tool}</code></Table.Td>
                <Table.Td>
                  {call.run_id ? <Link to={`/w/${ws}/runs/${call.run_id}`}>{t("tools.calls.run")} {call.run_id.slice(0, 8)}</Link> : t(`tools.calls.sources.${call.source}`)}
                </Table.Td>
                <Table.Td><Badge color={STATUS_COLOR[call.status] ?? "gray"}>{call.status}</Badge></Table.Td>
                <Table.Td>{call.duration_ms} ms</Table.Td>
                <Table.Td>{call.output_chars}</Table.Td>
                <Table.Td><Text size="sm" c="red" lineClamp={2}>{call.error_message}</Text></Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
