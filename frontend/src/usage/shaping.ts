// Pure data shaping for the usage dashboards (tested apart from the page): the dashboard API's answer as chart
// rows, one line per series key, every bucket of the range present.

/** The figures of a bucket, a series or the whole range (the dashboard API's `totals` and `points`). */
export interface Figures {
  requests: number;
  errors: number;
  error_rate: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cost: string;
  unconverted: Record<string, string>;
  latency_ms_mean: number | null;
  latency_ms_p50: number | null;
  latency_ms_p95: number | null;
  ttft_ms_p50: number | null;
  ttft_ms_p95: number | null;
}

export interface Point extends Figures {
  bucket: string;
}

export interface Series<T = Figures, P = Point> {
  key: string;
  totals: T;
  points: P[];
}

export interface TopRow {
  key: string;
  cost: string;
  requests: number;
  errors: number;
  tokens: number;
  unconverted: Record<string, string>;
}

export interface RunFigures {
  runs: number;
  failures: number;
  cancelled: number;
  failure_rate: number;
  duration_ms_mean: number | null;
  duration_ms_p50: number | null;
  duration_ms_p95: number | null;
}

export interface DashboardView {
  currency: string;
  start: string;
  end: string;
  granularity: Granularity;
  group_by: string | null;
  totals: Figures;
  series: Series[];
  top: Partial<Record<TopDimension, TopRow[]>>;
  runs?: { totals: RunFigures; series: Series<RunFigures, RunFigures & { bucket: string }>[] };
}

export type Granularity = "hour" | "day";
export const GROUP_BYS = ["deployment", "workflow", "endpoint", "model", "api_key", "end_user", "source"] as const;
export type GroupBy = (typeof GROUP_BYS)[number];
export const TOP_DIMENSIONS = ["deployment", "model", "api_key", "end_user"] as const;
export type TopDimension = (typeof TOP_DIMENSIONS)[number];
/** Dimensions the rollups keep per day only (the API refuses them hourly). */
export const DAILY_ONLY: readonly string[] = ["api_key", "end_user"];
/** The most series drawn: the most expensive first (the API sorts them so). */
export const MAX_SERIES = 20;

const STEP_MS: Record<Granularity, number> = { hour: 3600_000, day: 86400_000 };
const DAY_MS = STEP_MS.day;

export type Preset = "24h" | "7d" | "30d" | "90d";
export const PRESETS: Preset[] = ["24h", "7d", "30d", "90d"];

export interface Range {
  start: string;
  end: string;
  granularity: Granularity;
}

/** A preset's range ending with the current bucket: 24 hours hourly, else that many days daily (UTC). */
export function presetRange(preset: Preset, now: Date): Range {
  if (preset === "24h") {
    const end = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), now.getUTCHours() + 1);
    return { start: new Date(end - 24 * STEP_MS.hour).toISOString(), end: new Date(end).toISOString(), granularity: "hour" };
  }
  const days = Number(preset.slice(0, -1));
  const end = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return { start: new Date(end - days * DAY_MS).toISOString(), end: new Date(end).toISOString(), granularity: "day" };
}

/** A custom range of whole days, `from` and `to` (YYYY-MM-DD) both included; null when it is empty. */
export function dayRange(from: string, to: string): { start: string; end: string } | null {
  const start = Date.parse(`${from}T00:00:00Z`);
  const last = Date.parse(`${to}T00:00:00Z`);
  if (Number.isNaN(start) || Number.isNaN(last) || last < start) return null;
  return { start: new Date(start).toISOString(), end: new Date(last + DAY_MS).toISOString() };
}

/** The dashboard's query string; `extra` (e.g. export=csv) after the view's own parameters. */
export function dashboardQuery(range: Range, groupBy: GroupBy | null, extra: Record<string, string> = {}): string {
  const query = new URLSearchParams({ start: range.start, end: range.end, granularity: range.granularity });
  if (groupBy) query.set("group_by", groupBy);
  for (const [name, value] of Object.entries(extra)) query.set(name, value);
  return query.toString();
}

/** Every bucket of `[start, end)` in milliseconds (the API leaves out the empty ones). */
export function bucketTimes(start: string, end: string, granularity: Granularity): number[] {
  const step = STEP_MS[granularity];
  const last = Date.parse(end);
  const times: number[] = [];
  for (let t = Date.parse(start); t < last; t += step) times.push(t);
  return times;
}

/** The series drawn (at most `limit`, in the API's order: most expensive first) and how many are left out. */
export function topSeries<S>(series: S[], limit: number = MAX_SERIES): { shown: S[]; hidden: number } {
  return { shown: series.slice(0, limit), hidden: Math.max(0, series.length - limit) };
}

/** One line of a chart: a series' points and the figure read from each; `empty` for a bucket without data
 * (0 for counts and cost, null for rates and latencies: no call is not a zero latency). */
export interface Line<P = Point> {
  id: string;
  points: P[];
  value: (point: P) => number | null;
  empty: number | null;
}

export type ChartRow = { time: number } & Record<string, number | null>;

/** Chart rows: one per bucket time, with each line's figure under its id. */
export function chartRows<P extends { bucket: string }>(times: number[], lines: Line<P>[]): ChartRow[] {
  const byTime = lines.map((line) => new Map(line.points.map((p) => [Date.parse(p.bucket), p])));
  return times.map((time) => {
    const row: ChartRow = { time } as ChartRow;
    lines.forEach((line, i) => {
      const point = byTime[i]!.get(time);
      row[line.id] = point === undefined ? line.empty : line.value(point);
    });
    return row;
  });
}

export type Metric = "cost" | "tokens" | "requests" | "errors" | "error_rate" | "latency" | "ttft";
export const METRICS: Metric[] = ["cost", "tokens", "requests", "errors", "error_rate", "latency", "ttft"];

/** Readers of one metric: percentiles give two (p50, p95), the others one. */
export function readers(metric: Metric): { suffix: string; value: (p: Figures) => number | null; empty: number | null }[] {
  switch (metric) {
    case "cost":
      return [{ suffix: "", value: (p) => Number(p.cost), empty: 0 }];
    case "tokens":
      return [{ suffix: "", value: (p) => p.prompt_tokens + p.completion_tokens, empty: 0 }];
    case "requests":
      return [{ suffix: "", value: (p) => p.requests, empty: 0 }];
    case "errors":
      return [{ suffix: "", value: (p) => p.errors, empty: 0 }];
    case "error_rate":
      return [{ suffix: "", value: (p) => (p.requests ? Math.round(p.error_rate * 10000) / 100 : null), empty: null }];
    case "latency":
      return [
        { suffix: "p50", value: (p) => p.latency_ms_p50, empty: null },
        { suffix: "p95", value: (p) => p.latency_ms_p95, empty: null },
      ];
    case "ttft":
      return [
        { suffix: "p50", value: (p) => p.ttft_ms_p50, empty: null },
        { suffix: "p95", value: (p) => p.ttft_ms_p95, empty: null },
      ];
  }
}

export interface ChartLine {
  id: string;
  label: string;
  color: string;
  dashed: boolean;
}

export interface Chart {
  metric: Metric;
  lines: ChartLine[];
  rows: ChartRow[];
}

const PALETTE = [
  "#228be6", "#fd7e14", "#40c057", "#e64980", "#7950f2", "#15aabf", "#fab005", "#fa5252", "#82c91e", "#be4bdb",
  "#1c7ed6", "#e8590c", "#2f9e44", "#c2255c", "#5f3dc4", "#0c8599", "#f08c00", "#c92a2a", "#5c940d", "#862e9c",
];

/** A chart per metric of the view's first `MAX_SERIES` series; percentiles drawn as p50 (solid) and p95
 * (dashed) per series. `label` names a series key (deployment slugs, key names). */
export function charts(view: DashboardView, label: (key: string) => string, metrics: Metric[] = METRICS): Chart[] {
  const times = bucketTimes(view.start, view.end, view.granularity);
  const { shown } = topSeries(view.series);
  return metrics.map((metric) => {
    const lines: (Line & ChartLine)[] = [];
    shown.forEach((series, index) => {
      for (const reader of readers(metric)) {
        const name = label(series.key);
        lines.push({
          id: `s${index}${reader.suffix}`,
          label: reader.suffix ? `${name} ${reader.suffix}` : name,
          color: PALETTE[index % PALETTE.length]!,
          dashed: reader.suffix === "p95",
          points: series.points,
          value: reader.value,
          empty: reader.empty,
        });
      }
    });
    return { metric, lines: lines.map(({ id, label: l, color, dashed }) => ({ id, label: l, color, dashed })), rows: chartRows(times, lines) };
  });
}

/** Run counts over time, one line per series (runs; failures dashed when there is one series). */
export function runChart(view: DashboardView, label: (key: string) => string): Chart | null {
  if (!view.runs || view.runs.series.length === 0) return null;
  const times = bucketTimes(view.start, view.end, view.granularity);
  const { shown } = topSeries(view.runs.series);
  const lines = shown.flatMap((series, index) => {
    const name = label(series.key);
    const color = PALETTE[index % PALETTE.length]!;
    const runs = { id: `r${index}`, label: name, color, dashed: false, points: series.points, value: (p: RunFigures) => p.runs, empty: 0 };
    if (shown.length > 1) return [runs];
    return [runs, { id: `f${index}`, label: `${name} ✗`, color: "#fa5252", dashed: true, points: series.points, value: (p: RunFigures) => p.failures, empty: 0 }];
  });
  return { metric: "requests", lines: lines.map(({ id, label: l, color, dashed }) => ({ id, label: l, color, dashed })), rows: chartRows(times, lines) };
}

/** A money amount as the admin's dashboards show it: 2 decimals from 1 up, 3 significant digits below. */
export function money(value: string | number): string {
  const n = Number(value);
  if (!n) return "0";
  if (Math.abs(n) >= 1) return n.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return String(Number(n.toPrecision(3)));
}

export interface BudgetRecord {
  id: number;
  name: string;
  scope: string;
  scope_key: string;
  period: string;
  metric: string;
  cap: string;
  currency: string;
  thresholds: number[];
  webhook_url: string;
  is_active: boolean;
  status: { period_start: string; resets_at: string; spent: Record<string, string>; used_fraction: number };
}

export interface Consumption {
  percent: number;
  /** The bar's width: the percent, at most 100. */
  width: number;
  spent: string;
  /** The key of the most spent counter, for a budget per deployment, key or end user ("" for one counter). */
  topKey: string;
  counters: number;
  level: "ok" | "warn" | "over";
}

/** A budget's consumption this period: its most used counter against the cap; "warn" past its highest
 * threshold below 100 %. */
export function consumption(budget: BudgetRecord): Consumption {
  const entries = Object.entries(budget.status.spent);
  const [topKey, spent] = entries.reduce<[string, string]>((best, e) => (Number(e[1]) > Number(best[1]) ? e : best), ["", "0"]);
  const percent = Math.round(budget.status.used_fraction * 1000) / 10;
  const warnAt = Math.max(0, ...budget.thresholds.filter((t) => t < 100));
  return {
    percent,
    width: Math.min(100, percent),
    spent,
    topKey,
    counters: entries.length,
    level: percent >= 100 ? "over" : warnAt > 0 && percent >= warnAt ? "warn" : "ok",
  };
}
