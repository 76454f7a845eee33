// The workspace's named evaluators: a list, and a form per kind (exact match, regex, JSON Schema, LLM judge with
// its endpoint and rubric, Python code, retrieval...) whose config the server validates, errors on their fields.
import { Alert, Badge, Button, Group, Modal, NumberInput, Select, Stack, Switch, Table, Text, Textarea, TextInput, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, listOf, request } from "../api/client";
import { CodeEditor } from "../components/CodeEditor";
import { ResourcePicker } from "../components/Pickers";
import { CATEGORIES, configOf, formOf, KINDS, kindSpec, type ConfigField, type FormValues } from "../datasets/evaluatorKinds";
import { useCan, useWorkspaceSlug } from "../session";

interface EvaluatorRow {
  id: number;
  name: string;
  kind: string;
  config: Record<string, unknown>;
  description: string;
  updated_at: string;
}

function FieldInput({ field, value, error, onChange }: { field: ConfigField; value: string | boolean; error?: string; onChange: (v: string | boolean) => void }) {
  const { t } = useTranslation();
  const label = t(`datasets.fields.${field.name}`, { defaultValue: field.name });
  const text = typeof value === "string" ? value : "";
  // withAsterisk, not required: an empty field is the server's to name, on its field, like any other problem
  const common = { label, error, withAsterisk: field.required, placeholder: field.placeholder };
  switch (field.type) {
    case "boolean":
      return <Switch label={label} checked={value === true} onChange={(e) => onChange(e.currentTarget.checked)} error={error} />;
    case "select":
      return <Select {...common} data={[...(field.options ?? [])]} value={text || null} onChange={(v) => onChange(v ?? "")} clearable />;
    case "number":
    case "integer":
      return <NumberInput {...common} value={text} onChange={(v) => onChange(String(v))} allowDecimal={field.type === "number"} hideControls />;
    case "chatModel":
    case "embeddingModel":
      return <ResourcePicker {...common} kind="model-endpoints" modelType={field.type === "chatModel" ? "chat" : "embedding"} value={text || null} onChange={(v) => onChange(v ?? "")} />;
    case "knowledgeBase":
      return <ResourcePicker {...common} kind="knowledge-bases" value={text || null} onChange={(v) => onChange(v ?? "")} />;
    case "code":
    case "jinja":
      return (
        <Stack gap={4}>
          <Text size="sm" fw={500}>{label}</Text>
          <CodeEditor label={label} language={field.type === "code" ? "python" : "jinja"} value={text} onChange={(v) => onChange(v)} height="160px" />
          {error && <Text size="xs" c="red" role="alert">{error}</Text>}
        </Stack>
      );
    case "textarea":
    case "strings":
    case "json":
      return <Textarea {...common} autosize minRows={field.type === "json" ? 5 : 2} maxRows={14} value={text} onChange={(e) => onChange(e.currentTarget.value)} styles={field.type === "json" ? { input: { fontFamily: "var(--mantine-font-family-monospace)" } } : undefined} />;
    default:
      return <TextInput {...common} value={text} onChange={(e) => onChange(e.currentTarget.value)} />;
  }
}

function EvaluatorForm({ ws, evaluator, onClose }: { ws: string; evaluator: EvaluatorRow | null; onClose: () => void }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const [name, setName] = useState(evaluator?.name ?? "");
  const [description, setDescription] = useState(evaluator?.description ?? "");
  const [kind, setKind] = useState<string>(evaluator?.kind ?? "equals");
  const [values, setValues] = useState<FormValues>(() => formOf(evaluator?.kind ?? "equals", evaluator?.config ?? {}));
  const [local, setLocal] = useState<Record<string, string>>({});
  const spec = kindSpec(kind);
  const save = useMutation({
    mutationFn: async (config: Record<string, unknown>) => {
      const path = evaluator ? `/api/workspaces/${ws}/evaluators/${evaluator.name}/` : `/api/workspaces/${ws}/evaluators/`;
      const body = JSON.stringify({ name, kind, description, config });
      return (await (await request(path, { method: evaluator ? "PUT" : "POST", body })).json()) as EvaluatorRow;
    },
    onSuccess: async (saved) => {
      notifications.show({ color: "green", message: t("datasets.evaluatorSaved", { name: saved.name }) });
      await queryClient.invalidateQueries({ queryKey: [ws, "evaluators"] });
      onClose();
    },
  });
  const error = save.error instanceof ApiError ? save.error : null;
  const fieldError = (path: string) => error?.fieldMessages(path).join(" ") || undefined;
  const shown = new Set(["name", "kind", "description", ...(spec?.fields ?? []).map((f) => `config.${f.name}`)]);
  const unplaced = error ? Object.keys(error.fields).filter((path) => !shown.has(path)) : [];
  const submit = () => {
    const result = configOf(kind, values);
    if ("problems" in result) { setLocal(result.problems); return; }
    setLocal({});
    save.mutate(result.config);
  };
  const kindOptions = CATEGORIES.map((category) => ({
    group: t(`datasets.categories.${category}`),
    items: KINDS.filter((k) => k.category === category).map((k) => ({ value: k.kind, label: t(`datasets.kinds.${k.kind}`, { defaultValue: k.kind }) })),
  }));

  return (
    <Stack component="form" onSubmit={(e) => { e.preventDefault(); submit(); }}>
      {error && (unplaced.length > 0 || !Object.keys(error.fields).length) && (
        <Alert color="red" role="alert">{error.message}{unplaced.map((path) => <div key={path}><code>{path}</code>: {error.fields[path]?.join(" ")}</div>)}</Alert>
      )}
      <Group grow align="flex-start">
        <TextInput label={t("common.name")} value={name} onChange={(e) => setName(e.currentTarget.value)} error={fieldError("name")} required data-autofocus />
        <Select
          label={t("datasets.kind")}
          data={kindOptions}
          value={kind}
          allowDeselect={false}
          searchable
          error={fieldError("kind")}
          onChange={(next) => { if (next) { setKind(next); setValues(formOf(next, {})); setLocal({}); save.reset(); } }}
        />
      </Group>
      <Textarea label={t("common.description")} autosize minRows={1} value={description} onChange={(e) => setDescription(e.currentTarget.value)} error={fieldError("description")} />
      <Title order={5}>{t("datasets.config")}</Title>
      {(spec?.fields ?? []).map((field) => (
        <FieldInput
          key={`${kind}-${field.name}`}
          field={field}
          value={values[field.name] ?? ""}
          error={local[field.name] ? t(local[field.name] ?? "") : fieldError(`config.${field.name}`)}
          onChange={(v) => setValues((prev) => ({ ...prev, [field.name]: v }))}
        />
      ))}
      <Group justify="flex-end">
        <Button variant="default" onClick={onClose}>{t("common.cancel")}</Button>
        <Button type="submit" loading={save.isPending}>{t("common.save")}</Button>
      </Group>
    </Stack>
  );
}

/** A config in one line for the list: its set fields, long values cut. */
function summary(config: Record<string, unknown>): string {
  return Object.entries(config)
    .filter(([, v]) => v !== null && v !== false && v !== undefined)
    .map(([k, v]) => `${k}=${(typeof v === "string" ? v : JSON.stringify(v)).slice(0, 40)}`)
    .join(" · ");
}

export default function Evaluators() {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  const canEdit = useCan("editor");
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState<EvaluatorRow | "new" | null>(null);
  const evaluators = useQuery({ queryKey: [ws, "evaluators"], queryFn: () => listOf<EvaluatorRow>(`/api/workspaces/${ws}/evaluators/?limit=500`) });
  const remove = useMutation({
    mutationFn: async (name: string) => request(`/api/workspaces/${ws}/evaluators/${name}/`, { method: "DELETE" }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: [ws, "evaluators"] }),
    onError: (error) => notifications.show({ color: "red", message: error.message }),
  });

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>{t("datasets.evaluatorsTitle")}</Title>
        <Button onClick={() => setEditing("new")} disabled={!canEdit} title={canEdit ? undefined : t("common.readOnly")}>{t("datasets.newEvaluator")}</Button>
      </Group>
      {evaluators.error && <Alert color="red">{evaluators.error.message}</Alert>}
      {evaluators.data?.length === 0 && <Text c="dimmed">{t("datasets.evaluatorsEmpty")}</Text>}
      {!!evaluators.data?.length && (
        <Table striped highlightOnHover>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t("common.name")}</Table.Th>
              <Table.Th>{t("datasets.kind")}</Table.Th>
              <Table.Th>{t("datasets.configSummary")}</Table.Th>
              <Table.Th>{t("common.description")}</Table.Th>
              <Table.Th>{t("common.updated")}</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {evaluators.data.map((e) => (
              <Table.Tr key={e.id} data-testid={`evaluator-${e.name}`}>
                <Table.Td><code>{e.name}</code></Table.Td>
                <Table.Td><Badge variant="light">{t(`datasets.kinds.${e.kind}`, { defaultValue: e.kind })}</Badge></Table.Td>
                <Table.Td><Text size="xs" c="dimmed" lineClamp={2}>{summary(e.config)}</Text></Table.Td>
                <Table.Td>{e.description}</Table.Td>
                <Table.Td>{new Date(e.updated_at).toLocaleString()}</Table.Td>
                <Table.Td>
                  <Group gap={4} wrap="nowrap">
                    <Button size="compact-xs" variant="subtle" disabled={!canEdit} onClick={() => setEditing(e)} aria-label={`${t("datasets.edit")} ${e.name}`}>{t("datasets.edit")}</Button>
                    <Button size="compact-xs" variant="subtle" color="red" disabled={!canEdit} aria-label={t("datasets.deleteEvaluator", { name: e.name })}
                      onClick={() => { if (window.confirm(t("datasets.confirmDelete", { name: e.name }))) remove.mutate(e.name); }}>{t("common.delete")}</Button>
                  </Group>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {editing && (
        <Modal opened size="lg" onClose={() => setEditing(null)} title={editing === "new" ? t("datasets.newEvaluator") : t("datasets.editEvaluator", { name: editing.name })}>
          <EvaluatorForm ws={ws} evaluator={editing === "new" ? null : editing} onClose={() => setEditing(null)} />
        </Modal>
      )}
    </Stack>
  );
}
