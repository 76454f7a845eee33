// Shapes of the evaluation-run API the console reads (the schema types these loosely).
export interface EvaluationRunRow {
  id: number;
  name: string;
  dataset: string;
  target: { kind: string; slug: string; version: number; deployment: string | null };
  status: string;
  total: number;
  decision: string;
  decided_by: string | null;
  decision_comment: string;
  estimated_cost: string | null;
  pass_threshold: number;
  evaluators: { name: string; kind: string }[];
  created_at: string;
}

export interface RunSummary {
  done: number;
  total: number;
  status: string;
  pass_rate: number | null;
  mean_score: number | null;
  cost: string;
  latency_p95_ms: number | null;
}

export interface EvaluatorScore {
  evaluator: string;
  score: number | null;
  passed: boolean | null;
  reason?: string;
  error?: string;
}

export interface ItemRow {
  id: number;
  item_id: string;
  repetition: number;
  inputs: Record<string, unknown>;
  expected: unknown;
  status: string;
  output: unknown;
  error: string;
  scores: EvaluatorScore[];
  score: number | null;
  passed: boolean | null;
  verdict: string | null;
  human_score: number | null;
  comment: string;
  reviewed_by: string | null;
  assigned_to: string | null;
  locked_by: string | null;
  locked_until: string | null;
}

export const RUN_STATUS_COLOR: Record<string, string> = { queued: "gray", running: "blue", completed: "green", cancelled: "gray", stopped: "yellow", failed: "red" };
export const DECISION_COLOR: Record<string, string> = { pending: "gray", approved: "green", rejected: "red" };

/** A value shown as text: strings as they are, anything else as JSON. */
export function shown(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}
