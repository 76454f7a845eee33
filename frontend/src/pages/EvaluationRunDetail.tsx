// One evaluation run: a live progress bar, its figures, the results table (virtualised; filters, one evaluator,
// sort by score; assignment for reviewers), the review view driven by the keyboard (evaluations/ReviewPanel.tsx),
// and the approve/reject decision.
//
// Items come in one request: the items action answers the whole (filtered) queue unpaginated; 2,000 items are
// about 2 MB of JSON, read once (see the console benchmark's results-table figures).
import { Alert, Badge, Button, Card, Group, Progress, SegmentedControl, Select, Stack, Switch, Text, Textarea, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { useParams } from "react-router";
import { listOf, request } from "../api/client";
import { AssignBar } from "../evaluations/AssignBar";
import { allToggled, keptShown, toggled } from "../evaluations/assignment";
import { CompareView } from "../evaluations/CompareView";
import { resultRows } from "../evaluations/results";
import { ResultsTable } from "../evaluations/ResultsTable";
import { ReviewPanel } from "../evaluations/ReviewPanel";
import { DECISION_COLOR, RUN_STATUS_COLOR, type EvaluationRunRow, type ItemRow, type RunSummary } from "../evaluations/types";
import { useCanReview, useMe, useWorkspaceSlug } from "../session";

const FILTERS = ["failed", "disagree", "unreviewed", "mine"] as const;

export default function EvaluationRunDetail() {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  const { id = "" } = useParams();
  const queryClient = useQueryClient();
  const base = `/api/workspaces/${ws}/evaluation-runs/${id}/`;
  const [filter, setFilter] = useState<string | null>(null);
  const [evaluator, setEvaluator] = useState<string | null>(null);
  const [byScore, setByScore] = useState(false);
  const [selected, setSelected] = useState<ReadonlySet<number>>(new Set());
  const me = useMe().data?.username;
  // Assigning needs a reviewer (an admin or owner, or a member granted it).
  const mayAssign = useCanReview();
  const [mode, setMode] = useState<"results" | "review" | "compare">("results");
  const [decisionComment, setDecisionComment] = useState("");
  const run = useQuery({ queryKey: [ws, "evaluation-runs", id], queryFn: async () => (await (await request(base)).json()) as EvaluationRunRow });
  const live = run.data?.status === "queued" || run.data?.status === "running";
  const summary = useQuery({
    queryKey: [ws, "evaluation-runs", id, "summary"],
    queryFn: async () => (await (await request(`${base}summary/`)).json()) as RunSummary,
    refetchInterval: live ? 1000 : false,
  });
  useEffect(() => {
    if (summary.data && run.data && summary.data.status !== run.data.status) void queryClient.invalidateQueries({ queryKey: [ws, "evaluation-runs", id] });
  }, [summary.data, run.data, queryClient, ws, id]);
  const items = useQuery({
    queryKey: [ws, "evaluation-runs", id, "items", filter],
    queryFn: () => listOf<ItemRow>(`${base}items/${filter ? `?filter=${filter}` : ""}`),
    refetchInterval: live ? 2000 : false,
  });
  const agreement = useQuery({
    queryKey: [ws, "evaluation-runs", id, "agreement"],
    queryFn: async () => (await (await request(`${base}agreement/`)).json()) as Record<string, { reviewed: number; raw_agreement: number; kappa: number | null }>,
  });
  const decide = useMutation({
    mutationFn: async (decision: "approved" | "rejected") => request(`${base}decide/`, { method: "POST", body: JSON.stringify({ decision, comment: decisionComment }) }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: [ws, "evaluation-runs"] }),
  });
  const rows = useMemo(() => resultRows(items.data ?? [], { evaluator, byScore }), [items.data, evaluator, byScore]);
  const queue = useMemo(() => rows.map((r) => r.item), [rows]);
  const shownIds = useMemo(() => queue.map((i) => i.id), [queue]);
  const chosen = keptShown(selected, shownIds);
  const unreviewed = queue.filter((i) => !i.verdict).map((i) => i.id);
  // Stable callbacks (the table's rows are memoised); the selection is kept to the shown rows when read.
  const toggleOne = useCallback((itemId: number) => setSelected((previous) => toggled(previous, itemId)), []);
  const toggleAll = useCallback(() => setSelected((previous) => allToggled(keptShown(previous, shownIds), shownIds)), [shownIds]);
  const refreshItems = () => void queryClient.invalidateQueries({ queryKey: [ws, "evaluation-runs", id, "items"] });
  const done = summary.data?.done ?? 0;
  const total = summary.data?.total ?? run.data?.total ?? 0;
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>{run.data?.name || `#${id}`}</Title>
        {run.data && (
          <Group>
            <Badge color={RUN_STATUS_COLOR[run.data.status] ?? "gray"}>{run.data.status}</Badge>
            <Badge color={DECISION_COLOR[run.data.decision] ?? "gray"} variant="outline" data-testid="decision">
              {run.data.decision}
            </Badge>
          </Group>
        )}
      </Group>
      {run.data && (
        <Text size="sm" c="dimmed">
          {run.data.target.kind} {run.data.target.slug} v{run.data.target.version} · {t("evaluations.dataset")} {run.data.dataset}
          {run.data.estimated_cost && ` · ${t("evaluations.estimated", { cost: run.data.estimated_cost })}`}
        </Text>
      )}
      <Stack gap={4}>
        <Progress value={total ? (100 * done) / total : 0} animated={live} aria-label={t("evaluations.progress")} />
        <Group gap="lg">
          <Text size="sm" data-testid="progress-text">{t("evaluations.of", { done, total })}</Text>
          {summary.data?.pass_rate != null && <Text size="sm">{t("evaluations.passRate")}: {(summary.data.pass_rate * 100).toFixed(1)}%</Text>}
          {summary.data && <Text size="sm">{t("evaluations.cost")}: {summary.data.cost}</Text>}
          {Object.entries(agreement.data ?? {}).map(([judge, a]) => (
            <Text key={judge} size="sm">
              {judge}: {t("evaluations.agreement", { rate: `${(a.raw_agreement * 100).toFixed(0)}%`, count: a.reviewed })}
              {a.kappa != null && ` (κ ${a.kappa})`}
            </Text>
          ))}
        </Group>
      </Stack>
      <Group>
        <SegmentedControl value={mode} onChange={(v) => setMode(v as "results" | "review" | "compare")} data={[{ value: "results", label: t("evaluations.results") }, { value: "review", label: t("evaluations.review") }, { value: "compare", label: t("evaluations.compare") }]} />
        <Select aria-label={t("evaluations.all")} placeholder={t("evaluations.all")} value={filter} onChange={setFilter} clearable data={FILTERS.map((f) => ({ value: f, label: t(`evaluations.${f}`) }))} />
        <Select aria-label={t("evaluations.evaluator")} placeholder={t("evaluations.allEvaluators")} value={evaluator} onChange={setEvaluator} clearable data={(run.data?.evaluators ?? []).map((e) => e.name)} />
        <Switch label={t("evaluations.sortScore")} checked={byScore} onChange={(e) => setByScore(e.currentTarget.checked)} />
      </Group>
      {mode === "compare" && <CompareView ws={ws} runId={id} thisItems={items.data ?? []} />}
      {mode === "review" && <ReviewPanel ws={ws} runId={id} items={queue} me={me} onReviewed={() => void queryClient.invalidateQueries({ queryKey: [ws, "evaluation-runs", id] })} />}
      {mode === "results" && mayAssign && (
        <AssignBar
          ws={ws}
          runId={id}
          selected={chosen}
          unreviewed={unreviewed}
          onAssigned={() => {
            setSelected(new Set());
            refreshItems();
          }}
        />
      )}
      {mode === "results" && (
        <ResultsTable
          rows={rows}
          selection={mayAssign ? { selected: chosen, toggle: toggleOne, toggleAll } : undefined}
        />
      )}
      {run.data && !live && (
        <Card withBorder>
          <Stack gap="xs">
            <Text fw={600}>{t("evaluations.decision")}</Text>
            {run.data.decision !== "pending" && run.data.decided_by && (
              <Text size="sm">{t("evaluations.decided", { decision: run.data.decision, user: run.data.decided_by })}</Text>
            )}
            <Textarea label={t("evaluations.decisionComment")} value={decisionComment} onChange={(e) => setDecisionComment(e.currentTarget.value)} autosize minRows={1} />
            <Group>
              <Button color="green" onClick={() => decide.mutate("approved")} loading={decide.isPending}>
                {t("evaluations.approve")}
              </Button>
              <Button color="red" variant="outline" onClick={() => decide.mutate("rejected")} loading={decide.isPending}>
                {t("evaluations.reject")}
              </Button>
            </Group>
            {decide.error && <Alert color="red">{decide.error.message}</Alert>}
          </Stack>
        </Card>
      )}
    </Stack>
  );
}
