// The workspace overview: spend this month against the budgets, deployments that failed in the last 24 hours,
// recent runs, and evaluation runs waiting for a review decision.
import { Anchor, Badge, Card, Group, Progress, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { listOf, request } from "../api/client";
import { budgetBars, failingDeployments, monthRange, waitingForReview, type BudgetRow, type EvaluationRunRow, type RunTotals } from "../overview/shaping";
import { useWorkspaceSlug } from "../session";
import { RunVersion, STATUS_COLOR, type RunRow } from "./Runs";

interface DashboardView {
  currency: string;
  totals: { cost: string; requests: number; unconverted: Record<string, string> };
  runs?: { series: { key: string; totals: RunTotals }[] };
}

async function dashboardOf(ws: string, params: Record<string, string>): Promise<DashboardView> {
  const query = new URLSearchParams({ ...params, top_of: "deployment", top: "1" });
  return (await (await request(`/api/workspaces/${ws}/usage/dashboard/?${query}`)).json()) as DashboardView;
}

function SpendCard({ ws }: { ws: string }) {
  const { t } = useTranslation();
  const month = useQuery({ queryKey: [ws, "overview", "month"], queryFn: () => dashboardOf(ws, { ...monthRange(new Date()), granularity: "day" }) });
  const budgets = useQuery({ queryKey: [ws, "budgets"], queryFn: () => listOf<BudgetRow>(`/api/workspaces/${ws}/budgets/`) });
  const bars = budgetBars(budgets.data ?? []);
  return (
    <Card withBorder>
      <Stack gap="xs">
        <Text fw={600}>{t("overview.spend")}</Text>
        {month.data && (
          <Group gap="xs" align="baseline">
            <Text size="xl" fw={700} data-testid="month-spend">
              {Number(month.data.totals.cost).toFixed(4)} {month.data.currency}
            </Text>
            {Object.entries(month.data.totals.unconverted).map(([code, amount]) => (
              <Badge key={code} variant="light" color="gray">
                + {amount} {code}
              </Badge>
            ))}
            <Text size="sm" c="dimmed">
              {t("overview.requests", { count: month.data.totals.requests })}
            </Text>
          </Group>
        )}
        <Text fw={500} size="sm">
          {t("overview.budgets")}
        </Text>
        {budgets.data && bars.length === 0 && <Text c="dimmed" size="sm">{t("overview.noBudgets")}</Text>}
        {bars.map((bar) => (
          <Stack key={bar.id} gap={2}>
            <Group justify="space-between">
              <Text size="sm">{bar.name}</Text>
              <Text size="xs" c="dimmed">
                {bar.percent}% · {Number(bar.cap)} {bar.unit}
                {bar.resetsAt && ` · ${t("overview.resets", { when: new Date(bar.resetsAt).toLocaleDateString() })}`}
              </Text>
            </Group>
            <Progress value={bar.percent} color={bar.over ? "red" : bar.percent >= 80 ? "orange" : "blue"} aria-label={bar.name} />
          </Stack>
        ))}
      </Stack>
    </Card>
  );
}

function FailingCard({ ws }: { ws: string }) {
  const { t } = useTranslation();
  const view = useQuery({
    queryKey: [ws, "overview", "failing"],
    queryFn: () => {
      const end = new Date(monthRange(new Date()).end); // the end of the current hour
      const start = new Date(end.getTime() - 24 * 3600 * 1000);
      return dashboardOf(ws, { start: start.toISOString(), end: end.toISOString(), granularity: "hour", group_by: "deployment" });
    },
  });
  const deployments = useQuery({ queryKey: [ws, "deployments"], queryFn: () => listOf<{ id: number; slug: string }>(`/api/workspaces/${ws}/deployments/?limit=500`) });
  const names = Object.fromEntries((deployments.data ?? []).map((d) => [String(d.id), d.slug]));
  const rows = failingDeployments(view.data?.runs?.series ?? [], names);
  return (
    <Card withBorder>
      <Stack gap="xs">
        <Text fw={600}>{t("overview.failing")}</Text>
        {view.data && rows.length === 0 && <Text c="dimmed" size="sm">{t("overview.noFailing")}</Text>}
        {rows.map((row) => (
          <Group key={row.key} justify="space-between">
            <Anchor component={Link} to={`/w/${ws}/deployments/${names[row.key] ?? ""}`} size="sm">
              {row.label}
            </Anchor>
            <Badge color="red" variant="light">
              {t("overview.failures", { failures: row.failures, runs: row.runs })}
            </Badge>
          </Group>
        ))}
      </Stack>
    </Card>
  );
}

function RecentRunsCard({ ws }: { ws: string }) {
  const { t } = useTranslation();
  const runs = useQuery({ queryKey: [ws, "runs", "recent"], queryFn: () => listOf<RunRow>(`/api/workspaces/${ws}/runs/?limit=8`) });
  return (
    <Card withBorder>
      <Stack gap="xs">
        <Group justify="space-between">
          <Text fw={600}>{t("overview.recentRuns")}</Text>
          <Anchor component={Link} to={`/w/${ws}/runs`} size="sm">
            {t("overview.allRuns")}
          </Anchor>
        </Group>
        {runs.data?.length === 0 && <Text c="dimmed" size="sm">{t("overview.noRuns")}</Text>}
        {!!runs.data?.length && (
          <Table>
            <Table.Tbody>
              {runs.data.slice(0, 8).map((run) => (
                <Table.Tr key={run.id}>
                  <Table.Td>
                    <Anchor component={Link} to={`/w/${ws}/runs/${run.id}`} size="sm">
                      {run.workflow}
                    </Anchor>{" "}
                    <Text span size="xs" c="dimmed">
                      <RunVersion run={run} />
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Badge color={STATUS_COLOR[run.status] ?? "gray"} variant="light">
                      {run.status}
                    </Badge>
                  </Table.Td>
                  <Table.Td>
                    <Text size="xs" c="dimmed">
                      {new Date(run.created_at).toLocaleString()}
                    </Text>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Stack>
    </Card>
  );
}

function ReviewCard({ ws }: { ws: string }) {
  const { t } = useTranslation();
  const runs = useQuery({ queryKey: [ws, "evaluation-runs"], queryFn: () => listOf<EvaluationRunRow>(`/api/workspaces/${ws}/evaluation-runs/`) });
  const waiting = waitingForReview(runs.data ?? []);
  return (
    <Card withBorder>
      <Stack gap="xs">
        <Text fw={600}>{t("overview.review")}</Text>
        {runs.data && waiting.length === 0 && <Text c="dimmed" size="sm">{t("overview.noReview")}</Text>}
        {waiting.map((run) => (
          <Group key={run.id} justify="space-between">
            <Text size="sm">{run.name}</Text>
            <Text size="xs" c="dimmed">
              {new Date(run.created_at).toLocaleString()}
            </Text>
          </Group>
        ))}
      </Stack>
    </Card>
  );
}

export default function Overview() {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  return (
    <Stack>
      <Title order={2}>{t("overview.title")}</Title>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <SpendCard ws={ws} />
        <FailingCard ws={ws} />
        <RecentRunsCard ws={ws} />
        <ReviewCard ws={ws} />
      </SimpleGrid>
    </Stack>
  );
}
