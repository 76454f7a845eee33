// A node's config form, generated from the engine's JSON Schema of its type: text, numbers, switches and
// choices as fields; templates and code in CodeMirror; model, prompt and knowledge-base references as pickers;
// anything nested as JSON.
import { Alert, Button, Group, MultiSelect, NumberInput, Select, Stack, Switch, Text, TextInput } from "@mantine/core";
import { useState } from "react";
import type { JsonSchema } from "../api/workflow";
import { CodeEditor } from "../components/CodeEditor";
import { ResourcePicker } from "../components/Pickers";
import { useResources } from "../components/ResourceList";

const TEMPLATE_FIELDS = /template|prompt_text|instruction|query|system|user|content|body|url/i;

function resolve(schema: JsonSchema, root: JsonSchema): JsonSchema {
  if (schema.$ref?.startsWith("#/$defs/")) return root.$defs?.[schema.$ref.slice(8)] ?? schema;
  const anyOf = schema.anyOf?.filter((s) => s.type !== "null");
  if (anyOf?.length === 1 && anyOf[0]) return { ...resolve(anyOf[0], root), description: schema.description, default: schema.default };
  return schema;
}

function typeOf(schema: JsonSchema): string {
  if (schema.enum) return "enum";
  return Array.isArray(schema.type) ? (schema.type.find((t) => t !== "null") ?? "string") : (schema.type ?? "object");
}

function JsonField({ label, value, onChange, description }: { label: string; value: unknown; onChange: (v: unknown) => void; description?: string }) {
  const [text, setText] = useState(() => JSON.stringify(value ?? null, null, 2));
  const [error, setError] = useState<string | null>(null);
  return (
    <Stack gap={2}>
      <Text size="sm" fw={500}>{label}</Text>
      {description && <Text size="xs" c="dimmed">{description}</Text>}
      <CodeEditor label={label} language="json" value={text} height="120px" onChange={(next) => {
        setText(next);
        try { onChange(JSON.parse(next)); setError(null); } catch (e) { setError((e as Error).message); }
      }} />
      {error && <Text size="xs" c="red">{error}</Text>}
    </Stack>
  );
}

function KnowledgeBasesPicker({ label, value, onChange }: { label: string; value: string[]; onChange: (v: string[]) => void }) {
  const kbs = useResources("knowledge-bases");
  return <MultiSelect label={label} data={(kbs.data ?? []).map((kb) => ({ value: kb.slug, label: kb.name }))} value={value} onChange={onChange} searchable />;
}

interface Message { role: string; content: string }

/** Chat messages (system / user / assistant), each a Jinja template. */
function MessagesField({ label, value, onChange, error, readOnly }: { label: string; value: Message[]; onChange: (v: Message[]) => void; error?: string; readOnly: boolean }) {
  return (
    <Stack gap={4}>
      <Text size="sm" fw={500}>{label} *</Text>
      {value.map((message, index) => (
        <Stack key={index} gap={2} p={4} style={{ border: "1px solid var(--mantine-color-gray-3)", borderRadius: 4 }}>
          <Group justify="space-between">
            <Select aria-label={`${label} ${index + 1} role`} size="xs" w={120} data={["system", "user", "assistant"]} value={message.role} disabled={readOnly}
              onChange={(role) => onChange(value.map((m, i) => (i === index ? { ...m, role: role ?? "user" } : m)))} />
            <Button size="compact-xs" variant="subtle" color="red" disabled={readOnly} onClick={() => onChange(value.filter((_, i) => i !== index))}>×</Button>
          </Group>
          <CodeEditor label={`${label} ${index + 1}`} language="jinja" height="70px" value={message.content} readOnly={readOnly}
            onChange={(content) => onChange(value.map((m, i) => (i === index ? { ...m, content } : m)))} />
        </Stack>
      ))}
      <Button size="xs" variant="light" disabled={readOnly} onClick={() => onChange([...value, { role: value.length ? "user" : "system", content: "" }])}>+ message</Button>
      {error && <Text size="xs" c="red" role="alert">{error}</Text>}
    </Stack>
  );
}

interface Props {
  schema: JsonSchema;
  value: Record<string, unknown>;
  onChange: (value: Record<string, unknown>) => void;
  errors: Record<string, string[]>; // by config field name
  readOnly: boolean;
}

export function ConfigForm({ schema, value, onChange, errors, readOnly }: Props) {
  const properties = Object.entries(schema.properties ?? {});
  if (!properties.length) return <Text c="dimmed" size="sm">—</Text>;
  const required = new Set(schema.required ?? []);
  const set = (name: string, next: unknown) => {
    const copy = { ...value };
    if (next === undefined || next === null || next === "") delete copy[name];
    else copy[name] = next;
    onChange(copy);
  };
  return (
    <Stack gap="sm">
      {properties.map(([name, raw]) => {
        const field = resolve(raw, schema);
        const label = field.title ?? raw.title ?? name;
        const description = raw.description ?? field.description;
        const error = errors[name]?.join(" ");
        const current = value[name] ?? undefined;
        const common = { label, description, error, required: required.has(name), disabled: readOnly };
        if (name === "model" || name.endsWith("_model")) {
          return <ResourcePicker key={name} kind="model-endpoints" {...common} value={(current as string) ?? null} onChange={(v) => set(name, v)} />;
        }
        if (name === "prompt" && typeOf(field) === "string") {
          return <ResourcePicker key={name} kind="prompts" {...common} value={(current as string) ?? null} onChange={(v) => set(name, v)} />;
        }
        if (name === "messages" && typeOf(field) === "array") {
          return <MessagesField key={name} label={label} value={(current as Message[]) ?? []} onChange={(v) => set(name, v.length ? v : undefined)} error={error} readOnly={readOnly} />;
        }
        if (name === "knowledge_bases" || name === "knowledge_base_ids" || name === "dataset_ids") {
          return <KnowledgeBasesPicker key={name} label={label} value={(current as string[]) ?? []} onChange={(v) => set(name, v)} />;
        }
        switch (typeOf(field)) {
          case "enum":
            return <Select key={name} {...common} data={(field.enum ?? []).map(String)} value={current === undefined ? null : String(current)} onChange={(v) => set(name, v)} />;
          case "boolean":
            return <Switch key={name} label={label} description={description} error={error} disabled={readOnly} checked={Boolean(current ?? field.default)} onChange={(e) => set(name, e.currentTarget.checked)} />;
          case "integer":
          case "number":
            return <NumberInput key={name} {...common} value={(current as number | undefined) ?? ""} placeholder={field.default !== undefined ? String(field.default) : undefined} onChange={(v) => set(name, v === "" ? undefined : Number(v))} />;
          case "string":
            if (name === "code" || TEMPLATE_FIELDS.test(name)) {
              return (
                <Stack key={name} gap={2}>
                  <Text size="sm" fw={500}>{label}{required.has(name) ? " *" : ""}</Text>
                  <CodeEditor label={label} language={name === "code" ? "python" : "jinja"} value={(current as string) ?? ""} readOnly={readOnly} height={name === "code" ? "180px" : "90px"} onChange={(v) => set(name, v)} />
                  {error && <Text size="xs" c="red" role="alert">{error}</Text>}
                </Stack>
              );
            }
            return <TextInput key={name} {...common} value={(current as string) ?? ""} placeholder={typeof field.default === "string" ? field.default : undefined} onChange={(e) => set(name, e.currentTarget.value)} />;
          default:
            return (
              <Stack key={name} gap={2}>
                <JsonField label={label} description={description} value={current ?? field.default ?? null} onChange={(v) => set(name, v)} />
                {error && <Alert color="red" p={4}>{error}</Alert>}
              </Stack>
            );
        }
      })}
    </Stack>
  );
}
