// Pure data shaping for the workspace overview (tested apart from the page).

/** Run figures of one dashboard series (the dashboard API's `runs.series[].totals`). */
export interface RunTotals {
  runs: number;
  failures: number;
  failure_rate: number;
}

export interface FailingDeployment {
  key: string;
  label: string;
  runs: number;
  failures: number;
  failureRate: number;
}

/** Deployments with at least one failed run, worst failure rate first, named by slug where known. */
export function failingDeployments(
  series: { key: string; totals: RunTotals }[],
  names: Record<string, string>,
): FailingDeployment[] {
  return series
    .filter((s) => s.totals.failures > 0)
    .map((s) => ({ key: s.key, label: names[s.key] ?? `#${s.key}`, runs: s.totals.runs, failures: s.totals.failures, failureRate: s.totals.failure_rate }))
    .sort((a, b) => b.failureRate - a.failureRate || b.failures - a.failures || a.label.localeCompare(b.label));
}

export interface BudgetRow {
  id: number;
  name: string;
  cap: string;
  metric?: string;
  currency?: string;
  thresholds?: number[];
  is_active?: boolean;
  status: { [key: string]: unknown };
}

export interface BudgetBar {
  id: number;
  name: string;
  percent: number;
  over: boolean;
  unit: string;
  cap: string;
  resetsAt: string;
  thresholds: number[];
}

/** Active budgets as bars: the most used key's share of the cap (capped at 100 for drawing). */
export function budgetBars(budgets: BudgetRow[]): BudgetBar[] {
  return budgets
    .filter((b) => b.is_active !== false)
    .map((b) => {
      const used = typeof b.status.used_fraction === "number" ? b.status.used_fraction : 0;
      return {
        id: b.id,
        name: b.name,
        percent: Math.min(100, Math.round(used * 1000) / 10),
        over: used >= 1,
        unit: b.metric === "tokens" ? "tokens" : (b.currency ?? ""),
        cap: b.cap,
        resetsAt: typeof b.status.resets_at === "string" ? b.status.resets_at : "",
        thresholds: b.thresholds ?? [],
      };
    })
    .sort((a, b) => b.percent - a.percent || a.name.localeCompare(b.name));
}

export interface EvaluationRunRow {
  id: number;
  name: string;
  status: string;
  decision: string;
  created_at: string;
}

/** Evaluation runs that finished and still wait for an approve/reject decision, oldest first. */
export function waitingForReview(runs: EvaluationRunRow[]): EvaluationRunRow[] {
  return runs.filter((r) => r.status === "completed" && r.decision === "pending").sort((a, b) => a.created_at.localeCompare(b.created_at));
}

/** The first moment of the current month, in UTC, and the start of the next hour (the dashboard's range). */
export function monthRange(now: Date): { start: string; end: string } {
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), now.getUTCHours() + 1));
  return { start: start.toISOString(), end: end.toISOString() };
}
