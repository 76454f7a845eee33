// A prompt: template editor with variable detection, draft save, publish, versions, side-by-side diff and a
// streaming playground with tokens, latency and cost.
import { Alert, Badge, Button, Card, Grid, Group, Stack, Text, TextInput, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useParams } from "react-router";
import { ApiError, request } from "../api/client";
import { readEvents } from "../api/sse";
import { CodeEditor } from "../components/CodeEditor";
import { ResourcePicker } from "../components/Pickers";
import { Versions } from "../components/Versions";
import { useCan, useWorkspaceSlug } from "../session";

interface PromptContent {
  type?: "chat" | "text";
  template?: string;
  messages?: { role: string; content: string }[];
  variables?: { name: string }[];
  model?: string | null;
  [extra: string]: unknown;
}

/** Variable names a Jinja template reads (`{{ name }}`, `{{ name.x }}`, `{% if name %}`), in order; loop
 * variables (`{% for item in items %}`), filters and keywords are not variables. */
export function detectVariables(source: string): string[] {
  const names: string[] = [];
  const keywords = new Set(["if", "else", "elif", "endif", "for", "endfor", "in", "not", "and", "or", "loop", "true", "false", "none", "is", "set", "endset"]);
  const loopVars = new Set<string>();
  for (const m of source.matchAll(/\{%-?\s*for\s+([\w\s,]+?)\s+in\s/g)) m[1]?.split(",").forEach((v) => loopVars.add(v.trim()));
  for (const block of source.matchAll(/\{\{(.*?)\}\}|\{%(.*?)%\}/gs)) {
    const body = (block[1] ?? block[2] ?? "").replace(/(["']).*?\1/g, "");
    for (const m of body.matchAll(/(?<![.\w|])([A-Za-z_]\w*)/g)) {
      const name = m[1] ?? "";
      const afterPipe = new RegExp(`\\|\\s*${name}\\b`).test(body);
      if (!keywords.has(name.toLowerCase()) && !loopVars.has(name) && !afterPipe && !names.includes(name)) names.push(name);
    }
  }
  return names;
}

function textOf(content: PromptContent): string {
  if (content.type === "chat") return (content.messages ?? []).map((m) => `[${m.role}]\n${m.content}`).join("\n\n");
  return content.template ?? "";
}

function Playground({ slug, variables, defaultModel }: { slug: string; variables: string[]; defaultModel?: string | null }) {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  const [values, setValues] = useState<Record<string, string>>({});
  const [model, setModel] = useState<string | null>(defaultModel ?? null);
  const [output, setOutput] = useState("");
  const [usage, setUsage] = useState<{ total_tokens?: number; cost?: number | null } | null>(null);
  const [latency, setLatency] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const abort = useRef<AbortController | null>(null);

  const run = async () => {
    setBusy(true); setOutput(""); setUsage(null); setError(null); setLatency(null);
    const controller = new AbortController();
    abort.current = controller;
    const started = performance.now();
    try {
      const body = { version: "draft", variables: values, stream: true, ...(model ? { model } : {}) };
      const response = await request(`/api/workspaces/${ws}/prompts/${slug}/playground/`, { method: "POST", body: JSON.stringify(body), signal: controller.signal });
      await readEvents(response, (event) => {
        const data = JSON.parse(event.data) as Record<string, unknown>;
        if (event.event === "text_chunk") setOutput((prev) => prev + String(data.text ?? ""));
        else if (event.event === "usage") setUsage(data as { total_tokens?: number; cost?: number | null });
        else if (event.event === "error" || event.event === "blocked") setError(String(data.message ?? event.event));
      }, controller.signal);
    } catch (e) {
      if (!controller.signal.aborted) setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setLatency(Math.round(performance.now() - started));
      setBusy(false);
    }
  };

  return (
    <Card withBorder>
      <Stack>
        <Title order={4}>{t("prompts.playground")}</Title>
        {variables.map((name) => (
          <TextInput key={name} label={name} value={values[name] ?? ""} onChange={(e) => { const v = e.currentTarget.value; setValues((prev) => ({ ...prev, [name]: v })); }} />
        ))}
        <ResourcePicker kind="model-endpoints" modelType="chat" label={t("prompts.model")} value={model} onChange={setModel} />
        <Group>
          <Button onClick={run} loading={busy}>{t("prompts.run")}</Button>
          {busy && <Button variant="light" color="red" onClick={() => abort.current?.abort()}>{t("prompts.stop")}</Button>}
        </Group>
        {error && <Alert color="red" role="alert">{error}</Alert>}
        <Text component="pre" data-testid="playground-output" style={{ whiteSpace: "pre-wrap", minHeight: 40 }}>{output}</Text>
        <Group gap="xs">
          {usage?.total_tokens !== undefined && <Badge variant="light">{t("prompts.tokens")}: {usage.total_tokens}</Badge>}
          {latency !== null && <Badge variant="light">{t("prompts.latency")}: {latency} ms</Badge>}
          {usage && <Badge variant="light">{t("prompts.cost")}: {usage.cost ?? 0}</Badge>}
        </Group>
      </Stack>
    </Card>
  );
}

export default function PromptDetail() {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  const { slug = "" } = useParams();
  const canEdit = useCan("editor");
  const queryClient = useQueryClient();
  const base = `/api/workspaces/${ws}/prompts/${slug}/`;
  const prompt = useQuery({ queryKey: [ws, "prompts", slug], queryFn: async () => (await (await request(base)).json()) as { name: string; draft: PromptContent; latest_version_number: number | null } });
  const [draft, setDraft] = useState<PromptContent | null>(null);
  const [message, setMessage] = useState("");
  useEffect(() => { if (prompt.data && draft === null) setDraft(prompt.data.draft); }, [prompt.data, draft]);

  const save = useMutation({
    mutationFn: async () => request(base, { method: "PATCH", body: JSON.stringify({ draft }) }),
    onSuccess: () => { notifications.show({ color: "green", message: t("common.saved") }); void queryClient.invalidateQueries({ queryKey: [ws, "prompts", slug] }); },
  });
  const publish = useMutation({
    mutationFn: async () => { await request(base, { method: "PATCH", body: JSON.stringify({ draft }) }); return request(`${base}publish/`, { method: "POST", body: JSON.stringify({ message }) }); },
    onSuccess: () => { setMessage(""); void queryClient.invalidateQueries({ queryKey: [ws, "prompts", slug] }); },
  });

  const source = draft ? textOf(draft) : "";
  const variables = useMemo(() => detectVariables(source), [source]);
  const error = (save.error ?? publish.error) instanceof ApiError ? ((save.error ?? publish.error) as ApiError) : null;

  if (!draft) return <Text>{t("app.loading")}</Text>;
  const chat = draft.type === "chat";
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>{prompt.data?.name} <Text span c="dimmed" size="sm">{slug}</Text></Title>
        <Group>
          <TextInput aria-label={t("common.message")} placeholder={t("common.message")} value={message} onChange={(e) => setMessage(e.currentTarget.value)} disabled={!canEdit} />
          <Button variant="light" onClick={() => save.mutate()} loading={save.isPending} disabled={!canEdit}>{t("common.save")}</Button>
          <Button onClick={() => publish.mutate()} loading={publish.isPending} disabled={!canEdit}>{t("common.publish")}</Button>
        </Group>
      </Group>
      {!canEdit && <Alert color="gray">{t("common.readOnly")}</Alert>}
      {error && <Alert color="red" role="alert">{error.message}{Object.entries(error.fields).map(([k, v]) => <div key={k}><code>{k}</code>: {v.join(" ")}</div>)}</Alert>}
      <Grid>
        <Grid.Col span={{ base: 12, md: 7 }}>
          <Stack>
            <Text fw={500}>{t("prompts.template")}</Text>
            {chat ? (
              (draft.messages ?? []).map((m, i) => (
                <Stack key={i} gap={2}>
                  <Badge variant="outline">{m.role}</Badge>
                  <CodeEditor label={`${m.role} message ${i + 1}`} language="jinja" value={m.content} readOnly={!canEdit} height="120px"
                    onChange={(value) => setDraft({ ...draft, messages: (draft.messages ?? []).map((x, j) => (j === i ? { ...x, content: value } : x)) })} />
                </Stack>
              ))
            ) : (
              <CodeEditor label={t("prompts.template")} language="jinja" value={draft.template ?? ""} readOnly={!canEdit} onChange={(value) => setDraft({ ...draft, template: value })} />
            )}
            <Group gap="xs" aria-label={t("prompts.variables")}>
              <Text size="sm">{t("prompts.variables")}:</Text>
              {variables.map((v) => <Badge key={v} variant="light">{v}</Badge>)}
            </Group>
          </Stack>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 5 }}>
          <Playground slug={slug} variables={variables} defaultModel={draft.model} />
        </Grid.Col>
      </Grid>
      <Versions<PromptContent>
        base={base}
        queryKey={[ws, "prompts", slug]}
        canEdit={canEdit}
        textOf={textOf}
        onRestored={() => { setDraft(null); void queryClient.invalidateQueries({ queryKey: [ws, "prompts", slug] }); }}
      />
    </Stack>
  );
}
