// Ready-to-paste calls of a deployment (curl, the `openai` Python SDK, JavaScript fetch with SSE), filled in
// with the deployment's slug, the platform's base URL and the workflow's declared inputs.
import type { DslWorkflow } from "../api/workflow";

export interface SnippetInput {
  name: string;
  type?: string;
}

export interface SnippetContext {
  /** The platform's origin, e.g. window.location.origin (no trailing slash needed). */
  baseUrl: string;
  slug: string;
  inputs: SnippetInput[];
  /** The key to show; a placeholder when the token is not known (it is shown once, at creation). */
  token?: string;
}

export const TOKEN_PLACEHOLDER = "$LLMOPS_API_KEY";

/** The inputs a workflow version declares (the start node outputs them as the run's inputs). */
export function inputsOf(content: DslWorkflow | null | undefined): SnippetInput[] {
  return (content?.inputs ?? []).filter((i) => typeof i.name === "string" && i.name).map((i) => ({ name: i.name, type: i.type }));
}

/** An example value by the input's type: the snippet runs as pasted. */
export function exampleValue(input: SnippetInput): unknown {
  switch (input.type) {
    case "number":
      return 1;
    case "boolean":
      return true;
    case "json":
      return {};
    default:
      return `example ${input.name}`;
  }
}

export function exampleInputs(inputs: SnippetInput[]): Record<string, unknown> {
  return Object.fromEntries(inputs.map((i) => [i.name, exampleValue(i)]));
}

function base(url: string): string {
  return url.replace(/\/+$/, "");
}

/** A string as one POSIX shell word in single quotes (a quote inside becomes '\''). */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

export function curlSnippet(ctx: SnippetContext): string {
  const body = JSON.stringify({ inputs: exampleInputs(ctx.inputs), response_mode: "blocking", user: "user-42" });
  const token = ctx.token ?? TOKEN_PLACEHOLDER;
  return [
    `curl -s ${shellQuote(`${base(ctx.baseUrl)}/v1/workflows/${ctx.slug}/run`)} \\`,
    `  -H "Authorization: Bearer ${token}" \\`,
    `  -H "Content-Type: application/json" \\`,
    `  -H "Idempotency-Key: order-1234" \\`,
    `  -d ${shellQuote(body)}`,
  ].join("\n");
}

/** A Python literal of a JSON value (True/False/None; strings JSON-escaped, which Python reads alike). */
export function pythonLiteral(value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (Array.isArray(value)) return `[${value.map(pythonLiteral).join(", ")}]`;
  if (typeof value === "object") {
    const items = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${JSON.stringify(k)}: ${pythonLiteral(v)}`);
    return `{${items.join(", ")}}`;
  }
  return JSON.stringify(value);
}

export function pythonSnippet(ctx: SnippetContext): string {
  const token = ctx.token ? JSON.stringify(ctx.token) : 'os.environ["LLMOPS_API_KEY"]';
  return [
    "import os",
    "",
    "from openai import OpenAI",
    "",
    `client = OpenAI(base_url=${JSON.stringify(`${base(ctx.baseUrl)}/v1`)}, api_key=${token})`,
    "reply = client.chat.completions.create(",
    `    model=${JSON.stringify(ctx.slug)},`,
    '    messages=[{"role": "user", "content": "Hi!"}],',
    `    extra_body={"inputs": ${pythonLiteral(exampleInputs(ctx.inputs))}},`,
    '    extra_headers={"Idempotency-Key": "order-1234"},',
    ")",
    "print(reply.choices[0].message.content)",
  ].join("\n");
}

export function fetchSnippet(ctx: SnippetContext): string {
  const token = ctx.token ? JSON.stringify(ctx.token) : "process.env.LLMOPS_API_KEY";
  const body = JSON.stringify({ inputs: exampleInputs(ctx.inputs), response_mode: "streaming", user: "user-42" });
  return [
    `const response = await fetch(${JSON.stringify(`${base(ctx.baseUrl)}/v1/workflows/${ctx.slug}/run`)}, {`,
    '  method: "POST",',
    "  headers: {",
    `    Authorization: \`Bearer \${${token}}\`,`,
    '    "Content-Type": "application/json",',
    '    "Idempotency-Key": "order-1234",',
    "  },",
    `  body: JSON.stringify(${body}),`,
    "});",
    "// Server-sent events: run_started, node_started, node_finished, text_chunk, run_finished, error, ping.",
    "const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();",
    'let buffer = "";',
    "for (;;) {",
    "  const { value, done } = await reader.read();",
    "  if (done) break;",
    "  buffer += value;",
    '  const events = buffer.split("\\n\\n");',
    "  buffer = events.pop();",
    "  for (const event of events) {",
    '    const data = event.split("\\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\\n");',
    "    if (data) console.log(JSON.parse(data));",
    "  }",
    "}",
  ].join("\n");
}

/** An MCP client configuration (Claude Desktop, Cursor and others read this shape): the deployment's
 * workflow is one tool of the MCP server at /v1/mcp/<slug>, authenticated with the key. */
export function mcpSnippet(ctx: SnippetContext): string {
  const token = ctx.token ?? TOKEN_PLACEHOLDER;
  const config = {
    mcpServers: {
      [ctx.slug]: {
        type: "streamable-http",
        url: `${base(ctx.baseUrl)}/v1/mcp/${ctx.slug}`,
        headers: { Authorization: `Bearer ${token}` },
      },
    },
  };
  return JSON.stringify(config, null, 2);
}
