// The evaluator kinds the platform scores with and the config fields each takes, as
// platform/llmops/evaluations/evaluators/ checks them (the server validates every config again and names the
// field at fault as `config.<field>`); form values to a config and back.

export type FieldType = "text" | "textarea" | "number" | "integer" | "boolean" | "select" | "strings" | "json" | "code" | "jinja" | "chatModel" | "embeddingModel" | "knowledgeBase";

export interface ConfigField {
  name: string;
  type: FieldType;
  required?: boolean;
  options?: readonly string[];
  /** The server's default, shown as the placeholder (a field left empty is not sent). */
  placeholder?: string;
}

export const CATEGORIES = ["deterministic", "operational", "model", "code", "retrieval"] as const;
export type Category = (typeof CATEGORIES)[number];

export interface KindSpec {
  kind: string;
  category: Category;
  fields: readonly ConfigField[];
}

const negate: ConfigField = { name: "negate", type: "boolean" };
const caseSensitive: ConfigField = { name: "case_sensitive", type: "boolean" };
const textValue: readonly ConfigField[] = [{ name: "value", type: "textarea" }, caseSensitive, negate];
const strings: readonly ConfigField[] = [{ name: "values", type: "strings" }, caseSensitive, negate];
const ceiling: ConfigField = { name: "max", type: "number", required: true };

export const KINDS: readonly KindSpec[] = [
  { kind: "equals", category: "deterministic", fields: textValue },
  { kind: "contains", category: "deterministic", fields: textValue },
  { kind: "starts_with", category: "deterministic", fields: textValue },
  { kind: "contains_any", category: "deterministic", fields: strings },
  { kind: "contains_all", category: "deterministic", fields: strings },
  { kind: "regex", category: "deterministic", fields: [{ name: "pattern", type: "text", required: true }, caseSensitive, negate] },
  { kind: "json_valid", category: "deterministic", fields: [negate] },
  { kind: "json_schema", category: "deterministic", fields: [{ name: "schema", type: "json", required: true }, negate] },
  { kind: "levenshtein", category: "deterministic", fields: [{ name: "value", type: "textarea" }, { name: "threshold", type: "number", placeholder: "0.8" }, caseSensitive, negate] },
  { kind: "numeric", category: "deterministic", fields: [{ name: "value", type: "number" }, { name: "tolerance", type: "number", placeholder: "0" }, { name: "relative", type: "boolean" }, negate] },
  { kind: "latency_ms_max", category: "operational", fields: [ceiling] },
  { kind: "cost_max", category: "operational", fields: [ceiling] },
  { kind: "tokens_max", category: "operational", fields: [ceiling, { name: "count", type: "select", options: ["total", "prompt", "completion"], placeholder: "total" }] },
  { kind: "llm_judge", category: "model", fields: [
    { name: "model", type: "chatModel", required: true },
    { name: "rubric", type: "textarea", required: true },
    { name: "scale", type: "select", options: ["1-5", "0-1"], placeholder: "1-5" },
    { name: "threshold", type: "number", placeholder: "0.6" },
    { name: "prompt", type: "jinja" },
  ] },
  { kind: "embedding_similarity", category: "model", fields: [{ name: "model", type: "embeddingModel", required: true }, { name: "threshold", type: "number", placeholder: "0.8" }] },
  { kind: "code", category: "code", fields: [{ name: "code", type: "code", required: true }, { name: "threshold", type: "number", placeholder: "0.5" }] },
  { kind: "retrieval", category: "retrieval", fields: [
    { name: "knowledge_base", type: "knowledgeBase", required: true },
    { name: "question_input", type: "text", placeholder: "question" },
    { name: "mode", type: "select", options: ["hybrid", "vector", "full_text"], placeholder: "hybrid" },
    { name: "top_k", type: "integer", placeholder: "10" },
    { name: "hit_at", type: "integer", placeholder: "5" },
  ] },
];

export const CODE_TEMPLATE = "def evaluate(inputs, output, expected):\n    return 1.0 if output == expected else 0.0\n";

export function kindSpec(kind: string): KindSpec | undefined {
  return KINDS.find((spec) => spec.kind === kind);
}

/** What a form holds: text for text-like fields, booleans for switches. */
export type FormValues = Record<string, string | boolean>;

/** The form's values for a config (a saved evaluator's, or `{}` for a new one). */
export function formOf(kind: string, config: Record<string, unknown>): FormValues {
  const values: FormValues = {};
  for (const field of kindSpec(kind)?.fields ?? []) {
    const value = config[field.name];
    if (field.type === "boolean") values[field.name] = value === true;
    else if (value === undefined || value === null) values[field.name] = field.type === "code" ? CODE_TEMPLATE : "";
    else if (field.type === "strings") values[field.name] = Array.isArray(value) ? value.join("\n") : String(value);
    else if (field.type === "json") values[field.name] = JSON.stringify(value, null, 2);
    else values[field.name] = String(value);
  }
  return values;
}

/** The config the form's values make, or the fields whose text cannot be one (a message key each). A field
 * left empty is left out, so the server's default applies; numbers the server range-checks are sent as
 * typed numbers, text that is not a number is sent as text for the server to name. */
export function configOf(kind: string, values: FormValues): { config: Record<string, unknown> } | { problems: Record<string, string> } {
  const config: Record<string, unknown> = {};
  const problems: Record<string, string> = {};
  for (const field of kindSpec(kind)?.fields ?? []) {
    const value = values[field.name];
    if (field.type === "boolean") {
      if (value === true) config[field.name] = true;
      continue;
    }
    const text = typeof value === "string" ? value : "";
    if (!text.trim()) continue;
    if (field.type === "number" || field.type === "integer") {
      const number = Number(text.trim());
      config[field.name] = Number.isFinite(number) ? number : text;
    } else if (field.type === "strings") {
      config[field.name] = text.split("\n").map((line) => line.trim()).filter(Boolean);
    } else if (field.type === "json") {
      try {
        config[field.name] = JSON.parse(text) as unknown;
      } catch {
        problems[field.name] = "datasets.invalidJson";
      }
    } else {
      config[field.name] = text;
    }
  }
  return Object.keys(problems).length ? { problems } : { config };
}
