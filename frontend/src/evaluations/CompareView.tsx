// This run side by side with a baseline run: pass rates with the bootstrap interval, and each common item's two
// outputs, regressions (passed before, fails now) in red and improvements in green.
import { Badge, Group, Select, Stack, Table, Text } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { listOf, request } from "../api/client";
import { shown, type EvaluationRunRow, type ItemRow } from "./types";

interface Comparison {
  common_items: number;
  pass_rate_base: number | null;
  pass_rate_other: number | null;
  pass_rate_difference: number | null;
  confidence_interval_95: [number, number];
  regressions: string[];
  improvements: string[];
}

export interface ComparedRow {
  key: string;
  base: ItemRow;
  other: ItemRow;
  change: "regression" | "improvement" | "same";
}

/** The common items of two runs (by item id and repetition), regressions first, then improvements. */
export function comparedRows(base: ItemRow[], other: ItemRow[], regressions: string[], improvements: string[]): ComparedRow[] {
  const byKey = new Map(base.map((item) => [`${item.item_id}#${item.repetition}`, item]));
  const worse = new Set(regressions);
  const better = new Set(improvements);
  const rows: ComparedRow[] = [];
  for (const item of other) {
    const key = `${item.item_id}#${item.repetition}`;
    const before = byKey.get(key);
    if (!before) continue;
    rows.push({ key, base: before, other: item, change: worse.has(key) ? "regression" : better.has(key) ? "improvement" : "same" });
  }
  const order = { regression: 0, improvement: 1, same: 2 };
  return rows.sort((a, b) => order[a.change] - order[b.change] || a.key.localeCompare(b.key));
}

function percent(value: number | null): string {
  return value == null ? "—" : `${(value * 100).toFixed(1)}%`;
}

export function CompareView({ ws, runId, thisItems }: { ws: string; runId: string; thisItems: ItemRow[] }) {
  const { t } = useTranslation();
  const [baseline, setBaseline] = useState<string | null>(null);
  const runs = useQuery({ queryKey: [ws, "evaluation-runs"], queryFn: () => listOf<EvaluationRunRow>(`/api/workspaces/${ws}/evaluation-runs/`) });
  const comparison = useQuery({
    queryKey: [ws, "evaluation-runs", runId, "compare", baseline],
    enabled: !!baseline,
    queryFn: async () => (await (await request(`/api/workspaces/${ws}/evaluation-runs/${runId}/compare/?with=${baseline}`)).json()) as Comparison,
  });
  const baseItems = useQuery({
    queryKey: [ws, "evaluation-runs", baseline, "items", null],
    enabled: !!baseline,
    queryFn: () => listOf<ItemRow>(`/api/workspaces/${ws}/evaluation-runs/${baseline}/items/`),
  });
  const data = comparison.data;
  const rows = data && baseItems.data ? comparedRows(baseItems.data, thisItems, data.regressions, data.improvements) : [];
  return (
    <Stack>
      <Select
        label={t("evaluations.baseline")}
        data={(runs.data ?? []).filter((r) => String(r.id) !== runId).map((r) => ({ value: String(r.id), label: `${r.name || `#${r.id}`} (${r.target.slug} v${r.target.version})` }))}
        value={baseline}
        onChange={setBaseline}
        searchable
        w={420}
      />
      {data && (
        <Group gap="lg" data-testid="comparison">
          <Text size="sm">
            {t("evaluations.passRate")}: {percent(data.pass_rate_base)} → {percent(data.pass_rate_other)}
          </Text>
          <Text size="sm">
            Δ {percent(data.pass_rate_difference)} (95%: {percent(data.confidence_interval_95[0])} … {percent(data.confidence_interval_95[1])})
          </Text>
          <Badge color="red" variant="light">{t("evaluations.regressions", { count: data.regressions.length })}</Badge>
          <Badge color="green" variant="light">{t("evaluations.improvements", { count: data.improvements.length })}</Badge>
        </Group>
      )}
      {rows.length > 0 && (
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t("evaluations.item")}</Table.Th>
              <Table.Th>{t("evaluations.baseline")}</Table.Th>
              <Table.Th>{t("evaluations.thisRun")}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((row) => (
              <Table.Tr key={row.key} bg={row.change === "regression" ? "red.0" : row.change === "improvement" ? "green.0" : undefined} data-change={row.change}>
                <Table.Td>{row.key}</Table.Td>
                <Table.Td>
                  <Text size="sm" lineClamp={3}>{shown(row.base.output) || row.base.error}</Text>
                  <Badge size="xs" color={row.base.passed ? "green" : "red"} variant="light">{row.base.score ?? "—"}</Badge>
                </Table.Td>
                <Table.Td>
                  <Text size="sm" lineClamp={3}>{shown(row.other.output) || row.other.error}</Text>
                  <Badge size="xs" color={row.other.passed ? "green" : "red"} variant="light">{row.other.score ?? "—"}</Badge>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
