// The dashboard's charts over time (Recharts, loaded with the usage page only): one line per series key.
import { Card, SimpleGrid, Skeleton, Text } from "@mantine/core";
import { memo, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { Chart, Granularity } from "./shaping";

function tickOf(granularity: Granularity): (time: number) => string {
  return granularity === "hour"
    ? (time) => new Date(time).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })
    : (time) => new Date(time).toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

/** Memoised: the page re-renders while it refetches or loads names; a chart redraws only for new data. */
export const UsageChart = memo(function UsageChart({ chart, title, granularity }: { chart: Chart; title: string; granularity: Granularity }) {
  const tick = tickOf(granularity);
  return (
    <Card withBorder padding="sm" data-testid={`chart-${chart.metric}`}>
      <Text fw={600} size="sm" mb="xs">
        {title}
      </Text>
      <ResponsiveContainer width="100%" height={240}>
        <LineChart data={chart.rows} margin={{ top: 4, right: 12, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="time" type="number" scale="time" domain={["dataMin", "dataMax"]} tickFormatter={tick} fontSize={11} />
          <YAxis fontSize={11} width={56} />
          <Tooltip labelFormatter={(time) => new Date(Number(time)).toLocaleString()} />
          <Legend wrapperStyle={{ fontSize: 11 }} />
          {chart.lines.map((line) => (
            <Line
              key={line.id}
              dataKey={line.id}
              name={line.label}
              stroke={line.color}
              strokeDasharray={line.dashed ? "4 3" : undefined}
              dot={false}
              isAnimationActive={false}
              connectNulls={false}
              type="linear"
            />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </Card>
  );
});

/** Charts drawn one after another, each in its own commit (a 90-day chart of 20 series costs tens of
 * milliseconds to draw): the first shows without waiting for the others, the page stays responsive meanwhile. */
export function ChartGrid({ charts, titles, granularity }: { charts: Chart[]; titles: string[]; granularity: Granularity }) {
  const { t } = useTranslation();
  const [drawn, setDrawn] = useState(1);
  useEffect(() => {
    if (drawn >= charts.length) return;
    const timer = setTimeout(() => setDrawn((n) => n + 1), 0);
    return () => clearTimeout(timer);
  }, [drawn, charts.length]);
  if (charts.length === 0) return <Text c="dimmed">{t("usage.noData")}</Text>;
  return (
    <SimpleGrid cols={{ base: 1, lg: 2 }}>
      {charts.map((chart, i) =>
        i < drawn ? (
          <UsageChart key={`${chart.metric}-${i}`} chart={chart} title={titles[i] ?? ""} granularity={granularity} />
        ) : (
          <Card key={`${chart.metric}-${i}`} withBorder padding="sm">
            <Text fw={600} size="sm" mb="xs">
              {titles[i]}
            </Text>
            <Skeleton h={240} />
          </Card>
        ),
      )}
    </SimpleGrid>
  );
}
