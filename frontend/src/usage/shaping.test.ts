import { describe, expect, it } from "vitest";
import {
  bucketTimes,
  chartRows,
  charts,
  consumption,
  dashboardQuery,
  dayRange,
  presetRange,
  topSeries,
  type BudgetRecord,
  type DashboardView,
  type Figures,
  type Point,
} from "./shaping";

const ZERO: Figures = {
  requests: 0, errors: 0, error_rate: 0, prompt_tokens: 0, completion_tokens: 0, cached_tokens: 0, cost: "0.000000",
  unconverted: {}, latency_ms_mean: null, latency_ms_p50: null, latency_ms_p95: null, ttft_ms_p50: null, ttft_ms_p95: null,
};

function point(bucket: string, patch: Partial<Figures>): Point {
  return { ...ZERO, bucket, ...patch };
}

describe("ranges", () => {
  it("ends the hourly preset with the current hour and the daily ones with today", () => {
    const now = new Date("2026-12-04T13:40:12Z");
    expect(presetRange("24h", now)).toEqual({ start: "2026-12-03T14:00:00.000Z", end: "2026-12-04T14:00:00.000Z", granularity: "hour" });
    expect(presetRange("7d", now)).toEqual({ start: "2026-11-28T00:00:00.000Z", end: "2026-12-05T00:00:00.000Z", granularity: "day" });
    expect(presetRange("90d", now).start).toBe("2026-09-06T00:00:00.000Z");
  });

  it("includes the last day of a custom range and refuses one that ends before it starts", () => {
    expect(dayRange("2026-11-01", "2026-11-30")).toEqual({ start: "2026-11-01T00:00:00.000Z", end: "2026-12-01T00:00:00.000Z" });
    expect(dayRange("2026-11-02", "2026-11-01")).toBeNull();
    expect(dayRange("", "2026-11-01")).toBeNull();
  });

  it("puts the range, the group-by and extras in the query", () => {
    const query = new URLSearchParams(dashboardQuery({ start: "a", end: "b", granularity: "day" }, "deployment", { export: "csv" }));
    expect(Object.fromEntries(query)).toEqual({ start: "a", end: "b", granularity: "day", group_by: "deployment", export: "csv" });
  });
});

describe("buckets", () => {
  it("lists every bucket of the range, end excluded", () => {
    const times = bucketTimes("2026-12-01T00:00:00+00:00", "2026-12-04T00:00:00+00:00", "day");
    expect(times.map((t) => new Date(t).toISOString().slice(0, 10))).toEqual(["2026-12-01", "2026-12-02", "2026-12-03"]);
    expect(bucketTimes("2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z", "hour")).toHaveLength(24);
  });

  it("fills the buckets without data: zero for counts, nothing for latencies", () => {
    const times = bucketTimes("2026-12-01T00:00:00+00:00", "2026-12-04T00:00:00+00:00", "day");
    const points = [point("2026-12-02T00:00:00+00:00", { requests: 3, latency_ms_p50: 120 })];
    const rows = chartRows(times, [
      { id: "a", points, value: (p) => p.requests, empty: 0 },
      { id: "b", points, value: (p) => p.latency_ms_p50, empty: null },
    ]);
    expect(rows.map((r) => [r.a, r.b])).toEqual([[0, null], [3, 120], [0, null]]);
  });
});

describe("series", () => {
  it("keeps the 20 first (most expensive) series and counts the others", () => {
    const series = Array.from({ length: 23 }, (_, i) => ({ key: String(i) }));
    const { shown, hidden } = topSeries(series);
    expect(shown.map((s) => s.key)).toEqual(series.slice(0, 20).map((s) => s.key));
    expect(hidden).toBe(3);
    expect(topSeries(series.slice(0, 2)).hidden).toBe(0);
  });

  it("draws one line per series key, named by its label, p50 and p95 for latencies", () => {
    const view: DashboardView = {
      currency: "USD", start: "2026-12-01T00:00:00+00:00", end: "2026-12-03T00:00:00+00:00", granularity: "day", group_by: "deployment",
      totals: ZERO, top: {},
      series: [
        { key: "12", totals: ZERO, points: [point("2026-12-01T00:00:00+00:00", { cost: "1.500000", latency_ms_p50: 100, latency_ms_p95: 300 })] },
        { key: "7", totals: ZERO, points: [point("2026-12-02T00:00:00+00:00", { cost: "0.250000", prompt_tokens: 10, completion_tokens: 5 })] },
      ],
    };
    const names: Record<string, string> = { "12": "support-bot", "7": "faq" };
    const [cost, tokens, latency] = charts(view, (key) => names[key] ?? key, ["cost", "tokens", "latency"]);
    expect(cost!.lines.map((l) => l.label)).toEqual(["support-bot", "faq"]);
    expect(cost!.rows.map((r) => [r.s0, r.s1])).toEqual([[1.5, 0], [0, 0.25]]);
    expect(tokens!.rows[1]!.s1).toBe(15);
    expect(latency!.lines.map((l) => [l.label, l.dashed])).toEqual([["support-bot p50", false], ["support-bot p95", true], ["faq p50", false], ["faq p95", true]]);
    expect(latency!.rows[0]).toMatchObject({ s0p50: 100, s0p95: 300, s1p50: null });
  });
});

describe("budgets", () => {
  const budget = (spent: Record<string, string>, used: number, thresholds = [50, 80, 100]): BudgetRecord => ({
    id: 1, name: "b", scope: "deployment", scope_key: "", period: "month", metric: "cost", cap: "10.000000", currency: "USD",
    thresholds, webhook_url: "", is_active: true,
    status: { period_start: "2026-12-01T00:00:00+00:00", resets_at: "2027-01-01T00:00:00+00:00", spent, used_fraction: used },
  });

  it("reads the most used counter against the cap", () => {
    const c = consumption(budget({ "3": "2.000000", "12": "8.500000" }, 0.85));
    expect(c).toMatchObject({ percent: 85, width: 85, spent: "8.500000", topKey: "12", counters: 2, level: "warn" });
  });

  it("caps the bar at 100 % and marks an exceeded budget", () => {
    expect(consumption(budget({ "": "12.000000" }, 1.2))).toMatchObject({ percent: 120, width: 100, level: "over" });
    expect(consumption(budget({}, 0))).toMatchObject({ percent: 0, spent: "0", counters: 0, level: "ok" });
  });
});
