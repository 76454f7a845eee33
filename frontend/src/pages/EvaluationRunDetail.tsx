// One evaluation run: a live progress bar, its figures, the results table (filters, sort by score), the review
// view driven by the keyboard (see evaluations/reviewKeys.ts), and the approve/reject decision.
import { Alert, Badge, Button, Card, Code, Group, NumberInput, Progress, SegmentedControl, Select, Stack, Switch, Table, Text, Textarea, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useParams } from "react-router";
import { ApiError, listOf, request } from "../api/client";
import { CompareView } from "../evaluations/CompareView";
import { afterVerdict, moved, reviewAction } from "../evaluations/reviewKeys";
import { DECISION_COLOR, RUN_STATUS_COLOR, shown, type EvaluationRunRow, type ItemRow, type RunSummary } from "../evaluations/types";
import { useWorkspaceSlug } from "../session";

const FILTERS = ["failed", "disagree", "unreviewed", "mine"] as const;
const NOT_TEXT = new Set(["radio", "checkbox", "button", "submit", "range", "color", "file"]);

/** Whether keys typed now go into a text field (then they are text, not review shortcuts). */
function isTextBox(element: HTMLElement | null): boolean {
  if (!element) return false;
  if (element.isContentEditable || element.tagName === "TEXTAREA" || element.tagName === "SELECT") return true;
  return element instanceof HTMLInputElement && !NOT_TEXT.has(element.type);
}

function ReviewPanel({ ws, runId, items, onReviewed }: { ws: string; runId: string; items: ItemRow[]; onReviewed: () => void }) {
  const { t } = useTranslation();
  const [index, setIndex] = useState(0);
  const [score, setScore] = useState<number | null>(null);
  const [comment, setComment] = useState("");
  const [verdicts, setVerdicts] = useState<Record<number, string>>({});
  const commentBox = useRef<HTMLTextAreaElement>(null);
  const item = items[Math.min(index, items.length - 1)];
  const lock = useQuery({
    queryKey: [ws, "evaluation-runs", runId, "lock", item?.id],
    enabled: !!item,
    retry: false,
    queryFn: async () => {
      try {
        await request(`/api/workspaces/${ws}/evaluation-runs/${runId}/items/${item?.id}/lock/`, { method: "POST" });
        return { held: true, by: "" };
      } catch (error) {
        if (error instanceof ApiError && error.status === 409) return { held: false, by: error.message };
        throw error;
      }
    },
  });
  const review = useMutation({
    mutationFn: async (verdict: "pass" | "fail") => {
      if (!item) return;
      await request(`/api/workspaces/${ws}/evaluation-runs/${runId}/items/${item.id}/review/`, {
        method: "POST",
        body: JSON.stringify({ verdict, human_score: score, comment }),
      });
      const next = { ...verdicts, [item.id]: verdict };
      setVerdicts(next);
      setScore(null);
      setComment("");
      setIndex(afterVerdict(items.map((i) => next[i.id] ?? i.verdict), index));
      onReviewed();
    },
  });
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement | null;
      const inTextBox = isTextBox(target);
      if (event.key === "Escape" && inTextBox) {
        target?.blur();
        return;
      }
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      const action = reviewAction(event.key, inTextBox);
      if (action.kind === "none") return;
      event.preventDefault();
      if (action.kind === "verdict" && !review.isPending) review.mutate(action.verdict);
      else if (action.kind === "score") setScore(action.score);
      else if (action.kind === "comment") commentBox.current?.focus();
      else if (action.kind === "move") setIndex((i) => moved(i, action.by, items.length));
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [items.length, review]);
  if (!item) return null;
  const verdict = verdicts[item.id] ?? item.verdict;
  return (
    <Card withBorder data-testid="review-panel">
      <Stack gap="xs">
        <Group justify="space-between">
          <Text fw={600}>
            {t("evaluations.item")} {item.item_id}
            {item.repetition ? ` #${item.repetition + 1}` : ""} · {index + 1}/{items.length}
          </Text>
          {verdict && <Badge color={verdict === "pass" ? "green" : "red"}>{verdict}</Badge>}
        </Group>
        <Text size="xs" c="dimmed">{t("evaluations.reviewHint")}</Text>
        {lock.data && !lock.data.held && <Alert color="yellow">{lock.data.by}</Alert>}
        <Text size="sm" fw={500}>{t("evaluations.inputs")}</Text>
        <Code block>{shown(item.inputs)}</Code>
        <Group grow align="flex-start">
          <Stack gap={2}>
            <Text size="sm" fw={500}>{t("evaluations.expected")}</Text>
            <Code block>{shown(item.expected)}</Code>
          </Stack>
          <Stack gap={2}>
            <Text size="sm" fw={500}>{t("evaluations.output")}</Text>
            <Code block data-testid="review-output">{shown(item.output) || item.error}</Code>
          </Stack>
        </Group>
        <Text size="sm" fw={500}>{t("evaluations.scores")}</Text>
        <Group gap="xs">
          {item.scores.map((s) => (
            <Badge key={s.evaluator} color={s.error ? "orange" : s.passed ? "green" : "red"} variant="light" title={s.reason ?? s.error ?? ""}>
              {s.evaluator}: {s.score ?? "—"}
            </Badge>
          ))}
        </Group>
        <Group align="flex-end">
          <NumberInput label={t("evaluations.humanScore")} value={score ?? ""} onChange={(v) => setScore(typeof v === "number" ? v : null)} min={0} max={1} step={0.1} decimalScale={2} w={140} />
          <Textarea ref={commentBox} label={t("evaluations.comment")} value={comment} onChange={(e) => setComment(e.currentTarget.value)} autosize minRows={1} style={{ flex: 1 }} />
        </Group>
        <Group>
          <Button color="green" onClick={() => review.mutate("pass")} loading={review.isPending}>
            {t("evaluations.pass")} (p)
          </Button>
          <Button color="red" onClick={() => review.mutate("fail")} loading={review.isPending}>
            {t("evaluations.fail")} (f)
          </Button>
          <Button variant="default" onClick={() => setIndex((i) => moved(i, -1, items.length))}>
            {t("evaluations.previous")} (k)
          </Button>
          <Button variant="default" onClick={() => setIndex((i) => moved(i, 1, items.length))}>
            {t("evaluations.next")} (n)
          </Button>
        </Group>
        {review.error && <Alert color="red">{review.error.message}</Alert>}
      </Stack>
    </Card>
  );
}

export default function EvaluationRunDetail() {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  const { id = "" } = useParams();
  const queryClient = useQueryClient();
  const base = `/api/workspaces/${ws}/evaluation-runs/${id}/`;
  const [filter, setFilter] = useState<string | null>(null);
  const [byScore, setByScore] = useState(false);
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
  const rows = [...(items.data ?? [])];
  if (byScore) rows.sort((a, b) => (a.score ?? -1) - (b.score ?? -1));
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
        <Switch label={t("evaluations.sortScore")} checked={byScore} onChange={(e) => setByScore(e.currentTarget.checked)} />
      </Group>
      {mode === "compare" && <CompareView ws={ws} runId={id} thisItems={items.data ?? []} />}
      {mode === "review" && <ReviewPanel ws={ws} runId={id} items={rows} onReviewed={() => void queryClient.invalidateQueries({ queryKey: [ws, "evaluation-runs", id] })} />}
      {mode === "results" && (
        <Table striped>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t("evaluations.item")}</Table.Th>
              <Table.Th>{t("evaluations.output")}</Table.Th>
              <Table.Th>{t("evaluations.score")}</Table.Th>
              <Table.Th>{t("evaluations.verdict")}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((item) => (
              <Table.Tr key={item.id}>
                <Table.Td>{item.item_id}</Table.Td>
                <Table.Td>
                  <Text size="sm" lineClamp={2}>{shown(item.output) || item.error}</Text>
                </Table.Td>
                <Table.Td>
                  <Badge color={item.passed ? "green" : item.passed === false ? "red" : "gray"} variant="light">
                    {item.score ?? "—"}
                  </Badge>
                </Table.Td>
                <Table.Td>{item.verdict ? <Badge color={item.verdict === "pass" ? "green" : "red"}>{item.verdict}</Badge> : ""}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
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
