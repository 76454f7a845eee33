// Usage dashboards: cost, tokens, requests, errors, latency and TTFT over a range, grouped by a dimension,
// with totals, top-N tables, CSV export, run figures and the workspace's budgets.
import { Alert, Badge, Button, Card, Group, SegmentedControl, Select, SimpleGrid, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useCallback, useMemo, useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { ApiError, listOf, request } from "../api/client";
import { useCan, useWorkspaceSlug } from "../session";
import { Budgets, type Names } from "../usage/Budgets";
import { ChartGrid, UsageChart } from "../usage/Charts";
import {
  DAILY_ONLY,
  GROUP_BYS,
  PRESETS,
  TOP_DIMENSIONS,
  charts,
  dashboardQuery,
  dayRange,
  money,
  presetRange,
  runChart,
  topSeries,
  type DashboardView,
  type Figures,
  type Granularity,
  type GroupBy,
  type Preset,
  type Range,
  type RunFigures,
  type TopDimension,
  type TopRow,
} from "../usage/shaping";

function useNames(ws: string): Names {
  const deployments = useQuery({ queryKey: [ws, "deployments"], queryFn: () => listOf<{ id: number; slug: string }>(`/api/workspaces/${ws}/deployments/?limit=500`) });
  const keys = useQuery({ queryKey: [ws, "api-keys"], queryFn: () => listOf<{ id: number; name: string; prefix: string }>(`/api/workspaces/${ws}/api-keys/?limit=500`), retry: false });
  return useMemo(
    () => ({
      deployment: Object.fromEntries((deployments.data ?? []).map((d) => [String(d.id), d.slug])),
      api_key: Object.fromEntries((keys.data ?? []).map((k) => [String(k.id), `${k.name} (${k.prefix})`])),
    }),
    [deployments.data, keys.data],
  );
}

function useLabel(dimension: string | null, names: Names): (key: string) => string {
  const { t } = useTranslation();
  // Only the names of the dimension shown: a list that loads later does not redraw the charts of another one.
  const known = dimension === "deployment" || dimension === "api_key" ? names[dimension] : null;
  return useCallback(
    (key: string) => {
      if (dimension === null) return t("usage.workspace");
      if (key === "") return t("usage.noKey");
      return known ? (known[key] ?? `#${key}`) : key;
    },
    [dimension, known, t],
  );
}

const ms = (value: number | null) => (value === null ? "–" : `${Math.round(value).toLocaleString()} ms`);

function Stat({ label, value, detail, testId }: { label: string; value: string; detail?: ReactNode; testId?: string }) {
  return (
    <Card withBorder padding="sm">
      <Text size="xs" c="dimmed" tt="uppercase">
        {label}
      </Text>
      <Text size="xl" fw={700} data-testid={testId}>
        {value}
      </Text>
      {detail && (
        <Text size="xs" c="dimmed" component="div">
          {detail}
        </Text>
      )}
    </Card>
  );
}

function Unconverted({ amounts }: { amounts: Record<string, string> }) {
  const { t } = useTranslation();
  const entries = Object.entries(amounts);
  if (entries.length === 0) return null;
  return (
    <Group gap={4} mt={4}>
      {entries.map(([code, amount]) => (
        <Badge key={code} variant="light" color="gray" data-testid="unconverted">
          + {money(amount)} {code}
        </Badge>
      ))}
      <Text size="xs" c="dimmed">
        {t("usage.noRate")}
      </Text>
    </Group>
  );
}

function Totals({ view }: { view: DashboardView }) {
  const { t } = useTranslation();
  const totals: Figures = view.totals;
  const runs: RunFigures | undefined = view.runs?.totals;
  return (
    <SimpleGrid cols={{ base: 2, md: 3, lg: 6 }}>
      <Stat label={t("usage.totals.cost")} value={`${money(totals.cost)} ${view.currency}`} testId="total-cost" detail={<Unconverted amounts={totals.unconverted} />} />
      <Stat label={t("usage.totals.requests")} value={totals.requests.toLocaleString()} testId="total-requests" detail={t("usage.totals.errors", { errors: totals.errors.toLocaleString(), rate: (totals.error_rate * 100).toFixed(2) })} />
      <Stat
        label={t("usage.totals.tokens")}
        value={(totals.prompt_tokens + totals.completion_tokens).toLocaleString()}
        detail={t("usage.totals.tokenParts", { prompt: totals.prompt_tokens.toLocaleString(), completion: totals.completion_tokens.toLocaleString(), cached: totals.cached_tokens.toLocaleString() })}
      />
      <Stat label={t("usage.totals.latency")} value={ms(totals.latency_ms_p50)} detail={`p95 ${ms(totals.latency_ms_p95)}`} />
      <Stat label={t("usage.totals.ttft")} value={ms(totals.ttft_ms_p50)} detail={`p95 ${ms(totals.ttft_ms_p95)}`} />
      {runs && (
        <Stat
          label={t("usage.totals.runs")}
          value={runs.runs.toLocaleString()}
          testId="total-runs"
          detail={t("usage.totals.runDetail", { failures: runs.failures, rate: (runs.failure_rate * 100).toFixed(1), p95: ms(runs.duration_ms_p95) })}
        />
      )}
    </SimpleGrid>
  );
}

function TopTable({ dimension, rows, currency, label }: { dimension: TopDimension; rows: TopRow[]; currency: string; label: (key: string) => string }) {
  const { t } = useTranslation();
  return (
    <Card withBorder padding="sm" data-testid={`top-${dimension}`}>
      <Text fw={600} size="sm" mb="xs">
        {t(`usage.top.${dimension}`)}
      </Text>
      {rows.length === 0 ? (
        <Text size="sm" c="dimmed">
          {t("usage.top.none")}
        </Text>
      ) : (
        <Table striped fz="sm">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t(`usage.groupBy.${dimension}`)}</Table.Th>
              <Table.Th ta="right">{t("usage.top.cost", { currency })}</Table.Th>
              <Table.Th ta="right">{t("usage.top.requests")}</Table.Th>
              <Table.Th ta="right">{t("usage.top.errors")}</Table.Th>
              <Table.Th ta="right">{t("usage.top.tokens")}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((row) => (
              <Table.Tr key={row.key}>
                <Table.Td>{label(row.key)}</Table.Td>
                <Table.Td ta="right">
                  {money(row.cost)}
                  {Object.entries(row.unconverted).map(([code, amount]) => ` + ${money(amount)} ${code}`)}
                </Table.Td>
                <Table.Td ta="right">{row.requests.toLocaleString()}</Table.Td>
                <Table.Td ta="right">{row.errors.toLocaleString()}</Table.Td>
                <Table.Td ta="right">{row.tokens.toLocaleString()}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Card>
  );
}

function Dashboard({ view, names }: { view: DashboardView; names: Names }) {
  const { t } = useTranslation();
  const label = useLabel(view.group_by, names);
  const topLabels = { deployment: useLabel("deployment", names), api_key: useLabel("api_key", names), model: useLabel("model", names), end_user: useLabel("end_user", names) };
  // A chart without a single figure (no streamed call: no TTFT) is left out rather than drawn empty.
  const drawn = useMemo(() => charts(view, label).filter((chart) => chart.rows.some((row) => chart.lines.some((line) => row[line.id] !== null))), [view, label]);
  const runs = useMemo(() => runChart(view, label), [view, label]);
  const { hidden } = topSeries(view.series);
  const titles = drawn.map((chart) => t(`usage.metrics.${chart.metric}`, { currency: view.currency }));
  return (
    <Stack>
      <Totals view={view} />
      {view.series.length === 0 ? (
        <Alert color="gray" data-testid="usage-empty">
          {t("usage.noData")}
        </Alert>
      ) : (
        <>
          {hidden > 0 && (
            <Alert color="blue" data-testid="series-cut">
              {t("usage.seriesCut", { shown: view.series.length - hidden, total: view.series.length })}
            </Alert>
          )}
          <ChartGrid key={`${view.start}|${view.end}|${view.granularity}|${view.group_by}`} charts={drawn} titles={titles} granularity={view.granularity} />
        </>
      )}
      {runs && <UsageChart chart={runs} title={t("usage.metrics.runs")} granularity={view.granularity} />}
      <Title order={3}>{t("usage.top.title")}</Title>
      <SimpleGrid cols={{ base: 1, lg: 2 }}>
        {TOP_DIMENSIONS.map((dimension) => (
          <TopTable key={dimension} dimension={dimension} rows={view.top[dimension] ?? []} currency={view.currency} label={topLabels[dimension]} />
        ))}
      </SimpleGrid>
    </Stack>
  );
}

type Choice = Preset | "custom";
const CHOICES: Choice[] = [...PRESETS, "custom"];

export default function Usage() {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  const canManage = useCan("admin");
  const names = useNames(ws);
  // The view lives in the URL (?range=90d&group_by=model&granularity=day&from=..&to=..): a link shows it again.
  const [params, setParams] = useSearchParams();
  const choice: Choice = CHOICES.includes(params.get("range") as Choice) ? (params.get("range") as Choice) : "7d";
  const groupBy = GROUP_BYS.includes(params.get("group_by") as GroupBy) ? (params.get("group_by") as GroupBy) : null;
  const granularity: Granularity = params.get("granularity") === "hour" || (!params.get("granularity") && choice === "24h") ? "hour" : "day";
  const [now, setNow] = useState(() => new Date());
  const from = params.get("from") ?? new Date(now.getTime() - 29 * 86400_000).toISOString().slice(0, 10);
  const to = params.get("to") ?? now.toISOString().slice(0, 10);
  const update = (patch: Record<string, string | null>) =>
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        for (const [name, value] of Object.entries(patch)) {
          if (value === null) next.delete(name);
          else next.set(name, value);
        }
        return next;
      },
      { replace: true },
    );
  const dailyOnly = groupBy !== null && DAILY_ONLY.includes(groupBy);
  const effective: Granularity = dailyOnly ? "day" : granularity;
  const range: Range | null = useMemo(() => {
    if (choice === "custom") {
      const days = dayRange(from, to);
      return days && { ...days, granularity: effective };
    }
    return { ...presetRange(choice, now), granularity: effective };
  }, [choice, from, to, now, effective]);
  const query = range ? dashboardQuery(range, groupBy) : "";
  const view = useQuery({
    queryKey: [ws, "usage-dashboard", query],
    queryFn: async () => (await (await request(`/api/workspaces/${ws}/usage/dashboard/?${query}`)).json()) as DashboardView,
    enabled: range !== null,
    placeholderData: (previous) => previous,
  });
  const error = view.error instanceof ApiError ? view.error : null;
  const csv = range ? `/api/workspaces/${ws}/usage/dashboard/?${dashboardQuery(range, groupBy, { export: "csv" })}` : undefined;
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>{t("usage.title")}</Title>
        <Group gap="xs">
          <Button variant="default" size="xs" onClick={() => setNow(new Date())} loading={view.isFetching}>
            {t("usage.refresh")}
          </Button>
          <Button component="a" href={csv} download variant="light" size="xs" disabled={!csv}>
            {t("usage.exportCsv")}
          </Button>
        </Group>
      </Group>
      <Group align="flex-end" gap="md">
        <Stack gap={4}>
          <Text size="sm" fw={500}>
            {t("usage.range")}
          </Text>
          <SegmentedControl
            aria-label={t("usage.range")}
            value={choice}
            onChange={(value) => {
              const next = value as Choice;
              setNow(new Date());
              update(next === "custom" ? { range: next, from, to } : { range: next, granularity: null, from: null, to: null });
            }}
            data={[...PRESETS.map((preset) => ({ value: preset, label: t(`usage.presets.${preset}`) })), { value: "custom", label: t("usage.presets.custom") }]}
          />
        </Stack>
        {choice === "custom" && (
          <>
            <TextInput type="date" label={t("usage.from")} value={from} onChange={(e) => update({ from: e.currentTarget.value })} error={range === null ? t("usage.badRange") : undefined} />
            <TextInput type="date" label={t("usage.to")} value={to} onChange={(e) => update({ to: e.currentTarget.value })} />
          </>
        )}
        <Stack gap={4}>
          <Text size="sm" fw={500}>
            {t("usage.granularity")}
          </Text>
          <SegmentedControl
            aria-label={t("usage.granularity")}
            value={effective}
            onChange={(value) => update({ granularity: value })}
            data={[
              { value: "hour", label: t("usage.hourly"), disabled: dailyOnly },
              { value: "day", label: t("usage.daily") },
            ]}
          />
        </Stack>
        <Select
          label={t("usage.groupByLabel")}
          value={groupBy ?? "none"}
          onChange={(value) => update({ group_by: !value || value === "none" ? null : value })}
          data={[{ value: "none", label: t("usage.groupBy.none") }, ...GROUP_BYS.map((value) => ({ value, label: t(`usage.groupBy.${value}`) }))]}
          allowDeselect={false}
          w={200}
        />
      </Group>
      {dailyOnly && (
        <Text size="xs" c="dimmed">
          {t("usage.dailyOnly")}
        </Text>
      )}
      {error && (
        <Alert color="red" title={error.message}>
          {Object.entries(error.fields)
            .map(([name, messages]) => `${name}: ${messages.join(" ")}`)
            .join(" · ")}
        </Alert>
      )}
      {view.data && <Dashboard view={view.data} names={names} />}
      <Budgets ws={ws} currency={view.data?.currency ?? "USD"} names={names} canManage={canManage} />
    </Stack>
  );
}
