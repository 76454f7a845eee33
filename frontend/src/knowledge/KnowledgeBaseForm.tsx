// A knowledge base's settings as the API takes them: embedding endpoint (the workspace's embedding endpoints),
// distance, chunking and retrieval; the create dialog and the settings tab share it. Errors land on their fields.
import { Alert, Button, Divider, Group, NumberInput, Select, Stack, Switch, TextInput, Textarea } from "@mantine/core";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import type { ApiError } from "../api/client";
import { useResources } from "../components/ResourceList";
import { DISTANCES, FUSIONS, MODES, SPLITTERS, type Chunking, type KnowledgeBase, type Retrieval } from "./types";

const DEFAULT_CHUNKING: Chunking = { splitter: "token", chunk_size: 300, chunk_overlap: 30, parent_child: false, parent_chunk_size: 2000, collapse_whitespace: true, remove_urls_emails: false };
const DEFAULT_RETRIEVAL: Retrieval = { mode: "hybrid", top_k: 4, score_threshold: null, fusion: "zscore", vector_weight: 0.75, rerank_model: "" };

/** The workspace's model endpoints of one type, as Select options. */
export function useEndpointOptions(modelType: "embedding" | "rerank") {
  const endpoints = useResources("model-endpoints");
  return (endpoints.data ?? [])
    .filter((e) => (e.draft as { model_type?: string } | null)?.model_type === modelType)
    .map((e) => ({ value: e.slug, label: `${e.name} (${e.slug})` }));
}

interface Props {
  initial?: KnowledgeBase;
  error: ApiError | null;
  pending: boolean;
  submitLabel: string;
  onSubmit: (body: Record<string, unknown>) => void;
}

export function KnowledgeBaseForm({ initial, error, pending, submitLabel, onSubmit }: Props) {
  const { t } = useTranslation();
  const creating = !initial;
  const [name, setName] = useState(initial?.name ?? "");
  const [slug, setSlug] = useState(initial?.slug ?? "");
  const [description, setDescription] = useState(initial?.description ?? "");
  const [embedding, setEmbedding] = useState<string | null>(initial?.embedding_model ?? null);
  const [distance, setDistance] = useState(initial?.distance ?? "cosine");
  const [chunking, setChunking] = useState<Chunking>({ ...DEFAULT_CHUNKING, ...initial?.chunking });
  const [retrieval, setRetrieval] = useState<Retrieval>({ ...DEFAULT_RETRIEVAL, ...initial?.retrieval });
  const embeddings = useEndpointOptions("embedding");
  const reranks = useEndpointOptions("rerank");
  const field = (path: string) => error?.fieldMessages(path)[0];
  const chunk = (patch: Partial<Chunking>) => setChunking((c) => ({ ...c, ...patch }));
  const retrieve = (patch: Partial<Retrieval>) => setRetrieval((r) => ({ ...r, ...patch }));
  const reembeds = !creating && (embedding !== initial.embedding_model || distance !== initial.distance);
  const known = ["name", "slug", "description", "embedding_model", "distance", "chunking", "retrieval"];
  const unplaced = error && !known.some((k) => error.fieldMessages(k).length);

  const submit = () => {
    const body: Record<string, unknown> = { name, description, embedding_model: embedding ?? "", distance, chunking, retrieval };
    if (creating) body.slug = slug;
    onSubmit(body);
  };

  return (
    <Stack component="form" onSubmit={(e) => { e.preventDefault(); submit(); }}>
      {unplaced && <Alert color="red" role="alert">{error.message}</Alert>}
      <Group grow>
        <TextInput label={t("common.name")} value={name} onChange={(e) => setName(e.currentTarget.value)} error={field("name")} required data-autofocus />
        <TextInput label={t("common.slug")} value={slug} onChange={(e) => setSlug(e.currentTarget.value)} error={field("slug")} required disabled={!creating} />
      </Group>
      <Textarea label={t("common.description")} value={description} onChange={(e) => setDescription(e.currentTarget.value)} error={field("description")} autosize minRows={1} />
      <Group grow align="flex-start">
        <Select
          label={t("knowledge.embeddingEndpoint")}
          placeholder={embeddings.length ? undefined : t("knowledge.noEmbeddingEndpoints")}
          data={embeddings}
          value={embedding}
          onChange={setEmbedding}
          error={field("embedding_model")}
          searchable
          required
        />
        <Select label={t("knowledge.distance")} data={DISTANCES.map((d) => ({ value: d, label: t(`knowledge.distances.${d}`) }))} value={distance} onChange={(v) => setDistance(v ?? "cosine")} error={field("distance")} allowDeselect={false} />
      </Group>
      {reembeds && <Alert color="yellow">{t("knowledge.reembedWarning")}</Alert>}
      <Divider label={t("knowledge.chunking")} labelPosition="left" />
      <Group grow align="flex-start">
        <Select label={t("knowledge.splitter")} data={SPLITTERS.map((s) => ({ value: s, label: t(`knowledge.splitters.${s}`) }))} value={chunking.splitter} onChange={(v) => chunk({ splitter: v ?? "token" })} error={field("chunking.splitter")} allowDeselect={false} />
        <NumberInput label={t("knowledge.chunkSize")} value={chunking.chunk_size} min={50} max={8000} onChange={(v) => chunk({ chunk_size: Number(v) || 0 })} error={field("chunking.chunk_size")} />
        <NumberInput label={t("knowledge.chunkOverlap")} value={chunking.chunk_overlap} min={0} onChange={(v) => chunk({ chunk_overlap: Number(v) || 0 })} error={field("chunking.chunk_overlap")} />
      </Group>
      <Group>
        <Switch label={t("knowledge.parentChild")} checked={chunking.parent_child} onChange={(e) => chunk({ parent_child: e.currentTarget.checked })} />
        {chunking.parent_child && <NumberInput label={t("knowledge.parentChunkSize")} value={chunking.parent_chunk_size} min={100} onChange={(v) => chunk({ parent_chunk_size: Number(v) || 0 })} error={field("chunking.parent_chunk_size")} />}
        <Switch label={t("knowledge.collapseWhitespace")} checked={chunking.collapse_whitespace} onChange={(e) => chunk({ collapse_whitespace: e.currentTarget.checked })} />
        <Switch label={t("knowledge.removeUrls")} checked={chunking.remove_urls_emails} onChange={(e) => chunk({ remove_urls_emails: e.currentTarget.checked })} />
      </Group>
      <Divider label={t("knowledge.retrieval")} labelPosition="left" />
      <Group grow align="flex-start">
        <Select label={t("knowledge.mode")} data={MODES.map((m) => ({ value: m, label: t(`knowledge.modes.${m}`) }))} value={retrieval.mode} onChange={(v) => retrieve({ mode: (v ?? "hybrid") as Retrieval["mode"] })} error={field("retrieval.mode")} allowDeselect={false} />
        <NumberInput label={t("knowledge.topK")} value={retrieval.top_k} min={1} max={100} onChange={(v) => retrieve({ top_k: Number(v) || 1 })} error={field("retrieval.top_k")} />
        <NumberInput label={t("knowledge.threshold")} value={retrieval.score_threshold ?? ""} min={0} max={1} step={0.05} decimalScale={2} onChange={(v) => retrieve({ score_threshold: v === "" ? null : Number(v) })} error={field("retrieval.score_threshold")} />
      </Group>
      <Group grow align="flex-start">
        <Select label={t("knowledge.fusion")} data={FUSIONS.map((f) => ({ value: f, label: f }))} value={retrieval.fusion} onChange={(v) => retrieve({ fusion: v ?? "zscore" })} error={field("retrieval.fusion")} allowDeselect={false} />
        <NumberInput label={t("knowledge.vectorWeight")} value={retrieval.vector_weight} min={0} max={1} step={0.05} decimalScale={2} onChange={(v) => retrieve({ vector_weight: Number(v) })} error={field("retrieval.vector_weight")} />
        <Select label={t("knowledge.rerank")} data={reranks} value={retrieval.rerank_model || null} onChange={(v) => retrieve({ rerank_model: v ?? "" })} error={field("retrieval.rerank_model")} clearable placeholder={t("knowledge.noRerank")} />
      </Group>
      <Group justify="flex-end">
        <Button type="submit" loading={pending}>{submitLabel}</Button>
      </Group>
    </Stack>
  );
}
