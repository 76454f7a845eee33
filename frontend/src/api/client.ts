// The platform's API client: types generated from its OpenAPI schema (src/api/schema.d.ts, `make api-types`),
// session cookie auth with Django's CSRF token on every unsafe request.
import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";

export function csrfToken(): string {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match?.[1] ? decodeURIComponent(match[1]) : "";
}

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/** The platform's one error shape: `{"error": {"code", "message", "fields": {"a.b.0": [..]}}}`. */
export interface ErrorBody {
  code: string;
  message: string;
  fields?: Record<string, string[]>;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: Record<string, string[]>;
  /** The whole response body (some errors carry more, such as a Dify import's `report`). */
  readonly raw: unknown;

  constructor(status: number, body: ErrorBody, raw?: unknown) {
    super(body.message);
    this.status = status;
    this.code = body.code;
    this.fields = body.fields ?? {};
    this.raw = raw;
  }

  /** Messages for a field path and everything under it (`draft` matches `draft.nodes.0.config`). */
  fieldMessages(prefix: string): string[] {
    return Object.entries(this.fields)
      .filter(([path]) => path === prefix || path.startsWith(`${prefix}.`))
      .flatMap(([, messages]) => messages);
  }
}

/** Listeners told when the network (not the API) fails, for the connection banner. */
export const connection = {
  listeners: new Set<(online: boolean) => void>(),
  set(online: boolean) {
    for (const listener of this.listeners) listener(online);
  },
};

const csrf: Middleware = {
  onRequest({ request }) {
    if (!SAFE.has(request.method)) request.headers.set("X-CSRFToken", csrfToken());
    return request;
  },
};

export const api = createClient<paths>({
  baseUrl: "",
  credentials: "same-origin",
  fetch: async (input: Request) => {
    try {
      const response = await fetch(input);
      connection.set(true);
      return response;
    } catch (error) {
      connection.set(false);
      throw error;
    }
  },
});
api.use(csrf);

/** The data of an openapi-fetch result, or an `ApiError` thrown with the platform's error body. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok) return result.data as T;
  const body = (result.error as { error?: ErrorBody } | undefined)?.error;
  throw new ApiError(result.response.status, body ?? { code: "http_error", message: result.response.statusText });
}

/** The items of a listing, paginated (`{results}`) or not. */
export async function listOf<T>(path: string): Promise<T[]> {
  const body = (await (await request(path)).json()) as T[] | { results: T[] };
  return Array.isArray(body) ? body : body.results;
}

/** A plain fetch for paths the schema types loosely (streams, files), with the same CSRF and errors. */
export async function request(path: string, init: RequestInit = {}): Promise<Response> {
  const method = (init.method ?? "GET").toUpperCase();
  const headers = new Headers(init.headers);
  if (!SAFE.has(method)) headers.set("X-CSRFToken", csrfToken());
  if (init.body && typeof init.body === "string" && !headers.has("Content-Type")) {
    headers.set("Content-Type", "application/json");
  }
  const response = await fetch(path, { ...init, method, headers, credentials: "same-origin" });
  if (!response.ok) {
    let body: ErrorBody = { code: "http_error", message: response.statusText };
    let raw: unknown;
    try {
      raw = await response.json();
      body = (raw as { error?: ErrorBody }).error ?? body;
    } catch {
      /* not JSON */
    }
    throw new ApiError(response.status, body, raw);
  }
  return response;
}
