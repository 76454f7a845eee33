import { describe, expect, it } from "vitest";
import { curlSnippet, mcpSnippet, fetchSnippet, inputsOf, pythonSnippet, shellQuote, TOKEN_PLACEHOLDER } from "./snippets";

const ctx = { baseUrl: "http://127.0.0.1:8000/", slug: "greeter", inputs: [{ name: "name", type: "text" }, { name: "count", type: "number" }] };

/** The shell's view of a single-quoted word: what `sh` would pass to the program. */
function unquote(word: string): string {
  return word.replace(/^'/, "").replace(/'$/, "").replaceAll(`'\\''`, "'");
}

describe("inputsOf", () => {
  it("reads the declared inputs of a published version", () => {
    expect(inputsOf({ inputs: [{ name: "name", type: "text", required: true }], nodes: [], edges: [] })).toEqual([{ name: "name", type: "text" }]);
    expect(inputsOf(null)).toEqual([]);
  });
});

describe("curlSnippet", () => {
  it("calls the deployment's run URL with the inputs, a placeholder key and an Idempotency-Key", () => {
    const text = curlSnippet(ctx);
    expect(text).toContain("'http://127.0.0.1:8000/v1/workflows/greeter/run'");
    expect(text).toContain(`Authorization: Bearer ${TOKEN_PLACEHOLDER}`);
    expect(text).toContain("Idempotency-Key: order-1234");
    const body = JSON.parse(unquote(text.split("-d ")[1]!)) as { inputs: Record<string, unknown> };
    expect(body.inputs).toEqual({ name: "example name", count: 1 });
  });

  it("keeps quotes in input names intact through the shell", () => {
    const text = curlSnippet({ ...ctx, inputs: [{ name: `it's "odd"` }] });
    const body = JSON.parse(unquote(text.split("-d ")[1]!)) as { inputs: Record<string, unknown> };
    expect(Object.keys(body.inputs)).toEqual([`it's "odd"`]);
  });

  it("uses the token when it is known", () => {
    expect(curlSnippet({ ...ctx, token: "llm-abc-def" })).toContain("Bearer llm-abc-def");
  });
});

describe("shellQuote", () => {
  it("closes, escapes and reopens around a single quote", () => {
    expect(shellQuote("a'b")).toBe(`'a'\\''b'`);
  });
});

describe("pythonSnippet", () => {
  it("uses the openai SDK with the slug as model and the inputs as extra_body", () => {
    const text = pythonSnippet(ctx);
    expect(text).toContain('base_url="http://127.0.0.1:8000/v1"');
    expect(text).toContain('model="greeter"');
    expect(text).toContain('extra_body={"inputs": {"name": "example name", "count": 1}}');
    expect(text).toContain('"Idempotency-Key": "order-1234"');
    expect(text).toContain('os.environ["LLMOPS_API_KEY"]');
  });

  it("escapes double quotes in input names", () => {
    expect(pythonSnippet({ ...ctx, inputs: [{ name: 'say "hi"' }] })).toContain('{"say \\"hi\\"": "example say \\"hi\\""}');
  });
});

describe("fetchSnippet", () => {
  it("streams with SSE and sends the inputs", () => {
    const text = fetchSnippet(ctx);
    expect(text).toContain('fetch("http://127.0.0.1:8000/v1/workflows/greeter/run"');
    expect(text).toContain('"response_mode":"streaming"');
    expect(text).toContain('"inputs":{"name":"example name","count":1}');
    expect(text).toContain("TextDecoderStream");
    expect(text).toContain('"Idempotency-Key": "order-1234"');
  });

  it("is valid JavaScript with quotes in inputs", () => {
    const text = fetchSnippet({ ...ctx, inputs: [{ name: `a'b"c` }] });
    // An async function body parses the snippet (top-level await included) without running it.
    const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => unknown;
    expect(() => new AsyncFunction("process", text)).not.toThrow();
  });
});

describe("mcpSnippet", () => {
  it("configures the deployment's MCP server with the key", () => {
    const config = JSON.parse(mcpSnippet({ ...ctx, token: "llm-abc-def" })) as {
      mcpServers: Record<string, { type: string; url: string; headers: Record<string, string> }>;
    };
    expect(config.mcpServers.greeter).toEqual({
      type: "streamable-http",
      url: "http://127.0.0.1:8000/v1/mcp/greeter",
      headers: { Authorization: "Bearer llm-abc-def" },
    });
  });
});
