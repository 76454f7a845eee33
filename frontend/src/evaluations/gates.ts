// Promotion gates: which gate applies when a label is moved onto a version of a workflow, prompt or chain.
export interface LabelGateRow {
  kind: string;
  workflow: string | null;
  prompt: string | null;
  chain: string | null;
  label: string;
  min_pass_rate: number;
  min_score: number | null;
}

const KINDS: Record<string, "workflow" | "prompt" | "chain"> = { workflows: "workflow", prompts: "prompt", chains: "chain" };

/** The resource a versions API base names (`/api/workspaces/<ws>/workflows/<slug>/`), if it can be gated. */
export function gatedResource(base: string): { kind: "workflow" | "prompt" | "chain"; slug: string } | null {
  const match = /\/api\/workspaces\/[^/]+\/(workflows|prompts|chains)\/([^/]+)\/$/.exec(base);
  const kind = match ? KINDS[match[1] ?? ""] : undefined;
  return match && kind ? { kind, slug: decodeURIComponent(match[2] ?? "") } : null;
}

/** The gate on ``label`` for this resource: its own gate wins over the workspace-wide one of its kind. */
export function gateFor(gates: LabelGateRow[], resource: { kind: string; slug: string }, label: string): LabelGateRow | null {
  const mine = gates.filter((g) => g.kind === resource.kind && g.label === label);
  const own = mine.find((g) => g[resource.kind as "workflow" | "prompt" | "chain"] === resource.slug);
  return own ?? mine.find((g) => !g.workflow && !g.prompt && !g.chain) ?? null;
}
