// The review view: one item at a time, driven by the keyboard (see reviewKeys.ts). Showing an item takes its
// review lock; an item another reviewer holds says so and takes no verdict. The item is kept by id, so a
// refetch of the list (after a verdict, or a filter that drops reviewed items) never moves the view to another.
import { Alert, Badge, Button, Card, Code, Group, NumberInput, Stack, Text, Textarea } from "@mantine/core";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, request } from "../api/client";
import { lockOf, lockedByOther } from "./results";
import { afterVerdict, currentIndex, moved, reviewAction } from "./reviewKeys";
import { shown, type ItemRow } from "./types";

const NOT_TEXT = new Set(["radio", "checkbox", "button", "submit", "range", "color", "file"]);
const LOCK_RENEW_MS = 5 * 60 * 1000; // the server's lock lasts 15 minutes by default

/** Whether keys typed now go into a text field (then they are text, not review shortcuts). */
function isTextBox(element: HTMLElement | null): boolean {
  if (!element) return false;
  if (element.isContentEditable || element.tagName === "TEXTAREA" || element.tagName === "SELECT") return true;
  return element instanceof HTMLInputElement && !NOT_TEXT.has(element.type);
}

interface Props {
  ws: string;
  runId: string;
  items: ItemRow[];
  me: string | undefined;
  onReviewed: () => void;
}

export function ReviewPanel({ ws, runId, items, me, onReviewed }: Props) {
  const { t } = useTranslation();
  const [at, setAt] = useState<{ id: number | null; index: number }>({ id: null, index: 0 });
  const [score, setScore] = useState<number | null>(null);
  const [comment, setComment] = useState("");
  const [verdicts, setVerdicts] = useState<Record<number, string>>({});
  const commentBox = useRef<HTMLTextAreaElement>(null);
  const index = currentIndex(
    items.map((i) => i.id),
    at.id,
    at.index,
  );
  const item = items[index];
  const go = (to: number) => setAt({ id: items[to]?.id ?? null, index: to });
  const lock = useQuery({
    queryKey: [ws, "evaluation-runs", runId, "lock", item?.id],
    enabled: !!item,
    retry: false,
    refetchInterval: LOCK_RENEW_MS,
    queryFn: async () => {
      try {
        await request(`/api/workspaces/${ws}/evaluation-runs/${runId}/items/${item?.id}/lock/`, { method: "POST" });
        return { held: true, message: "" };
      } catch (error) {
        if (error instanceof ApiError && error.status === 409) return { held: false, message: error.message };
        throw error;
      }
    },
  });
  // The lock call answers for now; before it has, the list says who held the item when it was read. The text
  // comes from the list when it names the holder (in the reader's language and time zone), else the server's.
  const listed = item ? lockOf(item) : null;
  const locked = lock.data ? !lock.data.held : !!item && lockedByOther(item, me);
  const review = useMutation({
    mutationFn: async ({ verdict, of, snapshot }: { verdict: "pass" | "fail"; of: ItemRow; snapshot: ItemRow[] }) => {
      await request(`/api/workspaces/${ws}/evaluation-runs/${runId}/items/${of.id}/review/`, {
        method: "POST",
        body: JSON.stringify({ verdict, human_score: score, comment }),
      });
      const next = { ...verdicts, [of.id]: verdict };
      setVerdicts(next);
      setScore(null);
      setComment("");
      // The next item is chosen in the list as it was when the verdict was given, and kept by its id.
      const from = snapshot.findIndex((i) => i.id === of.id);
      const to = afterVerdict(
        snapshot.map((i) => next[i.id] ?? i.verdict),
        from,
        snapshot.map((i) => lockedByOther(i, me)),
      );
      setAt({ id: snapshot[to]?.id ?? null, index: to });
      onReviewed();
    },
  });
  const give = (verdict: "pass" | "fail") => {
    if (item && !locked && !review.isPending) review.mutate({ verdict, of: item, snapshot: items });
  };
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
      if (action.kind === "verdict") give(action.verdict);
      else if (action.kind === "score") setScore(action.score);
      else if (action.kind === "comment") commentBox.current?.focus();
      else if (action.kind === "move") go(moved(index, action.by, items.length));
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  });
  if (!item) return <Text c="dimmed">{t("evaluations.nothingToReview")}</Text>;
  const verdict = verdicts[item.id] ?? item.verdict;
  return (
    <Card withBorder data-testid="review-panel" data-item={item.item_id}>
      <Stack gap="xs">
        <Group justify="space-between">
          <Text fw={600}>
            {t("evaluations.item")} {item.item_id}
            {item.repetition ? ` #${item.repetition + 1}` : ""} · {index + 1}/{items.length}
          </Text>
          <Group gap="xs">
            {item.assigned_to && <Badge variant="outline">{t("evaluations.assignedTo", { user: item.assigned_to })}</Badge>}
            {verdict && <Badge color={verdict === "pass" ? "green" : "red"}>{verdict}</Badge>}
          </Group>
        </Group>
        <Text size="xs" c="dimmed">{t("evaluations.reviewHint")}</Text>
        {locked && (
          <Alert color="yellow" data-testid="lock-alert">
            {listed && listed.by !== me ? t("evaluations.lockedUntil", { user: listed.by, until: listed.until.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) }) : lock.data?.message}
          </Alert>
        )}
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
          <NumberInput label={t("evaluations.humanScore")} value={score ?? ""} onChange={(v) => setScore(typeof v === "number" ? v : null)} min={0} max={1} step={0.1} decimalScale={2} w={140} disabled={locked} />
          <Textarea ref={commentBox} label={t("evaluations.comment")} value={comment} onChange={(e) => setComment(e.currentTarget.value)} autosize minRows={1} style={{ flex: 1 }} disabled={locked} />
        </Group>
        <Group>
          <Button color="green" onClick={() => give("pass")} loading={review.isPending} disabled={locked}>
            {t("evaluations.pass")} (p)
          </Button>
          <Button color="red" onClick={() => give("fail")} loading={review.isPending} disabled={locked}>
            {t("evaluations.fail")} (f)
          </Button>
          <Button variant="default" onClick={() => go(moved(index, -1, items.length))}>
            {t("evaluations.previous")} (k)
          </Button>
          <Button variant="default" onClick={() => go(moved(index, 1, items.length))}>
            {t("evaluations.next")} (n)
          </Button>
        </Group>
        {review.error && <Alert color="red">{review.error.message}</Alert>}
      </Stack>
    </Card>
  );
}
