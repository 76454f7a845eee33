// Hit testing: a question against the knowledge base with a mode, top-k and threshold; each hit with its fused
// (final) score, the vector and full-text scores that made it, and its source document.
import { Alert, Badge, Button, Group, NumberInput, Paper, SegmentedControl, Select, Stack, Text, Textarea } from "@mantine/core";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError } from "../api/client";
import { useHitTesting } from "./api";
import { MODES, type KnowledgeBase, type RetrievalMode } from "./types";
import { searchTargets } from "./versionDiff";
import { useKnowledgeVersions } from "./Versions";

const score = (value: number | undefined) => (value === undefined ? "—" : value.toFixed(4));

export function HitTestingPanel({ kb }: { kb: KnowledgeBase }) {
  const { t } = useTranslation();
  const test = useHitTesting(kb.slug);
  const [query, setQuery] = useState("");
  const [mode, setMode] = useState<RetrievalMode>(kb.retrieval.mode);
  const [topK, setTopK] = useState<number>(kb.retrieval.top_k);
  const [threshold, setThreshold] = useState<number | "">(kb.retrieval.score_threshold ?? "");
  const [version, setVersion] = useState("draft");
  const versions = useKnowledgeVersions(kb.slug);
  const error = test.error instanceof ApiError ? test.error : null;
  const run = () => test.mutate({ query, mode, top_k: topK, score_threshold: threshold === "" ? null : threshold, version });
  return (
    <Stack>
      <Stack gap="xs" component="form" onSubmit={(e) => { e.preventDefault(); run(); }}>
        <Textarea label={t("knowledge.question")} value={query} onChange={(e) => setQuery(e.currentTarget.value)} autosize minRows={2} error={error?.fieldMessages("query")[0]} />
        <Group align="flex-end">
          <Select w={200} label={t("knowledge.searchIn")} value={version} onChange={(v) => setVersion(v ?? "draft")} data={searchTargets(versions.data ?? [], t("knowledge.head"))} allowDeselect={false} data-testid="search-in" />
          <Stack gap={2}>
            <Text size="sm" fw={500}>{t("knowledge.mode")}</Text>
            <SegmentedControl aria-label={t("knowledge.mode")} value={mode} onChange={(v) => setMode(v as RetrievalMode)} data={MODES.map((m) => ({ value: m, label: t(`knowledge.modes.${m}`) }))} />
          </Stack>
          <NumberInput w={100} label={t("knowledge.topK")} value={topK} min={1} max={100} onChange={(v) => setTopK(Number(v) || 1)} error={error?.fieldMessages("top_k")[0]} />
          <NumberInput w={140} label={t("knowledge.threshold")} value={threshold} min={0} max={1} step={0.05} decimalScale={2} onChange={(v) => setThreshold(v === "" ? "" : Number(v))} error={error?.fieldMessages("score_threshold")[0]} />
          <Button type="submit" loading={test.isPending} disabled={!query.trim()}>{t("knowledge.test")}</Button>
        </Group>
      </Stack>
      {error && !error.fieldMessages("query").length && !error.fieldMessages("top_k").length && !error.fieldMessages("score_threshold").length && <Alert color="red">{error.message}</Alert>}
      {test.data && <Text size="xs" c="dimmed" data-testid="searched">{t("knowledge.searched", { ref: test.data.searched })}</Text>}
      {test.data?.notices.map((notice) => <Alert key={notice} color="yellow">{notice}</Alert>)}
      {test.data?.records.length === 0 && <Text c="dimmed">{t("knowledge.noHits")}</Text>}
      {test.data?.records.map((hit, index) => (
        <Paper key={hit.chunk_id} withBorder p="sm" data-testid="hit">
          <Group justify="space-between" mb={4}>
            <Group gap="xs">
              <Badge>{index + 1}</Badge>
              <Text size="sm" fw={500}>{hit.document_title}</Text>
              <Text size="xs" c="dimmed">#{hit.position}</Text>
            </Group>
            <Group gap="xs">
              <Badge variant="filled" color="teal" data-testid="score-fused">{t("knowledge.fused")} {score(hit.score)}</Badge>
              <Badge variant="light" data-testid="score-vector">{t("knowledge.vectorScore")} {score(hit.scores.vector)}</Badge>
              <Badge variant="light" color="grape" data-testid="score-full_text">{t("knowledge.fullTextScore")} {score(hit.scores.full_text)}</Badge>
              {hit.scores.rerank !== undefined && <Badge variant="light" color="orange">{t("knowledge.rerankScore")} {score(hit.scores.rerank)}</Badge>}
            </Group>
          </Group>
          <Text size="sm" style={{ whiteSpace: "pre-wrap" }}>{hit.text}</Text>
        </Paper>
      ))}
    </Stack>
  );
}
