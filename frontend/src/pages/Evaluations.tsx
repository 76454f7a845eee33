// Evaluation runs: newest first, with progress, pass rate and the review decision.
import { Anchor, Badge, Button, Group, Stack, Table, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { listOf } from "../api/client";
import { LaunchForm } from "../evaluations/LaunchForm";
import { DECISION_COLOR, RUN_STATUS_COLOR, type EvaluationRunRow } from "../evaluations/types";
import { useWorkspaceSlug } from "../session";

export default function Evaluations() {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  const [launching, setLaunching] = useState(false);
  const runs = useQuery({
    queryKey: [ws, "evaluation-runs"],
    queryFn: () => listOf<EvaluationRunRow>(`/api/workspaces/${ws}/evaluation-runs/`),
    refetchInterval: (query) => (query.state.data?.some((r) => r.status === "queued" || r.status === "running") ? 2000 : false),
  });
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>{t("evaluations.title")}</Title>
        <Button onClick={() => setLaunching(true)}>{t("evaluations.launch")}</Button>
      </Group>
      <LaunchForm ws={ws} opened={launching} onClose={() => setLaunching(false)} />
      {runs.data?.length === 0 && <Text c="dimmed">{t("evaluations.empty")}</Text>}
      {!!runs.data?.length && (
        <Table striped highlightOnHover>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t("evaluations.name")}</Table.Th>
              <Table.Th>{t("evaluations.target")}</Table.Th>
              <Table.Th>{t("evaluations.dataset")}</Table.Th>
              <Table.Th>{t("common.status")}</Table.Th>
              <Table.Th>{t("evaluations.decision")}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {runs.data.map((run) => (
              <Table.Tr key={run.id}>
                <Table.Td>
                  <Anchor component={Link} to={`/w/${ws}/evaluations/${run.id}`}>
                    {run.name || `#${run.id}`}
                  </Anchor>
                </Table.Td>
                <Table.Td>
                  {run.target.kind} {run.target.slug} v{run.target.version}
                </Table.Td>
                <Table.Td>{run.dataset}</Table.Td>
                <Table.Td>
                  <Badge color={RUN_STATUS_COLOR[run.status] ?? "gray"} variant="light">
                    {run.status}
                  </Badge>
                </Table.Td>
                <Table.Td>
                  <Badge color={DECISION_COLOR[run.decision] ?? "gray"} variant="outline">
                    {run.decision}
                  </Badge>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
