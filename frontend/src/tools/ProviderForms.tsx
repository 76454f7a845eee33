// The forms that add a tool provider: a credentialed built-in (its credential fields; secrets write-only),
// an OpenAPI document (pasted or at a URL, with its authentication) and an MCP server (URL, transport,
// headers). API errors land on their fields.
import { ActionIcon, Alert, Button, Group, PasswordInput, SegmentedControl, Select, Stack, Text, Textarea, TextInput } from "@mantine/core";
import { useState, type ChangeEvent } from "react";
import { useTranslation } from "react-i18next";
import { ApiError } from "../api/client";
import { useImportOpenapi, useSaveProvider, type BuiltinProvider, type ToolProvider } from "./api";

function fieldError(error: ApiError | null, ...paths: string[]): string | undefined {
  const messages = error ? paths.flatMap((p) => error.fieldMessages(p)) : [];
  return messages.length ? messages.join(" ") : undefined;
}

/** The error's message when none of its fields is shown on the form. */
function FormAlert({ error, shown }: { error: unknown; shown: string[] }) {
  if (!error) return null;
  if (error instanceof ApiError && Object.keys(error.fields).some((path) => shown.some((s) => path === s || path.startsWith(`${s}.`)))) return null;
  return <Alert color="red">{(error as Error).message}</Alert>;
}

const slugOf = (text: string) => text.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 50);

/** Set up (or change the credentials of) a credentialed built-in provider. */
export function BuiltinSetupForm({ info, existing, onDone }: { info: BuiltinProvider; existing?: ToolProvider; onDone: () => void }) {
  const { t } = useTranslation();
  const save = useSaveProvider(existing?.slug);
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(info.credentials.map((f) => [f.name, existing?.settings[f.name] ?? ""])),
  );
  const error = save.error instanceof ApiError ? save.error : null;
  // errors of the whole credential set (the service refused them) or of the provider itself
  const general = error ? [...(error.fields.credentials ?? []), ...error.fieldMessages("builtin_provider"), ...error.fieldMessages("slug")] : [];
  const submit = () => {
    // an empty secret keeps the stored one; an empty public setting is sent (it clears it)
    const credentials = Object.fromEntries(
      info.credentials.filter((f) => values[f.name] || (existing && !f.secret)).map((f) => [f.name, values[f.name] ?? ""]),
    );
    const body = existing ? { credentials } : { kind: "builtin", builtin_provider: info.name, slug: info.name, name: info.label, credentials };
    save.mutate(body, { onSuccess: onDone });
  };
  return (
    <form onSubmit={(e) => { e.preventDefault(); submit(); }}>
      <Stack>
        <Text size="sm" c="dimmed">{info.description}</Text>
        {info.credentials.map((field) => {
          const set = existing?.credentials_set.includes(field.name) ?? false;
          const props = {
            label: field.label,
            required: field.required && !set,
            value: values[field.name] ?? "",
            error: fieldError(error, `credentials.${field.name}`),
            onChange: (e: ChangeEvent<HTMLInputElement>) => {
              const value = e.currentTarget.value;
              setValues((current) => ({ ...current, [field.name]: value }));
            },
          };
          return field.secret ? (
            <PasswordInput key={field.name} {...props} placeholder={set ? t("tools.secretKeep") : undefined} autoComplete="new-password" />
          ) : (
            <TextInput key={field.name} {...props} />
          );
        })}
        {general.length > 0 && <Alert color="red">{general.join(" ")}</Alert>}
        <FormAlert error={save.error} shown={["credentials", "builtin_provider", "slug"]} />
        <Group justify="flex-end">
          <Button type="submit" loading={save.isPending}>{existing ? t("common.save") : t("tools.setUp")}</Button>
        </Group>
      </Stack>
    </form>
  );
}

/** Import an OpenAPI document as a provider, or (``existing``) change its name and authentication. */
export function OpenapiForm({ existing, onDone }: { existing?: ToolProvider; onDone: () => void }) {
  const { t } = useTranslation();
  const importer = useImportOpenapi();
  const updater = useSaveProvider(existing?.slug);
  const mutation = existing ? updater : importer;
  const [name, setName] = useState(existing?.name ?? "");
  const [slug, setSlug] = useState("");
  const [slugTouched, setSlugTouched] = useState(false);
  const [source, setSource] = useState<"paste" | "url">("paste");
  const [document, setDocument] = useState("");
  const [url, setUrl] = useState("");
  const [authType, setAuthType] = useState<"none" | "api_key" | "bearer">(existing?.auth?.type ?? "none");
  const [authIn, setAuthIn] = useState<"header" | "query">(existing?.auth?.in ?? "header");
  const [authName, setAuthName] = useState(existing?.auth?.name ?? "X-API-Key");
  const [secret, setSecret] = useState("");
  const error = mutation.error instanceof ApiError ? mutation.error : null;
  const secretKey = authType === "bearer" ? "token" : "api_key";
  const secretSet = !!existing && existing.auth?.type === authType && existing.credentials_set.includes(secretKey);
  const submit = () => {
    const auth = authType === "api_key" ? { type: authType, in: authIn, name: authName } : { type: authType };
    if (existing) {
      // an empty secret keeps the stored one; the other kind's secret (or both, for none) is removed
      const credentials: Record<string, string> = authType === "none" ? { api_key: "", token: "" } : { [secretKey === "token" ? "api_key" : "token"]: "" };
      if (authType !== "none" && secret) credentials[secretKey] = secret;
      updater.mutate({ name, auth, credentials }, { onSuccess: onDone });
      return;
    }
    const credentials = authType === "none" ? {} : { [secretKey]: secret };
    importer.mutate(
      { name, slug, ...(source === "paste" ? { document } : { url }), auth, credentials },
      { onSuccess: onDone },
    );
  };
  return (
    <form onSubmit={(e) => { e.preventDefault(); submit(); }}>
      <Stack>
        <TextInput label={t("common.name")} required value={name} error={fieldError(error, "name")}
          onChange={(e) => { const v = e.currentTarget.value; setName(v); if (!slugTouched) setSlug(slugOf(v)); }} />
        {!existing && (<>
        <TextInput label={t("common.slug")} required value={slug} error={fieldError(error, "slug")}
          onChange={(e) => { setSlugTouched(true); setSlug(e.currentTarget.value); }} />
        <div>
          <Text size="sm" fw={500} mb={4}>{t("tools.source")}</Text>
          <SegmentedControl value={source} onChange={(v) => setSource(v as "paste" | "url")}
            data={[{ value: "paste", label: t("tools.paste") }, { value: "url", label: t("tools.fromUrl") }]} />
        </div>
        {source === "paste" ? (
          <Textarea label={t("tools.document")} required value={document} onChange={(e) => setDocument(e.currentTarget.value)}
            autosize minRows={8} maxRows={20} styles={{ input: { fontFamily: "monospace" } }} error={fieldError(error, "document")} />
        ) : (
          <TextInput label={t("tools.documentUrl")} required value={url} onChange={(e) => setUrl(e.currentTarget.value)}
            error={fieldError(error, "url", "document")} placeholder="https://api.example.com/openapi.json" />
        )}
        </>)}
        <Select label={t("tools.auth")} value={authType} allowDeselect={false} error={fieldError(error, "auth.type")}
          onChange={(v) => setAuthType((v ?? "none") as "none" | "api_key" | "bearer")}
          data={(["none", "api_key", "bearer"] as const).map((v) => ({ value: v, label: t(`tools.authTypes.${v}`) }))} />
        {authType === "api_key" && (
          <Group grow align="flex-start">
            <Select label={t("tools.authIn")} value={authIn} allowDeselect={false} error={fieldError(error, "auth.in")}
              onChange={(v) => setAuthIn((v ?? "header") as "header" | "query")}
              data={(["header", "query"] as const).map((v) => ({ value: v, label: t(`tools.authInOptions.${v}`) }))} />
            <TextInput label={t("tools.authName")} value={authName} onChange={(e) => setAuthName(e.currentTarget.value)} error={fieldError(error, "auth.name")} />
          </Group>
        )}
        {authType !== "none" && (
          <PasswordInput label={authType === "bearer" ? t("tools.token") : t("tools.apiKey")} value={secret} autoComplete="new-password"
            placeholder={secretSet ? t("tools.secretKeep") : undefined}
            onChange={(e) => setSecret(e.currentTarget.value)} error={fieldError(error, "credentials")} />
        )}
        <FormAlert error={mutation.error} shown={["name", "slug", "document", "url", "auth", "credentials"]} />
        <Group justify="flex-end">
          <Button type="submit" loading={mutation.isPending}>{existing ? t("common.save") : t("common.import")}</Button>
        </Group>
      </Stack>
    </form>
  );
}

interface HeaderRow {
  key: number;
  name: string;
  value: string;
  /** A header stored already (its value is never shown: empty keeps it). */
  stored?: boolean;
}

/** Add an MCP server, or (``existing``) change it: its tools are listed again on save (a server that is
 * down is an error on the URL). */
export function McpForm({ existing, onDone }: { existing?: ToolProvider; onDone: () => void }) {
  const { t } = useTranslation();
  const save = useSaveProvider(existing?.slug);
  const [name, setName] = useState(existing?.name ?? "");
  const [slug, setSlug] = useState("");
  const [slugTouched, setSlugTouched] = useState(false);
  const [url, setUrl] = useState(existing?.url ?? "");
  const [transport, setTransport] = useState<"streamable_http" | "sse">(existing?.transport ?? "streamable_http");
  const [headers, setHeaders] = useState<HeaderRow[]>(() =>
    (existing?.credentials_set ?? []).map((header, index) => ({ key: index, name: header, value: "", stored: true })),
  );
  const error = save.error instanceof ApiError ? save.error : null;
  const submit = () => {
    const given = headers.filter((h) => h.name.trim() && (h.value || !h.stored));
    const credentials: Record<string, string> = Object.fromEntries(given.map((h) => [h.name.trim(), h.value]));
    if (existing) {
      const kept = new Set(headers.map((h) => h.name.trim()));
      for (const header of existing.credentials_set) if (!kept.has(header)) credentials[header] = ""; // removed
      save.mutate({ name, url, transport, credentials }, { onSuccess: onDone });
      return;
    }
    save.mutate({ kind: "mcp", name, slug, url, transport, credentials }, { onSuccess: onDone });
  };
  const update = (key: number, change: Partial<HeaderRow>) => setHeaders((rows) => rows.map((r) => (r.key === key ? { ...r, ...change } : r)));
  return (
    <form onSubmit={(e) => { e.preventDefault(); submit(); }}>
      <Stack>
        <TextInput label={t("common.name")} required value={name} error={fieldError(error, "name")}
          onChange={(e) => { const v = e.currentTarget.value; setName(v); if (!slugTouched) setSlug(slugOf(v)); }} />
        {!existing && (
          <TextInput label={t("common.slug")} required value={slug} error={fieldError(error, "slug")}
            onChange={(e) => { setSlugTouched(true); setSlug(e.currentTarget.value); }} />
        )}
        <TextInput label={t("tools.serverUrl")} required value={url} onChange={(e) => setUrl(e.currentTarget.value)}
          error={fieldError(error, "url")} placeholder="https://mcp.example.com/mcp" />
        <Select label={t("tools.transport")} value={transport} allowDeselect={false} error={fieldError(error, "transport")}
          onChange={(v) => setTransport((v ?? "streamable_http") as "streamable_http" | "sse")}
          data={(["streamable_http", "sse"] as const).map((v) => ({ value: v, label: t(`tools.transports.${v}`) }))} />
        <Text size="sm" fw={500}>{t("tools.headers")}</Text>
        {headers.map((row, index) => (
          <Group key={row.key} align="flex-end" wrap="nowrap">
            <TextInput aria-label={`${t("tools.headerName")} ${index + 1}`} placeholder={t("tools.headerName")} value={row.name} readOnly={row.stored}
              onChange={(e) => update(row.key, { name: e.currentTarget.value })} style={{ flex: 1 }} />
            <PasswordInput aria-label={`${t("tools.headerValue")} ${index + 1}`} placeholder={row.stored ? t("tools.secretKeep") : t("tools.headerValue")} value={row.value}
              autoComplete="new-password" onChange={(e) => update(row.key, { value: e.currentTarget.value })} style={{ flex: 2 }} />
            <ActionIcon variant="subtle" color="red" aria-label={`${t("tools.removeHeader")} ${index + 1}`}
              onClick={() => setHeaders((rows) => rows.filter((r) => r.key !== row.key))}>×</ActionIcon>
          </Group>
        ))}
        {fieldError(error, "credentials") && <Text c="red" size="sm">{fieldError(error, "credentials")}</Text>}
        <Group>
          <Button variant="light" size="xs" onClick={() => setHeaders((rows) => [...rows, { key: Date.now() + rows.length, name: "", value: "" }])}>
            {t("tools.addHeader")}
          </Button>
        </Group>
        <FormAlert error={save.error} shown={["name", "slug", "url", "transport", "credentials"]} />
        <Group justify="flex-end">
          <Button type="submit" loading={save.isPending}>{existing ? t("common.save") : t("common.create")}</Button>
        </Group>
      </Stack>
    </form>
  );
}
